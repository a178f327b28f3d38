"""What a student release must not hold: the answer key in any form (instructor side).

:func:`problems` lists, for an unpacked student tree, every file or line that would let
a student score without writing the code:

* solution text: any ``# BEGIN SOLUTION`` region of ``solutions/<id>`` or any model
  answer of a master notebook, anywhere;
* instructor-only files: ``tests/`` beyond ``public/``, ``probes/`` and ``fixtures/``
  (the oracles, the case builders, hidden tests), any ``oracles.py`` or ``cases.py``,
  a file named like a hidden test or holding one's text, caches, and engine modules
  outside the grading runtime;
* oracle code: any substantial line that computes something (arithmetic, a numeric
  library call) in the assignment's instructor-only test modules (``tests/*.py``:
  oracles, case builders, misconception generators), found in a shipped ``.py`` file
  outside the starter package (whose given code may legitimately share a line);
* a graded computation defined again: a function or class named like one the
  students write (a function or class holding a solution region) defined in a
  shipped ``.py`` file or notebook cell outside the starter package.

Notebooks are covered by the solution-text check (every model answer) and the
definition check; their given helpers (a finite-difference gradient check, say)
are not oracle code.

``make release`` refuses a tree with any problem, and the kit's tests scan every
built zip with it.
"""
from __future__ import annotations

import ast
import io
import json
import os
import re
import tokenize

from .config import Kit
from .markers import _enclosing_qualnames, find_regions, normalize, solution_blocks
from .starter import IGNORED_DIRS, iter_files

#: lines shorter than this (after whitespace is collapsed) are too generic to count as oracle code
MIN_LINE = 28
_SKIP_LINE = re.compile(r"^(import |from \S+ import |def |class |@|return$|raise |assert |#|\"\"\"|''')")
#: a line computes something: arithmetic, a matrix product, or a numeric library call (not a random draw)
_COMPUTES = re.compile(r"[@*/+]|(?<![\w.])-|\bnp\.(?!random)|\btorch\.|\bF\.|\.(sum|mean|max|min|exp|log|sqrt|tanh|norm|"
                       r"softmax|matmul|bmm|einsum)\(")
_STRING = re.compile(r"\"[^\"]*\"|'[^']*'")


def graded_definitions(kit: Kit, aid: str) -> dict:
    """{qualified name: "solutions/<id>/<file>"} of every function holding a solution region."""
    out = {}
    root = kit.path("solutions", aid)
    for rel in iter_files(root):
        if not rel.endswith(".py"):
            continue
        with open(os.path.join(root, rel), encoding="utf-8") as fh:
            source = fh.read()
        owners = _enclosing_qualnames(source, rel)
        for kind, begin, _end, _indent in find_regions(source, rel):
            if kind == "SOLUTION" and begin in owners:
                out[owners[begin][0]] = "solutions/%s/%s" % (aid, rel)
    return out


def _docstring_lines(tree) -> set:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
                    and isinstance(first.value.value, str):
                lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    return lines


