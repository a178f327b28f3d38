"""A3 oracles: Captum's own methods on the same seeded network, and closed forms.

Run in the harness only. ``make_cnn`` comes from the probes so both sides build
the same network.

Dtypes: students work in float32 (the default dtype; the probes' networks and every
input are float32). The oracles compute in float64 on the same values (the float32
inputs and weights widened), so an expected value is the exact answer for the inputs
the student gets, and a correct float32 computation lands within float32 rounding of
it. Expected values are returned as float32 arrays (their rounding, ~6e-8 of their
size, is far below the tests' tolerances).

Kinks. The networks are piecewise linear: a gradient jumps where a ReLU's input
crosses 0 or where the two largest entries of a max-pool window swap. A float32
computation moves a pre-activation by up to ~4e-7 here (measured over a million
units), so at a point that close to a kink float32 and float64 can take different
branches and give gradients that differ by a lot. The case builders draw inputs
until every point the method evaluates keeps ``MARGIN`` away from every kink: these are
the tie-free cases. The path methods (integrated gradients, conductance) evaluate the
network at 50 points from the all-zero image, where every max-pool window is a near-tie
(all positions of a blank image look alike): no draw is tie-free there, so their cases
use the same network made smooth (tanh, average pooling; ``make_cnn(smooth=True)``).
"""
import numpy as np
import torch
import torch.nn.functional as F
from captum.attr import (GuidedBackprop, GuidedGradCam, IntegratedGradients, LayerConductance, LayerGradCam,
                         Saliency)

from probes.a3_probes import features, make_cnn, make_feature_cnn  # noqa: F401  (re-exported for the tests)

F64 = torch.float64
MARGIN = 2e-6         # 5x the largest float32 rounding of a pre-activation seen here
GUIDED_MARGIN = 1e-5  # of the largest gradient at the first ReLU (float32 rounds it by ~1e-7 of that)
SCORE_MARGIN = 1e-4   # the gap between the two largest scores where a decision (argmax) is taken
MAX_DRAWS = 200


class NoTieFreeDraw(RuntimeError):
    """No tie-free input was found (a bug in a case builder, not the student's code)."""


def f32(a):
    """A float64 array or tensor rounded to float32 (expected values; see the module docstring)."""
    if isinstance(a, torch.Tensor):
        a = a.detach().numpy()
    return np.asarray(a, dtype=np.float32)


def model64(seed, in_channels=1, smooth=False):
    """make_cnn(seed)'s weights, widened to float64."""
    return make_cnn(seed, in_channels, F64, smooth=smooth)


def inputs(rng, n=None, channels=1):
    """float32 images in [0, 1] and int64 labels."""
    n = n or int(rng.integers(3, 6))
    X = torch.tensor(rng.uniform(0.0, 1.0, size=(n, channels, 8, 8)), dtype=torch.float32)
    y = torch.tensor(rng.integers(0, 10, size=n), dtype=torch.int64)
    return X, y


def _x(X):
    return X.detach().to(F64).clone().requires_grad_(True)


# ---------------------------------------------------------------- kinks: the tie-free draws
def kink_distance(model, X):
    """How far the float64 forward pass of ``model`` (a SmallCNN) at ``X`` is from its nearest kink: the
    smallest |ReLU input|, and the smallest gap between the two largest entries of a max-pool window whose
    largest entry is positive (a window of zeros passes no gradient)."""
    with torch.no_grad():
        z1 = model.features[0](X.detach().to(F64))
        z2 = model.features[2](torch.relu(z1))
        a2 = torch.relu(z2)
        n, k, h, w = a2.shape
        windows = F.unfold(a2.reshape(n * k, 1, h, w), 2, stride=2)   # (N*K, 4, h*w/4)
        top = windows.topk(2, dim=1).values
        gaps = (top[:, 0] - top[:, 1])[top[:, 0] > 0]
    return min(float(z1.abs().min()), float(z2.abs().min()), float(gaps.min()) if gaps.numel() else np.inf)


