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

import contextlib
import json
import os
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .config import Kit, _load_toml, load_file
from .harness import start_templates, templates_env
from .local import prepare_source, run_autograder


@dataclass
class Outcome:
    label: str
    score: float
    max_score: float
    ok: bool
    problems: list = field(default_factory=list)
    data: dict = field(default_factory=dict)
    #: the extra seeds it was graded on (besides its own)
    seeds: list = field(default_factory=list)


CATALOGUES = {"mistake": "mistakes.toml", "variant": "variants.toml"}


def load_catalogue(kit: Kit, aid: str, kind: str) -> list:
    """Entries of ``assignments/<id>/mistakes.toml`` (kind "mistake") or ``variants.toml`` ("variant").

    Each entry: id, function, file, find, replace (one edit of the reference), and optionally more
    edits as ``[[<kind>.edit]]`` tables (find, replace, and file when another file)."""
    a = kit.assignment(aid)
    name = a.mistakes_file if kind == "mistake" else CATALOGUES[kind]
    path = kit.path("assignments", aid, name)
    if not os.path.exists(path):
        return []
    entries = _load_toml(path).get(kind, [])
    seen = set()
    for m in entries:
        for key in ("id", "function", "file", "find", "replace"):
            if key not in m:
                raise ValueError("%s: %s %r lacks %r" % (path, kind, m.get("id", "?"), key))
        for e in m.get("edit", []):
            if "find" not in e or "replace" not in e:
                raise ValueError("%s: an edit of %s %r lacks find or replace" % (path, kind, m["id"]))
        if m["id"] in seen:
            raise ValueError("%s: two entries are called %r; ids must be unique" % (path, m["id"]))
        seen.add(m["id"])
        m["kind"] = kind
    return entries


def load_mistakes(kit: Kit, aid: str) -> list:
    return load_catalogue(kit, aid, "mistake")


def load_variants(kit: Kit, aid: str) -> list:
    return load_catalogue(kit, aid, "variant")


def entry_edits(entry: dict) -> list:
    """(file, find, replace) of every edit a catalogue entry makes, in order."""
    edits = [(entry["file"], entry["find"], entry["replace"])]
    for e in entry.get("edit", []):
        edits.append((e.get("file", entry["file"]), e["find"], e["replace"]))
    return edits


def apply_entry(files: dict, entry: dict, where: str = "the reference") -> dict:
    """``files`` (relpath -> text) with the entry's edits applied; ValueError when a ``find`` is gone."""
    files = dict(files)
    for rel, find, replace in entry_edits(entry):
        if find not in files.get(rel, ""):
            raise ValueError("%s %r: its `find` text %r is not in %s's %s any more; update %s"
                             % (entry.get("kind", "mistake"), entry["id"], find.splitlines()[0][:60], where, rel,
                                CATALOGUES.get(entry.get("kind", "mistake"))))
        files[rel] = files[rel].replace(find, replace, 1)
    return files


def _copy_required(src_root: str, required: list, dest: str) -> None:
    for rel in required:
        src = os.path.join(src_root, rel)
        if os.path.exists(src):
            os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
            shutil.copyfile(src, os.path.join(dest, rel))


def make_mistake(kit: Kit, aid: str, mistake: dict, dest: str) -> None:
    """Write the reference's required files into ``dest`` with a catalogue entry (mistake or variant) applied."""
    a = kit.assignment(aid)
    _copy_required(kit.path("solutions", aid), a.required_files + a.optional_files, dest)
    rels = sorted({rel for rel, _, _ in entry_edits(mistake)})
    files = {}
    for rel in rels:
        with open(os.path.join(dest, rel), encoding="utf-8") as fh:
            files[rel] = fh.read()
    for rel, text in apply_entry(files, mistake, "solutions/%s" % aid).items():
        with open(os.path.join(dest, rel), "w", encoding="utf-8") as fh:
            fh.write(text)


