"""Public checks of the style-transfer losses against closed forms."""
import numpy as np
import torch

import oracles
from autograder import expect_close, expect_scalar, graded, sandbox

S = "interpret.style"


@graded(points=2)
def test_gram_matrix(rng):
    """gram_matrix equals einsum('nchw,ndhw->ncd') / (C*H*W)"""
    f = rng.normal(size=(2, 4, 5, 3))
    got = sandbox.call(S + ":gram_matrix", torch.tensor(f))
    expect_close(got, oracles.gram(f), name=S + ".gram_matrix", rtol=1e-10, misconceptions={
        "you did not divide by C * H * W": oracles.gram(f, normalize=False),
        "you divided by H * W only; normalise by C * H * W": oracles.gram(f, normalize=False) / 15.0})


@graded(points=1)
def test_content_loss(rng):
    """content_loss is content_weight times the summed squared difference"""
    a, b = rng.normal(size=(1, 3, 4, 4)), rng.normal(size=(1, 3, 4, 4))
    w = float(rng.uniform(0.5, 2.0))
    got = sandbox.call(S + ":content_loss", w, torch.tensor(a), torch.tensor(b))
    expect_scalar(got, oracles.content_loss(w, a, b), name=S + ".content_loss", what="loss", rtol=1e-10,
                  misconceptions={"you averaged the squared differences; sum them":
                                  w * float(np.mean((a - b) ** 2))})


@graded(points=2)
def test_style_loss(rng):
    """style_loss sums weighted squared Gram differences over the style layers"""
    feats = [rng.normal(size=(1, c, s, s)) for c, s in ((3, 6), (4, 4), (5, 2))]
    layers = [0, 2]
    targets = [oracles.gram(rng.normal(size=(1, feats[i].shape[1], 3, 3))) for i in layers]
    weights = [0.5, 2.0]
    got = sandbox.call(S + ":style_loss", [torch.tensor(f) for f in feats], layers,
                       [torch.tensor(t) for t in targets], weights)
    expect_scalar(got, oracles.style_loss(feats, layers, targets, weights), name=S + ".style_loss", what="loss",
                  rtol=1e-10)


@graded(points=2)
def test_tv_loss(rng):
    """tv_loss sums squared differences of vertical and horizontal neighbours"""
    img = rng.normal(size=(1, 3, 5, 7))
    w = float(rng.uniform(0.5, 2.0))
    got = sandbox.call(S + ":tv_loss", torch.tensor(img), w)
    expect_scalar(got, oracles.tv_loss(img, w), name=S + ".tv_loss", what="loss", rtol=1e-10, misconceptions={
        "only vertical differences: add the horizontal ones (along the last axis)":
            w * float(np.sum(np.diff(img, axis=2) ** 2)),
        "only horizontal differences: add the vertical ones (along axis 2)":
            w * float(np.sum(np.diff(img, axis=3) ** 2))})


@graded(points=3)
def test_style_transfer_step(rng, seed):
    """style_transfer_step lowers content + style + TV loss by one optimiser step, three times over"""
    s = seed % 1000
    img, content_target, style_targets, w = oracles.style_problem(rng, s)
    lr, steps = 1e-3, 3
    got = sandbox.call("a3_probes:style_steps", s, img, content_target, style_targets, w, lr, steps)
    name = S + ".style_transfer_step"
    expected_img, expected_losses = oracles.style_steps(s, img, content_target, style_targets, w, lr, steps)
    stale_img, stale_losses = oracles.style_steps(s, img, content_target, style_targets, w, lr, steps, zero_grad=False)
    no_tv_img, no_tv_losses = oracles.style_steps(s, img, content_target, style_targets, w, lr, steps, tv=False)
    expect_close(got["losses"], expected_losses, name=name, what="returned losses", rtol=1e-6, atol=1e-10,
                 misconceptions={"the total loss leaves out tv_loss(img, tv_weight)": no_tv_losses,
                                 "gradients accumulate across steps: call optimizer.zero_grad() before backward()":
                                 stale_losses})
    expect_close(got["img"], expected_img, name=name, what="image after the steps", rtol=1e-6, atol=1e-10,
                 misconceptions={"gradients accumulate across steps: call optimizer.zero_grad() before backward()":
                                 stale_img,
                                 "the total loss leaves out tv_loss(img, tv_weight)": no_tv_img})
