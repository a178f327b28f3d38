"""Instructor tools: batch grading of a generated class, resume, Gradescope export zips, the class
report (statuses, misconceptions, charts, escaping), grades.csv with entry numbers and statuses, the
roster join, the Canvas export, and the similarity check within a class and against archives."""
import csv
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import batch, report
from autograder.report import summarise
from autograder.selfcheck import load_mistakes
from autograder.similarity import compare, fingerprints

from conftest import A1, KIT, validate_schema

_spec = importlib.util.spec_from_file_location("make_class", KIT.path("bench", "make_class.py"))
make_class_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_class_mod)


def graded_class_once(tmp_path_factory):
    """100 generated A1 submissions (reference, starter, missing files, every catalogued mistake, hostile
    variants; folders, nested folders, zips), graded by the batch with 2 workers: once per test session, shared
    by this file and test_report_html.py (the folder lives in the session's base temp; a half-finished one is
    resumed)."""
    base = tmp_path_factory.getbasetemp() / "graded-class-a1-100"
    done = base / "done.json"
    if done.exists():
        with open(done) as fh:
            saved = json.load(fh)
        return saved["plan"], saved["out"], saved["summary"]
    subs = base / "subs"
    if subs.exists():
        shutil.rmtree(subs)
    plan = make_class_mod.make_class(KIT, A1, str(subs), n=100, seed=1)
    out = str(base / "out")
    summary = batch.run_batch(A1, str(subs), out, workers=2, progress=False, kit=KIT)
    with open(done, "w") as fh:
        json.dump({"plan": plan, "out": out, "summary": summary}, fh)
    return plan, out, summary


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    return graded_class_once(tmp_path_factory)


def _results(out, key):
    with open(os.path.join(out, "results", key + ".json")) as fh:
        return json.load(fh)


def test_every_submission_is_graded_to_its_expected_total(graded_class):
    plan, out, summary = graded_class
    assert summary["total"] == summary["graded"] + summary["skipped"] == 100
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
        elif variant == "hostile-html-injection":
            assert data["score"] < full and "<script>" in json.dumps(data["tests"]), row
        elif variant == make_class_mod.MISSING:
            assert data["score"] < full and report.MISSING in data["output"], row
        else:
            feedback = "\n".join(t["output"] for t in data["tests"])
            assert data["score"] < full, row
            m = mistakes[variant]
            assert (m.get("expect") or m["function"].split(".")[-1]) in feedback, (row, feedback[:500])


def _status_for(variant):
    return {"starter": report.NOT_DONE, make_class_mod.MISSING: report.MISSING_FILES}.get(variant, report.GRADED)


