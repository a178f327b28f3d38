"""Public checks of cnn/layers.py (part 1, NumPy only): every layer's forward and backward.

Inputs and expected values are fixtures (tests/fixtures/), computed once by the
instructor's oracle; the hidden tests run the same checks on new random inputs.
The finite-difference check needs no oracle: it differentiates your own forward pass.
"""
import numpy as np
import pytest

from a2_feedback import expect_named_shape, expect_value, gradient
from autograder import Feedback, expect_close, expect_grad_close, expect_scalar, graded, sandbox
from autograder.fixtures import public_case, public_params
from autograder.properties import numerical_gradient_from, perturbations

L = "cnn.layers"
TOL = {"rtol": 1e-6, "atol": 1e-9}
PADDING_LEFT_IN_DX = "dx still includes the padding: crop p rows and columns from each side of the padded gradient"
#: forward calls per probe call in the finite-difference check
CHUNK = 256


def _padded_shape(x, padding):
    """The shape of x once padded by ``padding`` on each side of H and W (a dx that kept the padding)."""
    n, c, h, w = np.shape(x)
    return (n, c, h + 2 * padding, w + 2 * padding)


def check_conv_forward(c, _=None):
    got = sandbox.call("a2_probes:layer_forward", "Conv2D", c["kwargs"], c["params"], c["x"])
    expect_close(got, c["expected"], name=L + ".Conv2D.forward", misconceptions=c["misconceptions"],
                 hint="H_out = (H + 2 * padding - kernel_size) // stride + 1", **TOL)


def check_conv_backward(c, _=None, name=L + ".Conv2D.backward"):
    out = sandbox.call("a2_probes:layer_forward_backward", "Conv2D", c["kwargs"], c["params"], c["x"], c["dout"])
    n, f, ho, wo = np.shape(c["dout"])
    expect_named_shape(gradient(out, "dx", name), np.shape(c["dx"]), name=name, what="gradient dx",
                       wrong={_padded_shape(c["x"], c["kwargs"]["padding"]): PADDING_LEFT_IN_DX})
    wrong = c["misconceptions"]
    expect_grad_close(out["dx"], c["dx"], name=name, wrt="x", misconceptions=wrong["dx"], **TOL)
    expect_grad_close(gradient(out, "dw", name), c["dw"], name=name, wrt="weight (dw)", misconceptions=wrong["dw"],
                      **TOL)
    expect_value(gradient(out, "db", name), c["db"], name=name, what="gradient db", wrong={
        (f, ho, wo): "db must be summed over N, H_out and W_out (you summed over N only)",
        (n, f): "db must be summed over N, H_out and W_out (you summed over H_out and W_out only)",
        (f, wo): "db must be summed over N, H_out and W_out", (f, ho): "db must be summed over N, H_out and W_out"},
        misconceptions=wrong["db"], **TOL)


def _forwards(kind, kwargs, runs, name):
    """The student's forward output for each (params, x) in ``runs``, in probe calls of at most CHUNK runs."""
    outs = []
    for start in range(0, len(runs), CHUNK):
        got = sandbox.call("a2_probes:layer_forwards", kind, kwargs, runs[start:start + CHUNK])
        if not isinstance(got, list) or len(got) != len(runs[start:start + CHUNK]):
            raise Feedback("%s: expected one output per forward call" % name)
        outs += got
    return outs


def check_conv_finite_differences(c, _=None):
    name = L + ".Conv2D.backward"
    kwargs, params, x, dout = c["kwargs"], c["params"], c["x"], c["dout"]
    out = sandbox.call("a2_probes:layer_forward_backward", "Conv2D", kwargs, params, x, dout)
    padded = {_padded_shape(x, kwargs["padding"]): PADDING_LEFT_IN_DX}
    # the objective sum(forward(x) * dout) of your own forward, at x (or the weight) moved by +/- eps
    tries = {"dx": [(params, moved) for moved, _ in perturbations(x)],
             "dw": [(moved, x) for moved, _ in perturbations(params, "weight")]}
    for key, shape in (("dx", np.shape(x)), ("dw", np.shape(params["weight"]))):
        got = expect_named_shape(gradient(out, key, name), shape, name=name, what="gradient " + key,
                                 wrong=padded if key == "dx" else None)
        outputs = _forwards("Conv2D", kwargs, tries[key], L + ".Conv2D.forward")
        for value in outputs:
            if np.shape(value) != np.shape(dout):
                raise Feedback("%s: forward returned shape %s, expected %s"
                               % (L + ".Conv2D.forward", np.shape(value), np.shape(dout)))
        objectives = [float(np.sum(np.asarray(value, dtype=np.float64) * dout)) for value in outputs]
        numeric = numerical_gradient_from(objectives, shape)
        expect_grad_close(got, numeric, name=name, wrt=key[1:], rtol=1e-5, atol=1e-6,
                          hint="the numerical gradient differentiates the output your forward returns; "
                               "the two must agree")


