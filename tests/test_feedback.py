"""Feedback messages (autograder.feedback): what a failing check tells the student."""
import re

import numpy as np
import pytest

from autograder import feedback
from autograder.feedback import (Feedback, diagnose, expect_close, expect_equal, expect_finite, expect_grad_close,
                                 expect_scalar, expect_shape, reveal_values)

NAME = "neural_nets.functional.softmax"


def failure(fn, *args, **kw):
    with pytest.raises(Feedback) as info:
        fn(*args, **kw)
    return str(info.value)


def test_feedback_is_an_assertion_error():
    assert issubclass(Feedback, AssertionError)


# ---------------------------------------------------------------- expect_close

def test_expect_close_passes_within_tolerance():
    exp = np.array([[1.0, 2.0], [3.0, -4.0]])
    expect_close(exp + 1e-9, exp, name=NAME)
    expect_close(exp * (1 + 5e-7), exp, name=NAME)  # within rtol=1e-6
    expect_close(exp.tolist(), exp, name=NAME)  # lists are arrays too
    expect_close(exp.astype(np.float32), exp, name=NAME, rtol=1e-6)
    expect_close(np.array([np.inf, np.nan, 1.0]), np.array([np.inf, np.nan, 1.0]), name=NAME)
    expect_close(exp + 0.05, exp, name=NAME, atol=0.1)


def test_expect_close_failure_names_everything():
    exp = np.zeros((2, 3))
    exp[1, 2] = 2.0
    got = exp.copy()
    got[1, 2] = 2.5    # the worst entry: abs 0.5, rel 0.25
    got[0, 0] = 1e-3   # also wrong, smaller
    msg = failure(expect_close, got, exp, name=NAME, what="probabilities", rtol=1e-6, atol=1e-8)
    assert msg.startswith(NAME + ": the probabilities is wrong")
    assert re.search(r"abs error 0\.5 at index \[1, 2\]", msg), msg
    assert "relative error 0.25" in msg
    assert "2 of 6 entries are outside the tolerance atol=1e-08, rtol=1e-06" in msg
    assert "at [1, 2]: got 2.5, expected 2" in msg


def test_expect_close_failure_1d_index_and_hint():
    msg = failure(expect_close, np.array([1.0, 2.0, 3.5]), np.array([1.0, 2.0, 3.0]), name=NAME,
                  hint="subtract the row maximum first")
    assert "at index [2]" in msg
    assert msg.endswith("\n  Hint: subtract the row maximum first")


def test_reported_error_belongs_to_the_reported_index():
    exp = np.array([1000.0, 0.0])
    got = np.array([1005.0, 1.0])  # entry 0: error 5 but within rtol=1%; entry 1: error 1, outside
    msg = failure(expect_close, got, exp, name=NAME, rtol=0.01, atol=1e-8)
    assert "at index [1]" in msg
    assert re.search(r"abs error 1 at index \[1\]", msg), msg
    assert "error 5" not in msg  # entry 0 is within its tolerance


def test_expect_close_shape_mismatch_names_both_shapes():
    msg = failure(expect_close, np.zeros((3, 2)), np.zeros((2, 3)), name=NAME)
    assert msg == NAME + ": the output has shape (3, 2), expected (2, 3)"
    msg = failure(expect_close, np.zeros(4), np.zeros(()), name=NAME, what="loss")
    assert "has shape (4,), expected ()" in msg and "loss" in msg


def test_expect_close_none_says_returned_none():
    msg = failure(expect_close, None, np.zeros(3), name=NAME)
    assert msg.startswith(NAME + " returned None")
    assert "return statement" in msg


def test_expect_close_non_numeric():
    msg = failure(expect_close, np.array(["a", "b"]), np.zeros(2), name=NAME)
    assert "dtype" in msg and "expected numbers" in msg


@pytest.mark.parametrize("bad, kind", [(np.nan, "NaN"), (np.inf, "inf"), (-np.inf, "inf")])
def test_non_finite_reported_with_index(bad, kind):
    got = np.ones((2, 3))
    got[1, 1] = bad
    got[1, 2] = bad
    msg = failure(expect_close, got, np.ones((2, 3)), name=NAME)
    assert "contains %s at index [1, 1]" % kind in msg
    assert "2 of 6 entries are not finite" in msg


def test_reference_non_finite_mismatch():
    msg = failure(expect_close, np.array([1.0, 5.0]), np.array([1.0, np.inf]), name=NAME)
    assert "differs at index [1] where the reference is not finite" in msg


def test_complex_values():
    exp = np.array([1 + 1j, 2 - 1j])
    expect_close(exp + 1e-10, exp, name=NAME)
    msg = failure(expect_close, exp + np.array([0, 0.5j]), exp, name=NAME)
    assert re.search(r"abs error 0\.5 at index \[1\]", msg), msg


