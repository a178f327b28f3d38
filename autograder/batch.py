"""Grade a whole class: ``python -m autograder batch <id> <folder | Gradescope export zip>``.

Each submission goes through the real ``run_autograder`` (the same script and
sandbox as on Gradescope), several at a time. The output folder holds::

    results/<key>.json    each submission's results.json (written atomically)
    grades.csv            one row per submission: key, name, email, sid, total, max, each test's points
    report.md + *.png     the class report (see ``autograder.report``)
    similarity.md/.csv    the most similar pairs of submissions (see ``autograder.similarity``)

Run it again with the same ``--out`` to resume: submissions with a results file
are not graded again (``--regrade`` grades everything). One broken or hostile
submission costs only its own row: every failure becomes a results file that
says what happened.

Input: a folder holding one entry per submission (a sub-folder, a .zip, or a
single .py), or Gradescope's "Export Submissions" zip (``submission_<id>/``
folders and ``submission_metadata.yml``). Student names come from that YAML
file, or from a ``submission_metadata.json`` inside a submission's folder.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field

from .config import Kit
from .intake import _extract_zip
from .local import SAMPLE_METADATA, prepare_source, run_autograder, stage_submission
from .results import atomic_write_json, fallback

MAX_EXPORT_BYTES = 4 << 30
MAX_EXPORT_FILES = 200_000
SKIP = {"__MACOSX", ".DS_Store", "submission_metadata.yml", "submission_metadata.json"}


class BatchError(ValueError):
    """The batch cannot start (bad input or output folder)."""


@dataclass
class Submission:
    key: str                       # a file-name-safe id, unique in the batch
    path: str                      # folder or file, as the student uploaded it
    meta: dict = field(default_factory=dict)   # name, email, sid (strings, may be empty)


# ---------------------------------------------------------------- input
def _safe_key(name: str) -> str:
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"
    return key[:120]


def _extract_export(path: str, dest: str) -> str:
    """Unpack a Gradescope export zip into ``dest`` with the intake's safe extraction (larger limits)."""
    notes = []
    _extract_zip(path, dest, notes, max_bytes=MAX_EXPORT_BYTES, max_files=MAX_EXPORT_FILES)
    if notes:
        raise BatchError("could not read %s as a zip export (%s); unpack it yourself and pass the folder"
                         % (path, notes[0]))
    return dest


def _yaml_metadata(root: str) -> dict:
    """{folder name: {"name", "email", "sid"}} from Gradescope's submission_metadata.yml, if any."""
    path = os.path.join(root, "submission_metadata.yml")
    if not os.path.exists(path):
        return {}
    try:
        import yaml

        with open(path, encoding="utf-8") as fh:
            data = yaml.safe_load(fh) or {}
    except Exception as exc:  # a broken metadata file must not stop grading
        print("warning: could not read %s (%s); students are named by folder" % (path, exc))
        return {}
    out = {}
    for folder, entry in data.items() if isinstance(data, dict) else ():
        submitters = (entry or {}).get(":submitters") or (entry or {}).get("submitters") or []
        people = [{k.lstrip(":"): str(v) for k, v in (p or {}).items()} for p in submitters]
        out[str(folder)] = _people(people)
    return out


def _people(people: list) -> dict:
    """Several submitters (a group) are joined with '; '."""
    def join(key, alt=None):
        return "; ".join(p.get(key) or (p.get(alt) if alt else "") or "" for p in people if isinstance(p, dict))
    return {"name": join("name"), "email": join("email"), "sid": join("sid", "id")}


def _json_metadata(folder: str) -> dict:
    path = os.path.join(folder, "submission_metadata.json")
    try:
        with open(path, encoding="utf-8") as fh:
            return _people(json.load(fh).get("users") or [])
    except (OSError, ValueError, AttributeError):
        return {}


def discover(input_path: str, scratch: str) -> list:
    """The submissions of a folder or an export zip, sorted by key."""
    if not os.path.exists(input_path):
        raise BatchError("%s does not exist; give a folder of submissions or Gradescope's export zip" % input_path)
    root = input_path
    if os.path.isfile(input_path):
        if not input_path.lower().endswith(".zip"):
            raise BatchError("%s is not a folder or a .zip" % input_path)
        root = _extract_export(input_path, os.path.join(scratch, "export"))
    # an export zip usually wraps everything in one folder (assignment_<id>_export/)
    entries = [e for e in os.listdir(root) if e not in SKIP]
    while len(entries) == 1 and os.path.isdir(os.path.join(root, entries[0])) and \
            not os.path.exists(os.path.join(root, "submission_metadata.yml")) and \
            all(os.path.isdir(os.path.join(root, entries[0], e)) or e in SKIP
                for e in os.listdir(os.path.join(root, entries[0]))):
        root = os.path.join(root, entries[0])
        entries = [e for e in os.listdir(root) if e not in SKIP]
    names = _yaml_metadata(root)
    subs, seen = [], set()
    for entry in sorted(entries):
        full = os.path.join(root, entry)
        if os.path.islink(full) or entry.startswith("."):
            continue
        key = _safe_key(os.path.splitext(entry)[0] if os.path.isfile(full) else entry)
        while key in seen:
            key += "_"
        seen.add(key)
        meta = names.get(entry) or (_json_metadata(full) if os.path.isdir(full) else {})
        subs.append(Submission(key=key, path=full, meta={"name": meta.get("name", ""), "email": meta.get("email", ""),
                                                          "sid": meta.get("sid", "")}))
    if not subs:
        raise BatchError("no submissions found in %s" % input_path)
    return subs


