"""The pre-imported template (autograder/sandbox/template.py): pytest and the workers are forked from a
clean interpreter that imported the heavy modules once, instead of starting interpreters.

What must hold: the grade is the same as with exec; every grading still gets fresh, confined processes;
nothing of one grading (its request, environment, seed) reaches a worker of another; a worker under
an import rule is never forked from a template that imported the forbidden module.
"""
import json
import os
import subprocess
import sys

import pytest

from conftest import A1_FILE, break_function, build_tree, by_name, copy_reference, graded, max_total, \
    reference_text, write_submission
from autograder import sandbox as sandbox_mod
from autograder.config import load_file
from autograder.harness import start_templates, template_sets, templates_env
from autograder.sandbox import isolation, template as tpl

ROOT = os.geteuid() == 0
#: a venv the sandbox uid cannot reach (a checkout under /tmp or /root) is mirrored for the workers, whose
#: interpreter is then not the template's: they start by exec from the mirror (pytest is still forked)
WORKERS_FORK = not (ROOT and isolation.needs_mirror(sys.executable))


def _workers_started_right(workers, at_least=1):
    if WORKERS_FORK:
        return workers["fork"] >= at_least and workers["exec"] == 0
    return workers["exec"] >= at_least and workers["fork"] == 0


@pytest.fixture(scope="module")
def a1_source(tmp_path_factory):
    return build_tree(tmp_path_factory.mktemp("tpl-a1") / "source")


@pytest.fixture(scope="module")
def shared(a1_source):
    """The templates a self-check or a batch starts for A1's tree, shared by the gradings below."""
    templates = start_templates(a1_source, load_file(os.path.join(a1_source, "assignment.json")))
    assert templates and all(t.ready() for t in templates), [open(os.path.join(t.directory, "template.log")).read()
                                                            for t in templates]
    yield templates
    for t in templates:
        t.close()


def _processes(data):
    extra = data["extra_data"]
    return extra.get("pytest", {}).get("started_by"), extra.get("workers", {})


def test_a_grading_forks_pytest_and_its_workers_and_grades_as_exec_does(a1_source, shared, tmp_path, monkeypatch):
    sub = copy_reference(tmp_path / "sub")
    forked = graded(a1_source, sub, tmp_path, seed=11, env=templates_env(shared))
    how, workers = _processes(forked)
    assert how == "fork" and _workers_started_right(workers, 2), (how, workers, forked["_log"][-2000:])
    monkeypatch.setenv("AUTOGRADER_NO_TEMPLATE", "1")
    execd = graded(a1_source, sub, tmp_path, seed=11)
    how, workers = _processes(execd)
    assert how == "exec" and workers["fork"] == 0 and workers["exec"] >= 2, (how, workers)
    assert forked["score"] == execd["score"] == max_total(forked)
    assert [(t["name"], t["score"], t["output"]) for t in forked["tests"]] == \
           [(t["name"], t["score"], t["output"]) for t in execd["tests"]]


def _template_processes(directory):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as fh:
                if directory.encode() in fh.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def test_a_grading_without_a_shared_template_starts_and_stops_its_own(a1_source, tmp_path):
    data = graded(a1_source, copy_reference(tmp_path / "sub"), tmp_path)
    run = data["extra_data"]["pytest"]
    assert run["started_by"] == "fork" and run["own_templates"] and data["score"] == max_total(data)
    assert "processes: pytest fork" in data["_log"]
    for directory in run["templates"]:  # closed: no process left, folder removed
        assert not os.path.exists(directory) and not _template_processes(directory), directory


def test_mistakes_lose_the_same_points_forked_or_execd(a1_source, shared, tmp_path, monkeypatch):
    text = break_function(reference_text(), "softmax", "    return np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)")
    sub = write_submission(tmp_path / "sub", text)
    forked = graded(a1_source, sub, tmp_path, seed=5, env=templates_env(shared))
    monkeypatch.setenv("AUTOGRADER_NO_TEMPLATE", "1")
    execd = graded(a1_source, sub, tmp_path, seed=5)
    assert forked["score"] == execd["score"] < max_total(forked)
    assert {n: t["score"] for n, t in by_name(forked).items()} == {n: t["score"] for n, t in by_name(execd).items()}


