"""Multi-step probes: they run in the sandbox worker next to the student's code.

The harness calls them like student functions, e.g.
``sandbox.call("a1_probes:forward", "TwoLayerNet", kwargs, weights, X, y)``, and
gets back plain arrays and numbers. They hold no expected values.
"""
import importlib

import numpy as np


def _module(name):
    return importlib.import_module("neural_nets." + name)


def _model(class_name, kwargs, weights=None):
    model = getattr(_module("models"), class_name)(**kwargs)
    if weights is not None:
        for name, value in weights.items():
            model.weights[name] = np.array(value, dtype=np.float64)
    return model


def init_weights(class_name, kwargs):
    """The freshly initialised weights of a model."""
    return {k: np.asarray(v) for k, v in _model(class_name, kwargs).weights.items()}


def forward(class_name, kwargs, weights, X, y, mode="train"):
    """Loss, accuracy and (train mode) gradients of a model with the given weights."""
    model = _model(class_name, kwargs, weights)
    loss, acc = model.forward(X, y, mode=mode)
    grads = {k: np.asarray(v) for k, v in model.gradients.items()} if mode == "train" else {}
    return {"loss": loss, "accuracy": acc, "gradients": grads}


def _copies(d):
    """A snapshot of a dict of arrays (the model may change its arrays in place later)."""
    return {k: None if v is None else np.array(v) for k, v in d.items()} if isinstance(d, dict) else d


def forward_calls(class_name, kwargs, weights, calls):
    """Several forward calls on ONE model, each (X, y, mode); after each, what it returned and a
    snapshot of model.gradients and model.weights."""
    model = _model(class_name, kwargs, weights)
    out = []
    for X, y, mode in calls:
        loss, acc = model.forward(X, y, mode=mode)
        out.append({"loss": loss, "accuracy": acc, "gradients": _copies(model.gradients),
                    "weights": _copies(model.weights)})
    return out


class _Params:
    """A stand-in model holding only weights and gradients, for optimiser checks."""

    def __init__(self, weights):
        self.weights = {k: np.array(v, dtype=np.float64) for k, v in weights.items()}
        self.gradients = {k: np.zeros_like(v) for k, v in self.weights.items()}


def sgd_steps(opt_kwargs, weights, grads_seq, regularize=True):
    """Weights after each step of the student's SGD, and the penalties it reported."""
    opt = _module("optim").SGD(**opt_kwargs)
    model = _Params(weights)
    steps, penalties = [], []
    for grads in grads_seq:
        model.gradients = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}
        if regularize:
            penalties.append(opt.apply_regularization(model))
        opt.update(model)
        steps.append({k: np.array(v) for k, v in model.weights.items()})
    return {"steps": steps, "penalties": penalties}


def regularized_gradients(opt_kwargs, weights, grads):
    """Gradients after the student's apply_regularization, and the penalty it returned."""
    opt = _module("optim").SGD(**opt_kwargs)
    model = _Params(weights)
    model.gradients = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}
    penalty = opt.apply_regularization(model)
    return {"gradients": {k: np.asarray(v) for k, v in model.gradients.items()}, "penalty": penalty}


def minibatches(X, y, batch_size, shuffle, seed):
    """Every (X_batch, y_batch) the student's iterate_minibatches yields."""
    out = []
    for Xb, yb in _module("data").iterate_minibatches(X, y, batch_size, shuffle=shuffle, seed=seed):
        out.append((np.asarray(Xb), np.asarray(yb)))
    return out


def train_model(class_name, kwargs, opt_kwargs, data, epochs, batch_size, weights=None):
    """Train with the student's model, optimiser and training loop (from ``weights`` when given).

    Returns {"history": what train returned, "weights": the trained weights}. The harness
    judges the weights on points it never sent here; the history is only shown, never believed.
    """
    model = _model(class_name, kwargs, weights)
    opt = _module("optim").SGD(**opt_kwargs)
    history = _module("train").train(model, opt, tuple(data), epochs=epochs, batch_size=batch_size,
                                     progress=False)
    return {"history": {k: [float(v) for v in vals] for k, vals in history.items()},
            "weights": {k: np.asarray(v) for k, v in model.weights.items()}}


def record_train_epochs(class_name, kwargs, opt_kwargs, weights, X, y, batch_size, seeds):
    """The student's train_epoch called once per seed on ONE model and ONE optimiser. For each call:
    what it returned, the first feature column and the mode of every batch it passed to
    model.forward, and the weights after it."""
    model = _model(class_name, kwargs, weights)
    opt = _module("optim").SGD(**opt_kwargs)
    train_epoch = _module("train").train_epoch
    original, log = model.forward, []

    def recorded(X, y, mode="train"):
        log.append((np.array(np.asarray(X)[:, 0], dtype=np.float64), str(mode)))
        return original(X, y, mode=mode)

    model.forward = recorded
    epochs = []
    for seed in seeds:
        del log[:]
        result = train_epoch(model, opt, X, y, batch_size, seed=seed)
        epochs.append({"result": list(result) if isinstance(result, (tuple, list)) else result,
                       "batches": [first for first, _ in log], "modes": [mode for _, mode in log],
                       "weights": _copies(model.weights)})
    return epochs


def losses(class_name, kwargs, weight_sets, X, y):
    """The loss (mode="valid") of a model for each of several sets of weights (finite differences)."""
    return np.array([float(_model(class_name, kwargs, w).forward(X, y, mode="valid")[0]) for w in weight_sets])
