"""The adversarial catalogue (cases.toml), graded through the real run_autograder.

For every case: results.json exists and validates; the score is what an honest
grader gives (computed by grading the honest equivalent); the expected message
is there; no hidden-test code and no expected value of a hidden test appears in
any field a student can see; grading finishes inside its budget; and nothing
outside the worker's folder changed (the autograder tree, host /tmp, leftover
processes or files of the sandbox uids).
"""
import contextlib
import fcntl
import hashlib
import io
import json
import os
import pathlib
import re
import shutil
import struct
import tempfile
import threading
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor

import pytest

from autograder.config import _load_toml
from autograder.sandbox.isolation import DISABLE_VAR, is_root, processes_of, uid_lock_path

from autograder.local import run_autograder
from autograder.results import validate_schema

from conftest import A1, KIT, break_function, build_tree, graded, max_total

#: Like Gradescope's /autograder: a world-traversable root, so only the harness's own
#: permissions (and the worker's namespaces) keep the worker out of source/ and results/.
GS_BASE = "/var/lib/agk-adversarial"

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = _load_toml(os.path.join(HERE, "cases.toml"))
REQUIRED = KIT.assignment(A1).required_files
HIDDEN_DIR = KIT.path("assignments", A1, "tests", "hidden")


def _reference(rel):
    with open(KIT.path("solutions", A1, rel)) as fh:
        return fh.read()


def _write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _prepend(text, code):
    """Insert ``code`` right after the module's ``import numpy as np`` line."""
    marker = "import numpy as np\n"
    i = text.index(marker) + len(marker)
    return text[:i] + code.strip("\n") + "\n" + text[i:]


def _hostile_zip(members, damaged=(), how="encrypted"):
    """A zip (bytes) of ``members`` ({name: text}) in which each member named in ``damaged`` is marked
    password-protected (the encryption flag in its local and central headers) or, with how="corrupt",
    has a deflate stream that starts with an invalid block type."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    data = bytearray(buf.getvalue())
    central = struct.unpack("<I", data[-6:-2])[0]  # end-of-central-directory record, no comment
    while data[central:central + 4] == b"PK\x01\x02":
        n, m, k = struct.unpack("<HHH", data[central + 28:central + 34])
        local = struct.unpack("<I", data[central + 42:central + 46])[0]
        if data[central + 46:central + 46 + n].decode() in damaged:
            if how == "encrypted":
                data[central + 8] |= 1
                data[local + 6] |= 1
            else:
                ln, lm = struct.unpack("<HH", data[local + 26:local + 30])
                data[local + 30 + ln + lm] |= 0x06
        central += 46 + n + m + k
    return bytes(data)


def materialise(case, dest):
    """Write the case's submission (the reference plus its hostile change) into ``dest``."""
    os.makedirs(dest, exist_ok=True)
    files = {rel: _reference(rel) for rel in REQUIRED}
    rel = case.get("file", "neural_nets/functional.py")
    if "prepend" in case:
        files[rel] = _prepend(files[rel], case["prepend"])
    for change in ([case] if "function" in case else []) + case.get("extra", []):
        files[rel] = break_function(files[rel], change["function"], change["body"].strip("\n"))
    layout = case.get("layout", "plain")
    if layout == "notebook":
        shutil.copy(KIT.path("student_starter", A1, "a1_neural_nets.ipynb"), os.path.join(dest, "a1_neural_nets.ipynb"))
        return dest
    if layout in ("plain", "odd-names", "symlink-shadow", "symlink-hidden", "encrypted-zip",
                  "many-zip-bombs"):
        for r, text in files.items():
            _write(dest, r, text)
    if layout == "odd-names":
        for name in ("résumé.py", "a b (1).py", "\U0001F600.txt", "..hidden", "CON", "x" * 200 + ".py",
                     "neural_nets/функции.py"):
            _write(dest, name, "print('odd')\n")
    if layout == "symlink-shadow":
        os.unlink(os.path.join(dest, "neural_nets/functional.py"))
        os.symlink("/etc/shadow", os.path.join(dest, "neural_nets/functional.py"))
    if layout == "symlink-hidden":
        os.unlink(os.path.join(dest, "neural_nets/models.py"))
        os.symlink("../../source/tests/hidden/test_models_hidden.py", os.path.join(dest, "neural_nets/models.py"))
    if layout == "zipbomb":
        with zipfile.ZipFile(os.path.join(dest, "submission.zip"), "w", zipfile.ZIP_DEFLATED) as zf:
            for r, text in files.items():
                zf.writestr(r, text)
            with zf.open("bomb.bin", "w", force_zip64=True) as fh:
                chunk = b"\0" * (1 << 20)
                for _ in range(1024):
                    fh.write(chunk)
    if layout == "encrypted-zip":
        with open(os.path.join(dest, "stray.zip"), "wb") as fh:
            fh.write(_hostile_zip(files, damaged=set(files)))
    if layout == "corrupt-zip":
        members = dict(files, **{"notes.txt": "my notes\n" * 1000})
        with open(os.path.join(dest, "submission.zip"), "wb") as fh:
            fh.write(_hostile_zip(members, damaged={"notes.txt"}, how="corrupt"))
    if layout == "non-utf8-name":  # the files in hw/; a\xfe/ sorts first, so without the defence it would win
        for r, text in files.items():
            _write(dest, os.path.join("hw", r), text)
        for name in (b"bad\xff.py", b"a\xfe"):
            path = os.path.join(os.fsencode(dest), name)
            if name.endswith(b".py"):
                with open(path, "w") as fh:
                    fh.write("print('odd')\n")
            else:
                os.makedirs(os.path.join(path, b"neural_nets"))
                with open(os.path.join(path, b"neural_nets", b"functional.py"), "w") as fh:
                    fh.write("raise SystemExit('not this one')\n")
    if layout == "many-zip-bombs":
        bomb = _hostile_zip({"zeros.bin": "\0" * (45 << 20)})
        for i in range(40):
            with open(os.path.join(dest, "bomb%02d.zip" % i), "wb") as fh:
                fh.write(bomb)
    return dest