def test_grades_csv_has_one_row_per_submission_with_names_points_entries_and_status(graded_class):
    plan, out, _ = graded_class
    with open(os.path.join(out, "grades.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["submission"] for r in rows] == sorted(p["key"] for p in plan)
    by_key = {r["submission"]: r for r in rows}
    reference = _results(out, next(p["key"] for p in plan if p["variant"] == "reference"))
    # one column per test, headed by its Gradescope entry number, its name, public/hidden and its points
    want = ["%s %s (%s, %g pt)" % (t["number"], t["name"], "public" if t["extra_data"]["public"] else "hidden",
                                   t["max_score"]) for t in reference["tests"]]
    assert list(rows[0])[7:] == want and list(rows[0])[:7] == ["submission", "name", "email", "sid", "status",
                                                                "total", "max"]
    assert any("(hidden," in h for h in want) and any("(public," in h for h in want)
    for p in plan:
        row = by_key[p["key"]]
        assert row["name"] == p["name"]
        data = _results(out, p["key"])
        assert float(row["total"]) == data["score"] and float(row["max"]) == sum(t["max_score"] for t in data["tests"])
        assert [float(row[h]) for h in want] == [t["score"] for t in data["tests"]]
        assert row["status"] == _status_for(p["variant"]), (p, row["status"])


def test_blank_starters_count_once_by_status_not_among_failure_messages(graded_class):
    """The issue's complaint: one blank starter filled 11 of 25 rows of 'other failure messages'."""
    plan, out, _ = graded_class
    results = {p["key"]: _results(out, p["key"]) for p in plan}
    summary = summarise(results)
    starters = sorted(p["key"] for p in plan if p["variant"] == "starter")
    assert starters and summary["by_status"][report.NOT_DONE] == starters
    assert summary["by_status"][report.MISSING_FILES] == sorted(p["key"] for p in plan
                                                               if p["variant"] == make_class_mod.MISSING)
    assert not any("not implemented" in m for m, _ in summary["other_messages"])
    # the same results with every starter's feedback counted as before would list one row per stub
    assert sum(1 for t in results[starters[0]]["tests"] if report.NOT_IMPLEMENTED in t["output"]) > 10
    text = open(os.path.join(out, "report.md")).read()
    assert "| not implemented | %d |" % len(starters) in text


def test_score_histogram_has_whole_counts_and_pass_rate_labels_are_not_cut(tmp_path):
    """Three submissions: matplotlib's default locator puts 0.25-steps on the count axis; the report must not.
    Long test names: the saved chart must hold every label (bbox_inches="tight")."""
    import matplotlib.image

    names = ["test number %d whose name is long enough to overflow a narrow chart: %s" % (i, "x" * 60)
             for i in range(3)]
    results = {"s%d" % k: {"score": float(k), "tests": [
        {"name": n, "number": "1.%d" % (i + 1), "score": float(k >= i + 1), "max_score": 1.0, "output": "",
         "visibility": "visible", "extra_data": {"public": True}} for i, n in enumerate(names)]} for k in range(3)}
    summary = summarise(results)
    figs = {}
    report._plots(summary, str(tmp_path), keep=figs)
    ticks = figs["scores.png"].axes[0].get_yticks()
    assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks), ticks
    fig = figs["pass_rate.png"]
    labels = [" ".join(t.get_text().split()) for t in fig.axes[0].get_yticklabels()]
    assert labels == ["1.%d %s" % (i + 1, n) for i, n in enumerate(names)], "whole names, with entry numbers"
    fig.canvas.draw()
    content = fig.get_tightbbox(fig.canvas.get_renderer())        # every label, in inches
    height, width = matplotlib.image.imread(str(tmp_path / "pass_rate.png")).shape[:2]
    assert width >= content.width * 110 - 3 and height >= content.height * 110 - 3, (width, height, content)


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
    with open(os.path.join(out, "grades.csv"), newline="") as fh:
        assert {r["submission"]: r["status"] for r in csv.DictReader(fh)}["student003"] == report.NOT_GRADED
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
        for n in (111, 222, 333):
            for rel in KIT.assignment(A1).required_files:
                text = open(KIT.path("student_starter" if n == 222 else "solutions", A1, rel)).read()
                zf.writestr("assignment_9_export/submission_%d/%s" % (n, rel), text)
        zf.writestr("assignment_9_export/submission_metadata.yml",
                    "submission_111:\n  :submitters:\n  - :name: Ada Lovelace\n    :sid: '42'\n    :email: ada@x.edu\n"
                    "  :score: 0.0\nsubmission_222:\n  :submitters:\n  - :name: Alan Turing\n    :email: alan@x.edu\n"
                    "  - :name: Grace Hopper\n    :email: grace@x.edu\n"
                    "submission_333:\n  :submitters:\n  - :name: Charles Babbage\n    :email: cb@x.edu\n")
        zf.writestr("../escape.txt", "no")
    assert ref
    out = str(tmp_path / "out")
    batch.run_batch(A1, str(export), out, workers=2, progress=False, kit=KIT)
    with open(os.path.join(out, "grades.csv"), newline="") as fh:
        rows = {r["submission"]: r for r in csv.DictReader(fh)}
    assert rows["submission_111"]["name"] == "Ada Lovelace" and rows["submission_111"]["sid"] == "42"
    assert float(rows["submission_111"]["total"]) == float(rows["submission_111"]["max"]) > 0
    assert rows["submission_222"]["name"] == "Alan Turing; Grace Hopper" and float(rows["submission_222"]["total"]) == 0
    assert rows["submission_222"]["status"] == report.NOT_DONE
    assert not (tmp_path / "escape.txt").exists()
    # the export's files are compared before its temporary folder goes: 111 and 333 are the same code
    with open(os.path.join(out, "similarity.json")) as fh:
        sim = json.load(fh)
    assert [(p["a"], p["b"]) for p in sim["within"] if p["similarity"] >= 0.9] == [("submission_111", "submission_333")]
    # without a roster, the Canvas file has one row per submitter (a group gives two)
    with open(os.path.join(out, "grades-canvas.csv"), newline="") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0] == batch.CANVAS_HEADER + [KIT.assignment(A1).title]
    assert canvas[1][0] == "Points Possible" and float(canvas[1][5]) == float(rows["submission_111"]["max"])
    assert [(r[0], r[2], float(r[5])) for r in canvas[2:]] == [
        ("Ada Lovelace", "42", float(rows["submission_111"]["total"])), ("Alan Turing", "", 0.0),
        ("Grace Hopper", "", 0.0), ("Charles Babbage", "", float(rows["submission_333"]["total"]))]