def _failed_outputs(data: dict) -> list:
    return [t.get("output", "") for t in data.get("tests", []) if t.get("score", 0) < t.get("max_score", 0)]


def caught_by_public(data: dict) -> bool:
    """True when a public test (tests/public/, the ones students run) lost points."""
    return any(t.get("score", 0) < t.get("max_score", 0) and (t.get("extra_data") or {}).get("public")
               for t in data.get("tests", []))


def _lost(t: dict) -> bool:
    return t.get("score", 0) < t.get("max_score", 0)


def _first_lines(tests: list, limit: int = 3) -> str:
    return "; ".join("%s: %s" % (t["name"], (t.get("output") or "").splitlines()[0] if t.get("output") else "")
                     for t in tests[:limit]) + (" (and %d more)" % (len(tests) - limit) if len(tests) > limit else "")


def judge(kind: str, data: dict, mistake: dict | None = None) -> list:
    """Problems with one graded candidate (empty list = as expected)."""
    tests = data.get("tests", [])
    total = sum(t["max_score"] for t in tests)
    score = data.get("score", 0.0)
    if not tests:
        return ["no tests were graded: %s" % data.get("output", "")[:300]]
    if kind in ("reference", "variant"):
        if abs(score - total) < 1e-6:
            return []
        who = "reference" if kind == "reference" else "variant %r (correct code written another way)" % mistake["id"]
        return ["%s scored %.2f / %.2f: %s" % (who, score, total, _first_lines([t for t in tests if _lost(t)]))]
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


def _key(t: dict) -> str:
    return (t.get("extra_data") or {}).get("key", "")


def _seeded(t: dict) -> bool:
    return bool((t.get("extra_data") or {}).get("seeded"))


def _public(t: dict) -> bool:
    return bool((t.get("extra_data") or {}).get("public"))


def rerun_keys(kind: str, data: dict, entry: dict | None) -> list:
    """The tests to grade again on another seed. Tests whose inputs do not come from the seed (fixtures,
    fixed cases) give the same result on every seed, so only seeded ones are re-run:
    * reference, variant: every seeded test (each must keep full marks);
    * mistake: the seeded tests that caught it, unless a seed-independent test already catches it
      (a public one, when the public tests must catch it)."""
    tests = data.get("tests", [])
    if kind in ("reference", "variant"):
        return [_key(t) for t in tests if _seeded(t)]
    if kind != "mistake":
        return []
    need_public = not entry.get("hidden_only")
    failed = [t for t in tests if _lost(t)]
    if any(not _seeded(t) and (_public(t) or not need_public) for t in failed):
        return []
    return [_key(t) for t in failed if _seeded(t)]


def judge_rerun(kind: str, natural: dict, rerun: dict, entry: dict | None, seed: int) -> list:
    """Problems on an extra seed: ``rerun`` graded only :func:`rerun_keys` of the ``natural`` grading."""
    label = "reference" if kind == "reference" else "%s %r" % (kind, entry["id"])
    replay = "" if kind == "reference" else " (replay: python -m autograder check %s --%s %s --seed %d --show)" % (
        natural.get("extra_data", {}).get("assignment", "<id>"), kind, entry["id"], seed)
    tests = rerun.get("tests", [])
    if not tests:
        return ["%s on seed %d: no tests were graded: %s" % (label, seed, rerun.get("output", "")[:300])]
    if kind in ("reference", "variant"):
        lost = [t for t in tests if _lost(t)]
        if lost:
            return ["%s loses %.2f points on seed %d: %s%s" % (
                label, sum(t["max_score"] - t["score"] for t in lost), seed, _first_lines(lost), replay)]
        return []
    fixed = [t for t in natural.get("tests", []) if _lost(t) and not _seeded(t)]
    caught = [t for t in tests if _lost(t)] + fixed
    if not caught:
        return ["%s escapes on seed %d: the tests that caught it on its own seed all pass%s" % (label, seed, replay)]
    if not entry.get("hidden_only") and not any(_public(t) for t in caught):
        return ["%s on seed %d: only hidden tests catch it%s" % (label, seed, replay)]
    return []


