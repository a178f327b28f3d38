"""Public checks of the style-transfer losses against closed forms.

Inputs and the closed forms' values are fixtures (tests/fixtures/), computed once by
the instructor; the hidden tests run the same checks on new random inputs.
"""
from autograder import expect_close, expect_scalar, graded, sandbox
from autograder.fixtures import public_case

S = "interpret.style"


def check_gram_matrix(c, _=None):
    got = sandbox.call(S + ":gram_matrix", c["features"])
    expect_close(got, c["expected"], name=S + ".gram_matrix", rtol=1e-10, misconceptions=c["misconceptions"])


def check_content_loss(c, _=None):
    got = sandbox.call(S + ":content_loss", c["content_weight"], c["current"], c["original"])
    expect_scalar(got, c["expected"], name=S + ".content_loss", what="loss", rtol=1e-10,
                  misconceptions=c["misconceptions"])


def check_style_loss(c, _=None):
    got = sandbox.call(S + ":style_loss", c["feats"], c["style_layers"], c["style_targets"], c["style_weights"])
    expect_scalar(got, c["expected"], name=S + ".style_loss", what="loss", rtol=1e-10)


def check_tv_loss(c, _=None):
    got = sandbox.call(S + ":tv_loss", c["img"], c["tv_weight"])
    expect_scalar(got, c["expected"], name=S + ".tv_loss", what="loss", rtol=1e-10, misconceptions=c["misconceptions"])


def check_style_transfer_step(c, _=None):
    got = sandbox.call("a3_probes:style_steps", c["model_seed"], c["img"], c["content_target"], c["style_targets"],
                       c["weights"], c["learning_rate"], c["steps"])
    name = S + ".style_transfer_step"
    expect_close(got["losses"], c["expected_losses"], name=name, what="returned losses", rtol=1e-6, atol=1e-10,
                 misconceptions=c["loss_misconceptions"])
    expect_close(got["img"], c["expected_img"], name=name, what="image after the steps", rtol=1e-6, atol=1e-10,
                 misconceptions=c["img_misconceptions"])


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"gram_matrix": check_gram_matrix, "content_loss": check_content_loss, "style_loss": check_style_loss,
          "tv_loss": check_tv_loss, "style_transfer_step": check_style_transfer_step}


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


@graded(points=3)
def test_style_transfer_step():
    """style_transfer_step lowers content + style + TV loss by one optimiser step, three times over"""
    check_style_transfer_step(public_case("style_transfer_step"))