#: student code that reads its own process: uid, descriptors, RNG state, and every anonymous
#: writable mapping, heap and stack, for an environment or JSON entry holding a hidden seed
PROBE = r'''
    import os, re, sys
    global _FOUND
    if "_FOUND" not in globals():
        seeds, control = set(), False
        pat = re.compile(rb"AUTOGRADER_HIDDEN_SEED(?:=|\x22: \x22)([0-9]{1,12})")
        own = re.compile(rb"TMPDIR=/")
        with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
            for line in maps:
                parts = line.split()
                name = parts[5] if len(parts) > 5 else ""
                if "rw" not in parts[1] or name not in ("", "[heap]", "[stack]"):
                    continue
                lo, hi = (int(v, 16) for v in parts[0].split("-"))
                try:
                    mem.seek(lo)
                    chunk = mem.read(hi - lo)
                except (OSError, ValueError, OverflowError):
                    continue
                seeds.update(m.group(1).decode() for m in pat.finditer(chunk))
                control = control or bool(own.search(chunk))
        import numpy
        _FOUND = "uid=%d fds=%s seeds=%s control=%s np=%d" % (
            os.getuid(), ",".join(sorted(os.listdir("/proc/self/fd"), key=int)), ",".join(sorted(seeds)) or "none",
            control, int(numpy.random.randint(1 << 30)))
    raise RuntimeError("PROBE " + _FOUND)'''


def _probe_lines(data):
    out = []
    for t in data["tests"]:
        for line in t["output"].splitlines():
            if "PROBE uid=" in line:
                out.append(line[line.index("PROBE uid="):].split("\n")[0])
    return out


@pytest.mark.skipif(not ROOT, reason="the confined worker (own uid, namespaces) needs root")
def test_a_forked_worker_is_confined_and_holds_nothing_of_another_grading(a1_source, shared, tmp_path):
    secret = 987654321
    first = graded(a1_source, copy_reference(tmp_path / "first"), tmp_path, seed=secret, env=templates_env(shared))
    assert first["extra_data"]["hidden_seed"] == secret
    data = graded(a1_source, write_submission(tmp_path / "probe", break_function(reference_text(), "sigmoid", PROBE)),
                  tmp_path, seed=123456789, env=templates_env(shared))
    lines = _probe_lines(data)
    workers = _processes(data)[1]
    assert lines and _workers_started_right(workers), data["_log"][-2000:]
    for line in lines:
        fields = dict(kv.split("=", 1) for kv in line.split()[1:])
        assert int(fields["uid"]) != 0 and int(fields["uid"]) != os.getuid()
        assert fields["control"] == "True", line  # the scan works: it finds the worker's own environment
        assert fields["seeds"] == "none", line    # neither the other grading's seed nor this one's
        fds = [int(fd) for fd in fields["fds"].split(",")]
        assert len(fds) <= 6, line  # stdin/out/err, its two pipes, the one /proc file it reads
    draws = {dict(kv.split("=", 1) for kv in line.split()[1:])["np"] for line in lines}
    # each worker (one per visibility class here) draws a fresh global NumPy seed, as a new interpreter does
    assert len(draws) == workers["fork"] + workers["exec"] >= 2, lines


@pytest.mark.skipif(not ROOT, reason="a worker that cannot reach the template needs its own uid")
def test_the_template_refuses_another_user(shared):
    directory = shared[0].directory
    assert os.stat(directory).st_mode & 0o077 == 0
    code = ("import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
            "try:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e: print('refused', e.errno)")
    out = subprocess.run([sys.executable, "-c", code, os.path.join(directory, tpl.SOCKET)], capture_output=True,
                         text=True, preexec_fn=lambda: (os.setgid(61990), os.setuid(61990)))
    assert out.stdout.startswith("refused"), out.stdout + out.stderr


@pytest.mark.skipif(not ROOT, reason="a request from another uid needs root to make that uid")
def test_a_request_from_another_uid_is_refused_by_the_child(a1_source, tmp_path):
    """Even if the folder's permissions slipped, the child checks the peer's uid (SO_PEERCRED) before it
    reads a request: a stranger asking for an unconfined worker gets an error and nothing runs."""
    t = tpl.Template(a1_source, ["numpy"])
    try:
        assert t.ready()
        os.chmod(t.directory, 0o711)
        os.chmod(os.path.join(t.directory, tpl.SOCKET), 0o666)
        marker = tmp_path / "ran"
        code = ("import json,socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(sys.argv[1])\n"
                "s.send(json.dumps({'kind': 'pytest', 'env': {}, 'cwd': '/', 'args': ['--version'],"
                " 'path': []}).encode())\n"
                "print([json.loads(s.recv(65536)) for _ in range(3)])")
        out = subprocess.run([sys.executable, "-c", code, os.path.join(t.directory, tpl.SOCKET)], capture_output=True,
                             text=True, timeout=60, preexec_fn=lambda: (os.setgid(61990), os.setuid(61990)))
    finally:
        t.close()
    assert "only the template's own user may ask it for a process" in out.stdout, out.stdout + out.stderr
    assert "pytest" not in out.stdout.replace("'pytest'", "") and not marker.exists()


