"""Points and figures from one source: the handout's table generated from the tests, the `points` command,
renumbering warnings between releases, and the guide's recipe "add a graded function" on a copy of A1."""
import json
import re
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import points
from autograder.config import Kit
from autograder.markers import normalize
from autograder.selfcheck import caught_by_public, check_assignment, load_mistakes, load_variants

from conftest import A1, KIT

HANDOUT = "assignments/%s/handout.md" % A1
FUNCTIONAL_ROW = "`neural_nets/functional.py`"


def copy_kit(dest, aid=A1):
    """A kit holding one assignment: its spec and tests, reference and committed starter (the engine is the venv's)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache")
    for top in ("assignments", "solutions", "student_starter"):
        shutil.copytree(KIT.path(top, aid), os.path.join(str(dest), top, aid), ignore=ignore)
    return Kit(str(dest))


def cli(kit, *args):
    """``python -m autograder ARGS`` run in the kit's root, as the guide writes it."""
    return subprocess.run([sys.executable, "-m", "autograder", *args], cwd=kit.root, capture_output=True, text=True,
                          timeout=900)


def read(kit, rel):
    with open(kit.path(*rel.split("/")), encoding="utf-8") as fh:
        return fh.read()


def write(kit, rel, text):
    with open(kit.path(*rel.split("/")), "w", encoding="utf-8") as fh:
        fh.write(text)


def edit(kit, rel, find, new, before=False):
    text = read(kit, rel)
    assert text.count(find) == 1, (rel, find)
    write(kit, rel, text.replace(find, new + find if before else find + new))


def append(kit, rel, text):
    write(kit, rel, read(kit, rel) + text)


def table_rows(text, where=HANDOUT):
    """label -> (public, hidden, total) of the table in a handout (or a README: the same table without comment)."""
    lines = [ln for ln in text.split("\n") if ln.startswith("| ")]
    start = next(i for i, ln in enumerate(lines) if ln.startswith("| file | what you write"))
    rows = {}
    for ln in lines[start + 1:]:
        cells = points._cells(ln)
        rows[cells[0]] = tuple(points._number(c) for c in cells[-3:])
        if cells[0] == "**total**":
            break
    return rows


# ------------------------------------------------------------------ the committed handouts
@pytest.fixture(scope="module")
def figures():
    """aid -> (entries, summary) of every assignment, collected once for this module."""
    out = {}
    for aid in KIT.assignment_ids():
        entries = points.collect(KIT, aid)
        out[aid] = (entries, points.summary(KIT, aid, entries))
    return out


@pytest.mark.parametrize("aid", KIT.assignment_ids())
def test_committed_handout_table_matches_the_tests(aid, figures):
    """Every handout's committed table is the one the tests give (the build and `check` refuse it otherwise), and its
    total row adds up to the collected points, public and hidden apart."""
    entries, summary = figures[aid]
    table, rows, reason = points.handout_table(KIT, aid, entries)
    assert table is not None and table.spec, "%s: handout.md has no points table with a row list" % aid
    assert reason is None, reason
    total = table_rows(read(KIT, "assignments/%s/handout.md" % aid))["**total**"]
    assert total == (summary["public_points"], summary["hidden_points"], summary["points"])
    assert summary["points"] == sum(e["points"] for e in entries) > 0


# ------------------------------------------------------------------ the table, without collecting
ENTRIES = [
    {"number": "1.1", "key": "test_a.py::test_one", "name": "one", "points": 2.0, "visibility": "visible",
     "hidden": False, "graded": True, "cases": 1},
    {"number": "1.2", "key": "test_a.py::test_two", "name": "two", "points": 1.5, "visibility": "visible",
     "hidden": False, "graded": True, "cases": 3},
    {"number": "2.1", "key": "test_b.py::test_three", "name": "three", "points": 3.0, "visibility": "visible",
     "hidden": False, "graded": True, "cases": 1},
    {"number": "3.1", "key": "test_a_hidden.py::test_four", "name": "four", "points": 4.0,
     "visibility": "after_published", "hidden": True, "graded": True, "cases": 2},
    {"number": "3.2", "key": "test_a_hidden.py::test_helper", "name": "helper", "points": 0.0,
     "visibility": "after_published", "hidden": True, "graded": False, "cases": 1},
]
SPEC = """intro
<!-- points-table (rows and the tests they count)
`pkg/a.py`: test_a.py test_a_hidden.py::test_f*
`pkg/b.py`: test_b.py
-->
%s
<!-- end points-table -->
outro
"""


