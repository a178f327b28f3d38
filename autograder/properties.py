"""Oracle-free checks: numerical derivatives of the student's own functions.

A public test needs no reference implementation to check that a gradient is the
derivative of the function it belongs to. The harness perturbs the inputs, the
worker evaluates the *student's* forward pass on every perturbed copy, and the
harness differentiates the returned values::

    tries = perturbations(weights, "W1")                 # [(weights with W1[idx] +/- eps, (idx, sign)), ...]
    losses = sandbox.call("a1_probes:losses", kind, kwargs, [w for w, _ in tries], X, y)
    numeric = numerical_gradient_from(losses, weights["W1"].shape)
    expect_grad_close(student_gradient, numeric, ...)

Every value the verdict rests on is computed here, in the harness, from the raw
numbers the worker returned. NumPy only.
"""
from __future__ import annotations

import numpy as np

EPS = 1e-6


def perturbations(values, key=None, eps: float = EPS) -> list:
    """Copies of ``values`` with one entry moved by ``+eps`` then ``-eps``, for every entry in row-major order.

    values: an array, or a dict of arrays with ``key`` naming the one to perturb.
    Returns [(perturbed copy, (index, +1 or -1)), ...] (2 * size items).
    """
    base = np.asarray(values if key is None else values[key], dtype=np.float64)
    out = []
    for idx in np.ndindex(base.shape):
        for sign in (1.0, -1.0):
            moved = base.copy()
            moved[idx] += sign * eps
            if key is None:
                out.append((moved, (idx, sign)))
            else:
                copy = dict(values)
                copy[key] = moved
                out.append((copy, (idx, sign)))
    return out


def numerical_gradient_from(values, shape, eps: float = EPS) -> np.ndarray:
    """Central differences from the scalar values at :func:`perturbations` (+eps, -eps alternating)."""
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    size = int(np.prod(shape))
    if v.shape != (2 * size,):
        raise ValueError("expected %d values (two per entry of an array of shape %s), got %d"
                         % (2 * size, tuple(shape), v.size))
    return ((v[0::2] - v[1::2]) / (2 * eps)).reshape(shape)


def numerical_gradient(f, x: np.ndarray, eps: float = EPS) -> np.ndarray:
    """Central differences of the scalar ``f()`` with respect to the array ``x`` (changed in place, restored)."""
    grad = np.zeros_like(x, dtype=np.float64)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = f()
        x[idx] = old - eps
        minus = f()
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def central_difference(f, x, eps: float = EPS) -> np.ndarray:
    """Element-wise derivative of an element-wise function ``f`` at ``x``."""
    x = np.asarray(x, dtype=np.float64)
    return (f(x + eps) - f(x - eps)) / (2 * eps)
