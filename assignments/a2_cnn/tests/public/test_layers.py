"""Public checks of cnn/layers.py (part 1, NumPy only): every layer's forward and backward."""
import numpy as np
import pytest

import oracles
from a2_feedback import expect_named_shape, expect_value, gradient
from autograder import expect_close, expect_grad_close, expect_scalar, graded, sandbox

L = "cnn.layers"
TOL = {"rtol": 1e-6, "atol": 1e-9}
PADDING_LEFT_IN_DX = "dx still includes the padding: crop p rows and columns from each side of the padded gradient"

CONV_CASES = {
    "3x3, stride 1, padding 1": dict(n=2, c=3, h=7, w=6, f=4, k=3, s=1, p=1),
    "non-square 9x7, stride 2, padding 1": dict(n=2, c=2, h=9, w=7, f=3, k=3, s=2, p=1),
    "5x5, padding 2": dict(n=1, c=2, h=6, w=8, f=3, k=5, s=1, p=2),
    "2x2, stride 2, no padding": dict(n=3, c=3, h=8, w=6, f=2, k=2, s=2, p=0),
}


def conv_problem(rng, case):
    d = CONV_CASES[case]
    x = rng.normal(size=(d["n"], d["c"], d["h"], d["w"]))
    params = {"weight": rng.normal(size=(d["f"], d["c"], d["k"], d["k"])), "bias": rng.normal(size=d["f"])}
    kwargs = {"in_channels": d["c"], "out_channels": d["f"], "kernel_size": d["k"], "stride": d["s"],
              "padding": d["p"]}
    ho, wo = oracles.out_size(d["h"], d["k"], d["s"], d["p"]), oracles.out_size(d["w"], d["k"], d["s"], d["p"])
    dout = rng.normal(size=(d["n"], d["f"], ho, wo))
    return d, x, params, kwargs, dout


def conv_forward_misconceptions(x, params, d):
    return {
        "you flipped the kernel (a true convolution); deep-learning layers compute the cross-correlation, "
        "weight[f, c, a, b] * xpad[n, c, i*s + a, j*s + b] without flipping":
            oracles.conv_forward(x, params["weight"], params["bias"], d["s"], d["p"], flip=True),
        "the bias is missing: add bias[f] to every output of filter f":
            oracles.conv_forward(x, params["weight"], np.zeros(d["f"]), d["s"], d["p"]),
    }


def check_conv_backward(out, x, params, d, dout, name=L + ".Conv2D.backward"):
    dx, dw, db, dxp = oracles.conv_backward(x, params["weight"], d["s"], d["p"], dout)
    n, f = d["n"], d["f"]
    ho, wo = dout.shape[2:]
    expect_named_shape(gradient(out, "dx", name), dx.shape, name=name, what="gradient dx",
                       wrong={dxp.shape: PADDING_LEFT_IN_DX})
    wrong = {}
    if d["s"] > 1:
        wrong["dx scatters with step 1: in the padded gradient, window (i, j) starts at (i * stride, j * stride)"] = \
            oracles.conv_backward(x, params["weight"], d["s"], d["p"], dout, dx_step_one=True)[0]
    expect_grad_close(out["dx"], dx, name=name, wrt="x", misconceptions=wrong, **TOL)
    expect_grad_close(gradient(out, "dw", name), dw, name=name, wrt="weight (dw)", misconceptions={
        "dw is divided by the batch size N: the upstream gradient already carries the mean, sum over the batch":
            dw / n}, **TOL)
    expect_value(gradient(out, "db", name), db, name=name, what="gradient db", wrong={
        (f, ho, wo): "db must be summed over N, H_out and W_out (you summed over N only)",
        (n, f): "db must be summed over N, H_out and W_out (you summed over H_out and W_out only)",
        (f, wo): "db must be summed over N, H_out and W_out", (f, ho): "db must be summed over N, H_out and W_out"},
        misconceptions={"db is averaged instead of summed over N, H_out and W_out": db / (n * ho * wo),
                        "db is averaged over the batch instead of summed": db / n}, **TOL)