def _table(body, spec=SPEC):
    return points.Table(spec % body, "assignments/x/handout.md")


def _fresh_body():
    table = _table("")
    return "\n".join(points.render_table(table, points.assign_rows(table, ENTRIES)))


def test_table_generated_from_entries():
    """Rows sum the points of the tests their patterns name, public and hidden apart; the total row adds up;
    an ungraded test needs no row; the regenerated table is not stale."""
    body = _fresh_body()
    assert body.split("\n") == [
        "| file | what you write | public | hidden | total |", "|---|---|---:|---:|---:|",
        "| `pkg/a.py` | | 3.5 | 4 | 7.5 |", "| `pkg/b.py` | | 3 | | 3 |",
        "| **total** | | **6.5** | **4** | **10.5** |"]
    table = _table(body)
    assert points.stale_reason(table, points.assign_rows(table, ENTRIES)) is None
    # the "what you write" text of the committed rows is kept
    kept = _table(body.replace("| `pkg/a.py` | |", "| `pkg/a.py` | `f`, `g` |"))
    assert points.assign_rows(kept, ENTRIES)[0][1] == "`f`, `g`"


@pytest.mark.parametrize("change,message", [
    (("| 3.5 |", "| 3 |"), "says 3 public points for row `pkg/a.py`, the tests give 3.5"),
    (("**10.5**", "**10**"), "says 10 total points for row **total**, the tests give 10.5"),
    (("| `pkg/b.py` | | 3 | | 3 |\n", ""), "it has no row `pkg/b.py`"),
])
def test_stale_table_is_one_line_naming_the_row_and_the_figure(change, message):
    table = _table(_fresh_body().replace(*change))
    reason = points.stale_reason(table, points.assign_rows(table, ENTRIES))
    assert message in reason and "\n" not in reason
    assert reason.startswith("assignments/x/handout.md: ") and "points x --write" in reason


@pytest.mark.parametrize("spec_line,message", [
    ("`pkg/b.py`: test_b.py", None),
    ("`pkg/b.py`: test_c.py", "test_b.py::test_three (3 points, entry 2.1) is in no row of the points table"),
    ("`pkg/b.py`: test_b.py test_a.py::test_one", "test_a.py::test_one is counted in 2 rows"),
    ("`pkg/b.py`: test_b.py test_nothing.py", "pattern test_nothing.py of row `pkg/b.py` matches no graded test"),
    ("`pkg/b.py` test_b.py", "write each row of the points-table comment as"),
])
def test_row_list_errors(spec_line, message):
    spec = SPEC.replace("`pkg/b.py`: test_b.py", spec_line)
    if message is None:
        points.assign_rows(_table("", spec), ENTRIES)
        return
    with pytest.raises(points.PointsError, match="assignments/x/handout.md:") as err:
        points.assign_rows(_table("", spec), ENTRIES)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_unclosed_region_and_bare_marker():
    with pytest.raises(points.PointsError, match="has no <!-- end points-table --> after its table"):
        points.Table("<!-- points-table -->\n| a |\n", "h.md")
    with pytest.raises(points.PointsError, match="never closed"):
        points.Table("<!-- points-table\n`a`: test_a.py\n", "h.md")
    # a bare marker: one row per test file, in Gradescope's order
    table = points.Table("<!-- points-table -->\n<!-- end points-table -->\n", "h.md")
    assert points.render_table(table, points.assign_rows(table, ENTRIES)) == [
        "| tests | public | hidden | total |", "|---|---:|---:|---:|", "| `test_a.py` | 3.5 | | 3.5 |",
        "| `test_b.py` | 3 | | 3 |", "| `test_a_hidden.py` | | 4 | 4 |", "| **total** | **6.5** | **4** | **10.5** |"]


