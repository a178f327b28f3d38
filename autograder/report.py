"""The class report of a batch, from ``results/*.json``: ``report.md`` with PNG plots, and the
same report as a static web page, ``report/index.html`` with one page per student.

- the score histogram (and mean, median, how many full marks and zeros);
- each submission's status: graded, not implemented (the untouched starter), missing files,
  could not grade, incomplete (the time budget stopped it), counted once per submission;
- the pass rate of every test (fully passed / partly / failed) with its Gradescope entry
  number and visibility, as a table and a bar chart;
- the misconceptions the feedback diagnosed (its "Likely cause: ..." lines), most frequent
  first, with how many submissions, which tests and one example feedback;
- the most frequent other failure messages (numbers masked) of the graded submissions, for
  mistakes no catalogue entry names yet (a blank starter is counted under its status, not
  here, so it cannot fill the list);
- the similarity pairs written by ``autograder.similarity`` (``similarity.json``), within the
  class and against earlier terms, each on its own page with the matching lines side by side.

The web pages are plain HTML with inline CSS and inline PNG images: no server, no script,
no network; open ``report/index.html`` in a browser or copy the ``report`` folder anywhere.
Everything a student controls (names, feedback, code) is HTML-escaped, and each page carries
a Content-Security-Policy that forbids scripts, so a hostile submission cannot run code in
the instructor's browser.

``python -m autograder report ID OUT`` rewrites both from the results already there.
"""
from __future__ import annotations

import base64
import collections
import html
import json
import os
import re
import shutil
import statistics
import tempfile
import textwrap
from urllib.parse import quote

from .results import load_json

CAUSE = re.compile(r"^\s*Likely cause:\s*(.+?)\s*$")
#: lines that say nothing about the mistake itself
NOISE = re.compile(r"^(\d+ of \d+ cases passed|passed.*|Your code printed.*|\[.*?\]\s*)$")
#: what the engine writes (results.top_output / sandbox) for a missing file and a starter stub
MISSING = "Missing from your submission:"
NOT_IMPLEMENTED = "not implemented: "

#: submission statuses, in the order the report lists them
GRADED, INCOMPLETE, NOT_DONE, MISSING_FILES, NOT_GRADED, NO_SUBMISSION = (
    "graded", "incomplete", "not implemented", "missing files", "could not grade", "no submission")
STATUSES = (GRADED, INCOMPLETE, NOT_DONE, MISSING_FILES, NOT_GRADED, NO_SUBMISSION)
STATUS_HELP = {
    GRADED: "graded normally",
    INCOMPLETE: "grading stopped before every test ran (the time budget); the score counts the tests that ran",
    NOT_DONE: "every test says 'not implemented': the starter, untouched",
    MISSING_FILES: "required files were not found in the submission",
    NOT_GRADED: "the grading itself failed (timeout of the batch, a crash): see its results file",
    NO_SUBMISSION: "on the roster, but no submission matched",
}


def _masked(line: str) -> str:
    """A failure line with its numbers, quoted values and seeds masked, so equal mistakes group together."""
    line = re.sub(r"^\[(?:[^\[\]]|\[[^\]]*\])*\]\s*", "", line.strip())   # the [case] label, e.g. [softmax[typical]]
    line = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", line)
    line = re.sub(r"\(#(, #)*,?\)", "(…)", line)
    return line[:160]


def _excerpt(text: str, lines: int = 8, chars: int = 700) -> str:
    """The start of a feedback text, for an example (the student page has all of it)."""
    cut = "\n".join(text.splitlines()[:lines])[:chars]
    return cut + (" [...]" if len(cut) < len(text.rstrip()) else "")


def _load(out: str, keys=None) -> dict:
    folder = os.path.join(out, "results")
    names = [k + ".json" for k in keys] if keys is not None else sorted(
        n for n in os.listdir(folder) if n.endswith(".json") and not n.startswith("."))
    data = {}
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                data[name[:-5]] = json.load(fh)
        except (OSError, ValueError):
            continue
    return data


