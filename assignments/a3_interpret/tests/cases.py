"""A3's test cases: random inputs, seeded networks, Captum's and the closed forms' answers,
and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).
Networks are rebuilt from ``model_seed`` on both sides by the probes' ``make_cnn`` /
``make_feature_cnn``.

Every input is float32, the dtype students work in; the expected values come from
float64 computations on those very values (oracles.py), and the inputs are drawn
tie-free: no ReLU input or max-pool decision within float32 rounding of a kink.
"""
import numpy as np
import torch

import oracles
from autograder.fixtures import case

CHANNELS = {"one channel": 1, "three channels": 3}
METHODS = ["Saliency", "GuidedBackprop", "LayerGradCam", "GuidedGradCam", "IntegratedGradients", "LayerConductance"]
PATH_METHODS = ("IntegratedGradients", "LayerConductance")


def _t(a):
    return torch.tensor(np.asarray(a), dtype=torch.float32)


# ---------------------------------------------------------------- saliency, guided backprop, Grad-CAM
def _saliency(rng, channels="one channel"):
    channels = CHANNELS[channels]
    seed, X, y = oracles.draw_maps_problem(rng, channels=channels)
    model = oracles.model64(seed, channels)
    expected = oracles.saliency(model, X, y)
    return {"model_seed": seed, "X": X, "y": y, "expected": expected,
            "misconceptions": oracles.saliency_misconceptions(model, X, y),
            "again_misconceptions": {
                "the second call on the same X returned twice the map: the first call's gradient stayed in "
                "X.grad and the second call added to it. Differentiate a copy (X.clone().requires_grad_()) or "
                "use torch.autograd.grad": 2 * expected}}


saliency = case(params=list(CHANNELS), name="saliency")(_saliency)
saliency_twice = case(name="saliency_twice")(_saliency)


@case()
def guided_relu(rng):
    x, g = rng.normal(size=(4, 6)).astype(np.float32), rng.normal(size=(4, 6)).astype(np.float32)
    return dict(oracles.guided_relu(x, g), x=_t(x), grad_output=_t(g))


@case()
def guided_relu_at_zero(rng):
    """Ties: exact zeros in x (the mask is x > 0) and in the incoming gradient."""
    x = rng.normal(size=(4, 6)).astype(np.float32)
    g = rng.normal(size=(4, 6)).astype(np.float32)
    x[rng.random(x.shape) < 0.4] = 0.0
    g[rng.random(g.shape) < 0.3] = 0.0
    x[0, :3], g[0, :3] = 0.0, [1.0, -1.0, 0.0]   # each kind of tie at least once
    return dict(oracles.guided_relu(x, g), x=_t(x), grad_output=_t(g))


@case(params=list(CHANNELS))
def guided_backprop(rng, channels):
    channels = CHANNELS[channels]
    seed, X, y = oracles.draw_maps_problem(rng, channels=channels, guided=True)
    model = oracles.model64(seed, channels)
    x = X.detach().to(torch.float64).requires_grad_(True)
    after = torch.autograd.grad(model(x).sum(), x)[0]  # the untouched network's, for the probe's check
    return {"model_seed": seed, "X": X, "y": y, "expected": oracles.guided(model, X, y), "after": oracles.f32(after),
            "misconceptions": {"this is the plain input gradient: the ReLUs were not replaced by GuidedReLU":
                               oracles.plain_gradient(model, X, y)}}


def _grad_cam(rng):
    seed, X, y = oracles.draw_maps_problem(rng)
    model = oracles.model64(seed)
    return {"model_seed": seed, "X": X, "y": y, "expected": oracles.gradcam(model, X, y),
            "misconceptions": oracles.gradcam_misconceptions(model, X, y)}


grad_cam = case(name="grad_cam")(_grad_cam)
grad_cam_twice = case(name="grad_cam_twice")(_grad_cam)


# ---------------------------------------------------------------- Captum
@case(params=METHODS)
def attribution_maps(rng, method):
    smooth = method in PATH_METHODS   # a network without kinks for the path methods (oracles.py)
    if smooth:
        seed = int(rng.integers(1000))
        X, y = oracles.inputs(rng, n=3)
    else:
        seed, X, y = oracles.draw_maps_problem(rng, n=3, guided=True)
    return {"model_seed": seed, "X": X, "y": y, "smooth": smooth,
            "expected": oracles.captum_map(oracles.model64(seed, smooth=smooth), X, y, method)}