def test_renumbering_lines():
    new = [dict(e) for e in ENTRIES]
    new[1]["number"], new[2]["number"] = "1.3", "2.2"  # a test inserted before them
    new = new[:3]  # test_four removed; test_helper moved to a renamed file:
    new.append(dict(ENTRIES[4], key="test_renamed_hidden.py::test_helper", number="4.1"))
    assert points.renumbering(ENTRIES, new) == [
        "entry 1.2 'two' is now 1.3", "entry 2.1 'three' is now 2.2", "entry 3.1 'four' is gone (4 points)",
        "entry 3.2 'helper' is now 4.1"]
    assert points.renumbering(ENTRIES, ENTRIES) == []
    lines = points.renumbering_message(A1, ["entry %d.1 'x' is now %d.1" % (i, i + 1) for i in range(1, 14)], "d")
    assert len(lines) == 1 + points.MAX_MOVES + 2 and lines[-2] == "  ... and 3 more"
    assert "moves or removes 13 Gradescope entries" in lines[0] and "regrade" in lines[-1]


# ------------------------------------------------------------------ collection grades nothing
def test_collection_runs_no_student_code(tmp_path):
    """Collecting imports the tests and oracles only: a test module that calls student code at import time stops it
    with one line (the sandbox is a stand-in that refuses every call; no worker exists)."""
    kit = copy_kit(tmp_path)
    entries = points.collect(kit, A1)
    assert [e["key"] for e in entries] == [e["key"] for e in points.collect(KIT, A1)]
    append(kit, "assignments/%s/tests/public/test_data.py" % A1,
           '\n\nFIRST = sandbox.call("neural_nets.functional:relu", 1.0)\n')
    with pytest.raises(points.PointsError) as err:
        points.collect(kit, A1)
    assert "calls student code (sandbox.call) at import time" in str(err.value) and "\n" not in str(err.value)


def test_stale_handout_stops_build_and_check_and_points_write_fixes_it(tmp_path):
    kit = copy_kit(tmp_path)
    committed = read(kit, HANDOUT)
    public = table_rows(committed)[FUNCTIONAL_ROW][0]
    row = next(ln for ln in committed.split("\n") if ln.startswith("| %s |" % FUNCTIONAL_ROW))
    cells = points._cells(row)
    stale_row = "| " + " | ".join(cells[:2] + [points.fmt(public - 1)] + cells[3:]) + " |"
    stale = committed.replace(row, stale_row)
    assert table_rows(stale)[FUNCTIONAL_ROW][0] == public - 1
    write(kit, HANDOUT, stale)
    want = "%s: the points table says %s public points for row %s, the tests give %s" % (
        HANDOUT, points.fmt(public - 1), FUNCTIONAL_ROW, points.fmt(public))
    build = cli(kit, "build", A1, "--dist", "dist")
    assert build.returncode == 2 and build.stderr.strip().splitlines() == ["error: " + want + "; run `.venv/bin/"
                                                                           "python -m autograder points %s --write`"
                                                                           " and commit" % A1]
    assert not os.path.exists(kit.path("dist"))  # nothing written
    check = cli(kit, "check", A1, "--seeds", "1")
    assert check.returncode == 2 and want in check.stderr and "preparing" not in check.stderr + check.stdout
    report = cli(kit, "points", A1)
    assert report.returncode == 1 and want in report.stdout
    fixed = cli(kit, "points", A1, "--write")
    assert fixed.returncode == 0 and "points table rewritten: " + HANDOUT in fixed.stdout, fixed.stdout + fixed.stderr
    assert read(kit, HANDOUT) == committed


