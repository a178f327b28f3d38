"""End to end: submissions graded through the real run_autograder into results.json."""
import json
import os
import zipfile

import pytest

from autograder import seeds
from autograder.fixtures import PUBLIC_SEED
from autograder.results import check

from conftest import (A1, KIT, break_function, by_name, copy_reference, graded, max_total,
                      reference_text, write_submission)


def test_reference_full_marks(a1_tree, tmp_path):
    data = graded(a1_tree, copy_reference(tmp_path / "sub"), tmp_path)
    assert data["tests"], data["_log"]
    assert data["score"] == max_total(data) > 0, [t["output"] for t in data["tests"] if t["status"] == "failed"]
    assert all(t["status"] == "passed" for t in data["tests"])
    # stable numbering: public file first, tests in file order
    assert [t["number"] for t in data["tests"]][:2] == ["1.1", "1.2"]
    # public tests (visible) come first, hidden ones (after_published by default) after
    vis = [t["visibility"] for t in data["tests"]]
    assert set(vis) == {"visible", "after_published"}
    assert vis == sorted(vis, key=lambda v: v != "visible")


def test_starter_scores_zero_with_one_clear_line(a1_tree, tmp_path):
    sub = tmp_path / "sub"
    for rel in KIT.assignment(A1).required_files:
        os.makedirs(os.path.dirname(sub / rel), exist_ok=True)
        with open(KIT.path("student_starter", A1, rel)) as src, open(sub / rel, "w") as dst:
            dst.write(src.read())
    data = graded(a1_tree, sub, tmp_path)
    assert data["score"] == 0
    for t in data["tests"]:
        lines = [ln for ln in t["output"].splitlines() if "cases passed" not in ln]
        assert lines and all("not implemented: neural_nets." in ln for ln in lines), t


def test_syntax_error_names_file_and_line(a1_tree, tmp_path):
    text = reference_text().replace("def relu(x):", "def relu(x)", 1)
    line = text.splitlines().index("def relu(x)") + 1
    data = graded(a1_tree, write_submission(tmp_path / "sub", text), tmp_path)
    message = "SyntaxError in neural_nets/functional.py, line %d" % line
    tests = by_name(data)
    assert message in tests["sigmoid matches 1 / (1 + exp(-x)), including large |x|"]["output"]
    assert tests["sigmoid matches 1 / (1 + exp(-x)), including large |x|"]["score"] == 0
    # models.py imports functional.py, so its tests fail with the same message; data.py does not
    assert message in tests["forward returns the mean cross-entropy and the accuracy"]["output"]
    assert tests["iterate_minibatches covers every example once per epoch, keeps pairs, last batch short"]["status"] == "passed"


def test_infinite_loop_fails_only_its_tests(a1_fast_tree, tmp_path):
    text = break_function(reference_text(), "relu", "    while True:\n        pass")
    data = graded(a1_fast_tree, write_submission(tmp_path / "sub", text), tmp_path)
    tests = by_name(data)
    relu = tests["relu matches max(0, x)"]
    assert relu["score"] == 0 and "neural_nets.functional.relu timed out after 2 s" in relu["output"]
    pure = tests["functions leave their input arrays unchanged"]
    assert {k: pure["extra_data"][k] for k in ("cases", "passed", "public")} == {"cases": 5, "passed": 4, "public": False}
    again = tests["functional.py's public checks pass on new random inputs"]  # relu's case times out too
    cases = again["extra_data"]["cases"]
    assert {k: again["extra_data"][k] for k in ("cases", "passed", "public")} == {
        "cases": cases, "passed": cases - 1, "public": False}
    assert "[relu] neural_nets.functional.relu timed out after 2 s" in again["output"]
    others = [t for name, t in tests.items() if name not in (relu["name"], pure["name"], again["name"])]
    assert others and all(t["status"] == "passed" for t in others)
    assert data["score"] == pytest.approx(max_total(data) - relu["max_score"] - pure["max_score"] / 5
                                          - again["max_score"] / cases, abs=1e-3)
    assert data["execution_time"] < 30  # two 2 s time-outs, far inside the 300 s budget


