"""Probes for A2: they run in the sandbox worker, next to the student's code.

Part 1 probes use NumPy only; part 2 probes import torch inside the function, so a
part-1 check never loads torch in the worker. They hold no expected values: they
build the student's objects, set the parameters the test sent, run them, and
report what happened as plain arrays, numbers, lists and dicts.
"""
import importlib

import numpy as np


def _cnn(module):
    return importlib.import_module("cnn." + module)


# ---------------------------------------------------------------- part 1 (NumPy)
def _layer(kind, kwargs, params=None):
    layer = getattr(_cnn("layers"), kind)(**kwargs)
    for name, value in (params or {}).items():
        setattr(layer, name, np.array(value, dtype=np.float64))
    return layer


def _grads(layer):
    out = {}
    for name in ("dx", "dw", "db"):
        value = getattr(layer, name, None)
        if value is not None:
            out[name] = np.asarray(value)
    return out


def layer_forward(kind, kwargs, params, x):
    """The student's layer output for x."""
    return _layer(kind, kwargs, params).forward(x)


def layer_forward_backward(kind, kwargs, params, x, dout):
    """Forward on x, backward on dout; returns {"out", "dx", "dw", "db"} (those the layer set)."""
    layer = _layer(kind, kwargs, params)
    out = layer.forward(x)
    layer.backward(dout)
    return dict(_grads(layer), out=np.asarray(out))


def layer_forwards(kind, kwargs, runs):
    """The student's layer output for each (params, x) of ``runs``, a fresh layer each time (finite differences)."""
    return [np.asarray(_layer(kind, kwargs, params).forward(x)) for params, x in runs]


def loss_forward_backward(x, y):
    """SoftmaxCrossEntropy: (probs, loss) from forward, dx from backward."""
    crit = _cnn("layers").SoftmaxCrossEntropy()
    probs, loss = crit.forward(x, y)
    crit.backward()
    return {"probs": np.asarray(probs), "loss": loss, "dx": None if crit.dx is None else np.asarray(crit.dx)}


def convnet_forward_backward(spec, x, y):
    """Build the student's layers from ``spec`` into their ConvNet; forward, backward; report gradients."""
    modules = [_layer(layer["type"], layer["kwargs"], layer.get("params")) for layer in spec]
    net = _cnn("convnet").ConvNet(modules, _cnn("layers").SoftmaxCrossEntropy())
    probs, loss = net.forward(x, y)
    net.backward()
    grads = {i: _grads(m) for i, m in enumerate(net.modules) if hasattr(m, "weight")}
    return {"probs": np.asarray(probs), "loss": loss, "grads": grads,
            "dx": None if getattr(net.modules[0], "dx", None) is None else np.asarray(net.modules[0].dx)}


class _Holder:
    """A stand-in layer with parameters and their gradients (for optimiser checks)."""

    def __init__(self, weight, bias):
        self.weight = np.array(weight, dtype=np.float64)
        self.bias = np.array(bias, dtype=np.float64)
        self.dw = np.zeros_like(self.weight)
        self.db = np.zeros_like(self.bias)


class _NoParams:
    """A stand-in layer without parameters (like ReLU)."""


class _Model:
    def __init__(self, modules):
        self.modules = modules


def sgd_steps(opt_kwargs, params, grads_seq):
    """Parameters after each of the student's SGDMomentum.update() calls.

    ``params``: list of {"weight", "bias"}; the model interleaves a parameter-free module
    between them. ``grads_seq``: per step, a list of {"dw", "db"}.
    """
    holders = [_Holder(p["weight"], p["bias"]) for p in params]
    modules = []
    for h in holders:
        modules += [h, _NoParams()]
    model = _Model(modules)
    opt = _cnn("optim").SGDMomentum(model, **opt_kwargs)
    steps = []
    for grads in grads_seq:
        for h, g in zip(holders, grads):
            h.dw = np.array(g["dw"], dtype=np.float64)
            h.db = np.array(g["db"], dtype=np.float64)
        opt.update()
        steps.append([{"weight": np.array(h.weight), "bias": np.array(h.bias)} for h in holders])
    return steps


# ---------------------------------------------------------------- part 2 (PyTorch)
def _seeded(seed):
    import torch

    torch.manual_seed(int(seed))
    return torch


