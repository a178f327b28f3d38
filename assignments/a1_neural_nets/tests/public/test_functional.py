"""Public checks of neural_nets/functional.py (students run these with `pytest`)."""
import numpy as np
import pytest

import oracles
from autograder import expect_close, expect_grad_close, expect_scalar, graded, sandbox

F = "neural_nets.functional"


@graded(points=1)
def test_sigmoid(rng):
    """sigmoid matches 1 / (1 + exp(-x)), including large |x|"""
    x = np.concatenate([rng.normal(scale=3.0, size=20), [-800.0, -40.0, 0.0, 40.0, 800.0]]).reshape(5, 5)
    expect_close(sandbox.call(F + ":sigmoid", x), oracles.sigmoid(x), name=F + ".sigmoid")


@graded(points=2)
def test_sigmoid_grad(rng):
    """sigmoid_grad matches sigmoid(x) * (1 - sigmoid(x)) and finite differences"""
    x = rng.normal(scale=2.0, size=(4, 6))
    got = sandbox.call(F + ":sigmoid_grad", x)
    expect_grad_close(got, oracles.central_difference(oracles.sigmoid, x), name=F + ".sigmoid_grad", wrt="x",
                      atol=1e-6, misconceptions={
                          "you computed s * (1 - s) with s = x; the argument is the sigmoid's input, "
                          "so apply sigmoid first": x * (1 - x)})


@graded(points=1)
def test_relu(rng):
    """relu matches max(0, x)"""
    x = rng.normal(size=(3, 7))
    expect_close(sandbox.call(F + ":relu", x), oracles.relu(x), name=F + ".relu")


@graded(points=1)
def test_relu_grad(rng):
    """relu_grad is 1 where x > 0 and 0 elsewhere"""
    x = rng.normal(size=(6, 4))
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink for the finite-difference oracle
    expect_grad_close(sandbox.call(F + ":relu_grad", x), oracles.central_difference(oracles.relu, x),
                      name=F + ".relu_grad", wrt="x", atol=1e-6,
                      misconceptions={"you returned relu(x) itself rather than its derivative": oracles.relu(x)})


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


@pytest.mark.parametrize("case", ["typical", "large positive scores", "large negative scores"])
@graded(points=3)
def test_softmax(rng, case):
    """softmax is row-wise and numerically stable"""
    scores, _, _ = oracles.random_problem(rng)
    if case == "large positive scores":
        scores = scores * 10 + 1000.0
    elif case == "large negative scores":
        scores = scores * 10 - 1000.0
    got = sandbox.call(F + ":softmax", scores)
    hint = "subtract each row's maximum before np.exp" if case != "typical" else None
    expect_close(got, oracles.softmax(scores), name=F + ".softmax", rtol=1e-6, atol=1e-10,
                 misconceptions=_softmax_misconceptions(scores), hint=hint)


@graded(points=2)
def test_cross_entropy(rng):
    """cross_entropy is the mean negative log-probability of the correct class"""
    _, probs, y = oracles.random_problem(rng)
    n = len(y)
    expected = oracles.cross_entropy(probs, y)
    expect_scalar(sandbox.call(F + ":cross_entropy", probs, y), expected, name=F + ".cross_entropy",
                  what="loss", rtol=1e-6, misconceptions={
                      "your output equals the loss summed over the batch instead of averaged": expected * n,
                      "you averaged -log(p) over every class, not just the correct one": -np.mean(np.log(probs)),
                  })


@graded(points=1)
def test_accuracy(rng):
    """accuracy is the fraction of rows whose arg-max is the label"""
    scores, _, y = oracles.random_problem(rng, n=40)
    y[:20] = scores[:20].argmax(axis=1)  # make sure some are right
    expect_scalar(sandbox.call(F + ":accuracy", scores, y), oracles.accuracy(scores, y),
                  name=F + ".accuracy", what="accuracy", rtol=0, atol=1e-12)
