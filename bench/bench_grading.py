"""Grading benchmark: the sandboxed run_autograder against one in-process pytest.

Run from the repository root:

    .venv/bin/python bench/bench_grading.py [--repeat N] [--json PATH]

What it does, for one assignment (default a1_neural_nets):

1. builds the autograder tree once (autograder.build.autograder_tree);
2. grades the reference submission (the required files copied from
   solutions/<id>) through the real run_autograder script N times;
3. runs the same public + hidden tests N times in one pytest process with
   ``--inprocess`` (student code imported by pytest itself, no worker);
4. times the build of both zips (autograder.build.build_zips) N times.

For every grading run it records the wall time, the CPU time of the whole child
process tree (getrusage(RUSAGE_CHILDREN) before and after) and the peak memory
of the tree: a thread reads /proc every --interval seconds, sums the RSS (and
the PSS, which splits shared pages between the processes mapping them) of
every live descendant of this process, and keeps the largest sum. A child that
has been forked but has not yet exec'd shares its parent's memory and is left
out. Short-lived processes can fall between two samples, so the peak is a
lower bound.

It prints figures and asserts nothing, but it says loudly when a run did not
score full marks, since then it did not measure a real grading.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from autograder.build import autograder_tree, build_zips  # noqa: E402
from autograder.config import Kit  # noqa: E402
from autograder.config import load_file  # noqa: E402
from autograder.harness import start_templates, template_sets, templates_env  # noqa: E402
from autograder.local import SAMPLE_METADATA, run_autograder  # noqa: E402

GRADESCOPE_MEMORY_MB = 768      # Gradescope's default memory limit
GRADESCOPE_TIMEOUT_S = 600      # Gradescope's default timeout
GRADESCOPE_VCPU = 0.5           # Gradescope's default CPU share
PAGE = os.sysconf("SC_PAGE_SIZE")


# ---------------------------------------------------------------- /proc sampling
def _stat(pid: str):
    """(ppid, rss bytes, command name) of one process, or None if it is gone."""
    try:
        with open("/proc/%s/stat" % pid, "rb") as fh:
            text = fh.read().decode("ascii", "replace")
    except OSError:
        return None
    rest = text[text.rfind(")") + 2:].split()  # comm may hold spaces and parentheses
    return int(rest[1]), int(rest[21]) * PAGE, text[text.find("(") + 1:text.rfind(")")]


def _cmdline(pid: int, comm: str) -> str:
    """A short label: the script or module a process runs (``-m autograder.harness``, ``worker.py``)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return comm
    for i, a in enumerate(argv):
        if a == "-m" and i + 1 < len(argv):
            return "%s -m %s" % (comm, argv[i + 1])
        if a.endswith((".py", "run_autograder")):
            return "%s %s" % (comm, os.path.basename(a))
    return comm


def _pss(pid: int) -> int:
    try:
        with open("/proc/%d/smaps_rollup" % pid, "rb") as fh:
            for line in fh:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _argv(pid: int) -> bytes:
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            return fh.read()
    except OSError:
        return b""


def descendants(root: int) -> dict:
    """{pid: (rss bytes, command name)} of every live descendant of ``root`` (not ``root`` itself).

    A child with its parent's command line and name has been forked (or vforked)
    and has not yet exec'd: it shares its parent's memory, so it is left out (its
    own children, if any, are still counted). A template's children (pytest, the
    workers) rename themselves, so they are counted.
    """
    info = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _stat(name)
            if st is not None:
                info[int(name)] = st
    children = {}
    for pid, (ppid, _, _) in info.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = {}, list(children.get(root, []))
    argv = {root: (_argv(root), (_stat(str(root)) or (0, 0, None))[2])}
    while todo:
        pid = todo.pop()
        argv[pid] = (_argv(pid), info[pid][2])  # a template's children are renamed (agk-pytest, agk-worker)
        if argv[pid] != argv.get(info[pid][0]):
            out[pid] = info[pid][1:]
        todo.extend(children.get(pid, []))
    return out


