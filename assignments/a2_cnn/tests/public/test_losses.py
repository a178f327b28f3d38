"""Public checks of cnn/losses.py (part 2): class-balanced weights and the focal loss."""
import pytest

import oracles
from autograder import expect_close, expect_grad_close, expect_scalar, graded, sandbox

LS = "cnn.losses"


@pytest.mark.parametrize("beta", [0.9, 0.999, 0.9999])
@graded(points=2)
def test_reweight(rng, beta):
    """reweight gives (1 - beta) / (1 - beta^n) per class, scaled to sum to the number of classes"""
    k = int(rng.integers(4, 11))
    counts = sorted((int(c) for c in rng.integers(5, 5000, size=k)), reverse=True)
    got = sandbox.call(LS + ":reweight", counts, beta=beta)
    expected, wrong = oracles.reweight(counts, beta)
    expect_close(got, expected, name=LS + ".reweight", what="class weights", rtol=2e-5, atol=1e-7,
                 misconceptions=wrong)


FOCAL_CASES = {
    "gamma 0, no weights (plain cross-entropy)": (0.0, False),
    "gamma 0, class weights (weighted cross-entropy)": (0.0, True),
    "gamma 1, no weights": (1.0, False),
    "gamma 2, class weights": (2.0, True),
}


@pytest.mark.parametrize("case", list(FOCAL_CASES))
@graded(points=4)
def test_focal_loss(rng, case):
    """FocalLoss is sum w[y] (1 - p)^gamma (-log p) / sum w[y]; at gamma 0 it equals F.cross_entropy"""
    gamma, weighted = FOCAL_CASES[case]
    n, k = 8, 5
    logits = rng.normal(scale=2.0, size=(n, k))
    y = rng.integers(0, k, size=n)
    weight = rng.uniform(0.2, 3.0, size=k) if weighted else None
    out = sandbox.call("a2_probes:focal", logits, y, weight, gamma)
    name = LS + ".FocalLoss.forward"
    expected = oracles.focal_loss(logits, y, weight, gamma)
    expect_scalar(out["loss"], expected, name=name, what="loss", rtol=1e-7, atol=1e-10,
                  misconceptions=oracles.focal_misconceptions(logits, y, weight, gamma))
    numeric = oracles.numerical_gradient_fn(lambda z: oracles.focal_loss(z, y, weight, gamma), logits)
    expect_grad_close(out["grad"], numeric, name=name, wrt="the logits (by autograd through your loss)",
                      rtol=1e-5, atol=1e-8)
