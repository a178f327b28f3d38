"""Public checks of neural_nets/functional.py (students run these with `pytest`).

Inputs and expected values are fixtures (tests/fixtures/), computed once by the
instructor's oracle; the hidden tests run the same checks on new random inputs.
Every call also checks a property the module's docstring promises: the function
leaves its input arrays unchanged (``sandbox.call_pure``).
"""
import pytest

from autograder import expect_close, expect_grad_close, expect_scalar, graded, sandbox
from autograder.fixtures import public_case, public_params

F = "neural_nets.functional"


def check_sigmoid(c, _=None):
    expect_close(sandbox.call_pure(F + ":sigmoid", c["x"]), c["expected"], name=F + ".sigmoid")


def check_sigmoid_grad(c, _=None):
    expect_grad_close(sandbox.call_pure(F + ":sigmoid_grad", c["x"]), c["expected"], name=F + ".sigmoid_grad", wrt="x",
                      atol=1e-6, misconceptions=c["misconceptions"])


def check_relu(c, _=None):
    expect_close(sandbox.call_pure(F + ":relu", c["x"]), c["expected"], name=F + ".relu")


def check_relu_grad(c, _=None):
    expect_grad_close(sandbox.call_pure(F + ":relu_grad", c["x"]), c["expected"], name=F + ".relu_grad", wrt="x",
                      atol=1e-6, misconceptions=c["misconceptions"])


def check_softmax(c, kind):
    hint = "subtract each row's maximum before np.exp" if kind != "typical" else None
    expect_close(sandbox.call_pure(F + ":softmax", c["scores"]), c["expected"], name=F + ".softmax", rtol=1e-6,
                 atol=1e-10, misconceptions=c["misconceptions"], hint=hint)


def check_cross_entropy(c, _=None):
    expect_scalar(sandbox.call_pure(F + ":cross_entropy", c["probs"], c["y"]), c["expected"], name=F + ".cross_entropy",
                  what="loss", rtol=1e-6, misconceptions=c["misconceptions"])


def check_accuracy(c, _=None):
    expect_scalar(sandbox.call_pure(F + ":accuracy", c["scores"], c["y"]), c["expected"], name=F + ".accuracy",
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
@graded(points=3)
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
