"""``python -m autograder <verb>``: a thin layer over library functions.

    starter [ID...]                 regenerate student_starter/ from solutions/
    fixtures [ID...]                regenerate tests/fixtures/ (public inputs and the oracle's answers)
    build   [ID...] [--dist DIR]    write dist/<id>-student.zip and dist/<id>-autograder.zip
    check   [ID...] [--zips DIR] [--seeds K]
                                    self-check (reference full, starter 0, mistakes caught, variants full)
    check   ID --mistake NAME|--variant NAME [--seed N] [--show]
                                    grade one catalogued entry and say whether it behaves
    release [ID...] [--dist DIR]    starter freshness + build + self-check of the built zips
    grade   ID SUBMISSION [--results FILE] [--zip FILE] [--seed N]
    batch   ID FOLDER|EXPORT.zip [--out DIR] [--workers N] [--timeout S] [--zip FILE] [--regrade]
    report  ID OUT                  rewrite a batch's report.md from OUT/results
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from .build import BuildError, build_zips
from .config import ConfigError, Kit
from .markers import MarkerError


def cmd_starter(kit, ids):
    from .starter import generate

    for aid in kit.resolve_ids(ids):
        path = generate(kit, aid)
        print("wrote %s" % os.path.relpath(path, kit.root))
    return 0


def cmd_fixtures(kit, ids):
    from .fixturegen import generate, has_cases, read_meta

    for aid in kit.resolve_ids(ids):
        if not has_cases(kit, aid):
            print("skipped %s: it has no tests/cases.py" % aid)
            continue
        t0 = time.monotonic()
        path = generate(kit, aid)
        summary = (read_meta(path) or {}).get("summary", {})
        size = sum(os.path.getsize(os.path.join(path, n)) for n in os.listdir(path))
        print("wrote %s: %d cases, %d values, %d arrays, %.0f kB in %.1f s"
              % (os.path.relpath(path, kit.root), summary.get("cases", 0), summary.get("values", 0),
                 summary.get("arrays", 0), size / 1024, time.monotonic() - t0))
    return 0


def cmd_build(kit, ids, dist):
    drafts = [aid for aid in kit.resolve_ids(ids) if aid not in kit.resolve_ids(ids, skip_drafts=True)]
    for aid in drafts:
        print("skipped %s: it is a draft (draft = true in its assignment.toml); name it to build it anyway" % aid)
    for aid in kit.resolve_ids(ids, skip_drafts=True):
        t0 = time.monotonic()
        paths = build_zips(kit, aid, dist)
        for p in paths:
            print("wrote %s (%.0f kB)" % (os.path.relpath(p, os.getcwd()), os.path.getsize(p) / 1024))
        print("  built %s in %.1f s" % (aid, time.monotonic() - t0))
    return 0


def cmd_check(kit, ids, zips=None, seeds=5, full=False):
    from .selfcheck import all_ok, check_assignment, format_report

    reports = []
    for aid in kit.resolve_ids(ids):
        zip_path = os.path.join(zips, "%s-autograder.zip" % aid) if zips else None
        if zip_path and not os.path.exists(zip_path):
            raise BuildError("%s not found; run `make release` first" % zip_path)
        t0 = time.monotonic()
        reports.append(check_assignment(kit, aid, zip_path=zip_path, seeds=seeds, full=full,
                                        progress=lambda line: print(line, file=sys.stderr, flush=True)))
        print("checked %s in %.1f s" % (aid, time.monotonic() - t0), file=sys.stderr)
    print(format_report(reports))
    if not all_ok(reports):
        print("error: self-check failed (see the lines above)", file=sys.stderr)
        return 1
    return 0


def cmd_check_entry(kit, ids, kind, name, seed, show, zips=None):
    """``check ID --mistake NAME`` / ``--variant NAME``: grade one catalogued entry in full."""
    from .local import format_table
    from .selfcheck import grade_entry

    if len(ids) != 1:
        raise ValueError("--%s needs exactly one assignment id, e.g. `python -m autograder check %s --%s %s`"
                         % (kind, (kit.assignment_ids() or ["<id>"])[0], kind, name))
    aid = kit.resolve_ids(ids)[0]
    zip_path = os.path.join(zips, "%s-autograder.zip" % aid) if zips else None
    data, problems = grade_entry(kit, aid, kind, name, seed=seed, zip_path=zip_path)
    total = sum(t["max_score"] for t in data.get("tests", []))
    extra = data.get("extra_data", {})
    if show:
        print(format_table(data))
    expected = "full marks" if kind == "variant" else "caught, named, and caught by a public test"
    print("%s %s %r: %.2f / %.2f on seeds public %s, hidden %s: %s" % (
        aid, kind, name, data.get("score", 0.0), total, extra.get("seed"), extra.get("hidden_seed"),
        "as expected (%s)" % expected if not problems else "; ".join(problems)))
    return 0 if not problems else 1


def cmd_grade(kit, aid, submission, results, zip_path, seed):
    from .local import format_table, grade

    data = grade(aid, submission, results=results, zip_path=zip_path, seed=seed, kit=kit)
    data.pop("_harness_log", None)
    print(format_table(data))
    if results:
        print("results written to %s" % results)
    return 0


def cmd_batch(kit, aid, input_path, out, workers, timeout, zip_path, regrade):
    from .batch import run_batch

    out = out or "batch-%s" % aid
    summary = run_batch(aid, input_path, out, workers=workers, timeout=timeout, zip_path=zip_path, regrade=regrade,
                        kit=kit)
    print("graded %d submission(s) in %.1f s with %d worker(s)%s; wrote %s"
          % (summary["graded"], summary["seconds"], summary["workers"],
             " (%d already graded, kept)" % summary["skipped"] if summary["skipped"] else "",
             ", ".join(os.path.join(out, n) for n in ("grades.csv", "report.md", "similarity.md", "results/"))))
    return 0


def cmd_report(kit, aid, out):
    from .report import write_report

    print("wrote %s" % write_report(out, aid))
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder", description="Deep-learning course kit")
    sub = p.add_subparsers(dest="verb", required=True)
    s = sub.add_parser("starter", help="regenerate student_starter/ from solutions/")
    s.add_argument("ids", nargs="*")
    f = sub.add_parser("fixtures", help="regenerate the public fixtures from tests/cases.py and the oracles")
    f.add_argument("ids", nargs="*")
    b = sub.add_parser("build", help="build the student and autograder zips")
    b.add_argument("ids", nargs="*")
    b.add_argument("--dist", default="dist")
    c = sub.add_parser("check", help="self-check assignments")
    c.add_argument("ids", nargs="*")
    c.add_argument("--zips", default=None, help="check the built autograder zips in this folder")
    c.add_argument("--seeds", type=int, default=5,
                   help="grade every candidate on this many seeds: its own, then 1, 2, ... (default 5)")
    c.add_argument("--full", action="store_true",
                   help="grade every mistake and variant on every test (default: on the tests that run its files)")
    one = c.add_mutually_exclusive_group()
    one.add_argument("--mistake", default=None, metavar="NAME", help="grade only this entry of mistakes.toml")
    one.add_argument("--variant", default=None, metavar="NAME", help="grade only this entry of variants.toml")
    c.add_argument("--seed", type=int, default=None, help="with --mistake/--variant: grade on this seed")
    c.add_argument("--show", action="store_true", help="with --mistake/--variant: print every test's feedback")
    r = sub.add_parser("release", help="build zips and self-check them")
    r.add_argument("ids", nargs="*")
    r.add_argument("--dist", default="dist")
    r.add_argument("--seeds", type=int, default=5, help="seeds of the self-check (default 5)")
    r.add_argument("--full", action="store_true", help="self-check every entry on every test")
    g = sub.add_parser("grade", help="grade one submission locally through run_autograder")
    g.add_argument("id")
    g.add_argument("submission", help="a folder or a .zip, as a student would upload")
    g.add_argument("--results", default=None, help="also write results.json here")
    g.add_argument("--zip", dest="zip_path", default=None, help="grade with this built autograder zip")
    g.add_argument("--seed", type=int, default=None, help="use this seed for public and hidden inputs")
    bt = sub.add_parser("batch", help="grade a folder of submissions or a Gradescope export zip")
    bt.add_argument("id")
    bt.add_argument("input", help="a folder (one entry per submission) or Gradescope's export zip")
    bt.add_argument("--out", default=None, help="output folder (default batch-<id>); rerun to resume")
    bt.add_argument("--workers", type=int, default=None, help="gradings at once (default: number of cores)")
    bt.add_argument("--timeout", type=float, default=None, help="seconds per submission (default: budget + 60)")
    bt.add_argument("--zip", dest="zip_path", default=None, help="grade with this built autograder zip")
    bt.add_argument("--regrade", action="store_true", help="grade again the submissions that have results")
    rp = sub.add_parser("report", help="rewrite a batch's class report from its results")
    rp.add_argument("id")
    rp.add_argument("out", help="the batch's output folder")
    args = p.parse_args(argv)
    try:
        kit = Kit()
        if args.verb == "starter":
            return cmd_starter(kit, args.ids)
        if args.verb == "fixtures":
            return cmd_fixtures(kit, args.ids)
        if args.verb == "build":
            return cmd_build(kit, args.ids, args.dist)
        if args.verb == "check":
            if args.mistake or args.variant:
                kind = "mistake" if args.mistake else "variant"
                return cmd_check_entry(kit, args.ids, kind, args.mistake or args.variant, args.seed, args.show,
                                       args.zips)
            if args.seed is not None or args.show:
                raise ValueError("--seed and --show go with --mistake NAME or --variant NAME; "
                                 "the whole self-check uses --seeds K")
            if args.seeds < 1:
                raise ValueError("--seeds must be at least 1")
            return cmd_check(kit, args.ids, args.zips, args.seeds, args.full)
        if args.verb == "release":
            cmd_build(kit, args.ids, args.dist)
            return cmd_check(kit, kit.resolve_ids(args.ids, skip_drafts=True), zips=args.dist, seeds=args.seeds, full=args.full)
        if args.verb == "grade":
            return cmd_grade(kit, args.id, args.submission, args.results, args.zip_path, args.seed)
        if args.verb == "batch":
            return cmd_batch(kit, args.id, args.input, args.out, args.workers, args.timeout, args.zip_path,
                             args.regrade)
        if args.verb == "report":
            return cmd_report(kit, args.id, args.out)
    except KeyboardInterrupt:
        print("interrupted: finished submissions keep their results; run the same command again to resume",
              file=sys.stderr)
        return 130
    except (ConfigError, MarkerError, BuildError, FileNotFoundError, ValueError, RuntimeError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    return 0
