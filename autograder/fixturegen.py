"""Write and check the public fixtures of an assignment (instructor side; never shipped).

``python -m autograder fixtures [ID...]`` (``make fixtures``) runs every case builder
of ``assignments/<id>/tests/cases.py`` on generators seeded by
:data:`autograder.fixtures.PUBLIC_SEED`, in a fresh interpreter per assignment (each
assignment's ``oracles`` module has the same name), and writes
``assignments/<id>/tests/fixtures/{public.json, public.npz}``.

``public.json`` records a digest of everything the values depend on (the solution,
``tests/*.py`` with the oracles and the cases, the probes) and of the fixture content
itself. :func:`problem` compares both, so a changed solution or oracle, or a fixture
edited by hand, stops ``make release`` and ``make check`` with one line naming the
command that regenerates them.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import zipfile

from .config import Kit
from .fixtures import FIXTURES_DIR, FORMAT, JSON_NAME, NPZ_NAME, PUBLIC_SEED, Case, fixture_key
from .starter import iter_files, write_folder

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def command(aid: str) -> str:
    return "make fixtures ASSIGNMENTS=%s (or .venv/bin/python -m autograder fixtures %s)" % (aid, aid)


def tests_dir(kit: Kit, aid: str) -> str:
    return kit.path("assignments", aid, "tests")


def fixtures_dir(kit: Kit, aid: str) -> str:
    return kit.path("assignments", aid, FIXTURES_DIR)


def has_cases(kit: Kit, aid: str) -> bool:
    return os.path.exists(os.path.join(tests_dir(kit, aid), "cases.py"))


def sources_digest(kit: Kit, aid: str) -> str:
    """SHA-256 over the files fixture values depend on: solutions/<id>/**, tests/*.py, tests/probes/**."""
    h = hashlib.sha256(b"format %d seed %d\0" % (FORMAT, PUBLIC_SEED))
    tdir = tests_dir(kit, aid)
    groups = [("solutions", kit.path("solutions", aid), iter_files(kit.path("solutions", aid))),
              ("tests", tdir, sorted(n for n in os.listdir(tdir) if n.endswith(".py"))),
              ("probes", os.path.join(tdir, "probes"),
               iter_files(os.path.join(tdir, "probes")) if os.path.isdir(os.path.join(tdir, "probes")) else [])]
    for label, root, rels in groups:
        for rel in rels:
            with open(os.path.join(root, rel), "rb") as fh:
                h.update(("%s/%s" % (label, rel.replace(os.sep, "/"))).encode() + b"\0" + fh.read() + b"\0")
    return h.hexdigest()


def content_digest(cases_json: dict, npz_bytes: bytes) -> str:
    text = json.dumps(cases_json, sort_keys=True, allow_nan=False).encode("utf-8")
    return hashlib.sha256(text + b"\0" + npz_bytes).hexdigest()


# ---------------------------------------------------------------- generation (runs in a child interpreter)
def _collect_cases(module) -> list:
    seen, out = set(), []
    for value in vars(module).values():
        if isinstance(value, Case) and value.name not in seen:
            seen.add(value.name)
            out.append(value)
    return sorted(out, key=lambda c: c.name)


def _seed_torch():
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.manual_seed(0)


def build(tdir: str) -> tuple:
    """Run the cases of the tests folder ``tdir``; return (cases JSON, npz bytes, summary)."""
    from . import seeds
    from .sandbox import codec

    for path in (os.path.join(tdir, "public"), tdir):
        if path not in sys.path:
            sys.path.insert(0, path)
    import importlib

    module = importlib.import_module("cases")
    blobs, out = [], {}
    for c in _collect_cases(module):
        values = {}
        for param in (c.params or [None]):
            _seed_torch()
            rng = seeds.rng_for(PUBLIC_SEED, "fixture|" + fixture_key(c.name, param))
            value = c(rng, param)
            if not isinstance(value, dict):
                raise TypeError("case %s returned %s; a case returns a dict of values" % (c.name, type(value).__name__))
            try:
                values["" if param is None else param] = codec._encode_value(value, blobs)
            except codec.CodecError as exc:
                raise TypeError("case %s: %s" % (fixture_key(c.name, param), exc)) from None
        out[c.name] = {"params": c.params, "values": values}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, blob in enumerate(blobs):
            info = zipfile.ZipInfo("%05d.npy" % i, ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, blob)
    return out, buf.getvalue(), {"cases": len(out), "values": sum(len(v["values"]) for v in out.values()),
                                 "arrays": len(blobs)}


def _child(kit_root: str, aid: str, dest: str) -> None:
    kit = Kit(kit_root)
    cases_json, npz, summary = build(tests_dir(kit, aid))
    meta = {"format": FORMAT, "assignment": aid, "seed": PUBLIC_SEED,
            "generated_by": "python -m autograder fixtures %s" % aid,
            "note": "generated from tests/cases.py and the oracles; never edit by hand",
            "sources": sources_digest(kit, aid), "content": content_digest(cases_json, npz),
            "summary": summary, "cases": cases_json}
    with open(os.path.join(dest, NPZ_NAME), "wb") as fh:
        fh.write(npz)
    with open(os.path.join(dest, JSON_NAME), "w", encoding="utf-8", newline="\n") as fh:
        json.dump(meta, fh, separators=(",", ":"), allow_nan=False)
        fh.write("\n")


def generate(kit: Kit, aid: str, dest: str | None = None) -> str:
    """Regenerate the fixtures of ``aid`` (into ``dest``, default its tests/fixtures, swapped in when complete)."""
    if not has_cases(kit, aid):
        raise FileNotFoundError("assignments/%s/tests/cases.py does not exist: nothing to generate" % aid)
    final = dest or fixtures_dir(kit, aid)

    def fill(tmp):
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        env["PYTHONPATH"] = kit.root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        proc = subprocess.run([sys.executable, "-m", "autograder.fixturegen", kit.root, aid, tmp], env=env,
                              capture_output=True, text=True)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError("generating the fixtures of %s failed: %s\n%s" % (aid, last, proc.stderr[-3000:]))

    return write_folder(final, fill)


# ---------------------------------------------------------------- checking
def read_meta(folder: str) -> dict | None:
    try:
        with open(os.path.join(folder, JSON_NAME), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


def problem(kit: Kit, aid: str) -> str | None:
    """None when the committed fixtures of ``aid`` are up to date; else one line saying what to run."""
    folder = fixtures_dir(kit, aid)
    if not has_cases(kit, aid):
        if os.path.exists(folder):
            return ("assignments/%s/tests/fixtures exists but tests/cases.py does not; delete the folder or "
                    "write the cases" % aid)
        return None
    meta = read_meta(folder)
    if meta is None or not os.path.exists(os.path.join(folder, NPZ_NAME)):
        return "assignments/%s/tests/fixtures is missing or unreadable; run %s and commit" % (aid, command(aid))
    with open(os.path.join(folder, NPZ_NAME), "rb") as fh:
        npz = fh.read()
    if meta.get("format") != FORMAT or content_digest(meta.get("cases", {}), npz) != meta.get("content"):
        return ("assignments/%s/tests/fixtures was edited by hand (its content does not match its digest); "
                "run %s and commit" % (aid, command(aid)))
    if meta.get("sources") != sources_digest(kit, aid):
        return ("the public fixtures of %s are out of date with solutions/%s, its oracles or tests/cases.py; "
                "run %s and commit" % (aid, aid, command(aid)))
    return None


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 3:
        print("usage: python -m autograder.fixturegen KIT_ROOT ID DEST (use `python -m autograder fixtures`)",
              file=sys.stderr)
        return 2
    t0 = time.monotonic()
    _child(*argv)
    print("generated in %.1f s" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