def honest_submission(spec, dest):
    """The honest equivalent of a case: what an honest grader should score like it."""
    os.makedirs(dest, exist_ok=True)
    files = {rel: _reference(rel) for rel in REQUIRED}
    if spec == "zero":
        return dest
    if spec.startswith("stub:"):
        for fn in spec[5:].split(","):
            files["neural_nets/functional.py"] = break_function(
                files["neural_nets/functional.py"], fn, '    raise NotImplementedError("%s")' % fn)
    if spec.startswith("missing:"):
        files.pop(spec[8:])
    for rel, text in files.items():
        _write(dest, rel, text)
    return dest


def _tree_digest(root):
    h = hashlib.sha256()
    for dirpath, dirnames, filenames in sorted(os.walk(root)):
        dirnames.sort()
        for name in sorted(filenames):
            path = os.path.join(dirpath, name)
            h.update(path.encode())
            with open(path, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()


def grading_uid(data):
    """The sandbox uid of this grading, from the instructor-only diagnostics ("worker uid N")."""
    for line in data.get("extra_data", {}).get("diagnostics", []):
        m = re.search(r"worker uid (\d+)", line)
        if m:
            return int(m.group(1))
    return None


@contextlib.contextmanager
def holding_uid(uid, wait=600.0):
    """Hold ``uid``'s lock, as a grading does while it uses the uid: a grading that took the uid
    after ours (cases run two at a time) is then finished and cleaned, and none starts meanwhile."""
    fd = os.open(uid_lock_path(uid), os.O_CREAT | os.O_RDWR, 0o600)
    end = time.monotonic() + wait
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def _sandbox_leftovers(uid):
    """Processes and files of ``uid`` only (other gradings may run on this machine meanwhile);
    call it holding the uid's lock."""
    if uid is None:
        return [], []
    procs = processes_of(uid)
    files = []
    for root in ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/var/lib/agk-sandbox"):
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                try:
                    if os.lstat(os.path.join(dirpath, name)).st_uid == uid:
                        files.append(os.path.join(dirpath, name))
                except OSError:
                    pass
    return procs, files


def _hidden_code_lines():
    lines = set()
    for name in os.listdir(HIDDEN_DIR):
        if name.endswith(".py"):
            with open(os.path.join(HIDDEN_DIR, name)) as fh:
                for line in fh:
                    s = line.strip()
                    if len(s) >= 30 and not s.startswith(("#", '"""', "@")) and '"""' not in s:
                        lines.add(s)
    return lines


HIDDEN_LINES = _hidden_code_lines()
#: in submission_metadata.json, as earlier submissions' hidden results would be
METADATA_SECRET = "HIDDEN-RESULT-OF-AN-EARLIER-SUBMISSION"
_trees = {}
_honest = {}
_honest_lock = threading.Lock()


def _tree(tmp_path_factory, grading):
    key = json.dumps(grading or {}, sort_keys=True)
    if key not in _trees:
        _trees[key] = build_tree(tmp_path_factory.mktemp("adv-source") / "source", **(grading or {}))
    return _trees[key]


def _honest_results(tmp_path_factory, source, spec):
    key = (source, spec)
    with _honest_lock:  # cases may be graded side by side (PARALLEL)
        if key not in _honest:
            tmp = tmp_path_factory.mktemp("honest")
            _honest[key] = graded(source, honest_submission(spec, str(tmp / "sub")), tmp)
        return _honest[key]


def check_honest_score(tmp_path_factory, source, spec, data):
    """The score is what an honest grader gives.

    full / zero / delta / missing: exactly the honest equivalent's score. stub:f: every test
    that passes when f is simply unimplemented (the untouched functions) passes here too,
    and some test of each f fails; tests that only depend on f may go either way, since a
    wrong f is not the same as no f.
    """
    full = max_total(data)
    if spec == "full":
        assert data["score"] == full, [t["output"][:300] for t in data["tests"] if t["status"] == "failed"]
        return
    if spec.startswith("delta:"):
        assert abs(data["score"] - (full + float(spec[6:]))) < 1e-6, data["score"]
        return
    honest = _honest_results(tmp_path_factory, source, spec)
    if not spec.startswith("stub:"):
        assert abs(data["score"] - honest["score"]) < 1e-6, (data["score"], honest["score"])
        return
    hostile = {t["name"]: t for t in data["tests"]}
    for t in honest["tests"]:
        if t["status"] == "passed":
            assert hostile[t["name"]]["status"] == "passed", ("untouched test lost points", t["name"],
                                                            hostile[t["name"]]["output"][:500])
    for fn in spec[5:].split(","):
        assert any(fn in t["name"] + t["output"] and t["score"] < t["max_score"] for t in data["tests"]), fn


def grade_like_gradescope(template, submission, name, env=None):
    """Copy the autograder tree to <root>/source and the upload to <root>/submission, with <root>
    world-traversable as on Gradescope, and run <root>/source/run_autograder."""
    os.makedirs(GS_BASE, mode=0o755, exist_ok=True)
    root = os.path.join(GS_BASE, name)
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root, mode=0o755)
    os.chmod(root, 0o755)
    shutil.copytree(template, os.path.join(root, "source"))
    shutil.copytree(submission, os.path.join(root, "submission"), symlinks=True)
    for dirpath, dirnames, _ in os.walk(root):
        os.chmod(dirpath, 0o755)
    with open(os.path.join(root, "submission_metadata.json"), "w") as fh:  # as Gradescope writes it
        json.dump({"previous_submissions": [{"results": {"tests": [{"output": METADATA_SECRET}]}}]}, fh)
    before = _tree_digest(os.path.join(root, "source"))
    data = run_autograder(os.path.join(root, "source"), os.path.join(root, "submission"),
                          os.path.join(root, "results"), root, env=env)
    data.pop("_harness_log")
    validate_schema(data)
    return root, before, data


