"""Public checks of neural_nets/functional.py (students run these with `pytest`).

Inputs and expected values are fixtures (tests/fixtures/), computed once by the
instructor's oracle; the hidden tests run the same checks on new random inputs.
Every call also checks a property the module's docstring promises: the function
leaves its input arrays unchanged (``sandbox.call_pure``). Inputs are float64; a result
that is right only to float32 precision is reported as a precision problem.
"""
import numpy as np
import pytest

from a1_checks import close, grad_close, scalar
from autograder import Feedback, graded, sandbox
from autograder.fixtures import public_case, public_params

F = "neural_nets.functional"

SOFTMAX_HINTS = {
    "large positive scores": "subtract each row's maximum before np.exp",
    "large negative scores": "subtract each row's maximum before np.exp",
    "rows of very different scales": "subtract each row's OWN maximum, np.max(scores, axis=1, keepdims=True), "
                                     "not the maximum of the whole array: next to a row near 1000, every exp of "
                                     "a row near 0 underflows to 0, and 0 / 0 is NaN"}


def check_sigmoid(c, _=None):
    close(sandbox.call_pure(F + ":sigmoid", c["x"]), c["expected"], name=F + ".sigmoid",
          hint="for large |x| np.exp must not overflow: 1 / (1 + np.exp(-x)) is fine (exp(800) = inf gives "
               "1 / inf = 0), but np.exp(x) / (1 + np.exp(x)) gives inf / inf = NaN")


def check_sigmoid_grad(c, _=None):
    grad_close(sandbox.call_pure(F + ":sigmoid_grad", c["x"]), c["expected"], name=F + ".sigmoid_grad", wrt="x",
               atol=1e-6, misconceptions=c["misconceptions"])


def check_relu(c, _=None):
    close(sandbox.call_pure(F + ":relu", c["x"]), c["expected"], name=F + ".relu")


def check_relu_grad(c, _=None):
    out = sandbox.call_pure(F + ":relu_grad", c["x"])
    grad_close(out, c["expected"], name=F + ".relu_grad", wrt="x", atol=1e-6, misconceptions=c["misconceptions"])
    if np.asarray(out).dtype.kind != "f":
        raise Feedback("%s returned an array of dtype %s; the docstring asks for a float array holding 0.0 and 1.0: "
                       "convert it, e.g. (x > 0).astype(np.float64)" % (F + ".relu_grad", np.asarray(out).dtype))


def check_softmax(c, kind):
    close(sandbox.call_pure(F + ":softmax", c["scores"]), c["expected"], name=F + ".softmax", rtol=1e-6,
          atol=1e-10, misconceptions=c["misconceptions"], hint=SOFTMAX_HINTS.get(kind))


def check_cross_entropy(c, _=None):
    scalar(sandbox.call_pure(F + ":cross_entropy", c["probs"], c["y"]), c["expected"], name=F + ".cross_entropy",
           what="loss", rtol=1e-6, misconceptions=c["misconceptions"])


def check_accuracy(c, _=None):
    scalar(sandbox.call_pure(F + ":accuracy", c["scores"], c["y"]), c["expected"], name=F + ".accuracy",
           what="accuracy", rtol=0, atol=1e-12)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"sigmoid": check_sigmoid, "sigmoid_grad": check_sigmoid_grad, "relu": check_relu,
          "relu_grad": check_relu_grad, "softmax": check_softmax, "cross_entropy": check_cross_entropy,
          "accuracy": check_accuracy}


@graded(points=1)
def test_sigmoid():
    """sigmoid matches 1 / (1 + exp(-x)), including large |x|"""
    check_sigmoid(public_case("sigmoid"))


@graded(points=2)
def test_sigmoid_grad():
    """sigmoid_grad matches sigmoid(x) * (1 - sigmoid(x)) and finite differences"""
    check_sigmoid_grad(public_case("sigmoid_grad"))


@graded(points=1)
def test_relu():
    """relu matches max(0, x)"""
    check_relu(public_case("relu"))


@graded(points=1)
def test_relu_grad():
    """relu_grad is 1 where x > 0 and 0 elsewhere"""
    check_relu_grad(public_case("relu_grad"))


@pytest.mark.parametrize("case", public_params("softmax"))
@graded(points=4)
def test_softmax(case):
    """softmax is row-wise and numerically stable"""
    check_softmax(public_case("softmax", case), case)


@graded(points=2)
def test_cross_entropy():
    """cross_entropy is the mean negative log-probability of the correct class"""
    check_cross_entropy(public_case("cross_entropy"))


@graded(points=1)
def test_accuracy():
    """accuracy is the fraction of rows whose arg-max is the label"""
    check_accuracy(public_case("accuracy"))