# ---------------------------------------------------------------- misconceptions

def test_misconception_diagnosis_picks_the_matching_description():
    x = np.array([[1.0, 2.0, 3.0]])
    right = np.exp(x) / np.exp(x).sum()
    mistakes = {
        "you normalized over the wrong axis": np.ones_like(x),
        "you forgot the exponential": x / x.sum(),
        "you returned the logits": x,
    }
    msg = failure(expect_close, x / x.sum(), right, name=NAME, misconceptions=mistakes)
    assert msg.count("Likely cause:") == 1
    assert msg.splitlines()[-1] == "  Likely cause: you forgot the exponential"
    msg = failure(expect_close, x, right, name=NAME, misconceptions=mistakes)
    assert "Likely cause: you returned the logits" in msg
    msg = failure(expect_close, x * 7, right, name=NAME, misconceptions=mistakes)
    assert "Likely cause" not in msg


def test_misconception_accepts_list_of_alternatives():
    mistakes = {"sign error": [np.array([-1.0, -2.0]), np.array([1.0, -2.0]), np.array([-1.0, 2.0])],
                "off by one": np.array([2.0, 3.0])}
    msg = failure(expect_close, np.array([1.0, -2.0]), np.array([1.0, 2.0]), name=NAME, misconceptions=mistakes)
    assert "Likely cause: sign error" in msg
    msg = failure(expect_close, np.array([2.0, 3.0]), np.array([1.0, 2.0]), name=NAME, misconceptions=mistakes)
    assert "Likely cause: off by one" in msg


def test_diagnose_directly():
    assert diagnose(np.array([1.0]), None) is None
    assert diagnose(np.array([1.0]), {}) is None
    assert diagnose(np.array([1.0, 2.0]), {"a": np.array([1.0]), "b": np.array([1.0, 2.0])}) == "b"
    assert diagnose(np.array(["x"]), {"a": np.array([1.0])}) is None
    assert diagnose(np.array([np.nan]), {"a": np.array([np.nan])}) is None  # NaN never "matches"


def test_misconception_and_hint_order():
    msg = failure(expect_close, np.array([0.0]), np.array([1.0]), name=NAME,
                  misconceptions={"zero": np.array([0.0])}, hint="look again")
    assert msg.splitlines()[-2:] == ["  Likely cause: zero", "  Hint: look again"]


# ---------------------------------------------------------------- hidden values

DISTINCT = 123.456


@pytest.mark.parametrize("check", [
    lambda: expect_close(np.array([1.0, 2.0]), np.array([1.0, DISTINCT]), name=NAME),
    lambda: expect_close(np.array(2.0), np.array(DISTINCT), name=NAME),
    lambda: expect_scalar(2.0, DISTINCT, name=NAME),
    lambda: expect_grad_close(np.array([2.0]), np.array([DISTINCT]), name=NAME, wrt="W1"),
    lambda: expect_equal(np.array([1, 2]), np.array([1, 123456]), name=NAME),
    lambda: expect_equal(np.array(1.5), np.array(DISTINCT), name=NAME),
], ids=["close-array", "close-0d", "scalar", "grad", "equal", "equal-0d"])
def test_hidden_values_never_shown(check):
    with reveal_values(False):
        with pytest.raises(Feedback) as info:
            check()
    msg = str(info.value)
    for text in ("123.456", "123456", "123.46", "expected 1"):
        assert text not in msg, msg
    assert "expected" not in msg
    assert "relative error" not in msg  # with the absolute error it would give |expected| away
    # the same check shows the value when revealing (the default)
    with pytest.raises(Feedback) as info:
        check()
    assert re.search(r"expected (123\.456|123456)", str(info.value)), str(info.value)


def test_reveal_values_restores_previous_setting_even_on_error():
    assert feedback._reveal is True
    with pytest.raises(RuntimeError):
        with reveal_values(False):
            assert feedback._reveal is False
            with reveal_values(True):
                assert feedback._reveal is True
            assert feedback._reveal is False
            raise RuntimeError
    assert feedback._reveal is True


# ---------------------------------------------------------------- scalar, equal, shape, finite

def test_expect_scalar_on_0d_and_python_numbers():
    expect_scalar(np.array(0.5), 0.5, name=NAME)
    expect_scalar(0.5 + 1e-12, np.float64(0.5), name=NAME)
    expect_scalar(np.array([0.5]), 0.5, name=NAME)  # one-element array
    msg = failure(expect_scalar, np.array(0.75), 0.5, name=NAME, what="loss")
    assert msg.startswith(NAME + ": the loss is wrong: absolute error 0.25 (relative error 0.5)")
    assert "tolerance atol=1e-08, rtol=1e-06" in msg
    assert "got 0.75, expected 0.5" in msg