def check_maxpool_forward(c, _=None):
    got = sandbox.call("a2_probes:layer_forward", "MaxPool2D", c["kwargs"], {}, c["x"])
    expect_close(got, c["expected"], name=L + ".MaxPool2D.forward", misconceptions=c["misconceptions"],
                 hint="H_out = (H - kernel_size) // stride + 1", **TOL)


def check_maxpool_backward(c, _=None):
    out = sandbox.call("a2_probes:layer_forward_backward", "MaxPool2D", c["kwargs"], {}, c["x"], c["dout"])
    name = L + ".MaxPool2D.backward"
    expect_grad_close(gradient(out, "dx", name), c["expected"], name=name, wrt="x",
                      misconceptions=c["misconceptions"], **TOL)


def check_linear(c, _=None):
    out = sandbox.call("a2_probes:layer_forward_backward", "Linear", c["kwargs"], c["params"], c["x"], c["dout"])
    n, d_in, m = np.shape(c["x"])[0], c["kwargs"]["in_features"], c["kwargs"]["out_features"]
    expect_close(out["out"], c["out"], name=L + ".Linear.forward", **TOL)
    name = L + ".Linear.backward"
    expect_value(gradient(out, "dx", name), c["dx"], name=name, what="gradient dx", wrong={
        (n, d_in): "dx must have the shape of the layer's input (N, C, H, W): reshape dout @ weight.T back "
                   "to x's shape"}, **TOL)
    expect_value(gradient(out, "dw", name), c["dw"], name=name, what="gradient dw", wrong={
        (m, d_in): "dw has the shape of weight transposed: dw = x_flat.T @ dout, shape (D, M)"}, **TOL)
    expect_value(gradient(out, "db", name), c["db"], name=name, what="gradient db", **TOL)


def check_relu(c, _=None):
    out = sandbox.call("a2_probes:layer_forward_backward", "ReLU", {}, {}, c["x"], c["dout"])
    expect_close(out["out"], c["out"], name=L + ".ReLU.forward", **TOL)
    name = L + ".ReLU.backward"
    expect_grad_close(gradient(out, "dx", name), c["dx"], name=name, wrt="x", misconceptions=c["misconceptions"],
                      **TOL)


def check_softmax_cross_entropy(c, _=None):
    out = sandbox.call("a2_probes:loss_forward_backward", c["scores"], c["y"])
    name = L + ".SoftmaxCrossEntropy"
    expect_close(out["probs"], c["probs"], name=name + ".forward", what="probabilities",
                 hint="subtract each row's maximum before np.exp", **TOL)
    expect_scalar(out["loss"], c["loss"], name=name + ".forward", what="loss",
                  misconceptions=c["misconceptions"]["loss"], **TOL)
    expect_grad_close(gradient(out, "dx", name + ".backward"), c["dx"], name=name + ".backward", wrt="scores",
                      misconceptions=c["misconceptions"]["dx"], **TOL)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"conv_forward": check_conv_forward, "conv_backward": check_conv_backward,
          "conv_finite_differences": check_conv_finite_differences, "maxpool_forward": check_maxpool_forward,
          "maxpool_backward": check_maxpool_backward, "linear": check_linear, "relu": check_relu,
          "softmax_cross_entropy": check_softmax_cross_entropy}


@pytest.mark.parametrize("case", public_params("conv_forward"))
@graded(points=4)
def test_conv_forward(case):
    """Conv2D.forward cross-correlates the padded input with every filter, with stride"""
    check_conv_forward(public_case("conv_forward", case), case)


@pytest.mark.parametrize("case", public_params("conv_backward"))
@graded(points=5)
def test_conv_backward(case):
    """Conv2D.backward gives dx, dw and db equal to the convolution's gradients (checked against autograd)"""
    check_conv_backward(public_case("conv_backward", case), case)


@graded(points=2)
def test_conv_finite_differences():
    """Conv2D.backward agrees with central finite differences of your own forward pass"""
    check_conv_finite_differences(public_case("conv_finite_differences"))


@pytest.mark.parametrize("case", public_params("maxpool_forward"))
@graded(points=2)
def test_maxpool_forward(case):
    """MaxPool2D.forward takes the maximum of every k x k window, with stride"""
    check_maxpool_forward(public_case("maxpool_forward", case), case)


@pytest.mark.parametrize("case", public_params("maxpool_backward"))
@graded(points=3)
def test_maxpool_backward(case):
    """MaxPool2D.backward routes each gradient to its window's first maximum, adding where windows overlap"""
    check_maxpool_backward(public_case("maxpool_backward", case), case)


@graded(points=2)
def test_linear():
    """Linear flattens its (N, C, H, W) input: out = x_flat @ weight + bias; dx keeps x's shape"""
    check_linear(public_case("linear"))


@graded(points=1)
def test_relu():
    """ReLU passes positive inputs forward and gradients only where the input was positive"""
    check_relu(public_case("relu"))


@graded(points=2)
def test_softmax_cross_entropy():
    """SoftmaxCrossEntropy returns the probabilities and the mean loss; dx = (probs - one_hot(y)) / N"""
    check_softmax_cross_entropy(public_case("softmax_cross_entropy"))
