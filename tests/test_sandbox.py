"""The sandbox (autograder.sandbox.Sandbox) against a small student package."""
import os
import re
import textwrap
import time

import numpy as np
import pytest

from autograder.sandbox import (BadReply, InputMutated, Sandbox, SandboxError, SandboxTimeout, StudentError,
                                WorkerCrashed)

GOOD = '''
import os
import sys

import numpy as np


def add(a, b=0):
    return a + b


def echo(*args, **kwargs):
    return [list(args), kwargs]


def fail(x):
    return _helper(x)


def _helper(x):
    raise ValueError("bad value %r" % (x,))


def numpy_fail():
    return np.linalg.inv(np.zeros((2, 2)))


def todo(x):
    """A starter stub."""
    raise NotImplementedError("stud.good.todo")


def spin():
    while True:
        pass


def hard_exit():
    os._exit(3)


def self_kill():
    import signal
    os.kill(os.getpid(), signal.SIGKILL)


def soft_exit():
    sys.exit(2)


def chatty():
    print("hello from student")
    raise RuntimeError("after printing")


def big(n):
    return np.zeros(n)


def weird():
    return object()


def scalar():
    return np.float64(1.5)


def inplace(x):
    x += 1
    return x


def inplace_second(a, b):
    b[0] = 99
    return a


def pure(x):
    return x + 1


def inplace_kw(x=None):
    x *= 2
    return None


def secret():
    return os.environ.get("AGK_SECRET")


def env_keys():
    return sorted(os.environ)


def fds():
    return sorted(os.listdir("/proc/self/fd"))


class BrokenMessage(Exception):
    def __str__(self):
        raise RuntimeError("no message for you")


def broken_message():
    raise BrokenMessage()


def forge_reply():
    """Write a malformed reply (an empty npy blob) on the reply pipe, then die."""
    import json
    import struct
    with open("../.kit/config.json") as fh:  # cwd is the scratch folder
        cfg = json.load(fh)
    n = struct.Struct(">Q")
    head = b'{"meta": {"ok": true, "printed": ""}, "value": {"nd": 0}}'
    frame = b"AGK1" + n.pack(len(head)) + head + n.pack(1) + n.pack(0)
    os.write(cfg["reply_fd"], n.pack(len(frame)) + frame)
    os._exit(0)
'''

BAD_SYNTAX = '''
"""A module with a syntax error on line 3."""
def f(:
    return 1
'''

HANG = '''
def f():
    return 1


while True:
    pass
'''


def line_of(text):
    """1-based line of ``text`` in stud/good.py."""
    lines = textwrap.dedent(GOOD).lstrip().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.fixture(scope="module")
def student_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("submission")
    pkg = root / "stud"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text(textwrap.dedent(GOOD).lstrip())
    (pkg / "other.py").write_text("def ok():\n    return 'other ok'\n")
    (pkg / "bad_syntax.py").write_text(BAD_SYNTAX.lstrip())
    (pkg / "hang.py").write_text(HANG.lstrip())
    return str(root)


@pytest.fixture
def sb(student_dir):
    with Sandbox(student_dir, call_timeout=10) as box:
        yield box


@pytest.fixture
def fast_sb(student_dir):
    with Sandbox(student_dir, call_timeout=1) as box:
        yield box


def test_returns_values(sb):
    assert sb.call("stud.good:add", 2, b=3) == 5
    out = sb.call("stud.good:add", np.arange(3), b=np.ones(3))
    assert isinstance(out, np.ndarray) and out.tolist() == [1.0, 2.0, 3.0]
    assert sb.call("stud.good:echo", (1, "a"), None, k=[1.5]) == [[(1, "a"), None], {"k": [1.5]}]
    assert sb.call("stud.other:ok") == "other ok"
    assert sb.restarts == 0


def test_student_exception_has_only_student_frames(sb, student_dir):
    with pytest.raises(StudentError) as info:
        sb.call("stud.good:fail", 3)
    err = info.value
    msg = str(err)
    assert err.exc_type == "ValueError" and not err.not_implemented
    assert msg.startswith("stud.good.fail raised ValueError: bad value 3")
    tb = err.info["traceback"].splitlines()
    good = os.path.join("stud", "good.py")
    assert [line for line in tb if line.startswith("  File")] == [
        '  File "%s", line %d, in fail' % (good, line_of("return _helper(x)")),
        '  File "%s", line %d, in _helper' % (good, line_of('raise ValueError("bad value')),
    ]
    assert "return _helper(x)" in msg
    for harness in ("autograder", "worker.py", "codec.py", "agk-worker", student_dir):
        assert harness not in msg


