"""Probes for A3: build a seeded CNN in the worker, run the student's method on it.

``make_cnn`` is shared with the harness's oracles (tests/oracles.py imports it), so
both sides build the very same network from the same seed. No expected values here:
each probe returns what the student's code produced, and what the model and the
input tensors look like after the call (raw values; the tests judge them).

The networks are float32, the dtype students work in (the oracles use float64 copies
of the same weights).
"""
import importlib

import torch
import torch.nn as nn


class SmallCNN(nn.Module):
    """The DigitsCNN architecture: (N, 1, 8, 8) -> (N, 10); Grad-CAM layer = features[2].

    One addition: a Dropout before the classifier. It does nothing in eval mode (how the
    tests hand the model over), and makes the scores random in train mode, so a method
    that switches the model to train mode shows in the maps it returns."""

    def __init__(self, in_channels=1):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 16, 3, padding=1), nn.ReLU(),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU())
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(0.5)
        self.classifier = nn.Linear(32 * 4 * 4, 10)

    def forward(self, x):
        return self.classifier(self.dropout(self.pool(self.features(x)).flatten(1)))


def make_cnn(seed, in_channels=1, dtype=torch.float32, smooth=False):
    """A seeded SmallCNN in eval mode, parameters frozen; ``dtype`` float64 gives the same weights widened.

    ``smooth``: the same weights with tanh for the ReLUs and average- for max-pooling, a network without
    kinks (the path methods' cases: integrated gradients evaluate it at 50 points from the all-zero image,
    where a ReLU network's max-pool windows are near-ties that float32 rounding can break either way)."""
    torch.manual_seed(int(seed))
    model = SmallCNN(in_channels)  # built in float32 whatever the dtype: one set of weights
    if smooth:
        model.features[1], model.features[3], model.pool = nn.Tanh(), nn.Tanh(), nn.AvgPool2d(2)
    model = model.eval().to(dtype)
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _fn(module, name):
    return getattr(importlib.import_module("interpret." + module), name)


def _hooks(model):
    """How many hooks are registered on the model's modules."""
    names = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")
    return sum(len(getattr(m, n, {}) or {}) for m in model.modules() for n in names)


def _ordinary_gradient(model, X):
    """The gradient of the sum of all scores with respect to the input, computed now (raw evidence of the
    model's state: guided ReLUs or hooks left behind change it)."""
    x = X.detach().clone().requires_grad_(True)
    model(x).sum().backward()
    return x.grad


def _copy(t):
    return t.detach().clone() if isinstance(t, torch.Tensor) else t


def saliency(seed, X, y):
    """The student's map, then a second call on the same X tensor (gradients left in X.grad by the first
    call show there)."""
    model = make_cnn(seed, X.shape[1])
    fn = _fn("saliency", "compute_saliency_maps")
    first = _copy(fn(X, y, model))
    eval_mode = not model.training
    again = fn(X, y, model)
    return {"map": first, "again": again, "eval_mode": eval_mode}


def guided(seed, X, y):
    """The student's guided map, a second call on the same X, and raw evidence of the model's state
    after the calls: the gradient of the sum of all its scores with respect to the input, now (the test
    compares it with the untouched network's, so guided ReLUs or hooks left behind show)."""
    model = make_cnn(seed, X.shape[1])
    fn = _fn("guided_backprop", "guided_backprop")
    out = _copy(fn(X, y, model))
    eval_mode = not model.training
    again = fn(X, y, model)
    return {"map": out, "again": again, "after": _ordinary_gradient(model, X), "eval_mode": eval_mode,
            "hooks": _hooks(model)}


def guided_relu(x, grad_output):
    """Forward and backward of the student's GuidedReLU on given tensors."""
    x = x.clone().requires_grad_(True)
    out = _fn("guided_backprop", "GuidedReLU").apply(x)
    out.backward(grad_output)
    return {"out": out.detach(), "grad": x.grad}


def gradcam(seed, X, y):
    """The student's map, then a second call with the batch in reverse order (state kept from the first
    call shows there), and how many hooks the calls left on the model."""
    model = make_cnn(seed, X.shape[1])
    fn = _fn("gradcam", "grad_cam")
    first = _copy(fn(X, y, model, model.features[2]))
    eval_mode = not model.training
    again = fn(X.flip(0), y.flip(0), model, model.features[2])
    return {"map": first, "again": again, "hooks": _hooks(model), "eval_mode": eval_mode}