def affected_keys(reference: dict, entry: dict) -> list | None:
    """The tests a catalogue entry can change: those whose traced reference run ran a file the entry
    edits, and those that ran no submitted file at all (nothing to go by). None: every test."""
    changed = {rel for rel, _, _ in entry_edits(entry)}
    keys, every = [], True
    for t in reference.get("tests", []):
        touched = (t.get("extra_data") or {}).get("touched")
        if not touched or changed & set(touched):
            keys.append(_key(t))
        else:
            every = False
    return None if every or not all(keys) else keys


def merge_with_reference(reference: dict, partial: dict) -> dict:
    """``partial`` (graded on some tests) completed with the reference's entries for the tests it did not
    run: tests that never run an edited file give the reference's result (full marks)."""
    graded = {_key(t): t for t in partial.get("tests", [])}
    # numbers from the reference's run of every test (a run of some tests numbers only those)
    tests = [dict(graded[_key(t)], number=t["number"]) if _key(t) in graded else t for t in reference.get("tests", [])]
    data = dict(partial, tests=tests, score=round(sum(t["score"] for t in tests), 4))
    data["extra_data"] = dict(partial.get("extra_data") or {},
                              reference_results=[_key(t) for t in tests if _key(t) not in graded])
    return data


class _Heartbeat:
    """The progress callback, plus a line naming what is being graded whenever ``every`` seconds passed
    without one (so that a self-check is never silent for long)."""

    def __init__(self, say, aid: str, every: float = 25.0):
        self.say, self.aid, self.every = say, aid, every
        self.t0 = self.last = time.monotonic()
        self.running: dict = {}
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, daemon=True)

    def __call__(self, line: str) -> None:
        with self.lock:
            self.last = time.monotonic()
            self.say(line)

    @contextlib.contextmanager
    def busy(self, label: str):
        with self.lock:
            self.running[threading.get_ident()] = (label, time.monotonic())
        try:
            yield
        finally:
            with self.lock:
                self.running.pop(threading.get_ident(), None)

    def _beat(self) -> None:
        while not self.done.wait(1.0):
            now = time.monotonic()
            if now - self.last >= self.every:
                with self.lock:
                    what = ", ".join("%s (for %.0f s)" % (label, now - t) for label, t in self.running.values())
                self("%s: still grading %s (%.0f s)" % (self.aid, what or "...", now - self.t0))

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join()


def _busy(say, label: str):
    return say.busy(label) if isinstance(say, _Heartbeat) else contextlib.nullcontext()


def check_assignment(kit: Kit, aid: str, zip_path: str | None = None, workers: int = 2, seeds: int = 5,
                     progress=None, mistakes: list | None = None, variants: list | None = None,
                     full: bool = False) -> dict:
    """Grade the reference, the starter, every mistake and every variant through ``run_autograder``:
    each on its own (natural) seed, then on ``seeds - 1`` more seeds (1, 2, ...) re-running the tests
    :func:`rerun_keys` names. ``progress``: called with one line per finished grading.
    ``mistakes``, ``variants``: these entries instead of the catalogues.

    The reference is graded first with tracing on (which submitted files each test runs); a mistake or a
    variant is then graded on the tests that run a file it edits (:func:`affected_keys`), the others
    keeping the reference's result. ``full``: grade every entry on every test instead."""
    a = kit.assignment(aid)
    mistakes = load_mistakes(kit, aid) if mistakes is None else mistakes
    variants = load_variants(kit, aid) if variants is None else variants
    say = _Heartbeat(progress, aid) if progress else (lambda line: None)
    with tempfile.TemporaryDirectory(prefix="agk-check-") as tmp, (say if progress else contextlib.nullcontext()):
        say("%s: preparing the autograder source and %d candidates" % (aid, 2 + len(mistakes) + len(variants)))
        source = prepare_source(kit, aid, os.path.join(tmp, "source"), zip_path)
        # one pre-imported template for every grading of this check: pytest and the workers are forked from
        # it instead of starting interpreters that import torch (each grading still gets fresh processes)
        templates = start_templates(source, load_file(os.path.join(source, "assignment.json")))
        shared_env = templates_env(templates)
        try:
            return _check(kit, aid, a, tmp, source, shared_env, mistakes, variants, seeds, workers, full, say)
        finally:
            for t in templates:
                t.close()


