"""Reference values for A1's checks, written independently of the solution.

These run in the grading harness only. They use different formulas from the
reference solution where one exists (tanh for the sigmoid, log-sum-exp for the
softmax), so a shared mistake cannot hide.
"""
import numpy as np

from autograder import properties


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
    return properties.central_difference(f, x, eps)


def random_problem(rng, n=None, k=None, scale=1.0):
    """Scores (N, K), probabilities (N, K) and labels (N,) with N != K."""
    n = n or int(rng.integers(5, 12))
    k = k or int(rng.integers(3, 8))
    if n == k:
        n += 1
    scores = rng.normal(scale=scale, size=(n, k))
    y = rng.integers(0, k, size=n)
    return scores, softmax(scores), y


# ---------------------------------------------------------------- models
def one_hot(y, k):
    out = np.zeros((len(y), k))
    out[np.arange(len(y)), y] = 1.0
    return out


def model_loss(weights, X, y):
    """Mean cross-entropy of SoftmaxRegression (W1, b1) or TwoLayerNet (W1, b1, W2, b2)."""
    h = X @ weights["W1"] + weights["b1"]
    if "W2" in weights:
        h = sigmoid(h) @ weights["W2"] + weights["b2"]
    return float(-(one_hot(y, h.shape[1]) * log_softmax(h)).sum() / len(y))


def _layer(inputs, W, b, bias_in_weights):
    """inputs @ W + b, or the mistaken inputs @ (W + b) (the bias added to every row of W first)."""
    return inputs @ (W + b) if bias_in_weights else inputs @ W + b


def mistaken_model(weights, X, y, layers):
    """Loss and backprop gradients of a model whose forward computes ``inputs @ (W + b)`` in ``layers``
    (a set of "1", "2"): what a student gets who adds the bias to the weights before the product and
    otherwise backpropagates by the usual formulas."""
    n = len(y)
    z1 = _layer(X, weights["W1"], weights["b1"], "1" in layers)
    if "W2" not in weights:
        d = (softmax(z1) - one_hot(y, z1.shape[1])) / n
        loss = float(-(one_hot(y, z1.shape[1]) * log_softmax(z1)).sum() / n)
        return loss, {"W1": X.T @ d, "b1": d.sum(axis=0)}
    a1 = sigmoid(z1)
    scores = _layer(a1, weights["W2"], weights["b2"], "2" in layers)
    d2 = (softmax(scores) - one_hot(y, scores.shape[1])) / n
    d1 = (d2 @ weights["W2"].T) * sigmoid_grad(z1)
    loss = float(-(one_hot(y, scores.shape[1]) * log_softmax(scores)).sum() / n)
    return loss, {"W1": X.T @ d1, "b1": d1.sum(axis=0), "W2": a1.T @ d2, "b2": d2.sum(axis=0)}


def model_accuracy(weights, X, y):
    h = X @ weights["W1"] + weights["b1"]
    if "W2" in weights:
        h = sigmoid(h) @ weights["W2"] + weights["b2"]
    return accuracy(h, y)


def model_gradients(weights, X, y):
    """Backpropagation written out independently of the reference (checked against torch in tests/)."""
    n = len(y)
    z1 = X @ weights["W1"] + weights["b1"]
    if "W2" not in weights:
        d = (softmax(z1) - one_hot(y, z1.shape[1])) / n
        return {"W1": X.T @ d, "b1": d.sum(axis=0)}
    a1 = sigmoid(z1)
    scores = a1 @ weights["W2"] + weights["b2"]
    d2 = (softmax(scores) - one_hot(y, scores.shape[1])) / n
    d1 = (d2 @ weights["W2"].T) * sigmoid_grad(z1)
    return {"W1": X.T @ d1, "b1": d1.sum(axis=0), "W2": a1.T @ d2, "b2": d2.sum(axis=0)}


def numerical_gradient(f, weights, name, eps=1e-6):
    """Central finite differences of the scalar f(weights) with respect to weights[name]."""
    return properties.numerical_gradient(lambda: f(weights), weights[name], eps)


def random_model(rng, kind, d=None, h=None, k=None):
    """Random (weights, X, y, init kwargs) for a small model of ``kind``."""
    d = d or int(rng.integers(4, 9))
    k = k or int(rng.integers(3, 6))
    n = int(rng.integers(6, 12))
    X = rng.normal(size=(n, d))
    y = rng.integers(0, k, size=n)
    weights = {"W1": rng.normal(scale=0.5, size=(d, h or k)), "b1": rng.normal(scale=0.1, size=(h or k))}
    kwargs = {"input_size": d, "num_classes": k, "seed": int(rng.integers(1000))}
    if kind == "TwoLayerNet":
        h = h or int(rng.integers(3, 7))
        weights = {"W1": rng.normal(scale=0.5, size=(d, h)), "b1": rng.normal(scale=0.1, size=h),
                   "W2": rng.normal(scale=0.5, size=(h, k)), "b2": rng.normal(scale=0.1, size=k)}
        kwargs["hidden_size"] = h
    return weights, X, y, kwargs


# ---------------------------------------------------------------- optimiser
def sgd_steps(weights, grads_seq, lr, reg, momentum, regularize=True, velocity_decay=None):
    """Weights after each SGD step (v <- mu v - lr g; w <- w + v), L2 on W* only."""
    weights = {k: v.copy() for k, v in weights.items()}
    velocity = {k: np.zeros_like(v) for k, v in weights.items()}
    out = []
    for grads in grads_seq:
        for name in weights:
            g = grads[name] + (reg * weights[name] if regularize and name.startswith("W") else 0.0)
            decay = momentum if velocity_decay is None else velocity_decay  # mistakes: v kept undecayed
            velocity[name] = decay * velocity[name] - lr * g
            weights[name] = weights[name] + velocity[name]
        out.append({k: v.copy() for k, v in weights.items()})
    return out


def full_batch_epochs(weights, X, y, lr, reg, momentum, epochs, regularize=True):
    """Training with one batch per epoch (the whole set): the loss and accuracy of each epoch (before its
    step) and the weights after it. ``regularize=False``: the L2 gradient never reaches the step."""
    weights = {k: v.copy() for k, v in weights.items()}
    velocity = {k: np.zeros_like(v) for k, v in weights.items()}
    out = []
    for _ in range(epochs):
        loss, acc = model_loss(weights, X, y), model_accuracy(weights, X, y)
        grads = model_gradients(weights, X, y)
        for name in weights:
            g = grads[name] + (reg * weights[name] if regularize and name.startswith("W") else 0.0)
            velocity[name] = momentum * velocity[name] - lr * g
            weights[name] = weights[name] + velocity[name]
        out.append({"loss": loss, "accuracy": acc, "weights": {k: v.copy() for k, v in weights.items()}})
    return out


def batch_means(values, sizes):
    """Per-batch values averaged with and without weighting by the batch sizes."""
    values, sizes = np.asarray(values, dtype=float), np.asarray(sizes, dtype=float)
    return float(np.sum(values * sizes) / np.sum(sizes)), float(np.mean(values))
