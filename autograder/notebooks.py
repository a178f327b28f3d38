"""Master notebooks -> student notebooks (build side; needs nbformat).

A master notebook lives in ``assignments/<id>/`` and may hold solutions:

* code cells: the same ``# BEGIN SOLUTION`` / ``# BEGIN PROMPT`` markers as .py files
  (a solution block outside a function becomes ``pass  # your code here`` unless a
  PROMPT block stands in for it);
* markdown cells: ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` around a
  model answer, replaced by an answer placeholder.

The student version has every output and execution count cleared and is
validated by nbformat before it is written.
"""
from __future__ import annotations

import os
import re

from .markers import MarkerError, normalize, solution_blocks, strip_solutions

MD_SOLUTION = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->(.*?)<!--\s*END SOLUTION\s*-->", re.S)
MD_PLACEHOLDER = "**Your answer:** *(write here)*"


def _md_regions_balanced(text: str, where: str) -> None:
    begins = len(re.findall(r"<!--\s*BEGIN SOLUTION\s*-->", text))
    ends = len(re.findall(r"<!--\s*END SOLUTION\s*-->", text))
    if begins != ends:
        raise MarkerError("%s: %d BEGIN SOLUTION and %d END SOLUTION markers in a markdown cell" % (where, begins, ends))


def strip_notebook(path: str, label: str | None = None):
    """The student version of the master notebook at ``path`` (an nbformat node)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    name = os.path.splitext(os.path.basename(path))[0]
    for i, cell in enumerate(nb.cells, 1):
        where = "%s cell %d" % (label or path, i)
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where, name).rstrip("\n")
            cell.outputs = []
            cell.execution_count = None
        elif cell.cell_type == "markdown":
            _md_regions_balanced(cell.source, where)
            cell.source = MD_SOLUTION.sub(MD_PLACEHOLDER, cell.source)
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    return nb


def write_student_notebook(path: str, dest: str, label: str | None = None) -> str:
    import nbformat

    nb = strip_notebook(path, label)
    with open(dest, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)
    return dest


def notebook_solution_blocks(path: str) -> list:
    """Solution text of a master notebook (code regions and markdown answers), for leak checks."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    blocks = []
    for i, cell in enumerate(nb.cells, 1):
        if cell.cell_type == "code":
            blocks += solution_blocks(cell.source, "%s cell %d" % (path, i))
        elif cell.cell_type == "markdown":
            blocks += [normalize(m) for m in MD_SOLUTION.findall(cell.source) if normalize(m)]
    return [b for b in blocks if b]
