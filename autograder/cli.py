"""``python -m autograder <verb>``: a thin layer over library functions.

    starter [ID...]                 regenerate student_starter/ from solutions/
    fixtures [ID...]                regenerate tests/fixtures/ (public inputs and the oracle's answers)
    build   [ID...] [--dist DIR]    write dist/<id>-student.zip and dist/<id>-autograder.zip
    check   [ID...] [--zips DIR] [--seeds K]
                                    self-check (reference full, starter 0, mistakes caught, variants full)
    check   ID --mistake NAME|--variant NAME [--seed N] [--show]
                                    grade one catalogued entry and say whether it behaves
    release [ID...] [--dist DIR] [--strict-numbering]
                                    starter freshness + build + self-check of the built zips
    points  [ID...] [--write] [--entries]
                                    points, entries, mistakes and variants from the tests; the handout's table
    grade   ID SUBMISSION [--results FILE] [--zip FILE] [--seed N]
    batch   ID FOLDER|EXPORT.zip [--out DIR] [--workers N] [--timeout S] [--zip FILE] [--regrade]
            [--roster FILE] [--canvas-column NAME] [--against DIR ...]
    report  ID OUT                  rewrite a batch's report.md and report/ (web pages) from OUT/results
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


def cmd_build(kit, ids, dist, strict_numbering=False):
    drafts = [aid for aid in kit.resolve_ids(ids) if aid not in kit.resolve_ids(ids, skip_drafts=True)]
    for aid in drafts:
        print("skipped %s: it is a draft (draft = true in its assignment.toml); name it to build it anyway" % aid)
    for aid in kit.resolve_ids(ids, skip_drafts=True):
        t0 = time.monotonic()
        paths = build_zips(kit, aid, dist, strict_numbering=strict_numbering)
        for p in paths:
            print("wrote %s (%.0f kB)" % (os.path.relpath(p, os.getcwd()), os.path.getsize(p) / 1024))
        print("  built %s in %.1f s" % (aid, time.monotonic() - t0))
    return 0


def cmd_points(kit, ids, write=False, entries=False):
    """``points``: the figures of each assignment, read from its tests (nothing graded); the handout's table."""
    from . import points

    rows, notes, stale = [], [], 0
    for aid in kit.resolve_ids(ids):
        t0 = time.monotonic()
        found = points.collect(kit, aid)
        seconds = time.monotonic() - t0
        rows.append(points.summary(kit, aid, found))
        if entries:
            print("%s:\n%s\n" % (aid, points.format_entries(found)))
        table, _, reason = points.handout_table(kit, aid, found)
        if table is None:
            note = "no points table (add a <!-- points-table region, docs/instructor-guide.md section 8)"
        elif reason is None:
            note = "points table up to date"
        elif write:
            points.write_handout(kit, aid, found)
            note = "points table rewritten: %s" % table.where
        else:
            stale += 1
            note = "error: " + reason
        notes.append("%s: %s (tests collected in %.1f s)" % (aid, note, seconds))
    print(points.format_summary(rows))
    for line in notes:
        print(line)
    return 1 if stale else 0


def check_handouts(kit, ids):
    """Stop ``check`` before any grading when a handout's points table disagrees with the tests."""
    from . import points

    for aid in kit.resolve_ids(ids):
        if points.has_table(kit, aid):
            _, _, reason = points.handout_table(kit, aid, points.collect(kit, aid))
            if reason:
                raise points.PointsError(reason)


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


def cmd_batch(kit, aid, input_path, out, workers, timeout, zip_path, regrade, roster=None, against=(),
              canvas_column=None):
    from .batch import run_batch

    out = out or "batch-%s" % aid
    summary = run_batch(aid, input_path, out, workers=workers, timeout=timeout, zip_path=zip_path, regrade=regrade,
                        kit=kit, roster=roster, against=against or (), canvas_column=canvas_column)
    print("graded %d submission(s) in %.1f s with %d worker(s)%s; wrote %s"
          % (summary["graded"], summary["seconds"], summary["workers"],
             " (%d already graded, kept)" % summary["skipped"] if summary["skipped"] else "",
             ", ".join(os.path.join(out, n) for n in ("grades.csv", "grades-canvas.csv", "report.md",
                                                       "report/index.html", "similarity.md", "results/"))))
    if roster:
        strangers = summary["not_on_roster"]
        print("roster: %d student(s) without a submission; %d submission(s) not on the roster%s"
              % (summary["no_submission"], len(strangers),
                 " (%s%s)" % (", ".join(strangers[:10]), ", ..." if len(strangers) > 10 else "") if strangers else ""))
    return 0


def cmd_report(kit, aid, out):
    from .report import write_report

    if not os.path.isdir(os.path.join(out, "results")):
        raise FileNotFoundError("%s has no results/ folder; give the --out folder of a batch run" % out)
    path = write_report(out, aid)
    print("wrote %s and %s" % (path, os.path.join(out, "report", "index.html")))
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
    for sp in (b, r):
        sp.add_argument("--strict-numbering", action="store_true",
                        help="stop when the release renumbers the Gradescope entries of the previous one in --dist")
    pt = sub.add_parser("points", help="points, entries, mistakes and variants read from the tests (nothing graded)")
    pt.add_argument("ids", nargs="*")
    pt.add_argument("--write", action="store_true", help="rewrite the points table of each handout.md from the tests")
    pt.add_argument("--entries", action="store_true", help="also list every Gradescope entry")
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
    bt.add_argument("--roster", default=None, metavar="FILE",
                    help="roster CSV (Gradescope's Download Roster): joined by email, then SID")
    bt.add_argument("--canvas-column", default=None, metavar="NAME",
                    help="assignment column of grades-canvas.csv (default: the assignment's title); "
                         "'Name (id)' as in a Canvas export fills that Canvas assignment")
    bt.add_argument("--against", action="extend", nargs="+", default=[], metavar="DIR",
                    help="archived submissions (folders or zips, e.g. earlier terms) to compare with; not graded")
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
            return cmd_build(kit, args.ids, args.dist, args.strict_numbering)
        if args.verb == "points":
            return cmd_points(kit, args.ids, args.write, args.entries)
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
            check_handouts(kit, args.ids)
            return cmd_check(kit, args.ids, args.zips, args.seeds, args.full)
        if args.verb == "release":
            cmd_build(kit, args.ids, args.dist, args.strict_numbering)
            return cmd_check(kit, kit.resolve_ids(args.ids, skip_drafts=True), zips=args.dist, seeds=args.seeds, full=args.full)
        if args.verb == "grade":
            return cmd_grade(kit, args.id, args.submission, args.results, args.zip_path, args.seed)
        if args.verb == "batch":
            return cmd_batch(kit, args.id, args.input, args.out, args.workers, args.timeout, args.zip_path,
                             args.regrade, args.roster, args.against, args.canvas_column)
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
