"""Public checks of cnn/optim.py: SGD with momentum and L2 on the weights (part 1, NumPy only)."""
import oracles
from autograder import expect_close, graded, sandbox

O = "cnn.optim.SGDMomentum.update"


def _problem(rng, steps=3):
    params = [{"weight": rng.normal(size=(3, 2, 3, 3)), "bias": rng.normal(size=3)},
              {"weight": rng.normal(size=(12, 4)), "bias": rng.normal(size=4)}]
    grads = [[{"dw": rng.normal(size=p["weight"].shape), "db": rng.normal(size=p["bias"].shape)} for p in params]
             for _ in range(steps)]
    return params, grads


@graded(points=3)
def test_momentum_steps(rng):
    """update follows v = mu * v - lr * (dw + reg * w), w = w + v over several steps (biases not regularised)"""
    params, grads = _problem(rng)
    lr, reg, mu = 0.05, 0.1, 0.9
    got = sandbox.call("a2_probes:sgd_steps", {"learning_rate": lr, "reg": reg, "momentum": mu}, params, grads)
    want = oracles.sgd_momentum_steps(params, grads, lr, reg, mu)
    wrong = {
        "a sign is flipped, so the parameters climb the loss: v = mu * v - lr * g, then w = w + v":
            oracles.sgd_momentum_steps(params, grads, lr, reg, mu, sign=-1.0),
        "the velocity is not kept between steps (momentum has no effect); keep one velocity per parameter":
            oracles.sgd_momentum_steps(params, grads, lr, reg, mu, keep_velocity=False),
        "you regularised the biases; only weights get reg * w": oracles.sgd_momentum_steps(params, grads, lr, reg, mu,
                                                                                           reg_bias=True),
        "the L2 term is missing: the weight's gradient is dw + reg * w": oracles.sgd_momentum_steps(params, grads, lr,
                                                                                                    0.0, mu),
    }
    for step in range(len(grads)):
        for i in range(len(params)):
            for key in ("weight", "bias"):
                expect_close(got[step][i][key], want[step][i][key], name=O,
                             what="%s of layer %d after step %d" % (key, i, step + 1), rtol=1e-9, atol=1e-12,
                             misconceptions={d: alt[step][i][key] for d, alt in wrong.items()})
