"""Release builds: zip contents, no leaks, the student's local run, setup.sh, Python 3.10."""
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import fixturegen, pins, points, scan
from autograder.build import RUNTIME, STUDENT_TESTS, BuildError, build_zips, check_student_tree, unpack_zip
from autograder.config import _load_toml
from autograder.markers import normalize, solution_blocks
from autograder.results import validate_schema
from autograder.selfcheck import (all_ok, caught_by_public, check_assignment, format_report, load_mistakes, load_variants,
                                  make_mistake)

from conftest import A1, A1_FILE, KIT, copy_reference, graded, max_total, reference_text, write_submission


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    paths = {}
    for aid in KIT.assignment_ids():
        paths[aid] = build_zips(KIT, aid, str(out))
    return paths


@pytest.fixture(scope="module")
def student_release(dist, tmp_path_factory):
    dest = tmp_path_factory.mktemp("student")
    unpack_zip(dist[A1][0], str(dest))
    return os.path.join(str(dest), A1)


def _zip_names(path):
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


@pytest.mark.parametrize("aid", KIT.assignment_ids())
def test_student_zip_has_no_answer_key(dist, aid, tmp_path):
    """The scan of every built student zip: no solution text, oracle module or oracle code line,
    no graded computation defined outside the stubs, nothing from tests/hidden, no instructor tools."""
    names = _zip_names(dist[aid][0])
    assert all(n.startswith(aid + "/") for n in names)
    assert not [n for n in names if "/hidden/" in n or "__pycache__" in n or ".ipynb_checkpoints" in n
                or n.endswith(".pyc") or "mistakes.toml" in n or n.endswith("/salt") or n.endswith("oracles.py")
                or n.endswith("cases.py") or n.endswith("setup.sh") or n.endswith("run_autograder")]
    assert all(n.split("/")[2] in STUDENT_TESTS for n in names if n.startswith(aid + "/tests/"))
    engine = sorted(n.split("/", 2)[2] for n in names if n.startswith(aid + "/autograder/"))
    assert engine == sorted(RUNTIME)  # the grading runtime, no batch/report/similarity/build/selfcheck/starter
    blocks = []
    for path in glob.glob(KIT.path("solutions", aid, "**", "*.py"), recursive=True):
        with open(path) as fh:
            blocks += solution_blocks(fh.read(), path)
    assert blocks, "the reference has solution regions"
    with zipfile.ZipFile(dist[aid][0]) as zf:
        texts = [normalize(zf.read(n).decode("utf-8", "replace")) for n in names]
    assert not [b for b in blocks if any(b in t for t in texts)]
    unpack_zip(dist[aid][0], str(tmp_path))
    assert scan.problems(KIT, aid, str(tmp_path / aid)) == []
    if fixturegen.has_cases(KIT, aid):
        assert "%s/tests/fixtures/public.npz" % aid in names
    assert os.path.getsize(dist[aid][0]) < 2_000_000


@pytest.mark.parametrize("plant,expect", [
    ("oracle module", "an instructor-only module"),
    ("oracle line", "holds oracle code from tests/"),
    ("graded name", "defines softmax, a name students implement"),
    ("hidden test", "named like the hidden test"),
    ("instructor tool", "autograder/batch.py: not part of the grading runtime"),
])
def test_scan_finds_planted_answer_keys(student_release, tmp_path, plant, expect):
    copy = tmp_path / "release"
    shutil.copytree(student_release, copy)
    oracles_py = KIT.path("assignments", A1, "tests", "oracles.py")
    if plant == "oracle module":
        shutil.copy(oracles_py, copy / "tests" / "public" / "oracles.py")
    elif plant == "oracle line":
        with open(copy / "tests" / "public" / "test_models.py", "a") as fh:
            fh.write("\n\ndef _expected(weights, X):\n    z1 = X @ weights[\"W1\"] + weights[\"b1\"]\n    return z1\n")
    elif plant == "graded name":
        with open(copy / "tests" / "probes" / "a1_probes.py", "a") as fh:
            fh.write("\n\ndef softmax(s):\n    e = np.exp(s - s.max(axis=1, keepdims=True))\n"
                     "    return e / e.sum(axis=1, keepdims=True)\n")
    elif plant == "hidden test":
        shutil.copy(KIT.path("assignments", A1, "tests", "hidden", "test_functional_hidden.py"),
                    copy / "tests" / "public" / "test_functional_hidden.py")
    else:
        shutil.copy(KIT.path("autograder", "batch.py"), copy / "autograder" / "batch.py")
    found = scan.problems(KIT, A1, str(copy))
    assert any(expect in p for p in found), found
    with pytest.raises(BuildError, match="unsafe"):
        check_student_tree(KIT, A1, str(copy))


