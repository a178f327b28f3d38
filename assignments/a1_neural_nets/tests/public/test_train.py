"""Public check of neural_nets/train.py: one epoch of training lowers the loss."""
import numpy as np

from autograder import Feedback, graded, sandbox


def blobs(rng, n=300, d=6, k=3):
    centers = rng.normal(scale=3.0, size=(k, d))
    y = rng.integers(0, k, size=n)
    return centers[y] + rng.normal(size=(n, d)), y


@graded(points=2)
def test_training_lowers_the_loss(rng):
    """train runs your model, optimiser and loop, and the training loss goes down"""
    X, y = blobs(rng)
    data = (X[:240], y[:240], X[240:], y[240:])
    hist = sandbox.call("a1_probes:train_model", "SoftmaxRegression", {"input_size": 6, "num_classes": 3, "seed": 0},
                        {"learning_rate": 0.1, "reg": 1e-4, "momentum": 0.0}, data, 3, 32)
    loss = hist["train_loss"]
    name = "neural_nets.train.train_epoch"
    if len(loss) != 3 or not all(np.isfinite(loss)):
        raise Feedback("%s: expected 3 finite epoch losses, got %s" % (name, loss))
    if not loss[-1] < loss[0]:
        raise Feedback("%s: the training loss did not decrease over 3 epochs (%s); is update() called "
                       "after each batch?" % (name, ", ".join("%.3f" % v for v in loss)))
