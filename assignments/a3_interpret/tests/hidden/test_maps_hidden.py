"""Hidden checks of A3: other seeds, a batch of one, unnormalised Gram matrices, larger images."""
import torch

import oracles
from autograder import expect_close, expect_scalar, graded, sandbox

TOL = {"rtol": 1e-6, "atol": 1e-12}


@graded(points=2)
def test_maps_batch_of_one(rng, seed):
    """saliency, guided backprop and Grad-CAM agree with Captum for a single image"""
    X, y = oracles.inputs(rng, n=1, channels=3)
    s = (seed + 17) % 1000
    model = oracles.make_cnn(s, 3)
    expect_close(sandbox.call("a3_probes:saliency", s, X, y), oracles.saliency(model, X, y),
                 name="interpret.saliency.compute_saliency_maps", what="saliency map", **TOL)
    expect_close(sandbox.call("a3_probes:guided", s, X, y)["map"], oracles.guided(model, X, y),
                 name="interpret.guided_backprop.guided_backprop", what="guided gradient", **TOL)
    expect_close(sandbox.call("a3_probes:gradcam", s, X[:, :1], y), oracles.gradcam(oracles.make_cnn(s), X[:, :1], y),
                 name="interpret.gradcam.grad_cam", what="Grad-CAM map", **TOL)


@graded(points=1)
def test_gram_unnormalised_batch(rng):
    """gram_matrix(normalize=False) is F F^T for every item of a batch"""
    f = rng.normal(size=(3, 2, 4, 4))
    got = sandbox.call("interpret.style:gram_matrix", torch.tensor(f), normalize=False)
    expect_close(got, oracles.gram(f, normalize=False), name="interpret.style.gram_matrix", rtol=1e-10)


@graded(points=1)
def test_tv_loss_tall_image(rng):
    """tv_loss on a tall, narrow image"""
    img = rng.normal(size=(1, 3, 9, 2))
    expect_scalar(sandbox.call("interpret.style:tv_loss", torch.tensor(img), 0.3), oracles.tv_loss(img, 0.3),
                  name="interpret.style.tv_loss", what="loss", rtol=1e-10)


@graded(points=1)
def test_fooling_already_target(rng, seed):
    """make_fooling_image returns the image unchanged when the model already predicts the target"""
    s = (seed + 29) % 1000
    model = oracles.make_cnn(s, 3)
    X, _ = oracles.inputs(rng, n=1, channels=3)
    target = oracles.predicted(model, X)
    got = sandbox.call("a3_probes:fooling", s, X, target, 1.0, 20)
    expect_close(got, X.numpy(), name="interpret.fooling.make_fooling_image", what="image (no step was needed)",
                 rtol=0, atol=0, misconceptions={
                     "you stepped once before checking the prediction: check first, stop when it is the target":
                         oracles.step_then_check(model, X, target, 1.0, 20).numpy()})


@graded(points=1)
def test_class_visualization_step_colour(rng, seed):
    """class_visualization_step on a three-channel image with a strong L2 penalty"""
    s = (seed + 31) % 1000
    model = oracles.make_cnn(s, 3)
    img = torch.tensor(rng.uniform(0, 1, size=(1, 3, 8, 8)))
    target = int(rng.integers(0, 10))
    got = sandbox.call("a3_probes:class_step", s, img, target, 0.5, 0.2)
    expect_close(got, oracles.class_step(model, img, target, 0.5, 0.2), name="interpret.class_viz.class_visualization_step",
                 what="image after one step", rtol=1e-6, atol=1e-12, misconceptions={
                     "the L2 term has the wrong sign: the objective SUBTRACTS l2_reg * sum(img ** 2)":
                         oracles.class_step(model, img, target, 0.5, 0.2, l2_sign=1.0)})
