"""Public checks of cnn/layers.py (part 1, NumPy only): every layer's forward and backward.

Inputs and expected values are fixtures (tests/fixtures/), computed once by the
instructor's oracle; the hidden tests run the same checks on new random inputs.
The finite-difference check needs no oracle: it differentiates your own forward pass.
Every input is a float64 NumPy array, and values are compared at float64 precision.
"""
import numpy as np
import pytest

from a2_feedback import (PRECISION, expect_close64, expect_grad64, expect_named_shape, expect_scalar64, expect_value,
                         gradient, precision_level)
from autograder import Feedback, graded, sandbox
from autograder.fixtures import public_case, public_params
from autograder.properties import numerical_gradient_from, perturbations

L = "cnn.layers"
TOL = {"rtol": 1e-6, "atol": 1e-9}
PADDING_LEFT_IN_DX = "dx still includes the padding: crop p rows and columns from each side of the padded gradient"
POOL_OVERLAP_HINT = ("windows overlap in this case (stride < kernel_size): an input position that is the maximum of "
                     "several windows gets the sum of their gradients, so accumulate with +=")
STATE_LEAKS = {
    1: "the first call was right, so something from it leaked into the second: set self.dx, self.dw and self.db "
       "afresh in every backward (=, not += onto the previous call's gradients), and keep in self.cache what the "
       "LATEST forward saw",
    2: "the gradients changed when backward was called a second time: backward must not add to the previous "
       "gradients or change the cache in place",
}
TIE_HINT = ("these inputs have tied maxima: where a window holds several equal maxima, the gradient goes to the "
            "first one in row-major order (top row first, left to right), as the docstring says; if the tie-free "
            "test passes, your routing is right and only the tie rule differs")
#: forward calls per probe call in the finite-difference check
CHUNK = 256


def _padded_shape(x, padding):
    """The shape of x once padded by ``padding`` on each side of H and W (a dx that kept the padding)."""
    n, c, h, w = np.shape(x)
    return (n, c, h + 2 * padding, w + 2 * padding)


def check_conv_forward(c, _=None):
    got = sandbox.call("a2_probes:layer_forward", "Conv2D", c["kwargs"], c["params"], c["x"])
    name = L + ".Conv2D.forward"
    expect_named_shape(got, np.shape(c["expected"]), name=name, what="output",
                       hint="H_out = (H + 2 * padding - kernel_size) // stride + 1 (the same for W_out)")
    expect_close64(got, c["expected"], name=name, misconceptions=c["misconceptions"], **TOL)