def test_library_frames_are_dropped_from_traceback(sb):
    with pytest.raises(StudentError) as info:
        sb.call("stud.good:numpy_fail")
    msg = str(info.value)
    assert "LinAlgError" in msg and "Singular matrix" in msg
    assert "in numpy_fail" in msg
    assert "numpy" + os.sep not in msg and "site-packages" not in msg


def test_not_implemented(sb):
    with pytest.raises(StudentError) as info:
        sb.call("stud.good:todo", 1)
    assert info.value.not_implemented
    assert str(info.value) == "not implemented: stud.good.todo"


def test_printed_output_is_captured(sb):
    with pytest.raises(StudentError) as info:
        sb.call("stud.good:chatty")
    assert "hello from student" in info.value.printed
    assert "RuntimeError: after printing" in str(info.value)


def test_syntax_error_at_import_names_file_and_line(sb):
    with pytest.raises(StudentError) as info:
        sb.call("stud.bad_syntax:f")
    msg = str(info.value)
    assert info.value.exc_type == "SyntaxError"
    assert msg.startswith("SyntaxError in %s, line 2:" % os.path.join("stud", "bad_syntax.py")), msg
    assert "def f(:" in msg
    # the worker survives an import failure
    assert sb.call("stud.good:add", 1, 1) == 2
    assert sb.restarts == 0


def test_missing_module_and_attribute(sb):
    with pytest.raises(StudentError, match=r"^could not import stud\.nope: No module named 'stud\.nope'"):
        sb.call("stud.nope:f")
    with pytest.raises(StudentError, match="AttributeError"):
        sb.call("stud.good:no_such_function")


def test_infinite_loop_times_out_and_worker_restarts(fast_sb):
    assert fast_sb.call("stud.good:add", 1) == 1  # imported, warm
    t0 = time.monotonic()
    with pytest.raises(SandboxTimeout) as info:
        fast_sb.call("stud.good:spin")
    assert time.monotonic() - t0 < 8
    assert "timed out after 1 s" in str(info.value)
    assert str(info.value).startswith("stud.good.spin")
    assert fast_sb.restarts == 1
    assert fast_sb.call("stud.good:add", 2, b=2) == 4  # a fresh worker, module imported again
    assert fast_sb.restarts == 1


def test_per_call_timeout_overrides_default(sb):
    with pytest.raises(SandboxTimeout, match="timed out after 0.5 s"):
        sb.call_with("stud.good:spin", timeout=0.5)


def test_module_whose_import_hangs_is_skipped_afterwards(fast_sb):
    with pytest.raises(SandboxTimeout) as info:
        fast_sb.call("stud.hang:f")
    assert "importing stud.hang timed out after 1 s" in str(info.value)
    for _ in range(3):
        t0 = time.monotonic()
        with pytest.raises(SandboxTimeout) as again:
            fast_sb.call("stud.hang:f")
        assert time.monotonic() - t0 < 0.5  # no second wait
        assert "calls into this module are skipped" in str(again.value)
    assert fast_sb.call("stud.other:ok") == "other ok"
    assert fast_sb.call("stud.good:add", 5) == 5


def test_os_exit_is_a_crash_and_next_call_works(sb):
    with pytest.raises(WorkerCrashed) as info:
        sb.call("stud.good:hard_exit")
    assert "exited with code 3" in str(info.value)
    assert str(info.value).startswith("stud.good.hard_exit")
    assert sb.restarts == 1
    assert sb.call("stud.good:add", 1, b=1) == 2


def test_killed_by_signal_is_a_crash(sb):
    with pytest.raises(WorkerCrashed, match="killed by signal SIGKILL"):
        sb.call("stud.good:self_kill")
    assert sb.call("stud.other:ok") == "other ok"


def test_sys_exit_is_a_student_error_and_worker_survives(sb):
    with pytest.raises(StudentError) as info:
        sb.call("stud.good:soft_exit")
    assert "sys.exit(2)" in str(info.value)
    assert info.value.exc_type == "SystemExit"
    assert sb.restarts == 0
    assert sb.call("stud.good:add", 3) == 3
    assert sb.restarts == 0


