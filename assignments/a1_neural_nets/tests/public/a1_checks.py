"""Comparisons for A1's tests that also tell a precision problem from a wrong formula.

The inputs of every A1 function are float64 NumPy arrays and the checks compare to about
1e-6. Code that computes in float32 (or adds an epsilon) lands close to the answer but
outside that tolerance; its feedback should say so, not suggest a formula or shape fix.
These wrap the kit's ``expect_close`` / ``expect_grad_close`` / ``expect_scalar``: on a
failure they add a line naming the precision problem when the values show one (unless
the kit's message names it already), whatever the check's tolerance.
"""
import numpy as np

from autograder import Feedback, expect_close, expect_grad_close, expect_scalar

#: relative errors up to this are precision problems (float32 arithmetic, an added epsilon), not formula ones
PRECISION_LEVEL = 1e-4


def precision_note(actual, expected):
    """A sentence naming a precision problem in ``actual`` (compared with ``expected``), or None."""
    try:
        a, e = np.asarray(actual), np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if a.dtype.kind != "f" or a.size != e.size:
        return None
    if a.dtype.itemsize < 8:
        return ("your result has dtype %s, a precision problem: the inputs are float64 NumPy arrays; compute "
                "in float64 (do not convert to float32), since the checks compare to about 1e-6" % a.dtype)
    a = a.astype(np.float64).reshape(e.shape)
    if not (np.isfinite(a).all() and np.isfinite(e).all()) or e.size == 0:
        return None
    floor = 1e-6 * max(float(np.max(np.abs(e))), 1e-300)
    rel = float(np.max(np.abs(a - e) / np.maximum(np.abs(e), floor)))
    if not 0.0 < rel <= PRECISION_LEVEL:
        return None
    return ("your result matches to about %.0e (relative): a precision problem, not a formula one: compute in "
            "float64 (the inputs' dtype), not float32, and add no epsilon" % 10.0 ** np.ceil(np.log10(rel)))


def _with_note(check, actual, expected, **kw):
    try:
        check(actual, expected, **kw)
    except Feedback as failure:
        note = precision_note(actual, expected)
        if note is None or "precision problem" in str(failure):  # none, or the kit's helpers said it already
            raise
        raise Feedback("%s\n  Precision: %s" % (failure, note)) from None


def close(actual, expected, **kw):
    """``expect_close`` that names precision problems."""
    _with_note(expect_close, actual, expected, **kw)


def grad_close(actual, expected, **kw):
    """``expect_grad_close`` that names precision problems."""
    _with_note(expect_grad_close, actual, expected, **kw)


def scalar(actual, expected, **kw):
    """``expect_scalar`` that names precision problems."""
    _with_note(expect_scalar, actual, expected, **kw)