def test_points_command_prints_the_figures(tmp_path):
    kit = copy_kit(tmp_path)
    proc = cli(kit, "points", A1, "--entries")
    assert proc.returncode == 0, proc.stderr
    s = points.summary(kit, A1, points.collect(kit, A1))
    row = next(ln for ln in proc.stdout.splitlines() if ln.startswith(A1 + " "))
    assert row.split() == [A1, points.fmt(s["points"]), "(%s" % points.fmt(s["public_points"]), "+",
                           "%s)" % points.fmt(s["hidden_points"]), str(s["entries"]), "(%d" % s["public_entries"],
                           "+", "%d)" % s["hidden_entries"], str(s["cases"]), str(s["mistakes"]),
                           "(%d)" % s["mistakes_public"], str(s["variants"])]
    assert s["mistakes"] == len(load_mistakes(kit, A1)) and s["variants"] == len(load_variants(kit, A1))
    assert "points table up to date" in proc.stdout
    assert "\n1.1    " in proc.stdout and "test_data.py::test_train_val_split" in proc.stdout


# ------------------------------------------------------------------ renumbering between two releases
def _zip_bytes(kit):
    return {n: open(kit.path("dist", n), "rb").read() for n in sorted(os.listdir(kit.path("dist")))}


def test_release_warns_when_entries_move(tmp_path):
    """Two builds of a modified copy: a new public test file sorts first and moves every entry; the build warns
    (at most MAX_MOVES lines, then a count), --strict-numbering refuses and writes nothing; without a manifest the
    previous zip in dist/ is read instead."""
    kit = copy_kit(tmp_path)
    first = cli(kit, "build", A1, "--dist", "dist")
    assert first.returncode == 0 and "warning" not in first.stderr, first.stderr
    old = json.loads(read(kit, "dist/%s-entries.json" % A1))["entries"]
    write(kit, "assignments/%s/tests/public/test_activations_extra.py" % A1,
          '"""An extra public test in a new file (sorts before test_data.py)."""\nimport numpy as np\n\n'
          'from autograder import graded, sandbox\n\n\n@graded(points=1)\ndef test_relu_is_nonnegative():\n'
          '    """relu never returns a negative value"""\n'
          '    out = sandbox.call("neural_nets.functional:relu", np.linspace(-3.0, 3.0, 13))\n'
          '    assert float(np.min(out)) >= 0.0, "relu returned a negative value"\n')
    edit(kit, HANDOUT, "`neural_nets/functional.py`: test_functional.py", " test_activations_extra.py")
    assert cli(kit, "points", A1, "--write").returncode == 0
    before = _zip_bytes(kit)
    strict = cli(kit, "build", A1, "--dist", "dist", "--strict-numbering")
    assert strict.returncode == 2 and "nothing was written" in strict.stderr
    assert "moves or removes %d Gradescope entries" % len(old) in strict.stderr
    assert _zip_bytes(kit) == before
    second = cli(kit, "build", A1, "--dist", "dist")
    assert second.returncode == 0, second.stderr
    lines = second.stderr.strip().splitlines()
    assert lines[0] == "warning: %s: this release moves or removes %d Gradescope entries of the previous one " \
                       "(dist/%s-entries.json):" % (A1, len(old), A1)
    assert lines[1] == "  entry 1.1 '%s' is now 2.1" % old[0]["name"]
    assert lines[1 + points.MAX_MOVES] == "  ... and %d more" % (len(old) - points.MAX_MOVES)
    assert "regrade" in lines[2 + points.MAX_MOVES] and len(lines) == 3 + points.MAX_MOVES
    new = json.loads(read(kit, "dist/%s-entries.json" % A1))["entries"]
    assert new[0]["key"] == "test_activations_extra.py::test_relu_is_nonnegative" and len(new) == len(old) + 1
    # back to the first layout, with the manifest gone: the entries of the zip in dist/ are compared
    os.unlink(kit.path("dist", "%s-entries.json" % A1))
    os.unlink(kit.path("assignments", A1, "tests", "public", "test_activations_extra.py"))
    write(kit, HANDOUT, read(kit, HANDOUT).replace(" test_activations_extra.py", ""))
    assert cli(kit, "points", A1, "--write").returncode == 0
    third = cli(kit, "build", A1, "--dist", "dist")
    assert third.returncode == 0, third.stderr
    assert "(dist/%s-autograder.zip):" % A1 in third.stderr
    assert "  entry 1.1 'relu never returns a negative value' is gone (1 point)" in third.stderr
    assert "  entry 2.1 '%s' is now 1.1" % old[0]["name"] in third.stderr


