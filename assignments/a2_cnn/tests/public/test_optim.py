"""Public checks of cnn/optim.py: SGD with momentum and L2 on the weights (part 1, NumPy only, fixtures)."""
from a2_feedback import expect_close64
from autograder import graded, sandbox
from autograder.fixtures import public_case

O = "cnn.optim.SGDMomentum.update"


def check_momentum_steps(c, _=None):
    opt = {"learning_rate": c["learning_rate"], "reg": c["reg"], "momentum": c["momentum"]}
    got = sandbox.call("a2_probes:sgd_steps", opt, c["params"], c["grads"])
    want, wrong = c["expected"], c["misconceptions"]
    for step in range(len(c["grads"])):
        for i in range(len(c["params"])):
            for key in ("weight", "bias"):
                expect_close64(got[step][i][key], want[step][i][key], name=O,
                               what="%s of layer %d after step %d" % (key, i, step + 1), rtol=1e-9, atol=1e-12,
                               misconceptions={d: alt[step][i][key] for d, alt in wrong.items()})


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"momentum_steps": check_momentum_steps}


@graded(points=3)
def test_momentum_steps():
    """update follows v = mu * v - lr * (dw + reg * w), w = w + v over several steps (biases not regularised)"""
    check_momentum_steps(public_case("momentum_steps"))