def guided_sign_ratio(model, X, y):
    """Guided backpropagation also branches on the sign of the gradient reaching each ReLU. At the second
    ReLU that gradient is a classifier weight (exact in float32); at the first it is a sum: its smallest
    non-zero size where the ReLU is open, relative to the largest."""
    with torch.enable_grad():
        z1 = model.features[0](X.detach().to(F64))
        a1 = torch.relu(z1).detach().requires_grad_(True)
        z2 = model.features[2](a1)
        a2 = torch.relu(z2)
        scores = model.classifier(F.max_pool2d(a2, 2).flatten(1))
        (g_a2,) = torch.autograd.grad(scores.gather(1, y.view(-1, 1)).sum(), a2, retain_graph=True)
        (g_a1,) = torch.autograd.grad(z2, a1, grad_outputs=g_a2 * (z2 > 0) * (g_a2 > 0))
    live = g_a1[(z1 > 0) & (g_a1 != 0)].abs()
    return float(live.min()) / float(g_a1.abs().max()) if live.numel() else np.inf


def tie_free(model, X, y=None, guided=False, margin=MARGIN):
    """Every kink at least ``margin`` away (and, ``guided``, every guided sign decided by GUIDED_MARGIN)."""
    return kink_distance(model, X) >= margin and (not guided or guided_sign_ratio(model, X, y) >= GUIDED_MARGIN)


def draw_maps_problem(rng, channels=1, n=None, guided=False):
    """(model seed, X, y) with every image MARGIN away from the network's kinks."""
    for _ in range(MAX_DRAWS):
        seed = int(rng.integers(1000))
        X, y = inputs(rng, n=n, channels=channels)
        if tie_free(model64(seed, channels), X, y, guided=guided):
            return seed, X, y
    raise NoTieFreeDraw("no tie-free draw for the maps")


# ---------------------------------------------------------------- maps
def saliency(model, X, y):
    return f32(Saliency(model).attribute(_x(X), target=y, abs=True).amax(dim=1))


def guided(model, X, y):
    return f32(GuidedBackprop(model).attribute(_x(X), target=y))


def gradcam(model, X, y):
    return f32(LayerGradCam(model, model.features[2]).attribute(_x(X), target=y, relu_attributions=True)[:, 0])


def _captum_methods(model):
    layer = model.features[2]
    return {
        "Saliency": lambda X, y: Saliency(model).attribute(_x(X), target=y, abs=True),
        "GuidedBackprop": lambda X, y: GuidedBackprop(model).attribute(_x(X), target=y),
        "LayerGradCam": lambda X, y: LayerGradCam(model, layer).attribute(_x(X), target=y, relu_attributions=True),
        "GuidedGradCam": lambda X, y: GuidedGradCam(model, layer).attribute(_x(X), target=y),
        "IntegratedGradients": lambda X, y: IntegratedGradients(model).attribute(_x(X), target=y, baselines=0.0,
                                                                                 n_steps=50),
        "LayerConductance": lambda X, y: LayerConductance(model, layer).attribute(_x(X), target=y, baselines=0.0,
                                                                                  n_steps=50),
    }


def captum_map(model, X, y, method):
    """One of the six Captum maps of ``attribution_maps`` (``method`` names it)."""
    return f32(_captum_methods(model)[method](X, y))


def _input_gradient(model, X, y):
    x = _x(X)
    model(x).gather(1, y.view(-1, 1)).sum().backward()
    return x.grad