class TreeSampler(threading.Thread):
    """Samples the summed RSS/PSS of this process's descendants until stopped."""

    def __init__(self, interval: float):
        super().__init__(daemon=True)
        self.interval = interval
        self.root = os.getpid()
        self.peak_rss = self.peak_pss = 0
        self.peak_parts = []  # (label, rss MB) of each process at the RSS peak
        self.max_procs = 0
        self.samples = 0
        self._stop_event = threading.Event()

    def sample(self) -> None:
        tree = descendants(self.root)
        self.samples += 1
        self.max_procs = max(self.max_procs, len(tree))
        rss = sum(r for r, _ in tree.values())
        if rss > self.peak_rss:
            self.peak_rss = rss
            self.peak_parts = sorted(((_cmdline(pid, comm), r / 2**20) for pid, (r, comm) in tree.items()),
                                     key=lambda part: -part[1])
        self.peak_pss = max(self.peak_pss, sum(_pss(pid) for pid in tree))

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def process_cpu(pid: int) -> float:
    """CPU seconds of a live process and of the children it has waited for (utime, stime, cutime, cstime)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as fh:
            rest = fh.read().decode("ascii", "replace").rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in rest[11:15]) / os.sysconf("SC_CLK_TCK")


def measured(fn, interval: float, live=()) -> tuple:
    """Run ``fn()`` and return (its value, figures of the child process tree). ``live``: pids of long-lived
    children (a shared template) whose CPU, and their children's, counts while they run."""
    sampler = TreeSampler(interval)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    l0 = sum(process_cpu(pid) for pid in live)
    t0 = time.perf_counter()
    sampler.start()
    try:
        value = fn()
    finally:
        sampler.stop()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime) + sum(process_cpu(pid) for pid in live) - l0
    return value, {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": sampler.peak_rss / 2**20,
                   "peak_pss_mb": sampler.peak_pss / 2**20, "max_processes": sampler.max_procs,
                   "samples": sampler.samples, "peak_parts": sampler.peak_parts}


# ---------------------------------------------------------------- the modes
MODES = (("exec", "run_autograder, every process started by exec (AUTOGRADER_NO_TEMPLATE=1): the grader before templates"),
         ("template", "run_autograder as on Gradescope: the harness starts its template, forks pytest and the workers"),
         ("shared", "run_autograder with a template shared by every run (a self-check or a batch)"),
         ("in-process", "one pytest process, student code imported in it (no harness, no worker)"))
def copy_required(kit: Kit, aid: str, dest: str) -> None:
    """The reference submission: the required files from solutions/<aid>."""
    a = kit.assignment(aid)
    for rel in a.required_files + [r for r in a.optional_files if os.path.exists(kit.path("solutions", aid, r))]:
        src = kit.path("solutions", aid, rel)
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copyfile(src, os.path.join(dest, rel))


def graded_package(kit: Kit, aid: str, tree: str, dest: str) -> None:
    """What the harness grades: the starter package overlaid with the required files."""
    a = kit.assignment(aid)
    shutil.copytree(os.path.join(tree, "starter", a.package), os.path.join(dest, a.package))
    copy_required(kit, aid, dest)


def score_of(data: dict) -> tuple:
    tests = data.get("tests", [])
    return float(data.get("score", 0.0)), float(sum(t["max_score"] for t in tests)), len(tests)


def run_sandboxed(tree: str, submission: str, work: str, i: int, python: str = None, env=None) -> dict:
    root = tempfile.mkdtemp(prefix="root-%d-" % i, dir=work)
    with open(os.path.join(root, "submission_metadata.json"), "w", encoding="utf-8") as fh:
        json.dump(SAMPLE_METADATA, fh)
    data = run_autograder(tree, submission, os.path.join(root, "results"), root, python=python,
                          timeout=GRADESCOPE_TIMEOUT_S, env=env)
    data.pop("_harness_log", None)
    return data


def run_inprocess(tree: str, package_dir: str, work: str, i: int, python: str = None) -> dict:
    out = os.path.join(work, "inprocess-%d.json" % i)
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    with open(os.path.join(tree, "assignment.json"), encoding="utf-8") as fh:
        threads = str(json.load(fh)["grading"]["threads"])
    # the same environment the harness gives its pytest process
    env.update({"AUTOGRADER_CONFIG": os.path.join(tree, "assignment.json"), "PYTHONPATH": tree,
                "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
                "OPENBLAS_NUM_THREADS": threads})
    cmd = [python or sys.executable, "-m", "pytest", os.path.join(tree, "tests"), "-q", "-p", "no:cacheprovider",
           "--rootdir", tree, "-c", os.path.join(tree, "pytest.ini"),
           "--inprocess", "--submission", package_dir, "--results", out]
    proc = subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=GRADESCOPE_TIMEOUT_S)
    try:
        with open(out, encoding="utf-8") as fh:
            return json.load(fh)
    except OSError:
        return {"score": 0.0, "tests": [], "output": (proc.stdout + proc.stderr)[-2000:]}


