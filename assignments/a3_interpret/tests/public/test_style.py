"""Public checks of the style-transfer losses against closed forms.

Inputs and the closed forms' values are fixtures (tests/fixtures/), computed once by
the instructor; the hidden tests run the same checks on new random inputs. Inputs are
float32 (see a3_feedback.py for the tolerances).
"""
import numpy as np
import pytest

from a3_feedback import call, expect_f32, expect_loss
from autograder import Feedback, graded
from autograder.fixtures import public_case, public_params

S = "interpret.style"


def check_gram_matrix(c, _=None):
    got = call(S + ":gram_matrix", c["features"])
    expect_f32(got, c["expected"], name=S + ".gram_matrix", what="Gram matrices", misconceptions=c["misconceptions"])


def check_content_loss(c, _=None):
    got = call(S + ":content_loss", c["content_weight"], c["current"], c["original"])
    expect_loss(got, c["expected"], name=S + ".content_loss", misconceptions=c["misconceptions"])


def check_style_loss(c, _=None):
    got = call(S + ":style_loss", c["feats"], c["style_layers"], c["style_targets"], c["style_weights"])
    expect_loss(got, c["expected"], name=S + ".style_loss", misconceptions=c["misconceptions"])


def check_tv_loss(c, _=None):
    got = call(S + ":tv_loss", c["img"], c["tv_weight"])
    expect_loss(got, c["expected"], name=S + ".tv_loss", misconceptions=c["misconceptions"])


WRT = {"content_loss": "current", "style_loss": "feats[0]", "tv_loss": "img"}


def check_losses_are_differentiable(c, function):
    out = call("a3_probes:loss_and_gradient", function, c["args"], c["wrt"])
    name = "%s.%s" % (S, function)
    if not out["tensor"]:
        raise Feedback("%s returned a %s, not a tensor: style transfer needs the loss's gradient, so keep it a "
                       "torch tensor (no float(), .item() or NumPy)" % (name, type(out["loss"]).__name__))
    if out["grad"] is None:
        raise Feedback("%s: the returned loss is not connected to its inputs (no gradient flows back to %s); do "
                       "not detach it, and compute it with torch operations" % (name, WRT[function]))
    expect_f32(out["grad"], c["expected"], name=name, what="gradient of the loss with respect to " + WRT[function])


def check_style_transfer_step(c, _=None):
    got = call("a3_probes:style_steps", c["model_seed"], c["img"], c["content_target"], c["style_targets"],
                       c["weights"], c["learning_rate"], c["steps"])
    name = S + ".style_transfer_step"
    losses = got["losses"]
    if any(v is None for v in losses):
        raise Feedback("%s returned None; return the total loss before the update, as a float" % name)
    expect_f32(np.array([np.asarray(v, dtype=np.float64).reshape(-1)[0] if np.size(v) == 1 else np.nan
                         for v in losses]), c["expected_losses"], name=name, what="returned losses",
               misconceptions=c["loss_misconceptions"])
    expect_f32(got["img"], c["expected_img"], name=name, what="image after the steps",
               misconceptions=c["img_misconceptions"])


def check_style_transfer_step_returns_floats(c, _=None):
    got = call("a3_probes:style_steps", c["model_seed"], c["img"], c["content_target"], c["style_targets"],
                       c["weights"], c["learning_rate"], c["steps"])
    kinds = sorted({"tensor (or NumPy number)" if isinstance(v, np.ndarray) else type(v).__name__
                    for v in got["losses"] if not isinstance(v, float)})
    if kinds:
        raise Feedback("%s returned a %s, not a float: return float(loss) (or loss.item()), as the docstring says; "
                       "a tensor keeps its graph alive for as long as the caller keeps the list of losses"
                       % (S + ".style_transfer_step", " / ".join(kinds)))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"gram_matrix": check_gram_matrix, "content_loss": check_content_loss, "style_loss": check_style_loss,
          "tv_loss": check_tv_loss, "losses_are_differentiable": check_losses_are_differentiable,
          "style_transfer_step": check_style_transfer_step}


@graded(points=2)
def test_gram_matrix():
    """gram_matrix equals einsum('nchw,ndhw->ncd') / (C*H*W)"""
    check_gram_matrix(public_case("gram_matrix"))


@graded(points=1)
def test_content_loss():
    """content_loss is content_weight times the summed squared difference"""
    check_content_loss(public_case("content_loss"))


@graded(points=2)
def test_style_loss():
    """style_loss sums weighted squared Gram differences over the style layers"""
    check_style_loss(public_case("style_loss"))


@graded(points=2)
def test_tv_loss():
    """tv_loss sums squared differences of vertical and horizontal neighbours"""
    check_tv_loss(public_case("tv_loss"))


@pytest.mark.parametrize("function", public_params("losses_are_differentiable"))
@graded(points=2)
def test_losses_are_differentiable(function):
    """content_loss, style_loss and tv_loss return tensors whose gradients are right"""
    check_losses_are_differentiable(public_case("losses_are_differentiable", function), function)


@graded(points=3)
def test_style_transfer_step():
    """style_transfer_step lowers content + style + TV loss by one optimiser step, three times over"""
    check_style_transfer_step(public_case("style_transfer_step"))


@graded(points=1)
def test_style_transfer_step_returns_floats():
    """style_transfer_step returns the loss as a float"""
    check_style_transfer_step_returns_floats(public_case("style_transfer_step"))
