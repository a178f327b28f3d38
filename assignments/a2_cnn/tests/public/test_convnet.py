"""Public checks of cnn/convnet.py: a whole ConvNet's forward and backward (part 1, NumPy only).

The network, its input and the expected values are fixtures (the instructor's oracle
on fixed inputs); the hidden tests run the same check on new random inputs.
"""
import numpy as np

from a2_feedback import expect_close64, expect_grad64, expect_named_shape, expect_scalar64, gradient
from autograder import Feedback, graded, sandbox
from autograder.fixtures import public_case

C = "cnn.convnet.ConvNet"
TOL = {"rtol": 1e-6, "atol": 1e-9}


def check_convnet_forward_backward(c, _=None):
    spec, x, y = c["spec"], c["x"], c["y"]
    out = sandbox.call("a2_probes:convnet_forward_backward", spec, x, y)
    expect_close64(out["probs"], c["probs"], name=C + ".forward", what="probabilities", **TOL)
    expect_scalar64(out["loss"], c["loss"], name=C + ".forward", what="loss", **TOL)
    grads = c["grads"]
    for i in sorted(grads):
        if not out["grads"].get(i):
            raise Feedback("%s.backward: module %d (%s) has no gradients after backward; backpropagate through every module, the first included"
                           % (C, i, spec[i]["type"]))
        for key in ("dw", "db"):
            name = "%s.backward" % C
            expect_grad64(gradient(out["grads"][i], key, name), grads[i][key], name=name,
                          wrt="%s of module %d (%s)" % (key, i, spec[i]["type"]), **TOL)
    if out["dx"] is None:
        raise Feedback("%s.backward: the first module has no dx; backpropagate through every module" % C)
    n, ch, h, w = np.shape(x)
    pad = spec[0]["kwargs"]["padding"]  # the first module is a Conv2D
    expect_named_shape(out["dx"], np.shape(c["dx"]), name=C + ".backward", what="gradient with respect to the input x",
                       wrong={(n, ch, h + 2 * pad, w + 2 * pad): "the first Conv2D's dx still includes the padding: "
                                                                 "crop it in cnn.layers.Conv2D.backward"})
    expect_grad64(out["dx"], c["dx"], name=C + ".backward", wrt="the input x", **TOL)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"convnet_forward_backward": check_convnet_forward_backward}


@graded(points=3)
def test_convnet_forward_backward():
    """ConvNet runs conv -> relu -> pool -> linear -> softmax cross-entropy and backpropagates to every layer"""
    check_convnet_forward_backward(public_case("convnet_forward_backward"))
