"""Public checks of cnn/convnet.py: a whole ConvNet's forward and backward (part 1, NumPy only)."""

import oracles
from a2_feedback import expect_named_shape, gradient
from autograder import Feedback, expect_close, expect_grad_close, expect_scalar, graded, sandbox

C = "cnn.convnet.ConvNet"
TOL = {"rtol": 1e-6, "atol": 1e-9}


@graded(points=3)
def test_convnet_forward_backward(rng):
    """ConvNet runs conv -> relu -> pool -> linear -> softmax cross-entropy and backpropagates to every layer"""
    spec, x, y = oracles.random_convnet(rng)
    out = sandbox.call("a2_probes:convnet_forward_backward", spec, x, y)
    probs, loss, grads, dx = oracles.convnet_forward_backward(spec, x, y)
    expect_close(out["probs"], probs, name=C + ".forward", what="probabilities", **TOL)
    expect_scalar(out["loss"], loss, name=C + ".forward", what="loss", **TOL)
    for i in sorted(grads):
        if not out["grads"].get(i):
            raise Feedback("%s.backward: module %d (%s) has no gradients after backward; backpropagate through every module, the first included"
                           % (C, i, spec[i]["type"]))
        for key in ("dw", "db"):
            name = "%s.backward" % C
            expect_grad_close(gradient(out["grads"][i], key, name), grads[i][key], name=name,
                              wrt="%s of module %d (%s)" % (key, i, spec[i]["type"]), **TOL)
    if out["dx"] is None:
        raise Feedback("%s.backward: the first module has no dx; backpropagate through every module" % C)
    padded = tuple(x.shape[:2]) + (x.shape[2] + 2, x.shape[3] + 2)  # the first Conv2D has padding 1
    expect_named_shape(out["dx"], dx.shape, name=C + ".backward", what="gradient with respect to the input x",
                       wrong={padded: "the first Conv2D's dx still includes the padding: crop it in "
                                      "cnn.layers.Conv2D.backward"})
    expect_grad_close(out["dx"], dx, name=C + ".backward", wrt="the input x", **TOL)
