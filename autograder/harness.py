"""Grading harness: ``run_autograder`` calls ``python -m autograder.harness``.

1. intake: find the required files in the submission (folders, zips), build the
   graded package in a fresh work folder (starter + the student's files);
2. seeds: public inputs are fixed (fixtures); hidden = a hash of the submitted files
   mixed with the autograder's salt;
3. run pytest (public + hidden tests, the kit plugin) in a child process with a
   hard time limit; the plugin rewrites results.json after every test;
4. always leave a valid results.json: if pytest died or ran out of time, the
   last partial results (tests not run are marked so) or a fallback.

Student code runs only in the sandbox worker started by the plugin, never here.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import results as results_mod
from . import seeds
from .config import load_file
from .intake import assemble, locate
from .sandbox.isolation import disabled as isolation_disabled

GRACE_SECONDS = 30


def _read_salt(source: str) -> str:
    path = os.path.join(source, "salt")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip()


def close_harness_files(source: str, submission: str, results_path: str, metadata: str | None) -> None:
    """Root only, before any student code runs: the tests, salt, the upload, the results and
    submission_metadata.json (earlier submissions' full results) become root's alone. On a
    Gradescope-like root (source, submission and results side by side) its loose files too."""
    from .sandbox.isolation import disabled

    results_dir = os.path.dirname(os.path.abspath(results_path))
    for folder in (source, submission, results_dir):
        if os.path.isdir(folder):
            os.chmod(folder, 0o700)
    if disabled("harness-files"):
        return
    if metadata and os.path.isfile(metadata):
        os.chmod(metadata, 0o600)
    parents = {os.path.dirname(os.path.abspath(p)) for p in (source, submission, results_dir)}
    if len(parents) == 1:
        root = parents.pop()
        if root != os.path.dirname(root):  # never the file system's root
            for name in os.listdir(root):
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path):
                    os.chmod(path, 0o600)


class _GradingUid:
    """Root only: the sandbox uid and the folder of one grading, claimed before pytest starts and
    cleaned after it ends for any reason (a killed pytest leaves no process and no file behind)."""

    def __init__(self):
        from .sandbox import isolation

        self.iso = isolation
        self.uid, self._lock = isolation.claim_uid()
        base = isolation.sandbox_base()
        os.makedirs(base, mode=0o755, exist_ok=True)
        self.folder = tempfile.mkdtemp(prefix="agk-grading-", dir=base)
        os.chown(self.folder, 0, self.uid)
        os.chmod(self.folder, 0o755 if isolation.disabled("private-folders") else 0o750)

    def env(self) -> dict:
        return {"AUTOGRADER_SANDBOX_UID": str(self.uid), "AUTOGRADER_WORKDIR_BASE": self.folder}

    def cleanup(self) -> None:
        self.iso.kill_uid(self.uid)
        shutil.rmtree(self.folder, ignore_errors=True)
        if not self.iso.probe_namespaces()["mount"] or self.iso.disabled("private-tmp"):
            self.iso.remove_files_of(self.uid)  # no private tmpfs: the shared /tmp may hold its files
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None


def template_modules(a, source: str | None = None) -> list:
    """What the main template imports up front: the grader's packages and the engine (and scikit-learn when
    the held-out set will be its digits: the offline stand-in, when setup.sh fetched no dataset)."""
    extra = []
    heldout = a.heldout or {}
    if heldout.get("offline") == "digits32":
        # heldout.npz_path, without importing heldout (and NumPy) into the harness
        fetched = source and heldout.get("gradescope") and os.path.exists(
            os.path.join(source, "data", "heldout_%s.npz" % heldout["gradescope"]))
        if not fetched:
            extra = ["sklearn.datasets"]
    return [m for m in a.grader_packages if m != "pytest"] + extra + ["pytest", "autograder.plugin"]


def template_sets(a, source: str | None = None) -> list:
    """The templates a grading of ``a`` forks from: the main one (pytest and most workers) and, under
    import rules, a light one (NumPy only) for the workers whose rule forbids what the main one imported."""
    sets = [template_modules(a, source)]
    if a.forbid_imports:
        banned = {m for rule in a.forbid_imports for m in rule["modules"]}
        sets.append([m for m in ("numpy",) if m not in banned])
    return sets


def start_templates(source: str, a, python: str | None = None) -> list:
    """Start the templates for the autograder tree ``source`` (the caller closes them); [] when
    AUTOGRADER_NO_TEMPLATE=1 or they cannot start. Pass ``templates_env(...)`` to run_autograder."""
    from .sandbox import template as tpl

    if tpl.disabled():
        return []
    started = []
    try:
        for modules in template_sets(a, source):
            started.append(tpl.Template(source, modules, python=python, threads=int(a.grading["threads"])))
    except OSError:
        for t in started:
            t.close()
        return []
    return started


def templates_env(templates) -> dict:
    return {"AUTOGRADER_TEMPLATE": os.pathsep.join(t.directory for t in templates)} if templates else {}


def _template(source: str, a):
    """(folders, owned Templates): the templates pytest and the workers are forked from. A self-check or
    batch passes its own (AUTOGRADER_TEMPLATE, started for this very tree); otherwise this grading
    starts them now, so that they import while intake runs. ([], []): exec only."""
    from .sandbox import template as tpl

    if tpl.disabled():
        return [], []
    shared = [d for d in (os.environ.get("AUTOGRADER_TEMPLATE") or "").split(os.pathsep) if d]
    if shared:
        descs = [tpl.info(d) for d in shared]
        if all(d and os.path.realpath(d.get("source", "")) == os.path.realpath(source) for d in descs):
            return shared, []
    own = start_templates(source, a)
    return [t.directory for t in own], own


def _test_paths(source: str, select: str | None) -> list:
    """What pytest collects: tests/, or under the self-check's AUTOGRADER_SELECT (keys "file::test") only
    the files holding the selected tests (importing the others would cost every re-run its time)."""
    tests = os.path.join(source, "tests")
    if not select:
        return [tests]
    names = {str(key).split("::", 1)[0] for key in json.loads(select)}
    paths = sorted(os.path.join(folder, f) for folder, _, files in os.walk(tests) for f in files if f in names)
    return paths or [tests]


def _start_pytest(template_dirs, cmd, source, env):
    """pytest forked from the main template when there is one (no interpreter start, no imports), else exec."""
    if template_dirs:
        template_dir = template_dirs[0]
        from .sandbox import template as tpl

        try:
            # the engine is imported already, so pytest cannot rewrite its asserts (it needs none): no warning
            args = ["-W", "ignore::pytest.PytestAssertRewriteWarning"] + cmd[3:]
            return tpl.spawn(template_dir, {"kind": "pytest", "env": env, "cwd": source, "path": [source],
                                            "args": args}, fds=(1, 2))
        except tpl.TemplateError:
            pass
    return subprocess.Popen(cmd, cwd=source, env=env, start_new_session=True)


def grade(source: str, submission: str, results_path: str, metadata: str | None = None,
          work: str | None = None, seed_override: int | None = None) -> dict:
    t0 = time.monotonic()
    a = load_file(os.path.join(source, "assignment.json"))
    grading = None
    if os.geteuid() == 0:  # the confined worker's uid must not read tests, salt, results or metadata
        close_harness_files(source, submission, results_path, metadata)
        grading = _GradingUid()
    template_dirs, own_templates = _template(source, a)
    own_work = work is None
    work = work or tempfile.mkdtemp(prefix="agk-grade-")
    try:
        located = locate(submission, a.required_files, os.path.join(work, "scratch"), optional=a.optional_files,
                         max_file_mb=a.max_file_mb)
        graded_dir = assemble(located, os.path.join(source, "starter", a.package), a.package,
                              os.path.join(work, "submission"))
        intake_path = os.path.join(work, "intake.json")
        with open(intake_path, "w", encoding="utf-8") as fh:
            json.dump({k: located[k] for k in ("found", "missing", "notes")}, fh)
        digest = seeds.files_digest(graded_dir, a.required_files)
        hidden_seed = seeds.seed_from(digest, _read_salt(source)) if seed_override is None else seed_override
        budget = float(a.grading["budget"])
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
        env.update({
            "PYTHONPATH": source, "PYTHONDONTWRITEBYTECODE": "1",
            "AUTOGRADER_CONFIG": os.path.join(source, "assignment.json"),
            "AUTOGRADER_SUBMISSION": graded_dir, "AUTOGRADER_INTAKE": intake_path,
            "AUTOGRADER_HIDDEN_SEED": str(hidden_seed),
            "AUTOGRADER_SEED_OVERRIDDEN": "1" if seed_override is not None else "0",
            # the self-check's extra seeds: public random inputs too (never set on Gradescope)
            **({"AUTOGRADER_PUBLIC_SEED": os.environ["AUTOGRADER_PUBLIC_SEED_OVERRIDE"]}
               if os.environ.get("AUTOGRADER_PUBLIC_SEED_OVERRIDE") else {}),
            "AUTOGRADER_RESULTS_FILE": results_path,
            "AUTOGRADER_BUDGET": str(max(budget - (time.monotonic() - t0), 1.0)),
        })
        threads = str(a.grading["threads"])  # Gradescope gives 0.5 vCPU by default
        env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads)
        for var in ("AUTOGRADER_WORKER_PYTHON", "AUTOGRADER_WORKER_LD_LIBRARY_PATH", "AUTOGRADER_SANDBOX_BASE",
                    "AUTOGRADER_UNSAFE_DISABLE", "AUTOGRADER_SELECT", "AUTOGRADER_TRACE"):
            if var in os.environ:
                env[var] = os.environ[var]
        if grading is not None:
            env.update(grading.env())
        if template_dirs:
            env["AUTOGRADER_TEMPLATE"] = os.pathsep.join(template_dirs)
        if os.path.exists(results_path):
            os.unlink(results_path)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", source,
               "-c", os.path.join(source, "pytest.ini")] + _test_paths(source, env.get("AUTOGRADER_SELECT"))
        sys.stdout.flush()
        sys.stderr.flush()
        proc = _start_pytest(template_dirs, cmd, source, env)
        timed_out = False
        try:
            proc.wait(timeout=budget + GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if hasattr(proc, "cpu"):  # forked by the template: if the template died first, pytest may live on
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        data = results_mod.load_json(results_path)
        if data is None or results_mod.check(data):
            data = results_mod.fallback(
                "The grader stopped unexpectedly (exit status %s) before it could report results. "
                "This is not caused by a test failure: please tell your instructor." % proc.returncode, a.id)
        elif timed_out or not data.get("extra_data", {}).get("finished"):
            data["output"] = ("Grading stopped early (%s); tests that did not run are marked 'not run'.\n"
                              % ("time budget reached" if timed_out else "the grader exited early")) + data["output"]
        extra = data.setdefault("extra_data", {})
        extra["pytest"] = {"started_by": "fork" if hasattr(proc, "cpu") else "exec",
                           "templates": list(template_dirs), "own_templates": bool(own_templates),
                           "cpu": round(proc.cpu, 3) if getattr(proc, "cpu", None) is not None else None}
        data["execution_time"] = round(time.monotonic() - t0, 3)
        results_mod.atomic_write_json(results_path, data)
        return data
    finally:
        if grading is not None and not isolation_disabled("harness-cleanup"):
            grading.cleanup()
        for own in own_templates:
            own.close()
        if own_work:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.harness", description=__doc__.splitlines()[0])
    p.add_argument("--source", required=True)
    p.add_argument("--submission", required=True)
    p.add_argument("--results", required=True)
    p.add_argument("--metadata", default=None)
    args = p.parse_args(argv)
    seed = os.environ.get("AUTOGRADER_SEED_OVERRIDE")
    try:
        data = grade(args.source, args.submission, args.results, args.metadata,
                     seed_override=int(seed) if seed else None)
    except Exception as exc:  # never leave Gradescope without results
        results_mod.atomic_write_json(args.results, results_mod.fallback(
            "The autograder failed (%s: %s). This is not your fault: please tell your instructor."
            % (type(exc).__name__, exc)))
        raise
    extra = data.get("extra_data", {})
    # Gradescope shows this output to instructors only (results.json sets stdout_visibility hidden)
    print("score %.2f in %.1f s; seeds: public %s, hidden %s" % (
        data["score"], data["execution_time"], extra.get("seed"), extra.get("hidden_seed")))
    for line in extra.get("diagnostics", []):
        print(line)
    workers, pytest_run = extra.get("workers") or {}, extra.get("pytest") or {}
    if workers or pytest_run:
        print("processes: pytest %s%s; workers: %d forked from the template (%.1f CPU-s), %d started by exec; "
              "templates: %s" % (
                  pytest_run.get("started_by", "?"),
                  " (%.1f CPU-s)" % pytest_run["cpu"] if pytest_run.get("cpu") is not None else "",
                  workers.get("fork", 0), workers.get("forked_cpu", 0.0), workers.get("exec", 0),
                  " ".join(pytest_run.get("templates") or []) or "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
