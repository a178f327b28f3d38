"""Public check of neural_nets/functional.py at a kink: relu_grad at exactly x = 0.

ReLU has no derivative at 0; the docstring fixes the convention relu_grad(0) = 0. This
case has its own points, apart from the values away from 0 (test_functional.py, which
also checks that relu_grad returns floats).
"""
from a1_checks import grad_close
from autograder import graded, sandbox
from autograder.fixtures import public_case

F = "neural_nets.functional"


def check_relu_grad_at_zero(c, _=None):
    grad_close(sandbox.call_pure(F + ":relu_grad", c["x"]), c["expected"], name=F + ".relu_grad",
               wrt="x (6 entries are exactly 0)", atol=1e-6, misconceptions=c["misconceptions"])


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"relu_grad_at_zero": check_relu_grad_at_zero}


@graded(points=1)
def test_relu_grad_at_zero():
    """relu_grad is 0 at exactly x = 0, as its docstring says"""
    check_relu_grad_at_zero(public_case("relu_grad_at_zero"))
