"""Confinement of the sandbox worker when the harness runs as root (Gradescope).

When the harness is root, every worker process:

* runs as a dedicated unprivileged uid/gid (one per grading run, from a pool, so
  "kill every process of this uid" never touches anything else), with no
  supplementary groups;
* has rlimits on address space, CPU time, processes, file size and open files;
* where the kernel allows (``unshare``), gets its own network namespace (no
  interfaces but a down loopback: no network at all) and its own mount namespace
  in which /tmp, /var/tmp, /dev/shm, /run/lock and its scratch folder are small private
  tmpfs mounts, so it cannot fill the disk and leaves no files behind;
* sees only its own folder: the harness's sources, tests, salt and results are
  in root-only (0700) folders.

When the harness is not root (a student's laptop), the worker is a plain
subprocess of the same user: the same tests, the same time limits and value
transport, but none of the above. See docs/security.md.
"""
from __future__ import annotations

import ctypes
import errno
import fcntl
import hashlib
import os
import resource
import shutil
import signal
import subprocess

UID_POOL = range(61000, 62000)
CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_NOSUID = 2
MS_NODEV = 4
DEFAULT_LIMITS = {
    "memory_mb": 4096,     # address space (virtual): torch maps far more than it touches
    "cpu_seconds": 900,    # a backstop; calls have their own wall-clock limits
    "processes": 32,       # per uid, threads included
    "file_mb": 64,         # largest file the worker may write
    "open_files": 256,
    "tmpfs_mb": 64,        # all private tmpfs mounts together (scratch, /tmp, /dev/shm, /var/tmp)
    "tmpfs_inodes": 2048,  # files per tmpfs mount (each costs kernel memory outside any rlimit)
}
#: how the tmpfs budget is shared among the mounts (fractions of tmpfs_mb)
TMPFS_SHARES = (("scratch", 0.5), ("/tmp", 0.25), ("/dev/shm", 0.125), ("/var/tmp", 0.0625),
                ("/run/lock", 0.0625))
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_NEWUSER = 0x10000000
#: defences a kit test may switch off to show that its attack then succeeds (never on Gradescope)
DISABLE_VAR = "AUTOGRADER_UNSAFE_DISABLE"


def disabled(defence: str) -> bool:
    """True when the kit's teeth tests switched ``defence`` off (AUTOGRADER_UNSAFE_DISABLE=a,b)."""
    return defence in (os.environ.get(DISABLE_VAR) or "").split(",")


class IsolationError(RuntimeError):
    """The worker could not be confined as required; student code must not run."""


def is_root() -> bool:
    return os.geteuid() == 0


def _libc():
    return ctypes.CDLL(None, use_errno=True)


def uid_lock_path(uid: int) -> str:
    """The lock file a grading holds for as long as it uses ``uid`` (flock)."""
    lock_dir = "/run/lock/agk-sandbox" if os.path.isdir("/run/lock") else "/tmp/agk-sandbox-locks"
    os.makedirs(lock_dir, mode=0o700, exist_ok=True)
    os.chmod(lock_dir, 0o700)
    return os.path.join(lock_dir, "uid-%d.lock" % uid)


