"""Probes for A3: build a seeded CNN in the worker, run the student's method on it.

``make_cnn`` is shared with the harness's oracles (tests/oracles.py imports it), so
both sides build the very same network from the same seed. No expected values here.
"""
import importlib

import torch
import torch.nn as nn


class SmallCNN(nn.Module):
    """The DigitsCNN architecture: (N, 1, 8, 8) -> (N, 10); Grad-CAM layer = features[2]."""

    def __init__(self, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.classifier = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        return self.classifier(self.pool(self.features(x)).flatten(1))


def make_cnn(seed, in_channels=1):
    """A seeded SmallCNN in float64 and eval mode, parameters frozen."""
    torch.manual_seed(int(seed))
    model = SmallCNN(in_channels).double().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _fn(module, name):
    return getattr(importlib.import_module("interpret." + module), name)


def saliency(seed, X, y):
    model = make_cnn(seed, X.shape[1])
    return _fn("saliency", "compute_saliency_maps")(X, y, model)


def guided(seed, X, y):
    """The student's guided map, and raw evidence of the model's state after the call: the gradient
    of the sum of all its scores with respect to the input, now (the test compares it with the
    untouched network's, so guided ReLUs or hooks left behind show). The mode is a flag: SmallCNN
    computes the same in both modes."""
    model = make_cnn(seed, X.shape[1])
    out = _fn("guided_backprop", "guided_backprop")(X, y, model)
    x = X.detach().clone().requires_grad_(True)
    model(x).sum().backward()
    return {"map": out, "after": x.grad, "eval_mode": not model.training}


def guided_relu(x, grad_output):
    """Forward and backward of the student's GuidedReLU on given tensors."""
    x = x.clone().requires_grad_(True)
    out = _fn("guided_backprop", "GuidedReLU").apply(x)
    out.backward(grad_output)
    return {"out": out.detach(), "grad": x.grad}


def gradcam(seed, X, y):
    model = make_cnn(seed, X.shape[1])
    return _fn("gradcam", "grad_cam")(X, y, model, model.features[2])


def captum_maps(seed, X, y):
    model = make_cnn(seed, X.shape[1])
    return _fn("captum_maps", "attribution_maps")(X, y, model, model.features[2])


def fooling(seed, X, target_y, learning_rate, max_iter):
    model = make_cnn(seed, X.shape[1])
    return _fn("fooling", "make_fooling_image")(X, target_y, model, learning_rate=learning_rate, max_iter=max_iter)


def class_step(seed, img, target_y, l2_reg, learning_rate):
    model = make_cnn(seed, img.shape[1])
    return _fn("class_viz", "class_visualization_step")(img, target_y, model, l2_reg, learning_rate)


def make_feature_cnn(seed):
    """A seeded three-layer feature extractor for the style-transfer step, float64, frozen."""
    torch.manual_seed(int(seed))
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                        nn.AvgPool2d(2), nn.Conv2d(6, 5, 3, padding=1)).double().eval()
    for p in cnn.parameters():
        p.requires_grad_(False)
    return cnn


def features(cnn, x):
    feats = []
    for layer in cnn:
        x = layer(x)
        feats.append(x)
    return feats


def style_steps(seed, img, content_target, style_targets, weights, learning_rate, steps):
    """``steps`` steps of the student's style_transfer_step with plain SGD; returns the image and losses."""
    cnn = make_feature_cnn(seed)
    img = img.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([img], lr=float(learning_rate))
    step = _fn("style", "style_transfer_step")
    losses = [float(step(img, optimizer, lambda x: features(cnn, x), weights["content_layer"], content_target,
                         weights["content_weight"], weights["style_layers"], style_targets,
                         weights["style_weights"], weights["tv_weight"])) for _ in range(int(steps))]
    return {"img": img.detach(), "losses": torch.tensor(losses, dtype=torch.float64)}