def _named(model):
    return [[name, p.detach().double().numpy()] for name, p in model.named_parameters()]


def model_forward(class_name, kwargs, seed, x):
    """Build the student's model with torch.manual_seed(seed); its parameters' shapes (not their
    values: a large MyModel's would exceed the reply limit) and its scores on x."""
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs).eval()
    with torch.no_grad():
        scores = model(torch.as_tensor(x, dtype=torch.float32))
    return {"shapes": [[name, list(p.shape)] for name, p in model.named_parameters()],
            "scores": scores.double().numpy()}


def model_forward_double(class_name, kwargs, seed, x):
    """As model_forward, with the model and x in float64 (exact comparisons)."""
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs).double().eval()
    with torch.no_grad():
        scores = model(torch.as_tensor(x, dtype=torch.float64))
    return {"params": _named(model), "scores": scores.numpy()}


def model_forward_loaded(class_name, kwargs, seed, arrays, x):
    """Build the student's model (float64), copy each of ``arrays`` into the parameter of its shape, run it on x.

    A parameter whose shape matches none of ``arrays``, or several, keeps its seeded
    initial value; the harness reads the shapes reported and names what is missing.
    Returns {"shapes": [[name, shape], ...], "scores"}.
    """
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs).double().eval()
    with torch.no_grad():
        for _, p in model.named_parameters():
            hits = [a for a in arrays if tuple(np.shape(a)) == tuple(p.shape)]
            if len(hits) == 1:
                p.copy_(torch.as_tensor(np.asarray(hits[0], dtype=np.float64)))
        scores = model(torch.as_tensor(x, dtype=torch.float64))
    return {"shapes": [[name, list(p.shape)] for name, p in model.named_parameters()], "scores": scores.numpy()}


def model_fits(class_name, kwargs, seed, x, y, steps, lr):
    """Adam steps of the student's model (training mode) on one batch (x, y); its state afterwards.

    Returns the trained state_dict ({name: tensor}, buffers included). The harness loads it
    into a new model in a fresh worker, which never sees y, and judges the scores itself.
    """
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    model.train()
    for _ in range(int(steps)):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def model_forward_state(class_name, kwargs, seed, state, x):
    """Build the student's model, load ``state`` (a state_dict as arrays, strictly), return its scores on x.

    Training mode (batch norm on the batch's statistics, dropout seeded by ``seed``), as
    during ``model_fits``; no gradients. Given inputs only: no labels.
    """
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs)
    model.load_state_dict({name: torch.as_tensor(np.array(value)) for name, value in state.items()})
    model.train()
    with torch.no_grad():
        scores = model(torch.as_tensor(x, dtype=torch.float32))
    return scores.double().numpy()


def call_reweight(counts, beta):
    """The student's reweight on a tensor of counts (lists and arrays are called directly)."""
    import torch

    return _cnn("losses").reweight(torch.as_tensor(counts), beta=beta)


def focal(logits, y, weight, gamma):
    """The student's FocalLoss(weight, gamma)(logits, y) in float64 and its gradient w.r.t. the logits."""
    import torch

    x = torch.tensor(np.asarray(logits), dtype=torch.float64, requires_grad=True)
    w = None if weight is None else torch.tensor(np.asarray(weight), dtype=torch.float64)
    loss = _cnn("losses").FocalLoss(weight=w, gamma=gamma)(x, torch.as_tensor(y, dtype=torch.int64))
    loss.backward()
    return {"loss": loss.detach(), "grad": x.grad}


def focal_losses(logit_sets, y, weight, gamma):
    """The student's FocalLoss(weight, gamma) in float64 on each of several logits (finite differences)."""
    import torch

    w = None if weight is None else torch.tensor(np.asarray(weight), dtype=torch.float64)
    target = torch.as_tensor(y, dtype=torch.int64)
    out = []
    with torch.no_grad():
        for logits in logit_sets:
            crit = _cnn("losses").FocalLoss(weight=w, gamma=gamma)
            out.append(float(crit(torch.tensor(np.asarray(logits), dtype=torch.float64), target)))
    return np.array(out)


def _mlp(params):
    import torch
    import torch.nn as nn

    d, h, k = params["0.weight"].shape[1], params["0.weight"].shape[0], params["2.weight"].shape[0]
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k)).double()
    with torch.no_grad():
        for name, p in model.named_parameters():
            key = str(int(name.split(".")[0]) - 1) + "." + name.split(".")[1]
            p.copy_(torch.as_tensor(params[key]))
    return model


