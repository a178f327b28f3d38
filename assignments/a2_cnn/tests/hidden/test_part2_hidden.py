"""Hidden checks of part 2: other losses' settings, 2-D inputs, MyModel learns (all in float32)."""
import numpy as np

import cases
import oracles
from a2_feedback import expect_close32, expect_scalar32
from autograder import Feedback, expect_finite, expect_shape, graded, sandbox

LS = "cnn.losses"


@graded(points=1)
def test_reweight_beta_zero_and_array_input(rng):
    """reweight with beta = 0 gives equal weights; it accepts a tensor and a NumPy array of counts"""
    counts = [int(c) for c in rng.integers(1, 300, size=7)]
    out = sandbox.call("a2_probes:call_reweight", counts, 0.0, "tensor")
    expect_close32(out["weights"], np.ones(7), name=LS + ".reweight", what="class weights for beta = 0",
                   rtol=1e-6, atol=1e-7)
    expected, _ = oracles.reweight(counts, 0.99)
    for as_type in ("tensor", "array"):
        out = sandbox.call("a2_probes:call_reweight", counts, 0.99, as_type)
        expect_close32(out["weights"], expected, name=LS + ".reweight",
                       what="class weights from a %s of counts" % as_type, rtol=1e-3, atol=1e-6)


@graded(points=2)
def test_focal_loss_gamma_3_weighted(rng):
    """FocalLoss with gamma 3 and class weights, on a larger batch"""
    n, k = 40, 10
    logits = cases.f32(rng.normal(scale=3.0, size=(n, k)))
    y = rng.integers(0, k, size=n)
    weight = cases.f32(rng.uniform(0.1, 5.0, size=k))
    out = sandbox.call("a2_probes:focal", logits, y, weight, 3.0)
    name = LS + ".FocalLoss.forward"
    expect_scalar32(out["loss"], oracles.focal_loss(logits, y, weight, 3.0), name=name, what="loss", rtol=1e-5,
                    atol=1e-6)
    numeric = oracles.numerical_gradient_fn(lambda z: oracles.focal_loss(z, y, weight, 3.0), logits)
    if out["grad"] is None:
        raise Feedback("%s: the logits got no gradient" % name)
    expect_close32(out["grad"], numeric, name=name, what="gradient with respect to the logits", rtol=1e-4, atol=1e-6)


@graded(points=1)
def test_two_layer_net_flat_input(rng, seed):
    """TwoLayerNet also takes flat (N, D) inputs"""
    x = cases.f32(rng.normal(size=(6, 9)))
    w1, b1 = cases.f32(rng.uniform(-0.3, 0.3, size=(4, 9))), cases.f32(rng.uniform(-0.3, 0.3, size=4))
    w2, b2 = cases.f32(rng.uniform(-0.5, 0.5, size=(2, 4))), cases.f32(rng.uniform(-0.5, 0.5, size=2))
    out = sandbox.call("a2_probes:model_forward_loaded", "TwoLayerNet",
                       {"input_dim": 9, "hidden_size": 4, "num_classes": 2}, seed % 10000, [w1, b1, w2, b2], x)
    have = sorted(tuple(int(s) for s in shape) for _, shape in out["shapes"])
    if have != sorted([(4, 9), (4,), (2, 4), (2,)]):
        raise Feedback("cnn.models.TwoLayerNet: unexpected parameter shapes %s" % have)
    expect_close32(out["scores"], oracles.two_layer_forward(x, w1, b1, w2, b2), name="cnn.models.TwoLayerNet.forward",
                   what="scores", rtol=1e-4, atol=1e-5)


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