def test_student_zip_contents(dist):
    names = set(_zip_names(dist[A1][0]))
    for rel in ("README.md", "assignment.json", "conftest.py", "pytest.ini", "requirements.txt", "a1_neural_nets.ipynb",
                "collect_submission.py", A1_FILE, "tests/public/test_functional.py", "tests/fixtures/public.json",
                "tests/fixtures/public.npz", "tests/probes/a1_probes.py", "autograder/plugin.py",
                "autograder/fixtures.py", "autograder/sandbox/worker.py"):
        assert "%s/%s" % (A1, rel) in names
    for rel in ("tests/oracles.py", "tests/cases.py", "autograder/batch.py", "autograder/selfcheck.py",
                "autograder/build.py", "autograder/starter.py", "autograder/markers.py", "autograder/fixturegen.py",
                "autograder/templates/setup.sh", "autograder/cli.py"):
        assert "%s/%s" % (A1, rel) not in names


def test_autograder_zip_layout(dist):
    with zipfile.ZipFile(dist[A1][1]) as zf:
        names = set(zf.namelist())
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in zf.infolist()}
        reqs = zf.read("requirements.txt").decode()
        run = zf.read("run_autograder").decode()
    assert {"setup.sh", "run_autograder", "assignment.json", "salt", "tests/hidden/test_functional_hidden.py",
            "starter/neural_nets/functional.py"} <= names
    assert modes["setup.sh"] & 0o111 and modes["run_autograder"] & 0o111
    assert run.startswith("#!") and "autograder.harness" in run
    assert "torch" not in reqs  # A1 grades with NumPy only
    assert 'numpy==2.2.6; python_version < "3.11"' in reqs


#: the suite self-checks each built zip with one catalogued mistake and one variant, on two seeds; the
#: whole catalogues on five seeds are ``make check`` and ``make release``, which CI (.ci/run) runs after
#: ``make test``
SUITE_SEEDS = 2


def _sample(entries: list) -> list:
    """The first entry the public tests must catch (mistakes) or the first variant."""
    return [next(e for e in entries if not e.get("hidden_only"))] if entries else []


@pytest.fixture(scope="module")
def reports(dist):
    """The self-check of every built autograder zip: reference, starter, one catalogued mistake and one
    variant, on SUITE_SEEDS seeds."""
    return {aid: check_assignment(KIT, aid, zip_path=dist[aid][1], seeds=SUITE_SEEDS,
                                  mistakes=_sample(load_mistakes(KIT, aid)), variants=_sample(load_variants(KIT, aid)))
            for aid in KIT.assignment_ids()}


def test_release_self_check_on_built_zips(dist, reports):
    assert all_ok(reports.values()), format_report(list(reports.values()))
    for aid, report in reports.items():
        _check_points_against_grading(aid, dist[aid], report["reference"].data)
        assert len(report["mistakes"]) == len(report["variants"]) == 1 and report["seeds"] == SUITE_SEEDS
        for o in report["mistakes"]:  # caught by the public tests, on every seed
            assert caught_by_public(o.data) and o.score < o.max_score, (aid, o.label)
        assert all(v.score == v.max_score for v in report["variants"]), format_report([report])
        assert all(o.seeds == list(range(1, SUITE_SEEDS)) for o in [report["reference"], *report["variants"]]
                   if any((t.get("extra_data") or {}).get("seeded") for t in o.data["tests"]))


