"""In-notebook checks: run the public tests from a notebook cell.

    from autograder.checks import check
    check("functional")         # every public test in tests/public/test_functional.py
    check("models", k="finite") # only those whose names contain "finite"

There is one definition of each check: this runs the very same public pytest
tests (in a subprocess, through the sandbox) that ``pytest`` and Gradescope run,
and prints one line per test. Returns True when every selected test passed.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile


def find_release_root(start: str | None = None) -> str:
    d = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.exists(os.path.join(d, "assignment.json")) and os.path.isdir(os.path.join(d, "tests")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            raise FileNotFoundError("no assignment.json above %s: open the notebook from the assignment folder"
                                    % os.path.abspath(start or os.getcwd()))
        d = parent


def check(*parts: str, k: str | None = None, root: str | None = None, verbose: bool = True) -> bool:
    """Run public tests and print one line each; True when all selected tests passed.

    parts: names of public test files ("functional" -> tests/public/test_functional.py);
           none means every public test.
    k:     optional pytest -k expression to narrow the selection further.
    """
    root = find_release_root(root)
    public = os.path.join(root, "tests", "public")
    paths = []
    for part in parts:
        path = os.path.join(public, "test_%s.py" % part)
        if not os.path.exists(path):
            known = sorted(n[5:-3] for n in os.listdir(public) if n.startswith("test_") and n.endswith(".py"))
            raise ValueError("no public tests named %r; choose from %s" % (part, ", ".join(known)))
        paths.append(path)
    with tempfile.TemporaryDirectory(prefix="agk-check-") as tmp:
        results = os.path.join(tmp, "results.json")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", root,
               "-c", os.path.join(root, "pytest.ini"), *(paths or [public]), "--results", results]
        if k:
            cmd += ["-k", k]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if not os.path.exists(results):
            print("the checks could not run:\n" + (proc.stdout + proc.stderr)[-2000:])
            return False
        with open(results, encoding="utf-8") as fh:
            data = json.load(fh)
    tests = data.get("tests", [])
    if not tests:
        print("no public test matches parts=%s k=%r" % (list(parts), k))
        return False
    for t in tests:
        mark = "PASS" if t["status"] == "passed" else "FAIL"
        print("%s  %s  (%g/%g)" % (mark, t["name"], t["score"], t["max_score"]))
        if t["status"] != "passed" and verbose:
            for line in t["output"].splitlines()[:8]:
                print("      " + line)
    ok = all(t["status"] == "passed" for t in tests)
    print("%s: %g/%g points on these checks" % ("all passed" if ok else "some checks failed",
                                               sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)))
    return ok
