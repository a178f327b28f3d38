"""Sandbox benchmark: grade the whole adversarial catalogue, and time recovery from a hang.

    .venv/bin/python bench/bench_adversarial.py [--json PATH]

1. Grades every case of tests/adversarial/cases.toml through run_autograder, as the
   test suite does (a Gradescope-like root), one after the other, and prints the
   wall time and peak RSS of the process tree per case and for the whole catalogue.
2. The harness's own memory (the harness and pytest processes, not the worker) on the
   cases that attack it: a forged 60 MB reply frame, a huge JSON reply, zip bombs. The
   forged frame is graded twice in this process: as shipped, and with the reply cap
   switched off (AUTOGRADER_UNSAFE_DISABLE=reply-cap), the baseline of the ratio.
3. Hang recovery: in one confined sandbox (as root) or plain subprocess, calls a
   function that loops forever with a 2 s limit, then a trivial function, and
   reports the time from the limit expiring to the next call's answer: the kill,
   the restart of the worker, and its first call. Repeated 5 times.
Prints figures; asserts nothing.
"""
import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "bench"), os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "adversarial")]

from bench_grading import _cmdline, descendants, measured  # noqa: E402
import conftest  # noqa: E402,F401  (the tests' helpers)
from test_adversarial import CASES, _tree, grade_like_gradescope, materialise  # noqa: E402

from autograder.sandbox import Sandbox, SandboxTimeout  # noqa: E402
from autograder.sandbox import isolation  # noqa: E402


class _Factory:
    """Stands in for pytest's tmp_path_factory."""

    def __init__(self, base):
        self.base, self.n = base, 0

    def mktemp(self, name):
        import pathlib

        self.n += 1
        path = pathlib.Path(self.base) / ("%s%d" % (name, self.n))
        path.mkdir()
        return path


def catalogue(work):
    factory = _Factory(work)
    rows = []
    for name in sorted(CASES):
        case = CASES[name]
        if case.get("root") and not isolation.is_root():
            rows.append({"case": name, "skipped": "needs root"})
            continue
        template = _tree(factory, case.get("grading"))
        sub = materialise(case, os.path.join(work, "sub-" + name))
        (root, _, data), fig = measured(lambda: grade_like_gradescope(template, sub, name), 0.02)
        rows.append({"case": name, "wall_s": fig["wall_s"], "peak_rss_mb": fig["peak_rss_mb"],
                     "score": data["score"], "max": sum(t["max_score"] for t in data["tests"])})
        print("  %-30s %6.2f s  peak RSS %6.1f MB  score %5.1f / %.1f" % (
            name, fig["wall_s"], fig["peak_rss_mb"], rows[-1]["score"], rows[-1]["max"]))
    return rows


class HarnessPeak(threading.Thread):
    """Peak RSS of each harness-side process (``-m autograder.harness``, ``-m pytest``) of this
    process's tree, sampled every ``interval`` s; the worker's (``worker.py``) apart."""

    def __init__(self, interval=0.01):
        super().__init__(daemon=True)
        self.interval, self.peaks, self._halt = interval, {}, threading.Event()

    def run(self):
        me = os.getpid()
        while not self._halt.is_set():
            for pid, (rss, comm) in descendants(me).items():
                label = _cmdline(pid, comm)
                kind = ("worker" if "worker.py" in label else "pytest" if "pytest" in label
                        else "harness" if "autograder.harness" in label else None)
                if kind:
                    self.peaks[kind] = max(self.peaks.get(kind, 0), rss / 2**20)
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()
        return self.peaks


HARNESS_CASES = ("forged-reply-frame", "nested-list-reply", "many-zip-bombs", "zip-bomb")


