"""A2's MyModel grading end to end: held-out accuracy thresholds, the leaderboard, a missing or
oversized checkpoint, an untrained model, and part-1 files that import torch."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import KIT, build_tree, by_name, graded

A2 = "a2_cnn"
NAME = "MyModel's accuracy on held-out images reaches each threshold"


@pytest.fixture(scope="module")
def a2_tree(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("a2-source") / "source", aid=A2)


@pytest.fixture(scope="module")
def a2_heldout_only(tmp_path_factory):
    """A2's tree with the held-out test alone, for checks that look at that test only (a full A2
    grading starts three torch workers)."""
    tree = build_tree(tmp_path_factory.mktemp("a2-heldout-only") / "source", aid=A2)
    for sub in ("public", "hidden"):
        folder = os.path.join(tree, "tests", sub)
        for name in os.listdir(folder):
            if name.startswith("test_") and name != "test_mymodel_heldout.py":
                os.unlink(os.path.join(folder, name))
    return tree


def reference(folder, checkpoint=True):
    a = KIT.assignment(A2)
    for rel in a.required_files + (a.optional_files if checkpoint else []):
        os.makedirs(os.path.dirname(os.path.join(folder, rel)), exist_ok=True)
        shutil.copyfile(KIT.path("solutions", A2, rel), os.path.join(folder, rel))
    return str(folder)


def test_reference_reaches_every_threshold_and_fills_the_leaderboard(a2_tree, tmp_path):
    data = graded(a2_tree, reference(tmp_path / "sub"), tmp_path)
    test = by_name(data)[NAME]
    assert test["score"] == test["max_score"] == 8 and test["visibility"] == "visible"
    board = {row["name"]: row for row in data["leaderboard"]}
    assert board["accuracy (%)"]["order"] == "desc" and board["accuracy (%)"]["value"] >= 95.0


def test_missing_checkpoint_says_how_to_make_one(a2_tree, tmp_path):
    data = graded(a2_tree, reference(tmp_path / "sub", checkpoint=False), tmp_path)
    test = by_name(data)[NAME]
    assert test["score"] == 0
    assert "no cnn/mymodel.pt in your submission: save MyModel's weights with torch.save(model.state_dict()" \
        in test["output"]
    assert "leaderboard" not in data
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) - 8, "only MyModel's points are lost"


def test_untrained_model_earns_nothing_but_gets_its_accuracy(a2_heldout_only, tmp_path):
    """A checkpoint of a freshly initialised MyModel: about chance on ten classes."""
    sub = reference(tmp_path / "sub")
    code = ("import sys, torch; sys.path.insert(0, %r); torch.manual_seed(1); from cnn.models import MyModel; "
            "torch.save(MyModel().state_dict(), %r)" % (KIT.path("solutions", A2), os.path.join(sub, "cnn", "mymodel.pt")))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    data = graded(a2_heldout_only, sub, tmp_path)
    test = by_name(data)[NAME]
    assert test["score"] == 0
    accuracy = data["leaderboard"][0]["value"]
    assert accuracy < 40.0
    assert "MyModel classifies %.2f%% of the 360 held-out images" % accuracy in test["output"]
    assert "this part needs 50%" in test["output"]


def test_oversized_checkpoint_is_refused_with_its_size(a2_heldout_only, tmp_path):
    sub = reference(tmp_path / "sub")
    with open(os.path.join(sub, "cnn", "mymodel.pt"), "ab") as fh:
        fh.write(b"\0" * (21 << 20))
    data = graded(a2_heldout_only, sub, tmp_path)
    assert "mymodel.pt is 22.1 MB, over the 20 MB limit for one file" in data["output"]
    assert by_name(data)[NAME]["score"] == 0


def test_a_checkpoint_that_is_not_a_state_dict_fails_cleanly(a2_tree, tmp_path):
    """torch.load(weights_only=True) refuses pickled code: the test fails, grading goes on."""
    sub = reference(tmp_path / "sub")
    code = ("import torch, os; torch.save({'f': os.system}, %r)" % os.path.join(sub, "cnn", "mymodel.pt"))
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    data = graded(a2_tree, sub, tmp_path)
    test = by_name(data)[NAME]
    assert test["score"] == 0 and "weights_only" in test["output"].replace("Weights only", "weights_only")
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) - 8
