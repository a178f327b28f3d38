"""Self-check: grade the reference, the starter and every catalogued mistake.

For each assignment, through the real ``run_autograder``:
* the reference solution scores full marks;
* the generated starter scores 0, every test saying "not implemented: <name>";
* every mistake in ``assignments/<id>/mistakes.toml`` loses points, and a failing
  test's feedback names the function it broke (and contains ``expect`` if given);
* the public tests alone (the ones students run) catch every mistake, unless its
  entry says why only hidden tests can: ``hidden_only = "<reason>"``.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .config import Kit, _load_toml
from .local import prepare_source, run_autograder


@dataclass
class Outcome:
    label: str
    score: float
    max_score: float
    ok: bool
    problems: list = field(default_factory=list)
    data: dict = field(default_factory=dict)


def load_mistakes(kit: Kit, aid: str) -> list:
    a = kit.assignment(aid)
    path = kit.path("assignments", aid, a.mistakes_file)
    if not os.path.exists(path):
        return []
    entries = _load_toml(path).get("mistake", [])
    for m in entries:
        for key in ("id", "function", "file", "find", "replace"):
            if key not in m:
                raise ValueError("%s: mistake %r lacks %r" % (path, m.get("id", "?"), key))
    return entries


def _copy_required(src_root: str, required: list, dest: str) -> None:
    for rel in required:
        src = os.path.join(src_root, rel)
        if os.path.exists(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copyfile(src, os.path.join(dest, rel))


def make_mistake(kit: Kit, aid: str, mistake: dict, dest: str) -> None:
    """Write the reference's required files into ``dest`` with ``mistake`` applied."""
    a = kit.assignment(aid)
    _copy_required(kit.path("solutions", aid), a.required_files + a.optional_files, dest)
    target = os.path.join(dest, mistake["file"])
    with open(target, encoding="utf-8") as fh:
        text = fh.read()
    if mistake["find"] not in text:
        raise ValueError("mistake %r: its `find` text is not in solutions/%s/%s any more; update mistakes.toml"
                         % (mistake["id"], aid, mistake["file"]))
    with open(target, "w", encoding="utf-8") as fh:
        fh.write(text.replace(mistake["find"], mistake["replace"], 1))


def _failed_outputs(data: dict) -> list:
    return [t.get("output", "") for t in data.get("tests", []) if t.get("score", 0) < t.get("max_score", 0)]


def caught_by_public(data: dict) -> bool:
    """True when a public test (tests/public/, the ones students run) lost points."""
    return any(t.get("score", 0) < t.get("max_score", 0) and (t.get("extra_data") or {}).get("public")
               for t in data.get("tests", []))


def judge(kind: str, data: dict, mistake: dict | None = None) -> list:
    """Problems with one graded candidate (empty list = as expected)."""
    tests = data.get("tests", [])
    total = sum(t["max_score"] for t in tests)
    score = data.get("score", 0.0)
    if not tests:
        return ["no tests were graded: %s" % data.get("output", "")[:300]]
    if kind == "reference":
        return [] if abs(score - total) < 1e-6 else [
            "reference scored %.2f / %.2f: %s" % (score, total, "; ".join(o.splitlines()[0] for o in _failed_outputs(data))[:500])]
    if kind == "starter":
        problems = [] if score == 0 else ["starter scored %.2f, expected 0" % score]
        for t in tests:
            if "not implemented: " not in t.get("output", ""):
                problems.append("test %r does not say 'not implemented': %r" % (t["name"], t.get("output", "")[:200]))
        return problems
    outputs = _failed_outputs(data)
    if score >= total - 1e-9:
        return ["mistake %r was not caught (full marks)" % mistake["id"]]
    problems = []
    short = mistake["function"].rsplit(".", 1)[-1]
    if not any(short in o for o in outputs):
        problems.append("mistake %r: no failing test names %s" % (mistake["id"], short))
    if mistake.get("expect") and not any(mistake["expect"] in o for o in outputs):
        problems.append("mistake %r: no feedback contains %r" % (mistake["id"], mistake["expect"]))
    if not mistake.get("hidden_only") and not caught_by_public(data):
        problems.append("mistake %r: no public test catches it (only hidden ones); catch it in tests/public, or "
                        "say why it cannot be with hidden_only = \"<reason>\" in mistakes.toml" % mistake["id"])
    return problems


def check_assignment(kit: Kit, aid: str, zip_path: str | None = None, workers: int = 2) -> dict:
    a = kit.assignment(aid)
    mistakes = load_mistakes(kit, aid)
    with tempfile.TemporaryDirectory(prefix="agk-check-") as tmp:
        source = prepare_source(kit, aid, os.path.join(tmp, "source"), zip_path)
        jobs = []
        ref = os.path.join(tmp, "cand", "reference")
        _copy_required(kit.path("solutions", aid), a.required_files + a.optional_files, ref)
        jobs.append(("reference", ref, None))
        starter = os.path.join(tmp, "cand", "starter")
        _copy_required(kit.path("student_starter", aid), a.required_files, starter)
        jobs.append(("starter", starter, None))
        for m in mistakes:
            d = os.path.join(tmp, "cand", "mistake-" + m["id"])
            make_mistake(kit, aid, m, d)
            jobs.append(("mistake", d, m))

        def run(job):
            kind, sub, m = job
            root = os.path.join(tmp, "roots", os.path.basename(sub))
            os.makedirs(root)
            data = run_autograder(source, sub, os.path.join(root, "results"), root)
            data.pop("_harness_log", None)
            label = kind if m is None else m["id"]
            problems = judge(kind, data, m)
            total = sum(t["max_score"] for t in data.get("tests", []))
            return Outcome(label, data.get("score", 0.0), total, not problems, problems, data)

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            outcomes = list(pool.map(run, jobs))
    return {"assignment": aid, "reference": outcomes[0], "starter": outcomes[1], "mistakes": outcomes[2:]}


def format_report(reports: list) -> str:
    lines = ["%-18s %-16s %-14s %s" % ("assignment", "reference", "starter", "mistakes caught (by public tests)")]
    for r in reports:
        ref, st, ms = r["reference"], r["starter"], r["mistakes"]
        lines.append("%-18s %-16s %-14s %d / %d (%d)" % (
            r["assignment"], "%.1f/%.1f %s" % (ref.score, ref.max_score, "ok" if ref.ok else "FAIL"),
            "%.1f %s" % (st.score, "ok" if st.ok else "FAIL"), sum(m.ok for m in ms), len(ms),
            sum(caught_by_public(m.data) for m in ms)))
    for r in reports:
        for o in [r["reference"], r["starter"], *r["mistakes"]]:
            for p in o.problems:
                lines.append("  %s: %s" % (r["assignment"], p))
    return "\n".join(lines)


def all_ok(reports: list) -> bool:
    return all(o.ok for r in reports for o in [r["reference"], r["starter"], *r["mistakes"]])