def run_case(name, tmp_path, tmp_path_factory, disabled=None):
    """Grade case ``name`` and check everything; an AssertionError says which check failed.
    ``disabled``: a defence switched off for this grading (AUTOGRADER_UNSAFE_DISABLE)."""
    case = CASES[name]
    template = _tree(tmp_path_factory, case.get("grading"))
    tag = name + ("-without-" + disabled if disabled else "")
    sentinel = os.path.join("/tmp", "agk-sentinel-%s" % tag)
    with open(sentinel, "w") as fh:
        fh.write("keep")
    sub = materialise(case, str(tmp_path / "sub"))
    start = time.monotonic()
    env = None
    if disabled:  # a case may need more for its attack to win without the defence (teeth_env)
        env = dict(case.get("teeth_env") or {}, **{DISABLE_VAR: disabled})
    root, before, data = grade_like_gradescope(template, sub, tag, env=env)
    elapsed = time.monotonic() - start
    source = template
    cfg = json.load(open(os.path.join(template, "assignment.json")))
    try:
        # the score an honest grader gives
        check_honest_score(tmp_path_factory, source, case["honest"], data)
        assert data["score"] <= max_total(data)

        # the message says what happened
        visible = [data["output"]] + [t["output"] for t in data["tests"]]
        for text in case.get("expect", []):
            options = text.split(" || ")
            assert any(o in v for o in options for v in visible), (name, text, visible[:3])

        # no hidden test code, no hidden expected values, no metadata, anywhere a student may look
        blob = "\n".join(visible + [t["name"] for t in data["tests"]])
        leaked = [ln for ln in HIDDEN_LINES if ln in blob]
        assert not leaked, leaked[:3]
        assert METADATA_SECRET not in blob, "submission_metadata.json reached the student"
        for t in data["tests"]:
            if t["visibility"] != "visible":
                assert not re.search(r"got .*, expected ", t["output"]), t["output"]

        # inside its budget, and nothing outside the worker's folder changed
        assert elapsed < float(cfg["grading"]["budget"]) and data["execution_time"] < float(cfg["grading"]["budget"])
        assert _tree_digest(os.path.join(root, "source")) == before, "the autograder tree was modified"
        assert open(sentinel).read() == "keep"
        assert not os.path.exists("/tmp/pwned") and not os.path.exists("/tmp/pickle-pwned")
        if name == "background-rewriter":
            time.sleep(4)  # the daemon would strike 3 s after import
        uid = grading_uid(data)
        if uid is not None:
            with holding_uid(uid):
                procs, files = _sandbox_leftovers(uid)
            assert not procs, "processes of the sandbox uid survived grading: %s" % procs
            assert not files, "files of the sandbox uid were left behind: %s" % files[:5]
        with open(os.path.join(root, "results", "results.json")) as fh:
            final = json.load(fh)
        assert final["score"] == data["score"], "results.json changed after grading"
    finally:
        if os.path.exists(sentinel):
            os.unlink(sentinel)
        uid = grading_uid(data)
        if uid is not None:  # a case that won (teeth) may leave its uid's processes: not for the next
            from autograder.sandbox.isolation import kill_uid

            with holding_uid(uid):  # never a later grading's workers
                kill_uid(uid)
        shutil.rmtree(root, ignore_errors=True)


