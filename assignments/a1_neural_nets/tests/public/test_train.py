"""Public check of neural_nets/train.py: training with your loop makes the model learn.

The worker trains and returns the trained weights; the verdict is computed here, from
those weights, on points whose labels never went to the worker (nothing the worker
reports about its own training, such as the loss history, is believed).
"""
import numpy as np

from autograder import Feedback, graded, sandbox

EPOCHS = 3


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
