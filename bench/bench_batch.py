"""Batch grading throughput: submissions per minute, and its scaling from 1 to 2 workers.

    .venv/bin/python bench/bench_batch.py [--assignment a1_neural_nets] [--n 200] [--n-single 60]

Generates a class with bench/make_class.py (reference, starter, catalogued
mistakes, hostile variants; folders, nested folders and zips), then grades it with
``autograder.batch.run_batch`` (the real run_autograder per submission, the
sandbox included) twice: ``--n-single`` submissions with 1 worker, then all ``--n``
with 2 workers (the default on this 2-core machine). Prints wall, CPU seconds of
every child process, submissions per minute and the speed-up. Asserts nothing.
"""
import argparse
import os
import resource
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "bench"))

from autograder.batch import discover, run_batch  # noqa: E402
from autograder.report import write_report  # noqa: E402
from autograder.similarity import write_similarity  # noqa: E402
from autograder.config import Kit  # noqa: E402
from make_class import make_class  # noqa: E402


def timed(fn):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    value = fn()
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return value, wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--assignment", default="a1_neural_nets")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--n-single", type=int, default=60)
    args = p.parse_args(argv)
    kit = Kit(ROOT)
    print("machine: %d CPUs; assignment %s" % (os.cpu_count(), args.assignment))
    rows = []
    with tempfile.TemporaryDirectory(prefix="agk-bench-batch-") as tmp:
        subs = os.path.join(tmp, "class")
        make_class(kit, args.assignment, subs, n=args.n, seed=0)
        small = os.path.join(tmp, "class-small")
        make_class(kit, args.assignment, small, n=args.n_single, seed=0)
        for label, folder, n, workers in (("1 worker", small, args.n_single, 1), ("2 workers", subs, args.n, 2)):
            out = os.path.join(tmp, "out-%d" % workers)
            summary, wall, cpu = timed(lambda: run_batch(args.assignment, folder, out, workers=workers,
                                                         progress=False, kit=kit, similarity=False, report=False))
            t0 = time.perf_counter()
            write_report(out, args.assignment)
            write_similarity(out, kit, args.assignment, discover(folder, tmp))
            extra = time.perf_counter() - t0
            rows.append((label, n, wall, cpu, 60.0 * n / wall, extra))
            print("  %-9s %4d submissions: %7.1f s wall, %7.1f s CPU, %6.1f submissions/min; report + similarity "
                  "%.1f s" % (label, n, wall, cpu, 60.0 * n / wall, extra))
    print()
    print("| workers | submissions | wall s | CPU s | submissions / min | report + similarity s |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, n, wall, cpu, rate, extra in rows:
        print("| %s | %d | %.1f | %.1f | %.1f | %.1f |" % (label, n, wall, cpu, rate, extra))
    if len(rows) == 2:
        print("\nspeed-up 1 -> 2 workers: x%.2f in submissions per minute; %d submissions in %.1f s (goal: 200 in "
              "300 s)" % (rows[1][4] / rows[0][4], rows[1][1], rows[1][2]))


if __name__ == "__main__":
    main()