def saliency_misconceptions(model, X, y):
    """Values a saliency map takes under common mistakes."""
    g = _input_gradient(model, X, y).numpy()                     # (N, C, H, W)
    s = np.abs(g).max(axis=1)
    x = _x(X)
    scores = model(x)
    (g_all,) = torch.autograd.grad(scores.sum(), x)
    x = _x(X)
    (g_pred,) = torch.autograd.grad(model(x).max(dim=1).values.sum(), x)
    return {k: f32(v) for k, v in {
        "you took the max of the raw gradient; take the absolute value first": g.max(axis=1),
        "you summed over channels; take the maximum of |gradient| over channels": np.abs(g).sum(axis=1),
        "you averaged over channels; take the maximum of |gradient| over channels": np.abs(g).mean(axis=1),
        "you differentiated the sum of ALL scores; pick each image's correct score with "
        "scores.gather(1, y.view(-1, 1))": g_all.abs().amax(dim=1).numpy(),
        "you explained the predicted class (the largest score); explain the label y":
            g_pred.abs().amax(dim=1).numpy(),
    }.items()} | {
        "you scaled the map (for display?); return the raw max |gradient|, not divided by its maximum": [
            f32(s / s.max(axis=(1, 2), keepdims=True)), f32(s / s.max())]}


def gradcam_misconceptions(model, X, y):
    layer = model.features[2]
    kept = {}
    handle = layer.register_forward_hook(lambda m, i, o: kept.update(A=o))
    x = _x(X)
    scores = model(x)
    handle.remove()
    A = kept["A"]
    (G,) = torch.autograd.grad(scores.gather(1, y.view(-1, 1)).sum(), A)
    A, G = A.detach().numpy(), G.numpy()
    alpha = G.mean(axis=(2, 3), keepdims=True)
    cam = np.maximum((alpha * A).sum(axis=1), 0)
    return {k: f32(v) for k, v in {
        "no ReLU: Grad-CAM keeps only the positive part of the weighted sum": (alpha * A).sum(axis=1),
        "the channel weights must come from the gradients averaged over space, not the activations":
            np.maximum((A.mean(axis=(2, 3), keepdims=True) * A).sum(axis=1), 0),
        "you weighted by the gradient at each position instead of its spatial average":
            np.maximum((G * A).sum(axis=1), 0),
        "you averaged the gradients over the batch too: alpha[i, k] is the mean over (h, w) of image i's "
        "gradients only": np.maximum((G.mean(axis=(0, 2, 3), keepdims=True) * A).sum(axis=1), 0),
    }.items()} | {
        "you scaled the map (to [0, 1] for display?); return ReLU(sum_k alpha_k A_k) as it is": [
            f32(cam / np.maximum(cam.max(axis=(1, 2), keepdims=True), 1e-300)), f32(cam / cam.max())]}


def guided_relu(x, g):
    """A guided ReLU's forward and backward on arrays, and the backwards of common mistakes."""
    return {"out": f32(np.maximum(x, 0)), "grad": f32(g * (x > 0) * (g > 0)), "misconceptions": {
        "negative gradients pass through: this is the ordinary ReLU backward; clamp the incoming "
        "gradient at 0 as well": f32(g * (x > 0)),
        "you dropped the (x > 0) mask of the ordinary ReLU backward": f32(np.maximum(g, 0)),
        "at x == 0 the gradient must be 0: the mask is (x > 0), not (x >= 0)": f32(g * (x >= 0) * (g > 0))}}


def plain_gradient(model, X, y):
    return f32(_input_gradient(model, X, y))


# ---------------------------------------------------------------- fooling and class visualisation
def _decided(scores, margin=SCORE_MARGIN):
    top = scores.detach().topk(2, dim=1).values
    return float(top[0, 0] - top[0, 1]) >= margin


