"""Harness-side helpers for A3's tests: float32 tolerances and the checks of a model's state.

Students compute in float32 (the probes' networks and every input are float32); the
expected values are the exact (float64) answers for those inputs, stored as float32.
A correct float32 computation lands within about 1e-6 of the values' size (measured:
at most 8e-7), so the tests allow 1e-4 relative error plus 1e-5 of the values' size,
rounded up to a power of ten (so a hidden test's message does not tell the size).
"""
import math

import numpy as np

from autograder import Feedback, expect_close, expect_shape, sandbox

RTOL = 1e-4
SIZE_TOL = 1e-5


#: phrases of dtype errors that the engine's general dtype hint does not name (a float64 tensor meeting the
#: float32 network's convolution; a float64 value put into a float32 tensor by index)
DTYPE_PHRASES = ("input type (double)", "input type (float) and bias type (double)", "dtypes match")
DTYPE_HINT = ("a float64 (double) tensor met the float32 network: the grader runs everything in float32, the "
              "default dtype. Do not call .double() or build tensors from NumPy float64 arrays (torch.tensor(array) "
              "keeps float64); make new tensors with x.new_zeros(shape), torch.zeros_like(x) or dtype=x.dtype.")


def call(target, *args, **kwargs):
    """``sandbox.call``, adding a hint that names the fix when the student's code raised a dtype error the
    engine's own hint does not recognise."""
    try:
        return sandbox.call(target, *args, **kwargs)
    except sandbox.StudentError as exc:
        message = str(exc.info.get("message", "")).lower()
        if not any(p in message for p in DTYPE_PHRASES) or "Hint:" in str(exc):
            raise
        text = str(exc)
        head, sep, rest = text.partition("\nTraceback (your code only):")
        out = head + "\n  Hint: " + DTYPE_HINT + (sep + rest if sep else "")
        if exc.printed.strip():
            out += "\nYour code printed (last lines):\n" + exc.printed[-600:]
        raise Feedback(out) from None


def tolerance(expected) -> dict:
    """float32 tolerances for values like ``expected``: rtol 1e-4, atol 1e-5 of their largest size (a power
    of ten)."""
    scale = float(np.max(np.abs(np.asarray(expected, dtype=np.float64)))) if np.size(expected) else 0.0
    atol = 10.0 ** math.ceil(math.log10(SIZE_TOL * scale)) if scale > 0 else 1e-12
    return {"rtol": RTOL, "atol": atol}


def expect_f32(actual, expected, *, name, what="output", **kw):
    """``expect_close`` with float32 tolerances (``expected`` compared as float32)."""
    expected = np.asarray(expected, dtype=np.float32)
    expect_close(actual, expected, name=name, what=what, **tolerance(expected), **kw)


def expect_loss(actual, expected, *, name, what="loss", **kw):
    """A single number, with float32 tolerances."""
    arr = np.asarray(actual) if actual is not None else None
    if arr is not None and arr.dtype.kind in "biuf" and arr.size != 1:
        raise Feedback("%s: the %s should be a single number, got an array of shape %s" % (name, what, arr.shape))
    if arr is not None and arr.dtype.kind in "biuf":
        actual = arr.reshape(())
    expect_f32(actual, np.float32(expected), name=name, what=what, **kw)


def expect_eval_mode(out, name):
    """Fail, naming the mistake, when the probe saw the model in train mode after the student's call (the
    maps are then wrong too: the probes' networks hold a Dropout that is active only in train mode)."""
    if not out.get("eval_mode", True):
        raise Feedback("%s: the model was in train mode after your call; never call model.train() here (gradients "
                       "need no train mode: the caller's model must stay as it was, in eval mode)" % name)


def expect_unchanged(after, before, *, name, what):
    """Fail when an input tensor was changed in place."""
    after = expect_shape(after, np.shape(before), name=name, what=what + " after your call")
    if not np.array_equal(after, np.asarray(before)):
        raise Feedback("%s: your function changed %s in place; work on a copy (.clone()) and return a new tensor"
                       % (name, what))