# ------------------------------------------------------------------ the guide's recipe, on a copy of A1
#: what the recipe adds, file by file; each text is quoted in the guide's section "Add a graded function"
RECIPE = {
    "solution": '''def leaky_relu(x, slope=0.01):
    """Leaky ReLU, element-wise: ``x`` where ``x > 0``, else ``slope * x``.

    Args:
        x: array of any shape.
        slope: the slope for negative inputs.

    Returns:
        array of the same shape as ``x``.
    """
    # BEGIN SOLUTION
    return np.where(x > 0, x, slope * x)
    # END SOLUTION


''',
    "oracle": '''

def leaky_relu(x, slope):
    return np.maximum(x, 0.0) + slope * np.minimum(x, 0.0)
''',
    "case": '''

@case()
def leaky_relu(rng):
    x = rng.normal(size=(4, 6))
    return {"x": x, "slope": 0.2, "expected": oracles.leaky_relu(x, 0.2), "misconceptions": {
        "you used the default slope 0.01, not the slope argument": oracles.leaky_relu(x, 0.01)}}
''',
    "check": '''def check_leaky_relu(c, _=None):
    close(sandbox.call_pure(F + ":leaky_relu", c["x"], slope=c["slope"]), c["expected"], name=F + ".leaky_relu",
          misconceptions=c["misconceptions"])


''',
    "checks entry": ', "leaky_relu": check_leaky_relu',
    "public test": '''

@graded(points=2)
def test_leaky_relu():
    """leaky_relu is x where x > 0 and slope * x elsewhere"""
    check_leaky_relu(public_case("leaky_relu"))
''',
    "hidden test": '''

@graded(points=1)
def test_leaky_relu_any_shape_and_slope(rng):
    """leaky_relu works on any shape and with any slope"""
    x = rng.normal(size=(2, 3, 4))
    slope = float(rng.uniform(0.05, 0.5))
    expect_close(sandbox.call(F + ":leaky_relu", x, slope=slope), oracles.leaky_relu(x, slope),
                 name=F + ".leaky_relu")
''',
    "mistake": '''
[[mistake]]
id = "leaky-relu-default-slope"
function = "neural_nets.functional.leaky_relu"
file = "neural_nets/functional.py"
description = "leaky_relu ignores its slope argument and uses 0.01"
find = "return np.where(x > 0, x, slope * x)"
replace = "return np.where(x > 0, x, 0.01 * x)"
expect = "not the slope argument"
''',
    "variant": '''
[[variant]]
id = "leaky-relu-maximum-minimum"
function = "neural_nets.functional.leaky_relu"
file = "neural_nets/functional.py"
description = "np.maximum(x, 0) + slope * np.minimum(x, 0)"
find = "return np.where(x > 0, x, slope * x)"
replace = "return np.maximum(x, 0.0) + slope * np.minimum(x, 0.0)"
''',
    "handout": "`leaky_relu`, ",
}
RECIPE_COMMANDS = [["starter", A1], ["fixtures", A1], ["points", A1, "--write"]]


def _recipe_section():
    guide = _doc("docs/instructor-guide.md")
    start = guide.index("### Add a graded function to an assignment")
    return guide[start:guide.index("\n## ", start)]


def test_recipe_in_the_guide_is_the_tested_one():
    """The guide's recipe quotes the very code, catalogue entries and commands the recipe test applies."""
    section = normalize(_recipe_section())
    for label, text in RECIPE.items():
        assert normalize(text.strip(", ")) in section, label
    assert "`relu`, `relu_grad`, `leaky_relu`, `softmax`" in _recipe_section()
    for args in RECIPE_COMMANDS:
        assert ".venv/bin/python -m autograder " + " ".join(args) in " ".join(_recipe_section().split()), args


