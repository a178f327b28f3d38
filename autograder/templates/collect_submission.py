"""Build the zip you upload to Gradescope, after checking that it will grade.

Usage (in this folder):   python collect_submission.py [--no-pdf] [--exporter html]
Writes submission.zip holding exactly the files listed in assignment.json
("required_files", plus "optional_files" such as a model checkpoint when they
exist). Stops with a clear message, and writes nothing, when a file is missing,
too large, does not compile, imports a module the grader refuses for it, or
fails to import. Warns (and still writes the zip) when a file is unchanged
from the starter or still has all of its functions to write.

Then it exports the notebooks' written answers to written_answers.pdf (one page or more
per question, for the hand-graded Gradescope assignment) with `python -m autograder.answers`;
if that cannot run (no LaTeX, no otter-grader), it says why in one line and the zip stands.
"""
import argparse
import ast
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
IMPORT_TIMEOUT = 180  # seconds to import every required file, all together
EXPORT_TIMEOUT = 300  # seconds to export the written answers to PDF
_TAG = "@@collect_submission@@"
# Run in a fresh interpreter: imports each module in turn, one protocol line before and after each.
_IMPORTER = r"""
import importlib, json, os, sys, traceback
tag, root, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
sys.path.insert(0, root)
out = sys.stdout
for module, rel in zip(pairs[0::2], pairs[1::2]):
    out.write("\n%s start %s\n" % (tag, rel)); out.flush()
    try:
        importlib.import_module(module)
    except BaseException as exc:
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        out.write("\n%s fail %s\n" % (tag, json.dumps([rel, last]))); out.flush()
        os._exit(1)
    out.write("\n%s ok %s\n" % (tag, rel)); out.flush()
os._exit(0)  # threads a module started do not keep us waiting
"""


class Refused(Exception):
    """A file the grader would refuse or zero; the message is one line that says what to do."""


def say(line=""):
    print(line, flush=True)


