"""Public checks of neural_nets/train.py: training with your loop makes the model learn, and
train_epoch returns the epoch's means, shuffles with its seed and steps in the documented order.

The worker trains and returns the trained weights; the verdict on learning is computed
here, from those weights, on points whose labels never went to the worker (the loss
history the worker reports is never believed: it can only fail a test, never pass one).
train_epoch's other checks compare with fixtures (the instructor's oracle on fixed inputs).
"""
import numpy as np

from a1_checks import close, scalar
from autograder import Feedback, graded, sandbox
from autograder.fixtures import public_case

EPOCHS = 3
#: the last epoch's training loss must be at most this share of the first's (the reference: under 0.3)
LOSS_SHARE = 0.6
T = "neural_nets.train.train_epoch"


def blobs(rng, n, d=6, k=3):
    """n points around k well-separated centres (orthogonal, 4 noise deviations from the origin)."""
    q, _ = np.linalg.qr(rng.normal(size=(d, k)))
    y = rng.integers(0, k, size=n)
    return 4.0 * q.T[y] + rng.normal(size=(n, d)), y


def linear_accuracy(weights, X, y):
    """Share of points whose largest linear score X @ W1 + b1 is their class."""
    W, b = np.asarray(weights["W1"], dtype=float), np.asarray(weights["b1"], dtype=float)
    return float(np.mean(np.argmax(X @ W + b, axis=1) == y))


def trained_weights(out, start, name):
    """The trained weights the worker returned, checked for shape and finiteness."""
    weights = out.get("weights") if isinstance(out, dict) else None
    for key, value in start.items():
        got = None if not isinstance(weights, dict) or key not in weights else np.asarray(weights[key])
        if got is None or got.shape != value.shape or not np.all(np.isfinite(got)):
            raise Feedback("%s: after training, model.weights[%r] is %s; expected finite values of shape %s"
                           % (name, key, "missing" if got is None else "of shape %s" % (got.shape,), value.shape))
    return weights


@graded(points=2)
def test_training_lowers_the_loss(rng):
    """train runs your model, optimiser and loop, and the model learns: its accuracy on new points rises"""
    X, y = blobs(rng, 600)
    data = (X[:240], y[:240], X[240:300], y[240:300])
    X_new, y_new = X[300:], y[300:]                       # never sent to the worker
    start = {"W1": np.zeros((6, 3)), "b1": np.zeros(3)}   # every point scores class 0 first
    out = sandbox.call("a1_probes:train_model", "SoftmaxRegression", {"input_size": 6, "num_classes": 3, "seed": 0},
                       {"learning_rate": 0.1, "reg": 1e-4, "momentum": 0.0}, data, EPOCHS, 32, start)
    name = "neural_nets.train.train_epoch"
    history = out.get("history") if isinstance(out, dict) else None
    loss = history.get("train_loss") if isinstance(history, dict) else None
    if not isinstance(loss, list) or len(loss) != EPOCHS:
        raise Feedback("%s: train should return a history with %d epoch losses, got %r" % (name, EPOCHS, loss))
    weights = trained_weights(out, start, name)
    before, after = linear_accuracy(start, X_new, y_new), linear_accuracy(weights, X_new, y_new)
    if not after >= 0.8:
        raise Feedback("%s: after %d epochs the model classifies %.0f%% of new points correctly (%.0f%% before "
                       "training, at least 80%% expected); the weights did not learn: is update() called after "
                       "each batch?" % (name, EPOCHS, 100 * after, 100 * before))
    first, last = (float(v) for v in (loss[0], loss[-1]))
    if not (np.isfinite(first) and np.isfinite(last) and last <= LOSS_SHARE * first):
        raise Feedback("%s: the epoch losses your train_epoch returned went from %.4g to %.4g; on this easy data "
                       "they must fall by at least %d%% in %d epochs. Return the mean data loss of each epoch's "
                       "batches, and call optimizer.update(model) after every batch"
                       % (name, first, last, round(100 * (1 - LOSS_SHARE)), EPOCHS))


def _epochs(out, count):
    if not isinstance(out, list) or len(out) != count:
        raise Feedback("%s: expected %d epochs of results" % (T, count))
    return out


def _result(epoch, index):
    result = epoch.get("result")
    if not isinstance(result, (list, tuple)) or len(result) != 2:
        raise Feedback("%s (call %d) returned %r; it must return (mean loss, mean accuracy)" % (T, index + 1, result))
    return result


def _visited(epoch, n, index):
    """The rows the train-mode forward calls of one epoch saw, in order (X[:, 0] numbers the rows)."""
    firsts = [np.asarray(f) for f, mode in zip(epoch["batches"], epoch["modes"]) if mode == "train"]
    if not firsts:
        raise Feedback("%s (call %d) never called model.forward(X_batch, y_batch, mode=\"train\"); in valid mode "
                       "the model computes no gradients" % (T, index + 1))
    ids = np.rint(np.concatenate(firsts) * n).astype(int)
    if sorted(ids.tolist()) != list(range(n)):
        raise Feedback("%s (call %d): the batches passed to forward(mode=\"train\") cover %d distinct of %d "
                       "examples in %d rows; one epoch visits every example exactly once"
                       % (T, index + 1, len(set(ids.tolist())), n, len(ids)))
    return ids


