"""Generate ``student_starter/<id>`` from ``solutions/<id>`` (the one-source rule).

Python files lose their solution regions (see :mod:`autograder.markers`); other
files are copied as they are. The new tree is built in a temporary folder next
to the destination and swapped in only when complete, so a marker error never
leaves a half-written starter.
"""
from __future__ import annotations

import filecmp
import os
import shutil
import tempfile

from .config import Kit
from .markers import strip_solutions

IGNORED_DIRS = {"__pycache__", ".ipynb_checkpoints", ".pytest_cache", "__MACOSX"}
IGNORED_SUFFIXES = (".pyc", ".pyo")


def iter_files(root: str):
    """Relative paths of the files under ``root`` that belong in a release, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS and not d.startswith("."))
        for name in sorted(filenames):
            if name.endswith(IGNORED_SUFFIXES) or name.startswith(".") or name == ".DS_Store":
                continue
            out.append(os.path.relpath(os.path.join(dirpath, name), root))
    return sorted(out)


def module_name(rel: str) -> str:
    """``neural_nets/functional.py`` -> ``neural_nets.functional``."""
    mod = rel[:-3] if rel.endswith(".py") else rel
    mod = mod.replace(os.sep, ".")
    return mod[:-len(".__init__")] if mod.endswith(".__init__") else mod


def render_starter(solution_root: str, dest: str, label: str | None = None, exclude=()) -> list:
    """Write the starter of ``solution_root`` into the (new) folder ``dest``; return the files.

    exclude: paths left out (an assignment's optional_files, e.g. the reference's trained
    checkpoint: students make their own)."""
    skip = {rel.replace("/", os.sep) for rel in exclude}
    files = [rel for rel in iter_files(solution_root) if rel not in skip]
    for rel in files:
        src = os.path.join(solution_root, rel)
        out = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        if rel.endswith(".py"):
            with open(src, encoding="utf-8") as fh:
                text = fh.read()
            with open(out, "w", encoding="utf-8") as fh:
                fh.write(strip_solutions(text, os.path.join(label or solution_root, rel), module_name(rel)))
        else:
            shutil.copy2(src, out)
    return files


def master_notebooks(kit: Kit, aid: str) -> list:
    """Master notebooks of an assignment: assignments/<id>/*.ipynb."""
    folder = kit.path("assignments", aid)
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".ipynb"))


def render_all(kit: Kit, aid: str, dest: str) -> None:
    """The whole starter: the stripped package and the student notebooks."""
    render_starter(kit.path("solutions", aid), dest, label=os.path.join("solutions", aid),
                   exclude=kit.assignment(aid).optional_files)
    notebooks = master_notebooks(kit, aid)
    if notebooks:
        from .notebooks import write_student_notebook

        for path in notebooks:
            write_student_notebook(path, os.path.join(dest, os.path.basename(path)),
                                   label=os.path.join("assignments", aid, os.path.basename(path)))


def generate(kit: Kit, aid: str) -> str:
    """Regenerate ``student_starter/<aid>`` atomically; return its path."""
    src = kit.path("solutions", aid)
    if not os.path.isdir(src):
        raise FileNotFoundError("solutions/%s does not exist; create the reference solution first" % aid)
    return write_folder(kit.path("student_starter", aid), lambda tmp: render_all(kit, aid, tmp))


def write_folder(dest: str, fill) -> str:
    """Replace the folder ``dest`` by what ``fill(tmp)`` writes into a new folder beside it,
    swapped in only when ``fill`` returns: an error leaves the old folder as it was."""
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".%s-" % os.path.basename(dest), dir=parent)
    os.chmod(tmp, 0o755)
    try:
        fill(tmp)
        old = None
        if os.path.exists(dest):
            old = dest + ".old-%d" % os.getpid()
            os.rename(dest, old)
        os.rename(tmp, dest)
        if old:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def stale_files(kit: Kit, aid: str) -> list:
    """Files of ``student_starter/<aid>`` that differ from a fresh generation (empty when up to date)."""
    committed = kit.path("student_starter", aid)
    with tempfile.TemporaryDirectory() as tmp:
        fresh = os.path.join(tmp, aid)
        os.mkdir(fresh)
        render_all(kit, aid, fresh)
        have = set(iter_files(committed)) if os.path.isdir(committed) else set()
        want = set(iter_files(fresh))
        diff = sorted((have ^ want))
        for rel in sorted(have & want):
            if not filecmp.cmp(os.path.join(committed, rel), os.path.join(fresh, rel), shallow=False):
                diff.append(rel)
    return sorted(diff)
