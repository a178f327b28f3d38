"""Public checks of neural_nets/models.py: forward values and backpropagated gradients.

Forward values and gradients are compared with fixtures (the instructor's oracle on
fixed inputs); the finite-difference check needs no oracle: it differentiates your
own forward pass numerically.
"""
import numpy as np
import pytest

from autograder import Feedback, expect_grad_close, expect_scalar, graded, sandbox
from autograder.fixtures import public_case, public_params
from autograder.properties import numerical_gradient_from, perturbations

M = "neural_nets.models"


def check_model_forward(c, kind):
    out = sandbox.call("a1_probes:forward", kind, c["kwargs"], c["weights"], c["X"], c["y"], "valid")
    name = "%s.%s.forward" % (M, kind)
    expect_scalar(out["loss"], c["loss"], name=name, what="loss", rtol=1e-6)
    expect_scalar(out["accuracy"], c["accuracy"], name=name, what="accuracy", rtol=0, atol=1e-12)


def check_model_backward(c, kind):
    out = sandbox.call("a1_probes:forward", kind, c["kwargs"], c["weights"], c["X"], c["y"], "train")
    name = "%s.%s.forward" % (M, kind)
    missing = sorted(set(c["gradients"]) - set(out["gradients"]))
    if missing:
        raise Feedback("%s: gradients has no entry for %s" % (name, ", ".join(missing)))
    for key in sorted(c["gradients"]):
        expect_grad_close(out["gradients"][key], c["gradients"][key], name=name, wrt=key,
                          misconceptions=c["misconceptions"][key])


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"model_forward": check_model_forward, "model_backward": check_model_backward}


@pytest.mark.parametrize("kind", public_params("model_forward"))
@graded(points=4)
def test_forward_loss_and_accuracy(kind):
    """forward returns the mean cross-entropy and the accuracy"""
    check_model_forward(public_case("model_forward", kind), kind)


@pytest.mark.parametrize("kind", public_params("model_backward"))
@graded(points=7)
def test_backward_gradients(kind):
    """forward(mode="train") fills gradients equal to backpropagation's"""
    check_model_backward(public_case("model_backward", kind), kind)


@graded(points=2)
def test_gradients_match_finite_differences():
    """TwoLayerNet gradients agree with central finite differences of your own loss"""
    c = public_case("model_backward", "TwoLayerNet")
    name = M + ".TwoLayerNet.forward"
    out = sandbox.call("a1_probes:forward", "TwoLayerNet", c["kwargs"], c["weights"], c["X"], c["y"], "train")
    for key in ("W1", "b2"):
        tries = perturbations(c["weights"], key)
        losses = sandbox.call("a1_probes:losses", "TwoLayerNet", c["kwargs"], [w for w, _ in tries], c["X"], c["y"])
        if np.shape(losses) != (len(tries),):
            raise Feedback("%s: expected one loss per set of weights, got %s" % (name, np.shape(losses)))
        numeric = numerical_gradient_from(losses, c["weights"][key].shape)
        expect_grad_close(out["gradients"].get(key), numeric, name=name, wrt=key, rtol=1e-4, atol=1e-6,
                          hint="the numerical gradient differentiates the loss your forward returns in "
                               "mode=\"valid\"; the two must agree")