def _check(kit, aid, a, tmp, source, shared_env, mistakes, variants, seeds, workers, full, say) -> dict:
    extra = list(range(1, max(1, seeds)))
    jobs = []
    ref = os.path.join(tmp, "cand", "reference")
    _copy_required(kit.path("solutions", aid), a.required_files + a.optional_files, ref)
    jobs.append(("reference", ref, None))
    starter = os.path.join(tmp, "cand", "starter")
    _copy_required(kit.path("student_starter", aid), a.required_files, starter)
    jobs.append(("starter", starter, None))
    for kind, entries in (("mistake", mistakes), ("variant", variants)):
        for m in entries:
            d = os.path.join(tmp, "cand", "%s-%s" % (kind, m["id"]))
            make_mistake(kit, aid, m, d)
            jobs.append((kind, d, m))
    counter = {"done": 0}
    t_start = time.monotonic()
    affected = {}

    def grade_one(kind, sub, m, seed=None, select=None, trace=False):
        tag = os.path.basename(sub) + ("" if seed is None else "-seed%d" % seed)
        root = os.path.join(tmp, "roots", tag)
        os.makedirs(root)
        env = dict(shared_env)
        if select is not None:
            env["AUTOGRADER_SELECT"] = json.dumps(select)
        if trace:
            env["AUTOGRADER_TRACE"] = "1"
        with _busy(say, "%s%s" % (tag, " (%d tests)" % len(select) if select is not None else "")):
            data = run_autograder(source, sub, os.path.join(root, "results"), root, seed=seed, public_seed=seed,
                                  env=env)
        data.pop("_harness_log", None)
        return data

    def first(job):
        kind, sub, m = job
        keys = affected.get(id(job))
        data = grade_one(kind, sub, m, select=keys, trace=kind == "reference" and not full)
        if keys is not None:
            data = merge_with_reference(outcomes_ref[0].data, data)
        problems = judge(kind, data, m)
        total = sum(t["max_score"] for t in data.get("tests", []))
        label = kind if m is None else m["id"]
        counter["done"] += 1
        say("%s: %d/%d %s %s: %.1f/%.1f %s%s (%.0f s)" % (
            aid, counter["done"], len(jobs), kind, "" if m is None else m["id"], data.get("score", 0.0), total,
            "ok" if not problems else "PROBLEM",
            "" if keys is None else ", graded on the %d tests that run its files" % len(keys),
            time.monotonic() - t_start))
        return Outcome(label, data.get("score", 0.0), total, not problems, problems, data)

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        # the starter (graded in full) beside the reference, whose traced results the others wait for
        starter_future = pool.submit(first, jobs[1])
        outcomes_ref = [first(jobs[0])]
        if not full and outcomes_ref[0].ok:
            for job in jobs[2:]:
                affected[id(job)] = affected_keys(outcomes_ref[0].data, job[2])
        outcomes = outcomes_ref + [starter_future.result()] + list(pool.map(first, jobs[2:]))
    reruns = []
    for job, o in zip(jobs, outcomes):
        kind, sub, m = job
        keys = rerun_keys(kind, o.data, m) if o.ok else []
        if affected.get(id(job)) is not None:
            keys = [k for k in keys if k in affected[id(job)]]
        if keys:
            reruns += [(kind, sub, m, o, seed, keys) for seed in extra]
    if reruns:
        say("%s: %d re-runs of the seeded tests on seeds %s" % (aid, len(reruns), ", ".join(map(str, extra))))
    counter["done"] = 0

    def again(job):
        kind, sub, m, o, seed, keys = job
        data = grade_one(kind, sub, m, seed=seed, select=keys)
        problems = judge_rerun(kind, o.data, data, m, seed)
        counter["done"] += 1
        if problems or counter["done"] % 10 == 0 or counter["done"] == len(reruns):
            say("%s: re-run %d/%d %s %s seed %d: %s (%.0f s)" % (
                aid, counter["done"], len(reruns), kind, "" if m is None else m["id"], seed,
                "ok" if not problems else "PROBLEM", time.monotonic() - t_start))
        return o, seed, problems

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for o, seed, problems in pool.map(again, reruns):
            o.seeds.append(seed)
            if problems:
                o.ok = False
                o.problems += problems
    n_m = len(mistakes)
    return {"assignment": aid, "reference": outcomes[0], "starter": outcomes[1], "mistakes": outcomes[2:2 + n_m],
            "variants": outcomes[2 + n_m:], "seeds": 1 + len(extra)}


