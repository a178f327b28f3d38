"""Public checks of cnn/models.py (part 2, PyTorch in the worker): architectures and outputs.

The worker builds the student's model with a seed and reports its parameters and its
scores; the harness recomputes the scores from those parameters (NumPy), so the
architecture and the forward pass are both checked.
"""
import numpy as np

import oracles
from autograder import Feedback, expect_close, expect_finite, expect_shape, graded, sandbox

M = "cnn.models"
TOL = {"rtol": 1e-7, "atol": 1e-9}


def pick(named, shapes, name, advice=None):
    """The parameters of the expected shapes, or a message listing what the model has instead."""
    found = oracles.params_by_shape(named, shapes)
    missing = [s for s, v in found.items() if v is None]
    if missing:
        have = ", ".join("%s %s" % (n, tuple(np.shape(a))) for n, a in named) or "none"
        msg = "%s: expected parameters of shapes %s; your model has: %s" % (
            name, ", ".join(str(s) for s in shapes), have)
        for shape, cause in (advice or {}).items():
            if any(tuple(np.shape(a)) == shape for _, a in named):
                msg += "\n  Likely cause: " + cause
                break
        raise Feedback(msg)
    return [found[tuple(s)] for s in shapes]


@graded(points=2)
def test_two_layer_net(rng, seed):
    """TwoLayerNet is flatten -> Linear(D, H) -> sigmoid -> Linear(H, K)"""
    n, c, h, w, hidden, k = 5, 2, 4, 5, 7, 3
    x = rng.normal(size=(n, c, h, w))
    d = c * h * w
    out = sandbox.call("a2_probes:model_forward_double", "TwoLayerNet",
                       {"input_dim": d, "hidden_size": hidden, "num_classes": k}, seed % 10000, x)
    name = M + ".TwoLayerNet"
    w1, b1, w2, b2 = pick(out["params"], [(hidden, d), (hidden,), (k, hidden), (k,)], name)
    expect_close(out["scores"], oracles.two_layer_forward(x, w1, b1, w2, b2), name=name + ".forward",
                 what="scores", misconceptions={
                     "you used ReLU between the layers; TwoLayerNet uses a sigmoid":
                         oracles.two_layer_forward(x, w1, b1, w2, b2, act=oracles.relu),
                     "there is no activation between the two linear layers":
                         oracles.two_layer_forward(x, w1, b1, w2, b2, act=lambda z: z),
                     "you applied softmax to the scores; return raw scores (the loss applies the softmax)":
                         np.exp(oracles.log_softmax(oracles.two_layer_forward(x, w1, b1, w2, b2)))}, **TOL)


@graded(points=3)
def test_vanilla_cnn(rng, seed):
    """VanillaCNN is conv 7x7 (32 filters) -> ReLU -> 2x2 max-pool -> linear, on any square image size"""
    n, c, size, k = 3, 2, 16, 5
    x = rng.normal(size=(n, c, size, size))
    out = sandbox.call("a2_probes:model_forward_double", "VanillaCNN",
                       {"in_channels": c, "num_classes": k, "image_size": size}, seed % 10000, x)
    name = M + ".VanillaCNN"
    conv_side = size - 7 + 1
    side = conv_side // 2
    cw, cb, fw, fb = pick(out["params"], [(32, c, 7, 7), (32,), (k, 32 * side * side), (k,)], name, advice={
        (k, 32 * conv_side * conv_side): "the linear layer takes the convolution's output: the 2x2 max-pool "
                                          "(stride 2) is missing",
        (32, c, 3, 3): "the convolution must be 7x7"})
    expect_close(out["scores"], oracles.vanilla_cnn_forward(x, cw, cb, fw, fb), name=name + ".forward",
                 what="scores", misconceptions={
                     "the ReLU is missing after the convolution":
                         oracles.vanilla_cnn_forward(x, cw, cb, fw, fb, use_relu=False)},
                 hint="conv (stride 1, no padding) -> ReLU -> MaxPool2d(2, 2) -> flatten -> linear", **TOL)


@graded(points=1)
def test_my_model_shapes(rng, seed):
    """MyModel() maps a batch of 3x32x32 images to 10 finite class scores"""
    x = rng.normal(size=(4, 3, 32, 32)).astype(np.float32)
    out = sandbox.call("a2_probes:model_forward", "MyModel", {}, seed % 10000, x)
    name = M + ".MyModel.forward"
    expect_finite(expect_shape(out["scores"], (4, 10), name=name, what="scores"), name=name, what="scores")
    if out["n_params"] > 20_000_000:
        raise Feedback("%s: the model has %d parameters; keep it under 20 million" % (M + ".MyModel", out["n_params"]))
