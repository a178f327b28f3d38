"""Grade a whole class: ``python -m autograder batch <id> <folder | Gradescope export zip>``.

Each submission goes through the real ``run_autograder`` (the same script and
sandbox as on Gradescope), several at a time. The output folder holds::

    results/<key>.json    each submission's results.json (written atomically)
    grades.csv            one row per submission: submission, name, email, sid, status, total, max,
                          [roster,] then one column per test headed "<entry number> <name> (public|hidden, N pt)"
    grades-canvas.csv     the totals in Canvas's gradebook import format (one row per student)
    report.md + *.png     the class report (see ``autograder.report``)
    report/index.html     the same report as a static web page, one page per student (report/students/)
    similarity.md/.csv/.json  the most similar pairs of submissions, within the class and against
                          archived ones (``--against``; see ``autograder.similarity``)
    roster.json           with ``--roster``: who has no submission, which submissions are not on it

Run it again with the same ``--out`` to resume: submissions with a results file
are not graded again (``--regrade`` grades everything). One broken or hostile
submission costs only its own row: every failure becomes a results file that
says what happened.

Input: a folder holding one entry per submission (a sub-folder, a .zip, or a
single .py), or Gradescope's "Export Submissions" zip (``submission_<id>/``
folders and ``submission_metadata.yml``). Student names come from that YAML
file, or from a ``submission_metadata.json`` inside a submission's folder.

``--roster FILE`` joins a roster CSV (Gradescope's roster download, or any CSV
with a header holding Email and/or SID, and Name or First Name/Last Name; Role,
Section, and Canvas's ID and SIS Login ID are used when present) by email, then
SID. ``--against DIR`` (repeatable) compares the class with archived submissions
in the same input formats; they are compared, never graded.
"""
from __future__ import annotations

import collections
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

from .config import Kit, load_file
from .intake import _extract_zip
from .harness import start_templates, templates_env
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


def grade_one(source: str, sub: Submission, out: str, work: str, timeout: float, env: dict | None = None) -> dict:
    """Grade one submission through run_autograder; always returns (and writes) a results dict.
    ``env``: the batch's shared templates (``harness.templates_env``)."""
    root = tempfile.mkdtemp(prefix=sub.key[:40] + "-", dir=work)
    t0 = time.monotonic()
    try:
        staged = os.path.join(root, "submission")
        stage_submission(sub.path, staged)
        meta = dict(SAMPLE_METADATA, users=[{"name": sub.meta.get("name") or sub.key,
                                             "email": sub.meta.get("email", ""), "sid": sub.meta.get("sid", "")}])
        with open(os.path.join(root, "submission_metadata.json"), "w", encoding="utf-8") as fh:
            json.dump(meta, fh)
        data = run_autograder(source, staged, os.path.join(root, "results"), root, timeout=timeout, env=env)
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
              similarity: bool = True, report: bool = True, against=(), roster: str | None = None,
              canvas_column: str | None = None) -> dict:
    """Grade every submission; write results/, grades.csv, grades-canvas.csv, the report and the similarity check.

    against: folders or zips of archived submissions, compared with the class (not graded).
    roster: a roster CSV joined to the submissions by email, then SID (checked before anything is written).
    Returns {"graded": n graded now, "skipped": n resumed, "total": n, "seconds": wall, "workers": w,
    "not_on_roster": [keys], "no_submission": n}."""
    kit = kit or Kit()
    a = kit.assignment(aid)
    people = load_roster(roster) if roster else None    # a bad roster stops here, before anything is written
    workers = max(1, int(workers or os.cpu_count() or 1))
    timeout = float(timeout or float(a.grading["budget"]) + 60.0)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="agk-batch-") as tmp:
        os.chmod(tmp, 0o755)
        subs = discover(input_path, tmp)
        archives = discover_archives(against, tmp)
        os.makedirs(os.path.join(out, "results"), exist_ok=True)
        source = prepare_source(kit, aid, os.path.join(tmp, "source"), zip_path)
        todo = [s for s in subs if regrade or not _done(out, s.key)]
        work = os.path.join(tmp, "work")
        os.makedirs(work)
        bar = _progress(len(todo), progress, "grading %s" % aid)
        # one pre-imported template for the whole batch: every grading forks its pytest and workers from it
        templates = start_templates(source, load_file(os.path.join(source, "assignment.json"))) if todo else []
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                futures = [pool.submit(grade_one, source, s, out, work, timeout, templates_env(templates))
                           for s in todo]
                for _ in as_completed(futures):  # the bar is updated from this thread only
                    bar.update(1)
        finally:
            for t in templates:
                t.close()
        bar.close()
        for stale in set(os.listdir(os.path.join(out, "results"))) - {s.key + ".json" for s in subs}:
            if stale.endswith(".json"):
                print("note: results/%s belongs to no submission of this input; it is left out of grades.csv"
                      % stale)
        joined = write_grades(out, subs, roster=people, column=canvas_column or a.title)
        seconds = time.monotonic() - t0
        # still inside the temporary folder: an export zip's submissions live there
        if similarity:
            from .similarity import write_similarity

            write_similarity(out, kit, aid, subs, against=archives)
        elif os.path.exists(os.path.join(out, "similarity.json")):
            os.unlink(os.path.join(out, "similarity.json"))   # the web report must not show an earlier run's pairs
    if report:
        from .report import write_report

        write_report(out, aid, [s.key for s in subs])
    return {"graded": len(todo), "skipped": len(subs) - len(todo), "total": len(subs), "seconds": seconds,
            "workers": workers, "not_on_roster": joined["not_on_roster"], "no_submission": len(joined["no_submission"])}