def grade_entry(kit: Kit, aid: str, kind: str, name: str, seed: int | None = None,
                zip_path: str | None = None, entries: list | None = None) -> tuple:
    """Grade one candidate ("reference", "starter", or a mistake / variant called ``name``, from its
    catalogue or from ``entries``) in full on ``seed`` (None: its own seed). Returns (results, problems)."""
    a = kit.assignment(aid)
    entry = None
    if kind in ("mistake", "variant"):
        entries = {m["id"]: m for m in (load_catalogue(kit, aid, kind) if entries is None else entries)}
        if name not in entries:
            raise ValueError("%s has no %s called %r; it has: %s" % (
                aid, kind, name, ", ".join(sorted(entries)) or "none (see %s)" % CATALOGUES[kind]))
        entry = entries[name]
    with tempfile.TemporaryDirectory(prefix="agk-check-") as tmp:
        source = prepare_source(kit, aid, os.path.join(tmp, "source"), zip_path)
        sub = os.path.join(tmp, "candidate")
        if entry is not None:
            make_mistake(kit, aid, entry, sub)
        else:
            base = "student_starter" if kind == "starter" else "solutions"
            _copy_required(kit.path(base, aid), a.required_files + (a.optional_files if kind == "reference" else []),
                           sub)
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        data = run_autograder(source, sub, os.path.join(root, "results"), root, seed=seed, public_seed=seed)
        data.pop("_harness_log", None)
    return data, judge(kind, data, entry)


def format_report(reports: list) -> str:
    lines = ["%-16s %-14s %-10s %-26s %-16s %s" % ("assignment", "reference", "starter",
                                                   "mistakes caught (public)", "variants full", "seeds")]
    for r in reports:
        ref, st, ms, vs = r["reference"], r["starter"], r["mistakes"], r.get("variants", [])
        lines.append("%-16s %-14s %-10s %-26s %-16s %d" % (
            r["assignment"], "%.1f/%.1f %s" % (ref.score, ref.max_score, "ok" if ref.ok else "FAIL"),
            "%.1f %s" % (st.score, "ok" if st.ok else "FAIL"),
            "%d / %d (%d)" % (sum(m.ok for m in ms), len(ms), sum(caught_by_public(m.data) for m in ms)),
            "%d / %d" % (sum(v.ok for v in vs), len(vs)), r.get("seeds", 1)))
    for r in reports:
        for o in [r["reference"], r["starter"], *r["mistakes"], *r.get("variants", [])]:
            for p in o.problems:
                lines.append("  %s: %s" % (r["assignment"], p))
    return "\n".join(lines)


def all_ok(reports: list) -> bool:
    return all(o.ok for r in reports for o in [r["reference"], r["starter"], *r["mistakes"], *r.get("variants", [])])