def fooling(model, X, target, lr, max_iter, sign=1.0, normalise=True, accumulate=False, check=True):
    """The fooling image by normalised gradient ascent in ``model``'s dtype, whether the trajectory is
    tie-free (every point MARGIN away from the kinks, every argmax decided by SCORE_MARGIN), and the number
    of steps taken. sign=-1: descent; normalise=False: raw steps; accumulate: gradients summed over the
    steps (never zeroed)."""
    Xf = X.detach().to(next(model.parameters()).dtype).clone()
    acc = torch.zeros_like(Xf)
    clean, steps = True, 0
    for _ in range(max_iter):
        Xf.requires_grad_(True)
        scores = model(Xf)
        if check and not (_decided(scores) and tie_free(model, Xf)):
            return Xf.detach(), False, steps   # not a tie-free trajectory: the caller draws another problem
        if int(scores.argmax(dim=1)) == int(target):
            break
        (g,) = torch.autograd.grad(scores[0, int(target)], Xf)
        acc = acc + g if accumulate else g
        step = acc / acc.norm() if normalise else acc
        Xf = (Xf + sign * lr * step).detach()
        steps += 1
    else:
        if check:
            with torch.no_grad():
                clean = clean and _decided(model(Xf)) and tie_free(model, Xf)
    return Xf.detach(), clean, steps


def step_then_check(model, X, target, lr, max_iter):
    """A fooling loop that steps before it checks the prediction (a catalogued mistake), float32."""
    Xf = X.clone()
    for _ in range(max_iter):
        Xf.requires_grad_(True)
        (g,) = torch.autograd.grad(model(Xf)[0, int(target)], Xf)
        Xf = (Xf + lr * g / g.norm()).detach()
        if predicted(model, Xf) == int(target):
            break
    return Xf.detach()


def predicted(model, X):
    with torch.no_grad():
        return int(model(torch.as_tensor(X).to(next(model.parameters()).dtype)).argmax(dim=1))


def class_step(model, img, target, l2_reg, lr, l2_sign=-1.0, normalise=True):
    x = img.detach().to(F64).clone().requires_grad_(True)
    objective = model(x)[0, int(target)] + l2_sign * l2_reg * (x ** 2).sum()
    (g,) = torch.autograd.grad(objective, x)
    return (x + lr * (g / g.norm() if normalise else g)).detach()


def draw_class_step_problem(rng, l2_reg, lr, channels=1):
    """(model seed, img, target) with the image and the first step's result tie-free (the probe chains two
    steps)."""
    for _ in range(MAX_DRAWS):
        seed = int(rng.integers(1000))
        img = torch.tensor(rng.uniform(0, 1, size=(1, channels, 8, 8)), dtype=torch.float32)
        target = int(rng.integers(0, 10))
        model = model64(seed, channels)
        if tie_free(model, img) and tie_free(model, class_step(model, img, target, l2_reg, lr)):
            return seed, img, target
    raise NoTieFreeDraw("no tie-free draw for the class-visualisation step")


# ---------------------------------------------------------------- style transfer, closed forms (float64)
def gram(features, normalize=True):
    features = np.asarray(features, dtype=np.float64)
    n, c, h, w = features.shape
    g = np.einsum("nchw,ndhw->ncd", features, features)
    return g / (c * h * w) if normalize else g


def content_loss(weight, current, original):
    return float(weight * np.sum((np.asarray(current, np.float64) - np.asarray(original, np.float64)) ** 2))


def style_loss(feats, layers, targets, weights, mean=False, weighted=True):
    """sum_l w_l * sum (G_l - T_l)^2; ``mean``: the squares averaged (F.mse_loss); ``weighted=False``: no w_l."""
    reduce = np.mean if mean else np.sum
    return float(sum((w if weighted else 1.0) * reduce((gram(feats[l]) - np.asarray(t, np.float64)) ** 2)
                     for l, t, w in zip(layers, targets, weights)))


def tv_loss(img, weight, wrap=False):
    """weight * (sum of squared vertical + horizontal neighbour differences); ``wrap``: with the differences
    between the last and the first row / column too (torch.roll)."""
    img = np.asarray(img, dtype=np.float64)
    if wrap:
        return float(weight * (np.sum((np.roll(img, 1, axis=2) - img) ** 2)
                               + np.sum((np.roll(img, 1, axis=3) - img) ** 2)))
    return float(weight * (np.sum(np.diff(img, axis=2) ** 2) + np.sum(np.diff(img, axis=3) ** 2)))