def test_expect_scalar_refuses_arrays_and_none():
    msg = failure(expect_scalar, np.zeros(3), 0.0, name=NAME, what="loss")
    assert "should be a single number, got an array of shape (3,)" in msg
    assert "returned None" in failure(expect_scalar, None, 0.0, name=NAME)


def test_expect_scalar_nan():
    msg = failure(expect_scalar, float("nan"), 1.0, name=NAME, what="loss")
    assert "loss contains NaN at index []" in msg


def test_expect_equal():
    expect_equal(np.array([1, 2, 3]), [1, 2, 3], name=NAME)
    expect_equal(7, 7, name=NAME)
    msg = failure(expect_equal, np.array([[1, 2], [3, 5]]), np.array([[1, 2], [3, 4]]), name=NAME,
                  what="predictions")
    assert msg == NAME + ": the predictions differs at index [1, 1] (1 of 4 entries): got 5, expected 4"
    msg = failure(expect_equal, np.array(3), np.array(4), name=NAME)
    assert "differs at index [] (1 of 1 entries): got 3, expected 4" in msg
    msg = failure(expect_equal, np.array([1, 2]), np.array([1, 2, 3]), name=NAME)
    assert "has shape (2,), expected (3,)" in msg


def test_expect_shape():
    arr = expect_shape([[1, 2, 3]], (1, 3), name=NAME)
    assert isinstance(arr, np.ndarray) and arr.shape == (1, 3)
    assert expect_shape(np.zeros((2, 3)), [np.int64(2), 3], name=NAME).shape == (2, 3)
    msg = failure(expect_shape, np.zeros((2, 3)), (3, 2), name=NAME, what="hidden layer")
    assert msg == NAME + ": the hidden layer has shape (2, 3), expected (3, 2)"
    assert "returned None" in failure(expect_shape, None, (1,), name=NAME)


def test_expect_finite():
    assert expect_finite(np.ones(2), name=NAME).shape == (2,)
    msg = failure(expect_finite, np.array([[1.0, 2.0], [np.inf, 1.0]]), name=NAME)
    assert "contains inf at index [1, 0]" in msg
    assert "contains NaN at index []" in failure(expect_finite, np.array(np.nan), name=NAME)


def test_expect_grad_close_names_the_variable_and_uses_looser_tolerance():
    expect_grad_close(np.array([1.0 + 5e-6]), np.array([1.0]), name=NAME, wrt="W1")  # within rtol=1e-5
    msg = failure(expect_grad_close, np.array([2.0]), np.array([1.0]), name=NAME, wrt="b2")
    assert "the gradient with respect to b2 is wrong" in msg
    assert "rtol=1e-05" in msg


def _float32_product(seed):
    rng = np.random.default_rng(seed)
    x, w = rng.normal(size=(6, 60)), rng.normal(size=(60, 5))
    return x @ w, x.astype(np.float32) @ w.astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
def test_precision_level_error_is_called_a_precision_problem_not_given_the_shape_hint(seed):
    expected, got32 = _float32_product(seed)
    for got in (got32, got32.astype(np.float64)):  # returned as float32, or cast back to float64
        with pytest.raises(Feedback) as info:
            expect_close(got, expected, name="f", rtol=1e-9, atol=1e-12, hint="check the output size")
        text = str(info.value)
        assert "precision problem" in text and "float64" in text and "output size" not in text
    # a wrong formula keeps its hint and is not called a precision problem
    with pytest.raises(Feedback) as info:
        expect_close(expected + 0.5, expected, name="f", rtol=1e-9, atol=1e-12, hint="check the output size")
    assert "precision" not in str(info.value) and "output size" in str(info.value)


def test_precision_cause_is_silent_for_float32_level_tests():
    expected, got32 = _float32_product(0)
    # a test that already allows float32 (rtol >= 1e-5) is not about float64 inputs
    assert feedback.precision_cause(got32 * (1 + 3e-4), expected, rtol=1e-4) is None
    assert feedback.precision_cause(got32, expected, rtol=1e-9) is not None


def test_dtype_and_device_errors_get_a_hint_naming_the_fix():
    torch = pytest.importorskip("torch")
    from autograder.sandbox import StudentError, error_hint

    try:
        torch.zeros(2, 3) @ torch.zeros(3, 2, dtype=torch.float64)
    except RuntimeError as exc:
        message = str(exc)
    hint = error_hint("RuntimeError", message)
    assert hint and "x.new_zeros" in hint and "dtype=x.dtype" in hint
    rendered = str(StudentError("seq2seq.lstm:LSTM.forward", {"type": "RuntimeError", "message": message}))
    assert "Hint: " in rendered and "new_zeros" in rendered
    assert error_hint("RuntimeError", "shape '[2, 3]' is invalid for input of size 5") is None