def harness_memory(work, disabled=None, names=HARNESS_CASES):
    factory = _Factory(work)
    rows = []
    for name in names:
        case = CASES[name]
        template = _tree(factory, case.get("grading"))
        sub = materialise(case, os.path.join(work, "hm-%s-%s" % (name, disabled or "on")))
        old = os.environ.get(isolation.DISABLE_VAR)
        if disabled:
            os.environ[isolation.DISABLE_VAR] = disabled
        sampler = HarnessPeak()
        sampler.start()
        t0 = time.perf_counter()
        try:
            _, _, data = grade_like_gradescope(template, sub, "hm-" + name)
        finally:
            peaks = sampler.stop()
            if disabled:
                if old is None:
                    os.environ.pop(isolation.DISABLE_VAR, None)
                else:
                    os.environ[isolation.DISABLE_VAR] = old
        rows.append({"case": name, "defence_off": disabled, "wall_s": time.perf_counter() - t0,
                     "pytest_peak_rss_mb": peaks.get("pytest", 0.0), "harness_peak_rss_mb": peaks.get("harness", 0.0),
                     "worker_peak_rss_mb": peaks.get("worker", 0.0), "score": data["score"]})
        print("  %-20s %-12s %6.1f s  pytest peak %7.1f MB  harness peak %6.1f MB  worker peak %7.1f MB" % (
            name, "(%s off)" % disabled if disabled else "", rows[-1]["wall_s"], rows[-1]["pytest_peak_rss_mb"],
            rows[-1]["harness_peak_rss_mb"], rows[-1]["worker_peak_rss_mb"]))
    return rows


def hang_recovery(work, repeats=5):
    pkg = os.path.join(work, "hang", "pkg")
    os.makedirs(pkg)
    open(os.path.join(pkg, "__init__.py"), "w").close()
    with open(os.path.join(pkg, "m.py"), "w") as fh:
        fh.write("def loop():\n    while True:\n        pass\n\ndef ok():\n    return 1\n")
    for d in (os.path.dirname(pkg), pkg):
        os.chmod(d, 0o755)
    confinement = isolation.Confinement() if isolation.is_root() else None
    sb = Sandbox(os.path.dirname(pkg), call_timeout=2, confinement=confinement)
    sb.call("pkg.m:ok")
    gaps = []
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            try:
                sb.call("pkg.m:loop")
            except SandboxTimeout:
                pass
            limit_hit = time.perf_counter()
            sb.call("pkg.m:ok")
            gaps.append(time.perf_counter() - limit_hit)
            print("  loop stopped after %.2f s; next call answered %.3f s later" % (limit_hit - t0, gaps[-1]))
    finally:
        sb.close()
        if confinement:
            confinement.release()
    return gaps, "confined worker" if confinement else "plain subprocess"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json", default=None)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="agk-bench-adv-") as work:
        print("adversarial catalogue (%d cases), graded one after the other:" % len(CASES))
        (rows, fig) = measured(lambda: catalogue(work), 0.05)
        done = [r for r in rows if "wall_s" in r]
        print("whole catalogue: %.1f s wall, %.1f s CPU, peak RSS %.1f MB; slowest case %s (%.1f s); "
              "largest case peak RSS %.1f MB" % (
                  fig["wall_s"], fig["cpu_s"], fig["peak_rss_mb"],
                  max(done, key=lambda r: r["wall_s"])["case"], max(r["wall_s"] for r in done),
                  max(r["peak_rss_mb"] for r in done)))
        print("harness memory on the cases that attack it (sampled every 10 ms):")
        mem = harness_memory(work)
        mem += harness_memory(work, disabled="reply-cap", names=("forged-reply-frame",))
        on, off = mem[0], mem[-1]
        print("forged 60 MB frame: pytest peak %.1f MB, %.1f s (reply cap off, same process: %.1f MB, %.1f s; "
              "ratio %.2f in memory, %.2f in time)" % (
                  on["pytest_peak_rss_mb"], on["wall_s"], off["pytest_peak_rss_mb"], off["wall_s"],
                  on["pytest_peak_rss_mb"] / max(off["pytest_peak_rss_mb"], 1e-9), on["wall_s"] / off["wall_s"]))
        print("hang recovery:")
        gaps, mode = hang_recovery(work)
        print("hang to next answer (%s): median %.3f s, max %.3f s over %d hangs"
              % (mode, statistics.median(gaps), max(gaps), len(gaps)))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"cases": rows, "catalogue": {k: fig[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")},
                       "harness_memory": mem,
                       "hang_gaps_s": gaps, "mode": mode}, fh, indent=2)


if __name__ == "__main__":
    main()
