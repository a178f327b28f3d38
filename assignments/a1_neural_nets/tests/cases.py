"""A1's test cases: random inputs, the oracle's answers and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).
"""
import numpy as np

import oracles
from autograder.fixtures import case

SOFTMAX_KINDS = ["typical", "large positive scores", "large negative scores"]
MODELS = ["SoftmaxRegression", "TwoLayerNet"]


# ---------------------------------------------------------------- functional.py
@case()
def sigmoid(rng):
    x = np.concatenate([rng.normal(scale=3.0, size=20), [-800.0, -40.0, 0.0, 40.0, 800.0]]).reshape(5, 5)
    return {"x": x, "expected": oracles.sigmoid(x)}


@case()
def sigmoid_grad(rng):
    x = rng.normal(scale=2.0, size=(4, 6))
    return {"x": x, "expected": oracles.central_difference(oracles.sigmoid, x), "misconceptions": {
        "you computed s * (1 - s) with s = x; the argument is the sigmoid's input, so apply sigmoid first":
            x * (1 - x)}}


@case()
def relu(rng):
    x = rng.normal(size=(3, 7))
    return {"x": x, "expected": oracles.relu(x)}


@case()
def relu_grad(rng):
    x = rng.normal(size=(6, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink for the finite-difference oracle
    return {"x": x, "expected": oracles.central_difference(oracles.relu, x), "misconceptions": {
        "you returned relu(x) itself rather than its derivative": oracles.relu(x)}}


def _softmax_misconceptions(scores):
    # the student may have shifted by the row max, the global max, or not at all
    with np.errstate(over="ignore", invalid="ignore"):
        shifted = [scores - scores.max(axis=1, keepdims=True), scores - scores.max(), scores]
        exps = [np.exp(s) for s in shifted]
        return {
            "you normalised over axis 0 (columns); each ROW must sum to 1":
                [e / e.sum(axis=0, keepdims=True) for e in exps],
            "you divided by the sum over the whole array; divide each row by its own sum":
                [e / e.sum() for e in exps],
        }


@case(params=SOFTMAX_KINDS)
def softmax(rng, kind):
    scores, _, _ = oracles.random_problem(rng)
    if kind == "large positive scores":
        scores = scores * 10 + 1000.0
    elif kind == "large negative scores":
        scores = scores * 10 - 1000.0
    return {"scores": scores, "expected": oracles.softmax(scores), "misconceptions": _softmax_misconceptions(scores)}


@case()
def cross_entropy(rng):
    _, probs, y = oracles.random_problem(rng)
    expected = oracles.cross_entropy(probs, y)
    return {"probs": probs, "y": y, "expected": expected, "misconceptions": {
        "your output equals the loss summed over the batch instead of averaged": expected * len(y),
        "you averaged -log(p) over every class, not just the correct one": -np.mean(np.log(probs))}}


@case()
def accuracy(rng):
    scores, _, y = oracles.random_problem(rng, n=40)
    y[:20] = scores[:20].argmax(axis=1)  # make sure some are right
    return {"scores": scores, "y": y, "expected": oracles.accuracy(scores, y)}


# ---------------------------------------------------------------- models.py
def _grad_misconceptions(weights, X, y, name):
    """Values a gradient takes under common backprop mistakes."""
    n = len(y)
    good = oracles.model_gradients(weights, X, y)[name]
    alts = {"the gradient is N times too large: divide dscores by the batch size N (the loss is a mean)": good * n}
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


@case(params=MODELS)
def model_forward(rng, kind):
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y,
            "loss": oracles.model_loss(weights, X, y), "accuracy": oracles.model_accuracy(weights, X, y)}


@case(params=MODELS)
def model_backward(rng, kind):
    weights, X, y, kwargs = oracles.random_model(rng, kind)
    grads = oracles.model_gradients(weights, X, y)
    return {"kwargs": kwargs, "weights": weights, "X": X, "y": y, "gradients": grads,
            "misconceptions": {k: _grad_misconceptions(weights, X, y, k) for k in grads}}


# ---------------------------------------------------------------- optim.py
def _params(rng):
    weights = {"W1": rng.normal(size=(4, 3)), "b1": rng.normal(size=3),
               "W2": rng.normal(size=(3, 2)), "b2": rng.normal(size=2)}
    grads = [{k: rng.normal(size=v.shape) for k, v in weights.items()} for _ in range(3)]
    return weights, grads


@case()
def apply_regularization(rng):
    weights, grads = _params(rng)
    reg = float(rng.uniform(0.01, 0.5))
    expected, misconceptions = {}, {}
    for key in sorted(weights):
        expected[key] = grads[0][key] + (reg * weights[key] if key.startswith("W") else 0.0)
        if key.startswith("b"):
            misconceptions[key] = {
                "you regularised the biases; only weight matrices (keys starting with W) get reg * W":
                    grads[0][key] + reg * weights[key]}
        else:
            misconceptions[key] = {
                "you added 0.5 * reg * W; the derivative of 0.5 * reg * W**2 is reg * W":
                    grads[0][key] + 0.5 * reg * weights[key],
                "you replaced the gradient by reg * W instead of adding to it": reg * weights[key]}
    penalty = 0.5 * reg * sum(float(np.sum(weights[k] ** 2)) for k in weights if k.startswith("W"))
    return {"weights": weights, "gradients": grads[0], "reg": reg, "expected": expected, "penalty": penalty,
            "misconceptions": misconceptions}


@case()
def plain_sgd_step(rng):
    weights, grads = _params(rng)
    lr = 0.05
    return {"weights": weights, "grads": grads[:1], "learning_rate": lr,
            "expected": oracles.sgd_steps(weights, grads[:1], lr, 0.0, 0.0, regularize=False)[0],
            "uphill": oracles.sgd_steps(weights, grads[:1], -lr, 0.0, 0.0, regularize=False)[0]}


@case()
def momentum_steps(rng):
    weights, grads = _params(rng)
    lr, mu = 0.1, 0.9
    return {"weights": weights, "grads": grads, "learning_rate": lr, "momentum": mu,
            "expected": oracles.sgd_steps(weights, grads, lr, 0.0, mu, regularize=False),
            "no_memory": oracles.sgd_steps(weights, grads, lr, 0.0, 0.0, regularize=False),
            "uphill": oracles.sgd_steps(weights, grads, -lr, 0.0, mu, regularize=False)}