@pytest.mark.parametrize("case", list(CONV_CASES))
@graded(points=4)
def test_conv_forward(rng, case):
    """Conv2D.forward cross-correlates the padded input with every filter, with stride"""
    d, x, params, kwargs, _ = conv_problem(rng, case)
    got = sandbox.call("a2_probes:layer_forward", "Conv2D", kwargs, params, x)
    expect_close(got, oracles.conv_forward(x, params["weight"], params["bias"], d["s"], d["p"]),
                 name=L + ".Conv2D.forward", misconceptions=conv_forward_misconceptions(x, params, d),
                 hint="H_out = (H + 2 * padding - kernel_size) // stride + 1", **TOL)


@pytest.mark.parametrize("case", list(CONV_CASES))
@graded(points=5)
def test_conv_backward(rng, case):
    """Conv2D.backward gives dx, dw and db equal to the convolution's gradients (checked against autograd)"""
    d, x, params, kwargs, dout = conv_problem(rng, case)
    out = sandbox.call("a2_probes:layer_forward_backward", "Conv2D", kwargs, params, x, dout)
    check_conv_backward(out, x, params, d, dout)


@graded(points=2)
def test_conv_finite_differences(rng):
    """Conv2D.backward agrees with central finite differences of the forward pass"""
    d, x, params, kwargs, dout = conv_problem(rng, "non-square 9x7, stride 2, padding 1")
    out = sandbox.call("a2_probes:layer_forward_backward", "Conv2D", kwargs, params, x, dout)
    w, b = params["weight"].copy(), params["bias"]
    objective = lambda: float(np.sum(oracles.conv_forward(x, w, b, d["s"], d["p"]) * dout))  # noqa: E731
    name = L + ".Conv2D.backward"
    p = d["p"]
    padded = {(d["n"], d["c"], d["h"] + 2 * p, d["w"] + 2 * p): PADDING_LEFT_IN_DX}
    for key, arr in (("dx", x), ("dw", w)):
        numeric = oracles.numerical_gradient(objective, arr)
        got = expect_named_shape(gradient(out, key, name), numeric.shape, name=name, what="gradient " + key,
                                 wrong=padded if key == "dx" else None)
        expect_grad_close(got, numeric, name=name, wrt=key[1:], rtol=1e-5, atol=1e-6)


POOL_CASES = {
    "2x2, stride 2": dict(n=2, c=3, h=8, w=8, k=2, s=2),
    "3x3, stride 2 (overlapping windows)": dict(n=2, c=2, h=7, w=7, k=3, s=2),
    "non-square 9x6, 2x2, stride 2": dict(n=2, c=2, h=9, w=6, k=2, s=2),
    "3x3, stride 1": dict(n=1, c=2, h=6, w=6, k=3, s=1),
}


def pool_problem(rng, case, ties=True):
    d = POOL_CASES[case]
    shape = (d["n"], d["c"], d["h"], d["w"])
    x = oracles.tied_input(rng, shape) if ties else rng.normal(size=shape)
    ho, wo = (d["h"] - d["k"]) // d["s"] + 1, (d["w"] - d["k"]) // d["s"] + 1
    return d, x, {"kernel_size": d["k"], "stride": d["s"]}, rng.normal(size=(d["n"], d["c"], ho, wo))


def avg_pool(x, k, s):
    n, c, h, w = x.shape
    ho, wo = (h - k) // s + 1, (w - k) // s + 1
    return np.array([[x[:, :, i * s:i * s + k, j * s:j * s + k].mean(axis=(2, 3)) for j in range(wo)]
                     for i in range(ho)]).transpose(2, 3, 0, 1)


@pytest.mark.parametrize("case", list(POOL_CASES))
@graded(points=2)
def test_maxpool_forward(rng, case):
    """MaxPool2D.forward takes the maximum of every k x k window, with stride"""
    d, x, kwargs, _ = pool_problem(rng, case, ties=False)
    got = sandbox.call("a2_probes:layer_forward", "MaxPool2D", kwargs, {}, x)
    expect_close(got, oracles.maxpool_forward(x, d["k"], d["s"]), name=L + ".MaxPool2D.forward", misconceptions={
        "you averaged each window (average pooling); take the maximum": avg_pool(x, d["k"], d["s"])},
        hint="H_out = (H - kernel_size) // stride + 1", **TOL)


def pool_backward_misconceptions(x, d, dout):
    return {
        "the gradient went to every tied maximum of a window; send it to the first maximum only "
        "(row-major order, as PyTorch does), so the gradients sum to dout's":
            oracles.maxpool_backward(x, d["k"], d["s"], dout, ties="all"),
        "the gradient landed at the mirrored position inside the window: the row and column offsets of the "
        "maximum are swapped": oracles.maxpool_backward(x, d["k"], d["s"], dout, ties="transposed"),
    }