def submission_status(data: dict) -> tuple:
    """(status, one line saying why) of one submission's results."""
    extra = data.get("extra_data") or {}
    output = data.get("output") or ""
    tests = data.get("tests") or []
    if extra.get("batch_error") or extra.get("fallback") or not tests:
        return NOT_GRADED, (output.strip().splitlines() or ["no test ran"])[0][:200]
    for line in output.splitlines():
        if line.startswith(MISSING):
            return MISSING_FILES, line[:200]
    failed = [t for t in tests if t["score"] < t["max_score"] - 1e-9]
    if len(failed) == len(tests) and all(NOT_IMPLEMENTED in (t.get("output") or "") for t in failed):
        return NOT_DONE, "all %d tests say 'not implemented'" % len(tests)
    if extra.get("finished") is False:
        return INCOMPLETE, "grading stopped before every test ran (time budget)"
    return GRADED, ""


def visibility_label(test: dict) -> str:
    """'public' or 'hidden' (the kit's split), from a results.json test entry."""
    public = (test.get("extra_data") or {}).get("public")
    if public is None:
        public = test.get("visibility", "visible") == "visible"
    return "public" if public else "hidden"


def summarise(results: dict) -> dict:
    """The figures of the report, as plain data (the tests use this)."""
    scores = {k: float(d.get("score", 0.0)) for k, d in results.items()}
    max_score = max((sum(t["max_score"] for t in d.get("tests", [])) for d in results.values()), default=0.0)
    tests = collections.OrderedDict()
    causes = collections.defaultdict(lambda: {"submissions": set(), "tests": collections.Counter()})
    examples = {}
    messages = collections.defaultdict(set)
    errors = []
    status = {key: submission_status(data) for key, data in results.items()}
    for key, data in sorted(results.items()):
        if data.get("extra_data", {}).get("batch_error") or data.get("extra_data", {}).get("fallback"):
            errors.append((key, (data.get("output") or "").splitlines()[0][:200] if data.get("output") else ""))
        counted = status[key][0] in (GRADED, INCOMPLETE)   # a blank or broken submission is counted by status
        for t in data.get("tests", []):
            row = tests.setdefault(t["name"], {"max": t["max_score"], "full": 0, "partial": 0, "failed": 0,
                                               "number": t.get("number", ""), "visibility": t.get("visibility", ""),
                                               "public": visibility_label(t) == "public"})
            if t["score"] >= t["max_score"] - 1e-9:
                row["full"] += 1
                continue
            row["partial" if t["score"] > 0 else "failed"] += 1
            found_cause = False
            for line in (t.get("output") or "").splitlines():
                m = CAUSE.match(line)
                if m:
                    causes[m.group(1)]["submissions"].add(key)
                    causes[m.group(1)]["tests"][t["name"]] += 1
                    examples.setdefault(m.group(1), {"key": key, "test": t["name"], "number": t.get("number", ""),
                                                     "output": _excerpt(t.get("output") or "")})
                    found_cause = True
            if not found_cause and counted:
                for line in (t.get("output") or "").splitlines():
                    if line.strip() and not NOISE.match(line.strip()):
                        messages[_masked(line)].add(key)
                        break
    ranked = sorted(((c, len(v["submissions"]), [n for n, _ in v["tests"].most_common(3)])
                     for c, v in causes.items()), key=lambda r: (-r[1], r[0]))
    others = sorted(((m, len(keys)) for m, keys in messages.items()), key=lambda r: (-r[1], r[0]))
    values = list(scores.values())
    by_status = collections.OrderedDict((s, sorted(k for k, v in status.items() if v[0] == s)) for s in STATUSES)
    return {
        "n": len(results), "max_score": max_score, "scores": scores,
        "mean": statistics.mean(values) if values else 0.0,
        "median": statistics.median(values) if values else 0.0,
        "full_marks": sum(1 for v in values if max_score and v >= max_score - 1e-9),
        "zeros": sum(1 for v in values if v <= 0.0),
        "tests": tests, "misconceptions": ranked, "examples": examples, "other_messages": others,
        "errors": errors, "status": status, "by_status": by_status,
    }