def test_recipe_add_a_graded_function(tmp_path):
    """The guide's recipe (section 3, "Add a graded function to an assignment") on a copy of A1: leaky_relu with a
    2-point public test, a 1-point hidden test, an oracle, a case, a mistake and a variant. Each step the build needs
    is refused with one line until done; the starter gets a stub; the generated table shows the new points; both
    zips hold the function; the built zip grades the reference at full marks out of the new total, the starter at 0,
    catches the mistake in a public test and keeps the variant at full marks."""
    kit = copy_kit(tmp_path)
    baseline = cli(kit, "build", A1, "--dist", "dist")
    assert baseline.returncode == 0, baseline.stderr
    before = table_rows(read(kit, HANDOUT))
    tests = "assignments/%s/tests/" % A1
    # 1. the reference, between solution markers
    edit(kit, "solutions/%s/neural_nets/functional.py" % A1, "def softmax(scores):", RECIPE["solution"], before=True)
    refused = cli(kit, "build", A1, "--dist", "dist")
    assert refused.returncode == 2 and "student_starter/%s is out of date" % A1 in refused.stderr
    # 2. the starter
    assert cli(kit, *RECIPE_COMMANDS[0]).returncode == 0
    stub = read(kit, "student_starter/%s/neural_nets/functional.py" % A1)
    assert 'def leaky_relu(x, slope=0.01):' in stub and "slope * x)" not in stub
    assert 'raise NotImplementedError("neural_nets.functional.leaky_relu")' in stub
    # 3. the oracle, 4. the case builder, 5. the public test (appended: no entry moves), 6. the hidden test
    append(kit, tests + "oracles.py", RECIPE["oracle"])
    append(kit, tests + "cases.py", RECIPE["case"])
    public = tests + "public/test_functional.py"
    edit(kit, public, "#: case name (tests/cases.py) -> its check", RECIPE["check"], before=True)
    edit(kit, public, '"accuracy": check_accuracy', RECIPE["checks entry"])
    append(kit, public, RECIPE["public test"])
    append(kit, tests + "hidden/test_functional_hidden.py", RECIPE["hidden test"])
    refused = cli(kit, "build", A1, "--dist", "dist")
    assert refused.returncode == 2 and "the public fixtures of %s are out of date" % A1 in refused.stderr
    # 8. the fixtures
    made = cli(kit, *RECIPE_COMMANDS[1])
    assert made.returncode == 0 and "wrote assignments/%s/tests/fixtures" % A1 in made.stdout
    # 9. the catalogues
    append(kit, "assignments/%s/mistakes.toml" % A1, RECIPE["mistake"])
    append(kit, "assignments/%s/variants.toml" % A1, RECIPE["variant"])
    # 10. the handout: its text by hand, the points table by the command
    edit(kit, HANDOUT, "`relu`, `relu_grad`, ", RECIPE["handout"])
    refused = cli(kit, "build", A1, "--dist", "dist")
    old_row = before[FUNCTIONAL_ROW]
    assert refused.returncode == 2 and "says %s public points for row %s, the tests give %s" % (
        points.fmt(old_row[0]), FUNCTIONAL_ROW, points.fmt(old_row[0] + 2)) in refused.stderr
    assert cli(kit, *RECIPE_COMMANDS[2]).returncode == 0
    after = table_rows(read(kit, HANDOUT))
    assert after[FUNCTIONAL_ROW] == (old_row[0] + 2, old_row[1] + 1, old_row[2] + 3)
    assert after["**total**"] == tuple(v + d for v, d in zip(before["**total**"], (2, 1, 3)))
    assert {k: v for k, v in after.items() if k not in (FUNCTIONAL_ROW, "**total**")} == \
        {k: v for k, v in before.items() if k not in (FUNCTIONAL_ROW, "**total**")}
    # 12. build: no entry of the previous release moved
    built = cli(kit, "build", A1, "--dist", "dist")
    assert built.returncode == 0 and "warning" not in built.stderr, built.stderr
    student_zip, autograder_zip = (kit.path("dist", "%s-%s.zip" % (A1, k)) for k in ("student", "autograder"))
    with zipfile.ZipFile(student_zip) as zf:
        readme = zf.read("%s/README.md" % A1).decode()
        starter = zf.read("%s/neural_nets/functional.py" % A1).decode()
        shipped_test = zf.read("%s/tests/public/test_functional.py" % A1).decode()
    assert table_rows(readme) == after and "points-table" not in readme and "test_functional_hidden" not in readme
    assert "`relu_grad`, `leaky_relu`, `softmax`" in readme
    assert 'raise NotImplementedError("neural_nets.functional.leaky_relu")' in starter and "def test_leaky_relu" \
        in shipped_test
    with zipfile.ZipFile(autograder_zip) as zf:
        assert "def test_leaky_relu_any_shape_and_slope" in zf.read("tests/hidden/test_functional_hidden.py").decode()
        assert "def leaky_relu" in zf.read("tests/oracles.py").decode()
    manifest = json.loads(read(kit, "dist/%s-entries.json" % A1))["entries"]
    keys = {e["key"]: e for e in manifest}
    assert keys["test_functional.py::test_leaky_relu"]["points"] == 2
    assert keys["test_functional_hidden.py::test_leaky_relu_any_shape_and_slope"]["points"] == 1
    # the self-check of the built zip, on one seed, with the new mistake and variant only
    mistake = [m for m in load_mistakes(kit, A1) if m["id"] == "leaky-relu-default-slope"]
    variant = [v for v in load_variants(kit, A1) if v["id"] == "leaky-relu-maximum-minimum"]
    report = check_assignment(kit, A1, zip_path=autograder_zip, seeds=1, mistakes=mistake, variants=variant)
    ref = report["reference"]
    assert ref.ok and ref.score == ref.max_score == after["**total**"][2], ref.problems
    assert report["starter"].ok and report["starter"].score == 0, report["starter"].problems
    (m,) = report["mistakes"]
    assert m.ok and m.score < m.max_score and caught_by_public(m.data), m.problems
    assert any(t["extra_data"]["key"] == "test_functional.py::test_leaky_relu" and t["score"] == 0
               and "not the slope argument" in t["output"] for t in m.data["tests"])
    (v,) = report["variants"]
    assert v.ok and v.score == v.max_score, v.problems
    # the reference's results.json numbers and points are the collected ones
    assert [(t["number"], t["extra_data"]["key"], t["max_score"]) for t in ref.data["tests"]] == \
        [(e["number"], e["key"], e["points"]) for e in manifest]


