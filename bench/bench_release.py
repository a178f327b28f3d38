"""Release benchmark: what ``make release`` costs, with the pre-imported template and without it.

Run from the repository root (the venv must exist):

    .venv/bin/python bench/bench_release.py [--seeds K] [--modes template,exec] [ID ...]

For each mode it runs ``python -m autograder release --dist <tmp> --seeds K [ID ...]`` (the
command ``make release`` runs, into a temporary dist folder) and prints:

- wall seconds, and CPU seconds of the whole process tree (getrusage(RUSAGE_CHILDREN): the
  release, its templates and everything they forked, all waited for);
- the time of each phase it prints: the build of every assignment, then each self-check
  ("checked <id> in N s");
- the longest silence: the most seconds between two lines of its output (the issue's goal: never
  more than 30 s without a progress line);
- the exit status (0: every self-check passed).

Modes: ``template`` (the default: every grading forks pytest and its workers from a template started
once per assignment) and ``exec`` (``AUTOGRADER_NO_TEMPLATE=1``: every process started by exec, the
grader before templates), run one after the other in this process, so their ratio compares like
with like. It asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODES = {"template": {}, "exec": {"AUTOGRADER_NO_TEMPLATE": "1"}}


def run(mode: str, seeds: int, ids: list, python: str) -> dict:
    env = dict(os.environ, **MODES[mode])
    with tempfile.TemporaryDirectory(prefix="agk-bench-release-") as dist:
        cmd = [python, "-m", "autograder", "release", "--dist", dist, "--seeds", str(seeds)] + ids
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                bufsize=1)
        lines, last, gaps = [], [t0], []

        def pump():
            for line in proc.stdout:
                now = time.monotonic()
                gaps.append((now - last[0], line.rstrip()))
                last[0] = now
                lines.append((now - t0, line.rstrip()))

        reader = threading.Thread(target=pump, daemon=True)
        reader.start()
        code = proc.wait()
        reader.join()
        wall = time.monotonic() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    phases = []
    for at, line in lines:
        m = re.match(r"\s*built (\S+) in ([\d.]+) s", line) or re.match(r"checked (\S+) in ([\d.]+) s", line)
        if m:
            phases.append(("build" if "built" in line else "self-check", m.group(1), float(m.group(2))))
    longest = max(gaps, default=(0.0, ""))
    return {"mode": mode, "wall_s": wall, "cpu_s": cpu, "exit": code, "phases": phases,
            "longest_silence_s": longest[0], "after_line": longest[1], "tail": [t for _, t in lines[-8:]]}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("ids", nargs="*", help="assignments (default: all)")
    p.add_argument("--seeds", type=int, default=5, help="seeds of the self-check (default 5, as make release)")
    p.add_argument("--modes", default="template,exec", help="comma-separated: template, exec (default both)")
    p.add_argument("--python", default=os.path.join(ROOT, ".venv", "bin", "python"))
    args = p.parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in MODES:
            p.error("unknown mode %r; choose from %s" % (m, ", ".join(MODES)))
    print("machine: %d CPUs; release %s --seeds %d" % (os.cpu_count(), " ".join(args.ids) or "(all)", args.seeds))
    results = []
    for mode in modes:
        r = run(mode, args.seeds, args.ids, args.python)
        results.append(r)
        print("\n%s: %.1f s wall, %.1f s CPU, exit %d; longest silence %.1f s (before: %s)" % (
            mode, r["wall_s"], r["cpu_s"], r["exit"], r["longest_silence_s"], r["after_line"][:100]))
        for kind, aid, seconds in r["phases"]:
            print("  %-10s %-16s %7.1f s" % (kind, aid, seconds))
        if r["exit"] != 0:
            print("  WARNING: the release failed, so this is not a real release's cost:\n    " + "\n    ".join(r["tail"]))
    if len(results) == 2 and results[1]["wall_s"]:
        a, b = results
        print("\n%s / %s: wall x%.2f, CPU x%.2f" % (a["mode"], b["mode"], a["wall_s"] / b["wall_s"],
                                                    a["cpu_s"] / b["cpu_s"] if b["cpu_s"] else float("nan")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
