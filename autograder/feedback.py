"""Feedback helpers: compare a student's value with an oracle and explain the difference.

Every failure raises :class:`Feedback` (an ``AssertionError``) whose message names
the function, what was compared, the shape or the largest error and where it is,
and the tolerance. When ``misconceptions`` are given (description -> the value a
known mistake would produce, computed by the harness from the same inputs) and the
student's value matches one, the message says which mistake it looks like.

Values shown: in public tests the message may show the student's and the expected
number at the worst index, and the relative error; in hidden tests neither (an
absolute and a relative error together would give the expected value away). The
plugin switches this per test with :func:`reveal_values`.
"""
from __future__ import annotations

import contextlib
import math

import numpy as np

_reveal = True


class Feedback(AssertionError):
    """A check failed; ``str(self)`` is the message for the student."""


@contextlib.contextmanager
def reveal_values(flag: bool):
    """Within the block, show (True) or hide (False) expected values in messages."""
    global _reveal
    old, _reveal = _reveal, bool(flag)
    try:
        yield
    finally:
        _reveal = old


def _fmt(x) -> str:
    if isinstance(x, (float, np.floating)):
        return "%.6g" % x
    return str(x)


def _index(idx) -> str:
    return "[" + ", ".join(str(int(i)) for i in idx) + "]" if len(idx) else "[]"


def _as_array(value, name: str, what: str) -> np.ndarray:
    if value is None:
        raise Feedback("%s returned None for the %s; did you forget a return statement?" % (name, what))
    try:
        arr = np.asarray(value)
    except Exception:
        raise Feedback("%s: the %s is a %s, not an array of numbers" % (name, what, type(value).__name__)) from None
    if arr.dtype.kind not in "biufc":
        raise Feedback("%s: the %s has dtype %s, expected numbers" % (name, what, arr.dtype))
    return arr


def expect_shape(actual, shape, *, name: str, what: str = "output") -> np.ndarray:
    """Fail unless ``actual`` is an array of exactly ``shape``; return it as an array."""
    arr = _as_array(actual, name, what)
    shape = tuple(int(s) for s in shape)
    if arr.shape != shape:
        raise Feedback("%s: the %s has shape %s, expected %s" % (name, what, arr.shape, shape))
    return arr


def _matches(arr, alt, rtol, atol) -> bool:
    try:
        alt = np.asarray(alt, dtype=float)
        return alt.shape == arr.shape and bool(np.allclose(arr, alt, rtol=rtol, atol=atol, equal_nan=False))
    except (TypeError, ValueError):
        return False


def diagnose(actual, misconceptions: dict | None, rtol: float = 1e-5, atol: float = 1e-7) -> str | None:
    """The description of the first known mistake whose value equals ``actual``, if any."""
    if not misconceptions:
        return None
    try:
        arr = np.asarray(actual, dtype=float)
    except (TypeError, ValueError):
        return None
    for description, alts in misconceptions.items():
        for alt in (alts if isinstance(alts, list) else [alts]):
            if _matches(arr, alt, rtol, atol):
                return description
    return None


def expect_close(actual, expected, *, name: str, what: str = "output", rtol: float = 1e-6,
                 atol: float = 1e-8, misconceptions: dict | None = None, hint: str | None = None) -> None:
    """Fail unless ``actual`` equals ``expected`` within ``atol + rtol * |expected|`` everywhere.

    name:           the student function, e.g. "neural_nets.functional.softmax".
    what:           what is compared ("output", "gradient dW1", "loss", ...).
    misconceptions: {description: value a known mistake would give, or a list of such
                    values when the mistake can be made in several ways}.
    hint:           one line added to any failure message.
    """
    exp = np.asarray(expected)
    arr = expect_shape(actual, exp.shape, name=name, what=what)
    problems = []
    a = arr.astype(np.complex128 if arr.dtype.kind == "c" or exp.dtype.kind == "c" else np.float64)
    e = exp.astype(a.dtype)
    a_bad = ~np.isfinite(a)
    e_bad = ~np.isfinite(e)
    if (a_bad & ~e_bad).any():
        idx = np.argwhere(a_bad & ~e_bad)[0]
        kind = "NaN" if np.isnan(a[tuple(idx)]) else "inf"
        problems.append("%s: the %s contains %s at index %s (%d of %d entries are not finite)"
                        % (name, what, kind, _index(idx), int((a_bad & ~e_bad).sum()), a.size))
    else:
        finite = ~e_bad
        with np.errstate(invalid="ignore", over="ignore"):
            err = np.where(finite, np.abs(a - e), 0.0)
        tol = atol + rtol * np.abs(np.where(finite, e, 0.0))
        excess = err - tol
        nonfinite_mismatch = e_bad & ~((a == e) | (np.isnan(a) & np.isnan(e)))
        if (excess > 0).any() and a.ndim == 0:
            abs_err = float(err)
            rel = " (relative error %s)" % _fmt(abs_err / max(abs(complex(e)), 1e-300)) if _reveal else ""
            msg = ("%s: the %s is wrong: absolute error %s%s; tolerance atol=%g, rtol=%g"
                   % (name, what, _fmt(abs_err), rel, atol, rtol))
            if _reveal:
                msg += "\n  got %s, expected %s" % (_fmt(a.item().real if a.dtype.kind != "c" else a.item()),
                                                   _fmt(e.item().real if e.dtype.kind != "c" else e.item()))
            problems.append(msg)
        elif (excess > 0).any():
            flat = int(np.argmax(excess))
            idx = np.unravel_index(flat, a.shape) if a.ndim else ()
            worst_abs = float(err.flat[flat])  # the entry furthest outside its tolerance
            worst_rel = float(worst_abs / max(abs(e.flat[flat]), 1e-300))
            rel = " (relative error %s)" % _fmt(worst_rel) if _reveal else ""  # rel + abs would reveal |expected|
            msg = ("%s: the %s is wrong: abs error %s at index %s%s; "
                   "%d of %d entries are outside the tolerance atol=%g, rtol=%g"
                   % (name, what, _fmt(worst_abs), _index(idx), rel,
                      int((excess > 0).sum()), a.size, atol, rtol))
            if _reveal:
                msg += "\n  at %s: got %s, expected %s" % (_index(idx), _fmt(a.flat[flat]), _fmt(e.flat[flat]))
            problems.append(msg)
        elif nonfinite_mismatch.any():
            idx = np.argwhere(nonfinite_mismatch)[0]
            problems.append("%s: the %s differs at index %s where the reference is not finite"
                            % (name, what, _index(idx)))
    if not problems:
        return
    msg = problems[0]
    cause = diagnose(arr, misconceptions)
    precision = None if cause else precision_cause(arr, exp, rtol)
    if cause:
        msg += "\n  Likely cause: " + cause
    if precision:
        msg += "\n  Likely cause: " + precision  # a formula or shape hint would send the student astray
    elif hint:
        msg += "\n  Hint: " + hint
    raise Feedback(msg)