def _save(fig, path: str) -> None:
    fig.savefig(path + ".part", dpi=110, bbox_inches="tight", format="png")
    os.replace(path + ".part", path)


def _done_with(fig, name: str, keep, plt) -> None:
    if keep is not None:
        keep[name] = fig
    else:
        plt.close(fig)


def _plots(summary: dict, out: str, keep=None) -> list:
    """Write scores.png and pass_rate.png; ``keep`` (a dict) receives the open figures instead of closing them."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    written = []
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(list(summary["scores"].values()), bins=min(20, max(5, summary["n"] // 5)),
            range=(0, summary["max_score"] or 1), color="#4477aa", edgecolor="white")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))      # counts of submissions are whole numbers
    ax.set(xlabel="score (of %g)" % summary["max_score"], ylabel="submissions", title="Scores")
    fig.tight_layout()
    _save(fig, os.path.join(out, "scores.png"))
    _done_with(fig, "scores.png", keep, plt)
    written.append("scores.png")

    names = list(summary["tests"])
    if names:
        full = [summary["tests"][n]["full"] / max(summary["n"], 1) for n in names]
        part = [summary["tests"][n]["partial"] / max(summary["n"], 1) for n in names]
        labels = []
        for n in names:   # whole names, wrapped: a cut name can hide which test it is
            row = summary["tests"][n]
            text = "%s %s%s" % (row["number"], n, "" if row["public"] else " (hidden)")
            labels.append(textwrap.fill(text, 75))
        rows = sum(label.count("\n") + 1 for label in labels)
        fig, ax = plt.subplots(figsize=(10, 0.16 * rows + 0.12 * len(names) + 1.4))
        y = range(len(names))
        ax.barh(y, full, color="#228833", label="full points")
        ax.barh(y, part, left=full, color="#ccbb44", label="some points")
        ax.set_yticks(list(y))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set(xlim=(0, 1), xlabel="share of submissions", title="Pass rate per test")
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        _save(fig, os.path.join(out, "pass_rate.png"))   # bbox_inches="tight": long labels stay whole
        _done_with(fig, "pass_rate.png", keep, plt)
        written.append("pass_rate.png")
    return written


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(summary: dict, aid: str, images: list) -> str:
    s = summary
    lines = ["# Class report: %s" % aid, "",
             "%d submissions; mean %.2f, median %.2f of %g; %d with full marks, %d with zero."
             % (s["n"], s["mean"], s["median"], s["max_score"], s["full_marks"], s["zeros"]), "",
             "The same report as a web page, with one page per student: `report/index.html`.", ""]
    if "scores.png" in images:
        lines += ["![score histogram](scores.png)", ""]
    counts = [(st, len(keys)) for st, keys in s.get("by_status", {}).items() if keys]
    if counts:
        lines += ["## Submissions by status", "", "| status | submissions | meaning |", "|---|---:|---|"]
        lines += ["| %s | %d | %s |" % (st, n, STATUS_HELP[st]) for st, n in counts]
        for st, keys in s["by_status"].items():
            if keys and st != GRADED:
                lines += ["", "%s: %s" % (st, ", ".join(keys))]
        lines.append("")
    lines += ["## Pass rate per test", "", "| # | test | visibility | points | full | some | none |",
              "|---|---|---|---:|---:|---:|---:|"]
    for name, row in s["tests"].items():
        lines.append("| %s | %s | %s | %g | %d | %d | %d |" % (
            row["number"], _cell(name), "public" if row["public"] else "hidden (%s)" % row["visibility"],
            row["max"], row["full"], row["partial"], row["failed"]))
    if "pass_rate.png" in images:
        lines += ["", "![pass rate per test](pass_rate.png)"]
    lines += ["", "## Misconceptions diagnosed by the feedback", ""]
    if s["misconceptions"]:
        lines += ["Most frequent first; a submission counts once per misconception.", "",
                  "| submissions | misconception | tests | example |", "|---:|---|---|---|"]
        for cause, count, tests in s["misconceptions"]:
            lines.append("| %d | %s | %s | %s |" % (count, _cell(cause), _cell("; ".join(tests)),
                                                    _cell(s.get("examples", {}).get(cause, {}).get("key", ""))))
    else:
        lines.append("None diagnosed.")
    lines += ["", "## Other failure messages", "",
              "Failures the catalogue does not name (numbers masked as #), in the graded submissions only "
              "(blank starters and missing files are counted by status above); frequent ones may deserve a "
              "catalogue entry (`mistakes.toml`) and a `misconceptions=` value in the test.", ""]
    if s["other_messages"]:
        lines += ["| submissions | message |", "|---:|---|"]
        for message, count in s["other_messages"][:25]:
            lines.append("| %d | %s |" % (count, _cell(message)))
    else:
        lines.append("None.")
    if s["errors"]:
        lines += ["", "## Not graded normally", "", "| submission | what happened |", "|---|---|"]
        for key, text in s["errors"]:
            lines.append("| %s | %s |" % (_cell(key), _cell(text)))
    return "\n".join(lines) + "\n"


def write_report(out: str, aid: str, keys=None) -> str:
    """Write ``out/report.md`` (and its PNGs) and the web report ``out/report/``; return report.md's path."""
    results = _load(out, keys)
    summary = summarise(results)
    images = _plots(summary, out) if summary["n"] else []
    path = os.path.join(out, "report.md")
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(render(summary, aid, images))
    os.replace(tmp, path)
    write_html(out, aid, results, summary, images)
    return path


