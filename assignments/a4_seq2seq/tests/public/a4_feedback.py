"""Harness-side helpers for A4's tests: float32 inputs, float32 tolerances, named mistakes.

Students' modules run in float32, PyTorch's default dtype (``torch.zeros(N, H)`` is
float32), so the tests send float32 inputs and weights and compare with tolerances a
correct float32 computation meets with a wide margin: ``rtol=1e-4`` and ``atol=1e-5``
times the size of the expected values (at least 1). The expected values are exact
(computed in float64 from the very same float32 numbers). A wrong formula is off by far
more than that.
"""
import numpy as np
import torch

from autograder import Feedback, expect_close

RTOL, ATOL = 1e-4, 1e-5


def f32(value):
    """A float array (or tensor), or a {name: array} dict of weights, as float32 tensors; None stays None."""
    if value is None:
        return None
    if isinstance(value, dict):
        return {k: f32(v) for k, v in value.items()}
    return torch.as_tensor(np.asarray(value, dtype=np.float32))


def ids(value):
    """Token ids as an int64 tensor."""
    return torch.as_tensor(np.asarray(value, dtype=np.int64))


def scale_of(expected) -> float:
    """The size of the expected values (at least 1), which sets the absolute tolerance."""
    e = np.asarray(expected, dtype=np.float64)
    e = e[np.isfinite(e)]
    return max(1.0, float(np.abs(e).max())) if e.size else 1.0


def same_value(actual, expected, rtol=RTOL, atol=ATOL) -> bool:
    """True when ``actual`` has the shape of ``expected`` and equals it within the float32 tolerances."""
    try:
        a, e = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    return a.shape == e.shape and bool(np.allclose(a, e, rtol=rtol, atol=atol * scale_of(e), equal_nan=False))


def cause(actual, misconceptions) -> str | None:
    """The description of the first known mistake whose value ``actual`` equals (float32 tolerances)."""
    for description, alts in (misconceptions or {}).items():
        for alt in (alts if isinstance(alts, list) else [alts]):
            if same_value(actual, alt):
                return description
    return None


def expect_close32(actual, expected, *, name, what="output", misconceptions=None, hint=None, rtol=RTOL,
                   atol=ATOL):
    """``expect_close`` with float32 tolerances (``atol`` scaled by the size of the expected values), naming a
    known mistake when ``actual`` equals its value within the same tolerances."""
    try:
        expect_close(actual, expected, name=name, what=what, rtol=rtol, atol=atol * scale_of(expected))
    except Feedback as failure:
        msg = str(failure)
        found = cause(actual, misconceptions)
        if found:
            msg += "\n  Likely cause: " + found
        elif hint:
            msg += "\n  Hint: " + hint
        raise Feedback(msg) from None


def expect_outputs(got, want, *, name, what, misconceptions=None, hint=None):
    """Compare a module's flat list of outputs (``_flat`` in the probes) with ``want``, a list of
    (label, expected value) pairs; ``misconceptions``: {description: list of values, one per output}."""
    got = list(got) if isinstance(got, (list, tuple)) else [got]
    if len(got) != len(want):
        raise Feedback("%s: %s: returned %d tensors (nested tuples counted), expected %d (%s)"
                       % (name, what, len(got), len(want), ", ".join(label for label, _ in want)))
    for i, (label, value) in enumerate(want):
        wrong = {d: v[i] for d, v in (misconceptions or {}).items()}
        expect_close32(got[i], value, name=name, what="%s: %s" % (what, label), misconceptions=wrong, hint=hint)
