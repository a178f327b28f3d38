"""Build the two products of an assignment: the student release and the Gradescope autograder.

Trees are assembled in temporary folders; zips are written to ``<name>.tmp`` and
renamed into ``dist/`` only when complete.

Student tree (``dist/<id>-student.zip``, one top folder ``<id>/``)::

    README.md (the handout, its points table computed from the tests: see :mod:`autograder.points`)
    assignment.json  conftest.py  pytest.ini  requirements.txt
    collect_submission.py  <package>/ (starter)
    tests/{public,probes,fixtures}/   (public tests, worker-side probes, the oracle's answers on fixed inputs)
    autograder/ (the grading runtime only: the same code that grades on Gradescope)

Autograder tree (``dist/<id>-autograder.zip``, files at the root as Gradescope wants)::

    setup.sh  run_autograder  requirements.txt  assignment.json  conftest.py  pytest.ini
    salt  autograder/ (grading runtime)  starter/<package>/
    tests/ (public, hidden, probes, fixtures, and the instructor-only oracles.py and cases.py)

``dist/<id>-entries.json`` lists the release's Gradescope entries; the next build compares its numbering
with them and says which entries moved.

No answer key reaches students: everything at the top of ``tests/`` (the oracles, the
case builders) and ``tests/hidden/`` stays in the autograder zip. Of the engine, both
zips get the grading runtime (:data:`RUNTIME`) alone; the authoring tools (build,
starter, markers, notebooks, fixtures generation, self-check) and the class tools
(batch, report, similarity) stay in the instructor's repository.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import stat
import sys
import tempfile
import zipfile

from . import fixturegen, pins, points
from .config import Assignment, Kit
from .starter import IGNORED_DIRS, iter_files, stale_files

ENGINE_DIR = os.path.dirname(os.path.abspath(__file__))
TEMPLATES = os.path.join(ENGINE_DIR, "templates")
EXECUTABLE = ("setup.sh", "run_autograder")
#: the grading runtime: what both zips carry of the engine (paths inside autograder/)
RUNTIME = ("__init__.py", "plugin.py", "feedback.py", "fixtures.py", "properties.py", "seeds.py", "results.py", "config.py",
           "harness.py", "intake.py", "policy.py", "heldout.py", "checks.py", "answers.py",
           "sandbox/__init__.py", "sandbox/codec.py", "sandbox/worker.py", "sandbox/inprocess.py",
           "sandbox/isolation.py", "sandbox/template.py", "schema/results.schema.json")
#: what the student release carries of an assignment's tests/ (never the oracles, cases or hidden tests)
STUDENT_TESTS = ("public", "probes", "fixtures")
CONFTEST = '''"""Loads the course kit's pytest plugin: sandboxed calls, seeded inputs, feedback."""
pytest_plugins = ["autograder.plugin"]
'''
PYTEST_INI = """[pytest]
testpaths = tests
addopts = -p no:cacheprovider
python_files = test_*.py
"""


class BuildError(RuntimeError):
    """The release cannot be built; the message says what to fix."""


def _copytree(src: str, dst: str) -> None:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(*IGNORED_DIRS, "*.pyc", ".*"))


def copy_engine(dest: str) -> None:
    """A copy of the engine's grading runtime (shared code has one home; releases get a copy)."""
    for rel in RUNTIME:
        out = os.path.join(dest, "autograder", rel)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        shutil.copy2(os.path.join(ENGINE_DIR, rel), out)


def _write(path: str, text: str, mode: int | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    if mode is not None:
        os.chmod(path, mode)


def _common(kit: Kit, a: Assignment, dest: str, include_hidden: bool) -> None:
    tests_src = kit.path("assignments", a.id, "tests")
    tests_dst = os.path.join(dest, "tests")
    if include_hidden:
        _copytree(tests_src, tests_dst)
    else:
        os.makedirs(tests_dst)
        for sub in STUDENT_TESTS:
            if os.path.isdir(os.path.join(tests_src, sub)):
                _copytree(os.path.join(tests_src, sub), os.path.join(tests_dst, sub))
    config = dict(a.to_json_dict(), starter_files=starter_files(kit, a))
    _write(os.path.join(dest, "assignment.json"), json.dumps(config, indent=2) + "\n")
    _write(os.path.join(dest, "conftest.py"), CONFTEST)
    _write(os.path.join(dest, "pytest.ini"), PYTEST_INI)
    copy_engine(dest)


def starter_files(kit: Kit, a: Assignment) -> dict:
    """{required file: {"sha256", "todo"}} of the starter, for collect_submission.py's warnings about unfinished
    work: the fingerprint and the functions still to write, by the script's own rules (loaded from the template)."""
    template = os.path.join(TEMPLATES, "collect_submission.py")
    spec = importlib.util.spec_from_file_location("_collect_submission", template)
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    out = {}
    for rel in a.required_files:
        path = kit.path("student_starter", a.id, *rel.split("/"))
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                data = fh.read()
            todo = script.stub_functions(data.decode("utf-8", "replace")) if rel.endswith(".py") else []
            out[rel] = {"sha256": script.fingerprint(data), "todo": todo}
    return out


def _check_generated_fresh(kit: Kit, aid: str) -> None:
    a = kit.assignment(aid)
    if not os.path.isdir(kit.path("solutions", aid, a.package)):
        raise BuildError("solutions/%s/%s does not exist; write the reference package there first" % (aid, a.package))
    if not os.path.isdir(kit.path("student_starter", aid, a.package)):
        raise BuildError("student_starter/%s/%s does not exist; run `make starter`" % (aid, a.package))
    stale = stale_files(kit, aid)
    if stale:
        raise BuildError("student_starter/%s is out of date with solutions/%s (%s); run `make starter` and commit"
                         % (aid, aid, ", ".join(stale[:5])))
    problem = fixturegen.problem(kit, aid)
    if problem:
        raise BuildError(problem)


def student_tree(kit: Kit, aid: str, dest: str, entries: list | None = None) -> str:
    """Assemble the student release of ``aid`` into the new folder ``dest``/<aid>; return it.

    The handout becomes README.md with its points table computed from the tests (``entries``, the
    Gradescope entries of :func:`points.collect`; collected here when not given)."""
    a = kit.assignment(aid)
    _check_generated_fresh(kit, aid)
    readme = _student_readme(kit, aid, entries)
    root = os.path.join(dest, aid)
    os.makedirs(root)
    _copytree(kit.path("student_starter", aid, a.package), os.path.join(root, a.package))
    for name in sorted(os.listdir(kit.path("student_starter", aid))):
        if name.endswith(".ipynb"):
            shutil.copy2(kit.path("student_starter", aid, name), os.path.join(root, name))
    _common(kit, a, root, include_hidden=False)
    if readme is not None:
        _write(os.path.join(root, "README.md"), readme)
    else:
        _write(os.path.join(root, "README.md"), "# %s\n\nRun the checks with `pytest`; build your upload with "
               "`python collect_submission.py`.\n" % a.title)
    reqs = pins.requirement_lines(a.student_packages)
    _write(os.path.join(root, "requirements.txt"), "\n".join(reqs) + "\n")
    template = os.path.join(TEMPLATES, "collect_submission.py")
    with open(template, encoding="utf-8") as fh:
        text = fh.read()
    _write(os.path.join(root, "collect_submission.py"), text)
    check_student_tree(kit, aid, root)
    return root


def _student_readme(kit: Kit, aid: str, entries: list | None) -> str | None:
    """The handout with its points table from the tests; BuildError when the committed table is stale."""
    try:
        if entries is None and points.has_table(kit, aid):
            entries = points.collect(kit, aid)
        return points.student_readme(kit, aid, entries or [])
    except points.PointsError as exc:
        raise BuildError(str(exc)) from None


def autograder_tree(kit: Kit, aid: str, dest: str, salt: str | None = None) -> str:
    """Assemble the Gradescope autograder of ``aid`` directly into the new folder ``dest``."""
    a = kit.assignment(aid)
    _check_generated_fresh(kit, aid)
    os.makedirs(dest, exist_ok=True)
    _copytree(kit.path("student_starter", aid, a.package), os.path.join(dest, "starter", a.package))
    _common(kit, a, dest, include_hidden=True)
    for name in EXECUTABLE:
        shutil.copy2(os.path.join(TEMPLATES, name), os.path.join(dest, name))
        os.chmod(os.path.join(dest, name), 0o755)
    reqs = pins.requirement_lines(a.grader_packages)
    _write(os.path.join(dest, "requirements.txt"), "\n".join(reqs) + "\n")
    _write(os.path.join(dest, "salt"), (salt or default_salt(kit, aid)) + "\n", mode=0o600)
    return dest


def default_salt(kit: Kit, aid: str) -> str:
    """The secret mixed into hidden-test seeds: $AUTOGRADER_SALT, else assignments/<id>/salt.txt,
    else a hash of the reference solution (as secret as the solution itself). Stable across
    rebuilds, so re-uploading a rebuilt zip does not change students' hidden inputs."""
    if os.environ.get("AUTOGRADER_SALT"):
        return os.environ["AUTOGRADER_SALT"]
    path = kit.path("assignments", aid, "salt.txt")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            return fh.read().strip()
    h = hashlib.sha256()
    root = kit.path("solutions", aid)
    for rel in iter_files(root):
        with open(os.path.join(root, rel), "rb") as fh:
            h.update(rel.encode() + b"\0" + fh.read())
    return h.hexdigest()[:32]


def check_student_tree(kit: Kit, aid: str, root: str) -> None:
    """Refuse a student tree holding any part of the answer key (see :mod:`autograder.scan`)."""
    from .scan import problems

    found = problems(kit, aid, root)
    if found:
        raise BuildError("student release of %s is unsafe: %s" % (aid, "; ".join(found[:5])))


def write_zip(tree: str, zip_path: str, arc_root: str = "") -> str:
    """Zip ``tree`` reproducibly (sorted, fixed timestamps, exec bits kept) via a temp file."""
    tmp = zip_path + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(zip_path)), exist_ok=True)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in _all_files(tree):
                full = os.path.join(tree, rel)
                info = zipfile.ZipInfo(os.path.join(arc_root, rel).replace(os.sep, "/"), (1980, 1, 1, 0, 0, 0))
                perm = os.stat(full).st_mode
                mode = 0o755 if perm & stat.S_IXUSR else (0o600 if not perm & stat.S_IRGRP else 0o644)
                info.external_attr = (stat.S_IFREG | mode) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                with open(full, "rb") as fh:
                    zf.writestr(info, fh.read())
        os.replace(tmp, zip_path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return zip_path


def _all_files(tree: str) -> list:
    out = []
    for dirpath, dirnames, filenames in os.walk(tree):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_DIRS)
        out += [os.path.relpath(os.path.join(dirpath, f), tree) for f in sorted(filenames) if not f.endswith(".pyc")]
    return sorted(out)


def build_zips(kit: Kit, aid: str, dist: str, warn=None, strict_numbering: bool = False) -> tuple:
    """Write ``dist/<aid>-student.zip``, ``dist/<aid>-autograder.zip`` and ``dist/<aid>-entries.json`` (the
    Gradescope entries); return the zips' paths.

    The entries are collected from the autograder tree (nothing is graded). When ``dist`` holds a previous
    release of ``aid`` whose entries this one renumbers, ``warn`` (default: print to stderr) gets one line
    per moved entry; with ``strict_numbering`` the build stops instead, before writing anything."""
    with tempfile.TemporaryDirectory() as tmp:
        ag = autograder_tree(kit, aid, os.path.join(tmp, "autograder"))
        try:
            entries = points.collect_tree(ag, label="the autograder tree of %s" % aid)
        except points.PointsError as exc:
            raise BuildError(str(exc)) from None
        stu = student_tree(kit, aid, os.path.join(tmp, "student"), entries=entries)
        _check_numbering(dist, aid, entries, warn, strict_numbering)
        student_zip = write_zip(os.path.dirname(stu), os.path.join(dist, "%s-student.zip" % aid))
        autograder_zip = write_zip(ag, os.path.join(dist, "%s-autograder.zip" % aid))
        points.write_manifest(dist, aid, entries)
    return student_zip, autograder_zip


def _check_numbering(dist: str, aid: str, entries: list, warn, strict: bool) -> None:
    """Compare the Gradescope numbering with the previous release in ``dist`` (see :func:`points.renumbering`)."""
    say = warn or (lambda line: print(line, file=sys.stderr, flush=True))
    old, where = points.previous_entries(dist, aid)
    if old is None:
        if where:
            say("warning: %s: no renumbering check: %s" % (aid, where))
        return
    moved = points.renumbering(old, entries)
    if not moved:
        return
    if strict:
        raise BuildError("%s: this release moves or removes %d Gradescope entr%s of the previous one in %s "
                         "(first: %s); nothing was written. Keep the numbers (add tests at the end of their file), "
                         "or build without --strict-numbering" % (aid, len(moved), "y" if len(moved) == 1 else "ies",
                                                         dist, moved[0]))
    for line in points.renumbering_message(aid, moved, os.path.relpath(where)):
        say(line)


def unpack_zip(zip_path: str, dest: str) -> str:
    """Unpack a zip we built, restoring exec bits (zipfile drops them)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            target = os.path.realpath(os.path.join(dest, info.filename))
            if not target.startswith(os.path.realpath(dest) + os.sep):
                raise BuildError("%s: unsafe path %r" % (zip_path, info.filename))
            zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)
    return dest
