"""Public checks of saliency maps, guided backprop and Grad-CAM against Captum.

Inputs, network seeds and Captum's maps are fixtures (tests/fixtures/), computed once
by the instructor; the hidden tests run the same checks on new random inputs and
networks.
"""
import numpy as np
import pytest

from autograder import Feedback, expect_close, expect_shape, graded, sandbox
from autograder.fixtures import public_case, public_params

TOL = {"rtol": 1e-6, "atol": 1e-12}


def check_saliency(c, _=None):
    got = sandbox.call("a3_probes:saliency", c["model_seed"], c["X"], c["y"])
    expect_close(got, c["expected"], name="interpret.saliency.compute_saliency_maps", what="saliency map",
                 misconceptions=c["misconceptions"], **TOL)


def check_guided_relu(c, _=None):
    out = sandbox.call("a3_probes:guided_relu", c["x"], c["grad_output"])
    name = "interpret.guided_backprop.GuidedReLU"
    expect_close(out["out"], c["out"], name=name, what="forward output", **TOL)
    expect_close(out["grad"], c["grad"], name=name, what="backward gradient", misconceptions=c["misconceptions"],
                 **TOL)


def check_guided_backprop(c, _=None):
    out = sandbox.call("a3_probes:guided", c["model_seed"], c["X"], c["y"])
    name = "interpret.guided_backprop.guided_backprop"
    expect_close(out["map"], c["expected"], name=name, what="guided gradient", misconceptions=c["misconceptions"],
                 **TOL)
    if not out["eval_mode"]:
        raise Feedback("%s: the model was left in train mode; never call model.train() here (the caller's model "
                       "must stay as it was, in eval mode)" % name)
    # the model's input gradient after the call, computed by the probe, against the untouched network's
    after = expect_shape(out["after"], c["after"].shape, name=name, what="input gradient of the model after your call")
    if not np.allclose(after, c["after"], **TOL):
        raise Feedback("%s: after your call the model no longer computes its ordinary gradients: its nn.ReLU "
                       "modules (or the hooks you registered) were not put back" % name)


def check_grad_cam(c, _=None):
    got = sandbox.call("a3_probes:gradcam", c["model_seed"], c["X"], c["y"])
    expect_shape(got, (c["X"].shape[0], 8, 8), name="interpret.gradcam.grad_cam", what="Grad-CAM map")
    expect_close(got, c["expected"], name="interpret.gradcam.grad_cam", what="Grad-CAM map",
                 misconceptions=c["misconceptions"], **TOL)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"saliency": check_saliency, "guided_relu": check_guided_relu, "guided_backprop": check_guided_backprop,
          "grad_cam": check_grad_cam}


@pytest.mark.parametrize("channels", public_params("saliency"))
@graded(points=3)
def test_saliency(channels):
    """compute_saliency_maps equals Captum's Saliency (abs) maximised over channels"""
    check_saliency(public_case("saliency", channels), channels)


@graded(points=2)
def test_guided_relu():
    """GuidedReLU passes gradients only where both the input and the gradient are positive"""
    check_guided_relu(public_case("guided_relu"))


@pytest.mark.parametrize("channels", public_params("guided_backprop"))
@graded(points=3)
def test_guided_backprop(channels):
    """guided_backprop equals Captum's GuidedBackprop and leaves the model as it was"""
    check_guided_backprop(public_case("guided_backprop", channels), channels)


@graded(points=3)
def test_grad_cam():
    """grad_cam equals Captum's LayerGradCam with ReLU at the last conv layer"""
    check_grad_cam(public_case("grad_cam"))