def test_a_worker_under_an_import_rule_is_never_forked_from_a_template_that_imported_the_module(tmp_path):
    """A3-like tree: the main template imports torch; a rule forbids torch in one file: that file's worker
    comes from the light template, and the rule still holds however the import is written."""
    source = build_tree(tmp_path / "source")
    path = os.path.join(source, "assignment.json")
    with open(path) as fh:
        cfg = json.load(fh)
    cfg["grader_packages"] = ["numpy", "pytest", "torch"]
    cfg["forbid_imports"] = [{"files": [A1_FILE], "modules": ["torch"], "reason": "assignment 1 is NumPy only"}]
    with open(path, "w") as fh:
        json.dump(cfg, fh)
    a = load_file(path)
    assert template_sets(a) == [["numpy", "torch", "pytest", "autograder.plugin"], ["numpy"]]
    templates = start_templates(source, a)
    try:
        infos = [tpl.info(t.directory) for t in templates]
        assert "torch" in infos[0]["modules"] and "torch" not in infos[1]["modules"]
        assert not tpl.can_fork_worker(templates[0].directory, sys.executable, ["torch"])
        assert tpl.can_fork_worker(templates[1].directory, sys.executable, ["torch"])
        text = break_function(reference_text(), "sigmoid", "    _t = __import__('sys').modules.get('torch') or "
                                                           "__import__('tor' + 'ch')\n    return 1.0 / (1.0 + np.exp(-x))")
        data = graded(source, write_submission(tmp_path / "sub", text), tmp_path, env=templates_env(templates))
    finally:
        for t in templates:
            t.close()
    assert _workers_started_right(_processes(data)[1]), data["extra_data"]
    sig = [t for t in data["tests"] if "sigmoid" in t["name"].lower()]
    assert sig and any("torch may not be imported by neural_nets/functional.py" in t["output"] for t in sig)


def _guard_case(tmp_path):
    pkg = tmp_path / "sub" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "rulefile.py").write_text("def f():\n    import torch\n    return int(torch.ones(1).sum())\n")
    (pkg / "other.py").write_text("from . import rulefile\n\ndef g():\n    return rulefile.f()\n\n"
                                  "def h():\n    import torch\n    return int(torch.ones(2).sum())\n")
    return str(tmp_path / "sub")


def test_a_guarded_module_the_template_imported_is_still_refused_while_a_rule_file_runs(tmp_path, a1_source):
    """The main worker of a torch template holds torch already (no audit event on import): the import
    statement itself checks the rule, so part-1 code reached from part-2 code still cannot use torch."""
    t = tpl.Template(a1_source, ["numpy", "torch"])
    try:
        assert t.ready()
        guarded = [{"files": ["pkg/rulefile.py"], "modules": ["torch"], "message": "{module} may not be imported here"}]
        with sandbox_mod.Sandbox(_guard_case(tmp_path), template=t.directory, guarded=guarded) as sb:
            assert sb.call("pkg.other:h") == 2  # other files may import it
            assert sb.started_by == "fork"
            with pytest.raises(sandbox_mod.StudentError, match="torch may not be imported here"):
                sb.call("pkg.other:g")
    finally:
        t.close()


def test_without_a_template_or_when_it_is_gone_workers_start_by_exec(tmp_path, a1_source):
    t = tpl.Template(a1_source, ["numpy"])
    assert t.ready()
    directory = t.directory
    t.close()
    with sandbox_mod.Sandbox(_guard_case(tmp_path), template=directory) as sb:
        assert sb.call("pkg.other:h") == 2
        assert sb.started_by == "exec"


def test_the_harness_starts_without_numpy():
    """The harness runs once per grading (hundreds of times in a self-check) and compares no values: it
    imports neither NumPy nor torch (0.15 CPU-s saved per grading)."""
    code = "import sys, autograder.harness; print(sorted(m for m in ('numpy', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stdout + out.stderr
