"""Public checks of cnn/losses.py (part 2): class-balanced weights and the focal loss.

Inputs and expected values are fixtures (the instructor's oracle on fixed inputs);
the focal loss's gradient is checked against finite differences of your own loss,
with no oracle. The hidden tests run the same checks on new random inputs.
"""
import numpy as np
import pytest

from autograder import Feedback, expect_close, expect_grad_close, expect_scalar, graded, sandbox
from autograder.fixtures import public_case, public_params
from autograder.properties import numerical_gradient_from, perturbations

LS = "cnn.losses"


def check_reweight(c, _=None):
    got = sandbox.call(LS + ":reweight", c["counts"], beta=c["beta"])
    expect_close(got, c["expected"], name=LS + ".reweight", what="class weights", rtol=2e-5, atol=1e-7,
                 misconceptions=c["misconceptions"])


def check_focal_loss(c, _=None):
    logits, y, weight, gamma = c["logits"], c["y"], c["weight"], c["gamma"]
    out = sandbox.call("a2_probes:focal", logits, y, weight, gamma)
    name = LS + ".FocalLoss.forward"
    expect_scalar(out["loss"], c["expected"], name=name, what="loss", rtol=1e-7, atol=1e-10,
                  misconceptions=c["misconceptions"])
    # finite differences of your own loss: the harness moves each logit by +/- eps, your FocalLoss evaluates them
    tries = perturbations(logits)
    losses = sandbox.call("a2_probes:focal_losses", [moved for moved, _ in tries], y, weight, gamma)
    if np.shape(losses) != (len(tries),):
        raise Feedback("%s: expected one loss per set of logits, got shape %s" % (name, np.shape(losses)))
    numeric = numerical_gradient_from(losses, np.shape(logits))
    expect_grad_close(out["grad"], numeric, name=name, wrt="the logits (by autograd through your loss)",
                      rtol=1e-5, atol=1e-8)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"reweight": check_reweight, "focal_loss": check_focal_loss}


@pytest.mark.parametrize("beta", public_params("reweight"))
@graded(points=2)
def test_reweight(beta):
    """reweight gives (1 - beta) / (1 - beta^n) per class, scaled to sum to the number of classes"""
    check_reweight(public_case("reweight", beta), beta)


@pytest.mark.parametrize("case", public_params("focal_loss"))
@graded(points=4)
def test_focal_loss(case):
    """FocalLoss is sum w[y] (1 - p)^gamma (-log p) / sum w[y]; at gamma 0 it equals F.cross_entropy"""
    check_focal_loss(public_case("focal_loss", case), case)
