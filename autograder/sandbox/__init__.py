"""Harness side of the sandbox: run student code in a separate worker process.

Tests never import student code. They call it through the session's sandbox::

    from autograder import sandbox
    out = sandbox.call("neural_nets.functional:softmax", scores)

Arguments and results cross as npy/JSON frames (see ``codec``). The worker is a
fresh interpreter (exec, not fork) with a clean environment, its own process
group and working directory. A call that outlives its time limit kills the whole
group; the next call starts a new worker. Every failure is an exception whose
``str`` is a short message meant for the student.
"""
from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


_WORKER_FILES = ("worker.py", "codec.py")
_HERE = os.path.dirname(os.path.abspath(__file__))


class SandboxError(Exception):
    """Base class: something went wrong running student code. ``str`` is for students."""


class StudentError(SandboxError):
    """The student's code raised an exception (or failed to import)."""

    def __init__(self, target: str, info: dict, printed: str = ""):
        self.target = target
        self.info = info
        self.exc_type = info.get("type", "Exception")
        self.printed = printed
        super().__init__(self._render())

    @property
    def not_implemented(self) -> bool:
        return self.exc_type == "NotImplementedError"

    def _render(self) -> str:
        info = self.info
        func = _pretty_target(self.target)
        if self.not_implemented:
            return "not implemented: %s" % (info.get("message") or func)
        if self.exc_type in ("SyntaxError", "IndentationError", "TabError"):
            text = info.get("text") or ""
            where = "%s, line %s" % (info.get("file", "?"), info.get("line", "?"))
            msg = "%s in %s: %s" % (self.exc_type, where, info.get("message", ""))
            return msg + ("\n    " + text.strip() if text.strip() else "")
        if self.exc_type in ("ModuleNotFoundError", "ImportError") and not info.get("traceback"):
            return "could not import %s: %s" % (func, info.get("message", ""))
        msg = "%s raised %s: %s" % (func, self.exc_type, info.get("message", ""))
        hint = error_hint(self.exc_type, info.get("message", ""))
        if hint:
            msg += "\n  Hint: " + hint
        if info.get("traceback"):
            msg += "\nTraceback (your code only):\n" + info["traceback"]
        return msg


#: (exception type or None for any, phrase of the message, the hint a student can act on)
_ERROR_HINTS = [
    (None, ("same dtype", "dtype double but", "dtype float but", "expected scalar type", "found dtype",
            "expected both vectors to have same dtype", "result type float can't be cast",
            "input type (double) and bias type (float)", "input type (float) and bias type (double)",
            "source and destination dtypes match"),
     "two tensors of different dtypes met (usually float32 and float64). Make new tensors with the dtype "
     "and device of your inputs: x.new_zeros(shape), torch.zeros(shape, dtype=x.dtype, device=x.device), "
     "or torch.zeros_like(x); do not mix float64 (.double(), np arrays turned into tensors) with float32."),
    (None, ("target dtype to be long", "expected scalar type long"),
     "class labels must be an integer tensor (torch.long): pass the targets as they come, or use .long()."),
    (None, ("expected all tensors to be on the same device",),
     "make new tensors on your inputs' device: x.new_zeros(shape) or torch.zeros(shape, device=x.device)."),
    ("RuntimeError", ("trying to backward through the graph a second time",),
     "each backward() needs a fresh forward pass (or detach what you keep between steps, e.g. hidden states)."),
]


def error_hint(exc_type: str, message: str) -> str | None:
    """A one-line fix for an error whose root cause is recognisable from its message, else None."""
    low = (message or "").lower()
    for kind, phrases, hint in _ERROR_HINTS:
        if (kind is None or kind == exc_type) and any(p in low for p in phrases):
            return hint
    return None


class InputMutated(SandboxError):
    """The student's function changed one of its array arguments in place."""


class SandboxTimeout(SandboxError):
    """A call ran past its time limit; the worker was killed."""


class WorkerCrashed(SandboxError):
    """The worker process died (os._exit, a segfault, the memory limit...)."""


class Refused(SandboxError):
    """The grader refuses to run a submitted module (an assignment rule, e.g. a forbidden import)."""


