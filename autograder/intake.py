"""Find a submission's required files, wherever the student put them.

Students upload loose files, a folder, or a zip (possibly with the folder inside
it, or ``__MACOSX`` debris). For each required path such as
``neural_nets/functional.py`` we take, in order of preference: a file whose path
ends with the whole required path, else a file with the same name; the least
nested one wins. Zips are read with limits on size and file count, and no
member is written outside the extraction folder.

No upload can make intake fail: a zip or a zip member that cannot be read
(password-protected, corrupt, cut short, an unknown compression method) and a
file whose name is not valid UTF-8 are skipped with a note saying so, and the
files that were fine are still graded. Intake is bounded as a whole, not only
per zip: all the zips of one upload together unpack to at most
``MAX_TOTAL_BYTES`` and ``MAX_TOTAL_FILES``, and unpacking stops after
``MAX_INTAKE_SECONDS``; what was found by then is graded, with a note.
"""
from __future__ import annotations

import os
import shutil
import time
import zipfile
import zlib

SKIP_DIRS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}
#: Limits for one zip: a real submission is a few hundred kB in a few dozen files.
MAX_ZIP_BYTES = 50 << 20
MAX_ZIP_FILES = 2000
#: Limits for all the zips of one upload together (40 small zip bombs must not fill the disk):
#: twice one zip's limit, so one honest zip beside a stray one always fits.
MAX_TOTAL_BYTES = 100 << 20
MAX_TOTAL_FILES = 5000
#: Unpacking stops after this long (it counts against the grading budget, 300 s or more).
MAX_INTAKE_SECONDS = 60.0
#: At most this many names are listed in one note.
NAMES_SHOWN = 5


def shown(text: str) -> str:
    """``text`` as valid UTF-8 text: bytes that are not UTF-8 appear as ``\\xff`` escapes."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a lone surrogate that is not an escaped byte
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _utf8_ok(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _listed(names: list) -> str:
    more = len(names) - NAMES_SHOWN
    return ", ".join(names[:NAMES_SHOWN]) + (" and %d more" % more if more > 0 else "")


class _OutOfTime(Exception):
    pass


class _Limits:
    """What is left to one upload's zips together: bytes, files and time."""

    def __init__(self, max_bytes=float("inf"), max_files=float("inf"), seconds: float | None = None):
        self.max_bytes, self.max_files, self.seconds = max_bytes, max_files, seconds
        self.bytes_left, self.files_left = max_bytes, max_files
        self.deadline = float("inf") if seconds is None else time.monotonic() + seconds
        self.stopped = False

    def out_of_time(self) -> bool:
        return time.monotonic() > self.deadline

    def stop(self, why: str, where: str, notes: list) -> None:
        """Stop all unpacking, saying so once."""
        if not self.stopped:
            self.stopped = True
            notes.append("%s; unpacking stopped at %s and the rest was ignored (upload only the files the "
                         "assignment asks for)" % (why, where))

    def stop_for_time(self, where: str, notes: list) -> None:
        self.stop("unpacking your upload took more than %g s" % self.seconds, where, notes)

    def admit(self, size: int, where: str, notes: list) -> bool:
        """Room for one more file of ``size`` bytes? If not, stop (with a note)."""
        if self.stopped:
            return False
        if self.out_of_time():
            self.stop_for_time(where, notes)
        elif self.files_left < 1:
            self.stop("the zips in your upload hold more than %d files together" % self.max_files, where, notes)
        elif size > self.bytes_left:
            self.stop("the zips in your upload unpack to more than %d MB together" % (self.max_bytes >> 20),
                      where, notes)
        else:
            self.files_left -= 1
            self.bytes_left -= size
            return True
        return False


def _why(exc: BaseException) -> str:
    """What went wrong reading a zip or a member, in words for a student."""
    text = str(exc)
    if isinstance(exc, UnicodeDecodeError):
        return "a file name in it is not valid UTF-8"
    if isinstance(exc, RuntimeError) and "encrypted" in text:
        return "password-protected"
    if "CRC" in text:
        return "corrupt data (CRC check failed)"
    if isinstance(exc, zlib.error):
        return "corrupt compressed data"
    if isinstance(exc, NotImplementedError):
        return "unsupported compression method"
    if isinstance(exc, EOFError):
        return "cut short"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return shown(text or type(exc).__name__)[:200]