def discover_archives(paths, scratch: str) -> list:
    """[{"label", "subs"}] of each ``--against`` folder or zip (labels unique, from the file names)."""
    out, labels = [], set()
    for i, path in enumerate(paths or ()):
        try:
            subs = discover(path, os.path.join(scratch, "against%d" % i))
        except BatchError as exc:
            raise BatchError("--against: %s" % exc) from None
        label = _safe_key(os.path.splitext(os.path.basename(os.path.normpath(path)))[0]) or "archive"
        while label in labels:
            label += "_"
        labels.add(label)
        out.append({"label": label, "subs": subs})
    return out


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


def _order(number: str) -> list:
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in str(number).split(".")]


def test_columns(results: dict) -> list:
    """[{"name", "number", "public", "max", "header"}] of every test, in Gradescope order (by entry number)."""
    from .report import visibility_label

    seen = {}
    for data in results.values():
        for t in data.get("tests", []):
            if t["name"] not in seen:
                public = visibility_label(t) == "public"
                seen[t["name"]] = {"name": t["name"], "number": str(t.get("number", "")), "public": public,
                                   "max": t["max_score"],
                                   "header": "%s %s (%s, %g pt)" % (t.get("number", ""), t["name"],
                                                                    "public" if public else "hidden", t["max_score"])}
    return sorted(seen.values(), key=lambda c: (_order(c["number"]), c["name"]))


def _atomic_text(path: str, text: str) -> None:
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(tmp, path)


