"""Reference values for A1's checks, written independently of the solution.

These run in the grading harness only. They use different formulas from the
reference solution where one exists (tanh for the sigmoid, log-sum-exp for the
softmax), so a shared mistake cannot hide.
"""
import numpy as np


def sigmoid(x):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


def sigmoid_grad(x):
    t = np.tanh(0.5 * np.asarray(x, dtype=np.float64))
    return 0.25 * (1.0 - t * t)


def relu(x):
    return np.where(x > 0, x, 0.0)


def relu_grad(x):
    return np.where(x > 0, 1.0, 0.0)


def log_softmax(scores):
    scores = np.asarray(scores, dtype=np.float64)
    return scores - np.logaddexp.reduce(scores, axis=1, keepdims=True)


def softmax(scores):
    return np.exp(log_softmax(scores))


def cross_entropy(probs, y):
    n = probs.shape[0]
    onehot = np.zeros_like(probs)
    onehot[np.arange(n), y] = 1.0
    return float(-(onehot * np.log(probs)).sum() / n)


def accuracy(scores, y):
    best = scores.max(axis=1, keepdims=True)
    return float(np.mean(scores[np.arange(len(y)), y] >= best[:, 0]))


def central_difference(f, x, eps=1e-6):
    """Element-wise derivative of an element-wise function f, by central differences."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


def random_problem(rng, n=None, k=None, scale=1.0):
    """Scores (N, K), probabilities (N, K) and labels (N,) with N != K."""
    n = n or int(rng.integers(5, 12))
    k = k or int(rng.integers(3, 8))
    if n == k:
        n += 1
    scores = rng.normal(scale=scale, size=(n, k))
    y = rng.integers(0, k, size=n)
    return scores, softmax(scores), y
