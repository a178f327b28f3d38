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
    assert pure["extra_data"] == {"cases": 5, "passed": 4, "public": False}
    again = tests["functional.py's public checks pass on new random inputs"]  # relu's case times out too
    cases = again["extra_data"]["cases"]
    assert again["extra_data"] == {"cases": cases, "passed": cases - 1, "public": False}
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