TEETH = sorted(n for n, c in CASES.items() if c.get("teeth"))


#: gradings at a time. Each grading has its own uid, folders and sentinel, and the checks look at
#: that grading's uid only (holding its lock), so two may run side by side; on 2 cores that saved
#: nothing in CI (20 min 48 s against 19 min 24 s) and made the time-bound cases race their limits.
PARALLEL = 1


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    """Every case (and every teeth run) graded and checked, PARALLEL at a time. {(name, defence
    off): None, or the AssertionError of the check that failed}."""
    jobs = [(n, None) for n in sorted(CASES) if not (CASES[n].get("root") and not is_root())]
    if is_root():
        jobs += [(n, CASES[n]["teeth"]) for n in TEETH]
    for name, _ in jobs:  # the trees first, one at a time
        _tree(tmp_path_factory, CASES[name].get("grading"))
    base = tmp_path_factory.mktemp("cases")

    def one(job):
        name, off = job
        folder = tempfile.mkdtemp(prefix=name + "-", dir=str(base))
        try:
            run_case(name, pathlib.Path(folder), tmp_path_factory, disabled=off)
        except AssertionError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        return dict(zip(jobs, pool.map(one, jobs)))


@pytest.mark.parametrize("name", sorted(CASES))
def test_adversarial_case(name, outcomes):
    if CASES[name].get("root") and not is_root():
        pytest.skip("the defence against %r needs the root harness (uid drop, namespaces); see docs/security.md"
                    % name)
    failure = outcomes[(name, None)]
    if failure is not None:
        raise failure


@pytest.mark.parametrize("name", TEETH)
def test_defence_has_teeth(name, outcomes):
    """With the case's defence switched off, the same case wins: some check above fails."""
    if not is_root():
        pytest.skip("the defences switched off here need the root harness")
    assert isinstance(outcomes[(name, CASES[name]["teeth"])], AssertionError), (
        "%s still fails with %s switched off: the defence shows no teeth" % (name, CASES[name]["teeth"]))
