"""Public checks of neural_nets/optim.py: L2 regularisation and SGD with momentum (fixtures).

Each optimiser takes several steps: whatever it keeps between steps (the velocity) is checked too.
"""
from a1_checks import close, scalar
from autograder import graded, sandbox
from autograder.fixtures import public_case

O = "neural_nets.optim.SGD"


def check_apply_regularization(c, _=None):
    out = sandbox.call("a1_probes:regularized_gradients", {"learning_rate": 0.1, "reg": c["reg"]}, c["weights"],
                       c["gradients"])
    for key in sorted(c["expected"]):
        close(out["gradients"][key], c["expected"][key], name=O + ".apply_regularization",
              what="gradient %s after regularisation" % key, misconceptions=c["misconceptions"][key])
    scalar(out["penalty"], c["penalty"], name=O + ".apply_regularization", what="returned penalty", rtol=1e-6)


def check_plain_sgd_step(c, _=None):
    opt = {"learning_rate": c["learning_rate"], "reg": 0.0, "momentum": 0.0}
    got = sandbox.call("a1_probes:sgd_steps", opt, c["weights"], c["grads"], False)["steps"]
    for step in range(len(c["grads"])):
        for key in sorted(c["weights"]):
            close(got[step][key], c["expected"][step][key], name=O + ".update",
                  what="%s after step %d (momentum 0)" % (key, step + 1), misconceptions=c["misconceptions"][step][key])


def check_momentum_steps(c, _=None):
    opt = {"learning_rate": c["learning_rate"], "reg": 0.0, "momentum": c["momentum"]}
    got = sandbox.call("a1_probes:sgd_steps", opt, c["weights"], c["grads"], False)["steps"]
    for step in range(len(c["grads"])):
        for key in sorted(c["weights"]):
            close(got[step][key], c["expected"][step][key], name=O + ".update",
                  what="%s after step %d" % (key, step + 1), misconceptions={
                      "the velocity is not kept between steps (momentum has no effect)": c["no_memory"][step][key],
                      "a sign is flipped, so the weights climb the loss: use v = mu * v - lr * g, "
                      "then w = w + v": c["uphill"][step][key],
                      "the velocity is not multiplied by the momentum: use v = mu * v - lr * g":
                          c["undecayed"][step][key]})


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"apply_regularization": check_apply_regularization, "plain_sgd_step": check_plain_sgd_step,
          "momentum_steps": check_momentum_steps}


@graded(points=2)
def test_apply_regularization():
    """apply_regularization adds reg * W to weight gradients only, and returns 0.5 * reg * sum(W**2)"""
    check_apply_regularization(public_case("apply_regularization"))


@graded(points=2)
def test_plain_sgd_step():
    """update without momentum moves each parameter by -learning_rate * gradient, step after step"""
    check_plain_sgd_step(public_case("plain_sgd_step"))


@graded(points=2)
def test_momentum_steps():
    """update with momentum follows v = mu * v - lr * g, w = w + v over several steps"""
    check_momentum_steps(public_case("momentum_steps"))