def claim_uid() -> tuple:
    """Claim a free uid from the pool; returns (uid, lock file descriptor). Root only."""
    for uid in UID_POOL:
        fd = os.open(uid_lock_path(uid), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        if not processes_of(uid):
            remove_stale_folders(uid)
            return uid, fd
        os.close(fd)  # leftovers of a crashed run: skip this uid
    raise IsolationError("no free sandbox uid in %d-%d" % (UID_POOL.start, UID_POOL.stop - 1))


def remove_stale_folders(uid: int) -> None:
    """Folders a crashed grading of ``uid`` left in the sandbox base: they are open to ``uid``'s group,
    so the next grading that gets this uid could read them. Called with the uid's lock held."""
    base = sandbox_base()
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        path = os.path.join(base, name)
        if name.startswith(("agk-grading-", "agk-worker-")) and not name.startswith("agk-worker-venv-"):
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if st.st_gid == uid or st.st_uid == uid:
                shutil.rmtree(path, ignore_errors=True)


def processes_of(uid: int) -> list:
    """PIDs of the live (not zombie) processes whose real uid is ``uid``."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/status" % name, encoding="ascii", errors="replace") as fh:
                status = fh.read()  # run after every call: find the two fields, parse nothing else
        except OSError:
            continue
        real_uid = _status_field(status, "Uid")
        if real_uid and int(real_uid.split()[0]) == uid and not _status_field(status, "State").startswith("Z"):
            pids.append(int(name))
    return pids


def _status_field(status: str, name: str) -> str:
    """The value of one ``Name:\tvalue`` line of /proc/PID/status ("" when it has none)."""
    if status.startswith(name + ":"):
        at = -1
    else:
        at = status.find("\n%s:" % name)
        if at < 0:
            return ""
    start = at + len(name) + 2
    end = status.find("\n", start)
    return status[start:end if end >= 0 else None].strip()


def kill_uid(uid: int, rounds: int = 50, keep=None) -> int:
    """SIGKILL every process of ``uid`` but those in ``keep`` (a pid or a set; repeatedly, to
    catch forks in flight)."""
    import time

    keep = {keep} if isinstance(keep, int) else set(keep or ())
    killed = 0
    for _ in range(rounds):
        pids = [p for p in processes_of(uid) if p not in keep]
        if not pids:
            break
        if killed:
            time.sleep(0.01)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except ProcessLookupError:
                pass
        for pid in pids:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
    return killed


def remove_files_of(uid: int, roots=("/tmp", "/var/tmp", "/dev/shm", "/run/lock")) -> int:
    """Delete files and folders owned by ``uid`` under ``roots`` (used when no private tmpfs)."""
    removed = 0
    for root in roots:
        if not os.path.isdir(root):
            continue
        for dirpath, dirnames, filenames in os.walk(root, topdown=True):
            for name in list(dirnames):
                path = os.path.join(dirpath, name)
                try:
                    if os.lstat(path).st_uid == uid:
                        shutil.rmtree(path, ignore_errors=True)
                        dirnames.remove(name)
                        removed += 1
                except OSError:
                    dirnames.remove(name)
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    if os.lstat(path).st_uid == uid:
                        os.unlink(path)
                        removed += 1
                except OSError:
                    pass
    return removed


def probe_namespaces() -> dict:
    """Which namespaces this kernel/container lets root create (tested in a throwaway child)."""
    result = {}
    for name, flag in (("net", CLONE_NEWNET), ("mount", CLONE_NEWNS)):
        pid = os.fork()
        if pid == 0:  # child: try, report by exit code, never return
            try:
                ok = _libc().unshare(flag) == 0
            except Exception:
                ok = False
            os._exit(0 if ok else 1)
        _, status = os.waitpid(pid, 0)
        result[name] = os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    return result


# ------------------------------------------------------------------ seccomp (no new user namespaces)
_AUDIT_ARCH = {"x86_64": (0xC000003E, {"clone": 56, "unshare": 272, "clone3": 435}),
               "aarch64": (0xC00000B7, {"clone": 220, "unshare": 97, "clone3": 435})}
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000


def _seccomp_program():
    """A classic-BPF seccomp filter: unshare/clone with CLONE_NEWUSER fail with EPERM, clone3 (whose
    flags a filter cannot read) with ENOSYS so that libc falls back to clone, other architectures'
    and x32 system calls with ENOSYS; everything else is allowed. None on an unknown machine."""
    arch = os.uname().machine
    if arch not in _AUDIT_ARCH:
        return None
    audit, nr = _AUDIT_ARCH[arch]
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    enosys, eperm = _SECCOMP_RET_ERRNO | errno.ENOSYS, _SECCOMP_RET_ERRNO | errno.EPERM
    prog = [(ld, 0, 0, 4),                       # 0  A = arch
            (jeq, 1, 0, audit),                  # 1  our architecture? skip the next
            (ret, 0, 0, enosys),                 # 2
            (ld, 0, 0, 0),                       # 3  A = syscall number
            (jge, 0, 1, 0x40000000 if arch == "x86_64" else 0xFFFFFFFF),  # 4  x32 ABI
            (ret, 0, 0, enosys),                 # 5
            (jeq, 0, 1, nr["clone3"]),           # 6
            (ret, 0, 0, enosys),                 # 7
            (jeq, 1, 0, nr["unshare"]),          # 8
            (jeq, 0, 3, nr["clone"]),            # 9
            (ld, 0, 0, 16),                      # 10 A = low half of the first argument (flags)
            (jset, 0, 1, CLONE_NEWUSER),         # 11
            (ret, 0, 0, eperm),                  # 12
            (ret, 0, 0, _SECCOMP_RET_ALLOW)]     # 13
    return prog


def _install_seccomp(prog) -> bool:
    """no_new_privs, then the filter (the kernel requires the first for the second)."""
    class Filter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                    ("k", ctypes.c_uint)]

    class Prog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Filter))]

    filters = (Filter * len(prog))(*[Filter(*ins) for ins in prog])
    fprog = Prog(len(prog), ctypes.cast(filters, ctypes.POINTER(Filter)))
    libc = _libc()
    return libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) == 0


def _set_no_new_privs() -> bool:
    return _libc().prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0


def probe_no_new_privs() -> bool:
    """Whether this kernel/container lets a process set no_new_privs (tested in a throwaway child)."""
    pid = os.fork()
    if pid == 0:
        try:
            ok = _set_no_new_privs()
        except Exception:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def probe_seccomp() -> bool:
    """Whether this kernel/container accepts the filter and it refuses a new user namespace."""
    prog = _seccomp_program()
    if prog is None:
        return False
    pid = os.fork()
    if pid == 0:
        try:
            ok = _set_no_new_privs() and _install_seccomp(prog) and _libc().unshare(CLONE_NEWUSER) != 0
        except Exception:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    return os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


class Confinement:
    """Everything needed to start one confined worker (root harness only)."""

    def __init__(self, limits: dict | None = None, cut_network: bool = True, private_tmp: bool = True,
                 uid: int | None = None):
        """uid: the sandbox uid the harness claimed for this grading (it holds the lock and cleans
        up after pytest, whatever happens to it); None claims one here."""
        if not is_root():
            raise IsolationError("confinement needs root")
        self.limits = dict(DEFAULT_LIMITS)
        self.limits.update(limits or {})
        if uid is None:
            self.uid, self._lock_fd = claim_uid()
        else:
            if int(uid) not in UID_POOL:
                raise IsolationError("sandbox uid %s is outside the pool %d-%d" % (uid, UID_POOL.start, UID_POOL.stop - 1))
            self.uid, self._lock_fd = int(uid), None
        self.gid = self.uid
        available = probe_namespaces()
        self.cut_network = cut_network and available["net"] and not disabled("network")
        self.private_tmp = private_tmp and available["mount"] and not disabled("private-tmp")
        # probed first: a worker that fails to set either would not start at all
        self.no_new_privs = not disabled("no-new-privs") and probe_no_new_privs()
        self.seccomp = self.no_new_privs and not disabled("seccomp") and probe_seccomp()
        self.notes = []
        if cut_network and not self.cut_network:
            self.notes.append("network NOT cut: this kernel/container does not allow network namespaces")
        if private_tmp and not self.private_tmp:
            self.notes.append("no private /tmp: files the worker leaves are deleted after grading instead")
        if not self.no_new_privs and not disabled("no-new-privs"):
            self.notes.append("no_new_privs NOT set: this kernel/container refused it")
        if not self.seccomp:
            self.notes.append("no seccomp filter: this kernel/container refused it, so the worker could "
                              "create user namespaces (no_new_privs %s)" % ("set" if self.no_new_privs else "NOT set"))

    def describe(self) -> str:
        lim = self.limits
        return ("worker uid %d; network %s; private tmpfs %s (%d MB, %d files per mount); no_new_privs %s; "
                "seccomp %s; limits: %d MB address space, %d s CPU, %d processes, %d MB per file, %d open files"
                % (self.uid, "cut" if self.cut_network else "NOT cut", "yes" if self.private_tmp else "no",
                   lim["tmpfs_mb"], lim["tmpfs_inodes"], "yes" if self.no_new_privs else "NO",
                   "yes" if self.seccomp else "NO",
                   lim["memory_mb"], lim["cpu_seconds"], lim["processes"], lim["file_mb"], lim["open_files"]))

    def prepare(self, workdir: str, scratch: str) -> None:
        """Ownership: the worker owns only its scratch folder; the rest of workdir is root's and
        readable by this grading's group alone (another grading's uid cannot even enter it)."""
        for dirpath, dirnames, filenames in os.walk(workdir):
            os.chown(dirpath, 0, self.gid)
            os.chmod(dirpath, 0o750)
            for name in filenames:
                path = os.path.join(dirpath, name)
                os.chown(path, 0, self.gid)
                os.chmod(path, 0o640)
        if disabled("private-folders"):
            for dirpath, dirnames, filenames in os.walk(workdir):
                os.chmod(dirpath, 0o755)
                for name in filenames:
                    os.chmod(os.path.join(dirpath, name), 0o644)
        os.chown(scratch, self.uid, self.gid)
        os.chmod(scratch, 0o700)

    def spec(self, scratch: str) -> dict:
        """What ``confine`` needs to confine one worker (plain data: it crosses to a template's fork)."""
        lim = self.limits
        sizes = {where: "size=%dk,nr_inodes=%d" % (max(int(lim["tmpfs_mb"] * 1024 * share), 1024),
                                                   lim["tmpfs_inodes"])
                 for where, share in TMPFS_SHARES}
        if disabled("tmpfs-caps"):  # the kit's teeth test: the old 128 MB per mount, no file cap
            sizes = {where: "size=128m" for where, _ in TMPFS_SHARES}
        return {"uid": self.uid, "gid": self.gid, "net": self.cut_network, "tmp": self.private_tmp,
                "no_new_privs": self.no_new_privs, "seccomp": self.seccomp, "scratch": scratch,
                "drop": not disabled("uid-drop"),  # only the kit's teeth tests switch it off
                "limits": dict(lim), "sizes": sizes}

    def preexec(self, scratch: str):
        """A preexec_fn for Popen: namespaces, tmpfs, rlimits, then drop to the sandbox uid."""
        spec = self.spec(scratch)
        filt = _seccomp_program() if spec["seccomp"] else None
        return lambda: confine(spec, filt)

    def cleanup(self, keep=None) -> None:
        kill_uid(self.uid, keep=keep)
        if not self.private_tmp:
            remove_files_of(self.uid)

    def release(self) -> None:
        self.cleanup()
        if self._lock_fd is not None:  # (a uid claimed by the harness stays locked by the harness)
            os.close(self._lock_fd)
            self._lock_fd = None


def confine(spec: dict, filt=None) -> None:
    """In the new worker process, before any student code: namespaces, private tmpfs mounts, rlimits,
    then drop to the sandbox uid, no_new_privs and the seccomp filter. A step that fails ends the
    process with its EXIT_REASONS code (the harness reports it; student code never runs unconfined)."""
    libc = _libc()
    lim, sizes, scratch = spec["limits"], spec["sizes"], spec["scratch"]
    uid, gid, net, tmp = spec["uid"], spec["gid"], spec["net"], spec["tmp"]
    if filt is None and spec["seccomp"]:
        filt = _seccomp_program()
    flags = (CLONE_NEWNET if net else 0) | (CLONE_NEWNS if tmp else 0)
    if flags and libc.unshare(flags) != 0:
        os._exit(120)
    if tmp:
        if libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
            os._exit(121)
        for target, opts in (("/tmp", "mode=1777," + sizes["/tmp"]),
                             ("/var/tmp", "mode=1777," + sizes["/var/tmp"]),
                             ("/dev/shm", "mode=1777," + sizes["/dev/shm"]),
                             ("/run/lock", "mode=1777," + sizes["/run/lock"]),
                             (scratch, "mode=700,uid=%d,gid=%d,%s" % (uid, gid, sizes["scratch"]))):
            if os.path.isdir(target) and libc.mount(b"tmpfs", target.encode(), b"tmpfs",
                                                    MS_NOSUID | MS_NODEV, opts.encode()) != 0:
                os._exit(122)
    for res, value in ((resource.RLIMIT_AS, lim["memory_mb"] << 20),
                       (resource.RLIMIT_CPU, lim["cpu_seconds"]),
                       (resource.RLIMIT_NPROC, lim["processes"]),
                       (resource.RLIMIT_FSIZE, lim["file_mb"] << 20),
                       (resource.RLIMIT_NOFILE, lim["open_files"]),
                       (resource.RLIMIT_CORE, 0)):
        resource.setrlimit(res, (value, value))
    if spec["drop"]:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        if os.getuid() != uid or os.geteuid() != uid:
            os._exit(123)
    if spec["no_new_privs"] and not _set_no_new_privs():
        os._exit(124)
    if filt is not None and not _install_seccomp(filt):
        os._exit(125)


EXIT_REASONS = {120: "could not create the sandbox namespaces", 121: "could not make mounts private",
                122: "could not mount the private tmpfs", 123: "could not drop privileges",
                124: "could not set no_new_privs", 125: "could not install the seccomp filter"}


def check_python_reachable(python: str, confinement: Confinement) -> None:
    """Fail loudly (IsolationError) if ``python`` cannot run as the sandbox uid."""
    try:
        proc = subprocess.run([python, "-I", "-c", "import numpy"], capture_output=True, text=True, timeout=120,
                              cwd="/", env=dict({"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
                                                **worker_library_path()),
                              preexec_fn=_drop_only(confinement.uid, confinement.gid))
        returncode, stderr = proc.returncode, proc.stderr
    except OSError as exc:  # exec itself refused
        returncode, stderr = -1, str(exc)
    if returncode == 0 and confinement.private_tmp and under_masked(python):
        returncode, stderr = -1, "it lies under /tmp, /var/tmp or /dev/shm, which the worker sees as empty"
    if returncode != 0:
        detail = (stderr.strip().splitlines() or ["exit status %d" % returncode])[-1]
        raise IsolationError(
            "the sandbox worker cannot run %s as uid %d (%s). Every folder above the interpreter and its "
            "site-packages must be readable and traversable by other users; set AUTOGRADER_WORKER_PYTHON "
            "to such a venv. Student code was NOT run as root." % (python, confinement.uid, detail))


def worker_library_path() -> dict:
    from . import worker_library_path as wlp

    return wlp()


def _drop_only(uid, gid):
    def run():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    return run


SANDBOX_BASE = "/var/lib/agk-sandbox"  # outside /tmp, /var/tmp and /dev/shm, which the worker sees as tmpfs


def sandbox_base() -> str:
    return os.environ.get("AUTOGRADER_SANDBOX_BASE") or SANDBOX_BASE


def mirror_venv(python: str, dest_root: str | None = None) -> str:
    """A world-readable hard-link copy of the venv holding ``python`` (for checkouts in private folders).

    Hard links share the files' bytes and permissions, so this is fast and small; it
    is reused while the source venv is unchanged. Returns the mirrored interpreter.
    """
    # the venv itself, not a link to it (setup.sh's AUTOGRADER_EXISTING_VENV makes $ROOT/venv a
    # link): a copied link would still point where the worker cannot go
    venv = os.path.realpath(os.path.dirname(os.path.dirname(os.path.abspath(python))))
    if not os.path.exists(os.path.join(venv, "pyvenv.cfg")):
        raise IsolationError("%s is not inside a venv; set AUTOGRADER_WORKER_PYTHON to a venv's python that "
                             "every user can run" % python)
    dest_root = dest_root or sandbox_base()
    os.makedirs(dest_root, mode=0o755, exist_ok=True)
    stamp = "%s-%x" % (hashlib.sha256(venv.encode()).hexdigest()[:12],
                       int(os.stat(os.path.join(venv, "pyvenv.cfg")).st_mtime))
    dest = os.path.join(dest_root, "agk-worker-venv-" + stamp)
    target = os.path.join(dest, "bin", os.path.basename(python))
    if os.path.exists(os.path.join(dest, ".complete")) and not os.path.islink(dest):
        return target
    if os.path.islink(dest):  # left by an earlier kit that copied the link, not the venv
        os.unlink(dest)
    tmp = dest + ".tmp-%d" % os.getpid()
    shutil.rmtree(tmp, ignore_errors=True)
    proc = subprocess.run(["cp", "-al", venv, tmp], capture_output=True, text=True)
    if proc.returncode != 0:  # another file system: a full copy
        shutil.rmtree(tmp, ignore_errors=True)
        if subprocess.run(["cp", "-a", venv, tmp]).returncode != 0:
            shutil.rmtree(tmp, ignore_errors=True)
            raise IsolationError("could not copy the venv %s to %s for the sandbox user" % (venv, dest_root))
    for dirpath, dirnames, filenames in os.walk(tmp):
        os.chmod(dirpath, 0o755)
    open(os.path.join(tmp, ".complete"), "w").close()
    try:
        os.rename(tmp, dest)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
            raise
    return target


def reachable_python(python: str) -> str:
    """``python``, or a hard-link mirror of its venv when a folder above the venv is closed to
    other users (a checkout in /root, say). An interpreter outside a venv is returned as is;
    if the sandbox uid cannot run it, the first call fails loudly."""
    if needs_mirror(python) and os.path.exists(
            os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(python))), "pyvenv.cfg")):
        return mirror_venv(python)
    return python


MASKED = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")  # private tmpfs mounts in the worker's mount namespace


def under_masked(path: str) -> bool:
    """True when ``path`` (as given, or resolved) is under a folder the worker sees as empty tmpfs.
    A venv's bin/python is a symlink: the worker execs the path as given, so both count."""
    return any(p == m or p.startswith(m + os.sep)
               for p in (os.path.abspath(path), os.path.realpath(path)) for m in MASKED)


def needs_mirror(python: str) -> bool:
    """True when the worker could not reach ``python``'s venv: a folder above it is closed to
    other users (e.g. a checkout in /root), or it lies under /tmp, /var/tmp or /dev/shm, which
    the worker sees as empty private tmpfs mounts."""
    d = os.path.dirname(os.path.dirname(os.path.abspath(python)))
    if under_masked(d):
        return True
    while True:
        if not os.stat(d).st_mode & 0o001:
            return True
        parent = os.path.dirname(d)
        if parent == d:
            return False
        d = parent