# ------------------------------------------------------------------ figures quoted by the docs
DOCS = ("README.md", "docs/instructor-guide.md")
SELF_CHECK_ROW = re.compile(r"^\s*(a\d_\w+)\s+([\d.]+)/([\d.]+) ok\s+0\.0 ok\s+(\d+) / (\d+) \((\d+)\)\s+(\d+) / (\d+)"
                            r"\s+\d+\s*$")
POINTS_ROW = re.compile(r"^(a\d_\w+)\s+([\d.]+) \(([\d.]+) \+ ([\d.]+)\)\s+(\d+) \((\d+) \+ (\d+)\)\s+(\d+)"
                        r"\s+(\d+) \((\d+)\)\s+(\d+)$")
PROGRESS = re.compile(r"\b(a\d_\w+): (\d+)/(\d+) (?:reference|starter|mistake|variant) ?(\S*): ([\d.]+)/([\d.]+)")
CANDIDATES = re.compile(r"\b(a\d_\w+): preparing the autograder source and (\d+) candidates")
GRADE_ROW = re.compile(r"^(\d+\.\d+)\s+(.+?)\s+([\d.]+) / ([\d.]+)\s+(visible|after_due_date|after_published|hidden)$")
GRADED_DEF = re.compile(r"@graded\(points=([\d.]+)\)\s*\ndef (test_\w+)\(")


def _doc(rel):
    with open(KIT.path(*rel.split("/")), encoding="utf-8") as fh:
        return fh.read()


