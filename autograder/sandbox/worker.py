"""Sandbox worker: the only process that imports and runs student code.

Started by the harness as a fresh interpreter (``python -I -B worker.py CONFIG``),
never forked from it, from a copy of this file and ``codec.py`` in the worker's
own directory; or forked from a pre-imported template (``template.py``: a clean
interpreter that imported NumPy and torch and nothing of any grading), which
confines the child the same way and then calls ``main``. It reads request frames from one pipe, answers on another, and
knows nothing of the tests: it receives a target ("package.module:qualname")
and arguments, and returns the value or the student's error.

Requests (frame meta):  {"op": "call", "target": "pkg.mod:Qual.name"}  value = [args, kwargs]
                        {"op": "import", "module": "pkg.mod"}
                        {"op": "ping"}
Replies (frame meta):   {"ok": true, "printed": "..."}                   value = result
                        {"ok": false, "error": {...}, "printed": "..."}  value = None

Must stay Python 3.10 compatible and import only the standard library and NumPy
at start-up.
"""
import importlib
import importlib.util
import io
import json
import os
import sys
import traceback

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load_codec():
    spec = importlib.util.spec_from_file_location("_agk_codec", os.path.join(_HERE, "codec.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class _TailBuffer(io.TextIOBase):
    """A text stream that keeps only the last ``limit`` characters written."""

    def __init__(self, limit):
        self.limit = limit
        self.parts = []
        self.size = 0
        self.dropped = 0

    def writable(self):
        return True

    def write(self, s):
        if not isinstance(s, str):
            s = str(s)
        self.parts.append(s)
        self.size += len(s)
        if self.size > 4 * self.limit:
            self._compact()
        return len(s)

    def _compact(self):
        text = "".join(self.parts)
        if len(text) > self.limit:
            self.dropped += len(text) - self.limit
            text = text[-self.limit:]
        self.parts = [text]
        self.size = len(text)

    def getvalue(self):
        self._compact()
        text = "".join(self.parts)
        if self.dropped:
            return "[... %d earlier characters not shown ...]\n%s" % (self.dropped, text)
        return text


def _relative(path, roots):
    real = os.path.realpath(path) if path else ""
    for root in roots:
        if real.startswith(root + os.sep):
            return os.path.relpath(real, root)
    return None


def _describe_error(exc, roots):
    """Type, message, and the traceback restricted to the student's own files."""
    lines = []
    for frame in traceback.extract_tb(exc.__traceback__):
        rel = _relative(frame.filename, roots)
        if rel is None:
            continue
        lines.append('  File "%s", line %s, in %s' % (rel, frame.lineno, frame.name))
        if frame.line:
            lines.append("    " + frame.line.strip())
    try:
        message = str(exc)[:4000]
    except Exception:  # a student exception whose __str__ itself fails
        message = "<the exception's message could not be shown>"
    info = {"type": type(exc).__name__, "message": message, "traceback": "\n".join(lines)}
    if isinstance(exc, SyntaxError):
        rel = _relative(exc.filename or "", roots) or os.path.basename(exc.filename or "?")
        info.update(file=rel, line=exc.lineno, text=(exc.text or "").rstrip("\n")[:300],
                    message=exc.msg or str(exc))
    return info


def _snapshot(args):
    """Copies of the array arguments (None for other values), to detect in-place changes."""
    out = []
    for a in args:
        copy = getattr(a, "copy", None) if type(a).__module__ in ("numpy", "torch") else None
        out.append(a.clone() if hasattr(a, "clone") else copy() if copy else None)
    return out


def _same(old, new):
    if old is None:
        return True
    try:
        import numpy as np

        if hasattr(old, "detach"):
            old, new = old.detach().numpy(), new.detach().numpy()
        return old.shape == new.shape and bool(np.array_equal(old, new, equal_nan=True))
    except Exception:
        return False


def _resolve(target):
    if ":" not in target:
        raise ValueError("target %r must look like 'package.module:function'" % target)
    module_name, qualname = target.split(":", 1)
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class _Blocker:
    """Refuses modules whose import hung in an earlier worker, or that the grader refuses to run
    (blocked: {name: message}), so importing them fails at once."""

    def __init__(self, blocked):
        self.blocked = blocked if isinstance(blocked, dict) else {name: "" for name in blocked}

    def find_spec(self, name, path=None, target=None):
        if name in self.blocked:
            raise ImportError(self.blocked[name] or "importing %s failed earlier (it did not finish in time, or "
                              "it ended the process); it is skipped" % name)
        return None


def _package_dirs(modules):
    """Install folders of ``modules`` (found without importing them), to refuse loading their files."""
    dirs = []
    for name in modules:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        for loc in (getattr(spec, "submodule_search_locations", None) or []) if spec else []:
            dirs.append(os.path.realpath(loc) + os.sep)
    return tuple(dirs)


def _install_import_rules(forbid, guarded):
    """An audit hook (which code in this process cannot remove) that enforces import rules at run time.

    forbid:  {"modules": [...], "message": "..."}: in this worker those modules cannot be imported at
             all, however the name is built, nor their files opened or loaded (dlopen).
    guarded: [{"files": [paths], "modules": [...], "message": "..."}]: importing those modules fails
             while code of one of those files is on the call stack.
    """
    banned = set((forbid or {}).get("modules") or ())
    message = (forbid or {}).get("message") or "this module may not be imported here"
    dirs = _package_dirs(sorted(banned)) if banned else ()
    rules = [(set(g["files"]) | set(os.path.realpath(f) for f in g["files"]), set(g["modules"]), g["message"])
             for g in guarded or ()]
    if not banned and not rules:
        return
    getframe = sys._getframe

    def check_guarded(top, frame):
        for files, modules, msg in rules:
            if top in modules:
                while frame is not None:
                    if frame.f_code.co_filename in files:
                        raise ImportError(msg.replace("{module}", top))
                    frame = frame.f_back

    def hook(event, args):
        if event == "import":
            top = str(args[0]).split(".")[0]
            if top in banned:
                raise ImportError(message.replace("{module}", top))
            check_guarded(top, getframe(1))
        elif dirs and event in ("open", "ctypes.dlopen", "os.exec", "os.posix_spawn"):
            path = args[0]
            if isinstance(path, (bytes, str)):
                path = os.fsdecode(path)
                if path.startswith(dirs) or os.path.realpath(path).startswith(dirs):
                    raise ImportError(message.replace("{module}", "/".join(sorted(banned))))

    sys.addaudithook(hook)
    # A worker forked from a template may already hold a guarded module: importing it again raises no
    # audit event, so the import statement and importlib.import_module check the rule themselves.
    preloaded = {m for _, modules, _ in rules for m in modules if m in sys.modules}
    if preloaded:
        import builtins

        real_import, real_import_module = builtins.__import__, importlib.import_module

        def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
            if level == 0 and str(name).split(".")[0] in preloaded:
                check_guarded(str(name).split(".")[0], getframe(1))
            return real_import(name, globals, locals, fromlist, level)

        def guarded_import_module(name, package=None):
            if not str(name).startswith(".") and str(name).split(".")[0] in preloaded:
                check_guarded(str(name).split(".")[0], getframe(1))
            return real_import_module(name, package)

        builtins.__import__ = guarded_import
        importlib.import_module = guarded_import_module


def _file_tracer(roots):
    """(set, profile function) recording, relative to the first root, the submitted files whose code
    runs. Instructor-only (the self-check's reference grading): it tells which tests a change to a file
    can affect; it slows calls down and decides no grade."""
    touched, known = set(), {}
    prefixes = tuple(r.rstrip(os.sep) + os.sep for r in roots)

    def tracer(frame, event, arg):
        if event != "call":
            return
        name = frame.f_code.co_filename
        rel = known.get(name, 0)
        if rel == 0:
            real = os.path.realpath(name) if os.path.isabs(name) else name
            rel = os.path.relpath(real, roots[0]) if real.startswith(prefixes) else None
            known[name] = rel
        if rel is not None:
            touched.add(rel.replace(os.sep, "/"))

    return touched, tracer


def main(argv, codec=None, fds=None):
    """argv[1]: the config file. A worker forked from a template (``template.py``) gets the codec
    module it imported and its pipes' descriptors (which are numbered anew when they are handed over)."""
    with open(argv[1], encoding="utf-8") as fh:
        config = json.load(fh)
    if config.get("blocked_modules"):
        sys.meta_path.insert(0, _Blocker(config["blocked_modules"]))
    _install_import_rules(config.get("forbid"), config.get("guarded"))
    codec = codec or _load_codec()
    req_fd, rep_fd = fds or (config["request_fd"], config["reply_fd"])
    roots = [os.path.realpath(p) for p in config["student_paths"]]
    for path in reversed(config["sys_path"]):
        sys.path.insert(0, path)
    os.chdir(config["cwd"])
    printed_limit = int(config.get("printed_limit", 2000))
    main_pid = os.getpid()  # a process forked by student code must never answer or read requests
    threads = int(config.get("threads", 1))
    real_stdout, real_stderr = sys.stdout, sys.stderr
    touched, tracer = _file_tracer(roots) if config.get("trace") else (set(), None)

    while True:
        try:
            frame = codec.read_frame(req_fd, int(config["max_request_bytes"]))
        except codec.CodecError:
            return 3
        if frame is None:  # harness closed the pipe: done
            return 0
        value, meta = codec.decode(frame, as_torch=True)
        op = meta.get("op")
        tail = _TailBuffer(printed_limit)
        sys.stdout = sys.stderr = tail
        result, error = None, None
        try:
            if op == "call":
                args, kwargs = value
                names = [str(i + 1) for i in range(len(args))] + ["%r" % k for k in kwargs]
                values = list(args) + list(kwargs.values())
                before = _snapshot(values) if meta.get("check_inputs") else None
                func = _resolve(meta["target"])
                if tracer is not None:
                    sys.setprofile(tracer)
                try:
                    result = func(*args, **kwargs)
                finally:
                    sys.setprofile(None)
                if before is not None:
                    mutated = [n for n, old, new in zip(names, before, values) if not _same(old, new)]
            elif op == "import":
                importlib.import_module(meta["module"])
            elif op != "ping":
                raise ValueError("unknown op %r" % op)
        except BaseException as exc:  # SystemExit and KeyboardInterrupt included: report, don't die
            error = _describe_error(exc, roots)
            if isinstance(exc, SystemExit):
                error["message"] = "your code called sys.exit(%s)" % (exc.code,)
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr
        if os.getpid() != main_pid:
            os._exit(0)
        if "torch" in sys.modules:
            try:
                if sys.modules["torch"].get_num_threads() != threads:
                    sys.modules["torch"].set_num_threads(threads)
            except Exception:
                pass
        reply_meta = {"ok": error is None, "printed": tail.getvalue()}
        if tracer is not None and op == "call":
            reply_meta["touched"] = sorted(touched)
            touched.clear()
        if op == "call" and meta.get("check_inputs") and error is None:
            reply_meta["mutated"] = mutated
        if error is not None:
            reply_meta["error"] = error
            frame = codec.encode(None, reply_meta)
        else:
            try:
                frame = codec.encode(result, reply_meta)
            except (codec.CodecError, Exception) as exc:  # student objects may raise anything here
                reply_meta.update(ok=False, error={
                    "type": "UnsupportedReturn", "traceback": "",
                    "message": "%s returned a value that cannot be checked: %s" % (
                        meta.get("target"), str(exc)[:500])})
                frame = codec.encode(None, reply_meta)
        codec.write_frame(rep_fd, frame)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
