"""Public checks of saliency maps, guided backprop and Grad-CAM against Captum.

Inputs, network seeds and Captum's maps are fixtures (tests/fixtures/), computed once
by the instructor; the hidden tests run the same checks on new random inputs and
networks. Networks and inputs are float32 (see a3_feedback.py for the tolerances).
"""
import numpy as np
import pytest

from a3_feedback import call, expect_eval_mode, expect_f32
from autograder import Feedback, expect_shape, graded
from autograder.fixtures import public_case, public_params

SAL = "interpret.saliency.compute_saliency_maps"
GB = "interpret.guided_backprop.guided_backprop"
CAM = "interpret.gradcam.grad_cam"


def check_saliency(c, _=None):
    out = call("a3_probes:saliency", c["model_seed"], c["X"], c["y"])
    expect_eval_mode(out, SAL)
    expect_f32(out["map"], c["expected"], name=SAL, what="saliency map", misconceptions=c["misconceptions"])


def check_saliency_twice(c, _=None):
    out = call("a3_probes:saliency", c["model_seed"], c["X"], c["y"])
    expect_f32(out["again"], c["expected"], name=SAL, what="saliency map of a second call on the same X",
               misconceptions=c["again_misconceptions"])


def check_guided_relu(c, _=None):
    out = call("a3_probes:guided_relu", c["x"], c["grad_output"])
    name = "interpret.guided_backprop.GuidedReLU"
    expect_f32(out["out"], c["out"], name=name, what="forward output")
    expect_f32(out["grad"], c["grad"], name=name, what="backward gradient", misconceptions=c["misconceptions"])


def check_guided_backprop(c, _=None):
    out = call("a3_probes:guided", c["model_seed"], c["X"], c["y"])
    expect_eval_mode(out, GB)
    expect_f32(out["map"], c["expected"], name=GB, what="guided gradient", misconceptions=c["misconceptions"])
    # the model's input gradient after the calls, computed by the probe, against the untouched network's
    after = expect_shape(out["after"], c["after"].shape, name=GB, what="input gradient of the model after your call")
    if not np.allclose(after, c["after"], rtol=1e-4, atol=1e-5 * float(np.abs(c["after"]).max())):
        raise Feedback("%s: after your call the model no longer computes its ordinary gradients: its nn.ReLU "
                       "modules (or the hooks you registered%s) were not put back"
                       % (GB, ": %d are still there" % out["hooks"] if out.get("hooks") else ""))
    expect_f32(out["again"], c["expected"], name=GB, what="guided gradient of a second call on the same X")


def check_grad_cam(c, _=None):
    out = call("a3_probes:gradcam", c["model_seed"], c["X"], c["y"])
    expect_eval_mode(out, CAM)
    expect_shape(out["map"], (c["X"].shape[0], 8, 8), name=CAM, what="Grad-CAM map")
    expect_f32(out["map"], c["expected"], name=CAM, what="Grad-CAM map", misconceptions=c["misconceptions"])


def check_grad_cam_twice(c, _=None):
    out = call("a3_probes:gradcam", c["model_seed"], c["X"], c["y"])
    expect_f32(out["again"], np.asarray(c["expected"])[::-1], name=CAM,
               what="Grad-CAM map of a second call (the same images in reverse order)",
               hint="a second call must not see anything of the first: keep the activation and the gradient in "
                    "variables local to the call, not in module-level lists")
    if out["hooks"]:
        raise Feedback("%s: %d hook(s) are still registered on the model after your calls; keep the handle that "
                       "register_forward_hook returns and call handle.remove() (in a finally: block)"
                       % (CAM, out["hooks"]))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"saliency": check_saliency, "saliency_twice": check_saliency_twice, "guided_relu": check_guided_relu,
          "guided_relu_at_zero": check_guided_relu, "guided_backprop": check_guided_backprop,
          "grad_cam": check_grad_cam, "grad_cam_twice": check_grad_cam_twice}


@pytest.mark.parametrize("channels", public_params("saliency"))
@graded(points=3)
def test_saliency(channels):
    """compute_saliency_maps equals Captum's Saliency (abs) maximised over channels"""
    check_saliency(public_case("saliency", channels), channels)


@graded(points=1)
def test_saliency_called_twice():
    """compute_saliency_maps gives the same map when called twice on the same X tensor"""
    check_saliency_twice(public_case("saliency_twice"))


@graded(points=2)
def test_guided_relu():
    """GuidedReLU passes gradients only where both the input and the gradient are positive"""
    check_guided_relu(public_case("guided_relu"))


@graded(points=1)
def test_guided_relu_at_zero():
    """GuidedReLU at ties: no gradient where the input or the incoming gradient is exactly 0"""
    check_guided_relu(public_case("guided_relu_at_zero"))


@pytest.mark.parametrize("channels", public_params("guided_backprop"))
@graded(points=3)
def test_guided_backprop(channels):
    """guided_backprop equals Captum's GuidedBackprop and leaves the model as it was"""
    check_guided_backprop(public_case("guided_backprop", channels), channels)


@graded(points=3)
def test_grad_cam():
    """grad_cam equals Captum's LayerGradCam with ReLU at the last conv layer"""
    check_grad_cam(public_case("grad_cam"))


@graded(points=1)
def test_grad_cam_called_twice():
    """grad_cam removes its hooks and is right again on a second call with other images"""
    check_grad_cam_twice(public_case("grad_cam_twice"))