def _t64(a):
    return torch.as_tensor(np.asarray(a, dtype=np.float64))


def content_loss_gradient(weight, current, original):
    return f32(2 * weight * (_t64(current) - _t64(original)))


def tv_loss_gradient(img, weight):
    x = _t64(img).requires_grad_(True)
    loss = weight * (((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum() + ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum())
    return f32(torch.autograd.grad(loss, x)[0])


def style_loss_gradient(feats, layers, targets, weights, wrt):
    """d style_loss / d feats[wrt], by autograd on the closed form in float64."""
    x = _t64(feats[wrt]).requires_grad_(True)
    loss = 0.0
    for layer, target, weight in zip(layers, targets, weights):
        f = x if layer == wrt else _t64(feats[layer])
        g = torch.einsum("nchw,ndhw->ncd", f, f) / f[0].numel()
        loss = loss + weight * ((g - _t64(target)) ** 2).sum()
    return f32(torch.autograd.grad(loss, x)[0])


def style_problem(rng, seed):
    """Random float32 images and targets for the style-transfer step on make_feature_cnn(seed)."""
    cnn = make_feature_cnn(seed, F64)
    content = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 10)), dtype=torch.float32)
    style = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 10)), dtype=torch.float32)
    img = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 10)), dtype=torch.float32)
    weights = {"content_layer": 3, "content_weight": float(rng.uniform(0.5, 1.5)), "style_layers": [1, 3, 5],
               "style_weights": [float(w) for w in rng.uniform(5.0, 20.0, size=3)], "tv_weight": float(rng.uniform(0.1, 0.5))}
    with torch.no_grad():
        content_target = features(cnn, content.to(F64))[weights["content_layer"]].float()
        style_feats = features(cnn, style.to(F64))
        style_targets = [(torch.einsum("nchw,ndhw->ncd", style_feats[l], style_feats[l]) / style_feats[l][0].numel())
                         .float() for l in weights["style_layers"]]
    return img, content_target, style_targets, weights


def _feature_kinks(cnn, x):
    """The smallest |ReLU input| of the feature CNN at ``x`` (its only kinks: average pooling is linear)."""
    with torch.no_grad():
        dist, h = np.inf, x.detach().to(F64)
        for layer in cnn:
            if isinstance(layer, torch.nn.ReLU):
                dist = min(dist, float(h.abs().min()))
            h = layer(h)
    return dist


def style_steps(seed, img, content_target, style_targets, w, lr, steps, zero_grad=True, tv=True):
    """The style-transfer step with plain SGD, by autograd on closed-form losses (not the student's), in
    float64; returns the image, the losses and whether every image met is tie-free."""
    cnn = make_feature_cnn(seed, F64)
    img = img.detach().to(F64).clone()
    content_target = content_target.to(F64)
    style_targets = [t.to(F64) for t in style_targets]
    acc = torch.zeros_like(img)
    losses = []
    clean = True
    for _ in range(steps):
        clean = clean and _feature_kinks(cnn, img) >= MARGIN
        x = img.clone().requires_grad_(True)
        feats = features(cnn, x)
        loss = w["content_weight"] * ((feats[w["content_layer"]] - content_target) ** 2).sum()
        for layer, target, weight in zip(w["style_layers"], style_targets, w["style_weights"]):
            f = feats[layer]
            loss = loss + weight * ((torch.einsum("nchw,ndhw->ncd", f, f) / f[0].numel() - target) ** 2).sum()
        if tv:
            loss = loss + w["tv_weight"] * (((x[:, :, 1:] - x[:, :, :-1]) ** 2).sum()
                                            + ((x[:, :, :, 1:] - x[:, :, :, :-1]) ** 2).sum())
        (g,) = torch.autograd.grad(loss, x)
        acc = g if zero_grad else acc + g
        img = img - lr * acc
        losses.append(float(loss))
    return f32(img), np.array(losses), clean