# ---------------------------------------------------------------- fooling and class visualisation
FOOLING = ["reaches the target", "runs out of steps"]


@case(params=FOOLING)
def fooling_image(rng, kind):
    """A target the reference method reaches within 100 steps along a tie-free path ("reaches the target"),
    or the same with a budget of about half the steps it needs ("runs out of steps")."""
    lr = 1.0
    for _ in range(oracles.MAX_DRAWS):
        seed = int(rng.integers(1000))
        X, _ = oracles.inputs(rng, n=1)
        model = oracles.model64(seed)
        original = oracles.predicted(model, X)
        for offset in rng.permutation(9) + 1:
            target = int((original + offset) % 10)
            full, clean, steps = oracles.fooling(model, X, target, lr, 100)
            if clean and oracles.predicted(model, full) == target and steps >= 2:
                break
        else:
            continue
        break
    else:
        raise oracles.NoTieFreeDraw("no tie-free fooling problem")
    max_iter = 100 if kind == "reaches the target" else max(1, steps // 2)
    expected, _, _ = oracles.fooling(model, X, target, lr, max_iter)
    m32 = oracles.make_cnn(seed)

    def mistaken(**kw):
        return oracles.f32(oracles.fooling(m32, X, target, lr, max_iter, check=False, **kw)[0])

    misconceptions = {
        "you stepped DOWN the gradient (descent); fooling climbs the target score": mistaken(sign=-1.0),
        "the step is not normalised: divide the gradient by its L2 norm": mistaken(normalise=False),
        "the gradients accumulated over the steps: zero X_fool.grad after each step (or use "
        "torch.autograd.grad, which does not accumulate)": mistaken(accumulate=True)}
    if kind == "runs out of steps":
        misconceptions["you kept stepping after max_iter steps: stop after max_iter steps even when the model "
                       "is not fooled yet"] = oracles.f32(full)
    return {"model_seed": seed, "X": X, "target": target, "learning_rate": lr, "max_iter": max_iter,
            "reached": kind == "reaches the target", "expected": oracles.f32(expected),
            "misconceptions": misconceptions}


@case()
def class_visualization_step(rng):
    l2, lr = 0.05, 0.3
    seed, img, target = oracles.draw_class_step_problem(rng, l2, lr)
    model = oracles.model64(seed)
    first = oracles.class_step(model, img, target, l2, lr)
    return {"model_seed": seed, "img": img, "target": target, "l2_reg": l2, "learning_rate": lr,
            "expected": oracles.f32(first), "expected_second": oracles.f32(oracles.class_step(model, first, target, l2, lr)),
            "misconceptions": {
                "the L2 term has the wrong sign: the objective SUBTRACTS l2_reg * sum(img ** 2)":
                    oracles.f32(oracles.class_step(model, img, target, l2, lr, l2_sign=1.0)),
                "the step is not normalised: divide the gradient by its L2 norm":
                    oracles.f32(oracles.class_step(model, img, target, l2, lr, normalise=False))}}


# ---------------------------------------------------------------- style transfer
@case()
def gram_matrix(rng):
    f = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    unnormalised = oracles.gram(f, normalize=False)
    return {"features": _t(f), "expected": oracles.f32(oracles.gram(f)), "misconceptions": {
        "you did not divide by C * H * W": oracles.f32(unnormalised),
        "you divided by H * W only; normalise by C * H * W": oracles.f32(unnormalised / 15.0),
        "you divided by N * C * H * W (every element of the batch, features.numel()); normalise by C * H * W, "
        "one image's feature stack": oracles.f32(unnormalised / f.size)}}


@case()
def content_loss(rng):
    a, b = rng.normal(size=(1, 3, 4, 4)).astype(np.float32), rng.normal(size=(1, 3, 4, 4)).astype(np.float32)
    w = float(rng.uniform(0.5, 2.0))
    return {"content_weight": w, "current": _t(a), "original": _t(b),
            "expected": oracles.content_loss(w, a, b), "misconceptions": {
                "you averaged the squared differences (F.mse_loss's default); sum them":
                    w * float(np.mean((a.astype(np.float64) - b) ** 2))}}


def _style_problem(rng):
    feats = [rng.normal(size=(1, c, s, s)).astype(np.float32) for c, s in ((3, 6), (4, 4), (5, 2))]
    layers = [0, 2]
    targets = [oracles.f32(oracles.gram(rng.normal(size=(1, feats[i].shape[1], 3, 3)))) for i in layers]
    return feats, layers, targets, [0.5, 2.0]


@case()
def style_loss(rng):
    feats, layers, targets, weights = _style_problem(rng)
    return {"feats": [_t(f) for f in feats], "style_layers": layers,
            "style_targets": [_t(t) for t in targets], "style_weights": weights,
            "expected": oracles.style_loss(feats, layers, targets, weights), "misconceptions": {
                "you averaged the squared Gram differences (F.mse_loss's default); sum them":
                    oracles.style_loss(feats, layers, targets, weights, mean=True),
                "the style weights are missing: multiply each layer's term by its weight":
                    oracles.style_loss(feats, layers, targets, weights, weighted=False)}}


@case()
def tv_loss(rng):
    img = rng.normal(size=(1, 3, 5, 7)).astype(np.float32)
    w = float(rng.uniform(0.5, 2.0))
    x = img.astype(np.float64)
    return {"img": _t(img), "tv_weight": w, "expected": oracles.tv_loss(img, w), "misconceptions": {
        "only vertical differences: add the horizontal ones (along the last axis)":
            w * float(np.sum(np.diff(x, axis=2) ** 2)),
        "only horizontal differences: add the vertical ones (along axis 2)":
            w * float(np.sum(np.diff(x, axis=3) ** 2)),
        "torch.roll wraps around: it adds the differences between the last and the first row (and column); "
        "slice instead (img[:, :, 1:, :] - img[:, :, :-1, :])": oracles.tv_loss(img, w, wrap=True)}}


@case(params=["content_loss", "style_loss", "tv_loss"])
def losses_are_differentiable(rng, function):
    """The loss's gradient with respect to its first tensor argument (style_loss: feats[0])."""
    if function == "content_loss":
        a, b = rng.normal(size=(1, 3, 4, 4)).astype(np.float32), rng.normal(size=(1, 3, 4, 4)).astype(np.float32)
        w = float(rng.uniform(0.5, 2.0))
        return {"args": [w, _t(a), _t(b)], "wrt": 1, "expected": oracles.content_loss_gradient(w, a, b)}
    if function == "style_loss":
        feats, layers, targets, weights = _style_problem(rng)
        return {"args": [[_t(f) for f in feats], layers, [_t(t) for t in targets], weights], "wrt": [0, 0],
                "expected": oracles.style_loss_gradient(feats, layers, targets, weights, 0)}
    img = rng.normal(size=(1, 3, 5, 7)).astype(np.float32)
    w = float(rng.uniform(0.5, 2.0))
    return {"args": [_t(img), w], "wrt": 0, "expected": oracles.tv_loss_gradient(img, w)}


def _style_transfer_step(rng):
    for _ in range(oracles.MAX_DRAWS):
        seed = int(rng.integers(1000))
        img, content_target, style_targets, w = oracles.style_problem(rng, seed)
        lr, steps = 1e-3, 3
        args = (seed, img, content_target, style_targets, w, lr, steps)
        expected_img, expected_losses, clean = oracles.style_steps(*args)
        if clean:
            break
    else:
        raise oracles.NoTieFreeDraw("no tie-free style-transfer problem")
    stale_img, stale_losses, _ = oracles.style_steps(*args, zero_grad=False)
    no_tv_img, no_tv_losses, _ = oracles.style_steps(*args, tv=False)
    no_tv = "the total loss leaves out tv_loss(img, tv_weight)"
    stale = "gradients accumulate across steps: call optimizer.zero_grad() before backward()"
    return {"model_seed": seed, "img": img, "content_target": content_target, "style_targets": style_targets,
            "weights": w, "learning_rate": lr, "steps": steps,
            "expected_losses": expected_losses, "expected_img": expected_img,
            "loss_misconceptions": {no_tv: no_tv_losses, stale: stale_losses},
            "img_misconceptions": {stale: stale_img, no_tv: no_tv_img}}


style_transfer_step = case(name="style_transfer_step")(_style_transfer_step)
