"""Points and Gradescope entries, read from the tests themselves (instructor only).

One source for the figures that change when tests change:

* :func:`collect` lists an assignment's Gradescope entries (number, key, name, points,
  visibility) by running ``pytest --collect-only`` over its tests in a subprocess, with the
  numbering code of the grading plugin itself (``KitState.register``). Nothing is graded:
  no sandbox worker starts and no student code is imported (a test module that calls
  student code at import time is refused). It costs the import of the test modules and
  their oracles (about 1 s for A1, a few seconds where the oracles import torch).
* The handout's points table (``assignments/<id>/handout.md``) sits between
  ``<!-- points-table`` and ``<!-- end points-table -->``. The opening comment lists the
  rows and which tests each counts::

      <!-- points-table
      `neural_nets/functional.py`: test_functional.py test_functional_hidden.py
      `neural_nets/models.py`: test_models.py test_models_hidden.py
      -->
      | file | what you write | public | hidden | total |
      |---|---|---:|---:|---:|
      | `neural_nets/functional.py` | `sigmoid`, `relu` | 13 | 13 | 26 |
      ...
      | **total** | | **48** | **29** | **77** |
      <!-- end points-table -->

  A pattern is a test file (``test_functional.py``) or a test key
  (``test_functional.py::test_softmax``), ``*`` a wildcard; every graded test counts in
  exactly one row. The build writes the table computed from the tests into the student
  zip's README.md (the comment left out); ``python -m autograder points ID --write``
  rewrites the committed copy, and the build and ``check`` stop when it is stale. A bare
  ``<!-- points-table -->`` gives one row per test file.
* The build writes ``dist/<id>-entries.json``; the next build compares its numbering with
  it (or, without one, with the autograder zip already in ``dist/``) and says which entries
  moved (:func:`renumbering`).
"""
from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ENGINE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BEGIN = "<!-- points-table"
END = "<!-- end points-table -->"
HEADER = "| file | what you write | public | hidden | total |"
HEADER_BY_FILE = "| tests | public | hidden | total |"
#: lines of moved entries printed before "... and N more"
MAX_MOVES = 10


class PointsError(RuntimeError):
    """The tests cannot be collected, or a handout's points table is wrong; the message says what to do."""


# ------------------------------------------------------------------ collection
def collect(kit, aid: str) -> list:
    """The Gradescope entries of ``assignments/<aid>/tests`` in the kit, in number order."""
    return collect_tree(kit.path("assignments", aid), kit.path("assignments", aid, "assignment.toml"),
                        label="assignments/%s" % aid)


