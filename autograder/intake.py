"""Find a submission's required files, wherever the student put them.

Students upload loose files, a folder, or a zip (possibly with the folder inside
it, or ``__MACOSX`` debris). For each required path such as
``neural_nets/functional.py`` we take, in order of preference: a file whose path
ends with the whole required path, else a file with the same name; the least
nested one wins. Zips are read with limits on size and file count, and no
member is written outside the extraction folder.
"""
from __future__ import annotations

import os
import shutil
import zipfile

SKIP_DIRS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__", ".git"}
MAX_ZIP_BYTES = 50 << 20
MAX_ZIP_FILES = 2000


def _extract_zip(path: str, dest: str, notes: list, max_bytes: int = MAX_ZIP_BYTES,
                 max_files: int = MAX_ZIP_FILES) -> None:
    """Unpack ``path`` into ``dest``: no member outside it, at most ``max_files`` files and
    ``max_bytes`` unpacked; anything left out or unreadable is said in ``notes``."""
    try:
        with zipfile.ZipFile(path) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
            if len(infos) > max_files:
                notes.append("%s has %d files; only the first %d were read"
                             % (os.path.basename(path), len(infos), max_files))
                infos = infos[:max_files]
            total = 0
            for info in infos:
                parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".")]
                if not parts or ".." in parts or any(p in SKIP_DIRS for p in parts) or info.filename.startswith("/"):
                    continue
                total += info.file_size
                if total > max_bytes:
                    notes.append("%s unpacks to more than %d MB; the rest was ignored"
                                 % (os.path.basename(path), max_bytes >> 20))
                    break
                target = os.path.join(dest, *parts)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    remaining = info.file_size
                    while True:
                        chunk = src.read(1 << 20)
                        if not chunk:
                            break
                        remaining -= len(chunk)
                        if remaining < 0:
                            raise zipfile.BadZipFile("member larger than declared")
                        out.write(chunk)
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
        notes.append("could not read %s (%s); upload a standard .zip or the files themselves"
                     % (os.path.basename(path), exc))


def _candidates(root: str) -> list:
    """Relative paths of the regular files under ``root`` (no symlinks, no skipped folders)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not os.path.islink(os.path.join(dirpath, d)))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full) or not os.path.isfile(full):
                continue
            out.append(os.path.relpath(full, root).replace(os.sep, "/"))
    return out


def locate(submission: str, required: list, scratch: str, optional=(), max_file_mb: float | None = None) -> dict:
    """Map each required (and optional) path to a readable file; unpack zips into ``scratch``.

    An optional file that is absent is simply left out; a file larger than
    ``max_file_mb`` is refused with a note (a required one then counts as missing).

    Returns {"files": {rel: abs path}, "found": [...], "missing": [...], "notes": [...]}.
    """
    notes: list = []
    roots = [submission]
    for rel in _candidates(submission):
        if rel.lower().endswith(".zip"):
            dest = os.path.join(scratch, "unzipped%d" % len(roots))
            os.makedirs(dest, exist_ok=True)
            _extract_zip(os.path.join(submission, rel), dest, notes)
            roots.append(dest)
    pool = [(root, rel) for root in roots for rel in _candidates(root)]
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
    return {"files": files, "found": sorted(files), "missing": missing, "notes": notes}


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
