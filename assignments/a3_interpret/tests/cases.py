"""A3's test cases: random inputs, seeded networks, Captum's and the closed forms' answers,
and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).
Networks are rebuilt from ``model_seed`` on both sides by the probes' ``make_cnn`` /
``make_feature_cnn``.
"""
import numpy as np
import torch

import oracles
from autograder.fixtures import case

CHANNELS = [1, 3]
METHODS = ["Saliency", "GuidedBackprop", "LayerGradCam", "GuidedGradCam", "IntegratedGradients", "LayerConductance"]


def _model_seed(rng):
    return int(rng.integers(1000))


# ---------------------------------------------------------------- saliency, guided backprop, Grad-CAM
@case(params=CHANNELS)
def saliency(rng, channels):
    channels = int(channels)
    seed = _model_seed(rng)
    X, y = oracles.inputs(rng, channels=channels)
    model = oracles.make_cnn(seed, channels)
    return {"model_seed": seed, "X": X, "y": y, "expected": oracles.saliency(model, X, y),
            "misconceptions": oracles.saliency_misconceptions(model, X, y)}


@case()
def guided_relu(rng):
    x, g = rng.normal(size=(4, 6)), rng.normal(size=(4, 6))
    return dict(oracles.guided_relu(x, g), x=torch.tensor(x), grad_output=torch.tensor(g))


@case(params=CHANNELS)
def guided_backprop(rng, channels):
    channels = int(channels)
    seed = _model_seed(rng)
    X, y = oracles.inputs(rng, channels=channels)
    model = oracles.make_cnn(seed, channels)
    x = X.detach().clone().requires_grad_(True)
    after = torch.autograd.grad(model(x).sum(), x)[0]  # the untouched network's, for the probe's check
    return {"model_seed": seed, "X": X, "y": y, "expected": oracles.guided(model, X, y), "after": after,
            "misconceptions": {"this is the plain input gradient: the ReLUs were not replaced by GuidedReLU":
                               oracles.plain_gradient(model, X, y)}}


@case()
def grad_cam(rng):
    seed = _model_seed(rng)
    X, y = oracles.inputs(rng)
    model = oracles.make_cnn(seed)
    return {"model_seed": seed, "X": X, "y": y, "expected": oracles.gradcam(model, X, y),
            "misconceptions": oracles.gradcam_misconceptions(model, X, y)}


# ---------------------------------------------------------------- Captum
@case(params=METHODS)
def attribution_maps(rng, method):
    seed = _model_seed(rng)
    X, y = oracles.inputs(rng, n=3)
    return {"model_seed": seed, "X": X, "y": y, "expected": oracles.captum_map(oracles.make_cnn(seed), X, y, method)}


# ---------------------------------------------------------------- fooling and class visualisation
@case()
def fooling_image(rng):
    seed = _model_seed(rng)
    model = oracles.make_cnn(seed)
    X, _ = oracles.inputs(rng, n=1)
    lr, max_iter = 1.0, 100
    original = oracles.predicted(model, X)
    # a target the reference method reaches within the step budget
    for offset in rng.permutation(9) + 1:
        target = int((original + offset) % 10)
        expected = oracles.fooling(model, X, target, lr, max_iter)
        if oracles.predicted(model, expected) == target:
            break
    return {"model_seed": seed, "X": X, "target": target, "learning_rate": lr, "max_iter": max_iter,
            "expected": expected.numpy(), "misconceptions": {
                "you stepped DOWN the gradient (descent); fooling climbs the target score":
                    oracles.fooling(model, X, target, lr, max_iter, sign=-1.0).numpy(),
                "the step is not normalised: divide the gradient by its L2 norm":
                    oracles.fooling(model, X, target, lr, max_iter, normalise=False).numpy()}}


@case()
def class_visualization_step(rng):
    seed = _model_seed(rng)
    model = oracles.make_cnn(seed)
    img = torch.tensor(rng.uniform(0, 1, size=(1, 1, 8, 8)))
    target, l2, lr = int(rng.integers(0, 10)), 0.05, 0.3
    return {"model_seed": seed, "img": img, "target": target, "l2_reg": l2, "learning_rate": lr,
            "expected": oracles.class_step(model, img, target, l2, lr), "misconceptions": {
                "the L2 term has the wrong sign: the objective SUBTRACTS l2_reg * sum(img ** 2)":
                    oracles.class_step(model, img, target, l2, lr, l2_sign=1.0),
                "the step is not normalised: divide the gradient by its L2 norm":
                    oracles.class_step(model, img, target, l2, lr, normalise=False)}}


# ---------------------------------------------------------------- style transfer
@case()
def gram_matrix(rng):
    f = rng.normal(size=(2, 4, 5, 3))
    return {"features": torch.tensor(f), "expected": oracles.gram(f), "misconceptions": {
        "you did not divide by C * H * W": oracles.gram(f, normalize=False),
        "you divided by H * W only; normalise by C * H * W": oracles.gram(f, normalize=False) / 15.0}}


@case()
def content_loss(rng):
    a, b = rng.normal(size=(1, 3, 4, 4)), rng.normal(size=(1, 3, 4, 4))
    w = float(rng.uniform(0.5, 2.0))
    return {"content_weight": w, "current": torch.tensor(a), "original": torch.tensor(b),
            "expected": oracles.content_loss(w, a, b), "misconceptions": {
                "you averaged the squared differences; sum them": w * float(np.mean((a - b) ** 2))}}


@case()
def style_loss(rng):
    feats = [rng.normal(size=(1, c, s, s)) for c, s in ((3, 6), (4, 4), (5, 2))]
    layers = [0, 2]
    targets = [oracles.gram(rng.normal(size=(1, feats[i].shape[1], 3, 3))) for i in layers]
    weights = [0.5, 2.0]
    return {"feats": [torch.tensor(f) for f in feats], "style_layers": layers,
            "style_targets": [torch.tensor(t) for t in targets], "style_weights": weights,
            "expected": oracles.style_loss(feats, layers, targets, weights)}


@case()
def tv_loss(rng):
    img = rng.normal(size=(1, 3, 5, 7))
    w = float(rng.uniform(0.5, 2.0))
    return {"img": torch.tensor(img), "tv_weight": w, "expected": oracles.tv_loss(img, w), "misconceptions": {
        "only vertical differences: add the horizontal ones (along the last axis)":
            w * float(np.sum(np.diff(img, axis=2) ** 2)),
        "only horizontal differences: add the vertical ones (along axis 2)":
            w * float(np.sum(np.diff(img, axis=3) ** 2))}}


@case()
def style_transfer_step(rng):
    seed = _model_seed(rng)
    img, content_target, style_targets, w = oracles.style_problem(rng, seed)
    lr, steps = 1e-3, 3
    args = (seed, img, content_target, style_targets, w, lr, steps)
    expected_img, expected_losses = oracles.style_steps(*args)
    stale_img, stale_losses = oracles.style_steps(*args, zero_grad=False)
    no_tv_img, no_tv_losses = oracles.style_steps(*args, tv=False)
    no_tv = "the total loss leaves out tv_loss(img, tv_weight)"
    stale = "gradients accumulate across steps: call optimizer.zero_grad() before backward()"
    return {"model_seed": seed, "img": img, "content_target": content_target, "style_targets": style_targets,
            "weights": w, "learning_rate": lr, "steps": steps,
            "expected_losses": expected_losses, "expected_img": expected_img,
            "loss_misconceptions": {no_tv: no_tv_losses, stale: stale_losses},
            "img_misconceptions": {stale: stale_img, no_tv: no_tv_img}}