def collect_tree(root: str, config: str | None = None, label: str | None = None, timeout: float = 600) -> list:
    """The entries of the tests under ``root``/tests (an assignment folder or a built autograder tree):
    ``[{"number", "key", "name", "points", "visibility", "hidden", "graded", "cases"}]``.

    Runs ``pytest --collect-only`` in a fresh interpreter with the plugin's own numbering; the
    tests' modules and oracles are imported, nothing runs."""
    config = config or os.path.join(root, "assignment.json")
    label = label or root
    with tempfile.TemporaryDirectory(prefix="agk-points-") as tmp:
        out = os.path.join(tmp, "entries.json")
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1")
        env["PYTHONPATH"] = ENGINE_PARENT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        code = "from autograder.points import _collect_main; _collect_main()"
        try:
            proc = subprocess.run([sys.executable, "-c", code, os.path.abspath(root), os.path.abspath(config), out],
                                  cwd=tmp, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise PointsError("collecting the tests of %s took over %d s; run `pytest --collect-only` there to see "
                              "why" % (label, timeout)) from None
        if proc.returncode != 0 or not os.path.exists(out):
            raise PointsError("cannot collect the tests of %s: %s" % (label, _last_error(proc.stdout + proc.stderr)))
        with open(out, encoding="utf-8") as fh:
            return json.load(fh)["entries"]


def _last_error(text: str) -> str:
    """The most telling line of a failed collection (pytest's "E   ..." line, else the last one)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    errors = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    where = [ln.strip("_ ").replace("ERROR collecting ", "") for ln in lines if "ERROR collecting" in ln]
    if errors:
        return ("%s: %s" % (where[0], errors[0]) if where else errors[0])[:400]
    return (lines[-1] if lines else "the collector printed nothing")[:400]


class _NoStudentCode:
    """Stands in for the sandbox while collecting: any call into student code stops the collection."""

    def __getattr__(self, name):
        def refuse(*args, **kwargs):
            raise PointsError("a test module calls student code (sandbox.%s) at import time; move the call "
                              "into a test function" % name)
        return refuse


def _collect_main() -> None:
    """Body of the collecting subprocess: ``root config out`` in sys.argv."""
    import pytest

    from autograder import plugin, sandbox
    from autograder.config import load_file

    root, config, out = sys.argv[1:4]
    state = plugin.KitState.__new__(plugin.KitState)  # the plugin's numbering, without its grading session
    state.root = root
    state.assignment = load_file(config)
    state.grading = state.assignment.grading
    state.groups, state.order, state.case_key = {}, [], {}
    plugin._CURRENT_STATE = state  # public_params()/public_case() read the fixtures of this root
    sandbox.set_current(_NoStudentCode())

    class Collector:
        def pytest_configure(self, config):
            config.addinivalue_line("markers", "graded(points, visibility=None, name=None, tags=()): a graded test")
            for sub in ("public", ""):  # as the plugin does: oracles, cases and shared helpers by name
                path = os.path.join(root, "tests", sub).rstrip(os.sep)
                if path not in sys.path:
                    sys.path.insert(0, path)

        def pytest_collection_finish(self, session):
            state.register(session.items)

    code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "--noconftest", "--rootdir", root,
                        "-c", os.devnull, "-o", "python_files=test_*.py", os.path.join(root, "tests")],
                       plugins=[Collector()])
    if code not in (0, 5):  # 5: no tests collected (a new assignment)
        sys.exit(1)
    entries = []
    for key in state.order:
        g = state.groups[key]
        entries.append({"number": g["number"], "key": g["key"], "name": g["name"], "points": g["points"],
                        "visibility": g["visibility"], "hidden": g["hidden"], "graded": g["graded"],
                        "cases": len(g["cases"])})
    with open(out, "w", encoding="utf-8") as fh:
        json.dump({"entries": entries}, fh)


# ------------------------------------------------------------------ the handout's table
def fmt(value: float) -> str:
    return "%g" % round(value, 4)


def _cells(line: str) -> list:
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [c.strip() for c in re.split(r"(?<!\\)\|", body)]


def _number(cell: str) -> float | None:
    cell = cell.strip().strip("*").strip()
    if not cell:
        return 0.0
    try:
        return float(cell)
    except ValueError:
        return None


class Table:
    """The points-table region of a handout: where it is, its row list and the committed table."""

    def __init__(self, text: str, where: str):
        self.where = where
        lines = text.split("\n")
        starts = [i for i, ln in enumerate(lines) if ln.strip().startswith(BEGIN)]
        self.present = bool(starts)
        if not starts:
            return
        if len(starts) > 1:
            raise PointsError("%s:%d: a second %s; a handout has one points table" % (where, starts[1] + 1, BEGIN))
        begin = starts[0]
        first = lines[begin].strip()[len(BEGIN):]
        spec_lines, i = [], begin
        if first.rstrip().endswith("-->"):
            comment_end = begin
            if first.rstrip()[:-3].strip():
                raise PointsError("%s:%d: write the row list on the lines after %s, one row per line"
                                  % (where, begin + 1, BEGIN))
        else:
            i = begin + 1
            while i < len(lines) and lines[i].strip() != "-->":
                spec_lines.append((i + 1, lines[i]))
                i += 1
            if i == len(lines):
                raise PointsError("%s:%d: the %s comment is never closed with a line holding only -->"
                                  % (where, begin + 1, BEGIN))
            comment_end = i
        ends = [j for j in range(comment_end + 1, len(lines)) if lines[j].strip() == END]
        if not ends:
            raise PointsError("%s:%d: %s has no %s after its table" % (where, begin + 1, BEGIN, END))
        end = ends[0]
        self.before = lines[:begin]
        self.comment = lines[begin:comment_end + 1]
        self.table_lines = lines[comment_end + 1:end]
        self.after = lines[end + 1:]
        self.end_line = lines[end]
        #: [(label, [patterns])] in order; empty: one row per test file
        self.spec = []
        for lineno, raw in spec_lines:
            line = raw.strip()
            if not line:
                continue
            label, sep, patterns = line.partition(": ")
            if not sep or not label.strip() or not patterns.split():
                raise PointsError("%s:%d: write each row of the points-table comment as `<row>: <test file or "
                                  "file.py::test> ...`, not %r" % (where, lineno, line[:80]))
            if label.strip() in [s[0] for s in self.spec]:
                raise PointsError("%s:%d: row %s is listed twice in the points-table comment"
                                  % (where, lineno, label.strip()))
            self.spec.append((label.strip(), patterns.split()))
        #: label -> cells of the committed table's rows (header, separator and total row left out)
        self.committed = {}
        self.committed_order = []
        rows = [ln for ln in self.table_lines if ln.strip().startswith("|")]
        for ln in rows[2:]:
            cells = _cells(ln)
            if cells and cells[0] == "**total**":
                self.committed_total = cells
                continue
            self.committed[cells[0]] = cells
            self.committed_order.append(cells[0])

    def what(self, label: str) -> str:
        cells = self.committed.get(label)
        return cells[1] if cells and len(cells) >= 4 else ""


def assign_rows(table: Table, entries: list) -> list:
    """``[(label, what, public, hidden)]`` for the table's rows, each graded test counted in the one row whose
    patterns match its key; PointsError naming the test or the row otherwise."""
    graded = [e for e in entries if e["graded"] and e["points"]]
    if not table.spec:  # one row per test file, in Gradescope's order
        rows = []
        for e in graded:
            f = "`%s`" % e["key"].split("::")[0]
            if not rows or rows[-1][0] != f:
                rows.append([f, "", 0.0, 0.0])
            rows[-1][2 if not e["hidden"] else 3] += e["points"]
        return [tuple(r) for r in rows]

    def matches(pattern, key):
        return fnmatch.fnmatchcase(key if "::" in pattern else key.split("::")[0], pattern)

    sums = {label: [0.0, 0.0] for label, _ in table.spec}
    used = set()
    for e in graded:
        rows = []
        for label, patterns in table.spec:
            hit = [p for p in patterns if matches(p, e["key"])]
            if hit:
                rows.append(label)
                used.update((label, p) for p in hit)
        if not rows:
            raise PointsError("%s: %s (%s points, entry %s) is in no row of the points table; add %s (or its key "
                              "%s) to a row of the <!-- points-table comment, then run %s"
                              % (table.where, e["key"], fmt(e["points"]), e["number"], e["key"].split("::")[0],
                                 e["key"], write_command(table)))
        if len(rows) > 1:
            raise PointsError("%s: %s is counted in %d rows of the points table (%s); make the patterns of the "
                              "<!-- points-table comment name each test once"
                              % (table.where, e["key"], len(rows), ", ".join(rows)))
        sums[rows[0]][1 if e["hidden"] else 0] += e["points"]
    for label, patterns in table.spec:
        for p in patterns:
            if (label, p) not in used:
                raise PointsError("%s: pattern %s of row %s matches no graded test; fix the <!-- points-table "
                                  "comment" % (table.where, p, label))
    return [(label, table.what(label), sums[label][0], sums[label][1]) for label, _ in table.spec]


def write_command(table: Table) -> str:
    aid = table.where.split("/")[-2] if table.where.count("/") >= 2 else "<id>"
    return "`.venv/bin/python -m autograder points %s --write`" % aid


def render_table(table: Table, rows: list) -> list:
    """The table lines for ``rows`` (numbers only where nonzero; total column and row)."""
    by_file = not table.spec

    def line(cells):
        return "|" + "|".join(" %s " % c if c else " " for c in cells) + "|"

    out = [HEADER_BY_FILE if by_file else HEADER, "|---|---:|---:|---:|" if by_file else "|---|---|---:|---:|---:|"]
    for label, what, public, hidden in rows:
        nums = [fmt(public) if public else "", fmt(hidden) if hidden else "", fmt(public + hidden)]
        out.append(line([label] + ([] if by_file else [what]) + nums))
    public, hidden = sum(r[2] for r in rows), sum(r[3] for r in rows)
    total = ["**%s**" % fmt(v) for v in (public, hidden, public + hidden)]
    out.append(line(["**total**"] + ([] if by_file else [""]) + total))
    return out


def stale_reason(table: Table, rows: list) -> str | None:
    """None when the committed table is the one the tests give; else what differs, in one line."""
    want = render_table(table, rows)
    have = [ln.rstrip() for ln in table.table_lines if ln.strip()]
    if have == want:
        return None
    fix = "run %s and commit" % write_command(table)
    labels = [r[0] for r in rows]
    if table.committed_order != labels:
        missing = [lb for lb in labels if lb not in table.committed]
        extra = [lb for lb in table.committed_order if lb not in labels]
        what = ("it has no row %s" % missing[0] if missing else "its row %s is not in the <!-- points-table "
                "comment" % extra[0] if extra else "its rows are not in the order of the <!-- points-table comment")
        return "%s: the points table is out of date: %s; %s" % (table.where, what, fix)
    offset = 1 if table.spec else 0
    total = ("**total**", "", sum(r[2] for r in rows), sum(r[3] for r in rows))
    for label, _, public, hidden in list(rows) + [total]:
        cells = table.committed.get(label) if label != "**total**" else getattr(table, "committed_total", None)
        for col, (name, value) in enumerate((("public", public), ("hidden", hidden), ("total", public + hidden))):
            if not cells or len(cells) <= offset + 1 + col:
                return ("%s: the points table has no %s column in row %s (the tests give %s); %s"
                        % (table.where, name, label, fmt(value), fix))
            shown = cells[offset + 1 + col]
            have_value = _number(shown)
            if have_value is None or abs(have_value - value) > 1e-9:
                return ("%s: the points table says %s %s points for row %s, the tests give %s; %s"
                        % (table.where, shown.strip("*") or "0", name, label, fmt(value), fix))
    return "%s: the points table's layout differs from the generated one (header or columns); %s" % (table.where, fix)


def _handout(kit, aid: str) -> tuple:
    path = kit.path("assignments", aid, "handout.md")
    if not os.path.exists(path):
        return path, None
    with open(path, encoding="utf-8") as fh:
        return path, fh.read()


def handout_table(kit, aid: str, entries: list) -> tuple:
    """(Table, rows, reason it is stale or None) of the committed handout; (None, None, None) without a table."""
    path, text = _handout(kit, aid)
    if text is None:
        return None, None, None
    table = Table(text, os.path.relpath(path, kit.root).replace(os.sep, "/"))
    if not table.present:
        return None, None, None
    rows = assign_rows(table, entries)
    return table, rows, stale_reason(table, rows)


def has_table(kit, aid: str) -> bool:
    path, text = _handout(kit, aid)
    return text is not None and Table(text, path).present


def student_readme(kit, aid: str, entries: list) -> str | None:
    """The handout as the student zip's README.md: the points table computed from ``entries`` in place of the
    region, its comment left out. PointsError when the committed table is stale (so the repository's copy
    stays right); None when there is no handout."""
    path, text = _handout(kit, aid)
    if text is None:
        return None
    table, rows, reason = handout_table(kit, aid, entries)
    if table is None:
        return text
    if reason:
        raise PointsError(reason)
    return "\n".join(table.before + render_table(table, rows) + table.after)


def write_handout(kit, aid: str, entries: list) -> bool:
    """Rewrite the committed handout's table from ``entries``; True when it changed (written atomically)."""
    path, text = _handout(kit, aid)
    table, rows, reason = handout_table(kit, aid, entries)
    if table is None:
        raise PointsError("%s has no %s ... %s region; add one (see docs/instructor-guide.md, section 8)"
                          % (os.path.relpath(path, kit.root), BEGIN, END))
    if reason is None:
        return False
    new = "\n".join(table.before + table.comment + render_table(table, rows) + [table.end_line] + table.after)
    _atomic_write(path, new)
    return True


def _atomic_write(path: str, text: str) -> None:
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


# ------------------------------------------------------------------ renumbering between releases
def manifest_path(dist: str, aid: str) -> str:
    return os.path.join(dist, "%s-entries.json" % aid)


def write_manifest(dist: str, aid: str, entries: list) -> str:
    """``dist/<id>-entries.json``: number -> test key, name, points and visibility of this release."""
    path = manifest_path(dist, aid)
    os.makedirs(dist, exist_ok=True)
    rows = [json.dumps({k: e[k] for k in ("number", "key", "name", "points", "visibility")}) for e in entries]
    text = '{"assignment": %s, "written": %s, "entries": [\n%s\n]}\n' % (
        json.dumps(aid), json.dumps(time.strftime("%Y-%m-%d %H:%M:%S")), ",\n".join(rows))
    json.loads(text)
    _atomic_write(path, text)
    return path


def previous_entries(dist: str, aid: str) -> tuple:
    """(entries of the previous release in ``dist``, where they came from): its manifest, else the entries
    collected from its autograder zip; (None, why) when there is none or it cannot be read."""
    path = manifest_path(dist, aid)
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                return json.load(fh)["entries"], path
        except (OSError, ValueError, KeyError) as exc:
            return None, "%s cannot be read (%s)" % (path, exc)
    zip_path = os.path.join(dist, "%s-autograder.zip" % aid)
    if not os.path.exists(zip_path):
        return None, None
    from .build import BuildError, unpack_zip

    with tempfile.TemporaryDirectory(prefix="agk-previous-") as tmp:
        try:
            unpack_zip(zip_path, tmp)
            return collect_tree(tmp, label=zip_path), zip_path
        except (PointsError, BuildError, OSError, ValueError) as exc:
            return None, "the entries of %s cannot be read (%s)" % (zip_path, exc)


def renumbering(old: list, new: list) -> list:
    """One line per entry of ``old`` whose number changed in ``new`` or that is gone. Entries are matched
    by test key (file::function), then, for a renamed file or function, by name."""
    new_by_key = {e["key"]: e for e in new}
    new_by_name = {}
    for e in new:
        new_by_name.setdefault(e["name"], e)
    old_keys = {e["key"] for e in old}
    lines = []
    for e in sorted(old, key=lambda e: tuple(int(p) for p in e["number"].split("."))):
        now = new_by_key.get(e["key"])
        if now is None and e["name"] in new_by_name and new_by_name[e["name"]]["key"] not in old_keys:
            now = new_by_name[e["name"]]
        if now is None:
            lines.append("entry %s '%s' is gone (%s point%s)" % (e["number"], e["name"], fmt(e["points"]),
                                                                "" if e["points"] == 1 else "s"))
        elif now["number"] != e["number"]:
            lines.append("entry %s '%s' is now %s" % (e["number"], e["name"], now["number"]))
    return lines


def renumbering_message(aid: str, lines: list, where: str) -> list:
    """The warning lines a build prints (at most MAX_MOVES moves, then a count)."""
    shown = lines[:MAX_MOVES]
    out = ["warning: %s: this release moves or removes %d Gradescope entr%s of the previous one (%s):"
           % (aid, len(lines), "y" if len(lines) == 1 else "ies", where)]
    out += ["  " + ln for ln in shown]
    if len(lines) > len(shown):
        out.append("  ... and %d more" % (len(lines) - len(shown)))
    out.append("  on a live assignment, submissions graded before and after this upload number these tests "
               "differently, so Gradescope's per-test statistics and a regrade of some submissions would mix them "
               "up; add new tests at the end of their file, or regrade every submission after the upload")
    return out


# ------------------------------------------------------------------ figures
def summary(kit, aid: str, entries: list) -> dict:
    """The figures docs would otherwise copy: points, entries, tests cases, mistakes, variants."""
    from .selfcheck import load_mistakes, load_variants

    graded = [e for e in entries if e["graded"]]
    pub = [e for e in graded if not e["hidden"]]
    hid = [e for e in graded if e["hidden"]]
    mistakes = load_mistakes(kit, aid)
    return {"assignment": aid, "points": sum(e["points"] for e in graded),
            "public_points": sum(e["points"] for e in pub), "hidden_points": sum(e["points"] for e in hid),
            "entries": len(entries), "public_entries": len(pub), "hidden_entries": len(hid),
            "cases": sum(e["cases"] for e in entries), "mistakes": len(mistakes),
            "mistakes_public": sum(1 for m in mistakes if not m.get("hidden_only")),
            "variants": len(load_variants(kit, aid))}


def format_summary(rows: list) -> str:
    head = "%-16s %-24s %-25s %-7s %-19s %s" % ("assignment", "points (public + hidden)", "entries (public + hidden)",
                                                "cases", "mistakes (public)", "variants")
    lines = [head]
    for r in rows:
        lines.append("%-16s %-24s %-25s %-7d %-19s %d" % (
            r["assignment"], "%s (%s + %s)" % (fmt(r["points"]), fmt(r["public_points"]), fmt(r["hidden_points"])),
            "%d (%d + %d)" % (r["entries"], r["public_entries"], r["hidden_entries"]), r["cases"],
            "%d (%d)" % (r["mistakes"], r["mistakes_public"]), r["variants"]))
    return "\n".join(lines)


def format_entries(entries: list) -> str:
    width = min(max([len(e["name"]) for e in entries] + [4]), 70)
    lines = ["%-6s %-*s %6s  %-16s %s" % ("#", width, "name", "points", "visibility", "test")]
    for e in entries:
        lines.append("%-6s %-*s %6s  %-16s %s" % (e["number"], width, e["name"][:width], fmt(e["points"]),
                                                  e["visibility"], e["key"]))
    return "\n".join(lines)
