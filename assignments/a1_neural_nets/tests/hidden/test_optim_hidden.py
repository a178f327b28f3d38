"""Hidden checks of neural_nets/optim.py: regularisation and momentum together, over several steps."""
import oracles
from autograder import expect_close, graded, sandbox


@graded(points=2)
def test_momentum_with_regularisation(rng):
    """several steps of SGD with momentum and L2 match v = mu v - lr (g + reg W), w = w + v"""
    weights = {"W1": rng.normal(size=(5, 4)), "b1": rng.normal(size=4)}
    grads = [{k: rng.normal(size=v.shape) for k, v in weights.items()} for _ in range(4)]
    lr, reg, mu = 0.03, 0.2, 0.8
    got = sandbox.call("a1_probes:sgd_steps", {"learning_rate": lr, "reg": reg, "momentum": mu}, weights, grads)
    want = oracles.sgd_steps(weights, grads, lr, reg, mu)
    for step in range(4):
        for key in sorted(weights):
            alts = {}
            if key.startswith("b"):
                alts["the biases were regularised too; only weight matrices get reg * W"] = \
                    _steps_regularising_all(weights, grads, lr, reg, mu)[step][key]
            expect_close(got["steps"][step][key], want[step][key], name="neural_nets.optim.SGD",
                         what="%s after step %d" % (key, step + 1), rtol=1e-6, misconceptions=alts)


def _steps_regularising_all(weights, grads_seq, lr, reg, mu):
    import numpy as np

    weights = {k: v.copy() for k, v in weights.items()}
    vel = {k: np.zeros_like(v) for k, v in weights.items()}
    out = []
    for grads in grads_seq:
        for k in weights:
            vel[k] = mu * vel[k] - lr * (grads[k] + reg * weights[k])
            weights[k] = weights[k] + vel[k]
        out.append({k: v.copy() for k, v in weights.items()})
    return out