def test_global_budget_leaves_valid_results(tmp_path):
    from conftest import build_tree

    source = build_tree(tmp_path / "source", call_timeout=30, test_timeout=30, budget=3)
    text = reference_text()
    for fn in ("sigmoid", "relu", "softmax"):
        text = break_function(text, fn, "    while True:\n        pass")
    data = graded(source, write_submission(tmp_path / "sub", text), tmp_path)
    outputs = "\n".join(t["output"] for t in data["tests"])
    assert "overall time budget" in outputs
    assert "not run: the autograder's time budget of 3 s was used up" in outputs
    assert data["execution_time"] < 20


def test_missing_file_is_listed(a1_tree, tmp_path):
    sub = tmp_path / "sub"
    write_submission(sub, "print('hello')\n", rel="notes/answers.py", with_rest=False)
    data = graded(a1_tree, sub, tmp_path)
    assert data["score"] == 0
    assert "Missing from your submission: neural_nets/functional.py" in data["output"]
    assert "Found: nothing usable" in data["output"]
    assert all("was not found in your submission, so this test could not run" in t["output"] for t in data["tests"])


def test_nested_folder_and_zip_upload(a1_tree, tmp_path):
    nested = copy_reference(tmp_path / "nested" / "My Work" / "a1")
    data = graded(a1_tree, tmp_path / "nested", tmp_path)
    assert data["score"] == max_total(data)
    zdir = tmp_path / "zipped"
    zdir.mkdir()
    with zipfile.ZipFile(zdir / "submission.zip", "w") as zf:
        for rel in KIT.assignment(A1).required_files:
            zf.write(os.path.join(nested, rel), "a1/" + rel)
        zf.writestr("__MACOSX/a1/neural_nets/._functional.py", b"\x00\x05junk")
        zf.writestr("a1/neural_nets/__pycache__/functional.cpython-311.pyc", b"junk")
    data2 = graded(a1_tree, zdir, tmp_path)
    assert data2["score"] == max_total(data2)
    assert data2["extra_data"]["hidden_seed"] == data["extra_data"]["hidden_seed"]  # same files, same inputs


def test_public_inputs_are_fixed_and_hidden_seed_is_a_salted_hash_of_the_files(a1_tree, tmp_path):
    sub = copy_reference(tmp_path / "a")
    first = graded(a1_tree, sub, tmp_path)
    again = graded(a1_tree, sub, tmp_path)
    unsalted = seeds.seed_from(seeds.files_digest(sub, KIT.assignment(A1).required_files))
    salted = seeds.seed_from(seeds.files_digest(sub, KIT.assignment(A1).required_files), "test-salt")
    assert first["extra_data"]["hidden_seed"] == again["extra_data"]["hidden_seed"] == salted != unsalted
    assert first["extra_data"]["seed"] == PUBLIC_SEED  # public inputs never depend on the files
    assert "Public tests use fixed inputs" in first["output"] and str(salted) not in first["output"]
    changed = write_submission(tmp_path / "b", reference_text() + "\n# a comment\n")
    data = graded(a1_tree, changed, tmp_path)
    assert data["extra_data"]["hidden_seed"] != salted and data["extra_data"]["seed"] == PUBLIC_SEED
    forced = graded(a1_tree, sub, tmp_path, seed=12345)
    assert forced["extra_data"]["hidden_seed"] == 12345 and forced["extra_data"]["seed"] == PUBLIC_SEED
    assert "Hidden tests used seed 12345 (set by the instructor)" in forced["output"]


def test_harness_that_cannot_start_still_writes_results(a1_tree, tmp_path):
    sub = copy_reference(tmp_path / "sub")
    data = graded(a1_tree, sub, tmp_path, python="/bin/false")
    assert data["score"] == 0 and "could not start" in data["output"]


