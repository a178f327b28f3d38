"""A pre-imported template that forks fresh grader and worker processes (a fork server).

Starting an interpreter that imports NumPy and torch costs seconds of CPU; a grading used to do it
once for pytest and once for every worker it started (a restart at each visibility boundary, after
a timeout, for ``fresh_worker()``, for an import rule's own worker). The template is a fresh
interpreter (``python -I -B template.py DIR LIFELINE``, the modules listed in DIR/modules, started with a
clean environment by
``Template``) that imports those modules once, before any grading exists, and then only forks:

- ``kind = "pytest"``: a child that becomes the harness's pytest process (trusted code: the tests);
- ``kind = "worker"``: a child that confines itself exactly as an exec'd worker does (namespaces,
  private tmpfs, rlimits, the sandbox uid, no_new_privs, seccomp: ``isolation.confine``) and then
  runs the worker loop on the pipes it was handed;
- ``kind = "check"``: a child confined the same way that checks the sandbox uid can read the
  interpreter and the imported packages (what ``check_python_reachable`` checks for an exec'd worker).

What keeps it safe:

- The template reads nothing of any request: it accepts a connection and forks at once; the child
  reads the request (environment, paths, the pipes as file descriptors). So the template's memory,
  which every child starts from, holds imported libraries and nothing of any grading, test, seed or
  student; one child's data never reaches another.
- Its socket lies in a folder only the template's user can enter (0700), and the child checks the
  peer's uid (SO_PEERCRED) before it reads the request: a worker, which runs as a sandbox uid, can
  neither reach it nor be served by it. A worker child closes every descriptor but its two pipes and
  its log before it runs student code.
- It forks only while single-threaded (checked after the imports; otherwise it says so and
  everyone falls back to exec). A worker is never forked from a template that has imported a module
  the worker's import rule forbids (an imported module would bypass the rule's audit hook): the
  caller checks ``modules.json`` and starts such a worker by exec, as before.
- It dies with its owner (a lifeline pipe, and PR_SET_PDEATHSIG).

The protocol (SOCK_SEQPACKET, one JSON object per message): the client sends the request with its
file descriptors; the template answers ``{"pid": N}`` and, when the child ends, ``{"exit": status}``;
the child answers ``{"ready": true}`` once it is set up, or ``{"error": "..."}``.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time

MSG = 1 << 20
SOCKET = "template.sock"
READY = "modules.json"
FAILED = "failed"
#: how long a client waits for a template that is still importing
READY_TIMEOUT = 300.0


class TemplateError(RuntimeError):
    """The template cannot serve this request (the caller falls back to starting an interpreter)."""


# ================================================================== client side
def info(directory: str, timeout: float = READY_TIMEOUT) -> dict | None:
    """The template's description once it is ready (modules, executable, source), or None if it failed."""
    end = time.monotonic() + timeout
    ready, failed = os.path.join(directory, READY), os.path.join(directory, FAILED)
    while True:
        if os.path.exists(ready):
            try:
                with open(ready, encoding="utf-8") as fh:
                    return json.load(fh)
            except (OSError, ValueError):
                pass
        if os.path.exists(failed) or not os.path.isdir(directory) or time.monotonic() > end or not _alive(directory):
            return None
        time.sleep(0.02)


def _alive(directory: str) -> bool:
    """False once the template that wrote ``directory``/pid is gone (it died before it was ready)."""
    try:
        with open(os.path.join(directory, "pid"), encoding="utf-8") as fh:
            pid = int(fh.read())
    except (OSError, ValueError):
        return True  # not started yet
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return os.path.exists(os.path.join(directory, READY))
    except PermissionError:
        pass
    return True


def can_fork_worker(directory: str, python: str, banned=()) -> bool:
    """Whether a worker for ``python`` with these forbidden modules may come from this template."""
    desc = info(directory)
    if not desc:
        return False
    if _venv_path(python) != _venv_path(desc.get("executable", "")):
        return False
    loaded = set(desc.get("modules", ()))
    return not any(m.split(".")[0] in loaded for m in banned)


def _venv_path(python: str) -> str:
    """An interpreter's path with its folders resolved but not the file: a venv's bin/python links to the
    base interpreter, and two venvs (say, one and its world-readable mirror) must not compare equal."""
    return os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(python))), os.path.basename(python))