def test_bad_input_is_one_clear_line(tmp_path):
    with pytest.raises(batch.BatchError, match="does not exist; give a folder of submissions"):
        batch.discover(str(tmp_path / "nope"), str(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(batch.BatchError, match="no submissions found"):
        batch.discover(str(tmp_path / "empty"), str(tmp_path))
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(batch.BatchError, match="could not read .* as a zip"):
        batch.discover(str(tmp_path / "bad.zip"), str(tmp_path))


# ---------------------------------------------------------------- roster and Canvas
def _copy_graded(out, dest):
    """A new output folder holding the graded class's results: a batch run on it grades nothing again."""
    os.makedirs(dest)
    shutil.copytree(os.path.join(out, "results"), os.path.join(dest, "results"))
    return str(dest)


def _write_csv(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)
    return str(path)


def test_roster_join_flags_strangers_lists_the_absent_and_exports_canvas(graded_class, tmp_path):
    plan, out, _ = graded_class
    subs = os.path.join(os.path.dirname(out), "subs")
    with_meta = [p for p in plan if p["layout"] != "bare-zip"]
    left_out = {with_meta[0]["key"], with_meta[1]["key"]}              # submitted, but not on the roster
    rows = [["First Name", "Last Name", "SID", "Email", "Role", "Sections"],
            ["Ida", "Staff", "", "ta@example.edu", "TA", ""]]
    how = {}
    for n, p in enumerate(with_meta):
        if p["key"] in left_out:
            continue
        i = int(p["key"][len("student"):])
        email = "%s@example.edu" % p["key"]
        if n % 3 == 0:
            email, how[p["key"]] = "", "matched (SID)"                   # no email: joined by SID
        else:
            email, how[p["key"]] = (email.upper() if n % 5 == 0 else email), "matched (email)"
        rows.append([p["name"].rsplit(" ", 1)[0], p["name"].rsplit(" ", 1)[-1], str(100000 + i), email, "Student",
                     "S%d" % (i % 2)])
    rows += [["Absent", "Person", "999001", "absent@example.edu", "Student", "S1"],
             ["Also", "Missing", "999002", "", "", ""]]
    roster = _write_csv(tmp_path / "roster.csv", rows)
    out2 = _copy_graded(out, tmp_path / "out")
    summary = batch.run_batch(A1, subs, out2, workers=2, progress=False, kit=KIT, roster=roster, similarity=False)
    assert summary["graded"] == 0, "the results were there: nothing is graded again"
    strangers = sorted(left_out | {p["key"] for p in plan if p["layout"] == "bare-zip"})
    assert summary["not_on_roster"] == strangers and summary["no_submission"] == 2

    with open(os.path.join(out2, "grades.csv"), newline="") as fh:
        graded = list(csv.DictReader(fh))
    by_key = {r["submission"]: r for r in graded if r["submission"]}
    assert len(by_key) == 100
    for key, row in by_key.items():
        assert row["roster"] == ("not on roster" if key in strangers else how[key]), (key, row["roster"])
    absent = [r for r in graded if not r["submission"]]
    assert [(r["name"], r["sid"], r["status"], r["total"]) for r in absent] == [
        ("Absent Person", "999001", report.NO_SUBMISSION, "0"), ("Also Missing", "999002", report.NO_SUBMISSION, "0")]
    assert not any(r["email"] == "ta@example.edu" for r in graded), "staff rows of the roster are not students"

    with open(os.path.join(out2, "grades-canvas.csv"), newline="") as fh:
        canvas = list(csv.reader(fh))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", KIT.assignment(A1).title]
    full = max(float(r["max"]) for r in by_key.values())
    assert canvas[1] == ["Points Possible", "", "", "", "", "%g" % full]
    students = [r for r in rows[2:]]
    assert len(canvas) == 2 + len(students)
    by_sid = {r["sid"]: r for r in by_key.values()}
    for person, line in zip(students, canvas[2:]):
        assert line[0] == "%s, %s" % (person[1], person[0]) and line[2] == person[2] and line[4] == person[5]
        if person[2] in by_sid:
            assert float(line[5]) == _results(out, by_sid[person[2]]["submission"])["score"]
        else:
            assert line[5] == "", "no submission: left blank, so Canvas keeps what it has"
    with open(os.path.join(out2, "roster.json")) as fh:
        assert json.load(fh)["not_on_roster"] == strangers
    index = open(os.path.join(out2, "report", "index.html"), encoding="utf-8").read()
    assert "Not on the roster</b> (%d)" % len(strangers) in index and "Absent Person" in index


@pytest.mark.parametrize("content, error", [
    (None, "roster .* does not exist; export it from Gradescope"),
    ([["Name", "Section"], ["Ada", "1"]], "has no Email or SID column \\(its header: Name, Section\\)"),
    ([["Name", "Email"], ["Ada", "ada@x.edu"], ["Ada L.", "ADA@x.edu"]],
     "lists email ADA@x.edu twice \\(lines 2 and 3\\)"),
    ([["Name", "Email", "Role"], ["Prof", "p@x.edu", "Instructor"]], "has no students"),
    ([["Name", "Email", "SID"], ["Ada", "", ""]], "line 2 has neither an email nor a SID"),
    (b"Name,Email\nJos\xe9,j@x.edu\n", "is not UTF-8 text"),
])
def test_a_bad_roster_is_one_clear_line_and_writes_nothing(tmp_path, content, error):
    path = tmp_path / "roster.csv"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        _write_csv(path, content)
    out = tmp_path / "out"
    with pytest.raises(batch.BatchError, match=error) as info:
        batch.run_batch(A1, str(tmp_path / "no-such-input"), str(out), kit=KIT, roster=str(path))
    assert "\n" not in str(info.value)
    assert not out.exists()


def test_cli_bad_roster_exits_2_with_one_line(tmp_path):
    _write_csv(tmp_path / "roster.csv", [["Name", "Section"], ["Ada", "1"]])
    (tmp_path / "subs").mkdir()
    proc = subprocess.run([sys.executable, "-m", "autograder", "batch", A1, str(tmp_path / "subs"), "--out",
                           str(tmp_path / "out"), "--roster", str(tmp_path / "roster.csv")],
                          cwd=KIT.root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: roster ")
    assert "no Email or SID" in proc.stderr
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- the web report: escaping
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "nav", "a", "h1", "h2", "h3", "p", "table",
                "tr", "th", "td", "span", "div", "pre", "code", "img", "b", "i", "ul", "li", "br"}


def _tags_and_text(path):
    """(set of tag names, attributes named on*, the page's text) of an HTML file, by the standard parser."""
    import html.parser

    class P(html.parser.HTMLParser):
        tags, handlers, text = set(), [], []

        def handle_starttag(self, tag, attrs):
            self.tags.add(tag)
            self.handlers += [k for k, _ in attrs if k.startswith("on")]

        def handle_data(self, data):
            self.text.append(data)

    p = P()
    p.tags, p.handlers, p.text = set(), [], []
    p.feed(open(path, encoding="utf-8").read())
    return p.tags, p.handlers, "".join(p.text)


def test_web_report_escapes_everything_a_student_controls(tmp_path):
    """Names, test feedback, the summary, printed output and code of a similarity pair: shown as text, never markup."""
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    def results(key, score):
        return {"score": score, "output": "summary " + HOSTILE, "extra_data": {"batch": {
            "key": key, "name": HOSTILE, "email": HOSTILE, "sid": HOSTILE}},
            "tests": [{"name": "test " + HOSTILE, "number": "1.1", "score": score, "max_score": 1.0,
                       "visibility": "visible", "output": "feedback " + HOSTILE + "\nLikely cause: " + HOSTILE,
                       "extra_data": {"public": True}}]}
    for key, score in (("alice", 0.0), ("bob", 1.0)):
        with open(out / "results" / (key + ".json"), "w") as fh:
            json.dump(results(key, score), fh)
    code = "def f(x):\n    return '</pre>%s'\n" % HOSTILE
    pair = {"a": "alice", "b": "old/" + HOSTILE, "similarity": 0.4, "shared": 3,
            "regions": [["f.py", [[1, 2]], [[1, 2]]]]}
    with open(out / "similarity.json", "w") as fh:
        json.dump({"threshold": 0.5, "method": HOSTILE, "archives": [{"label": HOSTILE, "n": 1}],
                   "within": [dict(pair, b="bob")], "cross": [pair], "counts": {"within": 0, "cross": 0},
                   "texts": {"alice": {"f.py": code}, "bob": {"f.py": code}, pair["b"]: {"f.py": code}}}, fh)
    report.write_report(str(out), A1)
    pages = [os.path.join(root, n) for root, _, names in os.walk(out / "report") for n in names]
    assert len(pages) == 5     # index, two students, two pairs
    for page in pages:
        tags, handlers, text = _tags_and_text(page)
        assert tags <= ALLOWED_TAGS and not handlers, (page, tags - ALLOWED_TAGS, handlers)
        assert HOSTILE in text, page        # shown, as text
        assert "Content-Security-Policy" in open(page).read() and "script-src" not in open(page).read()


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


def test_top_pairs_are_shown_below_the_threshold_when_none_reaches_it():
    """similarity.md and the web report show what normal looks like: the highest pairs, labelled as below."""
    from autograder.similarity import render

    extra = "\ndef scale(v, k):\n    out = []\n    for item in v:\n        out.append(item * k + 1)\n" \
            "    total = sum(out) / len(out)\n    return [o - total for o in out], total, len(out)\n"
    texts = {"alice": {"f.py": STARTER + COPIED + extra}, "bob": {"f.py": STARTER + OTHERS[0] + extra},
             "carol": {"f.py": STARTER + OTHERS[1] + DISGUISED[:120]}, "dave": {"f.py": STARTER + OTHERS[2]}}
    pairs = compare(texts, {"f.py": STARTER}, min_fingerprints=3)
    assert pairs and all(p["similarity"] < 0.5 for p in pairs), "precondition: no pair reaches 50%"
    text = render(pairs, texts, A1, threshold=0.5)
    assert "No pair within the class reaches the threshold." in text
    top = pairs[0]
    assert "| %.0f%% (below the threshold) | %d | %s | %s |" % (100 * top["similarity"], top["shared"], top["a"],
                                                               top["b"]) in text
    section = report._similarity_section({"threshold": 0.5, "method": "", "within": pairs[:3],
                                          "counts": {"within": 0}}, known=set(texts))
    assert section.count("below the threshold</span>") == len(pairs[:3]) and "what normal looks like" in section


def test_against_archives_reports_cross_term_pairs_apart_and_grades_nothing(graded_class, tmp_path):
    """A class member's function copied (renamed) from an earlier term is found; archives are compared, not graded."""
    plan, out, _ = graded_class
    subs = tmp_path / "subs"
    shutil.copytree(os.path.join(os.path.dirname(out), "subs"), subs)
    copier = next(p["key"] for p in plan if p["variant"] == "reference" and p["layout"] == "folder")
    with open(subs / copier / "neural_nets" / "functional.py", "a") as fh:
        fh.write(COPIED)
    fall = tmp_path / "fall2024"
    for who, extra in (("alice", DISGUISED), ("bob", "")):
        for rel in KIT.assignment(A1).required_files:
            text = open(KIT.path("solutions", A1, rel)).read()
            path = fall / who / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text + (extra if rel.endswith("functional.py") else ""))
    with zipfile.ZipFile(tmp_path / "spring2024.zip", "w") as zf:
        for rel in KIT.assignment(A1).required_files:
            zf.writestr("carol/" + rel, open(KIT.path("student_starter", A1, rel)).read())
    out2 = _copy_graded(out, tmp_path / "out")
    summary = batch.run_batch(A1, str(subs), out2, workers=2, progress=False, kit=KIT,
                              against=[str(fall), str(tmp_path / "spring2024.zip")])
    assert summary["graded"] == 0 and sorted(os.listdir(os.path.join(out2, "results"))) == \
        sorted(os.listdir(os.path.join(out, "results"))), "archived submissions are not graded"
    with open(os.path.join(out2, "grades.csv")) as fh:
        assert len(list(csv.DictReader(fh))) == 100
    with open(os.path.join(out2, "similarity.json")) as fh:
        sim = json.load(fh)
    assert sim["archives"] == [{"label": "fall2024", "n": 2}, {"label": "spring2024", "n": 1}]
    top = sim["cross"][0]
    assert (top["a"], top["b"]) == (copier, "fall2024/alice") and top["similarity"] >= 0.9
    assert not any("/" in k for p in sim["within"] for k in (p["a"], p["b"])), "archives are not within-class pairs"
    assert all(p["b"].startswith(("fall2024/", "spring2024/")) and "/" not in p["a"] for p in sim["cross"])
    md = open(os.path.join(out2, "similarity.md")).read()
    assert md.index("## Within the class") < md.index("## Against earlier terms") < md.index(
        "| %s | fall2024/alice |" % copier)
    with open(os.path.join(out2, "similarity.csv"), newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert {"a": copier, "b": "fall2024/alice", "kind": "cross-term"}.items() <= rows[[
        (r["a"], r["b"]) for r in rows].index((copier, "fall2024/alice"))].items()
    # the side-by-side page highlights the copied lines in both columns
    page = open(os.path.join(out2, "report", "pairs", "cross-01.html"), encoding="utf-8").read()
    marked = [line for line in page.split("<span") if line.startswith(' class="m"')]
    assert any("shifted = scores - scores.max" in m for m in marked) and any("m = z - z.max" in m for m in marked)
    index = open(os.path.join(out2, "report", "index.html"), encoding="utf-8").read()
    assert index.index("Pairs within this class") < index.index("This class against earlier terms") < \
        index.index("fall2024/alice (archived)")