def _write_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: str, limits: _Limits) -> None:
    """Unpack one member to ``target``; on any failure no partial file is left."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with zf.open(info) as src:
        out = open(target, "wb")
        try:
            remaining = info.file_size
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                remaining -= len(chunk)
                if remaining < 0:
                    raise zipfile.BadZipFile("larger than its header says")
                out.write(chunk)
                if limits.out_of_time():
                    raise _OutOfTime()
            out.close()
        except BaseException:
            out.close()
            os.unlink(target)
            raise


def _extract_zip(path: str, dest: str, notes: list, max_bytes: int = MAX_ZIP_BYTES,
                 max_files: int = MAX_ZIP_FILES, limits: _Limits | None = None) -> None:
    """Unpack ``path`` into ``dest``: no member outside it, at most ``max_files`` files and
    ``max_bytes`` unpacked (and within ``limits``, shared by all the zips of one upload);
    anything left out or unreadable is said in ``notes``. Never raises for a bad zip."""
    limits = limits or _Limits()
    name = shown(os.path.basename(path))
    skipped = []  # (member, why)
    written = 0
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > max_files:
                notes.append("%s has %d files; only the first %d were read" % (name, len(infos), max_files))
                infos = infos[:max_files]
            total = 0
            for info in infos:
                parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
                if not parts or ".." in parts or any(p in SKIP_DIRS for p in parts) or info.filename.startswith("/"):
                    continue
                if not _utf8_ok(info.filename):
                    skipped.append((shown(info.filename), "name not valid UTF-8"))
                    continue
                if info.flag_bits & 0x1:
                    skipped.append((info.filename, "password-protected"))
                    continue
                total += info.file_size
                if total > max_bytes:
                    notes.append("%s unpacks to more than %d MB; the rest was ignored" % (name, max_bytes >> 20))
                    break
                if not limits.admit(info.file_size, name, notes):
                    break
                try:
                    _write_member(zf, info, os.path.join(dest, *parts), limits)
                    written += 1
                except _OutOfTime:
                    limits.stop_for_time(name, notes)
                    break
                except Exception as exc:  # this member only: the others still count
                    skipped.append((info.filename, _why(exc)))
    except Exception as exc:
        notes.append("could not read %s (%s); upload a standard .zip or the files themselves" % (name, _why(exc)))
    if skipped and not written and all(why == "password-protected" for _, why in skipped):
        notes.append("%s is password-protected, so its files were skipped; zip them again without a password, "
                     "or upload the files themselves" % name)
    elif skipped:
        notes.append("%d file%s in %s could not be unpacked and %s skipped: %s; zip your files again with a "
                     "standard tool (no password), or upload the files themselves"
                     % (len(skipped), "" if len(skipped) == 1 else "s", name,
                        "was" if len(skipped) == 1 else "were",
                        _listed(["%s (%s)" % (m, why) for m, why in skipped])))


def _candidates(root: str, bad_names: list | None = None) -> list:
    """Relative paths of the regular files under ``root`` (no symlinks, no skipped folders).

    Files and folders whose names are not valid UTF-8 are left out and, if
    ``bad_names`` is given, added to it (as shown text)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        keep = []
        for d in sorted(dirnames):
            if d in SKIP_DIRS or os.path.islink(os.path.join(dirpath, d)):
                continue
            if not _utf8_ok(d):
                if bad_names is not None:
                    rel = os.path.relpath(os.path.join(dirpath, d), root).replace(os.sep, "/")
                    bad_names.append(shown(rel) + "/")
                continue
            keep.append(d)
        dirnames[:] = keep
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            if not _utf8_ok(rel):
                if bad_names is not None:
                    bad_names.append(shown(rel))
                continue
            out.append(rel)
    return out