class Child:
    """A forked child, watched through its connection (the template reports its exit); it offers
    the part of ``subprocess.Popen`` the sandbox and the harness use."""

    def __init__(self, conn: socket.socket, pid: int, returncode=None):
        self.conn = conn
        self.pid = pid
        self.returncode = returncode
        #: CPU seconds the child used (known once it has ended), for the benchmarks and diagnostics
        self.cpu = None

    def _read(self, timeout: float | None) -> None:
        if self.returncode is not None or self.conn is None:
            return
        r, _, _ = select.select([self.conn], [], [], timeout)
        if not r:
            return
        try:
            data = self.conn.recv(MSG)
        except OSError:
            data = b""
        msg = _loads(data)
        if "exit" in msg:
            self.returncode = os.waitstatus_to_exitcode(int(msg["exit"]))
            self.cpu = float(msg.get("cpu") or 0.0)
        elif not data:  # the template itself went away: the child's fate is unknown
            self.returncode = -signal.SIGKILL
        if self.returncode is not None:
            self.conn.close()
            self.conn = None

    def poll(self):
        self._read(0)
        return self.returncode

    def wait(self, timeout: float | None = None):
        end = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                raise subprocess.TimeoutExpired("template child %d" % self.pid, timeout)
            self._read(left)
        return self.returncode

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _loads(data: bytes) -> dict:
    try:
        msg = json.loads(data.decode("utf-8")) if data else {}
    except ValueError:
        msg = {}
    return msg if isinstance(msg, dict) else {}


def spawn(directory: str, request: dict, fds=(), timeout: float = 60.0) -> Child:
    """Ask the template in ``directory`` for a child; returns once it is set up (or has exited).
    Raises TemplateError when the template cannot be reached or the child could not be set up."""
    if info(directory) is None:
        raise TemplateError("the template in %s is not available" % directory)
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.connect(os.path.join(directory, SOCKET))
        socket.send_fds(conn, [json.dumps(request).encode("utf-8")], list(fds))
    except OSError as exc:
        conn.close()
        raise TemplateError("the template in %s cannot be reached: %s" % (directory, exc)) from None
    pid, state, code = None, None, None
    end = time.monotonic() + timeout
    while pid is None or state is None:
        left = end - time.monotonic()
        r, _, _ = select.select([conn], [], [], max(left, 0))
        if not r:
            conn.close()
            if pid:
                _kill(pid)
            raise TemplateError("the template's child did not start within %g s" % timeout)
        data = conn.recv(MSG)
        msg = _loads(data)
        if not data:
            conn.close()
            raise TemplateError("the template closed the connection")
        if "pid" in msg:
            pid = int(msg["pid"])
        elif "ready" in msg:
            state = "ready"
        elif "error" in msg:
            state = "error"
            error = str(msg["error"])
        elif "exit" in msg:
            state = "exited"
            code = os.waitstatus_to_exitcode(int(msg["exit"]))
    if state == "error":
        _kill(pid)
        conn.close()
        raise TemplateError(error)
    if state == "exited":
        conn.close()
        return Child(None, pid, code)
    return Child(conn, pid)


def _kill(pid: int) -> None:
    for target in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            target()
            return
        except (ProcessLookupError, PermissionError):
            continue


