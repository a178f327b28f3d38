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
    """Copies of the gradients the layer set (copies: a later call may change the layer's arrays in place)."""
    out = {}
    for name in ("dx", "dw", "db"):
        value = getattr(layer, name, None)
        if value is not None:
            out[name] = np.array(value)
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
    """SoftmaxCrossEntropy: (probs, loss) from forward, dx from backward; the probabilities forward
    returned as they are after backward, and the inputs x and y as they are after both calls."""
    crit = _cnn("layers").SoftmaxCrossEntropy()
    probs, loss = crit.forward(x, y)
    first = np.array(probs)
    crit.backward()
    return {"probs": first, "loss": loss, "dx": None if crit.dx is None else np.array(crit.dx),
            "probs_after_backward": np.array(probs), "inputs": [np.array(x), np.array(y)]}


def layer_twice(kind, kwargs, params, runs):
    """One layer object: forward and backward on each (x, dout) of ``runs`` in turn (for the loss, (x, y)
    and backward()), then backward once more on the last one. Returns what each call produced (copies)
    and the inputs as they are afterwards."""
    layer = _layer(kind, kwargs, params)
    calls = []
    for x, other in runs:
        if kind == "SoftmaxCrossEntropy":
            probs, loss = layer.forward(x, other)
            calls.append({"out": np.array(probs), "loss": loss})
            layer.backward()
        else:
            calls.append({"out": np.array(layer.forward(x))})
            layer.backward(other)
        calls[-1].update(_grads(layer))
    if kind == "SoftmaxCrossEntropy":
        layer.backward()
    else:
        layer.backward(runs[-1][1])
    calls.append(_grads(layer))
    return {"calls": calls, "inputs": [[np.array(x), np.array(other)] for x, other in runs]}


def convnet_forward_backward(spec, x, y):
    """Build the student's layers from ``spec`` into their ConvNet; forward, backward; report gradients."""
    modules = [_layer(layer["type"], layer["kwargs"], layer.get("params")) for layer in spec]
    net = _cnn("convnet").ConvNet(modules, _cnn("layers").SoftmaxCrossEntropy())
    probs, loss = net.forward(x, y)
    probs = np.array(probs)  # as forward returned them (a loss that changes them in backward fails its own test)
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


def model_forward(class_name, kwargs, seed, x):
    """Build the student's model with torch.manual_seed(seed); its parameters' shapes (not their
    values: a large MyModel's would exceed the reply limit) and its float32 scores on x: twice in
    evaluation mode, then once in training mode (no gradients)."""
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    with torch.no_grad():
        model.eval()
        scores = model(xt)
        again = model(xt)
        model.train()
        train = model(xt)
    return {"shapes": [[name, list(p.shape)] for name, p in model.named_parameters()],
            "scores": scores.detach(), "scores_again": again.detach(), "scores_train": train.detach()}


def model_forward_loaded(class_name, kwargs, seed, arrays, x):
    """Build the student's model (float32), copy each of ``arrays`` into the parameter of its shape, run it on x
    in evaluation mode, then in training mode (no gradients).

    A parameter whose shape matches none of ``arrays``, or several, keeps its seeded
    initial value; the harness reads the shapes reported and names what is missing.
    Returns {"shapes": [[name, shape], ...], "scores", "scores_train"}.
    """
    torch = _seeded(seed)
    model = getattr(_cnn("models"), class_name)(**kwargs)
    xt = torch.as_tensor(np.asarray(x, dtype=np.float32))
    with torch.no_grad():
        for _, p in model.named_parameters():
            hits = [a for a in arrays if tuple(np.shape(a)) == tuple(p.shape)]
            if len(hits) == 1:
                p.copy_(torch.as_tensor(np.asarray(hits[0], dtype=np.float32)))
        model.eval()
        scores = model(xt)
        model.train()
        train = model(xt)
    return {"shapes": [[name, list(p.shape)] for name, p in model.named_parameters()],
            "scores": scores.detach(), "scores_train": train.detach()}


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


