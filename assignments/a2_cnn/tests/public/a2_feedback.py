"""Harness-side helpers for A2's tests: shape mistakes with a named cause, missing gradients, and
the two dtype policies.

``expect_close`` reports a wrong shape before it looks for misconceptions, so a mistake
that changes a shape (padding left in dx, db not summed, dx not reshaped) is named here.

Part 1 (NumPy) gets float64 inputs and is compared at float64 precision; a result that misses
only by float32 rounding is named as a precision problem (``expect_close64``), never given a
formula or output-size hint. Part 2 (PyTorch) is graded in float32 with float32 tolerances
(``expect_close32``), and its known mistakes are recognised at that tolerance too.
"""
import numpy as np

from autograder import Feedback, expect_close
from autograder.feedback import diagnose

PRECISION = ("a precision problem, not a wrong formula or shape: your values agree with the expected ones only to "
             "about float32 rounding (relative error below 1e-4). The inputs are float64 NumPy arrays: compute in "
             "float64, their dtype (no dtype=np.float32, no .astype(np.float32))")


def expect_named_shape(actual, shape, *, name, what, wrong=None, hint=None):
    """Fail with a "Likely cause" when ``actual`` has one of the shapes in ``wrong`` ({shape: cause}),
    and with ``hint`` (if given) on any other wrong shape."""
    if actual is None:
        raise Feedback("%s: the %s was not set (it is None); set it in backward" % (name, what))
    arr = np.asarray(actual)
    shape = tuple(int(s) for s in shape)
    if arr.shape != shape:
        for bad, cause in (wrong or {}).items():
            if arr.shape == tuple(int(s) for s in bad):
                raise Feedback("%s: the %s has shape %s, expected %s\n  Likely cause: %s"
                               % (name, what, arr.shape, shape, cause))
        if hint:
            raise Feedback("%s: the %s has shape %s, expected %s\n  Hint: %s" % (name, what, arr.shape, shape, hint))
    return arr


def precision_level(actual, expected, rel=1e-4):
    """True when ``actual`` differs from ``expected`` by no more than ``rel`` of the largest expected value:
    the difference float32 arithmetic makes, far below any formula mistake."""
    try:
        a = np.asarray(actual)
        e = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if a.shape != e.shape or a.dtype.kind != "f" or e.size == 0:
        return False
    a = a.astype(np.float64)
    if not (np.isfinite(a).all() and np.isfinite(e).all()):
        return False
    return float(np.abs(a - e).max()) <= rel * max(float(np.abs(e).max()), 1e-300)


def _low_precision_dtype(actual):
    try:
        dtype = np.asarray(actual).dtype
    except (TypeError, ValueError):
        return None
    return dtype if dtype.kind == "f" and dtype.itemsize < 8 else None


def expect_close64(actual, expected, *, name, what="output", hint=None, misconceptions=None, **tol):
    """``expect_close`` for part 1 (float64 inputs): a miss at float32 precision is reported as a precision
    problem (compute in float64), without the check's hint or misconceptions, which would point elsewhere."""
    if actual is not None and precision_level(actual, expected):
        try:
            expect_close(actual, expected, name=name, what=what, **tol)
        except Feedback as exc:
            if "precision problem" in str(exc):  # the engine named it already
                raise
            low = _low_precision_dtype(actual)
            raise Feedback("%s\n  Likely cause: %s%s" % (
                exc, PRECISION, "" if low is None else "; your %s has dtype %s" % (what, low))) from None
        return
    try:
        expect_close(actual, expected, name=name, what=what, hint=hint, misconceptions=misconceptions, **tol)
    except Feedback as exc:
        low = _low_precision_dtype(actual)
        if low is None or "precision problem" in str(exc):
            raise
        raise Feedback("%s\n  Note: your %s has dtype %s; the inputs are float64 NumPy arrays: compute in float64"
                       % (exc, what, low)) from None


def expect_grad64(actual, expected, *, name, wrt, **kw):
    """``expect_close64`` for a gradient (the defaults of ``expect_grad_close``)."""
    kw.setdefault("rtol", 1e-5)
    kw.setdefault("atol", 1e-7)
    expect_close64(actual, expected, name=name, what="gradient with respect to %s" % wrt, **kw)


def expect_scalar64(actual, expected, *, name, what="value", **kw):
    """``expect_close64`` for a single number."""
    if actual is None:
        raise Feedback("%s returned None for the %s; did you forget a return statement?" % (name, what))
    arr = np.asarray(actual)
    if arr.dtype.kind not in "biuf":
        raise Feedback("%s: the %s is a %s, not a number" % (name, what, type(actual).__name__))
    if arr.size != 1:
        raise Feedback("%s: the %s should be a single number, got an array of shape %s" % (name, what, arr.shape))
    expect_close64(arr.reshape(()), np.asarray(expected, dtype=np.float64).reshape(()), name=name, what=what, **kw)


def expect_close32(actual, expected, *, name, what="output", rtol=1e-4, atol=1e-5, misconceptions=None, hint=None):
    """``expect_close`` for part 2 (float32): the tolerance a correct float32 computation meets with margin,
    and known mistakes recognised at that tolerance (float32 values never match a float64 one to 1e-7)."""
    exp = np.asarray(expected)
    if actual is not None and np.shape(actual) != exp.shape:
        expect_close(actual, expected, name=name, what=what, rtol=rtol, atol=atol)  # the shape message
    try:
        expect_close(actual, expected, name=name, what=what, rtol=rtol, atol=atol)
    except Feedback as exc:
        msg = str(exc)
        cause = diagnose(actual, misconceptions, rtol=rtol, atol=atol)
        if cause:
            msg += "\n  Likely cause: " + cause
        if hint:
            msg += "\n  Hint: " + hint
        raise Feedback(msg) from None


def expect_scalar32(actual, expected, *, name, what="value", **kw):
    """``expect_close32`` for a single number."""
    if actual is None:
        raise Feedback("%s returned None for the %s; did you forget a return statement?" % (name, what))
    arr = np.asarray(actual)
    if arr.dtype.kind not in "biuf":
        raise Feedback("%s: the %s is a %s, not a number" % (name, what, type(actual).__name__))
    if arr.size != 1:
        raise Feedback("%s: the %s should be a single number, got an array of shape %s" % (name, what, arr.shape))
    expect_close32(arr.reshape(()), np.asarray(expected, dtype=np.float64).reshape(()), name=name, what=what, **kw)


def expect_value(got, expected, *, name, what, wrong=None, **kw):
    """``expect_named_shape`` then ``expect_close64``."""
    expect_named_shape(got, np.shape(expected), name=name, what=what, wrong=wrong)
    expect_close64(got, expected, name=name, what=what, **kw)


def gradient(out, key, name):
    """The gradient ``key`` (dx, dw, db) a probe reported, or a clear failure when it was not set."""
    if key not in out or out[key] is None:
        raise Feedback("%s: backward did not set self.%s" % (name, key))
    return out[key]