class Template:
    """Owner side: start a template for the autograder tree ``source`` and stop it with ``close``.

    ``modules``: what to import up front (missing ones are skipped). The template serves anyone
    who runs as this user and knows ``directory`` (pass ``env()`` to the processes that use it)."""

    def __init__(self, source: str, modules, python: str | None = None, threads: int = 1):
        import tempfile

        self.source = os.path.abspath(source)
        self.directory = tempfile.mkdtemp(prefix="agk-template-")  # 0700: only this user enters
        script = os.path.join(self.source, "autograder", "sandbox", "template.py")
        lifeline_r, self._lifeline = os.pipe()
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
               "HOME": self.directory, "MPLBACKEND": "Agg"}
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if var in os.environ:
                env[var] = os.environ[var]
        from . import worker_library_path

        env.update(worker_library_path())
        # the modules to import go in a file, not on the command line: every child shows the template's
        # command line (in ps, in /proc/PID/cmdline), and a worker's must not read like pytest's
        _write_atomic(os.path.join(self.directory, "modules"), "\n".join(modules))
        log = open(os.path.join(self.directory, "template.log"), "ab")
        try:
            self.proc = subprocess.Popen(
                [python or sys.executable, "-I", "-B", script, self.directory, str(lifeline_r)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", env=env, pass_fds=(lifeline_r,),
                close_fds=True, start_new_session=True)
        finally:
            log.close()
            os.close(lifeline_r)

    def env(self) -> dict:
        return {"AUTOGRADER_TEMPLATE": self.directory}

    def ready(self, timeout: float = READY_TIMEOUT) -> bool:
        return info(self.directory, timeout) is not None

    def close(self) -> None:
        import shutil

        if self._lifeline is not None:
            os.close(self._lifeline)
            self._lifeline = None
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _kill(self.proc.pid)
            self.proc.wait()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def disabled() -> bool:
    """``AUTOGRADER_NO_TEMPLATE=1`` starts every process by exec (the benchmarks' baseline)."""
    return os.environ.get("AUTOGRADER_NO_TEMPLATE") == "1"


# ================================================================== template side
def _write_atomic(path: str, text: str) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def serve(directory: str, lifeline: int, modules) -> int:
    import ctypes
    import importlib

    try:  # die with the owner
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    _name("agk-template")
    _write_atomic(os.path.join(directory, "pid"), str(os.getpid()))
    skipped = []
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # a module this venv lacks: the children import it themselves
            skipped.append("%s (%s: %s)" % (name, type(exc).__name__, exc))
    from autograder.sandbox import codec, isolation, worker  # noqa: F401  (the children's code)

    if "torch" in sys.modules:
        _warm_up(sys.modules["torch"])

    import gc

    gc.collect()
    gc.freeze()  # the imports' objects: never scanned by a child's collections (pytest runs a few), nor copied
    _drop_clean_file_pages()
    if _threads() != 1:
        _write_atomic(os.path.join(directory, FAILED), "the template has %d threads after its imports; forking "
                      "it is unsafe, so every process starts by exec\n" % _threads())
        return 1
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(os.path.join(directory, SOCKET))
    os.chmod(os.path.join(directory, SOCKET), 0o600)
    listener.listen(64)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *a: None)
    signal.set_wakeup_fd(wake_w)
    _write_atomic(os.path.join(directory, READY), json.dumps({
        "modules": sorted({name.split(".")[0] for name in sys.modules}), "executable": sys.executable,
        "source": os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
        "pid": os.getpid(), "skipped": skipped}))
    children = {}
    while True:
        try:
            readable, _, _ = select.select([listener, lifeline, wake_r], [], [], 5.0)
        except InterruptedError:
            readable = []
        if wake_r in readable:
            try:
                os.read(wake_r, 4096)
            except BlockingIOError:
                pass
        while children:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            conn = children.pop(pid, None)
            if conn is not None:
                try:  # with the CPU seconds of the child and of the processes it waited for
                    conn.send(json.dumps({"exit": status, "cpu": usage.ru_utime + usage.ru_stime}).encode())
                except OSError:
                    pass
                conn.close()
        if lifeline in readable:
            if not os.read(lifeline, 1):  # the owner is done
                return 0
        if listener in readable:
            try:
                conn, _ = listener.accept()
            except OSError:
                continue
            pid = os.fork()
            if pid == 0:
                code = 126
                try:
                    listener.close()
                    for other in children.values():
                        other.close()
                    for fd in (wake_r, wake_w, lifeline):
                        os.close(fd)
                    signal.set_wakeup_fd(-1)
                    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                    code = _child(conn)
                except BaseException as exc:  # noqa: BLE001  (a child never returns into the loop)
                    try:
                        conn.send(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)}).encode())
                    except Exception:
                        pass
                finally:
                    try:
                        sys.stdout.flush()
                        sys.stderr.flush()
                    finally:
                        os._exit(code if isinstance(code, int) else 126)
            children[pid] = conn
            try:
                conn.send(json.dumps({"pid": pid}).encode())
            except OSError:
                pass


def _drop_clean_file_pages() -> None:
    """Unmap from this process the pages of read-only file mappings (library code the imports ran once)
    that hold no private copy: they stay in the page cache, and a child that needs one faults it back in
    at no cost, while pages no child needs stop counting against the grading's memory (A3: about 50 MB
    of PSS). Mappings with any anonymous page (relocated read-only data) are left alone."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
        with open("/proc/self/smaps", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except (OSError, AttributeError):
        return
    candidates, current = [], None
    for line in text.splitlines():
        head = line.split(None, 5)
        if len(head) >= 5 and "-" in head[0] and not line.endswith("kB"):
            lo, hi = (int(v, 16) for v in head[0].split("-"))
            path = head[5].strip() if len(head) > 5 else ""
            current = [lo, hi, head[1], path, None]
            candidates.append(current)
        elif current is not None and line.startswith("Anonymous:"):
            current[4] = int(line.split()[1])
    for lo, hi, perms, path, anonymous in candidates:
        if perms in ("r-xp", "r--p") and path.startswith("/") and anonymous == 0:
            libc.madvise(lo, hi - lo, 4)  # MADV_DONTNEED: clean file pages only, re-read on access


def _warm_up(torch) -> None:
    """A first optimiser step imports about 900 more modules (torch._dynamo, sympy...: a second of CPU in
    every worker that trains). Take one here, on zeros, with the random generator's state restored, so
    that children start where a fresh interpreter would, only further along in its imports."""
    state = torch.get_rng_state()
    try:
        layer = torch.nn.Linear(2, 2)
        for opt in (torch.optim.SGD(layer.parameters(), lr=0.1, momentum=0.9), torch.optim.Adam(layer.parameters())):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(layer(torch.zeros(2, 2)), torch.zeros(2, dtype=torch.long)).backward()
            opt.step()
        conv = torch.nn.Conv2d(1, 1, 3)
        torch.nn.functional.max_pool2d(conv(torch.zeros(1, 1, 4, 4)), 2).sum().backward()
    except Exception:
        pass
    finally:
        torch.set_rng_state(state)


def _name(name: str) -> None:
    """The process's name in ps and /proc/PID/comm (its command line stays the template's)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15], 0, 0, 0)  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _peer_uid(conn: socket.socket) -> int:
    import struct

    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", creds)[1]


