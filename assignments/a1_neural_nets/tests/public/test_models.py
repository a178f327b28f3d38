"""Public checks of neural_nets/models.py: forward values and backpropagated gradients."""
import pytest

import oracles
from autograder import expect_grad_close, expect_scalar, graded, sandbox

M = "neural_nets.models"


def _run(kind, rng, mode="train"):
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    out = sandbox.call("a1_probes:forward", kind, kwargs, weights, X, y, mode)
    return out, weights, X, y


def grad_misconceptions(weights, X, y, name):
    """Values a gradient takes under common backprop mistakes."""
    n = len(y)
    good = oracles.model_gradients(weights, X, y)[name]
    alts = {
        "the gradient is N times too large: divide dscores by the batch size N (the loss is a mean)": good * n,
    }
    if name.startswith("b"):
        alts["you averaged the bias gradient over the batch; sum it over the N examples "
             "(the 1/N is already in dscores)"] = good / n
    if "W2" in weights and name in ("W1", "b1"):
        z1 = X @ weights["W1"] + weights["b1"]
        a1 = oracles.sigmoid(z1)
        d2 = (oracles.softmax(a1 @ weights["W2"] + weights["b2"]) - oracles.one_hot(y, weights["W2"].shape[1])) / n
        wrong = (d2 @ weights["W2"].T) * oracles.sigmoid_grad(a1)
        alts["you applied sigmoid_grad to the activation a1; it takes the pre-activation z1"] = \
            X.T @ wrong if name == "W1" else wrong.sum(axis=0)
    return alts


@pytest.mark.parametrize("kind", ["SoftmaxRegression", "TwoLayerNet"])
@graded(points=4)
def test_forward_loss_and_accuracy(rng, kind):
    """forward returns the mean cross-entropy and the accuracy"""
    out, weights, X, y = _run(kind, rng, mode="valid")
    name = "%s.%s.forward" % (M, kind)
    expect_scalar(out["loss"], oracles.model_loss(weights, X, y), name=name, what="loss", rtol=1e-6)
    expect_scalar(out["accuracy"], oracles.model_accuracy(weights, X, y), name=name, what="accuracy",
                  rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["SoftmaxRegression", "TwoLayerNet"])
@graded(points=7)
def test_backward_gradients(rng, kind):
    """forward(mode="train") fills gradients equal to backpropagation's"""
    out, weights, X, y = _run(kind, rng)
    expected = oracles.model_gradients(weights, X, y)
    name = "%s.%s.forward" % (M, kind)
    missing = sorted(set(expected) - set(out["gradients"]))
    assert not missing, "%s: gradients has no entry for %s" % (name, ", ".join(missing))
    for key in sorted(expected):
        expect_grad_close(out["gradients"][key], expected[key], name=name, wrt=key,
                          misconceptions=grad_misconceptions(weights, X, y, key))


@graded(points=2)
def test_gradients_match_finite_differences(rng):
    """TwoLayerNet gradients agree with central finite differences of the loss"""
    out, weights, X, y = _run("TwoLayerNet", rng)
    for key in ("W1", "b2"):
        numeric = oracles.numerical_gradient(lambda w: oracles.model_loss(w, X, y), weights, key)
        expect_grad_close(out["gradients"][key], numeric, name=M + ".TwoLayerNet.forward", wrt=key,
                          rtol=1e-4, atol=1e-6)
