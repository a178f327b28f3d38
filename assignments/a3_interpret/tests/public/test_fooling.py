"""Public checks of fooling images and the class-visualisation step.

Inputs, network seeds, targets and the expected images are fixtures (tests/fixtures/);
the hidden tests run the same checks on new random inputs and networks. Networks and
inputs are float32 (see a3_feedback.py for the tolerances).
"""
import pytest
import torch

from a3_feedback import call, expect_eval_mode, expect_f32, expect_unchanged
from autograder import Feedback, graded
from autograder.fixtures import public_case, public_params
from probes.a3_probes import make_cnn

FOOL = "interpret.fooling.make_fooling_image"
STEP = "interpret.class_viz.class_visualization_step"


def _fooling(c):
    return call("a3_probes:fooling", c["model_seed"], c["X"], c["target"], c["learning_rate"], c["max_iter"])


def check_fooling_image(c, _=None):
    out = _fooling(c)
    expect_eval_mode(out, FOOL)
    got = out["image"]
    expect_f32(got, c["expected"], name=FOOL, what="fooling image", misconceptions=c["misconceptions"])
    if c["reached"]:
        # the verdict on the class comes from the harness's own copy of the network, not from the worker
        with torch.no_grad():
            label = int(make_cnn(c["model_seed"], c["X"].shape[1])(torch.as_tensor(got)).argmax(dim=1))
        if label != c["target"]:
            raise Feedback("%s: the model does not classify your image as the target class %d" % (FOOL, c["target"]))


def check_fooling_leaves_input(c, _=None):
    out = _fooling(c)
    expect_unchanged(out["X_after"], c["X"], name=FOOL, what="X")


def check_class_visualization_step(c, _=None):
    out = call("a3_probes:class_step", c["model_seed"], c["img"], c["target"], c["l2_reg"],
                       c["learning_rate"])
    expect_eval_mode(out, STEP)
    expect_f32(out["first"], c["expected"], name=STEP, what="image after one step", misconceptions=c["misconceptions"])


def check_class_visualization_chained(c, _=None):
    out = call("a3_probes:class_step", c["model_seed"], c["img"], c["target"], c["l2_reg"],
                       c["learning_rate"])
    expect_f32(out["second"], c["expected_second"], name=STEP,
               what="image after a second step on the tensor your first step returned",
               hint="each step must use only this step's gradient: differentiate a fresh copy "
                    "(img.clone().detach().requires_grad_()) or zero img.grad before backward()")
    expect_unchanged(out["img_after"], c["img"], name=STEP, what="img")


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"fooling_image": check_fooling_image, "class_visualization_step": check_class_visualization_step}


@pytest.mark.parametrize("kind", public_params("fooling_image"))
@graded(points=4)
def test_fooling_image(kind):
    """make_fooling_image reaches the target class with normalised ascent steps, within max_iter steps"""
    check_fooling_image(public_case("fooling_image", kind), kind)


@graded(points=1)
def test_fooling_image_leaves_X_unchanged():
    """make_fooling_image returns a new tensor and leaves X unchanged"""
    check_fooling_leaves_input(public_case("fooling_image", "reaches the target"))


@graded(points=2)
def test_class_visualization_step():
    """class_visualization_step ascends score - l2_reg * ||img||^2 with a normalised step"""
    check_class_visualization_step(public_case("class_visualization_step"))


@graded(points=1)
def test_class_visualization_step_chained():
    """class_visualization_step returns a new tensor, and a second step on it is right too"""
    check_class_visualization_chained(public_case("class_visualization_step"))
