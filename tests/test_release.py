"""Release builds: zip contents, no leaks, the student's local run, setup.sh, Python 3.10."""
import glob
import json
import os
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import pins
from autograder.build import BuildError, build_zips, check_student_tree, unpack_zip
from autograder.config import _load_toml
from autograder.markers import normalize, solution_blocks
from autograder.results import validate_schema
from autograder.selfcheck import all_ok, check_assignment, format_report

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
def test_student_zip_has_no_solution_text_or_hidden_tests(dist, aid):
    names = _zip_names(dist[aid][0])
    assert all(n.startswith(aid + "/") for n in names)
    assert not [n for n in names if "/hidden/" in n or "__pycache__" in n or ".ipynb_checkpoints" in n
                or n.endswith(".pyc") or "mistakes.toml" in n or n.endswith("/salt")]
    blocks = []
    for path in glob.glob(KIT.path("solutions", aid, "**", "*.py"), recursive=True):
        with open(path) as fh:
            blocks += solution_blocks(fh.read(), path)
    assert blocks, "the reference has solution regions"
    with zipfile.ZipFile(dist[aid][0]) as zf:
        texts = [normalize(zf.read(n).decode("utf-8", "replace")) for n in names]
    leaks = [b for b in blocks if any(b in t for t in texts)]
    assert not leaks


def test_leak_check_refuses_solution_text(student_release, tmp_path):
    copy = tmp_path / "release"
    shutil.copytree(student_release, copy)
    with open(copy / A1_FILE, "w") as fh:
        fh.write(reference_text())
    with pytest.raises(BuildError, match="contains solution text"):
        check_student_tree(KIT, A1, str(copy))


def test_leak_check_refuses_notebook_answers(student_release, tmp_path):
    copy = tmp_path / "release"
    shutil.copytree(student_release, copy)
    shutil.copy(KIT.path("assignments", A1, "a1_neural_nets.ipynb"), copy / "a1_neural_nets.ipynb")
    with pytest.raises(BuildError, match="a1_neural_nets.ipynb contains solution text"):
        check_student_tree(KIT, A1, str(copy))
    check_student_tree(KIT, A1, student_release)  # the real release passes


def test_student_zip_contents(dist):
    names = set(_zip_names(dist[A1][0]))
    for rel in ("README.md", "assignment.json", "conftest.py", "pytest.ini", "requirements.txt", "a1_neural_nets.ipynb",
                "collect_submission.py", A1_FILE, "tests/public/test_functional.py", "autograder/plugin.py",
                "autograder/sandbox/worker.py"):
        assert "%s/%s" % (A1, rel) in names


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


def test_release_self_check_on_built_zips(dist, tmp_path):
    reports = [check_assignment(KIT, aid, zip_path=dist[aid][1]) for aid in KIT.assignment_ids()]
    assert all_ok(reports), format_report(reports)
    a1 = reports[0]
    assert len(a1["mistakes"]) >= 6
    for report in reports:  # the handout's points table adds up to what the grader awards
        with open(KIT.path("assignments", report["assignment"], "handout.md"), encoding="utf-8") as fh:
            total = [ln for ln in fh if ln.startswith("| **total**")]
        assert total, "%s: handout.md has no '| **total** |' row in its points table" % report["assignment"]
        public, hidden = [float(c.strip(" *") or 0) for c in total[0].strip().strip("|").split("|")[-2:]]
        assert public + hidden == report["reference"].max_score, (report["assignment"], public, hidden)


def test_every_catalogued_mistake_is_caught_and_named():
    report = check_assignment(KIT, A1)
    assert report["reference"].ok and report["starter"].ok, format_report([report])
    for m in report["mistakes"]:
        assert m.ok, m.problems
        assert m.score < m.max_score


def test_local_public_run_matches_gradescope(student_release, a1_tree, tmp_path):
    """A student's `pytest` in the unzipped release gives the public results Gradescope gives."""
    work = tmp_path / "release"
    shutil.copytree(student_release, work)
    text = reference_text().replace("return float(-np.mean(np.log(correct)))",
                                    "return float(-np.sum(np.log(correct)))")
    write_submission(work, text)
    proc = subprocess.run([sys.executable, "-m", "pytest", "--results", "local.json"], cwd=work,
                          capture_output=True, text=True, timeout=300)
    assert "total:" in proc.stdout and "pytest --seed" in proc.stdout, proc.stdout + proc.stderr
    with open(work / "local.json") as fh:
        local = json.load(fh)
    validate_schema(local)
    gs = graded(a1_tree, write_submission(tmp_path / "sub", text), tmp_path)
    public = [t for t in gs["tests"] if t["visibility"] == "visible"]
    assert [(t["name"], t["score"], t["output"]) for t in local["tests"]] == \
           [(t["name"], t["score"], t["output"]) for t in public]
    assert local["extra_data"]["seed"] == gs["extra_data"]["seed"]
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


def test_shipped_code_is_python310_compatible(student_release, dist, tmp_path):
    ag = tmp_path / "ag"
    unpack_zip(dist[A1][1], str(ag))
    vermin = os.path.join(os.path.dirname(sys.executable), "vermin")
    proc = subprocess.run([vermin, "-t=3.10-", "--violations", "--no-tips",
                           student_release, str(ag)], capture_output=True, text=True)
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
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_EXISTING_VENV=os.path.dirname(os.path.dirname(sys.executable)))
    proc = subprocess.run(["bash", str(root / "source" / "setup.sh")], env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "grading environment ready" in proc.stdout, proc.stdout + proc.stderr
    assert os.path.islink(root / "venv")


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
