"""The notebook helpers of autograder/checks.py, as a student meets them.

``check`` runs the public tests in a subprocess (the same engine as ``pytest``): on the untouched starter it
lists what to write and in which file; narrowed to a function it runs only that function's tests; on wrong
code it says which file to edit; it never raises. ``skip_if_unfinished`` turns a stub, an unchosen value or a
missing input into one "skipped:" line and leaves every other error alone.
"""
import os
import re
import shutil

import pytest

from autograder import checks
from autograder.build import student_tree

from conftest import KIT

A1 = "a1_neural_nets"


@pytest.fixture(scope="module")
def a1_starter(tmp_path_factory):
    return student_tree(KIT, A1, str(tmp_path_factory.mktemp("starter")))


@pytest.fixture(scope="module")
def a1_wrong_sigmoid(tmp_path_factory):
    """The reference with one mistake: its sigmoid computes sigmoid(-x)."""
    root = student_tree(KIT, A1, str(tmp_path_factory.mktemp("wrong")))
    pkg = os.path.join(root, "neural_nets")
    shutil.rmtree(pkg)
    shutil.copytree(KIT.path("solutions", A1, "neural_nets"), pkg)
    path = os.path.join(pkg, "functional.py")
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    right = "return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))"
    assert source.count(right) == 1, "the reference sigmoid changed: update this mutation"
    source = source.replace(right, "return np.where(x >= 0, z / (1.0 + z), 1.0 / (1.0 + z))")  # sigmoid(-x)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(source)
    return root


def _lines(capsys):
    return capsys.readouterr().out.splitlines()


def test_starter_lists_what_to_write_and_where(a1_starter, capsys):
    assert checks.check("functional", root=a1_starter) is False
    out = _lines(capsys)
    rows = [ln for ln in out if ln.startswith(("PASS", "FAIL"))]
    assert rows and all(ln.startswith("FAIL") for ln in rows)
    assert "Traceback" not in "\n".join(out)
    todo = [ln for ln in out if ln.startswith("to do: write ")]
    assert todo == [ln for ln in todo if ln.endswith(" in neural_nets/functional.py")] and len(todo) == 1
    for name in ("sigmoid", "relu", "softmax", "cross_entropy"):
        assert re.search(r"\b%s\b" % name, todo[0]), todo[0]
    assert any(ln.startswith("some checks failed: 0/") for ln in out)


def test_narrowed_check_runs_only_that_functions_tests(a1_starter, capsys):
    checks.check("functional", root=a1_starter)
    everything = [ln for ln in _lines(capsys) if ln.startswith(("PASS", "FAIL"))]
    assert checks.check("functional", "softmax", root=a1_starter) is False
    rows = [ln for ln in _lines(capsys) if ln.startswith(("PASS", "FAIL"))]
    assert rows and len(rows) < len(everything)
    assert all(re.search(r"\bsoftmax\b", ln) for ln in rows), rows
    assert rows == [ln for ln in everything if re.search(r"\bsoftmax\b", ln)]


def test_unknown_part_or_name_is_one_line(a1_starter, capsys):
    assert checks.check("functionall", root=a1_starter) is False
    out = _lines(capsys)
    assert len(out) == 1 and "no public tests are named 'functionall'; choose from" in out[0] and "functional" in out[0]
    assert checks.check("functional", "Sigmoid", root=a1_starter) is False  # names are case-sensitive
    out = _lines(capsys)
    assert len(out) == 1 and "mentions Sigmoid" in out[0]


def test_wrong_code_says_which_file_to_edit(a1_wrong_sigmoid, capsys):
    assert checks.check("functional", root=a1_wrong_sigmoid) is False
    out = _lines(capsys)
    failed = [ln for ln in out if ln.startswith("FAIL")]
    assert failed and all("sigmoid" in ln for ln in failed), failed
    assert not [ln for ln in out if ln.startswith("to do:")]
    assert [ln for ln in out if ln.startswith("to fix: ") and ln.endswith("(edit neural_nets/functional.py): the first "
                                                                         "line under each says what is wrong")], out
    assert checks.check("functional", "relu", root=a1_wrong_sigmoid) is True
    assert _lines(capsys)[-1].startswith("all passed: ")


def _in_release(root, monkeypatch):
    monkeypatch.chdir(root)


def test_skip_if_unfinished_turns_a_stub_into_one_line(a1_starter, monkeypatch, capsys):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _in_release(a1_starter, monkeypatch)
    before = plt.get_fignums()
    with checks.skip_if_unfinished():
        plt.figure()
        raise NotImplementedError("neural_nets.functional.softmax")
    assert _lines(capsys) == ["skipped: softmax is not written yet (edit neural_nets/functional.py; its check above "
                              "says what is missing)"]
    assert plt.get_fignums() == before, "the half-drawn figure was closed"

    with checks.skip_if_unfinished():
        print(history)  # noqa: F821 - made by a cell that was skipped
    out = _lines(capsys)
    assert len(out) == 1 and out[0].startswith("skipped: this cell needs history, which an earlier cell makes")

    globals()["best_learning_rate"] = ...
    try:
        with checks.skip_if_unfinished():
            checks.chosen("best_learning_rate")
            raise AssertionError("chosen() let a placeholder through")
    finally:
        del globals()["best_learning_rate"]
    assert _lines(capsys) == ["skipped: choose a value for best_learning_rate first (replace the ... where "
                              "best_learning_rate is set)"]


def test_real_errors_are_not_hidden(a1_starter, monkeypatch, capsys):
    _in_release(a1_starter, monkeypatch)
    with pytest.raises(ValueError, match="shapes"):
        with checks.skip_if_unfinished():
            raise ValueError("shapes (2,3) and (4,) not aligned")
    with pytest.raises(TypeError):
        with checks.skip_if_unfinished():
            None + 1
    assert _lines(capsys) == []


def test_chosen_outside_a_guard_renders_as_one_line():
    globals()["final_lr"] = ...
    try:
        with pytest.raises(checks.Unchosen) as info:
            checks.chosen("final_lr")
    finally:
        del globals()["final_lr"]
    assert info.value._render_traceback_() == ["Unchosen: choose a value for final_lr first (replace the ... where "
                                               "final_lr is set)"]
    globals()["final_lr"] = 0.01
    try:
        checks.chosen("final_lr")  # a chosen value passes
    finally:
        del globals()["final_lr"]