def check_conv_backward(c, _=None, name=L + ".Conv2D.backward"):
    out = sandbox.call("a2_probes:layer_forward_backward", "Conv2D", c["kwargs"], c["params"], c["x"], c["dout"])
    n, f, ho, wo = np.shape(c["dout"])
    expect_named_shape(gradient(out, "dx", name), np.shape(c["dx"]), name=name, what="gradient dx",
                       wrong={_padded_shape(c["x"], c["kwargs"]["padding"]): PADDING_LEFT_IN_DX})
    wrong = c["misconceptions"]
    expect_grad64(out["dx"], c["dx"], name=name, wrt="x", misconceptions=wrong["dx"], **TOL)
    expect_grad64(gradient(out, "dw", name), c["dw"], name=name, wrt="weight (dw)", misconceptions=wrong["dw"],
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
    if precision_level(out.get("out"), c["out"]) and not precision_level(out.get("out"), c["out"], rel=1e-12):
        # finite differences of a forward computed in float32 are rounding noise: say so, not "wrong gradient"
        raise Feedback("%s: your forward output is correct only to float32 precision, so its finite differences "
                       "(steps of 1e-6) are rounding noise and cannot check backward\n  Likely cause: %s"
                       % (L + ".Conv2D.forward", PRECISION))
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
        expect_grad64(got, numeric, name=name, wrt=key[1:], rtol=1e-5, atol=1e-6,
                      hint="the numerical gradient differentiates the output your forward returns; "
                           "the two must agree")


def check_maxpool_forward(c, _=None):
    got = sandbox.call("a2_probes:layer_forward", "MaxPool2D", c["kwargs"], {}, c["x"])
    name = L + ".MaxPool2D.forward"
    expect_named_shape(got, np.shape(c["expected"]), name=name, what="output",
                       hint="H_out = (H - kernel_size) // stride + 1 (the same for W_out)")
    expect_close64(got, c["expected"], name=name, misconceptions=c["misconceptions"], **TOL)


def check_maxpool_backward(c, _=None):
    """Tie-free inputs: the routing (and, where windows overlap, the accumulation)."""
    out = sandbox.call("a2_probes:layer_forward_backward", "MaxPool2D", c["kwargs"], {}, c["x"], c["dout"])
    name = L + ".MaxPool2D.backward"
    expect_grad64(gradient(out, "dx", name), c["expected"], name=name, wrt="x", misconceptions=c["misconceptions"],
                  hint=POOL_OVERLAP_HINT if c["overlap"] else None, **TOL)


def check_maxpool_backward_ties(c, _=None):
    """Inputs with tied maxima: the docstring's tie rule (the first maximum in row-major order)."""
    out = sandbox.call("a2_probes:layer_forward_backward", "MaxPool2D", c["kwargs"], {}, c["x"], c["dout"])
    name = L + ".MaxPool2D.backward"
    expect_grad64(gradient(out, "dx", name), c["expected"], name=name, wrt="x", misconceptions=c["misconceptions"],
                  hint=TIE_HINT, **TOL)


def check_linear(c, _=None):
    out = sandbox.call("a2_probes:layer_forward_backward", "Linear", c["kwargs"], c["params"], c["x"], c["dout"])
    n, d_in, m = np.shape(c["x"])[0], c["kwargs"]["in_features"], c["kwargs"]["out_features"]
    expect_close64(out["out"], c["out"], name=L + ".Linear.forward", **TOL)
    name = L + ".Linear.backward"
    wrong = {(n, d_in): "dx must have the shape of the layer's input (N, C, H, W): reshape dout @ weight.T back "
                        "to x's shape"} if np.ndim(c["x"]) > 2 else {}
    expect_value(gradient(out, "dx", name), c["dx"], name=name, what="gradient dx", wrong=wrong, **TOL)
    expect_value(gradient(out, "dw", name), c["dw"], name=name, what="gradient dw", wrong={
        (m, d_in): "dw has the shape of weight transposed: dw = x_flat.T @ dout, shape (D, M)"}, **TOL)
    expect_value(gradient(out, "db", name), c["db"], name=name, what="gradient db", **TOL)


def check_relu(c, _=None):
    out = sandbox.call("a2_probes:layer_forward_backward", "ReLU", {}, {}, c["x"], c["dout"])
    expect_close64(out["out"], c["out"], name=L + ".ReLU.forward", **TOL)
    name = L + ".ReLU.backward"
    expect_grad64(gradient(out, "dx", name), c["dx"], name=name, wrt="x", misconceptions=c["misconceptions"], **TOL)


def check_softmax_cross_entropy(c, _=None):
    out = sandbox.call("a2_probes:loss_forward_backward", c["scores"], c["y"])
    name = L + ".SoftmaxCrossEntropy"
    expect_unchanged(out["inputs"], [c["scores"], c["y"]], name + ".forward", ["scores x", "labels y"])
    expect_close64(out["probs"], c["probs"], name=name + ".forward", what="probabilities",
                   hint="subtract each row's maximum before np.exp (the first row is near 1000)", **TOL)
    expect_scalar64(out["loss"], c["loss"], name=name + ".forward", what="loss",
                    misconceptions=c["misconceptions"]["loss"], **TOL)
    expect_grad64(gradient(out, "dx", name + ".backward"), c["dx"], name=name + ".backward", wrt="scores",
                  misconceptions=c["misconceptions"]["dx"], **TOL)
    expect_close64(out["probs_after_backward"], c["probs"], name=name + ".backward",
                   what="output of forward (the probabilities), read again after backward",
                   hint="backward changed them in place (dx = probs; dx[...] -= 1 changes probs too): "
                        "start from a copy, dx = probs.copy()", **TOL)


def expect_unchanged(after, before, name, labels):
    """Fail when an input the worker reported after the calls differs from what the test sent."""
    for got, sent, label in zip(after, before, labels):
        if np.shape(got) != np.shape(sent) or not np.array_equal(np.asarray(got), np.asarray(sent)):
            raise Feedback("%s changed its input %s in place; leave inputs unchanged (the docstring's rule) and "
                           "compute on a new array (e.g. shifted = x - x.max(axis=1, keepdims=True), not x -= ...)"
                           % (name, label))


def check_layer_twice(c, _=None):
    """One layer object, two forward/backward calls on different inputs, then backward again.

    The first call is checked in full before the others, so a failure of a later one means that state
    left by an earlier call changed it."""
    kind, runs, expected = c["kind"], c["runs"], c["expected"]
    out = sandbox.call("a2_probes:layer_twice", kind, c["kwargs"], c["params"], runs)
    cls = L + "." + kind
    labels = ["x", "labels y" if kind == "SoftmaxCrossEntropy" else "dout"]
    for i, (sent, after) in enumerate(zip(runs, out["inputs"])):
        expect_unchanged(after, sent, "%s (call %d)" % (cls, i + 1), labels)
    keys = [k for k in ("out", "loss", "dx", "dw", "db") if k in expected[0]]
    calls = ("first forward and backward", "second forward and backward, on new inputs",
             "backward called again after the second forward")
    for i, call in enumerate(out["calls"]):
        want = expected[min(i, 1)]
        for key in keys:
            if key in ("out", "loss") and i == 2:
                continue
            method = "forward" if key in ("out", "loss") else "backward"
            got = call.get(key)
            if got is None:
                raise Feedback("%s.%s: %s was not set after the %s" % (cls, method, key, calls[i]))
            what = {"out": "output", "loss": "loss"}.get(key, "gradient " + key)
            try:
                expect_close64(got, want[key], name="%s.%s" % (cls, method), what="%s after the %s" % (what, calls[i]),
                               **TOL)
            except Feedback as exc:
                if i == 0:
                    raise
                raise Feedback("%s\n  Likely cause: %s" % (exc, STATE_LEAKS[i])) from None


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"conv_forward": check_conv_forward, "conv_backward": check_conv_backward,
          "conv_finite_differences": check_conv_finite_differences, "maxpool_forward": check_maxpool_forward,
          "maxpool_backward": check_maxpool_backward, "maxpool_backward_ties": check_maxpool_backward_ties,
          "linear": check_linear, "relu": check_relu, "softmax_cross_entropy": check_softmax_cross_entropy,
          "layer_twice": check_layer_twice}


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
    """MaxPool2D.backward routes each gradient to its window's maximum (tie-free inputs), adding where windows overlap"""
    check_maxpool_backward(public_case("maxpool_backward", case), case)


