"""Hidden checks of neural_nets/functional.py: other shapes, edge cases, purity."""
import pytest

import oracles
from autograder import expect_close, expect_scalar, graded, sandbox

F = "neural_nets.functional"


@graded(points=1)
def test_sigmoid_any_shape(rng):
    """sigmoid works element-wise on arrays of any shape"""
    x = rng.normal(scale=5.0, size=(2, 3, 4))
    expect_close(sandbox.call(F + ":sigmoid", x), oracles.sigmoid(x), name=F + ".sigmoid")


@pytest.mark.parametrize("fn", ["sigmoid", "sigmoid_grad", "relu", "relu_grad", "softmax"])
@graded(points=2)
def test_inputs_unchanged(rng, fn):
    """functions leave their input arrays unchanged"""
    x = rng.normal(size=(5, 3))
    sandbox.call_pure("%s:%s" % (F, fn), x)


@pytest.mark.parametrize("shape", [(1, 6), (7, 1), (9, 4)])
@graded(points=2)
def test_softmax_shapes(rng, shape):
    """softmax handles a single row, a single class and tall batches"""
    scores = rng.normal(scale=4.0, size=shape)
    expect_close(sandbox.call(F + ":softmax", scores), oracles.softmax(scores), name=F + ".softmax",
                 rtol=1e-6, atol=1e-10)


@graded(points=1)
def test_softmax_extreme_spread(rng):
    """softmax stays finite when one score dwarfs the others"""
    scores = rng.normal(size=(4, 5))
    scores[:, 2] += 5000.0
    expect_close(sandbox.call(F + ":softmax", scores), oracles.softmax(scores), name=F + ".softmax",
                 rtol=1e-6, atol=1e-10, hint="subtract each row's maximum before np.exp")


@pytest.mark.parametrize("n", [1, 64])
@graded(points=2)
def test_cross_entropy_batch_sizes(rng, n):
    """cross_entropy averages over any batch size"""
    _, probs, y = oracles.random_problem(rng, n=n, k=5)
    expected = oracles.cross_entropy(probs, y)
    expect_scalar(sandbox.call(F + ":cross_entropy", probs, y), expected, name=F + ".cross_entropy",
                  what="loss", rtol=1e-6, misconceptions={
                      "your output equals the loss summed over the batch instead of averaged": expected * n})


@graded(points=1)
def test_accuracy_extremes(rng):
    """accuracy is 1.0 when every prediction is right and 0.0 when none is"""
    scores, probs, _ = oracles.random_problem(rng, n=30, k=4)
    right = scores.argmax(axis=1)
    wrong = (right + 1) % 4
    expect_scalar(sandbox.call(F + ":accuracy", probs, right), 1.0, name=F + ".accuracy",
                  what="accuracy when all are right", atol=1e-12, rtol=0)
    expect_scalar(sandbox.call(F + ":accuracy", scores, wrong), 0.0, name=F + ".accuracy",
                  what="accuracy when none is right", atol=1e-12, rtol=0)