def _close_all_but(keep) -> None:
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _base_path() -> list:
    """sys.path without the template's own folders (the engine tree and the script's folder)."""
    here = os.path.dirname(os.path.abspath(__file__))
    source = os.path.dirname(os.path.dirname(here))
    return [p for p in sys.path if p and os.path.abspath(p) not in (here, source)]


def _child(conn: socket.socket) -> int:
    stranger = _peer_uid(conn) != os.getuid()
    data, fds, _, _ = socket.recv_fds(conn, MSG, 8)  # read even from a stranger (closing unread resets the peer)
    if stranger:
        for fd in fds:
            os.close(fd)
        raise PermissionError("only the template's own user may ask it for a process")
    request = json.loads(data.decode("utf-8"))
    os.setsid()
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.close(null)
    out, err = fds[0], fds[1]
    os.dup2(out, 1)
    os.dup2(err, 2)
    rest = list(fds[2:])
    _close_all_but(set(rest) | {conn.fileno()})
    os.environ.clear()
    os.environ.update(request["env"])
    _name("agk-%s" % request["kind"])
    if request["kind"] == "worker":
        return _run_worker(conn, request, rest)
    if request["kind"] == "pytest":
        return _run_pytest(conn, request)
    if request["kind"] == "check":
        return _run_check(conn, request)
    raise ValueError("unknown kind %r" % request["kind"])


def _run_worker(conn: socket.socket, request: dict, pipes: list) -> int:
    from autograder.sandbox import codec, isolation, worker

    os.chdir("/")
    if request.get("confine"):
        isolation.confine(request["confine"])
        # setuid made it non-dumpable (its /proc files root's); an exec'd worker is dumpable again: so is this
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    sys.path[:] = [request["kit_dir"]] + _base_path()
    if "numpy" in sys.modules:  # a fresh interpreter would draw a new global seed
        sys.modules["numpy"].random.seed()
    sys.argv = [os.path.join(request["kit_dir"], "worker.py"), request["config"]]
    conn.send(b'{"ready": true}')
    conn.close()  # nothing of the template is left to student code but its pipes
    return worker.main(sys.argv, codec=codec, fds=_renumber(pipes, request.get("fd_numbers")))


def _renumber(fds, numbers) -> tuple:
    """Move the handed-over pipes to the descriptor numbers the worker's config names (as an exec'd
    worker has them), so that the config tells the truth to whoever reads it."""
    if not numbers or len(numbers) != len(fds) or any(int(n) <= 2 for n in numbers):
        return tuple(fds)
    import fcntl

    floor = max(list(fds) + [int(n) for n in numbers]) + 1  # above both (under the worker's descriptor limit)
    high = [fcntl.fcntl(fd, fcntl.F_DUPFD, floor) for fd in fds]
    for fd in fds:
        os.close(fd)
    for tmp, target in zip(high, numbers):
        os.dup2(tmp, int(target), inheritable=False)
        os.close(tmp)
    return tuple(int(n) for n in numbers)


def _run_check(conn: socket.socket, request: dict) -> int:
    """Confined as a worker would be: can this uid read the interpreter and the imported packages' files
    (a forked worker imports more of them lazily)? Exit 0, or 1 with the reason on stderr."""
    from autograder.sandbox import isolation

    os.chdir("/")
    isolation.confine(request["confine"])
    conn.send(b'{"ready": true}')
    conn.close()
    paths = [sys.executable] + [getattr(sys.modules.get(name), "__file__", None) for name in ("numpy", "torch")]
    for path in filter(None, paths):
        try:
            with open(path, "rb") as fh:
                fh.read(1)
            os.listdir(os.path.dirname(path))
        except OSError as exc:
            sys.stderr.write("%s\n" % exc)
            return 1
    return 0


def _run_pytest(conn: socket.socket, request: dict) -> int:
    import pytest

    os.chdir(request["cwd"])
    sys.path[:] = list(request.get("path", [])) + _base_path()
    sys.argv = ["pytest"] + list(request["args"])
    conn.send(b'{"ready": true}')
    conn.close()
    try:
        code = pytest.main(list(request["args"]))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    return int(code)


if __name__ == "__main__":
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    with open(os.path.join(sys.argv[1], "modules"), encoding="utf-8") as _fh:
        _modules = [m.strip() for m in _fh if m.strip()]
    sys.exit(serve(sys.argv[1], int(sys.argv[2]), _modules))
