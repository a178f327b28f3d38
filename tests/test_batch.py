"""Instructor tools: batch grading of a generated class, resume, Gradescope export zips, the class
report's misconception counts, and the similarity check."""
import csv
import importlib.util
import json
import os
import zipfile

import pytest

from autograder import batch
from autograder.report import summarise
from autograder.selfcheck import load_mistakes
from autograder.similarity import compare, fingerprints

from conftest import A1, KIT, validate_schema

_spec = importlib.util.spec_from_file_location("make_class", KIT.path("bench", "make_class.py"))
make_class_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_class_mod)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    """100 generated A1 submissions (reference, starter, every catalogued mistake, hostile variants; folders,
    nested folders, zips), graded by the batch with 2 workers."""
    base = tmp_path_factory.mktemp("class")
    plan = make_class_mod.make_class(KIT, A1, str(base / "subs"), n=100, seed=1)
    out = str(base / "out")
    summary = batch.run_batch(A1, str(base / "subs"), out, workers=2, progress=False, kit=KIT)
    return plan, out, summary


def _results(out, key):
    with open(os.path.join(out, "results", key + ".json")) as fh:
        return json.load(fh)


def test_every_submission_is_graded_to_its_expected_total(graded_class):
    plan, out, summary = graded_class
    assert summary["total"] == summary["graded"] == 100
    mistakes = {m["id"]: m for m in load_mistakes(KIT, A1)}
    reference = next(row for row in plan if row["variant"] == "reference")
    full = sum(t["max_score"] for t in _results(out, reference["key"])["tests"])
    assert full > 0
    for row in plan:
        data = _results(out, row["key"])
        validate_schema(data)
        total = sum(t["max_score"] for t in data["tests"])
        assert total == full, (row, data["output"][:300])
        variant = row["variant"]
        if variant in ("reference", "hostile-forged-results", "hostile-print-flood"):
            assert data["score"] == full, (row, [t["output"][:200] for t in data["tests"] if t["score"] < t["max_score"]])
        elif variant == "starter":
            assert data["score"] == 0.0, row
        elif variant == "hostile-exit-at-import":
            assert data["score"] < full and "exit" in json.dumps(data["tests"]).lower(), row
        else:
            feedback = "\n".join(t["output"] for t in data["tests"])
            assert data["score"] < full, row
            m = mistakes[variant]
            assert (m.get("expect") or m["function"].split(".")[-1]) in feedback, (row, feedback[:500])