def _mode_gate():
    """A module that passes scores through in training mode and halves them in evaluation mode.

    At the end of train_steps' MLP: a step taken without model.train() changes the losses and
    parameters the harness compares with its own, whatever this probe reports about the mode.
    """
    import torch.nn as nn

    class ModeGate(nn.Module):
        def forward(self, scores):
            return scores if self.training else 0.5 * scores

    return ModeGate()


def train_steps(params, batches, lr, momentum):
    """The student's train_step, once per batch, on a fixed MLP with SGD(lr, momentum)."""
    import torch

    model = torch.nn.Sequential(*_mlp(params), _mode_gate())  # parameters keep their names ("1.weight"...)
    model.eval()  # train_step must switch it to training mode
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    crit = torch.nn.CrossEntropyLoss()
    losses, corrects, after, modes = [], [], [], []
    for x, y in batches:
        loss, correct = _cnn("trainer").train_step(model, crit, opt, torch.as_tensor(x), torch.as_tensor(y))
        losses.append(loss)
        corrects.append(correct)
        modes.append(bool(model.training))
        after.append({str(int(n.split(".")[0]) - 1) + "." + n.split(".")[1]: p.detach().numpy().copy()
                      for n, p in model.named_parameters()})
    return {"losses": losses, "corrects": corrects, "after": after, "training": modes}


def run_evaluate(params, batches, dropout):
    """The student's evaluate on a fixed MLP (with a Dropout(0.5) layer when ``dropout``)."""
    import torch
    import torch.nn as nn

    mlp = _mlp(params)
    model = nn.Sequential(nn.Dropout(0.5), *mlp) if dropout else mlp
    model.train()  # evaluate must switch it to evaluation mode
    loader = [(torch.as_tensor(x), torch.as_tensor(y)) for x, y in batches]
    loss, acc, per_class = _cnn("trainer").evaluate(model, nn.CrossEntropyLoss(), loader)
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    return {"loss": loss, "accuracy": acc, "per_class": per_class, "training": bool(model.training),
            "grads": len(grads)}


def predict(checkpoint, images, batch_size=256, kwargs=None):
    """Held-out predictions of the student's MyModel from their checkpoint (a state_dict file).

    What the leaderboard grading would call, batch by batch: the worker reads the
    checkpoint (``torch.load(weights_only=True)``: tensors only, no code) and the images,
    never the labels, and returns the predicted classes; the harness computes the accuracy.

    Args:
        checkpoint: path of the state_dict file (readable by the worker).
        images: (N, 32, 32, 3) uint8, CIFAR-10's own format; they go through the given
                cnn.data.prepare_images (the test-time transform of cnn.data.cifar10).
        kwargs: MyModel's constructor arguments (default: none).

    Returns:
        (N,) int64 tensor of predicted classes.
    """
    import torch

    model = _cnn("models").MyModel(**(kwargs or {}))
    state = torch.load(checkpoint, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    x = _cnn("data").prepare_images(images)                                   # (N, 3, 32, 32)
    out = []
    with torch.no_grad():
        for start in range(0, len(x), int(batch_size)):
            out.append(model(x[start:start + int(batch_size)]).argmax(dim=1))
    return torch.cat(out).to(torch.int64)


def predict_submitted(rel_path, images, batch_size=250):
    """``predict`` on the checkpoint the student submitted, found next to their package.

    rel_path: the checkpoint's path inside the submission, e.g. "cnn/mymodel.pt".
    """
    import os

    _cnn("models").MyModel()  # builds first: an unwritten MyModel says "not implemented" before the file is looked for
    package_dir = os.path.dirname(os.path.abspath(_cnn("models").__file__))        # .../cnn
    path = os.path.join(os.path.dirname(package_dir), *rel_path.split("/"))
    if not os.path.isfile(path):
        raise FileNotFoundError("no %s in your submission: save MyModel's weights with "
                                "torch.save(model.state_dict(), %r) (the Trainer's checkpoint_path does it), then "
                                "run collect_submission.py and upload submission.zip" % (rel_path, rel_path))
    return predict(path, images, batch_size)