def call_reweight(counts, beta, as_type="list"):
    """The student's reweight on the counts as a list, a NumPy array or a tensor; the weights it returned
    (raw, their dtype kept) and whether they are a tensor."""
    import torch

    arg = {"list": [int(c) for c in counts], "array": np.asarray(counts), "tensor": torch.as_tensor(counts)}[as_type]
    weights = _cnn("losses").reweight(arg, beta=beta)
    return {"weights": weights, "tensor": isinstance(weights, torch.Tensor)}


def focal(logits, y, weight, gamma):
    """The student's FocalLoss(weight, gamma)(logits, y) in float32 and its gradient w.r.t. the logits."""
    import torch

    x = torch.tensor(np.asarray(logits, dtype=np.float32), requires_grad=True)
    w = None if weight is None else torch.tensor(np.asarray(weight, dtype=np.float32))
    loss = _cnn("losses").FocalLoss(weight=w, gamma=gamma)(x, torch.as_tensor(y, dtype=torch.int64))
    loss.backward()
    return {"loss": loss.detach(), "grad": x.grad}


def _mlp(params):
    import torch
    import torch.nn as nn

    d, h, k = params["0.weight"].shape[1], params["0.weight"].shape[0], params["2.weight"].shape[0]
    model = nn.Sequential(nn.Flatten(), nn.Linear(d, h), nn.ReLU(), nn.Linear(h, k))      # float32
    with torch.no_grad():
        for name, p in model.named_parameters():
            key = str(int(name.split(".")[0]) - 1) + "." + name.split(".")[1]
            p.copy_(torch.as_tensor(np.asarray(params[key], dtype=np.float32)))
    return model


def _batch(x, y):
    import torch

    return torch.as_tensor(np.asarray(x, dtype=np.float32)), torch.as_tensor(np.asarray(y), dtype=torch.int64)


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
    """The student's train_step, once per batch, on a fixed float32 MLP with SGD(lr, momentum).

    Returns the losses and counts it returned (as numbers, with the names of their types), the
    parameters after each step and the model's mode after each step."""
    import torch

    model = torch.nn.Sequential(*_mlp(params), _mode_gate())  # parameters keep their names ("1.weight"...)
    model.eval()  # train_step must switch it to training mode
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    crit = torch.nn.CrossEntropyLoss()
    losses, corrects, after, modes, types = [], [], [], [], []
    for x, y in batches:
        loss, correct = _cnn("trainer").train_step(model, crit, opt, *_batch(x, y))
        types.append([_type_name(loss, float), _type_name(correct, int)])
        losses.append(float(loss))
        corrects.append(int(correct))
        modes.append(bool(model.training))
        after.append({str(int(n.split(".")[0]) - 1) + "." + n.split(".")[1]: p.detach().numpy().copy()
                      for n, p in model.named_parameters()})
    return {"losses": losses, "corrects": corrects, "after": after, "training": modes, "types": types}


def _type_name(value, kind):
    """"float" or "int" when ``value`` is a Python number of that kind (NumPy's float64 counts), else its type's name."""
    if isinstance(value, kind) and not isinstance(value, bool):
        return kind.__name__
    return type(value).__module__ + "." + type(value).__name__


def run_evaluate(params, batches, dropout):
    """The student's evaluate on a fixed float32 MLP (with a Dropout(0.5) layer when ``dropout``).

    Returns what evaluate returned (and the names of the types of its loss and accuracy), the model's
    mode afterwards, every parameter's .grad afterwards (None when unset), and whether autograd was
    recording at each call of the criterion."""
    import torch
    import torch.nn as nn

    mlp = _mlp(params)
    model = nn.Sequential(nn.Dropout(0.5), *mlp) if dropout else mlp
    model.train()  # evaluate must switch it to evaluation mode
    grad_modes = []

    class Criterion(nn.Module):
        """nn.CrossEntropyLoss that notes whether autograd was recording when it was called."""

        def forward(self, scores, y):
            grad_modes.append(bool(torch.is_grad_enabled()))
            return nn.functional.cross_entropy(scores, y)

    loader = [_batch(x, y) for x, y in batches]
    loss, acc, per_class = _cnn("trainer").evaluate(model, Criterion(), loader)
    return {"loss": float(loss), "accuracy": float(acc), "per_class": per_class, "training": bool(model.training),
            "grads": [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()],
            "grad_enabled": grad_modes, "types": [_type_name(loss, float), _type_name(acc, float)]}


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