def captum_maps(seed, X, y, smooth=False):
    """The student's dict of maps, whether each value still requires grad, and the model's mode after."""
    model = make_cnn(seed, X.shape[1], smooth=bool(smooth))
    maps = _fn("captum_maps", "attribution_maps")(X, y, model, model.features[2])
    if not isinstance(maps, dict):
        return {"maps": maps, "requires_grad": {}, "eval_mode": not model.training}
    flags = {k: bool(getattr(v, "requires_grad", False)) for k, v in maps.items() if isinstance(k, str)}
    return {"maps": maps, "requires_grad": flags, "eval_mode": not model.training}


def fooling(seed, X, target_y, learning_rate, max_iter):
    """The student's fooling image, X after the call (unchanged, the docstring says) and the mode."""
    model = make_cnn(seed, X.shape[1])
    out = _fn("fooling", "make_fooling_image")(X, target_y, model, learning_rate=learning_rate, max_iter=max_iter)
    return {"image": out, "X_after": X.detach().clone(), "eval_mode": not model.training}


def class_step(seed, img, target_y, l2_reg, learning_rate):
    """Two steps, the way the given driver chains them (the second on the tensor the first returned), and
    the first input after the calls (a new tensor is returned, the docstring says)."""
    model = make_cnn(seed, img.shape[1])
    step = _fn("class_viz", "class_visualization_step")
    first = step(img, target_y, model, l2_reg, learning_rate)
    first_values = _copy(first)
    img_after = img.detach().clone()
    eval_mode = not model.training
    second = step(first, target_y, model, l2_reg, learning_rate)
    return {"first": first_values, "second": second, "img_after": img_after, "eval_mode": eval_mode}


def make_feature_cnn(seed, dtype=torch.float32):
    """A seeded three-layer feature extractor for the style-transfer step, frozen (float64: the same
    weights widened)."""
    torch.manual_seed(int(seed))
    cnn = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(),
                        nn.AvgPool2d(2), nn.Conv2d(6, 5, 3, padding=1)).eval().to(dtype)
    for p in cnn.parameters():
        p.requires_grad_(False)
    return cnn


def features(cnn, x):
    feats = []
    for layer in cnn:
        x = layer(x)
        feats.append(x)
    return feats


def loss_and_gradient(function, args, wrt):
    """The student's loss on ``args`` and its gradient with respect to ``args[wrt]`` (a tensor, or
    ``[list index, item index]`` for a tensor inside a list argument): None when the returned value is
    not a tensor connected to its inputs."""
    args = [list(a) if isinstance(a, list) else a for a in args]
    if isinstance(wrt, list):
        x = args[wrt[0]][wrt[1]].detach().clone().requires_grad_(True)
        args[wrt[0]][wrt[1]] = x
    else:
        x = args[wrt].detach().clone().requires_grad_(True)
        args[wrt] = x
    loss = _fn("style", function)(*args)
    grad = None
    if isinstance(loss, torch.Tensor) and loss.requires_grad:
        (grad,) = torch.autograd.grad(loss.sum(), x, allow_unused=True)
    return {"loss": _copy(loss), "grad": grad, "tensor": isinstance(loss, torch.Tensor)}


def style_steps(seed, img, content_target, style_targets, weights, learning_rate, steps):
    """``steps`` steps of the student's style_transfer_step with plain SGD; the image and the values the
    step returned, as returned (the test checks that they are floats)."""
    cnn = make_feature_cnn(seed)
    img = img.clone().requires_grad_(True)
    optimizer = torch.optim.SGD([img], lr=float(learning_rate))
    step = _fn("style", "style_transfer_step")
    returned = [step(img, optimizer, lambda x: features(cnn, x), weights["content_layer"], content_target,
                     weights["content_weight"], weights["style_layers"], style_targets,
                     weights["style_weights"], weights["tv_weight"]) for _ in range(int(steps))]
    return {"img": img.detach(), "losses": [_copy(v) for v in returned]}
