"""Shared fixtures for the kit's own tests.

Every results.json these tests produce goes through `graded()`, which validates
it against autograder/schema/results.schema.json and the score-sum rule.
"""
import json
import os
import shutil
import subprocess

import pytest

from autograder.build import autograder_tree
from autograder.config import Kit
from autograder.local import run_autograder
from autograder.results import validate_schema

KIT = Kit(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
A1 = "a1_neural_nets"
A1_FILE = "neural_nets/functional.py"


def debian_tools(programs, packages, why):
    """Paths of ``programs``; missing ones are installed from Debian's ``packages`` with apt-get (as root, as
    in CI); a non-root user without them skips, saying why and what to install."""
    found = {p: shutil.which(p) for p in programs}
    if all(found.values()):
        return found
    if os.geteuid() != 0:
        pytest.skip("%s is not installed and this user is not root, so the test set-up cannot run `apt-get install "
                    "-y %s`; install them (or run the tests as root) to %s"
                    % (", ".join(p for p, v in found.items() if not v), " ".join(packages), why))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]):
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        assert proc.returncode == 0, "`%s` failed (exit %d): %s" % (" ".join(cmd), proc.returncode,
                                                                   (proc.stderr or proc.stdout)[-2000:])
    found = {p: shutil.which(p) for p in programs}
    assert all(found.values()), "apt-get installed %s but %s is not on PATH" % (packages, found)
    return found


@pytest.fixture(scope="session")
def kit():
    return KIT


def build_tree(dest, aid=A1, **grading):
    """An autograder tree for ``aid``; ``grading`` overrides assignment.json's [grading] values."""
    autograder_tree(KIT, aid, str(dest), salt="test-salt")
    if grading:
        path = os.path.join(str(dest), "assignment.json")
        with open(path) as fh:
            cfg = json.load(fh)
        cfg["grading"].update(grading)
        with open(path, "w") as fh:
            json.dump(cfg, fh)
    return str(dest)


@pytest.fixture(scope="session")
def a1_tree(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("a1-source") / "source")


@pytest.fixture(scope="session")
def a1_fast_tree(tmp_path_factory):
    """A1 with short time limits, for hang tests."""
    return build_tree(tmp_path_factory.mktemp("a1-fast") / "source", call_timeout=2, test_timeout=5)


def graded(source, submission, tmp_path, **kw):
    """Grade ``submission`` through the real run_autograder; return validated results."""
    root = tmp_path / ("root-%d" % len(list(tmp_path.glob("root-*"))))
    root.mkdir()
    data = run_autograder(source, str(submission), str(root / "results"), str(root), **kw)
    log = data.pop("_harness_log")
    try:
        validate_schema(data)
    except Exception as exc:  # show the harness log with the failure
        raise AssertionError("invalid results.json (%s)\n%s" % (exc, log)) from None
    data["_log"] = log
    return data


def reference_text():
    with open(KIT.path("solutions", A1, A1_FILE)) as fh:
        return fh.read()


def write_submission(folder, text, rel=A1_FILE, with_rest=True):
    """A submission folder holding ``text`` at ``rel`` and (with_rest) the reference's other files."""
    if with_rest:
        for other in KIT.assignment(A1).required_files:
            if other != rel:
                with open(KIT.path("solutions", A1, other)) as fh:
                    _put(folder, other, fh.read())
    _put(folder, rel, text)
    return str(folder)


def _put(folder, rel, text):
    path = os.path.join(str(folder), rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


def copy_reference(folder):
    return write_submission(folder, reference_text())


def by_name(data):
    return {t["name"]: t for t in data["tests"]}


def max_total(data):
    return sum(t["max_score"] for t in data["tests"])


def break_function(text, func, body):
    """Replace the body of ``func`` in the reference with ``body`` (indented lines)."""
    start = text.index("def %s(" % func)
    sol = text.index("# BEGIN SOLUTION", start)
    end = text.index("# END SOLUTION", sol)
    return text[:sol] + "# BEGIN SOLUTION\n" + body + "\n    " + text[end:]


