"""Public checks of cnn/models.py (part 2, PyTorch in the worker): architectures and outputs.

The worker builds your model, reports the shapes of its parameters, copies the
fixture's parameters into the ones of matching shape and runs it on the fixture's
input, in float32 (PyTorch's default dtype), in evaluation mode and then in training
mode; the harness checks the architecture from the shapes and compares the scores
with the expected ones (the instructor's oracle on the same parameters), with
float32 tolerances. The hidden tests run the same checks on new random inputs.
"""
import numpy as np

from a2_feedback import expect_close32
from autograder import Feedback, expect_finite, expect_shape, graded, sandbox
from autograder.fixtures import public_case

M = "cnn.models"
#: float32 tolerances: the scores are O(1), a float32 forward pass is good to about 1e-6
TOL = {"rtol": 1e-4, "atol": 1e-5}
TRAIN_MODE = ("the scores are right in evaluation mode but not in training mode (model.train(), as during "
              "training): this architecture has no dropout and no batch norm, so both modes compute the same")


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


def check_scores(out, c, name, hint=None):
    """The scores in evaluation mode, then in training mode, against the oracle's."""
    expect_close32(out["scores"], c["expected"], name=name, what="output", misconceptions=c["misconceptions"],
                   hint=hint, **TOL)
    expect_close32(out["scores_train"], c["expected"], name=name, what="output in training mode", hint=TRAIN_MODE,
                   **TOL)


def check_two_layer_net(c, _=None):
    name = M + ".TwoLayerNet"
    out = _run("TwoLayerNet", c)
    check_shapes(out["shapes"], [np.shape(p) for p in c["params"]], name)
    check_scores(out, c, name + ".forward")


def check_vanilla_cnn(c, _=None):
    name = M + ".VanillaCNN"
    kw = c["kwargs"]
    k, conv_side = kw["num_classes"], kw["image_size"] - 7 + 1
    out = _run("VanillaCNN", c)
    check_shapes(out["shapes"], [np.shape(p) for p in c["params"]], name, advice={
        (k, 32 * conv_side * conv_side): "the linear layer takes the convolution's output: the 2x2 max-pool "
                                          "(stride 2) is missing",
        (32, kw["in_channels"], 3, 3): "the convolution must be 7x7"})
    check_scores(out, c, name + ".forward", hint="conv (stride 1, no padding) -> ReLU -> MaxPool2d(2, 2) -> flatten "
                                                  "-> linear")


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
    """MyModel() maps a batch of 3x32x32 images to 10 finite class scores, in both modes; evaluation mode is deterministic"""
    x = rng.normal(size=(4, 3, 32, 32)).astype(np.float32)
    out = sandbox.call("a2_probes:model_forward", "MyModel", {}, seed % 10000, x)
    name = M + ".MyModel.forward"
    for key, what in (("scores", "scores (evaluation mode)"), ("scores_train", "scores in training mode")):
        expect_finite(expect_shape(out[key], (4, 10), name=name, what=what), name=name, what=what)
    first, again = np.asarray(out["scores"], dtype=np.float64), np.asarray(out["scores_again"], dtype=np.float64)
    if np.shape(again) != np.shape(first) or not np.allclose(again, first, rtol=1e-5, atol=1e-6):
        raise Feedback("%s: in evaluation mode (model.eval()) the same images gave different scores on a second call: "
                       "something random is still active, usually dropout applied with F.dropout(x, p), which drops "
                       "in every mode. Use an nn.Dropout module, or F.dropout(x, p, training=self.training)" % name)
    n_params = sum(int(np.prod(shape)) for _, shape in out["shapes"])  # counted here, from the raw shapes
    if n_params > 20_000_000:
        raise Feedback("%s: the model has %d parameters; keep it under 20 million" % (M + ".MyModel", n_params))