# ---------------------------------------------------------------- report
def machine() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    info["mem_total_gb"] = round(int(line.split()[1]) / 2**20, 1)
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def summarise(runs: list) -> dict:
    return {"runs": len(runs),
            "median_wall_s": statistics.median(r["wall_s"] for r in runs),
            "median_cpu_s": statistics.median(r["cpu_s"] for r in runs),
            "max_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
            "max_peak_pss_mb": max(r["peak_pss_mb"] for r in runs)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assignment", default="a1_neural_nets", help="assignment id (default a1_neural_nets)")
    p.add_argument("--repeat", type=int, default=3, help="runs per mode (default 3)")
    p.add_argument("--interval", type=float, default=0.02, help="seconds between /proc samples (default 0.02)")
    p.add_argument("--json", default=None, metavar="PATH", help="also save the figures as JSON here")
    p.add_argument("--modes", default=",".join(label for label, _ in MODES),
                   help="comma-separated modes to run (default all: %s)" % ", ".join(label for label, _ in MODES))
    p.add_argument("--python", default=None, metavar="PATH",
                   help="interpreter of the grading venv (default: this one); e.g. a venv with the CPU-only torch "
                        "wheel Gradescope installs, to judge memory against its 768 MB")
    args = p.parse_args(argv)
    if args.python and not os.access(args.python, os.X_OK):
        p.error("--python %s is not an executable interpreter; create the venv first (see bench/README.md)"
                % args.python)
    aid, n = args.assignment, max(1, args.repeat)
    wanted = [m for m in args.modes.split(",") if m]
    for m in wanted:
        if m not in dict(MODES):
            p.error("unknown mode %r; choose from %s" % (m, ", ".join(label for label, _ in MODES)))
    kit = Kit(ROOT)
    kit.assignment(aid)
    mach = machine()
    print("machine: %s, %s CPUs, %s GB RAM, Python %s" % (mach.get("cpu", "?"), mach["nproc"],
                                                         mach.get("mem_total_gb", "?"), mach["python"]))

    with tempfile.TemporaryDirectory(prefix="agk-bench-") as work:
        t0 = time.perf_counter()
        tree = autograder_tree(kit, aid, os.path.join(work, "source"))
        tree_s = time.perf_counter() - t0
        print("built the %s autograder tree in %.2f s" % (aid, tree_s))

        submission = os.path.join(work, "submission")
        copy_required(kit, aid, submission)
        package_dir = os.path.join(work, "graded")
        graded_package(kit, aid, tree, package_dir)

        a = load_file(os.path.join(tree, "assignment.json"))
        shared, live, template_fig = [], [], {}
        modes = {label: [] for label, _ in MODES}
        problems = []
        runs = {"exec": lambda i: run_sandboxed(tree, submission, work, i, args.python, env={"AUTOGRADER_NO_TEMPLATE": "1"}),
                "template": lambda i: run_sandboxed(tree, submission, work, i, args.python),
                "shared": lambda i: run_sandboxed(tree, submission, work, i, args.python, env=templates_env(shared)),
                "in-process": lambda i: run_inprocess(tree, package_dir, work, i, args.python)}
        for label, _ in MODES:
            if label not in wanted:
                continue
            fn = runs[label]
            if label == "shared":  # started now, so that the other modes' figures do not include it
                t0 = time.perf_counter()
                shared += start_templates(tree, a, python=args.python)
                shared_ok = bool(shared) and all(t.ready() for t in shared)
                live = [t.proc.pid for t in shared]
                template_fig = {"wall_s": time.perf_counter() - t0, "cpu_s": sum(process_cpu(p) for p in live),
                                "modules": template_sets(a), "ready": shared_ok}
                print("  started the shared template(s) in %.2f s wall, %.2f s CPU (%s)" % (
                    template_fig["wall_s"], template_fig["cpu_s"], "ready" if shared_ok else "NOT READY: runs exec"))
            for i in range(n):
                data, fig = measured(lambda: fn(i), args.interval, live=live if label == "shared" else ())
                score, total, ntests = score_of(data)
                fig.update(score=score, max_score=total, tests=ntests,
                           processes=(data.get("extra_data") or {}).get("workers"))
                modes[label].append(fig)
                print("  %-10s run %d: %6.2f s wall  %6.2f s CPU  peak RSS %6.1f MB (PSS %6.1f MB, %d processes)"
                      "  score %.2f / %.2f"
                      % (label, i + 1, fig["wall_s"], fig["cpu_s"], fig["peak_rss_mb"], fig["peak_pss_mb"],
                         fig["max_processes"], score, total))
                if ntests == 0 or abs(score - total) > 1e-6:
                    failed = [t["name"] for t in data.get("tests", []) if t["score"] < t["max_score"]]
                    problems.append("%s run %d scored %.2f / %.2f (%s)" % (
                        label, i + 1, score, total,
                        "failed: " + "; ".join(failed) if failed else (data.get("output") or "")[:300]))
            if label == "shared":
                for t in shared:
                    t.close()

        zip_times = []
        for i in range(n):
            dist = os.path.join(work, "dist-%d" % i)
            t0 = time.perf_counter()
            paths = build_zips(kit, aid, dist)
            zip_times.append(time.perf_counter() - t0)
        zip_sizes = {os.path.basename(p): os.path.getsize(p) for p in paths}

    summary = {label: summarise(runs) for label, runs in modes.items() if runs}
    base = summary.get("exec")

    print()
    print("%s, %d run(s) per mode; ratios against the exec mode (the grader before templates), same process"
          % (aid, n))
    print("%-11s %14s %13s %16s %16s %12s" % ("mode", "median wall s", "median CPU s", "max peak RSS MB",
                                               "max peak PSS MB", "CPU ratio"))
    for label, text in MODES:
        if label not in summary:
            continue
        s_ = summary[label]
        print("%-11s %14.2f %13.2f %16.1f %16.1f %12s" % (
            label, s_["median_wall_s"], s_["median_cpu_s"], s_["max_peak_rss_mb"], s_["max_peak_pss_mb"],
            "x%.2f" % (s_["median_cpu_s"] / base["median_cpu_s"]) if base and base["median_cpu_s"] else "-"))
    for label, text in MODES:
        if label in summary:
            print("  %-10s %s" % (label, text))
    if template_fig:
        print("the shared template's own start: %.2f s wall, %.2f s CPU, paid once per self-check or batch"
              % (template_fig["wall_s"], template_fig["cpu_s"]))
    sb = summary.get("template")
    if sb:
        print("peak PSS of a Gradescope grading (template mode): %.1f MB = %.0f%% of Gradescope's default %d MB "
              "(peak summed RSS %.1f MB counts shared pages once in every process that maps them)"
              % (sb["max_peak_pss_mb"], 100 * sb["max_peak_pss_mb"] / GRADESCOPE_MEMORY_MB, GRADESCOPE_MEMORY_MB,
                 sb["max_peak_rss_mb"]))
        print("CPU of a Gradescope grading (template mode) at its default %.1f vCPU: about %.1f s (CPU s / %.1f), "
              "against a %d s timeout" % (GRADESCOPE_VCPU, sb["median_cpu_s"] / GRADESCOPE_VCPU, GRADESCOPE_VCPU,
                                          GRADESCOPE_TIMEOUT_S))
    for label in ("exec", "template"):
        if modes.get(label):
            worst = max(modes[label], key=lambda r: r["peak_rss_mb"])
            print("processes at the %s run's RSS peak: %s" % (label, ", ".join(
                "%s %.1f MB" % (name, mb) for name, mb in worst["peak_parts"])))
    print("build both zips: median %.2f s (%s)" % (statistics.median(zip_times), ", ".join(
        "%s %.0f kB" % (k, v / 1024) for k, v in sorted(zip_sizes.items()))))
    for label, runs in modes.items():
        if not runs:
            continue
        got = sorted({"%.2f / %.2f" % (r["score"], r["max_score"]) for r in runs})
        print("scores, %s: %s in all %d runs" % (label, " and ".join(got), len(runs)) if len(got) == 1
              else "scores, %s: %s" % (label, ", ".join("%.2f / %.2f" % (r["score"], r["max_score"]) for r in runs)))
    for problem in problems:
        print("WARNING: not full marks, so this did not measure a real grading: %s" % problem)

    if args.json:
        report = {"date": time.strftime("%Y-%m-%d"), "assignment": aid, "repeat": n, "interval_s": args.interval,
                  "machine": mach, "autograder_tree_s": tree_s,
                  "modes": {label: {"summary": summary[label], "runs": modes[label]} for label in summary},
                  "shared_template_start": template_fig,
                  "gradescope_defaults": {"memory_mb": GRADESCOPE_MEMORY_MB, "timeout_s": GRADESCOPE_TIMEOUT_S,
                                          "vcpu": GRADESCOPE_VCPU},
                  "build_zips": {"median_s": statistics.median(zip_times), "runs_s": zip_times,
                                 "sizes_bytes": zip_sizes},
                  "problems": problems}
        folder = os.path.dirname(os.path.abspath(args.json))
        os.makedirs(folder, exist_ok=True)
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2)
        print("figures saved to %s" % args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
