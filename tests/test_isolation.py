"""Worker confinement helpers (autograder/sandbox/isolation.py)."""
import os
import shutil
import sys

import pytest

from autograder.sandbox import Sandbox, SandboxError, isolation


def test_paths_under_private_tmpfs_need_a_mirror():
    """The confined worker sees /tmp, /var/tmp and /dev/shm as empty: a venv there must be mirrored."""
    assert isolation.needs_mirror("/tmp/anything/venv/bin/python")
    assert isolation.needs_mirror("/var/tmp/v/bin/python")
    assert isolation.under_masked("/dev/shm/x") and not isolation.under_masked("/var/lib/agk-sandbox/x")
    assert not isolation.under_masked("/tmpfoo/bin/python")


@pytest.mark.skipif(not isolation.is_root(), reason="confinement needs a root harness")
def test_masked_interpreter_fails_loudly_not_as_root(tmp_path_factory):
    """An interpreter path under /tmp would vanish in the worker's namespace: say so, run nothing."""
    link_dir = "/tmp/agk-test-masked-python"
    os.makedirs(link_dir, exist_ok=True)
    link = os.path.join(link_dir, "python")
    if not os.path.lexists(link):
        os.symlink(sys.executable, link)
    sub = "/var/lib/agk-sandbox/test-masked"
    os.makedirs(os.path.join(sub, "pkg"), exist_ok=True)
    with open(os.path.join(sub, "pkg", "__init__.py"), "w") as fh:
        fh.write("def ok():\n    return 1\n")
    confinement = isolation.Confinement()
    try:
        if not confinement.private_tmp:
            pytest.skip("no mount namespaces here, so /tmp is not masked")
        sb = Sandbox(sub, python=link, confinement=confinement)
        with pytest.raises(SandboxError, match="cannot run .* Student code was NOT run as root"):
            sb.call("pkg:ok")
        sb.close()
        mirrored = isolation.reachable_python(os.path.join(os.path.dirname(os.path.dirname(sys.executable)),
                                                           "bin", "python"))
        assert not isolation.under_masked(mirrored)
    finally:
        confinement.release()
        os.unlink(link)
        os.rmdir(link_dir)
        shutil.rmtree(sub, ignore_errors=True)


# ---------------------------------------------------------------- gradings, tests and workers kept apart
import glob  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402

from conftest import break_function, build_tree, copy_reference, graded, reference_text, \
    write_submission  # noqa: E402

needs_root = pytest.mark.skipif(not isolation.is_root(), reason="confinement needs a root harness")

SECRET = 12345.678
LOGGER = '''
_LOG = []
def _remember(x):
    import os
    _LOG.append("%.3f" % float(np.max(x)))
    for path in ("agk-log.txt", "/tmp/agk-log.txt", os.path.expanduser("~/agk-log2.txt")):
        try:
            with open(path, "a") as fh:
                fh.write(_LOG[-1] + "\\n")
        except OSError:
            pass
def _recall():
    import os
    seen = list(_LOG)
    for path in ("agk-log.txt", "/tmp/agk-log.txt", os.path.expanduser("~/agk-log2.txt")):
        try:
            seen += open(path).read().split()
        except OSError:
            pass
    return " ".join(seen)
'''
SECRET_TEST = '''import numpy as np

from autograder import graded, sandbox


@graded(points=1)
def test_secret_input():
    """a hidden test whose input students must not see before publication"""
    sandbox.call("neural_nets.functional:sigmoid", np.full((2, 2), %r))
''' % SECRET


def _logging_submission(dest):
    text = reference_text().replace("import numpy as np\n", "import numpy as np\n" + LOGGER, 1)
    text = break_function(text, "sigmoid", "    _remember(x)\n    return 1.0 / (1.0 + np.exp(-x))")
    text = break_function(text, "relu", '    raise ValueError("calls seen so far: " + _recall())')
    return write_submission(dest, text)


def _leaks(tmp_path):
    source = build_tree(tmp_path / "source")
    with open(os.path.join(source, "tests", "hidden", "test_aaa_secret_hidden.py"), "w") as fh:
        fh.write(SECRET_TEST)
    data = graded(source, _logging_submission(tmp_path / "sub"), tmp_path)
    shown = [t for t in data["tests"] if t["visibility"] == "visible"]
    assert any("calls seen so far" in t["output"] for t in shown), "the relu probe never reported"
    return [t["name"] for t in shown if "%.3f" % SECRET in t["output"]]


def test_nothing_of_a_hidden_test_reaches_a_visible_one(tmp_path):
    """Student code logs every input (memory, cwd, /tmp, HOME) and shows the log in later failures:
    visible tests run first, and hidden ones in fresh workers, so the log a student sees holds
    public inputs only."""
    assert _leaks(tmp_path) == []


def test_visibility_workers_have_teeth(tmp_path, monkeypatch):
    """Without the per-visibility workers (collection order: tests/hidden before tests/public, one
    worker), the hidden test's secret input shows up in visible outputs."""
    monkeypatch.setenv(isolation.DISABLE_VAR, "visibility-workers")
    assert _leaks(tmp_path)


SPY = '''
def _spy():
    import glob, time
    me = __file__
    end = time.time() + 6
    while time.time() < end:
        for path in glob.glob("/var/lib/agk-sandbox/*/*/submission/neural_nets/functional.py"):
            try:
                text = open(path).read()
            except OSError:
                continue
            if ("SECRET-B-" + "MARKER") in text:
                return "read another grading: " + path
        time.sleep(0.2)
    return ""
_FOUND = _spy()
'''


