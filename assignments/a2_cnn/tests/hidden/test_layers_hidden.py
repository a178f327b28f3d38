"""Hidden checks of part 1: other shapes, edge cases, inputs left unchanged."""
import pytest

import oracles
from a2_feedback import expect_close64, expect_grad64, gradient
from autograder import graded, sandbox

L = "cnn.layers"
TOL = {"rtol": 1e-6, "atol": 1e-9}

CASES = {
    "batch of one, stride 3, padding 2": dict(n=1, c=2, h=10, w=11, f=3, k=3, s=3, p=2),
    "kernel as large as the input": dict(n=2, c=3, h=5, w=5, f=2, k=5, s=1, p=0),
    "one input channel, 4x4 stride 2 padding 1": dict(n=2, c=1, h=8, w=10, f=4, k=4, s=2, p=1),
}


@pytest.mark.parametrize("case", list(CASES))
@graded(points=3)
def test_conv_other_shapes(rng, case):
    """Conv2D forward and backward on other shapes, strides and paddings"""
    d = CASES[case]
    x = rng.normal(size=(d["n"], d["c"], d["h"], d["w"]))
    params = {"weight": rng.normal(size=(d["f"], d["c"], d["k"], d["k"])), "bias": rng.normal(size=d["f"])}
    kwargs = {"in_channels": d["c"], "out_channels": d["f"], "kernel_size": d["k"], "stride": d["s"], "padding": d["p"]}
    expected = oracles.conv_forward(x, params["weight"], params["bias"], d["s"], d["p"])
    dout = rng.normal(size=expected.shape)
    out = sandbox.call("a2_probes:layer_forward_backward", "Conv2D", kwargs, params, x, dout)
    expect_close64(out["out"], expected, name=L + ".Conv2D.forward", **TOL)
    dx, dw, db, _ = oracles.conv_backward(x, params["weight"], d["s"], d["p"], dout)
    name = L + ".Conv2D.backward"
    for key, want in (("dx", dx), ("dw", dw), ("db", db)):
        expect_grad64(gradient(out, key, name), want, name=name, wrt=key[1:], **TOL)


@pytest.mark.parametrize("ties", [False, True], ids=["tie-free input", "input with tied maxima"])
@graded(points=2)
def test_maxpool_other_shapes(rng, ties):
    """MaxPool2D with 3x3 windows and stride 3 on a non-square input, without and with ties"""
    shape = (2, 3, 9, 12)
    x = oracles.tied_input(rng, shape, levels=2) if ties else rng.normal(size=shape)
    dout = rng.normal(size=(2, 3, 3, 4))
    out = sandbox.call("a2_probes:layer_forward_backward", "MaxPool2D", {"kernel_size": 3, "stride": 3}, {}, x, dout)
    expect_close64(out["out"], oracles.maxpool_forward(x, 3, 3), name=L + ".MaxPool2D.forward", **TOL)
    name = L + ".MaxPool2D.backward"
    expect_grad64(gradient(out, "dx", name), oracles.maxpool_backward(x, 3, 3, dout), name=name, wrt="x",
                  hint="the first maximum in row-major order takes a window's gradient" if ties else None, **TOL)


@pytest.mark.parametrize("kind", ["Conv2D", "MaxPool2D", "Linear", "ReLU", "SoftmaxCrossEntropy"])
@graded(points=1)
def test_inputs_unchanged(rng, kind):
    """forward and backward leave x and dout (the loss: the scores and labels) unchanged"""
    if kind == "SoftmaxCrossEntropy":
        scores = rng.normal(scale=3.0, size=(5, 4))
        scores[0] += 1000.0
        sandbox.call_pure("a2_probes:loss_forward_backward", scores, rng.integers(0, 4, size=5))
        return
    x = rng.normal(size=(2, 2, 6, 6))
    kwargs, params = {}, {}
    if kind == "Conv2D":
        kwargs = {"in_channels": 2, "out_channels": 3, "kernel_size": 3, "stride": 1, "padding": 1}
        params = {"weight": rng.normal(size=(3, 2, 3, 3)), "bias": rng.normal(size=3)}
        dout = rng.normal(size=(2, 3, 6, 6))
    elif kind == "MaxPool2D":
        kwargs = {"kernel_size": 2, "stride": 2}
        dout = rng.normal(size=(2, 2, 3, 3))
    elif kind == "Linear":
        kwargs = {"in_features": 72, "out_features": 4}
        params = {"weight": rng.normal(size=(72, 4)), "bias": rng.normal(size=4)}
        dout = rng.normal(size=(2, 4))
    else:
        dout = rng.normal(size=x.shape)
    sandbox.call_pure("a2_probes:layer_forward_backward", kind, kwargs, params, x, dout)


@graded(points=2)
def test_momentum_single_parameter_many_steps(rng):
    """SGDMomentum over ten steps with strong momentum and no regularisation"""
    params = [{"weight": rng.normal(size=(5, 3)), "bias": rng.normal(size=3)}]
    grads = [[{"dw": rng.normal(size=(5, 3)), "db": rng.normal(size=3)}] for _ in range(10)]
    got = sandbox.call("a2_probes:sgd_steps", {"learning_rate": 0.01, "reg": 0.0, "momentum": 0.99}, params, grads)
    want = oracles.sgd_momentum_steps(params, grads, 0.01, 0.0, 0.99)
    for key in ("weight", "bias"):
        expect_close64(got[-1][0][key], want[-1][0][key], name="cnn.optim.SGDMomentum.update",
                       what="%s after 10 steps" % key, rtol=1e-9, atol=1e-12)
