"""Public checks of cnn/trainer.py (part 2): one training step and evaluation."""
import numpy as np

import oracles
from autograder import Feedback, expect_close, expect_equal, expect_scalar, graded, sandbox

T = "cnn.trainer"


def _batches(rng, sizes, d=(2, 2, 3), k=4):
    return [(rng.normal(size=(s,) + d), rng.integers(0, k, size=s)) for s in sizes]


@graded(points=3)
def test_train_step(rng):
    """train_step zeroes the gradients, backpropagates the loss and steps the optimiser; the loss goes down"""
    params = oracles.mlp_params(rng, 12, 6, 4)
    batch = _batches(rng, [8])[0]
    other = _batches(rng, [8])[0]
    batches = [batch, other, batch, batch, batch]
    lr, mu = 0.1, 0.9
    out = sandbox.call("a2_probes:train_steps", params, batches, lr, mu)
    name = T + ".train_step"
    if not all(out["training"]):
        raise Feedback("%s: the model was left in evaluation mode; call model.train() first" % name)
    losses, corrects, after = oracles.torch_sgd_steps(params, batches, lr, mu)
    _, _, accumulated = oracles.torch_sgd_steps(params, batches, lr, mu, zero_grad=False)
    for step in range(len(batches)):
        expect_scalar(out["losses"][step], losses[step], name=name, what="loss returned at step %d" % (step + 1),
                      rtol=1e-6, hint="return the batch loss computed before optimizer.step(), as a float")
        expect_equal(out["corrects"][step], corrects[step], name=name,
                     what="number of correct predictions at step %d" % (step + 1))
        for key in sorted(params):
            expect_close(out["after"][step][key], after[step][key], name=name,
                         what="parameter %s after step %d" % (key, step + 1), rtol=1e-6, atol=1e-9,
                         misconceptions={"the gradients accumulate across steps: call optimizer.zero_grad() "
                                         "before loss.backward()": accumulated[step][key]})
    if not out["losses"][4] < out["losses"][0]:
        raise Feedback("%s: three more steps on the same batch did not lower its loss" % name)


@graded(points=2)
def test_evaluate(rng):
    """evaluate switches to eval mode and returns the mean loss, the accuracy and the per-class accuracy"""
    params = oracles.mlp_params(rng, 12, 6, 4)
    batches = _batches(rng, [6, 6, 3], k=3)  # labels 0..2 only: class 3 has no examples (NaN)
    out = sandbox.call("a2_probes:evaluate", params, batches, True)
    name = T + ".evaluate"
    if out["training"]:
        raise Feedback("%s: the model is still in training mode (dropout active); call model.eval() first" % name)
    loss, acc, per_class = oracles.evaluate(params, batches)
    expect_scalar(out["loss"], loss, name=name, what="mean loss", rtol=1e-6, misconceptions={
        "you averaged the batch means; weight each batch's loss by its size (the last batch is smaller)":
            oracles.evaluate_unweighted_loss(params, batches)})
    expect_scalar(out["accuracy"], acc, name=name, what="accuracy", rtol=1e-6)
    expect_close(np.asarray(out["per_class"], dtype=float), per_class, name=name, what="per-class accuracy",
                 rtol=1e-6, hint="one value per class (scores.shape[1] classes); NaN for a class with no examples")
