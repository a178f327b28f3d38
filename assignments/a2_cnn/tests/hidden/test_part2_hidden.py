"""Hidden checks of part 2: other losses' settings, 2-D inputs, MyModel learns."""
import numpy as np

import oracles
from autograder import (Feedback, expect_close, expect_finite, expect_grad_close, expect_scalar, expect_shape,
                        graded, sandbox)

LS = "cnn.losses"


@graded(points=1)
def test_reweight_beta_zero_and_array_input(rng):
    """reweight with beta = 0 gives equal weights; it accepts a tensor of counts"""
    counts = [int(c) for c in rng.integers(1, 300, size=7)]
    expect_close(sandbox.call("a2_probes:call_reweight", counts, 0.0), np.ones(7), name=LS + ".reweight",
                 what="class weights for beta = 0", rtol=1e-6, atol=1e-7)
    expected, _ = oracles.reweight(counts, 0.99)
    expect_close(sandbox.call("a2_probes:call_reweight", counts, 0.99), expected, name=LS + ".reweight",
                 what="class weights from a tensor of counts", rtol=2e-5, atol=1e-7)


@graded(points=2)
def test_focal_loss_gamma_3_weighted(rng):
    """FocalLoss with gamma 3 and class weights, on a larger batch"""
    n, k = 40, 10
    logits = rng.normal(scale=3.0, size=(n, k))
    y = rng.integers(0, k, size=n)
    weight = rng.uniform(0.1, 5.0, size=k)
    out = sandbox.call("a2_probes:focal", logits, y, weight, 3.0)
    name = LS + ".FocalLoss.forward"
    expect_scalar(out["loss"], oracles.focal_loss(logits, y, weight, 3.0), name=name, what="loss", rtol=1e-7)
    numeric = oracles.numerical_gradient_fn(lambda z: oracles.focal_loss(z, y, weight, 3.0), logits)
    expect_grad_close(out["grad"], numeric, name=name, wrt="the logits", rtol=1e-5, atol=1e-8)


@graded(points=1)
def test_two_layer_net_flat_input(rng, seed):
    """TwoLayerNet also takes flat (N, D) inputs"""
    x = rng.normal(size=(6, 9))
    out = sandbox.call("a2_probes:model_forward_double", "TwoLayerNet",
                       {"input_dim": 9, "hidden_size": 4, "num_classes": 2}, seed % 10000, x)
    found = oracles.params_by_shape(out["params"], [(4, 9), (4,), (2, 4), (2,)])
    if any(v is None for v in found.values()):
        raise Feedback("cnn.models.TwoLayerNet: unexpected parameter shapes")
    w1, b1, w2, b2 = found[(4, 9)], found[(4,)], found[(2, 4)], found[(2,)]
    expect_close(out["scores"], oracles.two_layer_forward(x, w1, b1, w2, b2), name="cnn.models.TwoLayerNet.forward",
                 what="scores", rtol=1e-7, atol=1e-9)


@graded(points=2)
def test_my_model_fits_a_batch(rng, seed):
    """MyModel can fit one small batch: 10 Adam steps take its loss on that batch below half of chance"""
    n, k = 8, 10
    x = rng.normal(size=(n, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    s = seed % 10000
    name = "cnn.models.MyModel"
    state = sandbox.call_with("a2_probes:model_fits", ("MyModel", {}, s, x, y, 10, 3e-3), {}, timeout=50)
    if not isinstance(state, dict):
        raise Feedback("%s: training on one batch did not give a state_dict" % name)
    # judge the trained weights in a new worker that never saw y: its scores on x, the loss here
    sandbox.fresh_worker()
    scores = sandbox.call_with("a2_probes:model_forward_state", ("MyModel", {}, s, state, x), {}, timeout=50)
    scores = expect_finite(expect_shape(scores, (n, k), name=name + ".forward", what="scores"),
                           name=name + ".forward", what="scores")
    loss = float(np.mean(-oracles.log_softmax(scores.astype(np.float64))[np.arange(n), y]))
    chance = float(np.log(k))
    if not loss <= 0.5 * chance:
        raise Feedback("%s: after 10 Adam steps (lr 3e-3) on one batch of %d images, its cross-entropy on that batch "
                       "(training mode) is %.3f, not below half of chance (ln 10 / 2 = %.3f); check that forward "
                       "uses every layer and that gradients reach them" % (name, n, loss, 0.5 * chance))
