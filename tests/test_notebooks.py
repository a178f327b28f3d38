"""Notebooks: student versions carry no solutions and no outputs; masters run end to end
with the reference solution (fast mode) through nbclient and ipykernel."""
import os
import shutil
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.build import student_tree
from autograder.notebooks import notebook_solution_blocks, strip_notebook
from autograder.starter import master_notebooks

from conftest import KIT

NOTEBOOKS = [(aid, path) for aid in KIT.assignment_ids() for path in master_notebooks(KIT, aid)]


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=[os.path.basename(p) for _, p in NOTEBOOKS])
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


@pytest.mark.parametrize("aid,path", NOTEBOOKS, ids=[os.path.basename(p) for _, p in NOTEBOOKS])
def test_master_notebook_runs_with_the_reference(aid, path, tmp_path, monkeypatch):
    """The master notebook executes top to bottom in fast mode, with every check passing."""
    root = student_tree(KIT, aid, str(tmp_path))
    a = KIT.assignment(aid)
    shutil.rmtree(os.path.join(root, a.package))
    shutil.copytree(KIT.path("solutions", aid, a.package), os.path.join(root, a.package))
    nb = nbformat.read(path, as_version=4)
    monkeypatch.setenv("KIT_FAST", "1")
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel draws inline
    start = time.monotonic()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": root}}).execute()
    outputs = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
                        if o.get("output_type") == "stream")
    assert "FAIL" not in outputs and "all passed" in outputs, outputs[-3000:]
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert images >= 5  # the plots were drawn
    print("%s executed in %.1f s" % (os.path.basename(path), time.monotonic() - start))