def precision_cause(actual: np.ndarray, expected: np.ndarray, rtol: float) -> str | None:
    """The sentence for a precision-level error: a float32 result checked against a float64 oracle
    (float64 inputs), or values that agree with the expected ones to ~1e-5 of their size."""
    if actual.dtype.kind != "f" or expected.dtype.kind not in "f" or not actual.size:
        return None
    e = expected.astype(np.float64)
    a = actual.astype(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(e).all()):
        return None
    scale = float(np.max(np.abs(e))) if e.size else 0.0
    if scale == 0.0:
        return None
    size_err = float(np.max(np.abs(a - e))) / scale
    low_precision = actual.dtype.itemsize < 8 <= expected.dtype.itemsize
    if rtol >= 1e-5 or size_err > (1e-3 if low_precision else 2e-5):  # float32-level tests: not this
        return None
    return ("a precision problem, not a wrong formula: your values agree with the expected ones to about %s "
            "of their size%s. The inputs are float64: keep the whole computation in float64 (no "
            "np.float32 / torch.float32 arrays, casts or accumulators)."
            % (_fmt(size_err), " and your result is %s" % actual.dtype.name if low_precision else ""))


def expect_grad_close(actual, expected, *, name: str, wrt: str, **kw) -> None:
    """``expect_close`` for a gradient: ``wrt`` names the variable ("W1", "x", ...)."""
    kw.setdefault("rtol", 1e-5)
    kw.setdefault("atol", 1e-7)
    expect_close(actual, expected, name=name, what="gradient with respect to %s" % wrt, **kw)


def expect_scalar(actual, expected, *, name: str, what: str = "value", **kw) -> None:
    """``expect_close`` for a single number (a Python float or a 0-d / 1-element array)."""
    arr = _as_array(actual, name, what)
    if arr.size != 1:
        raise Feedback("%s: the %s should be a single number, got an array of shape %s" % (name, what, arr.shape))
    expect_close(arr.reshape(()), np.asarray(expected, dtype=float).reshape(()), name=name, what=what, **kw)


def expect_equal(actual, expected, *, name: str, what: str = "output") -> None:
    """Exact equality (integers, labels, shapes)."""
    exp = np.asarray(expected)
    arr = expect_shape(actual, exp.shape, name=name, what=what)
    bad = arr != exp
    if bad.any():
        idx = np.argwhere(bad)[0] if arr.ndim else ()
        msg = "%s: the %s differs at index %s (%d of %d entries)" % (name, what, _index(idx), int(bad.sum()), arr.size)
        if _reveal:
            msg += ": got %s, expected %s" % (_fmt(arr[tuple(idx)]), _fmt(exp[tuple(idx)]))
        raise Feedback(msg)


def expect_finite(actual, *, name: str, what: str = "output") -> np.ndarray:
    arr = _as_array(actual, name, what)
    if not np.isfinite(arr).all():
        idx = np.argwhere(~np.isfinite(arr))[0] if arr.ndim else ()
        raise Feedback("%s: the %s contains %s at index %s" % (
            name, what, "NaN" if math.isnan(float(np.real(arr[tuple(idx)]))) else "inf", _index(idx)))
    return arr
