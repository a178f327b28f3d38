"""Public checks of saliency maps, guided backprop and Grad-CAM against Captum."""
import numpy as np
import pytest
import torch

import oracles
from autograder import Feedback, expect_close, expect_shape, graded, sandbox

TOL = {"rtol": 1e-6, "atol": 1e-12}


@pytest.mark.parametrize("channels", [1, 3])
@graded(points=3)
def test_saliency(rng, seed, channels):
    """compute_saliency_maps equals Captum's Saliency (abs) maximised over channels"""
    X, y = oracles.inputs(rng, channels=channels)
    model = oracles.make_cnn(seed % 1000, channels)
    got = sandbox.call("a3_probes:saliency", seed % 1000, X, y)
    expect_close(got, oracles.saliency(model, X, y), name="interpret.saliency.compute_saliency_maps",
                 what="saliency map", misconceptions=oracles.saliency_misconceptions(model, X, y), **TOL)


@graded(points=2)
def test_guided_relu(rng):
    """GuidedReLU passes gradients only where both the input and the gradient are positive"""
    x = torch.tensor(rng.normal(size=(4, 6)))
    g = torch.tensor(rng.normal(size=(4, 6)))
    out = sandbox.call("a3_probes:guided_relu", x, g)
    name = "interpret.guided_backprop.GuidedReLU"
    expect_close(out["out"], np.maximum(x.numpy(), 0), name=name, what="forward output", **TOL)
    expect_close(out["grad"], g.numpy() * (x.numpy() > 0) * (g.numpy() > 0), name=name, what="backward gradient",
                 misconceptions={
                     "negative gradients pass through: this is the ordinary ReLU backward; clamp the incoming "
                     "gradient at 0 as well": g.numpy() * (x.numpy() > 0),
                     "you dropped the (x > 0) mask of the ordinary ReLU backward": np.maximum(g.numpy(), 0)},
                 **TOL)


@pytest.mark.parametrize("channels", [1, 3])
@graded(points=3)
def test_guided_backprop(rng, seed, channels):
    """guided_backprop equals Captum's GuidedBackprop and leaves the model as it was"""
    X, y = oracles.inputs(rng, channels=channels)
    model = oracles.make_cnn(seed % 1000, channels)
    out = sandbox.call("a3_probes:guided", seed % 1000, X, y)
    name = "interpret.guided_backprop.guided_backprop"
    expect_close(out["map"], oracles.guided(model, X, y), name=name, what="guided gradient", misconceptions={
        "this is the plain input gradient: the ReLUs were not replaced by GuidedReLU":
            oracles.plain_gradient(model, X, y)}, **TOL)
    if not out["eval_mode"]:
        raise Feedback("%s: the model was left in train mode; never call model.train() here (the caller's model "
                       "must stay as it was, in eval mode)" % name)
    if not out["model_restored"]:
        raise Feedback("%s: the model's nn.ReLU modules were not put back" % name)


@graded(points=3)
def test_grad_cam(rng, seed):
    """grad_cam equals Captum's LayerGradCam with ReLU at the last conv layer"""
    X, y = oracles.inputs(rng)
    model = oracles.make_cnn(seed % 1000)
    got = sandbox.call("a3_probes:gradcam", seed % 1000, X, y)
    expect_shape(got, (X.shape[0], 8, 8), name="interpret.gradcam.grad_cam", what="Grad-CAM map")
    expect_close(got, oracles.gradcam(model, X, y), name="interpret.gradcam.grad_cam", what="Grad-CAM map",
                 misconceptions=oracles.gradcam_misconceptions(model, X, y), **TOL)