def write_grades(out: str, subs: list, roster=None, column: str = "Assignment") -> dict:
    """Write grades.csv and grades-canvas.csv (and roster.json with a roster); return the roster join."""
    from .report import NO_SUBMISSION, NOT_GRADED, submission_status

    results = load_results(out, [s.key for s in subs])
    columns = test_columns(results)
    full = max((sum(t["max_score"] for t in d.get("tests", [])) for d in results.values()), default=0.0)
    joined = join_roster(roster, subs) if roster is not None else None
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["submission", "name", "email", "sid", "status", "total", "max"]
                    + (["roster"] if joined else []) + [c["header"] for c in columns])
    for s in subs:
        data = results.get(s.key)
        status = submission_status(data)[0] if data else NOT_GRADED
        data = data or {}
        tests = {t["name"]: t for t in data.get("tests", [])}
        total_max = sum(t["max_score"] for t in data.get("tests", []))
        writer.writerow([s.key, s.meta.get("name", ""), s.meta.get("email", ""), s.meta.get("sid", ""), status,
                         "%g" % data.get("score", 0.0), "%g" % total_max]
                        + ([joined["match"][s.key]] if joined else [])
                        + ["%g" % tests[c["name"]]["score"] if c["name"] in tests else "" for c in columns])
    for person in (joined or {}).get("no_submission", []):
        writer.writerow(["", person["name"], person["email"], person["sid"], NO_SUBMISSION, "0", "%g" % full,
                         "on roster"] + [""] * len(columns))
    _atomic_text(os.path.join(out, "grades.csv"), buf.getvalue())
    _atomic_text(os.path.join(out, "grades-canvas.csv"), canvas_csv(subs, results, joined, column, full))
    roster_json = os.path.join(out, "roster.json")
    if joined:
        atomic_write_json(roster_json, {k: joined[k] for k in ("no_submission", "not_on_roster", "duplicates")})
    elif os.path.exists(roster_json):
        os.unlink(roster_json)    # from an earlier run with --roster
    return joined or {"not_on_roster": [], "no_submission": [], "duplicates": []}


# ---------------------------------------------------------------- roster and Canvas
#: roster header (lower case, single spaces) -> field; Gradescope's roster download and Canvas's gradebook export
ROSTER_HEADERS = {
    "name": "name", "full name": "name", "student name": "name", "student": "name",
    "first name": "first", "firstname": "first", "given name": "first",
    "last name": "last", "lastname": "last", "surname": "last", "family name": "last",
    "sid": "sid", "student id": "sid", "student number": "sid", "sis user id": "sid",
    "email": "email", "email address": "email", "e-mail": "email", "e-mail address": "email",
    "role": "role", "section": "section", "sections": "section",
    "id": "canvas_id", "sis login id": "login", "login id": "login",
}
STAFF_ROLES = {"instructor", "ta", "reader", "teacher", "designer", "observer", "staff"}


def load_roster(path: str) -> list:
    """The students of a roster CSV: [{"name", "first", "last", "sid", "email", "section", "canvas_id", "login"}].

    Raises BatchError (one line) for a file that is missing, not UTF-8 CSV, without an Email or SID column,
    without students, or listing an email or SID twice."""
    hint = "export it from Gradescope (Roster, Download Roster) or give a CSV with Name, Email and SID columns"
    if not os.path.isfile(path):
        raise BatchError("roster %s does not exist; %s" % (path, hint))
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    except UnicodeDecodeError as exc:
        raise BatchError("roster %s is not UTF-8 text (byte %d); save it as 'CSV UTF-8' and try again"
                         % (path, exc.start)) from None
    except (csv.Error, OSError) as exc:
        raise BatchError("roster %s could not be read as CSV (%s); %s" % (path, exc, hint)) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise BatchError("roster %s is empty; %s" % (path, hint))
    header = [" ".join(c.strip().lower().split()) for c in rows[0]]
    fields = {}
    for i, h in enumerate(header):
        if h in ROSTER_HEADERS and ROSTER_HEADERS[h] not in fields:
            fields[ROSTER_HEADERS[h]] = i
    if "email" not in fields and "sid" not in fields:
        raise BatchError("roster %s has no Email or SID column (its header: %s); %s"
                         % (path, ", ".join(rows[0])[:200], hint))
    people, seen = [], {}
    for lineno, row in enumerate(rows[1:], 2):
        get = lambda f: row[fields[f]].strip() if f in fields and fields[f] < len(row) else ""  # noqa: E731
        person = {f: get(f) for f in ("name", "first", "last", "sid", "email", "section", "canvas_id", "login")}
        if "points possible" in person["name"].lower():        # the second row of a Canvas gradebook export
            continue
        if get("role").lower() in STAFF_ROLES:
            continue
        if not person["name"]:
            person["name"] = " ".join(p for p in (person["first"], person["last"]) if p)
        if not (person["email"] or person["sid"]):
            raise BatchError("roster %s line %d has neither an email nor a SID; fill one in or delete the line"
                             % (path, lineno))
        for f in ("email", "sid"):
            value = person[f].lower() if f == "email" else person[f]
            if value:
                if (f, value) in seen:
                    raise BatchError("roster %s lists %s %s twice (lines %d and %d); keep one"
                                     % (path, "email" if f == "email" else "SID", person[f], seen[(f, value)], lineno))
                seen[(f, value)] = lineno
        people.append(person)
    if not people:
        raise BatchError("roster %s has no students (only a header, or only staff rows); %s" % (path, hint))
    return people


