"""A3 oracles: Captum's own methods on the same seeded network, and closed forms.

Run in the harness only. ``make_cnn`` comes from the probes so both sides build
the same network.
"""
import numpy as np
import torch
from captum.attr import (GuidedBackprop, GuidedGradCam, IntegratedGradients, LayerConductance, LayerGradCam,
                         Saliency)

from probes.a3_probes import features, make_cnn, make_feature_cnn  # noqa: F401  (re-exported for the tests)


def inputs(rng, n=None, channels=1):
    n = n or int(rng.integers(3, 6))
    X = torch.tensor(rng.uniform(0.0, 1.0, size=(n, channels, 8, 8)))
    y = torch.tensor(rng.integers(0, 10, size=n), dtype=torch.int64)
    return X, y


def _x(X):
    return X.clone().requires_grad_(True)


def saliency(model, X, y):
    return Saliency(model).attribute(_x(X), target=y, abs=True).amax(dim=1).numpy()


def guided(model, X, y):
    return GuidedBackprop(model).attribute(_x(X), target=y).detach().numpy()


def gradcam(model, X, y):
    return LayerGradCam(model, model.features[2]).attribute(_x(X), target=y, relu_attributions=True)[:, 0].detach().numpy()


def _captum_methods(model):
    layer = model.features[2]
    return {
        "Saliency": lambda X, y: Saliency(model).attribute(_x(X), target=y, abs=True).numpy(),
        "GuidedBackprop": lambda X, y: GuidedBackprop(model).attribute(_x(X), target=y).detach().numpy(),
        "LayerGradCam": lambda X, y: LayerGradCam(model, layer).attribute(_x(X), target=y,
                                                                          relu_attributions=True).detach().numpy(),
        "GuidedGradCam": lambda X, y: GuidedGradCam(model, layer).attribute(_x(X), target=y).detach().numpy(),
        "IntegratedGradients": lambda X, y: IntegratedGradients(model).attribute(_x(X), target=y, baselines=0.0,
                                                                                 n_steps=50).detach().numpy(),
        "LayerConductance": lambda X, y: LayerConductance(model, layer).attribute(_x(X), target=y, baselines=0.0,
                                                                                  n_steps=50).detach().numpy(),
    }


def captum_map(model, X, y, method):
    """One of the six Captum maps of ``attribution_maps`` (``method`` names it)."""
    return _captum_methods(model)[method](X, y)


def captum_maps(model, X, y):
    return {method: fn(X, y) for method, fn in _captum_methods(model).items()}


# ---------------------------------------------------------------- style transfer, closed forms
def gram(features, normalize=True):
    n, c, h, w = features.shape
    g = np.einsum("nchw,ndhw->ncd", features, features)
    return g / (c * h * w) if normalize else g


def content_loss(weight, current, original):
    return float(weight * np.sum((current - original) ** 2))


def style_loss(feats, layers, targets, weights):
    return float(sum(w * np.sum((gram(feats[l]) - t) ** 2) for l, t, w in zip(layers, targets, weights)))


def tv_loss(img, weight):
    return float(weight * (np.sum(np.diff(img, axis=2) ** 2) + np.sum(np.diff(img, axis=3) ** 2)))


def saliency_misconceptions(model, X, y):
    """Values a saliency map takes under common mistakes."""
    x = _x(X)
    model(x).gather(1, y.view(-1, 1)).sum().backward()
    g = x.grad.numpy()                                      # (N, C, H, W)
    return {
        "you took the max of the raw gradient; take the absolute value first": g.max(axis=1),
        "you summed over channels; take the maximum of |gradient| over channels": np.abs(g).sum(axis=1),
        "you averaged over channels; take the maximum of |gradient| over channels": np.abs(g).mean(axis=1),
    }


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
    return {
        "no ReLU: Grad-CAM keeps only the positive part of the weighted sum": (alpha * A).sum(axis=1),
        "the channel weights must come from the gradients averaged over space, not the activations":
            np.maximum((A.mean(axis=(2, 3), keepdims=True) * A).sum(axis=1), 0),
        "you weighted by the gradient at each position instead of its spatial average":
            np.maximum((G * A).sum(axis=1), 0),
    }


def guided_relu(x, g):
    """A guided ReLU's forward and backward on arrays, and the backwards of two common mistakes."""
    return {"out": np.maximum(x, 0), "grad": g * (x > 0) * (g > 0), "misconceptions": {
        "negative gradients pass through: this is the ordinary ReLU backward; clamp the incoming "
        "gradient at 0 as well": g * (x > 0),
        "you dropped the (x > 0) mask of the ordinary ReLU backward": np.maximum(g, 0)}}


def plain_gradient(model, X, y):
    x = _x(X)
    model(x).gather(1, y.view(-1, 1)).sum().backward()
    return x.grad.numpy()


# ---------------------------------------------------------------- fooling and class visualisation
def fooling(model, X, target, lr, max_iter, sign=1.0, normalise=True):
    """The fooling image by normalised gradient ascent (sign=-1: descent; normalise=False: raw steps)."""
    Xf = X.clone()
    for _ in range(max_iter):
        Xf.requires_grad_(True)
        scores = model(Xf)
        if int(scores.argmax(dim=1)) == int(target):
            break
        (g,) = torch.autograd.grad(scores[0, int(target)], Xf)
        step = g / g.norm() if normalise else g
        Xf = (Xf + sign * lr * step).detach()
    return Xf.detach()


def step_then_check(model, X, target, lr, max_iter):
    """A fooling loop that steps before it checks the prediction (a catalogued mistake)."""
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
        return int(model(torch.as_tensor(X)).argmax(dim=1))


def class_step(model, img, target, l2_reg, lr, l2_sign=-1.0, normalise=True):
    x = img.clone().requires_grad_(True)
    objective = model(x)[0, int(target)] + l2_sign * l2_reg * (x ** 2).sum()
    (g,) = torch.autograd.grad(objective, x)
    return (x + lr * (g / g.norm() if normalise else g)).detach().numpy()


def style_problem(rng, seed):
    """Random images and targets for the style-transfer step on make_feature_cnn(seed)."""
    cnn = make_feature_cnn(seed)
    content = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 10)))
    style = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 10)))
    img = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 10)))
    weights = {"content_layer": 3, "content_weight": float(rng.uniform(0.5, 1.5)), "style_layers": [1, 3, 5],
               "style_weights": [float(w) for w in rng.uniform(5.0, 20.0, size=3)], "tv_weight": float(rng.uniform(0.1, 0.5))}
    with torch.no_grad():
        content_target = features(cnn, content)[weights["content_layer"]]
        style_feats = features(cnn, style)
        style_targets = [torch.einsum("nchw,ndhw->ncd", style_feats[l], style_feats[l]) / style_feats[l][0].numel()
                         for l in weights["style_layers"]]
    return img, content_target, style_targets, weights


def style_steps(seed, img, content_target, style_targets, w, lr, steps, zero_grad=True, tv=True):
    """The style-transfer step with plain SGD, by autograd on closed-form losses (not the student's)."""
    cnn = make_feature_cnn(seed)
    img = img.clone()
    acc = torch.zeros_like(img)
    losses = []
    for _ in range(steps):
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
    return img.numpy(), np.array(losses)
