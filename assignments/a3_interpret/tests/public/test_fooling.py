"""Public checks of fooling images and the class-visualisation step.

Inputs, network seeds, targets and the expected images are fixtures (tests/fixtures/);
the hidden tests run the same checks on new random inputs and networks.
"""
import torch

from autograder import Feedback, expect_close, graded, sandbox
from autograder.fixtures import public_case
from probes.a3_probes import make_cnn


def check_fooling_image(c, _=None):
    target = c["target"]
    got = sandbox.call("a3_probes:fooling", c["model_seed"], c["X"], target, c["learning_rate"], c["max_iter"])
    name = "interpret.fooling.make_fooling_image"
    expect_close(got, c["expected"], name=name, what="fooling image", rtol=1e-6, atol=1e-9,
                 misconceptions=c["misconceptions"])
    # the verdict on the class comes from the harness's own copy of the network, not from the worker
    with torch.no_grad():
        label = int(make_cnn(c["model_seed"], c["X"].shape[1])(torch.as_tensor(got)).argmax(dim=1))
    if label != target:
        raise Feedback("%s: the model does not classify your image as the target class %d" % (name, target))


def check_class_visualization_step(c, _=None):
    got = sandbox.call("a3_probes:class_step", c["model_seed"], c["img"], c["target"], c["l2_reg"],
                       c["learning_rate"])
    expect_close(got, c["expected"], name="interpret.class_viz.class_visualization_step",
                 what="image after one step", rtol=1e-6, atol=1e-12, misconceptions=c["misconceptions"])


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"fooling_image": check_fooling_image, "class_visualization_step": check_class_visualization_step}


@graded(points=3)
def test_fooling_image():
    """make_fooling_image reaches the target class with normalised ascent steps, and changes little"""
    check_fooling_image(public_case("fooling_image"))


@graded(points=2)
def test_class_visualization_step():
    """class_visualization_step ascends score - l2_reg * ||img||^2 with a normalised step"""
    check_class_visualization_step(public_case("class_visualization_step"))
