"""Notebooks: student versions carry no solutions and no outputs; executed top to bottom (fast mode,
nbclient + ipykernel) they guide: with untouched stubs every ``check(...)`` prints its PASS/FAIL list
and every demo cell that cannot run yet says so in one line (no traceback anywhere); with the
reference solution every check passes and every plot is drawn."""
import ast
import os
import re
import shutil
import time

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.build import student_tree
from autograder.notebooks import notebook_solution_blocks, strip_notebook
from autograder.starter import master_notebooks

from conftest import KIT

NOTEBOOKS = [(aid, path) for aid in KIT.assignment_ids() for path in master_notebooks(KIT, aid)]
IDS = [os.path.basename(p) for _, p in NOTEBOOKS]
CHECK_LINE = re.compile(r"^(PASS|FAIL)  ", re.M)
#: a cell that draws: a matplotlib call, or a kit helper named plot_* / show_*
DRAWS = re.compile(r"\bplt\.(show|plot|imshow|bar|subplots|figure|hist|scatter)\b|\.plot_\w+\(|\bplot_\w+\(")


#: cells that draw only with data or weights the kit cannot download offline (Multi30k, SqueezeNet's weights)
OPTIONAL_DATA = ("if multi30k is not None", "if squeezenet is not None")


def _stream(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("output_type") == "stream")


def _images(cell) -> int:
    return sum(1 for o in cell.get("outputs", []) if "image/png" in o.get("data", {}))


def _calls_check(source: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics
        return "check(" in source
    return any(isinstance(n, ast.Call) and getattr(n.func, "id", None) == "check" for n in ast.walk(tree))


def _execute(nb, root, monkeypatch):
    monkeypatch.setenv("KIT_FAST", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline
    start = time.monotonic()
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": root}}).execute()
    except CellExecutionError as exc:  # the message holds the cell and its traceback
        pytest.fail("a cell raised:\n%s" % str(exc)[-3000:])
    return time.monotonic() - start


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=IDS)
def test_student_notebook_is_clean(aid, path):
    nb = strip_notebook(path)
    text = "\n".join(c.source for c in nb.cells)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    blocks = notebook_solution_blocks(path)
    assert blocks, "the master notebook has solution regions"
    assert not [b for b in blocks if b in text]
    assert "BEGIN SOLUTION" not in text and "Your answer" in text


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=IDS)
def test_every_check_has_its_own_cell(aid, path):
    """A check sits alone in its cell (comments allowed), so a failing stub above cannot hide its list."""
    nb = nbformat.read(path, as_version=4)
    checks = [c for c in nb.cells if c.cell_type == "code" and _calls_check(c.source)]
    assert checks, "the notebook runs its public checks"
    for cell in checks:
        tree = ast.parse(cell.source)
        assert len(tree.body) == 1 and isinstance(tree.body[0], ast.Expr), cell.source
        assert isinstance(tree.body[0].value, ast.Call) and tree.body[0].value.func.id == "check", cell.source


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=IDS)
def test_written_questions_are_tagged(aid, path):
    """Every written question is a tagged cell followed by its tagged answer cell (the PDF export reads the tags)."""
    nb = nbformat.read(path, as_version=4)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    questions = [i for i, t in enumerate(tags) if "written-question" in t]
    assert questions
    for i in questions:
        assert "written-answer" in tags[i + 1], nb.cells[i].source[:80]
        assert "BEGIN SOLUTION" in nb.cells[i + 1].source and nb.cells[i].source.lstrip().startswith("*Question")
    for i, t in enumerate(tags):
        if "written-answer" in t:
            assert "written-question" in tags[i - 1]
        elif nb.cells[i].cell_type == "markdown":
            assert "BEGIN SOLUTION" not in nb.cells[i].source, "an answer outside a tagged answer cell"


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=IDS)
def test_student_notebook_runs_with_untouched_stubs(aid, path, tmp_path, monkeypatch):
    """Run top to bottom on the starter: no traceback; every check prints its list; skipped cells draw nothing."""
    root = student_tree(KIT, aid, str(tmp_path))
    nb = nbformat.read(os.path.join(root, os.path.basename(path)), as_version=4)
    seconds = _execute(nb, root, monkeypatch)
    checks = [c for c in nb.cells if c.cell_type == "code" and _calls_check(c.source)]
    for cell in checks:
        out = _stream(cell)
        assert CHECK_LINE.search(out) and re.search(r"^some checks failed: 0/\d+", out, re.M), (cell.source, out)
        assert "to do: write" in out and "Traceback" not in out, out
    skipped = [c for c in nb.cells if c.cell_type == "code" and "skipped: " in _stream(c)]
    assert skipped, "the demo cells say they were skipped"
    for cell in skipped:
        assert not _images(cell), "a skipped cell drew a half-empty figure:\n" + cell.source
        line = [ln for ln in _stream(cell).splitlines() if ln.startswith("skipped: ")][0]
        assert len(line) < 300, line
    print("%s with stubs: %.1f s, %d checks, %d cells skipped" % (os.path.basename(path), seconds, len(checks),
                                                                  len(skipped)))


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=IDS)
def test_master_notebook_runs_with_the_reference(aid, path, tmp_path, monkeypatch):
    """With the reference, top to bottom: every check passes, no cell is skipped, every plot is drawn."""
    root = student_tree(KIT, aid, str(tmp_path))
    a = KIT.assignment(aid)
    shutil.rmtree(os.path.join(root, a.package))
    shutil.copytree(KIT.path("solutions", aid, a.package), os.path.join(root, a.package))
    nb = nbformat.read(path, as_version=4)
    seconds = _execute(nb, root, monkeypatch)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        out = _stream(cell)
        assert "skipped: " not in out, (cell.source, out)
        if _calls_check(cell.source):
            assert CHECK_LINE.search(out) and "FAIL" not in out and "all passed" in out, (cell.source, out)
    drawing = [c for c in code if DRAWS.search(c.source) and not any(opt in c.source for opt in OPTIONAL_DATA)]
    assert drawing
    for cell in drawing:
        assert _images(cell), "this cell drew nothing:\n" + cell.source
    print("%s executed in %.1f s" % (os.path.basename(path), seconds))