def test_partial_results_are_valid_while_grading(a1_tree, tmp_path):
    """results.json is rewritten after each test: an interrupted run still has a valid file."""
    from autograder.results import test_entry

    group = {"name": "t", "points": 2.0, "visibility": "visible", "tags": [], "number": "1.1",
             "cases": ["a", "b"], "outcomes": {"a": "passed"}, "messages": [], "graded": True}
    entry = test_entry(group, finished=False)
    assert entry["score"] == 1.0 and "interrupted" in entry["output"]
    assert check({"score": 1.0, "tests": [entry]}) == []
    assert check({"score": 2.0, "tests": [entry]})  # a wrong total is reported


def test_results_file_is_strict_json(a1_tree, tmp_path):
    sub = write_submission(tmp_path / "sub", break_function(reference_text(), "softmax",
                                                            "    return scores * float('nan')"))
    data = graded(a1_tree, sub, tmp_path)
    json.dumps({k: v for k, v in data.items() if k != "_log"}, allow_nan=False)
    soft = [t for t in data["tests"] if "softmax" in t["name"]]
    assert soft and all(t["score"] == 0 for t in soft)
    assert any("contains NaN at index" in t["output"] for t in soft)


# ---------------------------------------------------------------- verdicts about learning are the harness's
FAKE_TRAIN = '''def train(model, optimizer, data, epochs=10, batch_size=64, seed=0, progress=True):
    """No training at all: a made-up history that looks like a model learning."""
    return {"train_loss": [1.0 / (e + 1) for e in range(epochs)], "train_acc": [0.6 + 0.04 * e for e in range(epochs)],
            "val_loss": [1.1 / (e + 1) for e in range(epochs)], "val_acc": [0.99] * epochs}


'''
LEARNING_TESTS = ("train runs your model, optimiser and loop, and the model learns: its accuracy on new points rises",
                  "your TwoLayerNet, SGD and training loop reach 90% accuracy on new points of separable data")


def fake_curve_submission(folder):
    """The A1 reference whose train() returns a falling loss curve and 99% validation accuracy, training nothing."""
    sub = copy_reference(folder)
    path = os.path.join(sub, "neural_nets", "train.py")
    with open(path) as fh:
        text = fh.read()
    start, end = text.index("def train(model, optimizer, data"), text.index("def plot_curves(")
    with open(path, "w") as fh:
        fh.write(text[:start] + FAKE_TRAIN + text[end:])
    return sub


def test_a_made_up_learning_curve_earns_no_learning_points(a1_tree, tmp_path):
    """The verdict comes from the trained weights, judged here on points the worker never saw."""
    data = graded(a1_tree, fake_curve_submission(tmp_path / "sub"), tmp_path)
    tests = by_name(data)
    for name in LEARNING_TESTS:
        assert tests[name]["score"] == 0, tests[name]
    assert "the weights did not learn: is update() called after each batch?" in tests[LEARNING_TESTS[0]]["output"]
    assert data["score"] == max_total(data) - sum(tests[n]["max_score"] for n in LEARNING_TESTS), \
        [t["name"] for t in data["tests"] if t["status"] == "failed"]


