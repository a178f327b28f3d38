"""Run the real ``run_autograder`` on a temporary /autograder tree (instructor side).

``python -m autograder grade <id> <submission dir or .zip>`` builds the
assignment's autograder tree (or unpacks a built zip), lays out a Gradescope-like
root in a temp folder, runs the very same ``run_autograder`` script against it,
and prints a table of tests, points and messages.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile

from .build import autograder_tree, unpack_zip
from .config import Kit
from .results import atomic_write_json

SAMPLE_METADATA = {
    "id": 0, "created_at": "1970-01-01T00:00:00Z", "assignment": {"title": "local run"},
    "users": [{"name": "Local Student", "email": "student@example.invalid", "sid": "0"}],
    "submission_method": "upload",
}


def stage_submission(submission: str, dest: str) -> None:
    """Copy a submission folder's contents, or a single uploaded file, into ``dest``."""
    os.makedirs(dest, exist_ok=True)
    if os.path.isdir(submission):
        shutil.copytree(submission, dest, dirs_exist_ok=True, symlinks=True)
    elif os.path.isfile(submission):
        shutil.copy2(submission, os.path.join(dest, os.path.basename(submission)))
    else:
        raise FileNotFoundError("submission %s does not exist; give a folder or a .zip" % submission)


def run_autograder(source: str, submission_dir: str, results_dir: str, root: str,
                   seed: int | None = None, python: str | None = None, timeout: float | None = None,
                   env: dict | None = None, public_seed: int | None = None) -> dict:
    """Run ``<source>/run_autograder`` with the roots pointed at the given folders
    (``env``: more variables for this run only; ``seed``: the hidden seed; ``public_seed``: the public
    tests' random inputs, as the self-check's extra seeds vary them)."""
    env = dict(os.environ, **(env or {}))
    env.update({"AUTOGRADER_ROOT": root, "AUTOGRADER_SOURCE": source,
                "AUTOGRADER_SUBMISSION_DIR": submission_dir, "AUTOGRADER_RESULTS_DIR": results_dir,
                "AUTOGRADER_PYTHON": python or sys.executable})
    env.pop("AUTOGRADER_SEED_OVERRIDE", None)
    env.pop("AUTOGRADER_PUBLIC_SEED_OVERRIDE", None)
    if seed is not None:
        env["AUTOGRADER_SEED_OVERRIDE"] = str(seed)
    if public_seed is not None:
        env["AUTOGRADER_PUBLIC_SEED_OVERRIDE"] = str(public_seed)
    proc = subprocess.run(["bash", os.path.join(source, "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=timeout)
    path = os.path.join(results_dir, "results.json")
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    data.setdefault("extra_data", {})
    data["_harness_log"] = (proc.stdout + proc.stderr)[-4000:]
    return data


def prepare_source(kit: Kit, aid: str, dest: str, zip_path: str | None = None) -> str:
    if zip_path:
        return unpack_zip(zip_path, dest)
    return autograder_tree(kit, aid, dest)


def grade(aid: str, submission: str, *, results: str | None = None, zip_path: str | None = None,
          seed: int | None = None, kit: Kit | None = None) -> dict:
    kit = kit or Kit()
    kit.assignment(aid)
    with tempfile.TemporaryDirectory(prefix="agk-local-") as root:
        source = prepare_source(kit, aid, os.path.join(root, "source"), zip_path)
        sub = os.path.join(root, "submission")
        stage_submission(submission, sub)
        with open(os.path.join(root, "submission_metadata.json"), "w", encoding="utf-8") as fh:
            json.dump(SAMPLE_METADATA, fh)
        data = run_autograder(source, sub, os.path.join(root, "results"), root, seed=seed)
    log = data.pop("_harness_log", "")
    if results:
        atomic_write_json(results, data)
    data["_harness_log"] = log
    return data


def format_table(data: dict, width: int = 100) -> str:
    tests = data.get("tests", [])
    name_w = min(max([len(t["name"]) for t in tests] + [4]), 60)
    lines = ["%-6s %-*s %13s  %s" % ("#", name_w, "test", "points", "visibility")]
    for t in tests:
        lines.append("%-6s %-*s %6.2f / %-5.2f  %s" % (t.get("number", ""), name_w, t["name"][:name_w],
                                                      t["score"], t["max_score"], t.get("visibility", "")))
        if t.get("status") == "failed":
            for msg_line in t.get("output", "").splitlines()[:6]:
                lines.append("       " + msg_line[:width])
    total = sum(t["max_score"] for t in tests)
    lines.append("total: %.2f / %.2f" % (data.get("score", 0.0), total))
    if data.get("output"):
        lines.append(data["output"])
    return "\n".join(lines)
