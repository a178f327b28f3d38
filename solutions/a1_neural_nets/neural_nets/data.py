"""Data for assignment 1: loaders (given), splitting and batching (yours).

Arrays: X is (N, D) float64 with pixel values in [0, 1]; y is (N,) int64 labels.
"""
import os

import numpy as np


class DatasetNotFound(FileNotFoundError):
    """The dataset is not on disk and downloading was not allowed."""


def load_mnist(root="data", download=False):
    """MNIST through torchvision, flattened to 784 features and scaled to [0, 1].

    Args:
        root:     folder holding (or receiving) the MNIST files.
        download: fetch the files (checksummed by torchvision) if they are missing.

    Returns:
        (X_train (60000, 784), y_train (60000,), X_test (10000, 784), y_test (10000,))

    Raises:
        DatasetNotFound: the files are missing and ``download`` is False.
    """
    try:
        from torchvision.datasets import MNIST
    except ImportError as exc:
        raise ImportError("load_mnist needs torchvision: pip install torchvision (%s)" % exc) from None
    out = []
    for train in (True, False):
        try:
            ds = MNIST(root, train=train, download=download)
        except RuntimeError as exc:
            raise DatasetNotFound("MNIST not found in %s; call load_mnist(root, download=True) "
                                  "or use load_digits() (%s)" % (os.path.abspath(root), exc)) from None
        images = ds.data.numpy().reshape(len(ds.data), -1).astype(np.float64) / 255.0
        out += [images, ds.targets.numpy().astype(np.int64)]
    return tuple(out)


def load_digits(test_fraction=0.2, seed=0):
    """scikit-learn's bundled handwritten digits (1797 images of 8x8), offline.

    Pixels (0..16) are scaled to [0, 1]; 64 features, 10 classes.

    Returns:
        (X_train, y_train, X_test, y_test), split with a fixed seed.
    """
    from sklearn.datasets import load_digits as _sk_digits

    digits = _sk_digits()
    X = digits.data.astype(np.float64) / 16.0
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], y[train], X[test], y[test]


def train_val_split(X, y, val_fraction=0.2, seed=0):
    """Shuffle (with ``seed``) and split into training and validation sets.

    Args:
        X: (N, D) inputs.  y: (N,) labels.
        val_fraction: share of the N examples for validation, rounded to the nearest
                      whole example.
        seed: seed of the shuffle (np.random.default_rng(seed).permutation).

    Returns:
        (X_train, y_train, X_val, y_val): every example lands in exactly one part,
        with its own label.
    """
    # BEGIN SOLUTION
    n = len(y)
    order = np.random.default_rng(seed).permutation(n)
    n_val = int(round(val_fraction * n))
    val, train = order[:n_val], order[n_val:]
    return X[train], y[train], X[val], y[val]
    # END SOLUTION


def iterate_minibatches(X, y, batch_size, shuffle=True, seed=0):
    """Yield (X_batch, y_batch) pairs covering every example exactly once.

    Args:
        X: (N, D) inputs.  y: (N,) labels.
        batch_size: examples per batch; the last batch may be smaller.
        shuffle: visit the examples in a random order (the same permutation for X and y).
        seed: seed of that order (np.random.default_rng(seed)).

    Yields:
        X_batch (B, D), y_batch (B,) with B = batch_size (except perhaps the last).
    """
    # BEGIN SOLUTION
    n = len(y)
    order = np.random.default_rng(seed).permutation(n) if shuffle else np.arange(n)
    for start in range(0, n, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]
    # END SOLUTION
