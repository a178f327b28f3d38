"""Public checks of fooling images and the class-visualisation step."""
import torch

import oracles
from autograder import Feedback, expect_close, graded, sandbox


@graded(points=3)
def test_fooling_image(rng, seed):
    """make_fooling_image reaches the target class with normalised ascent steps, and changes little"""
    s = seed % 1000
    model = oracles.make_cnn(s)
    X, _ = oracles.inputs(rng, n=1)
    original = oracles.predicted(model, X)
    # a target the reference method reaches within the step budget, from this seed
    for offset in rng.permutation(9) + 1:
        target = int((original + offset) % 10)
        expected = oracles.fooling(model, X, target, 1.0, 100)
        if oracles.predicted(model, expected) == target:
            break
    got = sandbox.call("a3_probes:fooling", s, X, target, 1.0, 100)
    name = "interpret.fooling.make_fooling_image"
    expect_close(got, expected.numpy(), name=name, what="fooling image", rtol=1e-6, atol=1e-9, misconceptions={
        "you stepped DOWN the gradient (descent); fooling climbs the target score":
            oracles.fooling(model, X, target, 1.0, 100, sign=-1.0).numpy(),
        "the step is not normalised: divide the gradient by its L2 norm":
            oracles.fooling(model, X, target, 1.0, 100, normalise=False).numpy()})
    if oracles.predicted(model, torch.as_tensor(got)) != target:
        raise Feedback("%s: the model does not classify your image as the target class %d" % (name, target))


@graded(points=2)
def test_class_visualization_step(rng, seed):
    """class_visualization_step ascends score - l2_reg * ||img||^2 with a normalised step"""
    s = seed % 1000
    model = oracles.make_cnn(s)
    img = torch.tensor(rng.uniform(0, 1, size=(1, 1, 8, 8)))
    target, l2, lr = int(rng.integers(0, 10)), 0.05, 0.3
    got = sandbox.call("a3_probes:class_step", s, img, target, l2, lr)
    expect_close(got, oracles.class_step(model, img, target, l2, lr), name="interpret.class_viz.class_visualization_step",
                 what="image after one step", rtol=1e-6, atol=1e-12, misconceptions={
                     "the L2 term has the wrong sign: the objective SUBTRACTS l2_reg * sum(img ** 2)":
                         oracles.class_step(model, img, target, l2, lr, l2_sign=1.0),
                     "the step is not normalised: divide the gradient by its L2 norm":
                         oracles.class_step(model, img, target, l2, lr, normalise=False)})
