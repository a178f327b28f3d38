"""Public checks of cnn/trainer.py (part 2): one training step and evaluation.

The network's parameters, the batches and the expected values are fixtures (the
instructor's oracle on fixed inputs); the hidden tests run the same checks on new
random inputs. Every verdict compares what the student's code returned or changed
(losses, parameters after each step, gradients left behind) with the oracle's on the
same steps. The network and the batches are float32, compared with float32 tolerances.
"""
import numpy as np

from a2_feedback import expect_close32, expect_scalar32
from autograder import Feedback, expect_equal, graded, sandbox
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
        expect_scalar32(out["losses"][step], c["losses"][step], name=name,
                        what="loss returned at step %d" % (step + 1), rtol=1e-5, atol=1e-6,
                        hint="return the batch loss computed before optimizer.step(), as a float")
        expect_equal(out["corrects"][step], c["corrects"][step], name=name,
                     what="number of correct predictions at step %d" % (step + 1))
        for key in sorted(params):
            expect_close32(out["after"][step][key], c["after"][step][key], name=name,
                           what="parameter %s after step %d" % (key, step + 1), rtol=1e-4, atol=1e-6,
                           misconceptions={"the gradients accumulate across steps: call optimizer.zero_grad() "
                                           "before loss.backward()": c["accumulated"][step][key]})
    # the types it returned (a name the probe reports can only fail the test)
    loss_type, correct_type = out["types"][0]
    if loss_type != "float":
        raise Feedback("%s: the loss is returned as a %s; return a Python float (loss.item()), as the docstring says: "
                       "a tensor keeps its whole computation graph alive while the Trainer adds it up" % (name, loss_type))
    if correct_type != "int":
        raise Feedback("%s: the number of correct predictions is returned as a %s; return a Python int "
                       "(int(...) or .item()), as the docstring says" % (name, correct_type))


def check_evaluate(c, _=None):
    out = sandbox.call("a2_probes:run_evaluate", c["params"], c["batches"], True)
    name = T + ".evaluate"
    if out["training"]:
        raise Feedback("%s: the model is still in training mode (dropout active); call model.eval() first" % name)
    expect_scalar32(out["loss"], c["loss"], name=name, what="mean loss", rtol=1e-5, atol=1e-6, misconceptions={
        "you averaged the batch means; weight each batch's loss by its size (the last batch is smaller)":
            c["unweighted_loss"]})
    expect_scalar32(out["accuracy"], c["accuracy"], name=name, what="accuracy", rtol=1e-6, atol=1e-9)
    expect_close32(np.asarray(out["per_class"], dtype=float), c["per_class"], name=name, what="per-class accuracy",
                   rtol=1e-6, atol=1e-9,
                   hint="one value per class (scores.shape[1] classes); NaN for a class with no examples")
    # the docstring's contract: no gradients. A .grad left on a parameter is a raw value; whether autograd was
    # recording is a flag the probe reports, which can only fail the test
    if any(g is not None and np.any(np.asarray(g) != 0) for g in out["grads"]):
        raise Feedback("%s: after evaluate the model's parameters hold gradients: evaluate must not call backward "
                       "(it only measures; gradients are for train_step)" % name)
    if any(out["grad_enabled"]):
        raise Feedback("%s: the loss was computed with autograd recording; wrap the loop in torch.no_grad(), as the "
                       "docstring says (no gradients in evaluation: less memory, faster)" % name)
    for what, kind in zip(("mean loss", "accuracy"), out["types"]):
        if kind != "float":
            raise Feedback("%s: the %s is returned as a %s; return a Python float, as the docstring says"
                           % (name, what, kind))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"train_step": check_train_step, "evaluate": check_evaluate}


@graded(points=3)
def test_train_step():
    """train_step zeroes the gradients, backpropagates the loss and steps the optimiser; the loss goes down"""
    check_train_step(public_case("train_step"))


@graded(points=2)
def test_evaluate():
    """evaluate switches to eval mode, computes no gradients, and returns the mean loss, the accuracy and the per-class accuracy"""
    check_evaluate(public_case("evaluate"))