def test_docs_quote_the_tests_figures(figures):
    """Every figure README.md and the guide quote that depends on the tests (points, entries, cases, mistakes,
    variants, entry numbers and names) is the one the tests give today."""
    a1_entries, a1 = figures[A1]
    by_number = {e["number"]: e for e in a1_entries}
    by_function = {}
    for e in a1_entries:
        by_function.setdefault(e["key"].split("::")[1], []).append(e)
    found = {"self-check rows": 0, "points rows": 0, "progress lines": 0, "grade rows": 0, "scores": 0,
             "graded defs": 0}
    for rel in DOCS:
        text = _doc(rel)
        flat = " ".join(text.split())
        for line in text.splitlines():
            m = SELF_CHECK_ROW.match(line)
            if m:
                s = figures[m.group(1)][1]
                found["self-check rows"] += 1
                assert (float(m.group(2)), float(m.group(3))) == (s["points"], s["points"]), (rel, line)
                assert tuple(int(m.group(i)) for i in (4, 5, 6, 7, 8)) == (
                    s["mistakes"], s["mistakes"], s["mistakes_public"], s["variants"], s["variants"]), (rel, line)
            m = POINTS_ROW.match(line)
            if m:
                s = figures[m.group(1)][1]
                found["points rows"] += 1
                assert [float(g) for g in m.groups()[1:]] == [
                    s[k] for k in ("points", "public_points", "hidden_points", "entries", "public_entries",
                                   "hidden_entries", "cases", "mistakes", "mistakes_public", "variants")], (rel, line)
            m = GRADE_ROW.match(line)
            if m:
                found["grade rows"] += 1
                e = by_number.get(m.group(1))
                assert e and e["name"].startswith(m.group(2)) and e["points"] == float(m.group(4)), (rel, line)
                assert e["visibility"] == m.group(5), (rel, line)
        for m in PROGRESS.finditer(flat):
            s = figures[m.group(1)][1]
            found["progress lines"] += 1
            assert int(m.group(3)) == 2 + s["mistakes"] + s["variants"] and float(m.group(6)) == s["points"], m.group(0)
        for m in CANDIDATES.finditer(flat):
            s = figures[m.group(1)][1]
            assert int(m.group(2)) == 2 + s["mistakes"] + s["variants"], m.group(0)
        for m in re.finditer(r"\btotal: ([\d.]+) / ([\d.]+)", flat):
            assert float(m.group(2)) == a1["points"], (rel, m.group(0))
        for m in re.finditer(r"\bscore ([\d.]+) in [\d.]+ s; seeds", flat):  # the harness's line for A1's reference
            found["scores"] += 1
            assert float(m.group(1)) == a1["points"], (rel, m.group(0))
        for m in GRADED_DEF.finditer(text):  # code excerpts of A1's tests
            same = by_function.get(m.group(2), [])
            if same:
                found["graded defs"] += 1
                assert float(m.group(1)) in [e["points"] for e in same], (rel, m.group(0))
    assert all(found.values()), found  # each kind of figure is still where this test looks for it
    guide = _doc("docs/instructor-guide.md")
    # the mistake's sample feedback in section 5 lists every case of test_softmax
    sample = guide[guide.index("`softmax-normalise-axis0` gets"):]
    cases = int(re.search(r"0 of (\d+) cases passed", sample).group(1))
    assert cases == next(e["cases"] for e in a1_entries if e["key"] == "test_functional.py::test_softmax")
    # section 8: the points-table sample is A1's committed table; the stale-table error quotes its figure
    handout = read(KIT, HANDOUT)
    block = guide[guide.index("\n<!-- points-table"):guide.index("<!-- end points-table -->")]
    quoted = [ln for ln in block.strip().splitlines() if ln.strip() != "..."]
    assert quoted and all(ln in handout.splitlines() for ln in quoted), [ln for ln in quoted
                                                                         if ln not in handout.splitlines()]
    rows = table_rows(handout)
    flat_guide = " ".join(guide.split())
    for m in re.finditer(r"the points table says (\S+) public points for row (`[^`]+`)", flat_guide):
        assert float(m.group(1)) == rows[m.group(2)][0], m.group(0)
    # section 8: the renumbering sample (a test inserted at the top of test_functional.py)
    moved = re.search(r"moves or removes (\d+) Gradescope entries", flat_guide)
    assert int(moved.group(1)) == sum(e["key"].startswith("test_functional.py::") for e in a1_entries)
    for m in re.finditer(r"entry (\d+\.\d+) '([^']+)' is now (\d+\.\d+)", flat_guide):
        assert by_number[m.group(1)]["name"] == m.group(2) and by_number[m.group(1)]["key"].startswith(
            "test_functional.py::"), m.group(0)