def check_train_epoch_means(c, _=None):
    opt = {"learning_rate": 0.0, "reg": c["reg"], "momentum": 0.0}  # the weights never move
    out = _epochs(sandbox.call("a1_probes:record_train_epochs", "SoftmaxRegression", c["kwargs"], opt, c["weights"],
                               c["X"], c["y"], c["batch_size"], c["seeds"]), len(c["seeds"]))
    for index, epoch in enumerate(out):
        loss, acc = _result(epoch, index)
        scalar(loss, c["loss"], name=T, what="mean loss it returned (call %d, seed %d)"
               % (index + 1, c["seeds"][index]), rtol=1e-6, misconceptions=c["loss_misconceptions"],
               hint="the learning rate is 0 here, so every batch sees the same weights and the epoch's mean loss "
                    "is the loss of the whole set; this relies on your SoftmaxRegression.forward too")
        scalar(acc, c["accuracy"], name=T, what="mean accuracy it returned (call %d, seed %d)"
               % (index + 1, c["seeds"][index]), rtol=0, atol=1e-9, misconceptions=c["accuracy_misconceptions"])


def check_train_epoch_batches(c, _=None):
    opt = {"learning_rate": 0.0, "reg": 0.0, "momentum": 0.0}
    seeds = c["seeds"]  # [s, s, t]
    out = _epochs(sandbox.call("a1_probes:record_train_epochs", "SoftmaxRegression", c["kwargs"], opt, c["weights"],
                               c["X"], c["y"], c["batch_size"], seeds), len(seeds))
    n = len(c["y"])
    orders = [_visited(epoch, n, index) for index, epoch in enumerate(out)]
    if np.array_equal(orders[0], np.arange(n)):
        raise Feedback("%s visited the examples in their original order; shuffle every epoch "
                       "(iterate_minibatches(..., shuffle=True, seed=seed))" % T)
    if not np.array_equal(orders[0], orders[1]):
        raise Feedback("%s: two calls with seed=%d visited the examples in different orders; shuffle with the "
                       "seed argument (iterate_minibatches(..., seed=seed))" % (T, seeds[0]))
    if np.array_equal(orders[0], orders[2]):
        raise Feedback("%s: seeds %d and %d gave the same order of examples; pass seed on: "
                       "iterate_minibatches(X, y, batch_size, shuffle=True, seed=seed)" % (T, seeds[0], seeds[2]))


def check_train_epoch_steps(c, _=None):
    seeds = c["seeds"]
    out = _epochs(sandbox.call("a1_probes:record_train_epochs", "SoftmaxRegression", c["kwargs"], c["optimizer"],
                               c["weights"], c["X"], c["y"], c["batch_size"], seeds), len(seeds))
    hint = ("each batch: model.forward(X_batch, y_batch, mode=\"train\"), then optimizer.apply_regularization(model), "
            "then optimizer.update(model); this check also relies on your SoftmaxRegression.forward and SGD, "
            "so make their tests pass first")
    for index, (epoch, want) in enumerate(zip(out, c["expected"])):
        loss, acc = _result(epoch, index)
        scalar(loss, want["loss"], name=T, what="loss it returned (call %d)" % (index + 1), rtol=1e-6, hint=hint)
        weights = epoch.get("weights") or {}
        for key in sorted(want["weights"]):
            if key not in weights:
                raise Feedback("%s: model.weights has no %r after call %d" % (T, key, index + 1))
            close(weights[key], want["weights"][key], name=T, what="model.weights[%r] after call %d" % (key, index + 1),
                  rtol=1e-6, atol=1e-9, misconceptions=c["misconceptions"][index][key], hint=hint)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"train_epoch_means": check_train_epoch_means, "train_epoch_batches": check_train_epoch_batches,
          "train_epoch_steps": check_train_epoch_steps}


@graded(points=2)
def test_train_epoch_returns_epoch_means():
    """train_epoch returns the epoch's data loss and accuracy: batch means weighted by batch size, no L2 term"""
    check_train_epoch_means(public_case("train_epoch_means"))


@graded(points=1)
def test_train_epoch_shuffles_with_its_seed():
    """train_epoch visits every example once per call in train mode, shuffled by its seed argument"""
    check_train_epoch_batches(public_case("train_epoch_batches"))


@graded(points=2)
def test_train_epoch_steps_in_order():
    """train_epoch runs forward, apply_regularization, update on each batch; momentum carries across calls"""
    check_train_epoch_steps(public_case("train_epoch_steps"))
