"""The class report of a batch: ``report.md`` with PNG plots, from ``results/*.json``.

- the score histogram (and mean, median, how many full marks and zeros);
- the pass rate of every test (fully passed / partly / failed), as a table and a bar chart;
- the misconceptions the feedback diagnosed (its "Likely cause: ..." lines), most frequent
  first, with how many submissions and which tests;
- the most frequent other failure messages (numbers masked), for mistakes no catalogue
  entry names yet;
- submissions the batch itself could not grade.

``python -m autograder report <out>`` rewrites it from the results already there.
"""
from __future__ import annotations

import collections
import json
import os
import re
import statistics

CAUSE = re.compile(r"^\s*Likely cause:\s*(.+?)\s*$")
#: lines that say nothing about the mistake itself
NOISE = re.compile(r"^(\d+ of \d+ cases passed|passed.*|Your code printed.*|\[.*?\]\s*)$")


def _masked(line: str) -> str:
    """A failure line with its numbers, quoted values and seeds masked, so equal mistakes group together."""
    line = re.sub(r"^\[[^\]]*\]\s*", "", line.strip())             # the [case] label
    line = re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", line)
    line = re.sub(r"\(#(, #)*,?\)", "(…)", line)
    return line[:160]


def _load(out: str, keys=None) -> dict:
    folder = os.path.join(out, "results")
    names = [k + ".json" for k in keys] if keys is not None else sorted(
        n for n in os.listdir(folder) if n.endswith(".json"))
    data = {}
    for name in names:
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                data[name[:-5]] = json.load(fh)
        except (OSError, ValueError):
            continue
    return data


def summarise(results: dict) -> dict:
    """The figures of the report, as plain data (the tests use this)."""
    scores = {k: float(d.get("score", 0.0)) for k, d in results.items()}
    max_score = max((sum(t["max_score"] for t in d.get("tests", [])) for d in results.values()), default=0.0)
    tests = collections.OrderedDict()
    causes = collections.defaultdict(lambda: {"submissions": set(), "tests": collections.Counter()})
    messages = collections.defaultdict(set)
    errors = []
    for key, data in sorted(results.items()):
        if data.get("extra_data", {}).get("batch_error") or data.get("extra_data", {}).get("fallback"):
            errors.append((key, (data.get("output") or "").splitlines()[0][:200] if data.get("output") else ""))
        for t in data.get("tests", []):
            row = tests.setdefault(t["name"], {"max": t["max_score"], "full": 0, "partial": 0, "failed": 0,
                                               "number": t.get("number", "")})
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
                    found_cause = True
            if not found_cause:
                for line in (t.get("output") or "").splitlines():
                    if line.strip() and not NOISE.match(line.strip()):
                        messages[_masked(line)].add(key)
                        break
    ranked = sorted(((c, len(v["submissions"]), [n for n, _ in v["tests"].most_common(3)])
                     for c, v in causes.items()), key=lambda r: (-r[1], r[0]))
    others = sorted(((m, len(keys)) for m, keys in messages.items()), key=lambda r: (-r[1], r[0]))
    values = list(scores.values())
    return {
        "n": len(results), "max_score": max_score, "scores": scores,
        "mean": statistics.mean(values) if values else 0.0,
        "median": statistics.median(values) if values else 0.0,
        "full_marks": sum(1 for v in values if max_score and v >= max_score - 1e-9),
        "zeros": sum(1 for v in values if v <= 0.0),
        "tests": tests, "misconceptions": ranked, "other_messages": others, "errors": errors,
    }


def _plots(summary: dict, out: str) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(list(summary["scores"].values()), bins=min(20, max(5, summary["n"] // 5)),
            range=(0, summary["max_score"] or 1), color="#4477aa", edgecolor="white")
    ax.set(xlabel="score (of %g)" % summary["max_score"], ylabel="submissions", title="Scores")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "scores.png"), dpi=110)
    plt.close(fig)
    written.append("scores.png")

    names = list(summary["tests"])
    if names:
        full = [summary["tests"][n]["full"] / max(summary["n"], 1) for n in names]
        part = [summary["tests"][n]["partial"] / max(summary["n"], 1) for n in names]
        fig, ax = plt.subplots(figsize=(8, 0.28 * len(names) + 1.2))
        y = range(len(names))
        ax.barh(y, full, color="#228833", label="full points")
        ax.barh(y, part, left=full, color="#ccbb44", label="some points")
        ax.set_yticks(list(y))
        ax.set_yticklabels([n[:60] for n in names], fontsize=7)
        ax.invert_yaxis()
        ax.set(xlim=(0, 1), xlabel="share of submissions", title="Pass rate per test")
        ax.legend(loc="lower right", fontsize=7)
        fig.tight_layout()
        fig.savefig(os.path.join(out, "pass_rate.png"), dpi=110)
        plt.close(fig)
        written.append("pass_rate.png")
    return written


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(summary: dict, aid: str, images: list) -> str:
    s = summary
    lines = ["# Class report: %s" % aid, "",
             "%d submissions; mean %.2f, median %.2f of %g; %d with full marks, %d with zero."
             % (s["n"], s["mean"], s["median"], s["max_score"], s["full_marks"], s["zeros"]), ""]
    if "scores.png" in images:
        lines += ["![score histogram](scores.png)", ""]
    lines += ["## Pass rate per test", "", "| # | test | points | full | some | none |", "|---|---|---:|---:|---:|---:|"]
    for name, row in s["tests"].items():
        lines.append("| %s | %s | %g | %d | %d | %d |" % (row["number"], _cell(name), row["max"], row["full"],
                                                        row["partial"], row["failed"]))
    if "pass_rate.png" in images:
        lines += ["", "![pass rate per test](pass_rate.png)"]
    lines += ["", "## Misconceptions diagnosed by the feedback", ""]
    if s["misconceptions"]:
        lines += ["Most frequent first; a submission counts once per misconception.", "",
                  "| submissions | misconception | tests |", "|---:|---|---|"]
        for cause, count, tests in s["misconceptions"]:
            lines.append("| %d | %s | %s |" % (count, _cell(cause), _cell("; ".join(tests))))
    else:
        lines.append("None diagnosed.")
    lines += ["", "## Other failure messages", "",
              "Failures the catalogue does not name (numbers masked as #); frequent ones may deserve a "
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
    """Write ``out/report.md`` (and its PNGs); return its path."""
    summary = summarise(_load(out, keys))
    images = _plots(summary, out) if summary["n"] else []
    path = os.path.join(out, "report.md")
    tmp = path + ".part"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(render(summary, aid, images))
    os.replace(tmp, path)
    return path
