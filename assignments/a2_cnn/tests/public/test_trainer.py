"""Public checks of cnn/trainer.py (part 2): one training step and evaluation.

The network's parameters, the batches and the expected values are fixtures (the
instructor's oracle on fixed inputs); the hidden tests run the same checks on new
random inputs. Every verdict compares what the student's code returned or changed
(losses, parameters after each step) with the oracle's on the same steps.
"""
import numpy as np

from autograder import Feedback, expect_close, expect_equal, expect_scalar, graded, sandbox
from autograder.fixtures import public_case

T = "cnn.trainer"


def check_train_step(c, _=None):
    params, batches = c["params"], c["batches"]
    out = sandbox.call("a2_probes:train_steps", params, batches, c["learning_rate"], c["momentum"])
    name = T + ".train_step"
    # a mode the probe reports can only fail the test: the model halves its scores in evaluation
    # mode, so a step taken without model.train() also shows in the losses and parameters below
    if not all(out["training"]):
        raise Feedback("%s: the model was left in evaluation mode; call model.train() first" % name)
    for step in range(len(batches)):
        expect_scalar(out["losses"][step], c["losses"][step], name=name,
                      what="loss returned at step %d" % (step + 1),
                      rtol=1e-6, hint="return the batch loss computed before optimizer.step(), as a float")
        expect_equal(out["corrects"][step], c["corrects"][step], name=name,
                     what="number of correct predictions at step %d" % (step + 1))
        for key in sorted(params):
            expect_close(out["after"][step][key], c["after"][step][key], name=name,
                         what="parameter %s after step %d" % (key, step + 1), rtol=1e-6, atol=1e-9,
                         misconceptions={"the gradients accumulate across steps: call optimizer.zero_grad() "
                                         "before loss.backward()": c["accumulated"][step][key]})


def check_evaluate(c, _=None):
    out = sandbox.call("a2_probes:run_evaluate", c["params"], c["batches"], True)
    name = T + ".evaluate"
    if out["training"]:
        raise Feedback("%s: the model is still in training mode (dropout active); call model.eval() first" % name)
    expect_scalar(out["loss"], c["loss"], name=name, what="mean loss", rtol=1e-6, misconceptions={
        "you averaged the batch means; weight each batch's loss by its size (the last batch is smaller)":
            c["unweighted_loss"]})
    expect_scalar(out["accuracy"], c["accuracy"], name=name, what="accuracy", rtol=1e-6)
    expect_close(np.asarray(out["per_class"], dtype=float), c["per_class"], name=name, what="per-class accuracy",
                 rtol=1e-6, hint="one value per class (scores.shape[1] classes); NaN for a class with no examples")


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"train_step": check_train_step, "evaluate": check_evaluate}


@graded(points=3)
def test_train_step():
    """train_step zeroes the gradients, backpropagates the loss and steps the optimiser; the loss goes down"""
    check_train_step(public_case("train_step"))


@graded(points=2)
def test_evaluate():
    """evaluate switches to eval mode and returns the mean loss, the accuracy and the per-class accuracy"""
    check_evaluate(public_case("evaluate"))