def fingerprint(data):
    """sha256 of a file's bytes with line endings normalised (build.py records the starter's)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")).hexdigest()


def stub_functions(source):
    """Qualified names (``Class.method``) of the functions whose own body raises NotImplementedError."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []

    def raises_not_implemented(func):
        todo = list(func.body)
        while todo:
            node = todo.pop()
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue  # a nested definition is its own function
            if isinstance(node, ast.Raise) and node.exc is not None:
                exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                    return True
            todo.extend(ast.iter_child_nodes(node))
        return False

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if raises_not_implemented(child):
                    found.append(prefix + child.name)
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                visit(child, prefix + child.name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def load_config(root=HERE):
    try:
        with open(os.path.join(root, "assignment.json"), encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise Refused("cannot read assignment.json next to collect_submission.py (%s); copy it back from the "
                      "assignment's zip" % exc.__class__.__name__) from None


def _read(root, rel):
    with open(os.path.join(root, rel), "rb") as fh:
        return fh.read()


def check_files(config, root=HERE):
    """The files that go into the zip (required, then the optional ones present); Refused if one would not grade
    (missing, too large, does not compile)."""
    required = config["required_files"]
    missing = [rel for rel in required if not os.path.isfile(os.path.join(root, rel))]
    if missing:
        raise Refused("missing %s; it should be in %s" % (", ".join(missing), root))
    optional = [rel for rel in config.get("optional_files", []) if os.path.isfile(os.path.join(root, rel))]
    limit_mb = float(config.get("max_file_mb", 5.0))
    for rel in required + optional:
        size_mb = os.path.getsize(os.path.join(root, rel)) / 2**20
        if size_mb > limit_mb:
            raise Refused("%s is %.1f MB, over the %g MB limit for one file; make it smaller (e.g. a model with "
                          "fewer parameters)" % (rel, size_mb, limit_mb))
    for rel in required:
        if rel.endswith(".py"):
            try:
                compile(_read(root, rel), rel, "exec")
            except (SyntaxError, ValueError) as exc:
                raise Refused("%s does not compile: %s at line %s"
                              % (rel, getattr(exc, "msg", exc), getattr(exc, "lineno", "?"))) from None
    return required + optional


def check_import_rules(config, root=HERE):
    """Refused with the grader's own one-line message for each file that breaks a forbid_imports rule (the
    files are read, never run); returns a warning when the rules cannot be checked here."""
    rules = config.get("forbid_imports") or []
    if not rules:
        return []
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        if not os.path.isfile(os.path.join(root, "autograder", "policy.py")):
            raise ImportError("not in this folder")  # never another package of that name
        from autograder.policy import violations  # the release's copy of the grader's own check
    except ImportError:
        files = sorted({rel for rule in rules for rel in rule["files"]})
        return ["the autograder/ folder next to collect_submission.py is missing or damaged, so the grader's import "
                "rules were not checked: %s must not import %s" % (", ".join(files), ", ".join(
                    sorted({m for rule in rules for m in rule["modules"]})))]
    broken = list(violations(root, rules).values())
    if broken:
        raise Refused("\n".join(broken))
    return []


def check_imports(files, root=HERE, timeout=IMPORT_TIMEOUT):
    """Import every .py file of ``files`` in one fresh interpreter, one progress line each; Refused on a failure."""
    pairs = []
    for rel in files:
        if rel.endswith(".py"):
            pairs += [rel[:-3].replace("/", "."), rel]
    if not pairs:
        return
    say("checking that your files import (this can take a few seconds):")
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace") as err:
        proc = subprocess.Popen([sys.executable, "-c", _IMPORTER, _TAG, root] + pairs, cwd=root,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err,
                                text=True, encoding="utf-8", errors="replace")
        expired = threading.Event()

        def stop():
            expired.set()
            proc.kill()

        timer = threading.Timer(timeout, stop)
        timer.start()
        current, failure = None, None
        try:
            for line in proc.stdout:
                if not line.startswith(_TAG + " "):
                    continue  # what the student's modules print at import
                kind, _, rest = line[len(_TAG) + 1:].rstrip("\n").partition(" ")
                if kind == "start":
                    current = rest
                    print("  importing %s ..." % rest, end="", flush=True)
                elif kind == "ok":
                    say(" ok")
                    current = None
                elif kind == "fail":
                    failure = json.loads(rest)
            code = proc.wait()
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if current is not None:
            say(" failed")
        if failure:
            raise Refused("%s does not import: %s" % (failure[0], failure[1]))
        if code != 0:
            where = current or "your files"
            if expired.is_set():
                raise Refused("importing %s took more than %d s; move code that runs at import (training, "
                              "downloads) under `if __name__ == \"__main__\":`" % (where, timeout))
            err.seek(0)
            last = (err.read().strip().splitlines() or ["the interpreter stopped (exit code %s)" % code])[-1]
            raise Refused("%s does not import: %s" % (where, last))


def _names(names, limit=4):
    shown = ", ".join(names[:limit])
    return shown + (", ..." if len(names) > limit else "")


def warnings_for(config, files, root=HERE):
    """(warnings, notes) about unfinished work: one warning per file at most, the most useful one."""
    starter = config.get("starter_files") or {}
    warnings, notes = [], []
    for rel in files:
        known = starter.get(rel)
        if not known:
            continue
        data = _read(root, rel)
        if fingerprint(data) == known.get("sha256"):
            warnings.append("%s is unchanged from the starter: every test of it will fail" % rel)
            continue
        todo = known.get("todo") or []
        if not todo or not rel.endswith(".py"):
            continue
        left = [name for name in stub_functions(data.decode("utf-8", "replace")) if name in todo]
        if len(left) == len(todo):
            if len(todo) == 1:
                warnings.append("%s: the function you have to write still raises NotImplementedError (%s)"
                                % (rel, todo[0]))
            else:
                warnings.append("%s: all %d functions you have to write still raise NotImplementedError (%s)"
                                % (rel, len(todo), _names(todo)))
        elif left:
            notes.append("%s: %d of %d functions still raise NotImplementedError (%s)"
                         % (rel, len(left), len(todo), _names(left)))
    return warnings, notes


def write_zip(files, out, root=HERE):
    """Write ``files`` into the zip ``out`` through a temporary file: an old zip is replaced only when complete."""
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=os.path.dirname(out))
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in files:
                zf.write(os.path.join(root, rel), rel)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out


def _size(n):
    return "%d B" % n if n < 1024 else "%.1f KB" % (n / 1024) if n < 2**20 else "%.1f MB" % (n / 2**20)


def summary(config, files, out, warnings, notes, root=HERE):
    """What went into the zip, what did not, the warnings, and where to upload it."""
    lines = ["wrote %s (%s) with %d file%s:" % (out, _size(os.path.getsize(out)), len(files),
                                                 "" if len(files) == 1 else "s")]
    width = max(len(rel) for rel in files)
    optional = config.get("optional_files", [])
    for rel in files:
        lines.append("  %-*s  %9s%s" % (width, rel, _size(os.path.getsize(os.path.join(root, rel))),
                                         "  (optional)" if rel in optional else ""))
    for rel in optional:
        if rel not in files:
            lines.append("note: %s does not exist, so it is not in the zip (the tests that need it will say so)" % rel)
    lines += ["note: " + n for n in notes]
    lines += ["warning: " + w for w in warnings]
    if warnings:
        lines.append("%d warning%s: the zip was written, but read %s before you upload it"
                     % (len(warnings), "" if len(warnings) == 1 else "s", "it" if len(warnings) == 1 else "them"))
    else:
        lines.append("no warnings")
    return lines


def export_answers(exporter="latex", root=HERE):
    """(lines, ok): written_answers.pdf from the notebooks' written questions, by the release's own exporter."""
    if not any(name.endswith(".ipynb") for name in os.listdir(root)):
        return [], True
    say("exporting your written answers to written_answers.pdf (otter-grader, %s; this can take half a minute) ..."
        % ("LaTeX" if exporter == "latex" else "HTML"))
    try:
        proc = subprocess.run([sys.executable, "-m", "autograder.answers", "-o", "written_answers.pdf",
                               "--exporter", exporter], cwd=root, capture_output=True, text=True,
                              timeout=EXPORT_TIMEOUT)
    except subprocess.TimeoutExpired:
        return ["warning: the written answers were not exported: the export took over %d s; run "
                "`python -m autograder.answers` to try again" % EXPORT_TIMEOUT], False
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")] or \
                 ["error: " + ((proc.stderr.strip().splitlines() or ["exit status %d" % proc.returncode])[-1])]
        lines += ["warning: " + errors[-1][len("error: "):] + " (the zip above is written; fix this and run "
                  "`python -m autograder.answers` for the PDF)"]
        return lines, False
    return lines, True


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check your files and write submission.zip to upload to Gradescope; "
                                                 "export the notebooks' written answers to written_answers.pdf.")
    parser.add_argument("--no-pdf", action="store_true", help="build the zip only, not the PDF of written answers")
    parser.add_argument("--exporter", choices=("latex", "html"), default="latex",
                        help="otter-grader's route to the PDF: latex (pandoc + xelatex, the default) or html "
                             "(Chromium through playwright)")
    args = parser.parse_args(argv)
    try:
        config = load_config()
        files = check_files(config)
        unchecked = check_import_rules(config)
        check_imports(config["required_files"])  # optional files are never imported by the grader
        warnings, notes = warnings_for(config, files)
        out = write_zip(files, os.path.join(HERE, "submission.zip"))
    except Refused as exc:
        for line in str(exc).splitlines():
            print("error: " + line, file=sys.stderr)
        return 1
    warnings = unchecked + warnings
    for line in summary(config, files, out, warnings, notes):
        say(line)
    pdf = False
    if not args.no_pdf:
        lines, pdf = export_answers(args.exporter)
        for line in lines:
            say(line)
    say("Upload submission.zip to the code assignment on Gradescope%s. Run `pytest` first to see the public checks."
        % (" and written_answers.pdf to the written assignment" if pdf else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