class BadReply(SandboxError):
    """The worker's reply could not be accepted (too large, malformed, unsupported)."""


def worker_library_path() -> dict:
    """LD_LIBRARY_PATH for a relocated interpreter whose libpython is not where it was built
    (set AUTOGRADER_WORKER_LD_LIBRARY_PATH); nothing else of the harness's environment passes."""
    value = os.environ.get("AUTOGRADER_WORKER_LD_LIBRARY_PATH")
    return {"LD_LIBRARY_PATH": value} if value else {}


def _pretty_target(target: str) -> str:
    return target.replace(":", ".")


#: (python, private tmp) pairs that check_python_reachable passed in this process: every uid of the pool is
#: "other" to the interpreter's files, so one sandbox uid's verdict holds for the others
_REACHABLE: set = set()


def _set_nonblocking(fd: int) -> None:
    fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)


class Sandbox:
    """A restartable worker process that runs student code.

    submission_dir: folder holding the student's package (put on the worker's sys.path).
    probe_dirs:     folders of kit-written helper modules the worker may import
                    (copied into the worker's directory, ahead of the submission on sys.path).
    call_timeout:   default seconds per call.
    """

    def __init__(self, submission_dir, probe_dirs=(), *, python=None, call_timeout=10.0,
                 max_reply_bytes=64 << 20, max_request_bytes=256 << 20, threads=1,
                 printed_limit=2000, confinement=None, forbid=None, guarded=(), trace=False, template=None):
        self.submission_dir = os.path.abspath(submission_dir)
        self.probe_dirs = [os.path.abspath(p) for p in probe_dirs if os.path.isdir(p)]
        self.python = python or os.environ.get("AUTOGRADER_WORKER_PYTHON") or sys.executable
        self.call_timeout = float(call_timeout)
        self.max_reply_bytes = int(max_reply_bytes)
        self.max_request_bytes = int(max_request_bytes)
        self.threads = int(threads)
        self.printed_limit = int(printed_limit)
        #: absolute time (time.monotonic) after which calls fail at once; set per test
        self.deadline: float | None = None
        self.deadline_reason = "the time limit"
        self._proc = None
        self._req_w = self._rep_r = None
        self._workdir = None
        self._imported: set[str] = set()
        self._poisoned: dict[str, str] = {}
        self.restarts = 0
        #: an isolation.Confinement when the harness is root: the worker then runs as its uid
        self.confinement = confinement
        self._checked_python = False
        #: import rules the worker enforces with an audit hook (see worker._install_import_rules):
        #: forbid = {"modules": [...], "message": ...}; guarded = [{"files": [rel], "modules", "message"}]
        self.forbid = forbid
        self.guarded = list(guarded or ())
        #: record which submitted files each call runs (the self-check's reference grading only)
        self.trace = bool(trace)
        #: other sandboxes of this grading sharing the uid: their workers survive this one's clean-ups
        self.peers: list = []
        #: folders (os.pathsep-separated) of pre-imported templates (``template.py``) to fork workers from:
        #: the first that may serve this worker is used; None: exec
        self.template = template
        #: how the last worker started: "fork" (from the template) or "exec"
        self.started_by = None
        #: workers started each way, and the CPU seconds of the forked ones (the template reports them)
        self.started = {"fork": 0, "exec": 0}
        self.forked_cpu = 0.0

    # ------------------------------------------------------------ lifecycle
    def _prepare_workdir(self) -> str:
        """The worker's folder: .kit/ (worker code), probes*/, and scratch/ (its cwd, HOME, TMPDIR).

        Confined, it also holds a read-only copy of the submission (the harness's own
        folders are closed to the worker's uid) and lives under a base outside /tmp,
        which the worker sees as a private tmpfs.
        """
        if self._workdir is None:
            base = None
            if self.confinement is not None:
                from .isolation import sandbox_base

                # the harness's folder for this grading (closed to other gradings' uids), else the base
                base = os.environ.get("AUTOGRADER_WORKDIR_BASE") or sandbox_base()
                os.makedirs(base, mode=0o755, exist_ok=True)
            self._workdir = tempfile.mkdtemp(prefix="agk-worker-", dir=base)
            kit = os.path.join(self._workdir, ".kit")
            os.mkdir(kit)
            for name in _WORKER_FILES:
                shutil.copy2(os.path.join(_HERE, name), os.path.join(kit, name))
            for i, src in enumerate(self.probe_dirs):
                shutil.copytree(src, os.path.join(self._workdir, "probes%d" % i),
                                ignore=shutil.ignore_patterns("__pycache__"))
            scratch = os.path.join(self._workdir, "scratch")
            os.mkdir(scratch)
            if self.confinement is not None:
                copy = os.path.join(self._workdir, "submission")
                shutil.copytree(self.submission_dir, copy, symlinks=False,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                self.submission_dir = copy
                self.confinement.prepare(self._workdir, scratch)
        return self._workdir

    def _env(self, wd: str) -> dict:
        scratch = os.path.join(wd, "scratch")
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": scratch,
            "TMPDIR": scratch,
            "XDG_CACHE_HOME": os.path.join(scratch, ".cache"),
            "MPLCONFIGDIR": os.path.join(scratch, ".cache", "matplotlib"),
            "TORCH_HOME": os.path.join(scratch, ".cache", "torch"),
            "MPLBACKEND": "Agg",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(self.threads)
        # Some CPUs need these for OpenBLAS to compute correctly; pass them through.
        for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
            if var in os.environ:
                env[var] = os.environ[var]
        env.update(worker_library_path())
        return env

    def _keep(self) -> set:
        """PIDs of the live workers of this sandbox's peers (which share its uid)."""
        return {p._proc.pid for p in self.peers if p._proc is not None and p._proc.poll() is None}

    def start(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                return
            self.kill()  # it died between calls (a peer's clean-up, say): start a new one
        wd = self._prepare_workdir()
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        sys_path = [os.path.join(wd, "probes%d" % i) for i in range(len(self.probe_dirs))]
        sys_path.append(self.submission_dir)
        config = {
            "request_fd": req_r, "reply_fd": rep_w, "sys_path": sys_path, "cwd": os.path.join(wd, "scratch"),
            "student_paths": [self.submission_dir], "max_request_bytes": self.max_request_bytes,
            "threads": self.threads, "printed_limit": self.printed_limit,
            "blocked_modules": {name: str(exc) for name, exc in sorted(self._poisoned.items())},
            "forbid": self.forbid, "trace": self.trace,
            "guarded": [dict(rule, files=[os.path.join(self.submission_dir, *rel.split("/")) for rel in rule["files"]])
                        for rule in self.guarded],
        }
        config_path = os.path.join(wd, ".kit", "config.json")
        with open(config_path, "w", encoding="utf-8") as fh:
            json.dump(config, fh)
        preexec = None
        if self.confinement is not None:
            os.chmod(config_path, 0o644)
            if not self._checked_python and (self.python, self.confinement.private_tmp) in _REACHABLE:
                self._checked_python = True  # another sandbox of this grading checked it (the same verdict)
            if not self._checked_python:
                from .isolation import IsolationError, check_python_reachable

                try:
                    if not self._check_by_fork(wd):
                        check_python_reachable(self.python, self.confinement)
                except IsolationError as exc:  # loud, and never a fallback to running as root
                    os.close(req_r), os.close(req_w), os.close(rep_r), os.close(rep_w)
                    raise SandboxError("sandbox error, not caused by your code: %s" % exc) from None
                self._checked_python = True
                _REACHABLE.add((self.python, self.confinement.private_tmp))
            preexec = self.confinement.preexec(os.path.join(wd, "scratch"))
        log = open(os.path.join(wd, "worker.log"), "ab")
        forked = self._fork(wd, config_path, log, req_r, rep_w)
        if forked is not None:
            log.close()
            os.close(req_r)
            os.close(rep_w)
            self._proc = forked
            self.started_by = "fork"
            self.started["fork"] += 1
            self._req_w, self._rep_r = req_w, rep_r
            _set_nonblocking(req_w)
            _set_nonblocking(rep_r)
            self._imported = set()
            return
        self.started_by = "exec"
        self.started["exec"] += 1
        try:
            self._proc = subprocess.Popen(
                [self.python, "-I", "-B", os.path.join(wd, ".kit", "worker.py"), config_path],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log, cwd="/", env=self._env(wd),
                pass_fds=(req_r, rep_w), close_fds=True, start_new_session=True, preexec_fn=preexec)
        except OSError as exc:
            raise SandboxError("could not start the sandbox worker (%s): %s" % (self.python, exc)) from None
        finally:
            log.close()
            os.close(req_r)
            os.close(rep_w)
        self._req_w, self._rep_r = req_w, rep_r
        _set_nonblocking(req_w)
        _set_nonblocking(rep_r)
        self._imported = set()

    def _check_by_fork(self, wd: str) -> bool:
        """The reachability check done by a confined child of the template (milliseconds, no interpreter
        start): True when it passed, False when there is no template to ask. Raises IsolationError."""
        from . import template as tpl
        from .isolation import IsolationError

        dirs = [d for d in (self.template or "").split(os.pathsep) if d]
        if not dirs or tpl.disabled() or not tpl.can_fork_worker(dirs[0], self.python):
            return False
        log_path = os.path.join(wd, "check.log")
        with open(log_path, "wb") as log:
            try:
                child = tpl.spawn(dirs[0], {"kind": "check", "env": {"PATH": "/usr/bin:/bin"},
                                            "confine": self.confinement.spec(os.path.join(wd, "scratch"))},
                                  fds=(log.fileno(), log.fileno()))
            except tpl.TemplateError:
                return False
        try:
            code = child.wait(timeout=60)
        except subprocess.TimeoutExpired:
            tpl._kill(child.pid)
            child.close()
            code = "a timeout"
        if code != 0:
            with open(log_path, encoding="utf-8", errors="replace") as fh:
                detail = (fh.read().strip().splitlines() or ["exit status %s" % code])[-1]
            raise IsolationError(
                "the sandbox worker cannot read %s's files as uid %d (%s). Every folder above the interpreter and "
                "its site-packages must be readable and traversable by other users; set AUTOGRADER_WORKER_PYTHON "
                "to such a venv. Student code was NOT run as root." % (self.python, self.confinement.uid, detail))
        return True

    def _fork(self, wd: str, config_path: str, log, req_r: int, rep_w: int):
        """A worker forked from the template, set up and confined exactly as an exec'd one; None when
        there is no template, it cannot serve this worker (a forbidden module it has imported, another
        interpreter) or it failed (the caller then starts the worker by exec)."""
        from . import template as tpl

        if not self.template or tpl.disabled():
            return None
        banned = (self.forbid or {}).get("modules") or ()
        usable = [d for d in self.template.split(os.pathsep) if d and tpl.can_fork_worker(d, self.python, banned)]
        if not usable:
            return None
        scratch = os.path.join(wd, "scratch")
        request = {"kind": "worker", "env": self._env(wd), "kit_dir": os.path.join(wd, ".kit"),
                   "config": config_path, "fd_numbers": [req_r, rep_w],
                   "confine": self.confinement.spec(scratch) if self.confinement is not None else None}
        try:
            return tpl.spawn(usable[0], request, fds=(log.fileno(), log.fileno(), req_r, rep_w))
        except tpl.TemplateError:
            return None

    def kill(self) -> None:
        """Kill the worker's whole process group (no-op when not running)."""
        proc = self._proc
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        if hasattr(proc, "close"):  # a template's child: its connection to the template
            self.forked_cpu += proc.cpu or 0.0
            proc.close()
        if self.confinement is not None:
            from .isolation import kill_uid

            kill_uid(self.confinement.uid, keep=self._keep())  # background and forked processes too
        for fd in (self._req_w, self._rep_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self._proc = self._req_w = self._rep_r = None

    def restart(self) -> None:
        """Throw the worker away: the next call starts a new one that has seen nothing of the
        calls before (no module state, no files in its scratch folder or, confined, in /tmp)."""
        self.kill()
        self._wipe_scratch()

    def _wipe_scratch(self) -> None:
        if self._workdir is None:
            return
        scratch = os.path.join(self._workdir, "scratch")
        if os.path.isdir(scratch):
            for name in os.listdir(scratch):
                path = os.path.join(scratch, name)
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass
        if self.confinement is not None:
            self.confinement.cleanup(keep=self._keep())

    def close(self) -> None:
        self.kill()
        if self.confinement is not None:
            self.confinement.cleanup()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------ transport
    def _remaining(self, timeout: float | None) -> tuple[float, str]:
        limit = self.call_timeout if timeout is None else float(timeout)
        reason = "timed out after %g s" % limit
        if self.deadline is not None:
            left = self.deadline - time.monotonic()
            if left < limit:
                limit = max(left, 0.0)
                reason = "stopped: %s was reached" % self.deadline_reason
        return limit, reason

    def _io(self, frame: bytes, limit: float) -> bytes | None:
        """Send one request and read one reply before ``limit`` seconds pass.

        Returns the reply frame, or None when the time ran out. Raises
        WorkerCrashed when the worker closed its end.
        """
        from . import codec

        end = time.monotonic() + limit
        out = memoryview(codec._LEN.pack(len(frame)) + frame)
        header = b""
        body = None  # the reply, read straight into a buffer of the announced size (no copies)
        got = 0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            rlist = [self._rep_r]
            wlist = [self._req_w] if out else []
            r, w, _ = select.select(rlist, wlist, [], left)
            if w:
                try:
                    n = os.write(self._req_w, out[:1 << 16])
                    out = out[n:]
                except BlockingIOError:
                    pass
                except BrokenPipeError:
                    raise self._crashed() from None
            if not r:
                continue
            if body is None:
                chunk = os.read(self._rep_r, 8 - len(header))
                if not chunk:
                    raise self._crashed()
                header += chunk
                if len(header) < 8:
                    continue
                (need,) = codec._LEN.unpack(header)
                if need > self.max_reply_bytes:  # refused before a byte of it is held
                    self.kill()
                    raise BadReply("the reply from your code is %d bytes, over the limit of %d bytes"
                                   % (need, self.max_reply_bytes))
                body = bytearray(need)
                view = memoryview(body)
                if need == 0:
                    return body
                continue
            try:
                n = os.readv(self._rep_r, [view[got:got + (1 << 20)]])
            except BlockingIOError:
                continue
            if not n:
                raise self._crashed()
            got += n
            if got == len(body):
                if select.select([self._rep_r], [], [], 0)[0]:  # a well-behaved worker never sends ahead
                    try:
                        extra = os.read(self._rep_r, 1)
                    except BlockingIOError:
                        extra = b""
                    if extra:
                        self.kill()
                        raise BadReply("the sandbox worker sent more data than announced")
                return body

    def _crashed(self) -> WorkerCrashed:
        proc = self._proc
        code = None
        if proc is not None:
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.kill()
        from .isolation import EXIT_REASONS

        if code is not None and code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            hint = {"SIGXFSZ": " (it wrote a file over the size limit)", "SIGXCPU": " (CPU time limit)",
                    "SIGKILL": "", "SIGSEGV": " (a crash)"}.get(name, "")
            how = "was killed by signal %s%s" % (name, hint)
        elif code in EXIT_REASONS and self.confinement is not None:
            return WorkerCrashed("the sandbox could not start (%s); this is not your fault, please tell "
                                 "your instructor" % EXIT_REASONS[code])
        else:
            how = "exited with code %s" % code
        return WorkerCrashed("the process running your code %s" % how)

    def _request(self, meta: dict, value, what: str, timeout: float | None):
        from . import codec  # here, not at the top: the harness imports this package without NumPy

        limit, reason = self._remaining(timeout)
        if limit <= 0:
            raise SandboxTimeout("%s: %s" % (what, reason))
        self.start()
        frame = codec.encode(value, meta)
        if len(frame) > self.max_request_bytes:
            raise SandboxError("internal: request too large (%d bytes)" % len(frame))
        try:
            reply = self._io(frame, limit)
        except WorkerCrashed as exc:
            self.restarts += 1
            raise WorkerCrashed("%s: %s" % (what, exc)) from None
        if reply is None:
            self.kill()
            self.restarts += 1
            raise SandboxTimeout("%s %s" % (what, reason))
        if self.confinement is not None and self._proc is not None:
            from .isolation import kill_uid

            kill_uid(self.confinement.uid, keep=self._keep() | {self._proc.pid})  # nothing outlives the call but the workers
        try:
            result, rmeta = codec.decode(reply, as_torch=False)
        except Exception as exc:  # decode raises CodecError; be strict about anything else too
            self.kill()
            raise BadReply("%s: the reply could not be read (%s)" % (what, exc)) from None
        if self.trace and isinstance(rmeta.get("touched"), list):
            _touched.update(str(t) for t in rmeta["touched"])
        if rmeta.get("mutated"):
            which = ", ".join(str(i) for i in rmeta["mutated"])
            raise InputMutated("%s changed its input argument %s in place; leave inputs unchanged "
                               "and return a new array (copy first if you must modify)" % (_pretty_target(meta["target"]), which))
        if not rmeta.get("ok"):
            err = rmeta.get("error") or {}
            if err.get("type") == "UnsupportedReturn":
                raise BadReply(err.get("message", "unsupported return value"))
            raise StudentError(meta.get("target") or meta.get("module", "?"), err,
                               str(rmeta.get("printed", ""))[:self.printed_limit])
        return result

    # ------------------------------------------------------------ public API
    def call(self, target: str, *args, **kwargs):
        """Run ``target`` ("package.module:qualname") in the worker and return its value."""
        return self.call_with(target, args, kwargs)

    def call_with(self, target: str, args=(), kwargs=None, *, timeout: float | None = None,
                  check_inputs: bool = False):
        """Like ``call`` with explicit args/kwargs and an optional per-call timeout (s).

        check_inputs: raise InputMutated if the function changed an array argument in place.
        """
        module = target.split(":", 1)[0]
        if module in self._poisoned:
            known = self._poisoned[module]
            raise type(known)(str(known))
        if module not in self._imported:
            self.import_module(module, timeout=timeout)
        meta = {"op": "call", "target": target, "check_inputs": bool(check_inputs)}
        return self._request(meta, [list(args), dict(kwargs or {})], _pretty_target(target), timeout)

    def call_pure(self, target: str, *args, **kwargs):
        """Like ``call``, and fail with InputMutated if an array argument was changed in place."""
        return self.call_with(target, args, kwargs, check_inputs=True)

    def refuse(self, module: str, message: str) -> None:
        """Never import ``module`` (nor let a probe import it): calls into it fail with ``message``."""
        self._poisoned[module] = Refused(message)
        if self._proc is not None:  # the running worker does not know yet
            self.kill()

    def import_module(self, module: str, *, timeout: float | None = None) -> None:
        """Import ``module`` in the worker. A module whose import hangs is remembered,
        so later calls into it fail at once instead of waiting again."""
        if module in self._poisoned:
            known = self._poisoned[module]
            raise type(known)(str(known))
        try:
            self._request({"op": "import", "module": module}, None, "importing %s" % module, timeout)
        except SandboxTimeout as exc:
            if "timed out" in str(exc):
                self._poisoned[module] = SandboxTimeout(
                    "%s (an infinite loop or slow work at module level?); calls into this module are skipped" % exc)
            raise
        except WorkerCrashed as exc:  # os._exit or a crash at import: it would happen every time
            self._poisoned[module] = WorkerCrashed("%s; calls into this module are skipped" % exc)
            raise
        self._imported.add(module)

    def preflight(self, modules) -> None:
        """Import each module once, so one that hangs at import is found (and blocked in later
        workers) before the tests run, instead of costing a time-out in every test that needs it.
        Import errors are left for the tests to report."""
        for module in modules:
            try:
                self.import_module(module)
            except SandboxError:
                pass

    def ping(self, timeout: float = 30.0) -> None:
        self._request({"op": "ping"}, None, "starting the sandbox worker", timeout)


class RoutedSandbox:
    """The workers of one grading under import rules (``[[forbid_imports]]``).

    Calls into a rule's files, and into the probes the rule lists (those that drive its files), go
    to a worker of their own in which the rule's modules cannot be imported at all, however the
    name is built (an audit hook); everything else goes to the main worker, where importing them
    still fails while a rule's file is on the call stack. Same interface as ``Sandbox``.
    """

    def __init__(self, main: Sandbox, routes):
        """routes: [(modules, targets, sandbox)]: student modules and probe targets of one rule."""
        self.main = main
        self.routes = [(set(m), set(t), sb) for m, t, sb in routes]
        everyone = [main] + [sb for _, _, sb in self.routes]
        for sb in everyone:
            sb.peers = [o for o in everyone if o is not sb]
        self._all = everyone

    def pick(self, target: str) -> Sandbox:
        module = target.split(":", 1)[0]
        for modules, targets, sb in self.routes:
            if module in modules or target in targets:
                return sb
        return self.main

    @property
    def deadline(self):
        return self.main.deadline

    @deadline.setter
    def deadline(self, value):
        for sb in self._all:
            sb.deadline = value

    @property
    def deadline_reason(self):
        return self.main.deadline_reason

    @deadline_reason.setter
    def deadline_reason(self, value):
        for sb in self._all:
            sb.deadline_reason = value

    @property
    def restarts(self) -> int:
        return sum(sb.restarts for sb in self._all)

    @property
    def started(self) -> dict:
        return {how: sum(sb.started[how] for sb in self._all) for how in ("fork", "exec")}

    @property
    def forked_cpu(self) -> float:
        return sum(sb.forked_cpu for sb in self._all)

    def call(self, target: str, *args, **kwargs):
        return self.pick(target).call_with(target, args, kwargs)

    def call_with(self, target: str, args=(), kwargs=None, *, timeout=None, check_inputs=False):
        return self.pick(target).call_with(target, args, kwargs, timeout=timeout, check_inputs=check_inputs)

    def call_pure(self, target: str, *args, **kwargs):
        return self.pick(target).call_with(target, args, kwargs, check_inputs=True)

    def import_module(self, module: str, *, timeout=None) -> None:
        self.pick(module + ":").import_module(module, timeout=timeout)

    def preflight(self, modules) -> None:
        for module in modules:
            self.pick(module + ":").preflight([module])

    def refuse(self, module: str, message: str) -> None:
        for sb in self._all:
            sb.refuse(module, message)

    def restart(self) -> None:
        for sb in self._all:
            sb.kill()
        for sb in self._all:
            sb.restart()

    def kill(self) -> None:
        for sb in self._all:
            sb.kill()

    def close(self) -> None:
        for sb in self._all:
            sb.close()


# ------------------------------------------------------------------ session-wide default
_current: Sandbox | None = None


#: submitted files (relative paths) that traced calls ran since the last take_touched()
_touched: set = set()


def take_touched() -> list:
    """The submitted files traced calls ran since the last call (then forgets them)."""
    out = sorted(_touched)
    _touched.clear()
    return out


def set_current(sb: Sandbox | None) -> None:
    global _current
    _current = sb


def current() -> Sandbox:
    if _current is None:
        raise RuntimeError("no sandbox is active: run the tests with the autograder pytest plugin")
    return _current


def fresh_worker() -> None:
    """Make the next call run in a new worker that has seen nothing of earlier calls.

    Use it before a call whose answer the harness judges against something an earlier call
    showed the worker (the labels it trained on, say): nothing the earlier worker kept, in
    memory or on disk, reaches the new one."""
    current().restart()


def call(target: str, *args, **kwargs):
    """Call student code in the session's sandbox: ``call("pkg.mod:func", x)``."""
    return current().call(target, *args, **kwargs)


def call_with(target: str, args=(), kwargs=None, *, timeout: float | None = None, check_inputs: bool = False):
    return current().call_with(target, args, kwargs, timeout=timeout, check_inputs=check_inputs)


def call_pure(target: str, *args, **kwargs):
    """``call``, failing if the function changes an array argument in place."""
    return current().call_pure(target, *args, **kwargs)
