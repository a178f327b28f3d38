"""Public checks of cnn/models.py (part 2, PyTorch in the worker): architectures and outputs.

The worker builds your model, reports the shapes of its parameters, copies the
fixture's parameters into the ones of matching shape (float64) and runs it on the
fixture's input; the harness checks the architecture from the shapes and compares
the scores with the expected ones (the instructor's oracle on the same parameters).
The hidden tests run the same checks on new random inputs.
"""
import numpy as np

from autograder import Feedback, expect_close, expect_finite, expect_shape, graded, sandbox
from autograder.fixtures import public_case

M = "cnn.models"
TOL = {"rtol": 1e-7, "atol": 1e-9}


def check_shapes(named, shapes, name, advice=None):
    """Fail with a message listing the model's parameters when one of ``shapes`` is missing or repeated."""
    have = [tuple(int(s) for s in shape) for _, shape in named]
    missing = [tuple(s) for s in shapes if have.count(tuple(s)) != 1]
    if missing:
        listed = ", ".join("%s %s" % (n, tuple(int(s) for s in shape)) for n, shape in named) or "none"
        msg = "%s: expected parameters of shapes %s; your model has: %s" % (
            name, ", ".join(str(tuple(s)) for s in shapes), listed)
        for shape, cause in (advice or {}).items():
            if shape in have:
                msg += "\n  Likely cause: " + cause
                break
        raise Feedback(msg)


def _run(class_name, c):
    return sandbox.call("a2_probes:model_forward_loaded", class_name, c["kwargs"], c["seed"], c["params"], c["x"])


def check_two_layer_net(c, _=None):
    name = M + ".TwoLayerNet"
    out = _run("TwoLayerNet", c)
    check_shapes(out["shapes"], [np.shape(p) for p in c["params"]], name)
    expect_close(out["scores"], c["expected"], name=name + ".forward", what="scores",
                 misconceptions=c["misconceptions"], **TOL)


def check_vanilla_cnn(c, _=None):
    name = M + ".VanillaCNN"
    kw = c["kwargs"]
    k, conv_side = kw["num_classes"], kw["image_size"] - 7 + 1
    out = _run("VanillaCNN", c)
    check_shapes(out["shapes"], [np.shape(p) for p in c["params"]], name, advice={
        (k, 32 * conv_side * conv_side): "the linear layer takes the convolution's output: the 2x2 max-pool "
                                          "(stride 2) is missing",
        (32, kw["in_channels"], 3, 3): "the convolution must be 7x7"})
    expect_close(out["scores"], c["expected"], name=name + ".forward", what="scores",
                 misconceptions=c["misconceptions"],
                 hint="conv (stride 1, no padding) -> ReLU -> MaxPool2d(2, 2) -> flatten -> linear", **TOL)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"two_layer_net": check_two_layer_net, "vanilla_cnn": check_vanilla_cnn}


@graded(points=2)
def test_two_layer_net():
    """TwoLayerNet is flatten -> Linear(D, H) -> sigmoid -> Linear(H, K)"""
    check_two_layer_net(public_case("two_layer_net"))


@graded(points=3)
def test_vanilla_cnn():
    """VanillaCNN is conv 7x7 (32 filters) -> ReLU -> 2x2 max-pool -> linear, on any square image size"""
    check_vanilla_cnn(public_case("vanilla_cnn"))


@graded(points=1)
def test_my_model_shapes(rng, seed):
    """MyModel() maps a batch of 3x32x32 images to 10 finite class scores"""
    x = rng.normal(size=(4, 3, 32, 32)).astype(np.float32)
    out = sandbox.call("a2_probes:model_forward", "MyModel", {}, seed % 10000, x)
    name = M + ".MyModel.forward"
    expect_finite(expect_shape(out["scores"], (4, 10), name=name, what="scores"), name=name, what="scores")
    n_params = sum(int(np.prod(shape)) for _, shape in out["shapes"])  # counted here, from the raw shapes
    if n_params > 20_000_000:
        raise Feedback("%s: the model has %d parameters; keep it under 20 million" % (M + ".MyModel", n_params))
