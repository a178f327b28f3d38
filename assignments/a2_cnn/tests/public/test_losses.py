"""Public checks of cnn/losses.py (part 2): class-balanced weights and the focal loss.

Inputs and expected values are fixtures (the instructor's oracle on fixed inputs);
your FocalLoss runs in float32 (PyTorch's default dtype) and is compared with float32
tolerances, its gradient (by autograd through your loss) with the oracle's. The
hidden tests run the same checks on new random inputs.
"""
import numpy as np
import pytest

from a2_feedback import expect_close32, expect_scalar32
from autograder import Feedback, graded, sandbox
from autograder.fixtures import public_case, public_params

LS = "cnn.losses"


def check_reweight(c, _=None, as_type="list"):
    name = LS + ".reweight"
    out = sandbox.call("a2_probes:call_reweight", c["counts"], c["beta"], as_type)
    # rtol 1e-3: computed in float32 (beta ** n with beta = 0.9999 rounded to float32), the weights of rare
    # classes are good to about 2e-4; every known mistake is off by far more
    expect_close32(out["weights"], c["expected"], name=name, what="class weights", rtol=1e-3, atol=1e-6,
                   misconceptions=c["misconceptions"])
    if not out["tensor"]:
        raise Feedback("%s: the weights are right but not a torch tensor; return torch.tensor(weights, "
                       "dtype=torch.float32) as the docstring says" % name)
    dtype = np.asarray(out["weights"]).dtype
    if dtype != np.float32:
        raise Feedback("%s: the weights are right but their dtype is %s; return a float32 tensor as the docstring "
                       "says (torch.tensor(w, dtype=torch.float32), or .float()): float64 weights make "
                       "nn.CrossEntropyLoss(weight=w) and FocalLoss fail on float32 scores" % (name, dtype))


def check_focal_loss(c, _=None):
    logits, y, weight, gamma = c["logits"], c["y"], c["weight"], c["gamma"]
    out = sandbox.call("a2_probes:focal", logits, y, weight, gamma)
    name = LS + ".FocalLoss.forward"
    loss = np.asarray(out["loss"], dtype=np.float64)
    if loss.size == 1 and not np.isfinite(loss).all():
        raise Feedback("%s: the loss is %s%s\n  Likely cause: log(softmax(...)) underflows: a probability such as "
                       "e^-150 is 0 in float32, and log(0) = -inf; compute log p with F.log_softmax(scores, dim=1) "
                       "(and p as log_p.exp())" % (name, "NaN" if np.isnan(loss).any() else "inf",
                                                  " on scores where a correct class is far below its row's maximum"
                                                  if c["large"] else ""))
    expect_scalar32(out["loss"], c["expected"], name=name, what="loss", rtol=1e-5, atol=1e-6,
                    misconceptions=c["misconceptions"])
    if out["grad"] is None:
        raise Feedback("%s: the logits got no gradient: the loss must be computed from them with torch operations "
                       "(no .item(), .numpy() or torch.tensor(...) on the way)" % name)
    expect_close32(out["grad"], c["grad"], name=name, what="gradient with respect to the logits (autograd through "
                   "your loss)", rtol=1e-4, atol=1e-6)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"reweight": check_reweight, "focal_loss": check_focal_loss}


@pytest.mark.parametrize("beta", public_params("reweight"))
@graded(points=2)
def test_reweight(beta):
    """reweight gives (1 - beta) / (1 - beta^n) per class, scaled to sum to the number of classes, as a float32 tensor"""
    check_reweight(public_case("reweight", beta), beta)


@pytest.mark.parametrize("case", public_params("focal_loss"))
@graded(points=4)
def test_focal_loss(case):
    """FocalLoss is sum w[y] (1 - p)^gamma (-log p) / sum w[y], stable on large scores; at gamma 0 it equals F.cross_entropy"""
    check_focal_loss(public_case("focal_loss", case), case)