def _concurrent(tmp_path):
    source = build_tree(tmp_path / "source")
    other = copy_reference(tmp_path / "b")
    path = os.path.join(other, "neural_nets", "functional.py")
    with open(path, "a") as fh:
        # the sleep keeps grading B's folder in place while A looks for it: the two gradings overlap, so the
        # teeth test cannot pass or fail by B finishing first on a loaded machine
        fh.write("\n# SECRET-B-MARKER\nimport time as _time\n_time.sleep(4)\n")
    spy = reference_text().replace("import numpy as np\n", "import numpy as np\n" + SPY, 1)
    spy = break_function(spy, "sigmoid", "    if _FOUND:\n        raise ValueError(_FOUND)\n"
                                         "    return 1.0 / (1.0 + np.exp(-x))")
    spy_dir = write_submission(tmp_path / "a", spy)
    before = set(glob.glob("/var/lib/agk-sandbox/agk-grading-*"))
    out = {}
    tb = threading.Thread(target=lambda: out.setdefault("b", graded(source, other, tmp_path / "gb")))
    (tmp_path / "gb").mkdir()
    (tmp_path / "ga").mkdir()
    tb.start()
    end = time.time() + 60
    while time.time() < end and not [p for p in glob.glob("/var/lib/agk-sandbox/agk-grading-*/agk-worker-*")
                                     if os.path.dirname(p) not in before]:
        time.sleep(0.05)
    out["a"] = graded(source, spy_dir, tmp_path / "ga")
    tb.join()
    return [t["output"] for t in out["a"]["tests"] if "read another grading" in t["output"]]


@needs_root
def test_concurrent_gradings_cannot_read_each_other(tmp_path):
    """As in `batch --workers 2`: a submission that searches the sandbox base for another
    grading's files finds none (each grading's folder belongs to its own uid's group)."""
    assert _concurrent(tmp_path) == []


@needs_root
def test_private_grading_folders_have_teeth(tmp_path, monkeypatch):
    monkeypatch.setenv(isolation.DISABLE_VAR, "private-folders")
    assert _concurrent(tmp_path)


DAEMON = '''
def _daemon():
    import os, sys
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(300)  # agk-daemon-marker"])
        os._exit(0)
'''


def _daemons():
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and b"agk-daemon-marker" in open("/proc/%s/cmdline" % pid, "rb").read():
                found.append(int(pid))
        except OSError:
            pass
    return found


def _pytest_children():
    """The harness's pytest processes: started by exec (a child whose command line runs pytest) or forked
    by the harness's template (a grandchild named agk-pytest)."""
    me, parents, kids = os.getpid(), {}, []
    for pid in os.listdir("/proc"):
        try:
            if not pid.isdigit():
                continue
            stat = open("/proc/%s/stat" % pid).read()
            parents[int(pid)] = (int(stat.rsplit(")", 1)[1].split()[1]), stat[stat.index("(") + 1:stat.rindex(")")])
        except (OSError, ValueError, IndexError):
            pass
    for pid, (ppid, comm) in parents.items():
        grand = parents.get(ppid, (None, ""))[0]
        try:
            if comm == "agk-pytest" and grand == me:
                kids.append(pid)
            elif ppid == me and comm != "agk-template" and b"-m\0pytest" in open("/proc/%d/cmdline" % pid, "rb").read():
                kids.append(pid)
        except OSError:
            pass
    return kids


def _grade_and_kill_pytest(tmp_path):
    from autograder import harness

    source = build_tree(tmp_path / "source")
    text = reference_text().replace("import numpy as np\n", "import numpy as np\n" + DAEMON, 1)
    # the call that starts the daemon is still running when pytest dies (a finished call's strays
    # are killed at once by the sandbox itself)
    text = break_function(text, "sigmoid", "    _daemon()\n    import time\n    time.sleep(60)")
    sub = write_submission(tmp_path / "sub", text)
    before = set(glob.glob("/var/lib/agk-sandbox/agk-grading-*"))
    result = {}
    t = threading.Thread(target=lambda: result.setdefault(
        "data", harness.grade(source, sub, str(tmp_path / "results" / "results.json"))))
    t.start()
    end = time.time() + 120
    while time.time() < end and not _daemons():
        time.sleep(0.05)
    assert _daemons(), "the daemon never started"
    for pid in _pytest_children():  # as an OOM kill would
        os.kill(pid, 9)
    t.join()
    left = _daemons()
    folders = set(glob.glob("/var/lib/agk-sandbox/agk-grading-*")) - before
    return result["data"], left, folders


@needs_root
def test_harness_cleans_up_after_a_killed_pytest(tmp_path):
    """pytest dies mid-grading: the harness still kills every process of the grading's uid and
    removes its folder, and leaves a valid results.json."""
    data, left, folders = _grade_and_kill_pytest(tmp_path)
    assert not left and not folders, (left, folders)
    assert "score" in data


@needs_root
def test_harness_cleanup_has_teeth(tmp_path, monkeypatch):
    monkeypatch.setenv(isolation.DISABLE_VAR, "harness-cleanup")
    data, left, folders = _grade_and_kill_pytest(tmp_path)
    try:
        assert left and folders
    finally:
        for pid in left:
            os.kill(pid, 9)
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


@needs_root
def test_mirror_of_a_linked_venv_is_the_venv_itself(tmp_path):
    """setup.sh's AUTOGRADER_EXISTING_VENV makes $ROOT/venv a link; a mirror must copy what it
    points to, not the link (a copied link into /tmp leads where the worker cannot go)."""
    venv = os.path.dirname(os.path.dirname(sys.executable))
    link = tmp_path / "venv"
    os.symlink(venv, link)
    mirrored = isolation.mirror_venv(str(link / "bin" / "python"), dest_root=str(tmp_path / "mirrors"))
    top = os.path.dirname(os.path.dirname(mirrored))
    assert not os.path.islink(top) and os.path.isfile(os.path.join(top, "pyvenv.cfg"))
