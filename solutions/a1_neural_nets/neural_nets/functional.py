"""Activation functions, softmax, cross-entropy and accuracy, in NumPy.

Conventions used throughout this assignment:

* ``N`` is the batch size and ``K`` the number of classes.
* ``scores`` (also called logits) has shape ``(N, K)``: one row per example.
* ``y`` holds integer class labels, shape ``(N,)``, values in ``0 .. K-1``.

Inputs are float64 NumPy arrays. Compute in float64 (do not convert to float32):
the tests compare to about 1e-6, which float32 arithmetic does not always meet.

Every function returns a new array and leaves its inputs unchanged. Work on whole
arrays at once (vectorised NumPy): a Python loop over examples gives the same
values but is far slower.
"""
import numpy as np


def sigmoid(x):
    """Logistic sigmoid, element-wise.

        sigmoid(x) = 1 / (1 + exp(-x))

    Args:
        x: array of any shape.

    Returns:
        array of the same shape as ``x``, values between 0 and 1 (no NaN, even for
        x = -800 or 800).

    Example:
        >>> sigmoid(np.array([0.0]))
        array([0.5])
    """
    # BEGIN SOLUTION
    # exp(-|x|) never overflows; split by sign to stay accurate for large |x|.
    z = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    # END SOLUTION


def sigmoid_grad(x):
    """Derivative of the sigmoid with respect to its input, element-wise.

        d sigmoid(x) / dx = sigmoid(x) * (1 - sigmoid(x))

    Args:
        x: array of any shape (the sigmoid's *input*, not its output).

    Returns:
        array of the same shape as ``x``.
    """
    # BEGIN SOLUTION
    s = sigmoid(x)
    return s * (1.0 - s)
    # END SOLUTION


def relu(x):
    """Rectified linear unit, element-wise: ``max(0, x)``.

    Args:
        x: array of any shape.

    Returns:
        array of the same shape as ``x``.
    """
    # BEGIN SOLUTION
    return np.maximum(x, 0.0)
    # END SOLUTION


def relu_grad(x):
    """Derivative of ReLU with respect to its input, element-wise.

        d relu(x) / dx = 1 if x > 0 else 0      (we use 0 at x == 0)

    Args:
        x: array of any shape (ReLU's input).

    Returns:
        float array of the same shape as ``x`` holding 0.0 and 1.0.
    """
    # BEGIN SOLUTION
    return (x > 0).astype(np.float64)
    # END SOLUTION


def softmax(scores):
    """Row-wise softmax: turn each row of scores into a probability distribution.

        softmax(s)[i, k] = exp(s[i, k]) / sum_j exp(s[i, j])

    Subtract each row's maximum before exponentiating: the result is the same
    (the factor exp(-max) cancels) but exp never overflows, so scores like 1000
    work.

    Args:
        scores: (N, K) array of class scores.

    Returns:
        (N, K) array; every row is non-negative and sums to 1.
    """
    # BEGIN PROMPT
    # # 1. shifted = scores minus each row's maximum      (N, K)
    # # 2. exponentiate, then divide each row by its sum  (N, K)
    # raise NotImplementedError("neural_nets.functional.softmax")
    # END PROMPT
    # BEGIN SOLUTION
    shifted = scores - np.max(scores, axis=1, keepdims=True)  # (N, K), row max is 0
    exp = np.exp(shifted)                                     # (N, K)
    return exp / np.sum(exp, axis=1, keepdims=True)           # (N, K)
    # END SOLUTION


def cross_entropy(probs, y):
    """Mean negative log-likelihood of the correct classes.

        loss = -(1/N) * sum_i log(probs[i, y[i]])

    Args:
        probs: (N, K) array of predicted probabilities (rows sum to 1).
        y:     (N,) integer array of correct labels.

    Returns:
        a Python float (or 0-d array): the loss averaged over the N examples.
    """
    # BEGIN SOLUTION
    n = probs.shape[0]
    correct = probs[np.arange(n), y]  # (N,) probability of each correct class
    return float(-np.mean(np.log(correct)))
    # END SOLUTION


def accuracy(scores, y):
    """Fraction of examples whose highest score is the correct class.

    Args:
        scores: (N, K) array of class scores (or probabilities).
        y:      (N,) integer array of correct labels.

    Returns:
        a Python float in [0, 1].
    """
    # BEGIN SOLUTION
    predictions = np.argmax(scores, axis=1)  # (N,)
    return float(np.mean(predictions == y))
    # END SOLUTION
