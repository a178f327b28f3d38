"""Public checks of neural_nets/models.py: forward values and backpropagated gradients.

Forward values and gradients are compared with fixtures (the instructor's oracle on
fixed inputs); the finite-difference check needs no oracle: it differentiates your
own forward pass numerically. A model is also used more than once: a second forward
call must not carry anything over from the first, and mode="valid" only evaluates.
"""
import numpy as np
import pytest

from a1_checks import grad_close, scalar
from autograder import Feedback, expect_grad_close, graded, sandbox
from autograder.fixtures import public_case, public_params
from autograder.properties import numerical_gradient_from, perturbations

M = "neural_nets.models"


def check_model_forward(c, kind):
    out = sandbox.call("a1_probes:forward", kind, c["kwargs"], c["weights"], c["X"], c["y"], "valid")
    name = "%s.%s.forward" % (M, kind)
    scalar(out["loss"], c["loss"], name=name, what="loss", rtol=1e-6, misconceptions=c["misconceptions"])
    scalar(out["accuracy"], c["accuracy"], name=name, what="accuracy", rtol=0, atol=1e-12)


def _gradients(out, expected, name, when=""):
    got = out.get("gradients") if isinstance(out, dict) else None
    if not isinstance(got, dict):
        raise Feedback("%s: model.gradients is not a dict%s" % (name, when))
    missing = sorted(set(expected) - set(got))
    if missing:
        raise Feedback("%s: gradients has no entry for %s%s" % (name, ", ".join(missing), when))
    return got


def check_model_backward(c, kind):
    out = sandbox.call("a1_probes:forward", kind, c["kwargs"], c["weights"], c["X"], c["y"], "train")
    name = "%s.%s.forward" % (M, kind)
    got = _gradients(out, c["gradients"], name)
    for key in sorted(c["gradients"]):
        grad_close(got[key], c["gradients"][key], name=name, wrt=key, misconceptions=c["misconceptions"][key])


def check_model_repeated_calls(c, kind):
    calls = [(c["X"], c["y"], "train"), (c["X2"], c["y2"], "train")]
    out = sandbox.call("a1_probes:forward_calls", kind, c["kwargs"], c["weights"], calls)
    name = "%s.%s.forward" % (M, kind)
    when = " after the second forward(mode=\"train\") call"
    got = _gradients(out[1], c["gradients"], name, when)
    for key in sorted(c["gradients"]):
        grad_close(got[key], c["gradients"][key], name=name, wrt=key + when, misconceptions=c["misconceptions"][key])
    scalar(out[1]["loss"], c["loss"], name=name, what="loss of the second call", rtol=1e-6)


def check_model_valid_mode(c, kind):
    calls = [(c["X"], c["y"], "train"), (c["X2"], c["y2"], "valid")]
    out = sandbox.call("a1_probes:forward_calls", kind, c["kwargs"], c["weights"], calls)
    name = "%s.%s.forward" % (M, kind)
    before = _gradients(out[0], c["weights"], name, " after forward(mode=\"train\")")
    after = out[1].get("gradients") if isinstance(out[1], dict) else None
    for key in sorted(c["weights"]):
        old, new = np.asarray(before[key]), None if not isinstance(after, dict) else after.get(key)
        if new is None or np.shape(new) != old.shape or not np.array_equal(np.asarray(new), old, equal_nan=True):
            raise Feedback("%s: forward(mode=\"valid\") changed model.gradients[%r]; in valid mode forward only "
                           "evaluates (loss and accuracy): compute and store gradients only when mode == \"train\""
                           % (name, key))
    for step, mode in enumerate(("train", "valid")):
        weights = out[step].get("weights") or {}
        for key in sorted(c["weights"]):
            if key not in weights or not np.array_equal(np.asarray(weights[key]), c["weights"][key]):
                raise Feedback("%s: forward(mode=%r) changed model.weights[%r]; forward must not change the "
                               "weights (updating them is the optimiser's job)" % (name, mode, key))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"model_forward": check_model_forward, "model_backward": check_model_backward,
          "model_repeated_calls": check_model_repeated_calls, "model_valid_mode": check_model_valid_mode}


@pytest.mark.parametrize("kind", public_params("model_forward"))
@graded(points=4)
def test_forward_loss_and_accuracy(kind):
    """forward returns the mean cross-entropy and the accuracy"""
    check_model_forward(public_case("model_forward", kind), kind)


@pytest.mark.parametrize("kind", public_params("model_backward"))
@graded(points=7)
def test_backward_gradients(kind):
    """forward(mode="train") fills gradients equal to backpropagation's"""
    check_model_backward(public_case("model_backward", kind), kind)


@pytest.mark.parametrize("kind", public_params("model_repeated_calls"))
@graded(points=2)
def test_second_forward_call_starts_afresh(kind):
    """a second forward(mode="train") on another batch gives that batch's gradients (nothing carried over)"""
    check_model_repeated_calls(public_case("model_repeated_calls", kind), kind)


@pytest.mark.parametrize("kind", public_params("model_valid_mode"))
@graded(points=2)
def test_valid_mode_only_evaluates(kind):
    """forward(mode="valid") leaves model.gradients and model.weights unchanged"""
    check_model_valid_mode(public_case("model_valid_mode", kind), kind)


@graded(points=2)
def test_gradients_match_finite_differences():
    """TwoLayerNet gradients agree with central finite differences of your own loss"""
    c = public_case("model_backward", "TwoLayerNet")
    name = M + ".TwoLayerNet.forward"
    out = sandbox.call("a1_probes:forward", "TwoLayerNet", c["kwargs"], c["weights"], c["X"], c["y"], "train")
    for key in ("W1", "b2"):
        tries = perturbations(c["weights"], key)
        losses = sandbox.call("a1_probes:losses", "TwoLayerNet", c["kwargs"], [w for w, _ in tries], c["X"], c["y"])
        if np.shape(losses) != (len(tries),):
            raise Feedback("%s: expected one loss per set of weights, got %s" % (name, np.shape(losses)))
        numeric = numerical_gradient_from(losses, c["weights"][key].shape)
        try:
            expect_grad_close(out["gradients"].get(key), numeric, name=name, wrt=key, rtol=1e-4, atol=1e-6,
                              hint="the numerical gradient differentiates the loss your forward returns in "
                                   "mode=\"valid\"; the two must agree")
        except Feedback as failure:
            values = np.asarray(losses, dtype=np.float64)
            if np.array_equal(values.astype(np.float32).astype(np.float64), values):
                raise Feedback("%s\n  Likely cause: a precision problem: every loss your forward returned is a "
                               "float32 number, too coarse for finite differences (a step of 1e-6 barely moves "
                               "it). The inputs are float64: keep the whole computation in float64 (no "
                               "astype(np.float32))" % str(failure).split("\n  Hint: ")[0]) from None
            raise
