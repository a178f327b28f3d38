"""In-notebook checks: run the public tests from a notebook cell.

    from autograder.checks import check
    check("softmax")            # the public tests whose names contain "softmax"

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


def check(*names: str, root: str | None = None, verbose: bool = True) -> bool:
    """Run the public tests matching any of ``names`` (all public tests if none); print a summary."""
    root = find_release_root(root)
    with tempfile.TemporaryDirectory(prefix="agk-check-") as tmp:
        results = os.path.join(tmp, "results.json")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", root,
               "-c", os.path.join(root, "pytest.ini"), os.path.join(root, "tests", "public"), "--results", results]
        if names:
            cmd += ["-k", " or ".join(names)]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if not os.path.exists(results):
            print("the checks could not run:\n" + (proc.stdout + proc.stderr)[-2000:])
            return False
        with open(results, encoding="utf-8") as fh:
            data = json.load(fh)
    tests = data.get("tests", [])
    if not tests:
        print("no public test matches %s" % ", ".join(repr(n) for n in names))
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
