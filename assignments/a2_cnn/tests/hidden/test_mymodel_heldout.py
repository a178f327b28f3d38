"""MyModel on held-out images: accuracy thresholds and the leaderboard.

On Gradescope the images are CIFAR-10's 10,000 test images (fetched by setup.sh);
offline (local grading, the kit's tests) the held-out fifth of scikit-learn's digits.
The worker receives images only, batch by batch, and returns predicted classes; the
labels and the accuracy stay here, in the harness.
"""
import numpy as np
import pytest

from autograder import Feedback, assignment, graded, sandbox
from autograder.sandbox import SandboxError

CFG = assignment().heldout
THRESHOLDS = [float(t) for t in CFG["thresholds"]]
BATCH = 500
_result = {}


def _accuracy(heldout):
    """Accuracy of the submitted MyModel on the held-out set, computed once per grading run."""
    if not _result:
        try:
            predictions = []
            for _, images in heldout.batches(BATCH):
                got = np.asarray(sandbox.call("a2_probes:predict_submitted", CFG["checkpoint"], images))
                if got.shape != (len(images),):
                    raise Feedback("MyModel's predictions for %d images have shape %s, expected (%d,): forward must "
                                   "return (N, 10) scores" % (len(images), got.shape, len(images)))
                predictions.append(got)
            _result["accuracy"] = float(np.mean(np.concatenate(predictions) == heldout.labels))
        except (Feedback, SandboxError) as exc:
            _result["error"] = exc
    if "error" in _result:
        raise _result["error"]
    return _result["accuracy"]


@pytest.mark.parametrize("threshold", THRESHOLDS, ids=["%d%%" % round(100 * t) for t in THRESHOLDS])
@graded(points=CFG["points"], visibility="visible", timeout=300)
def test_mymodel_heldout_accuracy(heldout, leaderboard, threshold):
    """MyModel's accuracy on held-out images reaches each threshold"""
    accuracy = _accuracy(heldout)
    leaderboard.record("accuracy (%)", round(100 * accuracy, 2), order="desc")
    if accuracy < threshold:
        raise Feedback("MyModel classifies %.2f%% of the %d held-out images (%s) correctly; this part needs %.0f%%"
                       % (100 * accuracy, len(heldout.labels), heldout.description, 100 * threshold))
