"""Harness-side helpers for A2's tests: shape mistakes with a named cause, missing gradients.

``expect_close`` reports a wrong shape before it looks for misconceptions, so a mistake
that changes a shape (padding left in dx, db not summed, dx not reshaped) is named here.
"""
import numpy as np

from autograder import Feedback, expect_close


def expect_named_shape(actual, shape, *, name, what, wrong=None):
    """Fail with a "Likely cause" when ``actual`` has one of the shapes in ``wrong`` ({shape: cause})."""
    if actual is None:
        raise Feedback("%s: the %s was not set (it is None); set it in backward" % (name, what))
    arr = np.asarray(actual)
    shape = tuple(int(s) for s in shape)
    if arr.shape != shape:
        for bad, cause in (wrong or {}).items():
            if arr.shape == tuple(int(s) for s in bad):
                raise Feedback("%s: the %s has shape %s, expected %s\n  Likely cause: %s"
                               % (name, what, arr.shape, shape, cause))
    return arr


def expect_value(got, expected, *, name, what, wrong=None, **kw):
    """``expect_named_shape`` then ``expect_close``."""
    expect_named_shape(got, np.shape(expected), name=name, what=what, wrong=wrong)
    expect_close(got, expected, name=name, what=what, **kw)


def gradient(out, key, name):
    """The gradient ``key`` (dx, dw, db) a probe reported, or a clear failure when it was not set."""
    if key not in out or out[key] is None:
        raise Feedback("%s: backward did not set self.%s" % (name, key))
    return out[key]
