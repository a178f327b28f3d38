"""Gradescope results.json: building, writing atomically, checking.

Schema: ``autograder/schema/results.schema.json`` (validated with jsonschema in
the kit's tests; :func:`check` is a dependency-free subset used at grading time).
"""
from __future__ import annotations

import json
import math
import os
import tempfile
import time


SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schema", "results.schema.json")
MAX_OUTPUT = 8000          # characters of one test's output
MAX_TOTAL_OUTPUT = 90000   # all outputs together, well under Gradescope's limits


def load_json(path: str):
    """The JSON document at ``path``, or None when it is missing or not valid JSON."""
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def atomic_write_json(path: str, data: dict) -> None:
    """Write JSON to a temporary file beside ``path`` and rename it into place."""
    text = json.dumps(data, indent=2, allow_nan=False, ensure_ascii=False)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".results-", suffix=".json", dir=folder)
    try:
        # errors="replace": a lone surrogate from anywhere (a student's message, a file name)
        # must never stop results.json from being written
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + "\n[... %d more characters not shown ...]" % (len(text) - limit)


def _round(x: float) -> float:
    return round(float(x), 4)


def test_entry(group: dict, finished: bool) -> dict:
    cases = group["cases"]
    outcomes = group["outcomes"]
    passed = sum(1 for c in cases if outcomes.get(c) == "passed")
    done = sum(1 for c in cases if c in outcomes)
    points = group["points"]
    score = _round(points * passed / len(cases)) if cases else 0.0
    lines = []
    for label, msg in group["messages"]:
        lines.append(("[%s] " % label if label else "") + msg)
    not_run = len(cases) - done
    if not_run:
        lines.append("not run: %s" % ("grading stopped before this test ran (time budget)"
                                     if finished else "grading was interrupted before this test ran"))
    if not lines:
        lines.append("passed" + (" (%d cases)" % len(cases) if len(cases) > 1 else ""))
    elif len(cases) > 1:
        lines.insert(0, "%d of %d cases passed" % (passed, len(cases)))
    if not group.get("graded", True):
        lines.append("(this test has no @graded marker, so it carries no points)")
    return {
        "score": score, "max_score": _round(points), "status": "passed" if passed == len(cases) and cases else "failed",
        "name": group["name"], "name_format": "text", "number": group["number"],
        "output": _clip("\n".join(lines), MAX_OUTPUT), "output_format": "text",
        "tags": group["tags"], "visibility": group["visibility"],
        "extra_data": {"cases": len(cases), "passed": passed, "public": not group.get("hidden", False),
                       "key": group.get("key", ""), "seeded": bool(group.get("seeded")),
                       **({"touched": sorted(group["touched"])} if group.get("touched") else {})},
    }


def top_output(state) -> str:
    parts = []
    intake = state.intake or {}
    for note in list(intake.get("notes", [])) + list(getattr(state, "notes", [])):
        parts.append(note)
    if intake.get("missing"):
        parts.append("Missing from your submission: %s. Found: %s." % (
            ", ".join(intake["missing"]), ", ".join(intake.get("found") or []) or "nothing usable"))
    from .fixtures import PUBLIC_SEED

    if state.seed != PUBLIC_SEED:
        parts.append("Public and hidden tests used seed %d (set by the instructor)." % state.hidden_seed)
    else:
        parts.append("Public tests use fixed inputs: `pytest` in your assignment folder gives the same public "
                     "results.")
        if getattr(state, "seed_overridden", False):
            parts.append("Hidden tests used seed %d (set by the instructor)." % state.hidden_seed)
    return "\n".join(parts)


def build_results(state, finished: bool) -> dict:
    tests = [test_entry(state.groups[k], finished) for k in state.order]
    total_chars = 0
    for t in tests:  # keep the whole file comfortably small
        total_chars += len(t["output"])
        if total_chars > MAX_TOTAL_OUTPUT:
            t["output"] = _clip(t["output"], 200)
    data = {
        "score": _round(sum(t["score"] for t in tests)),
        "execution_time": _round(time.monotonic() - state.start),
        "output": top_output(state),
        "output_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "extra_data": {"seed": state.seed, "hidden_seed": state.hidden_seed, "finished": bool(finished),
                       "assignment": state.assignment.id,
                       "sandbox_restarts": getattr(state.sandbox, "restarts", 0),
                       # workers forked from the template / started by exec, and the forked ones' CPU seconds
                       "workers": dict(getattr(state.sandbox, "started", None) or {},
                                       forked_cpu=round(float(getattr(state.sandbox, "forked_cpu", 0.0)), 3)),
                       # instructor-only: printed on the harness's stdout (hidden from students)
                       "diagnostics": list(getattr(state, "diagnostics", []))},
        "tests": tests,
    }
    if state.leaderboard:
        data["leaderboard"] = list(state.leaderboard.values())
    return data


def fallback(message: str, assignment: str = "", tests=None) -> dict:
    """A valid results.json for when grading could not run at all."""
    return {"score": 0.0, "execution_time": 0.0, "output": message, "output_format": "text",
            "visibility": "visible", "stdout_visibility": "hidden",
            "extra_data": {"assignment": assignment, "fallback": True}, "tests": list(tests or [])}


def check(data: dict) -> list:
    """Problems with a results dict (empty list when it is fine). Dependency-free."""
    problems = []
    try:
        json.dumps(data, allow_nan=False)
    except ValueError as exc:
        problems.append("not valid JSON: %s" % exc)
    tests = data.get("tests", [])
    if not isinstance(tests, list):
        return problems + ["tests must be a list"]
    for t in tests:
        for key in ("score", "max_score", "name", "output"):
            if key not in t:
                problems.append("test %r lacks %s" % (t.get("name"), key))
        if t.get("visibility", "visible") not in ("hidden", "after_due_date", "after_published", "visible"):
            problems.append("test %r has visibility %r" % (t.get("name"), t.get("visibility")))
    total = sum(float(t.get("score", 0)) for t in tests)
    if tests and not math.isclose(total, float(data.get("score", -1)), abs_tol=1e-3):
        problems.append("score %s is not the sum of test scores %s" % (data.get("score"), total))
    return problems


def validate_schema(data: dict) -> None:
    """Validate against the JSON schema (needs jsonschema) and the sum rule; raise ValueError."""
    import jsonschema

    with open(SCHEMA_PATH, encoding="utf-8") as fh:
        schema = json.load(fh)
    jsonschema.validate(data, schema)
    problems = check(data)
    if problems:
        raise ValueError("; ".join(problems))