def _members(meta: dict) -> list:
    """[(name, email, sid)] of a submission's submitters (a group's are joined with '; ')."""
    parts = [(meta.get(f) or "").split("; ") for f in ("name", "email", "sid")]
    n = max(len(p) for p in parts)
    parts = [p + [""] * (n - len(p)) for p in parts]
    return [tuple(x.strip() for x in m) for m in zip(*parts) if any(x.strip() for x in m)]


def join_roster(people: list, subs: list) -> dict:
    """Match each submitter to a roster student by email, then SID.

    Returns {"match": {key: how}, "by_person": {roster index: [keys]}, "no_submission": [person],
    "not_on_roster": [keys], "duplicates": [[person name, keys]]}."""
    by_email = {p["email"].lower(): i for i, p in enumerate(people) if p["email"]}
    by_sid = {p["sid"]: i for i, p in enumerate(people) if p["sid"]}
    match, by_person, not_on = {}, collections.defaultdict(list), []
    for s in subs:
        hows = []
        for _name, email, sid in _members(s.meta) or [("", "", "")]:
            if email and email.lower() in by_email:
                by_person[by_email[email.lower()]].append(s.key)
                hows.append("matched (email)")
            elif sid and sid in by_sid:
                by_person[by_sid[sid]].append(s.key)
                hows.append("matched (SID)")
            else:
                hows.append("not on roster")
        match[s.key] = "; ".join(hows)
        if all(h == "not on roster" for h in hows):
            not_on.append(s.key)
    dups = [[people[i]["name"] or people[i]["email"] or people[i]["sid"], keys]
            for i, keys in sorted(by_person.items()) if len(keys) > 1]
    for name, keys in dups:
        print("warning: roster student %s matches %d submissions (%s); grades-canvas.csv takes the highest score"
              % (name, len(keys), ", ".join(keys)))
    return {"people": people, "match": match, "by_person": dict(by_person), "not_on_roster": not_on,
            "duplicates": dups,
            "no_submission": [{k: p[k] for k in ("name", "email", "sid")} for i, p in enumerate(people)
                              if i not in by_person]}


CANVAS_HEADER = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def canvas_csv(subs: list, results: dict, joined, column: str, full: float) -> str:
    """Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, then the assignment column;
    the second row gives the points possible. With a roster, one row per roster student (no submission: blank,
    so Canvas keeps what it has); without, one row per submitter."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CANVAS_HEADER + [column])
    writer.writerow(["Points Possible", "", "", "", "", "%g" % full])

    def score(key):
        data = results.get(key)
        return float(data.get("score", 0.0)) if data else None

    if joined is not None:
        people = joined["people"]
        for i, p in enumerate(people):
            scores = [score(k) for k in joined["by_person"].get(i, []) if score(k) is not None]
            student = "%s, %s" % (p["last"], p["first"]) if p["last"] and p["first"] else p["name"]
            writer.writerow([student, p["canvas_id"], p["sid"], p["login"], p["section"],
                             "%g" % max(scores) if scores else ""])
    else:
        for s in subs:
            value = score(s.key)
            for name, _email, sid in _members(s.meta) or [(s.key, "", "")]:
                writer.writerow([name or s.key, "", sid, "", "", "%g" % value if value is not None else ""])
    return buf.getvalue()