def test_grades_csv_has_one_row_per_submission_with_names_and_points(graded_class):
    plan, out, _ = graded_class
    with open(os.path.join(out, "grades.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["submission"] for r in rows] == sorted(p["key"] for p in plan)
    by_key = {r["submission"]: r for r in rows}
    for p in plan:
        row = by_key[p["key"]]
        assert row["name"] == p["name"]
        data = _results(out, p["key"])
        assert float(row["total"]) == data["score"] and float(row["max"]) == sum(t["max_score"] for t in data["tests"])
        tests = {t["name"]: t["score"] for t in data["tests"]}
        assert {k: float(v) for k, v in row.items() if k in tests} == tests


def test_report_counts_the_catalogued_misconceptions(graded_class):
    """Each mistake whose feedback names a 'Likely cause' is counted at least once per submission making it."""
    plan, out, _ = graded_class
    keys = [p["key"] for p in plan]
    results = {k: _results(out, k) for k in keys}
    summary = summarise(results)
    counts = {cause: n for cause, n, _ in summary["misconceptions"]}
    mistakes = {m["id"]: m for m in load_mistakes(KIT, A1)}
    checked = 0
    for mid, m in mistakes.items():
        makers = [p["key"] for p in plan if p["variant"] == mid]
        causes = [c for c in counts if m.get("expect") and m["expect"] in c]
        if not makers or not causes:
            continue
        assert sum(counts[c] for c in causes) >= len(makers), (mid, causes, makers)
        checked += 1
    assert checked >= 10, "most catalogued A1 mistakes carry a named diagnosis"
    text = open(os.path.join(out, "report.md")).read()
    top_cause, top_n, _ = summary["misconceptions"][0]
    assert "| %d | %s |" % (top_n, top_cause.replace("|", "\\|")) in text
    assert os.path.getsize(os.path.join(out, "scores.png")) > 1000 and os.path.exists(os.path.join(out, "pass_rate.png"))
    assert summary["n"] == 100 and summary["zeros"] >= 1 and summary["full_marks"] >= 1


def test_resume_grades_only_what_is_missing_and_retries_batch_errors(tmp_path, monkeypatch):
    make_class_mod.make_class(KIT, A1, str(tmp_path / "subs"), n=5, seed=2)
    out = str(tmp_path / "out")
    real = batch.run_autograder

    def flaky(source, submission, results_dir, root, **kw):
        if "student003" in root:
            raise RuntimeError("disk full")
        return real(source, submission, results_dir, root, **kw)

    monkeypatch.setattr(batch, "run_autograder", flaky)
    first = batch.run_batch(A1, str(tmp_path / "subs"), out, workers=2, progress=False, kit=KIT, similarity=False)
    assert first["graded"] == 5
    broken = _results(out, "student003")
    validate_schema(broken)
    assert broken["score"] == 0 and "could not grade this submission (RuntimeError: disk full)" in broken["output"]
    assert "student003" in open(os.path.join(out, "report.md")).read()
    monkeypatch.setattr(batch, "run_autograder", real)
    os.unlink(os.path.join(out, "results", "student001.json"))
    again = batch.run_batch(A1, str(tmp_path / "subs"), out, workers=2, progress=False, kit=KIT, similarity=False)
    assert (again["graded"], again["skipped"]) == (2, 3), "the missing one and the batch error are graded again"
    assert "batch_error" not in _results(out, "student003")["extra_data"]
    with open(os.path.join(out, "grades.csv")) as fh:
        assert len(fh.read().strip().splitlines()) == 6


def test_gradescope_export_zip_with_yaml_names(tmp_path):
    """Gradescope's export: assignment_<id>_export/submission_<n>/..., names in submission_metadata.yml."""
    ref = open(KIT.path("solutions", A1, "neural_nets", "functional.py")).read()
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as zf:
        for n in (111, 222):
            for rel in KIT.assignment(A1).required_files:
                text = open(KIT.path("solutions", A1, rel)).read() if n == 111 else \
                    open(KIT.path("student_starter", A1, rel)).read()
                zf.writestr("assignment_9_export/submission_%d/%s" % (n, rel), text)
        zf.writestr("assignment_9_export/submission_metadata.yml",
                    "submission_111:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '42'\n    :email: ada@x.edu\n"
                    "  :score: 0.0\nsubmission_222:\n  :submitters:\n  - :name: Alan Turing\n    :email: alan@x.edu\n"
                    "  - :name: Grace Hopper\n    :email: grace@x.edu\n")
        zf.writestr("../escape.txt", "no")
    assert ref
    out = str(tmp_path / "out")
    batch.run_batch(A1, str(export), out, workers=2, progress=False, kit=KIT)
    with open(os.path.join(out, "grades.csv"), newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    assert rows["submission_111"]["name"] == "Ada Lovelace" and rows["submission_111"]["sid"] == "42"
    assert float(rows["submission_111"]["total"]) == float(rows["submission_111"]["max"]) > 0
    assert rows["submission_222"]["name"] == "Alan Turing; Grace Hopper" and float(rows["submission_222"]["total"]) == 0
    assert not (tmp_path / "escape.txt").exists()


def test_bad_input_is_one_clear_line(tmp_path):
    with pytest.raises(batch.BatchError, match="does not exist; give a folder of submissions"):
        batch.discover(str(tmp_path / "nope"), str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(batch.BatchError, match="no submissions found"):
        batch.discover(str(tmp_path / "empty"), str(tmp_path))
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(batch.BatchError, match="could not read .* as a zip"):
        batch.discover(str(tmp_path / "bad.zip"), str(tmp_path))


# ---------------------------------------------------------------- similarity
COPIED = '''
def softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    out = e / total
    for row in range(out.shape[0]):
        assert abs(out[row].sum() - 1.0) < 1e-6, "row %d" % row
    return out
'''
DISGUISED = '''
def softmax(z):
    # my own work
    m = z - z.max(axis=1, keepdims=True)
    ex = np.exp(m)
    s = ex.sum(axis=1, keepdims=True)
    result = ex / s
    for i in range(result.shape[0]):
        assert abs(result[i].sum() - 1.0) < 1e-9, "bad row %d" % i
    return result
'''
OTHERS = [
    "def softmax(x):\n    return np.exp(x - np.max(x, 1)[:, None]) / np.exp(x - np.max(x, 1)[:, None]).sum(1)[:, None]\n",
    "def softmax(x):\n    import scipy.special\n    return scipy.special.softmax(x, axis=1)\n",
    "def softmax(x):\n    y = np.exp(x)\n    return y / np.sum(y, axis=-1, keepdims=True)\n",
]
STARTER = "import numpy as np\n\n\ndef helper(values, axis=1):\n    values = np.asarray(values, dtype=float)\n" \
          "    return values.reshape(values.shape[0], -1).mean(axis=axis, keepdims=True)\n"


def test_similarity_finds_a_renamed_reformatted_copy_and_ignores_the_starter():
    texts = {"alice": {"f.py": STARTER + COPIED}, "bob": {"f.py": STARTER + DISGUISED}}
    texts.update({"s%d" % i: {"f.py": STARTER + other} for i, other in enumerate(OTHERS)})
    texts["carol"] = {"f.py": STARTER}
    texts["dave"] = {"f.py": STARTER + "\n"}
    pairs = compare(texts, {"f.py": STARTER}, max_share=0.5, min_fingerprints=3)
    top = pairs[0]
    assert {top["a"], top["b"]} == {"alice", "bob"} and top["similarity"] >= 0.9
    rel, a_ranges, b_ranges = top["regions"][0]
    assert rel == "f.py" and a_ranges[0][0] >= STARTER.count("\n"), "the match starts where the copied function does"
    assert not any({p["a"], p["b"]} == {"carol", "dave"} for p in pairs), "starter-only submissions are not similar"
    assert all(p["similarity"] < 0.5 for p in pairs[1:])


def test_fingerprints_survive_renaming_but_not_rewriting():
    a, b = fingerprints(COPIED), fingerprints(DISGUISED)
    assert a and set(a) == set(b)
    assert not set(a) & set(fingerprints(OTHERS[0]))
    broken = COPIED.replace("def softmax(scores):", "def softmax(scores:")    # does not tokenize
    assert len(fingerprints(broken)) >= 3, "broken code is still compared (word-level fallback)"
