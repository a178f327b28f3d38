"""Hidden checks of A3: other seeds, a batch of one, unnormalised Gram matrices, larger images.

Inputs are float32 and tie-free, expected values float64 answers (see oracles.py); the
tolerances are a3_feedback's float32 ones.
"""
import numpy as np
import torch

import oracles
from a3_feedback import call, expect_f32, expect_loss
from autograder import expect_close, graded


@graded(points=2)
def test_maps_batch_of_one(rng):
    """saliency, guided backprop and Grad-CAM agree with Captum for a single image"""
    s, X, y = oracles.draw_maps_problem(rng, channels=3, n=1, guided=True)
    model = oracles.model64(s, 3)
    expect_f32(call("a3_probes:saliency", s, X, y)["map"], oracles.saliency(model, X, y),
               name="interpret.saliency.compute_saliency_maps", what="saliency map")
    expect_f32(call("a3_probes:guided", s, X, y)["map"], oracles.guided(model, X, y),
               name="interpret.guided_backprop.guided_backprop", what="guided gradient")
    s, X, y = oracles.draw_maps_problem(rng, n=1)
    expect_f32(call("a3_probes:gradcam", s, X, y)["map"], oracles.gradcam(oracles.model64(s), X, y),
               name="interpret.gradcam.grad_cam", what="Grad-CAM map")


@graded(points=1)
def test_gram_unnormalised_batch(rng):
    """gram_matrix(normalize=False) is F F^T for every item of a batch"""
    f = rng.normal(size=(3, 2, 4, 4)).astype(np.float32)
    got = call("interpret.style:gram_matrix", torch.tensor(f), normalize=False)
    expect_f32(got, oracles.gram(f, normalize=False), name="interpret.style.gram_matrix", what="Gram matrices")


@graded(points=1)
def test_tv_loss_tall_image(rng):
    """tv_loss on a tall, narrow image"""
    img = rng.normal(size=(1, 3, 9, 2)).astype(np.float32)
    expect_loss(call("interpret.style:tv_loss", torch.tensor(img), 0.3), oracles.tv_loss(img, 0.3),
                name="interpret.style.tv_loss")


@graded(points=1)
def test_fooling_already_target(rng):
    """make_fooling_image returns the image unchanged when the model already predicts the target"""
    for _ in range(oracles.MAX_DRAWS):
        s = int(rng.integers(1000))
        X, _ = oracles.inputs(rng, n=1, channels=3)
        model = oracles.model64(s, 3)
        with torch.no_grad():
            decided = oracles._decided(model(X.to(torch.float64)))
        if decided and oracles.tie_free(model, X):
            break
    target = oracles.predicted(model, X)
    got = call("a3_probes:fooling", s, X, target, 1.0, 20)["image"]
    expect_close(got, X.numpy(), name="interpret.fooling.make_fooling_image", what="image (no step was needed)",
                 rtol=0, atol=0, misconceptions={
                     "you stepped once before checking the prediction: check first, stop when it is the target":
                         oracles.step_then_check(oracles.make_cnn(s, 3), X, target, 1.0, 20).numpy()})


@graded(points=1)
def test_class_visualization_step_colour(rng):
    """class_visualization_step on a three-channel image with a strong L2 penalty"""
    s, img, target = oracles.draw_class_step_problem(rng, 0.5, 0.2, channels=3)
    model = oracles.model64(s, 3)
    got = call("a3_probes:class_step", s, img, target, 0.5, 0.2)["first"]
    expect_f32(got, oracles.f32(oracles.class_step(model, img, target, 0.5, 0.2)),
               name="interpret.class_viz.class_visualization_step", what="image after one step", misconceptions={
                   "the L2 term has the wrong sign: the objective SUBTRACTS l2_reg * sum(img ** 2)":
                       oracles.f32(oracles.class_step(model, img, target, 0.5, 0.2, l2_sign=1.0))})