# ---------------------------------------------------------------- grading
def _results_path(out: str, key: str) -> str:
    return os.path.join(out, "results", key + ".json")


def _done(out: str, key: str) -> bool:
    """A finished results file from an earlier run (errors of the batch itself are retried)."""
    try:
        with open(_results_path(out, key), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return False
    return "batch_error" not in data.get("extra_data", {})


def grade_one(source: str, sub: Submission, out: str, work: str, timeout: float) -> dict:
    """Grade one submission through run_autograder; always returns (and writes) a results dict."""
    root = tempfile.mkdtemp(prefix=sub.key[:40] + "-", dir=work)
    t0 = time.monotonic()
    try:
        staged = os.path.join(root, "submission")
        stage_submission(sub.path, staged)
        meta = dict(SAMPLE_METADATA, users=[{"name": sub.meta.get("name") or sub.key,
                                             "email": sub.meta.get("email", ""), "sid": sub.meta.get("sid", "")}])
        with open(os.path.join(root, "submission_metadata.json"), "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        data = run_autograder(source, staged, os.path.join(root, "results"), root, timeout=timeout)
        data.pop("_harness_log", None)
    except subprocess.TimeoutExpired:
        data = fallback("Grading this submission took longer than the batch's limit of %g s." % timeout)
        data["extra_data"]["batch_error"] = "timeout"
    except Exception as exc:  # noqa: BLE001  one submission never stops the batch
        data = fallback("The batch could not grade this submission (%s: %s)." % (type(exc).__name__, exc))
        data["extra_data"]["batch_error"] = type(exc).__name__
    finally:
        shutil.rmtree(root, ignore_errors=True)
    data.setdefault("extra_data", {})["batch"] = {"key": sub.key, "wall_s": round(time.monotonic() - t0, 3),
                                                  **sub.meta}
    atomic_write_json(_results_path(out, sub.key), data)
    return data


def run_batch(aid: str, input_path: str, out: str, *, workers: int | None = None, timeout: float | None = None,
              zip_path: str | None = None, regrade: bool = False, progress: bool = True, kit: Kit | None = None,
              similarity: bool = True, report: bool = True) -> dict:
    """Grade every submission; write results/, grades.csv, the report and the similarity check.

    Returns {"graded": n graded now, "skipped": n resumed, "total": n, "seconds": wall, "workers": w}."""
    kit = kit or Kit()
    a = kit.assignment(aid)
    workers = max(1, int(workers or os.cpu_count() or 1))
    timeout = float(timeout or float(a.grading["budget"]) + 60.0)
    os.makedirs(os.path.join(out, "results"), exist_ok=True)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agk-batch-") as tmp:
        os.chmod(tmp, 0o755)
        subs = discover(input_path, tmp)
        source = prepare_source(kit, aid, os.path.join(tmp, "source"), zip_path)
        todo = [s for s in subs if regrade or not _done(out, s.key)]
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        bar = _progress(len(todo), progress, "grading %s" % aid)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(grade_one, source, s, out, work, timeout) for s in todo]
            for _ in as_completed(futures):  # the bar is updated from this thread only
                bar.update(1)
        bar.close()
        for stale in set(os.listdir(os.path.join(out, "results"))) - {s.key + ".json" for s in subs}:
            if stale.endswith(".json"):
                print("note: results/%s belongs to no submission of this input; it is left out of grades.csv"
                      % stale)
        write_grades(out, subs)
    seconds = time.monotonic() - t0
    if report:
        from .report import write_report

        write_report(out, aid, [s.key for s in subs])
    if similarity:
        from .similarity import write_similarity

        write_similarity(out, kit, aid, subs)
    return {"graded": len(todo), "skipped": len(subs) - len(todo), "total": len(subs), "seconds": seconds,
            "workers": workers}


class _NoBar:
    def update(self, n):
        pass

    def close(self):
        pass


def _progress(total, enabled, desc):
    if not enabled:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _NoBar()
    return tqdm(total=total, desc=desc, unit="submission")


# ---------------------------------------------------------------- grades.csv
def load_results(out: str, keys: list) -> dict:
    data = {}
    for key in keys:
        try:
            with open(_results_path(out, key), encoding="utf-8") as fh:
                data[key] = json.load(fh)
        except (OSError, ValueError):
            continue
    return data


def test_columns(results: dict) -> list:
    """Test names in Gradescope order (by their number), over every submission."""
    seen = {}
    for data in results.values():
        for t in data.get("tests", []):
            seen.setdefault(t["name"], str(t.get("number", "")))

    def order(item):
        return [int(p) if p.isdigit() else p for p in re.split(r"[.]", item[1])], item[0]
    return [name for name, _ in sorted(seen.items(), key=order)]


def write_grades(out: str, subs: list) -> str:
    results = load_results(out, [s.key for s in subs])
    columns = test_columns(results)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["submission", "name", "email", "sid", "total", "max"] + columns)
    for s in subs:
        data = results.get(s.key, {})
        tests = {t["name"]: t for t in data.get("tests", [])}
        total_max = sum(t["max_score"] for t in data.get("tests", []))
        writer.writerow([s.key, s.meta.get("name", ""), s.meta.get("email", ""), s.meta.get("sid", ""),
                         "%g" % data.get("score", 0.0), "%g" % total_max]
                        + ["%g" % tests[c]["score"] if c in tests else "" for c in columns])
    path = os.path.join(out, "grades.csv")
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(buf.getvalue())
    os.replace(tmp, path)
    return path