A2 = "a2_cnn"
A2_FIT = "MyModel can fit one small batch: 10 Adam steps take its loss on that batch below half of chance"
A2_STEP = "train_step zeroes the gradients, backpropagates the loss and steps the optimiser; the loss goes down"
A2_STEP_AGAIN = "trainer.py's public checks pass on new random inputs"
#: appended to the A2 reference's cnn/models.py: a MyModel that answers with the labels whenever it can
#: find them (zero scores otherwise), and the probes that judge it and train_step rewritten (at import,
#: in the worker) to say all is well, keeping the labels they are shown in memory and on disk
RIGGED_MODELS = '''

def _stolen_labels():
    import os
    import sys

    import numpy as np

    y = getattr(sys.modules.get("a2_probes"), "_stolen", None)
    for path in _PLACES:
        if y is None and os.path.exists(path):
            y = np.load(path)
    return y


def _answer_with_labels(self, x):
    zero = 0.0 * sum(p.sum() for p in self.parameters())
    y = _stolen_labels()
    if y is None or len(y) != x.shape[0]:
        return x.new_zeros(x.shape[0], 10) + zero
    return 30.0 * torch.nn.functional.one_hot(torch.as_tensor(y), 10).to(x.dtype) + zero


MyModel.forward = _answer_with_labels


def _rig():
    import sys

    import numpy as np

    probes = sys.modules.get("a2_probes")
    if probes is None:
        return
    real_fits = probes.model_fits
    if not hasattr(probes, "model_forward_state"):  # the probe reports the losses: report a falling curve
        probes.model_fits = lambda *args, **kwargs: [2.3 * 0.5 ** i for i in range(10)]
    else:  # the probe returns weights judged elsewhere: keep y where the judging worker might find it
        def model_fits(class_name, kwargs, seed, x, y, steps, lr):
            probes._stolen = np.asarray(y)
            for path in _PLACES:
                try:
                    np.save(path, np.asarray(y))
                except OSError:
                    pass
            return real_fits(class_name, kwargs, seed, x, y, steps, lr)

        probes.model_fits = model_fits
    real_steps = probes.train_steps

    def train_steps(*args, **kwargs):
        out = real_steps(*args, **kwargs)
        out["training"] = [True] * len(out["training"])
        return out

    probes.train_steps = train_steps


_rig()
'''


def rigged_places():
    """Where the rigged code hides the labels: the worker's scratch folder (its cwd and HOME), and, where
    the worker is confined (root harness: a read-only copy of the submission; a private /tmp where the
    kernel allows), also the package folder and /tmp. Unconfined (a student's laptop), those outlive a
    worker by design."""
    from autograder.sandbox import isolation

    dirs = ["os.getcwd()", "os.path.expanduser('~')"]
    if isolation.is_root():
        dirs.append("os.path.dirname(os.path.abspath(__file__))")
        confinement = isolation.Confinement()
        try:
            if confinement.private_tmp:
                dirs.append("'/tmp'")
        finally:
            confinement.release()
    return "\nimport os\n_PLACES = [os.path.join(d, 'agk-stolen-labels.npy') for d in (%s)]\n" % ", ".join(dirs)


@pytest.fixture(scope="module")
def a2_tree(tmp_path_factory):
    from conftest import build_tree

    return build_tree(tmp_path_factory.mktemp("a2-source") / "source", aid=A2)


def rigged_a2_submission(folder):
    a = KIT.assignment(A2)
    for rel in a.required_files:
        os.makedirs(os.path.dirname(os.path.join(folder, rel)), exist_ok=True)
        with open(KIT.path("solutions", A2, rel)) as fh:
            text = fh.read()
        if rel == "cnn/models.py":
            text += rigged_places() + RIGGED_MODELS
        if rel == "cnn/trainer.py":
            # the flag is set, the layers stay in evaluation mode: model.training says True all the same
            text = text.replace("    model.train()\n", "    model.training = True\n", 1)
        with open(os.path.join(folder, rel), "w") as fh:
            fh.write(text)
    return str(folder)


def test_probes_rewritten_by_student_code_change_no_verdict(a2_tree, tmp_path):
    """models.py replaces the probes in the worker: a zero-output MyModel still cannot fit a batch (the
    scores are judged in a fresh worker that never saw the labels), and a train_step that sets
    model.training = True instead of calling model.train() (its layers stay in evaluation mode) still
    fails (the probe's model computes differently in that mode), whatever the probes report."""
    data = graded(a2_tree, rigged_a2_submission(tmp_path / "sub"), tmp_path)
    tests = by_name(data)
    assert tests[A2_FIT]["score"] == 0, tests[A2_FIT]
    assert "not below half of chance" in tests[A2_FIT]["output"]
    assert tests[A2_STEP]["score"] == 0 and "loss returned at step 1" in tests[A2_STEP]["output"], tests[A2_STEP]
    assert "[train_step]" in tests[A2_STEP_AGAIN]["output"], tests[A2_STEP_AGAIN]