def locate(submission: str, required: list, scratch: str, optional=(), max_file_mb: float | None = None,
           time_limit: float | None = MAX_INTAKE_SECONDS) -> dict:
    """Map each required (and optional) path to a readable file; unpack zips into ``scratch``.

    An optional file that is absent is simply left out; a file larger than
    ``max_file_mb`` is refused with a note (a required one then counts as missing).
    All zips together unpack to at most ``MAX_TOTAL_BYTES`` in ``MAX_TOTAL_FILES``
    files, within ``time_limit`` seconds; then unpacking stops, with a note.

    Returns {"files": {rel: abs path}, "found": [...], "missing": [...], "notes": [...]};
    every string in found, missing and notes is valid UTF-8 text.
    """
    notes: list = []
    bad_names: list = []
    limits = _Limits(MAX_TOTAL_BYTES, MAX_TOTAL_FILES, time_limit)
    loose = _candidates(submission, bad_names)
    roots = [(submission, loose)]
    for rel in loose:
        if not rel.lower().endswith(".zip") or limits.stopped:
            continue
        if limits.out_of_time():
            limits.stop_for_time(shown(os.path.basename(rel)), notes)
            continue
        dest = os.path.join(scratch, "unzipped%d" % len(roots))
        os.makedirs(dest, exist_ok=True)
        _extract_zip(os.path.join(submission, rel), dest, notes, limits=limits)
        roots.append((dest, _candidates(dest, bad_names)))
    if bad_names:
        what = "1 file or folder whose name is" if len(bad_names) == 1 else \
            "%d files or folders whose names are" % len(bad_names)
        notes.append("skipped %s not valid UTF-8: %s; rename %s (letters, digits, - and _) and upload again"
                     % (what, _listed(sorted(bad_names)), "it" if len(bad_names) == 1 else "them"))
    pool = [(root, rel) for root, rels in roots for rel in rels]
    files, missing = {}, []
    for want in list(required) + [rel for rel in optional if rel not in required]:
        base = want.split("/")[-1]
        exact = [(r, p) for r, p in pool if p == want or p.endswith("/" + want)]
        by_name = [(r, p) for r, p in pool if p.split("/")[-1] == base]
        choice = exact or by_name
        if not choice:
            if want in required:
                missing.append(want)
            continue
        choice.sort(key=lambda rp: (rp[1].count("/"), rp[1]))
        root, rel = choice[0]
        size = os.path.getsize(os.path.join(root, rel))
        if max_file_mb is not None and size > max_file_mb * (1 << 20):
            notes.append("%s is %.1f MB, over the %g MB limit for one file; it was not graded (make it smaller, "
                         "e.g. a model with fewer parameters, then upload again)" % (rel, size / 2**20, max_file_mb))
            if want in required:
                missing.append(want)
            continue
        files[want] = os.path.join(root, rel)
        if len(choice) > 1:
            notes.append("several files could be %s; used %s" % (want, rel))
    if missing:
        notebooks = sorted(p for _, p in pool if p.endswith(".ipynb"))
        if notebooks:
            notes.append("you uploaded %s, but the grader needs the .py files (%s); in your assignment folder, "
                         "run `python collect_submission.py` and upload the submission.zip it writes"
                         % (", ".join(notebooks[:3]), ", ".join(missing)))
    return {"files": files, "found": sorted(files), "missing": [shown(m) for m in missing],
            "notes": [shown(n) for n in notes]}


def assemble(located: dict, base_package: str, package: str, dest: str) -> str:
    """Build the graded package: the starter (given code) overlaid with the student's files.

    Required files the student did not submit are removed, so tests needing them
    say so instead of grading the starter's stub.
    """
    pkg_dest = os.path.join(dest, package)
    shutil.copytree(base_package, pkg_dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel, src in located["files"].items():
        target = os.path.join(dest, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(src, target)
    for rel in located["missing"]:
        target = os.path.join(dest, *rel.split("/"))
        if os.path.exists(target):
            os.unlink(target)
    return dest