@pytest.mark.parametrize("case", list(POOL_CASES))
@graded(points=3)
def test_maxpool_backward(rng, case):
    """MaxPool2D.backward routes each gradient to its window's first maximum, adding where windows overlap"""
    d, x, kwargs, dout = pool_problem(rng, case, ties=True)
    out = sandbox.call("a2_probes:layer_forward_backward", "MaxPool2D", kwargs, {}, x, dout)
    name = L + ".MaxPool2D.backward"
    expect_grad_close(gradient(out, "dx", name), oracles.maxpool_backward(x, d["k"], d["s"], dout), name=name,
                      wrt="x", misconceptions=pool_backward_misconceptions(x, d, dout), **TOL)


@graded(points=2)
def test_linear(rng):
    """Linear flattens its (N, C, H, W) input: out = x_flat @ weight + bias; dx keeps x's shape"""
    n, c, h, w, m = 4, 2, 3, 2, 5
    x = rng.normal(size=(n, c, h, w))
    params = {"weight": rng.normal(size=(c * h * w, m)), "bias": rng.normal(size=m)}
    dout = rng.normal(size=(n, m))
    out = sandbox.call("a2_probes:layer_forward_backward", "Linear", {"in_features": c * h * w, "out_features": m},
                       params, x, dout)
    expect_close(out["out"], oracles.linear_forward(x, params["weight"], params["bias"]),
                 name=L + ".Linear.forward", **TOL)
    dx, dw, db = oracles.linear_backward(x, params["weight"], dout)
    name = L + ".Linear.backward"
    expect_value(gradient(out, "dx", name), dx, name=name, what="gradient dx", wrong={
        (n, c * h * w): "dx must have the shape of the layer's input (N, C, H, W): reshape dout @ weight.T back "
                        "to x's shape"}, **TOL)
    expect_value(gradient(out, "dw", name), dw, name=name, what="gradient dw", wrong={
        (m, c * h * w): "dw has the shape of weight transposed: dw = x_flat.T @ dout, shape (D, M)"}, **TOL)
    expect_value(gradient(out, "db", name), db, name=name, what="gradient db", **TOL)


@graded(points=1)
def test_relu(rng):
    """ReLU passes positive inputs forward and gradients only where the input was positive"""
    x = rng.normal(size=(3, 2, 4, 4))
    dout = rng.normal(size=x.shape)
    out = sandbox.call("a2_probes:layer_forward_backward", "ReLU", {}, {}, x, dout)
    expect_close(out["out"], oracles.relu(x), name=L + ".ReLU.forward", **TOL)
    name = L + ".ReLU.backward"
    expect_grad_close(gradient(out, "dx", name), dout * (x > 0), name=name, wrt="x", misconceptions={
        "the mask comes from dout; it must come from the forward input x (kept in the cache): dx = dout * (x > 0)":
            dout * (dout > 0),
        "dx is the mask alone: multiply the mask (x > 0) by dout": (x > 0).astype(float)}, **TOL)


@graded(points=2)
def test_softmax_cross_entropy(rng):
    """SoftmaxCrossEntropy returns the probabilities and the mean loss; dx = (probs - one_hot(y)) / N"""
    n, k = 7, 4
    scores = rng.normal(scale=3.0, size=(n, k))
    scores[0] += 800.0  # large scores: subtract each row's maximum
    y = rng.integers(0, k, size=n)
    out = sandbox.call("a2_probes:loss_forward_backward", scores, y)
    probs, loss, dx = oracles.softmax_cross_entropy(scores, y)
    name = L + ".SoftmaxCrossEntropy"
    expect_close(out["probs"], probs, name=name + ".forward", what="probabilities",
                 hint="subtract each row's maximum before np.exp", **TOL)
    expect_scalar(out["loss"], loss, name=name + ".forward", what="loss", misconceptions={
        "the loss is summed over the batch instead of averaged": loss * n}, **TOL)
    expect_grad_close(gradient(out, "dx", name + ".backward"), dx, name=name + ".backward", wrt="scores",
                      misconceptions={"dx is N times too large: divide (probs - one_hot(y)) by the batch size N":
                                      dx * n}, **TOL)