def _check_points_against_grading(aid, zips, graded):
    """The figures the build computed from the collected tests are those a real grading awards: the student README's
    points table, rebuilt from the reference's results.json (each test's max_score, public or hidden), and the
    release's entries (dist/<id>-entries.json: number, test, name, points, visibility) entry by entry."""
    tests = graded["tests"]
    awarded = [{"key": t["extra_data"]["key"], "number": t["number"], "points": t["max_score"], "name": t["name"],
                "hidden": not t["extra_data"]["public"], "graded": True} for t in tests]
    table, rows, _ = points.handout_table(KIT, aid, awarded)
    assert table is not None, "%s: handout.md has no points table" % aid
    with zipfile.ZipFile(zips[0]) as zf:
        readme = zf.read("%s/README.md" % aid).decode()
    assert "\n".join(points.render_table(table, rows)) in readme, aid
    assert sum(r[2] + r[3] for r in rows) == sum(t["max_score"] for t in tests) > 0
    with open(points.manifest_path(os.path.dirname(zips[1]), aid), encoding="utf-8") as fh:
        entries = json.load(fh)["entries"]
    assert [(e["number"], e["key"], e["name"], e["points"], e["visibility"]) for e in entries] == \
        [(t["number"], t["extra_data"]["key"], t["name"], t["max_score"], t["visibility"]) for t in tests], aid


def _local_public_run(release, aid, files_from, work):
    """Run pytest in an unpacked student release with the required files of ``files_from`` dropped in."""
    shutil.copytree(release, work)
    a = KIT.assignment(aid)
    for rel in a.required_files + a.optional_files:
        if os.path.exists(os.path.join(files_from, rel)):
            shutil.copyfile(os.path.join(files_from, rel), os.path.join(work, rel))
    proc = subprocess.run([sys.executable, "-m", "pytest", "--results", "local.json"], cwd=work,
                          capture_output=True, text=True, timeout=600)
    assert "total:" in proc.stdout and "public inputs are fixed" in proc.stdout, proc.stdout[-3000:] + proc.stderr
    with open(os.path.join(work, "local.json")) as fh:
        local = json.load(fh)
    validate_schema(local)
    return local


def _public_rows(data):
    return [(t["number"], t["name"], t["score"], t["output"]) for t in data["tests"] if t["extra_data"]["public"]]


@pytest.mark.parametrize("aid", KIT.assignment_ids())
def test_local_public_run_matches_gradescope(dist, reports, aid, tmp_path):
    """A student's `pytest` in the unzipped release gives, test by test, the public results Gradescope gives:
    for the reference and for a catalogued mistake that the public tests catch (graded through
    run_autograder on the built autograder zip, as `python -m autograder grade --zip` does)."""
    release = os.path.join(str(tmp_path), "unpacked")
    unpack_zip(dist[aid][0], release)
    release = os.path.join(release, aid)
    report = reports[aid]
    local = _local_public_run(release, aid, KIT.path("solutions", aid), str(tmp_path / "reference"))
    assert _public_rows(local) == _public_rows(report["reference"].data)
    assert all(t["status"] == "passed" for t in local["tests"])
    mistakes = _sample(load_mistakes(KIT, aid))  # the one the suite's self-check graded
    m, outcome = next((m, o) for m, o in zip(mistakes, report["mistakes"])
                      if not m.get("hidden_only") and caught_by_public(o.data))
    files = str(tmp_path / "mistake-files")
    make_mistake(KIT, aid, m, files)
    local = _local_public_run(release, aid, files, str(tmp_path / "mistake"))
    assert _public_rows(local) == _public_rows(outcome.data)
    assert local["score"] < sum(t["max_score"] for t in local["tests"])


def test_grade_command_matches_local_public_run(student_release, tmp_path):
    """The same comparison for A1 through the `python -m autograder grade` command itself."""
    text = reference_text().replace("return float(-np.mean(np.log(correct)))",
                                    "return float(-np.sum(np.log(correct)))")
    sub = write_submission(tmp_path / "sub", text)
    local = _local_public_run(student_release, A1, sub, str(tmp_path / "release"))
    proc = subprocess.run([sys.executable, "-m", "autograder", "grade", A1, sub, "--results", str(tmp_path / "gs.json")],
                          cwd=KIT.root, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "gs.json") as fh:
        gs = json.load(fh)
    assert _public_rows(local) == _public_rows(gs)
    assert any("summed over the batch" in t["output"] for t in local["tests"])


