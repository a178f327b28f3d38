"""In-notebook checks and the guards of the notebooks' demo cells.

    from autograder.checks import check, chosen, skip_if_unfinished

    check("layers")                # every public test of cnn/layers.py (tests/public/test_layers.py)
    check("layers", "Conv2D")      # only the tests whose name mentions Conv2D
    check("models", k="finite")    # a pytest -k expression, for the course staff

    with skip_if_unfinished():     # one line instead of a traceback while a function is a stub
        maps = conv.forward(image)
        plt.imshow(maps[0, 0])

    learning_rate = ...            # a value the student chooses
    with skip_if_unfinished():
        chosen("learning_rate")    # "choose learning_rate first ...", in one line
        ...

There is one definition of each check: ``check`` runs the very same public pytest tests (in
a subprocess, through the sandbox) that ``pytest`` and Gradescope run, and prints one line per
test, then what is left to do and which file to edit. It returns True when every selected test
passed and never raises for a failing test, so a notebook run top to bottom shows every list.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile

#: the message of a stub: ``raise NotImplementedError("cnn.layers.Conv2D.forward")``
NOT_IMPLEMENTED = re.compile(r"not implemented: ([A-Za-z_][\w.]*)")


def find_release_root(start: str | None = None) -> str:
    d = os.path.abspath(start or os.getcwd())
    while True:
        if os.path.exists(os.path.join(d, "assignment.json")) and os.path.isdir(os.path.join(d, "tests")):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            raise FileNotFoundError("no assignment.json above %s: open the notebook from the assignment folder"
                                    % os.path.abspath(start or os.getcwd()))
        d = parent


def source_file(qualname: str, root: str) -> tuple:
    """("cnn/layers.py", "Conv2D.forward") for "cnn.layers.Conv2D.forward"; (None, qualname) if no file matches."""
    parts = qualname.split(".")
    for cut in range(len(parts), 0, -1):
        rel = "/".join(parts[:cut]) + ".py"
        if os.path.isfile(os.path.join(root, *parts[:cut]) + ".py"):
            return rel, ".".join(parts[cut:]) or parts[-1]
    return None, qualname


def _public_parts(public: str) -> list:
    return sorted(n[5:-3] for n in os.listdir(public) if n.startswith("test_") and n.endswith(".py"))


def _config(root: str) -> dict:
    with open(os.path.join(root, "assignment.json"), encoding="utf-8") as fh:
        return json.load(fh)


def _files_to_edit(failed: list, config: dict, parts: list, root: str) -> list:
    """The student files named in the failing tests' feedback ("cnn.layers.Conv2D.forward: ..."), else the
    files named like the checked parts ("layers" -> cnn/layers.py)."""
    named = re.compile(r"\b(%s\.[\w.]+)" % re.escape(config.get("package", "")))
    edit = {source_file(q, root)[0] for t in failed for q in named.findall(t.get("output") or "")} - {None}
    if not edit:
        edit = {rel for rel in config.get("required_files", []) for part in parts
                if os.path.splitext(os.path.basename(rel))[0] == part}
    return sorted(edit)


def check(*parts: str, k: str | None = None, root: str | None = None, verbose: bool = True) -> bool:
    """Run public tests and print one line each; True when all selected tests passed.

    parts: names of public test files ("layers" -> tests/public/test_layers.py), then optionally
           names of functions or classes to narrow to ("Conv2D": the tests whose name mentions it).
           No part means every public test.
    k:     optional pytest -k expression to narrow the selection further.
    """
    root = find_release_root(root)
    public = os.path.join(root, "tests", "public")
    known = _public_parts(public)
    files, about = [], []
    for part in parts:
        if part in known:
            files.append(part)
        elif files:
            about.append(part)
        else:
            print("check(%r): no public tests are named %r; choose from %s" % (part, part, ", ".join(known)))
            return False
    paths = [os.path.join(public, "test_%s.py" % part) for part in files]
    with tempfile.TemporaryDirectory(prefix="agk-check-") as tmp:
        results = os.path.join(tmp, "results.json")
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", root,
               "-c", os.path.join(root, "pytest.ini"), *(paths or [public]), "--results", results]
        for name in about:
            cmd += ["--about", name]
        if k:
            cmd += ["-k", k]
        proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
        if not os.path.exists(results):
            print("the checks could not run:\n" + (proc.stdout + proc.stderr)[-2000:])
            return False
        with open(results, encoding="utf-8") as fh:
            data = json.load(fh)
    tests = data.get("tests", [])
    if not tests:
        print("check(%s): no public test of %s mentions %s; the names of these tests start with the function or "
              "class they check" % (", ".join(repr(p) for p in parts), ", ".join(files) or "this assignment",
                                    " or ".join(about) or repr(k)))
        return False
    todo, to_fix = {}, []
    for t in tests:
        passed = t["status"] == "passed"
        lines = [ln for ln in (t.get("output") or "").splitlines() if ln.strip()]
        stubs = [source_file(q, root) for q in sorted(set(NOT_IMPLEMENTED.findall("\n".join(lines))))]
        detail = [ln for ln in lines if not NOT_IMPLEMENTED.search(ln) and "cases passed" not in ln]
        for rel, name in stubs:
            names = todo.setdefault(rel or name, [])
            if name not in names:
                names.append(name)
        print("%s  %s  (%g/%g)" % ("PASS" if passed else "FAIL", t["name"], t["score"], t["max_score"]))
        if passed:
            continue
        if stubs and not detail:
            print("      not written yet: %s" % ", ".join(name for _, name in stubs))
            continue
        if verbose:
            for line in (detail or lines)[:8]:
                print("      " + line)
        to_fix.append(t)
    ok = all(t["status"] == "passed" for t in tests)
    print("%s: %g/%g points on these checks" % ("all passed" if ok else "some checks failed",
                                               sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)))
    for rel, names in todo.items():
        print("to do: write %s in %s" % (", ".join(names), rel))
    if to_fix:
        edit = _files_to_edit(to_fix, _config(root), files, root)
        print("to fix: %d failing check%s above%s: the first line under each says what is wrong"
              % (len(to_fix), "" if len(to_fix) == 1 else "s", " (edit %s)" % ", ".join(edit) if edit else ""))
    return ok


# ------------------------------------------------------------------ demo cells
class Unchosen(Exception):
    """A value the notebook asks the student to choose is still the placeholder ``...``."""

    def _render_traceback_(self):  # IPython shows this instead of a traceback: one line
        return ["%s: %s" % (type(self).__name__, self)]


def chosen(*names: str) -> None:
    """Stop with one line when a value the student must choose is still ``...`` (or not set).

    Call it in the notebook cell that uses the values: ``chosen("learning_rate", "reg")``.
    """
    scope = sys._getframe(1).f_globals
    for name in names:
        if name not in scope or scope[name] is Ellipsis:
            raise Unchosen("choose a value for %s first (replace the ... where %s is set)" % (name, name))


class skip_if_unfinished:
    """Run a notebook cell's demo code, or skip it with one line when it cannot run yet.

    ``with skip_if_unfinished(): ...`` prints "skipped: ..." instead of a traceback when the
    code reaches a function that is still a stub (NotImplementedError), a value still to be
    chosen (see :func:`chosen`), or a variable that an earlier skipped cell would have made
    (NameError). Figures the skipped code had started are closed, not drawn half-empty. Any
    other error is a real bug and shows its traceback as usual.
    """

    def __enter__(self):
        plt = sys.modules.get("matplotlib.pyplot")
        self._figures = set(plt.get_fignums()) if plt is not None else set()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        reason = unfinished_reason(exc)
        if reason is None:
            return False
        plt = sys.modules.get("matplotlib.pyplot")
        if plt is not None:
            for num in set(plt.get_fignums()) - self._figures:
                plt.close(num)
        print("skipped: " + reason)
        return True


def unfinished_reason(exc: BaseException) -> str | None:
    """Why a demo cell cannot run yet, in one line; None for a real error."""
    if isinstance(exc, Unchosen):
        return str(exc)
    if isinstance(exc, NotImplementedError):
        qualname = str(exc).strip()
        try:
            rel, name = source_file(qualname, find_release_root()) if qualname else (None, qualname)
        except FileNotFoundError:
            rel, name = None, qualname
        if rel:
            return "%s is not written yet (edit %s; its check above says what is missing)" % (name, rel)
        return "a function this cell uses is not written yet (%s)" % (qualname or "NotImplementedError")
    if isinstance(exc, NameError):
        name = getattr(exc, "name", None) or str(exc)
        return ("this cell needs %s, which an earlier cell makes: run that cell first (it may have been skipped "
                "because something it uses is not written yet)" % name)
    return None
