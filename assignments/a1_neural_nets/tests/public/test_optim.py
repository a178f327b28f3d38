"""Public checks of neural_nets/optim.py: L2 regularisation and SGD with momentum."""
import numpy as np

import oracles
from autograder import expect_close, expect_scalar, graded, sandbox

O = "neural_nets.optim.SGD"


def _params(rng):
    weights = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=3),
               "W2": rng.normal(size=(3, 2)), "b2": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in weights.items()} for _ in range(3)]
    return weights, grads


@graded(points=2)
def test_apply_regularization(rng):
    """apply_regularization adds reg * W to weight gradients only, and returns 0.5 * reg * sum(W**2)"""
    weights, grads = _params(rng)
    reg = float(rng.uniform(0.01, 0.5))
    out = sandbox.call("a1_probes:regularized_gradients", {"learning_rate": 0.1, "reg": reg}, weights, grads[0])
    for key in sorted(weights):
        expected = grads[0][key] + (reg * weights[key] if key.startswith("W") else 0.0)
        alts = {}
        if key.startswith("b"):
            alts["you regularised the biases; only weight matrices (keys starting with W) get reg * W"] = \
                grads[0][key] + reg * weights[key]
        else:
            alts["you added 0.5 * reg * W; the derivative of 0.5 * reg * W**2 is reg * W"] = \
                grads[0][key] + 0.5 * reg * weights[key]
            alts["you replaced the gradient by reg * W instead of adding to it"] = reg * weights[key]
        expect_close(out["gradients"][key], expected, name=O + ".apply_regularization",
                     what="gradient %s after regularisation" % key, misconceptions=alts)
    penalty = 0.5 * reg * sum(float(np.sum(weights[k] ** 2)) for k in weights if k.startswith("W"))
    expect_scalar(out["penalty"], penalty, name=O + ".apply_regularization", what="returned penalty", rtol=1e-6)


@graded(points=1)
def test_plain_sgd_step(rng):
    """update without momentum moves each parameter by -learning_rate * gradient"""
    weights, grads = _params(rng)
    opt = {"learning_rate": 0.05, "reg": 0.0, "momentum": 0.0}
    got = sandbox.call("a1_probes:sgd_steps", opt, weights, grads[:1], False)["steps"][0]
    want = oracles.sgd_steps(weights, grads[:1], 0.05, 0.0, 0.0, regularize=False)[0]
    for key in sorted(weights):
        expect_close(got[key], want[key], name=O + ".update", what="%s after one step" % key, misconceptions={
            "you moved along +gradient: the step is w - learning_rate * g":
                oracles.sgd_steps(weights, grads[:1], -0.05, 0.0, 0.0, regularize=False)[0][key]})


@graded(points=2)
def test_momentum_steps(rng):
    """update with momentum follows v = mu * v - lr * g, w = w + v over several steps"""
    weights, grads = _params(rng)
    lr, mu = 0.1, 0.9
    got = sandbox.call("a1_probes:sgd_steps", {"learning_rate": lr, "reg": 0.0, "momentum": mu},
                       weights, grads, False)["steps"]
    want = oracles.sgd_steps(weights, grads, lr, 0.0, mu, regularize=False)
    no_memory = oracles.sgd_steps(weights, grads, lr, 0.0, 0.0, regularize=False)
    flipped = oracles.sgd_steps(weights, grads, -lr, 0.0, mu, regularize=False)
    for step in range(len(grads)):
        for key in sorted(weights):
            expect_close(got[step][key], want[step][key], name=O + ".update",
                         what="%s after step %d" % (key, step + 1), misconceptions={
                             "the velocity is not kept between steps (momentum has no effect)": no_memory[step][key],
                             "a sign is flipped, so the weights climb the loss: use v = mu * v - lr * g, "
                             "then w = w + v":
                                 flipped[step][key]})