def _code_lines(source: str) -> set:
    """Normalised code lines of a module: no comments, no docstrings, no blank lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    skip = _docstring_lines(tree)
    out = set()
    for lineno, line in enumerate(source.splitlines(), 1):
        if lineno in skip:
            continue
        text = " ".join(_strip_comment(line).split())
        if text:
            out.add(text)
    return out


def _strip_comment(line: str) -> str:
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return line
    for tok in tokens:
        if tok.type == tokenize.COMMENT:
            return line[:tok.start[1]]
    return line


def oracle_lines(kit: Kit, aid: str, given: set) -> dict:
    """{normalised line: "tests/<module>.py"} of substantial code lines in the instructor-only test modules."""
    tdir = kit.path("assignments", aid, "tests")
    out = {}
    for name in sorted(os.listdir(tdir)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(tdir, name), encoding="utf-8") as fh:
            for line in _code_lines(fh.read()):
                if len(line) >= MIN_LINE and not _SKIP_LINE.match(line) and line not in given \
                        and _COMPUTES.search(_STRING.sub("''", line)):
                    out.setdefault(line, "tests/" + name)
    return out


def _package_lines(folder: str) -> set:
    lines = set()
    for rel in iter_files(folder):
        if rel.endswith(".py"):
            with open(os.path.join(folder, rel), encoding="utf-8") as fh:
                lines |= _code_lines(fh.read())
    return lines


def _read_text(path: str):
    try:
        with open(path, encoding="utf-8") as fh:
            raw = fh.read()
    except (UnicodeDecodeError, OSError):
        return None
    if path.endswith(".ipynb"):
        try:
            cells = json.loads(raw).get("cells", [])
            raw = "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                            else c.get("source", "") for c in cells)
        except (ValueError, AttributeError):
            pass
    return raw


def _defined_names(source: str) -> list:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [(node.name, node.lineno) for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]


def problems(kit: Kit, aid: str, root: str, runtime=None, student_tests=None) -> list:
    """Everything in the unpacked student tree ``root`` that gives away the answer key (empty = clean)."""
    from .build import RUNTIME, STUDENT_TESTS

    runtime = set(runtime or RUNTIME)
    student_tests = tuple(student_tests or STUDENT_TESTS)
    a = kit.assignment(aid)
    out = []
    # solution text
    blocks = []
    sol_root = kit.path("solutions", aid)
    for rel in iter_files(sol_root):
        if rel.endswith(".py"):
            with open(os.path.join(sol_root, rel), encoding="utf-8") as fh:
                blocks += [("solutions/%s/%s" % (aid, rel), b) for b in solution_blocks(fh.read(), rel) if b]
    from .notebooks import notebook_solution_blocks
    from .starter import master_notebooks

    for path in master_notebooks(kit, aid):
        label = "assignments/%s/%s" % (aid, os.path.basename(path))
        blocks += [(label, b) for b in notebook_solution_blocks(path)]
    package = os.path.join(root, a.package)
    given = _package_lines(package) if os.path.isdir(package) else set()
    oracle = oracle_lines(kit, aid, given)
    graded = graded_definitions(kit, aid)
    graded_tops = {q.split(".")[0] for q in graded}
    hidden_dir = kit.path("assignments", aid, "tests", "hidden")
    hidden = {}
    for rel in (iter_files(hidden_dir) if os.path.isdir(hidden_dir) else []):
        with open(os.path.join(hidden_dir, rel), "rb") as fh:
            hidden[os.path.basename(rel)] = normalize(fh.read().decode("utf-8", "replace")).strip()
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            if d in IGNORED_DIRS or d == "hidden":
                out.append("%s/ must not be in the student release" % os.path.relpath(os.path.join(dirpath, d), root))
        for name in filenames:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            parts = rel.split("/")
            in_package = parts[0] == a.package
            if name in ("oracles.py", "cases.py"):
                out.append("%s: an instructor-only module (oracles and case builders stay in the autograder zip)" % rel)
            if name in hidden:
                out.append("%s: named like the hidden test tests/hidden/%s" % (rel, name))
            if parts[0] == "tests" and (len(parts) < 3 or parts[1] not in student_tests):
                out.append("%s: only tests/%s belong in the student release" % (rel, ", tests/".join(student_tests)))
            if parts[0] == "autograder" and "/".join(parts[1:]) not in runtime:
                out.append("%s: not part of the grading runtime (instructor tools stay in the repository)" % rel)
            raw = _read_text(full)
            if raw is None:
                continue
            text = normalize(raw)
            leaked = [h for h, body in hidden.items() if body and body == text.strip()]
            if leaked:
                out.append("%s holds the hidden test tests/hidden/%s" % (rel, leaked[0]))
            for label, block in blocks:
                if block in text:
                    out.append("%s contains solution text from %s: %r" % (rel, label, block.splitlines()[0][:60]))
            if in_package or not name.endswith((".py", ".ipynb")):
                continue
            if name.endswith(".py"):
                for line in sorted(_code_lines(raw) & set(oracle)):
                    out.append("%s holds oracle code from %s: %r" % (rel, oracle[line], line[:70]))
            for def_name, lineno in _defined_names(raw):
                if def_name in graded_tops:
                    out.append("%s:%d defines %s, a name students implement (a graded computation outside "
                               "the stubs); rename it" % (rel, lineno, def_name))
    return out
