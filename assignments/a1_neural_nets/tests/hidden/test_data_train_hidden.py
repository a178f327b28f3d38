"""Hidden checks of neural_nets/data.py and neural_nets/train.py."""
import numpy as np

import oracles
from autograder import Feedback, expect_equal, graded, sandbox
from test_train import trained_weights

D = "neural_nets.data"


@graded(points=1)
def test_minibatches_without_shuffle_and_oversized_batch(rng):
    """shuffle=False keeps the original order; a batch size above N gives one batch"""
    X = rng.normal(size=(10, 2))
    y = rng.integers(0, 3, size=10)
    name = D + ".iterate_minibatches"
    ordered = sandbox.call("a1_probes:minibatches", X, y, 4, False, 0)
    expect_equal(np.concatenate([b[1] for b in ordered]), y, name=name, what="labels in order with shuffle=False")
    one = sandbox.call("a1_probes:minibatches", X, y, 64, True, 0)
    expect_equal(np.asarray([len(b[1]) for b in one]), np.asarray([10]), name=name,
                 what="batch sizes when batch_size > N")


@graded(points=1)
def test_split_depends_on_seed(rng):
    """train_val_split gives different splits for different seeds"""
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20)
    a = sandbox.call(D + ":train_val_split", X, y, 0.5, 1)
    b = sandbox.call(D + ":train_val_split", X, y, 0.5, 2)
    if np.array_equal(np.sort(a[3]), np.sort(b[3])):
        raise Feedback("%s.train_val_split: seeds 1 and 2 gave the same validation set; "
                       "shuffle with np.random.default_rng(seed)" % D)


@graded(points=2)
def test_two_layer_net_learns(rng):
    """your TwoLayerNet, SGD and training loop reach 90% accuracy on new points of separable data"""
    k, d, h = 4, 10, 16
    q, _ = np.linalg.qr(rng.normal(size=(d, k)))
    y = rng.integers(0, k, size=1000)
    X = 4.0 * q.T[y] + rng.normal(size=(1000, d))
    data = (X[:480], y[:480], X[480:600], y[480:600])
    X_new, y_new = X[600:], y[600:]  # judged here; never sent to the worker
    # the second layer starts at zero: untrained, every point scores class 0
    start = {"W1": rng.normal(scale=1 / np.sqrt(d), size=(d, h)), "b1": np.zeros(h),
             "W2": np.zeros((h, k)), "b2": np.zeros(k)}
    out = sandbox.call("a1_probes:train_model", "TwoLayerNet",
                       {"input_size": d, "num_classes": k, "hidden_size": h, "seed": 0},
                       {"learning_rate": 0.5, "reg": 1e-4, "momentum": 0.9}, data, 8, 32, start)
    weights = trained_weights(out, start, "neural_nets.train.train")
    hidden = oracles.sigmoid(X_new @ weights["W1"] + weights["b1"])  # TwoLayerNet's activation
    acc = float(np.mean(np.argmax(hidden @ weights["W2"] + weights["b2"], axis=1) == y_new))
    if not acc >= 0.9:
        raise Feedback("neural_nets.train.train: after 8 epochs the trained TwoLayerNet classifies %.1f%% of new "
                       "points correctly, expected at least 90%%" % (100 * acc))
