"""Hidden checks of neural_nets/models.py: other shapes, a batch of one, finite differences."""
import pytest

import oracles
from autograder import expect_grad_close, expect_scalar, graded, sandbox

M = "neural_nets.models"


@pytest.mark.parametrize("n", [1, 50])
@graded(points=2)
def test_gradients_other_batch_sizes(rng, n):
    """TwoLayerNet gradients are right for a batch of one and for a larger batch"""
    weights, _, _, kwargs = oracles.random_model(rng, "TwoLayerNet", d=5, h=4, k=3)
    X = rng.normal(size=(n, 5))
    y = rng.integers(0, 3, size=n)
    out = sandbox.call("a1_probes:forward", "TwoLayerNet", kwargs, weights, X, y, "train")
    expected = oracles.model_gradients(weights, X, y)
    for key in sorted(expected):
        expect_grad_close(out["gradients"].get(key), expected[key], name=M + ".TwoLayerNet.forward", wrt=key)
    expect_scalar(out["loss"], oracles.model_loss(weights, X, y), name=M + ".TwoLayerNet.forward", what="loss")


@graded(points=1)
def test_softmax_regression_finite_differences(rng):
    """SoftmaxRegression gradients agree with finite differences on a wide input"""
    weights, X, y, kwargs = oracles.random_model(rng, "SoftmaxRegression", d=12, k=5)
    out = sandbox.call("a1_probes:forward", "SoftmaxRegression", kwargs, weights, X, y, "train")
    for key in ("W1", "b1"):
        numeric = oracles.numerical_gradient(lambda w: oracles.model_loss(w, X, y), weights, key)
        expect_grad_close(out["gradients"].get(key), numeric, name=M + ".SoftmaxRegression.forward", wrt=key,
                          rtol=1e-4, atol=1e-6)