@pytest.mark.parametrize("case", public_params("maxpool_backward_ties"))
@graded(points=2)
def test_maxpool_backward_ties(case):
    """MaxPool2D.backward sends the gradient of a window with tied maxima to the first one (row-major order)"""
    check_maxpool_backward_ties(public_case("maxpool_backward_ties", case), case)


@pytest.mark.parametrize("case", public_params("linear"))
@graded(points=2)
def test_linear(case):
    """Linear flattens its input: out = x_flat @ weight + bias; dx keeps x's shape"""
    check_linear(public_case("linear", case), case)


@pytest.mark.parametrize("case", public_params("relu"))
@graded(points=1)
def test_relu(case):
    """ReLU passes positive inputs forward and gradients only where the input was positive"""
    check_relu(public_case("relu", case), case)


@graded(points=2)
def test_softmax_cross_entropy():
    """SoftmaxCrossEntropy returns the probabilities and the mean loss; dx = (probs - one_hot(y)) / N"""
    check_softmax_cross_entropy(public_case("softmax_cross_entropy"))


@pytest.mark.parametrize("case", public_params("layer_twice"))
@graded(points=2)
def test_layers_used_twice(case):
    """One layer object used for two batches (forward, backward, then again, then backward once more) gives a fresh layer's values each time"""
    check_layer_twice(public_case("layer_twice", case), case)