def test_exception_with_broken_str_is_a_student_error(sb):
    with pytest.raises(StudentError, match="BrokenMessage"):
        sb.call("stud.good:broken_message")


def test_reply_over_limit_is_bad_reply(student_dir):
    with Sandbox(student_dir, call_timeout=10, max_reply_bytes=10_000) as box:
        assert box.call("stud.good:big", 100).shape == (100,)
        with pytest.raises(BadReply) as info:
            box.call("stud.good:big", 100_000)
        assert "over the limit of 10000 bytes" in str(info.value)
        assert box.call("stud.good:add", 1, b=2) == 3


def test_unsupported_return_value_is_bad_reply(sb):
    with pytest.raises(BadReply, match="stud.good:weird returned a value that cannot be checked"):
        sb.call("stud.good:weird")
    assert sb.call("stud.good:add", 1) == 1


def test_numpy_scalar_return_is_0d(sb):
    out = sb.call("stud.good:scalar")
    assert isinstance(out, np.ndarray) and out.shape == () and out.item() == 1.5


def test_malformed_reply_is_bad_reply(sb):
    # student code writes a forged frame (an empty npy blob) straight onto the reply pipe
    with pytest.raises(BadReply, match="could not be read"):
        sb.call("stud.good:forge_reply")
    assert sb.call("stud.good:add", 1) == 1


def test_call_pure_detects_in_place_changes(sb):
    x = np.arange(3.0)
    with pytest.raises(InputMutated) as info:
        sb.call_pure("stud.good:inplace", x)
    assert "stud.good.inplace changed its input argument 1 in place" in str(info.value)
    assert x.tolist() == [0.0, 1.0, 2.0]  # the harness's own array is untouched
    with pytest.raises(InputMutated, match="argument 2 in place"):
        sb.call_pure("stud.good:inplace_second", np.zeros(2), np.zeros(2))
    out = sb.call_pure("stud.good:pure", x)
    assert out.tolist() == [1.0, 2.0, 3.0]
    # plain call() does not check
    assert sb.call("stud.good:inplace", np.zeros(2)).tolist() == [1.0, 1.0]


def test_call_pure_detects_in_place_change_of_keyword_argument(sb):
    with pytest.raises(InputMutated) as info:
        sb.call_pure("stud.good:inplace_kw", x=np.ones(3))
    assert re.search(r"argument '?x'? in place", str(info.value)), str(info.value)


def test_worker_does_not_inherit_harness_environment(student_dir, monkeypatch):
    monkeypatch.setenv("AGK_SECRET", "x")
    with Sandbox(student_dir) as box:
        assert box.call("stud.good:secret") is None
        keys = box.call("stud.good:env_keys")
    assert "AGK_SECRET" not in keys
    assert not [k for k in keys if k.startswith(("PYTEST", "VIRTUAL_ENV"))]


def test_worker_sees_only_its_pipes(sb):
    extra = os.open(os.devnull, os.O_RDONLY)  # an fd of the harness, which must not leak
    os.set_inheritable(extra, True)
    try:
        fds = sb.call("stud.good:fds")
    finally:
        os.close(extra)
    assert {"0", "1", "2"} <= set(fds)
    assert len(fds) <= 6, fds


def test_deadline_in_the_past_fails_at_once(sb):
    sb.deadline = time.monotonic() - 1
    sb.deadline_reason = "the test's 5 s limit"
    t0 = time.monotonic()
    with pytest.raises(SandboxTimeout) as info:
        sb.call("stud.good:add", 1)
    assert time.monotonic() - t0 < 0.5
    assert "stopped: the test's 5 s limit was reached" in str(info.value)
    sb.deadline = None
    assert sb.call("stud.good:add", 1) == 1  # not remembered as a hanging module


def test_deadline_shorter_than_call_timeout_stops_the_call(sb):
    assert sb.call("stud.good:add", 1) == 1
    sb.deadline = time.monotonic() + 0.5
    with pytest.raises(SandboxTimeout, match="stopped: the time limit was reached"):
        sb.call("stud.good:spin")
    sb.deadline = None
    assert sb.call("stud.good:add", 2) == 2


def test_exceptions_are_sandbox_errors():
    for cls in (StudentError, InputMutated, SandboxTimeout, WorkerCrashed, BadReply):
        assert issubclass(cls, SandboxError)