def _collect(release, tmp_path, text=None):
    work = tmp_path / "c"
    shutil.copytree(release, work)
    if text is not None:
        write_submission(work, text)
    proc = subprocess.run([sys.executable, "collect_submission.py"], cwd=work, capture_output=True, text=True,
                          timeout=120)
    return proc, work


@pytest.mark.parametrize("case,text,message", [
    ("syntax", "def f(:\n", "does not compile"),
    ("import", "import numpy_does_not_exist\n", "does not import"),
])
def test_collect_submission_refuses_broken_files(student_release, tmp_path, case, text, message):
    proc, work = _collect(student_release, tmp_path, text)
    assert proc.returncode != 0 and message in proc.stderr and A1_FILE in proc.stderr
    assert not os.path.exists(work / "submission.zip")


def test_collect_submission_refuses_missing_file(student_release, tmp_path):
    work = tmp_path / "m"
    shutil.copytree(student_release, work)
    os.unlink(work / A1_FILE)
    proc = subprocess.run([sys.executable, "collect_submission.py"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 1 and "missing neural_nets/functional.py" in proc.stderr
    assert not os.path.exists(work / "submission.zip")


def test_collect_submission_builds_a_gradable_zip(student_release, a1_tree, tmp_path):
    proc, work = _collect(student_release, tmp_path, reference_text())
    assert proc.returncode == 0, proc.stderr
    assert _zip_names(work / "submission.zip") == KIT.assignment(A1).required_files
    up = tmp_path / "upload"
    up.mkdir()
    shutil.copy(work / "submission.zip", up)
    data = graded(a1_tree, up, tmp_path)
    assert data["score"] == max_total(data)


def test_pins_agree_with_pyproject():
    deps = _load_toml(KIT.path("pyproject.toml"))["project"]["dependencies"]
    dev = {d.split("==")[0]: d.split("==")[1].split(";")[0].strip() for d in deps if "==" in d}
    for name, lines in pins.PINS.items():
        modern = [ln for ln in lines if "python_version <" not in ln]
        for ln in modern:
            if "==" in ln:
                version = ln.split("==")[1].split(";")[0].strip()
                assert dev.get(name) == version, (name, version, dev.get(name))


def test_shipped_code_is_python310_compatible(dist, tmp_path):
    """Both zips of every assignment (the engine, tests, case builders, oracles, starter) run on Python 3.10."""
    folders = []
    for aid, (student_zip, autograder_zip) in dist.items():
        for kind, path in (("student", student_zip), ("autograder", autograder_zip)):
            folders.append(unpack_zip(path, str(tmp_path / aid / kind)))
    vermin = os.path.join(os.path.dirname(sys.executable), "vermin")
    proc = subprocess.run([vermin, "-t=3.10-", "--violations", "--no-tips", *folders], capture_output=True, text=True)
    assert proc.returncode == 0 and "Target versions not met" not in proc.stdout, proc.stdout + proc.stderr


def _python310():
    """A working Python 3.10 interpreter (Gradescope's version), if this machine has one.

    As root, the sandbox worker runs as another uid and must be able to execute it: a
    pyenv build under /root is mirrored (hard links) into the sandbox base folder first.
    """
    for cand in [*sorted(glob.glob("/root/.pyenv/versions/3.10*/bin/python3.10")), "/usr/bin/python3.10",
                 shutil.which("python3.10")]:
        if not cand or not os.access(cand, os.X_OK):
            continue
        probe = subprocess.run([cand, "-c", "import sys, venv, ensurepip; print(sys.version_info[:2] == (3, 10))"],
                               capture_output=True, text=True)
        if probe.stdout.strip() == "True":
            return _reachable_interpreter(cand)
    return None


def _reachable_interpreter(python):
    from autograder.sandbox.isolation import is_root

    install = os.path.dirname(os.path.dirname(os.path.realpath(python)))
    d, closed = install, False
    while d != "/":
        closed = closed or not os.stat(d).st_mode & 0o001
        d = os.path.dirname(d)
    if not (is_root() and closed):
        return python
    from autograder.sandbox.isolation import sandbox_base

    os.makedirs(sandbox_base(), mode=0o755, exist_ok=True)
    dest = os.path.join(sandbox_base(), "python-" + os.path.basename(install))
    if not os.path.exists(os.path.join(dest, ".complete")):
        tmp = dest + ".tmp-%d" % os.getpid()
        if subprocess.run(["cp", "-al", install, tmp]).returncode != 0:
            subprocess.run(["cp", "-a", install, tmp], check=True)
        for dirpath, _, _ in os.walk(tmp):
            os.chmod(dirpath, os.stat(dirpath).st_mode | 0o555)
        open(os.path.join(tmp, ".complete"), "w").close()
        shutil.rmtree(dest, ignore_errors=True)
        os.rename(tmp, dest)
    return os.path.join(dest, "bin", os.path.basename(python))


def test_setup_sh_existing_venv_mode(dist, tmp_path):
    root = tmp_path / "autograder"
    unpack_zip(dist[A1][1], str(root / "source"))
    # the venv as a path under /tmp (a kit checked out there), which the confined worker sees as empty
    kit_venv = tmp_path / "kit-venv"
    os.symlink(os.path.dirname(os.path.dirname(sys.executable)), kit_venv)
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_EXISTING_VENV=str(kit_venv))
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "grading environment ready" in proc.stdout, proc.stdout + proc.stderr
    assert os.path.islink(root / "venv")
    # the guide's recipe (section 12) goes on: the reference, run_autograder, full marks, even as
    # root with the root under /tmp (the worker then runs a mirror of the venv the link points to)
    (root / "submission").mkdir()
    for rel in KIT.assignment(A1).required_files:
        shutil.copy(KIT.path("solutions", A1, rel), root / "submission")
    proc = subprocess.run([str(root / "source" / "run_autograder")], env=dict(os.environ, AUTOGRADER_ROOT=str(root)),
                          capture_output=True, text=True, timeout=900)
    data = json.loads((root / "results" / "results.json").read_text())
    assert data["score"] == sum(t["max_score"] for t in data["tests"]) > 0, proc.stdout[-3000:]


def test_setup_sh_offline_wheelhouse_on_python310(dist, tmp_path):
    """setup.sh builds a grading venv from local wheels only; the reference then grades full marks on it.

    Uses a real Python 3.10 (Gradescope's version) when this machine has one, else this Python.
    """
    py = _python310() or sys.executable
    version = subprocess.run([py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    root = tmp_path / "autograder"
    source = root / "source"
    unpack_zip(dist[A1][1], str(source))
    wheels = tmp_path / "wheels"
    # the target interpreter's own pip, so environment markers are evaluated for its version
    dl = subprocess.run([py, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--only-binary=:all:",
                         "-d", str(wheels), "-r", str(source / "requirements.txt")],
                        capture_output=True, text=True, timeout=600)
    assert dl.returncode == 0, dl.stderr[-2000:]
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_WHEELHOUSE=str(wheels), PYTHON=py)
    libdir = os.path.join(os.path.dirname(os.path.dirname(py)), "lib")
    if "/agk-sandbox/python-" in py:  # a mirrored pyenv build: its libpython moved with it
        os.environ["AUTOGRADER_WORKER_LD_LIBRARY_PATH"] = libdir
    proc = subprocess.run(["bash", str(source / "setup.sh")], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "grading environment ready: Python %s" % version in proc.stdout
    venv_py = str(root / "venv" / "bin" / "python")
    has_torch = subprocess.run([venv_py, "-c", "import torch"], capture_output=True).returncode == 0
    assert not has_torch  # A1's grading venv holds only numpy + pytest
    sub = copy_reference(tmp_path / "sub")
    try:
        data = graded(str(source), sub, tmp_path, python=venv_py)
    finally:
        os.environ.pop("AUTOGRADER_WORKER_LD_LIBRARY_PATH", None)
    assert data["score"] == max_total(data) > 0, data["_log"]
    if _python310() is None:
        pytest.skip("graded on Python %s: no Python 3.10 interpreter on this machine" % version)