# ================================================================ the web report
HTML_DIR = "report"
#: no script, no network: images from the page's own folder or inline, styles inline only
CSP = "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
CSS = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
main{max-width:1180px;margin:0 auto;padding:18px 28px 60px;background:#fff;min-height:100vh}
h1{font-size:26px;margin:8px 0 4px}
h2{font-size:20px;margin:34px 0 8px;border-bottom:2px solid #e3e6eb;padding-bottom:4px}
h3{font-size:16px;margin:20px 0 6px}
a{color:#1f5fa8}nav a{margin-right:14px}
table{border-collapse:collapse;margin:8px 0;width:100%}
th,td{border-bottom:1px solid #e3e6eb;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
.muted{color:#5d6675}.small{font-size:13px}
.tag{display:inline-block;padding:0 7px;border-radius:9px;font-size:12px;background:#e3e6eb;white-space:nowrap}
.public{background:#d7ecd9}.hidden{background:#e7dcf3}
.st-graded{background:#d7ecd9}.st-incomplete{background:#fbe7c6}.st-not-implemented{background:#e3e6eb}
.st-missing-files{background:#fbd9d3}.st-could-not-grade{background:#f6c1b8}.st-no-submission{background:#dde3ee}
.bar{display:flex;height:12px;width:160px;background:#f0d7d2;border-radius:3px;overflow:hidden}
.bar .full{background:#228833}.bar .some{background:#ccbb44}
.below{color:#5d6675}.below td:first-child::after{content:""}
pre{white-space:pre-wrap;word-break:break-word;background:#f6f7f9;border:1px solid #e3e6eb;border-radius:4px;
padding:8px 10px;margin:4px 0;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
img{max-width:100%;height:auto}
.pass td.score{color:#1b6b2a}.fail td.score{color:#a3291b}
.sbs{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:10px}.sbs>div{min-width:0}
.code{padding:0;overflow-x:auto;white-space:pre}
.code span{display:block;padding:0 8px}.code span.m{background:#ffe9a8}.code span.gap{color:#8a93a3;background:#eef1f5}
.code i{font-style:normal;color:#8a93a3;display:inline-block;width:3.2em;user-select:none}
"""


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _href(*parts) -> str:
    return "/".join(quote(p, safe="") for p in parts)


def _status_tag(status: str) -> str:
    return '<span class="tag st-%s">%s</span>' % (re.sub(r"[^a-z]+", "-", status), _e(status))


def _vis_tag(public: bool, visibility: str = "") -> str:
    if public:
        return '<span class="tag public">public</span>'
    return '<span class="tag hidden" title="Gradescope visibility: %s">hidden</span>' % _e(visibility)


def _page(title: str, body: str, nav: str = "") -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"%s\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<title>%s</title>\n<style>%s</style></head>\n<body><main>\n%s%s\n</main></body></html>\n"
            % (CSP, _e(title), CSS, nav, body))


def _png_inline(path: str) -> str:
    with open(path, "rb") as fh:
        return "data:image/png;base64," + base64.b64encode(fh.read()).decode("ascii")


def _student_meta(data: dict) -> dict:
    batch = (data.get("extra_data") or {}).get("batch") or {}
    return {k: str(batch.get(k) or "") for k in ("name", "email", "sid")}


def _student_link(key: str, prefix: str = "", known=None) -> str:
    if known is not None and key not in known:     # e.g. a similarity pair of submissions left out of this report
        return _e(key)
    return '<a href="%s">%s</a>' % (prefix + _href("students", key + ".html"), _e(key))


def _index(aid: str, results: dict, s: dict, images: list, out: str, sim, roster) -> str:
    title = "Class report: %s" % aid
    b = ["<h1>%s</h1>" % _e(title),
         "<p>%d submissions; mean <b>%.2f</b>, median <b>%.2f</b> of %g; %d with full marks, %d with zero.</p>"
         % (s["n"], s["mean"], s["median"], s["max_score"], s["full_marks"], s["zeros"])]
    nav = ('<nav class="small"><a href="#scores">scores</a><a href="#status">status</a><a href="#tests">tests</a>'
           '<a href="#misconceptions">misconceptions</a><a href="#failures">other failures</a>'
           '<a href="#similarity">similarity</a><a href="#students">students</a></nav>')
    b.append('<h2 id="scores">Scores</h2>')
    if "scores.png" in images:
        b.append('<img src="%s" alt="histogram of scores: number of submissions per score">'
                 % _png_inline(os.path.join(out, "scores.png")))

    # ---- status: one line per submission, so a blank starter counts once
    b.append('<h2 id="status">Submissions by status</h2>')
    b.append('<p class="muted small">Each submission counts once, under the first status that applies. Blank '
             'starters, missing files and failed gradings are listed here rather than among the failure '
             'messages below.</p>')
    b.append("<table><tr><th>status</th><th>submissions</th><th>meaning</th><th>which</th></tr>")
    for st, keys in s["by_status"].items():
        if st == NO_SUBMISSION:
            keys = [r["name"] or r["email"] or r["sid"] for r in (roster or {}).get("no_submission", [])]
        if not keys:
            continue
        if st == GRADED:
            which = '<a href="#students">see the list of students</a>'
        elif st == NO_SUBMISSION:
            which = ", ".join(_e(k) for k in keys)
        else:
            which = "<br>".join("%s <span class=\"muted small\">%s</span>" % (_student_link(k), _e(s["status"][k][1]))
                                for k in keys)
        b.append('<tr><td>%s</td><td class="n">%d</td><td class="small">%s</td><td class="small">%s</td></tr>'
                 % (_status_tag(st), len(keys), _e(STATUS_HELP[st]), which))
    b.append("</table>")
    if roster and roster.get("not_on_roster"):
        b.append('<p><b>Not on the roster</b> (%d): %s</p>' % (
            len(roster["not_on_roster"]), ", ".join(_student_link(k) for k in roster["not_on_roster"])))

    # ---- pass rate
    b.append('<h2 id="tests">Pass rate per test</h2>')
    b.append('<p class="muted small"># is the Gradescope entry number; public tests run on the students\' '
             'machines too, hidden ones only on Gradescope.</p>')
    b.append("<table><tr><th>#</th><th>test</th><th>visibility</th><th>points</th><th>pass rate</th>"
             "<th>full</th><th>some</th><th>none</th></tr>")
    n = max(s["n"], 1)
    for name, row in s["tests"].items():
        bar = ('<div class="bar" title="%d%% full, %d%% some"><div class="full" style="width:%.1f%%"></div>'
               '<div class="some" style="width:%.1f%%"></div></div>'
               % (100 * row["full"] / n, 100 * row["partial"] / n, 100 * row["full"] / n, 100 * row["partial"] / n))
        b.append('<tr><td>%s</td><td>%s</td><td>%s</td><td class="n">%g</td><td>%s</td><td class="n">%d</td>'
                 '<td class="n">%d</td><td class="n">%d</td></tr>'
                 % (_e(row["number"]), _e(name), _vis_tag(row["public"], row["visibility"]), row["max"], bar,
                    row["full"], row["partial"], row["failed"]))
    b.append("</table>")

    # ---- misconceptions
    b.append('<h2 id="misconceptions">Misconceptions diagnosed by the feedback</h2>')
    if s["misconceptions"]:
        b.append('<p class="muted small">Most frequent first; a submission counts once per misconception. '
                 'One example of the feedback each.</p>')
        b.append('<table><tr><th>submissions</th><th style="width:28%">misconception</th>'
                 '<th style="width:17%">tests</th><th style="width:45%">example</th></tr>')
        for cause, count, tests in s["misconceptions"]:
            ex = s["examples"].get(cause, {})
            example = ""
            if ex:
                example = '%s, test %s<pre>%s</pre>' % (_student_link(ex["key"]), _e(ex["number"]), _e(ex["output"]))
            b.append('<tr><td class="n">%d</td><td>%s</td><td class="small">%s</td><td class="small">%s</td></tr>'
                     % (count, _e(cause), "<br>".join(_e(t) for t in tests), example))
        b.append("</table>")
    else:
        b.append("<p>None diagnosed.</p>")

    # ---- other failures
    b.append('<h2 id="failures">Other failure messages</h2>')
    b.append('<p class="muted small">Failures no catalogue entry names (numbers masked as #), in graded '
             'submissions only; frequent ones may deserve a catalogue entry (mistakes.toml).</p>')
    if s["other_messages"]:
        b.append("<table><tr><th>submissions</th><th>message</th></tr>")
        for message, count in s["other_messages"][:25]:
            b.append('<tr><td class="n">%d</td><td><code>%s</code></td></tr>' % (count, _e(message)))
        b.append("</table>")
    else:
        b.append("<p>None.</p>")

    # ---- similarity
    b.append('<h2 id="similarity">Similarity</h2>')
    b.append(_similarity_section(sim, set(results)))

    # ---- students
    b.append('<h2 id="students">Students</h2>')
    b.append("<table><tr><th>submission</th><th>name</th><th>status</th><th>score</th></tr>")
    for key in sorted(results):
        meta = _student_meta(results[key])
        b.append('<tr><td>%s</td><td>%s</td><td>%s</td><td class="n">%g / %g</td></tr>'
                 % (_student_link(key), _e(meta["name"]), _status_tag(s["status"][key][0]), s["scores"][key],
                    sum(t["max_score"] for t in results[key].get("tests", []))))
    b.append("</table>")
    return _page(title, "\n".join(b), nav)


def _pair_name(kind: str, i: int) -> str:
    return "%s-%02d.html" % (kind, i + 1)


def _similarity_section(sim, known) -> str:
    if not sim:
        return "<p>No similarity check in this folder (similarity.json is missing).</p>"
    b = ['<p class="muted small">%s</p>' % _e(sim.get("method", ""))]
    threshold = sim.get("threshold", 0.5)
    for kind, heading in (("within", "Pairs within this class"), ("cross", "This class against earlier terms")):
        if kind == "cross" and not sim.get("archives"):
            continue
        pairs = sim.get(kind) or []
        above = sum(1 for p in pairs if p["similarity"] >= threshold)
        b.append("<h3>%s</h3>" % _e(heading))
        if kind == "cross":
            b.append('<p class="small">Compared with %s (%d archived submissions; not graded).</p>'
                     % (", ".join(_e(a["label"]) for a in sim["archives"]), sum(a["n"] for a in sim["archives"])))
        b.append("<p>%d pair(s) at or above the threshold of %.0f%%.%s</p>" % (
            sim.get("counts", {}).get(kind, above), 100 * threshold,
            "" if above else " The highest pairs below it are shown so you can see what normal looks like here."))
        if not pairs:
            b.append('<p class="muted">No pair shares enough code to compare.</p>')
            continue
        b.append("<table><tr><th>similarity</th><th>shared fingerprints</th><th>submission A</th>"
                 "<th>submission B</th><th></th><th>side by side</th></tr>")
        for i, p in enumerate(pairs):
            below = p["similarity"] < threshold
            other = _student_link(p["b"], known=known) if kind == "within" else _e(p["b"]) + " (archived)"
            b.append('<tr class="%s"><td class="n">%.0f%%</td><td class="n">%d</td><td>%s</td><td>%s</td><td>%s</td>'
                     '<td><a href="%s">view</a></td></tr>'
                     % ("below" if below else "", 100 * p["similarity"], p["shared"],
                        _student_link(p["a"], known=known), other,
                        '<span class="tag">below the threshold</span>' if below else "<b>at or above the threshold</b>",
                        _href("pairs", _pair_name(kind, i))))
        b.append("</table>")
    b.append('<p class="muted small">A high score is a reason to read both submissions, not a verdict.</p>')
    return "\n".join(b)


def _code_column(text: str, ranges: list, context: int = 3) -> str:
    """One file's lines around the matched ``ranges`` (1-based, inclusive), matched lines highlighted."""
    lines = text.splitlines()
    marked = set()
    for a, b in ranges:
        marked.update(range(a, b + 1))
    shown = set()
    for a, b in ranges:
        shown.update(range(max(1, a - context), min(len(lines), b + context) + 1))
    out, last = [], 0
    for no in sorted(shown):
        if last and no > last + 1:
            out.append('<span class="gap">   ⋯ lines %d-%d not shown</span>' % (last + 1, no - 1))
        out.append('<span%s><i>%d</i>%s</span>' % (' class="m"' if no in marked else "", no, _e(lines[no - 1])))
        last = no
    return '<pre class="code">%s</pre>' % "".join(out)


def _pair_page(aid: str, kind: str, p: dict, texts: dict, threshold: float, known) -> str:
    title = "%s and %s (%.0f%%)" % (p["a"], p["b"], 100 * p["similarity"])
    b_link = _student_link(p["b"], "../", known) if kind == "within" else _e(p["b"]) + " (archived)"
    body = ["<h1>%s</h1>" % _e(title),
            "<p>%s: similarity %.0f%% (%d shared fingerprints), %s the threshold of %.0f%%. Matching lines are "
            "highlighted; lines around them are shown for context.</p>"
            % ("Within the class" if kind == "within" else "Against an earlier term", 100 * p["similarity"],
               p["shared"], "at or above" if p["similarity"] >= threshold else "below", 100 * threshold)]
    for rel, a_ranges, b_ranges in p["regions"][:6]:
        body.append("<h3>%s</h3>" % _e(rel))
        body.append('<div class="sbs"><div><b>%s</b>%s</div><div><b>%s</b>%s</div></div>' % (
            _student_link(p["a"], "../", known), _code_column(texts.get(p["a"], {}).get(rel, ""), a_ranges), b_link,
            _code_column(texts.get(p["b"], {}).get(rel, ""), b_ranges)))
    if not p["regions"]:
        body.append("<p>No line ranges recorded for this pair.</p>")
    nav = '<nav class="small"><a href="../index.html#similarity">back to the class report (%s)</a></nav>' % _e(aid)
    return _page(title, "\n".join(body), nav)


def _student_page(aid: str, key: str, data: dict, status: tuple, pairs: list) -> str:
    meta = _student_meta(data)
    total = sum(t["max_score"] for t in data.get("tests", []))
    title = "%s: %s" % (key, meta["name"]) if meta["name"] else key
    b = ["<h1>%s</h1>" % _e(title),
         '<p>%s%s%s</p>' % ("email %s · " % _e(meta["email"]) if meta["email"] else "",
                            "SID %s · " % _e(meta["sid"]) if meta["sid"] else "", "assignment %s" % _e(aid)),
         "<p>Score <b>%g / %g</b> %s %s</p>" % (float(data.get("score", 0.0)), total, _status_tag(status[0]),
                                               _e(status[1]))]
    if data.get("output"):
        b.append("<h2>Summary shown to the student</h2><pre>%s</pre>" % _e(data["output"]))
    if pairs:
        b.append("<h2>Similarity</h2><ul>%s</ul>" % "".join(
            '<li><a href="../%s">%s and %s: %.0f%%</a></li>' % (_href("pairs", name), _e(p["a"]), _e(p["b"]),
                                                              100 * p["similarity"]) for name, p in pairs))
    b.append("<h2>Tests</h2>")
    b.append("<table><tr><th>#</th><th>test</th><th>visibility</th><th>points</th><th>feedback</th></tr>")
    for t in data.get("tests", []):
        ok = t["score"] >= t["max_score"] - 1e-9
        b.append('<tr class="%s"><td>%s</td><td>%s</td><td>%s</td><td class="n score">%g / %g</td>'
                 '<td><pre>%s</pre></td></tr>' % ("pass" if ok else "fail", _e(t.get("number", "")), _e(t["name"]),
                            _vis_tag(visibility_label(t) == "public", t.get("visibility", "")), t["score"],
                            t["max_score"], _e(t.get("output", ""))))
    b.append("</table>")
    nav = '<nav class="small"><a href="../index.html">back to the class report (%s)</a></nav>' % _e(aid)
    return _page(title, "\n".join(b), nav)


def write_html(out: str, aid: str, results: dict, summary: dict, images: list) -> str:
    """Write the web report into ``out/report/`` (built aside, then swapped in); return index.html's path."""
    sim = load_json(os.path.join(out, "similarity.json"))
    roster = load_json(os.path.join(out, "roster.json"))
    final = os.path.join(out, HTML_DIR)
    build = tempfile.mkdtemp(prefix=".report-", dir=out)
    try:
        os.makedirs(os.path.join(build, "students"))
        os.makedirs(os.path.join(build, "pairs"))
        pages = {os.path.join(build, "index.html"): _index(aid, results, summary, images, out, sim, roster)}
        in_pairs = collections.defaultdict(list)
        for kind in ("within", "cross"):
            for i, p in enumerate((sim or {}).get(kind) or []):
                name = _pair_name(kind, i)
                pages[os.path.join(build, "pairs", name)] = _pair_page(aid, kind, p, sim.get("texts", {}),
                                                                       sim.get("threshold", 0.5), set(results))
                in_pairs[p["a"]].append((name, p))
                in_pairs[p["b"]].append((name, p))
        for key, data in results.items():
            pages[os.path.join(build, "students", key + ".html")] = _student_page(
                aid, key, data, summary["status"][key], in_pairs.get(key, []))
        for path, text in pages.items():
            with open(path, "w", encoding="utf-8", errors="replace") as fh:
                fh.write(text)
        os.chmod(build, 0o755)
        old = None
        if os.path.exists(final):
            old = tempfile.mkdtemp(prefix=".report-old-", dir=out)
            os.replace(final, os.path.join(old, "report"))
        os.replace(build, final)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return os.path.join(final, "index.html")
