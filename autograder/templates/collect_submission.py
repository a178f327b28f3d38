"""Build the zip you upload to Gradescope, after checking that it will grade.

Usage (in this folder):   python collect_submission.py
Writes submission.zip holding exactly the files listed in assignment.json
("required_files", plus "optional_files" such as a model checkpoint when they
exist). Stops with a clear message, and writes nothing, when a file is missing,
too large, does not compile, or fails to import.
"""
import json
import os
import subprocess
import sys
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))


def fail(message):
    print("error: " + message, file=sys.stderr)
    sys.exit(1)


def main():
    with open(os.path.join(HERE, "assignment.json"), encoding="utf-8") as fh:
        config = json.load(fh)
    required = config["required_files"]
    missing = [rel for rel in required if not os.path.isfile(os.path.join(HERE, rel))]
    if missing:
        fail("missing %s; it should be in %s" % (", ".join(missing), HERE))
    optional = [rel for rel in config.get("optional_files", []) if os.path.isfile(os.path.join(HERE, rel))]
    limit_mb = float(config.get("max_file_mb", 5.0))
    for rel in required + optional:
        size_mb = os.path.getsize(os.path.join(HERE, rel)) / 2**20
        if size_mb > limit_mb:
            fail("%s is %.1f MB, over the %g MB limit for one file; make it smaller (e.g. a model with fewer "
                 "parameters)" % (rel, size_mb, limit_mb))
    for rel in required:
        if rel.endswith(".py"):
            with open(os.path.join(HERE, rel), "rb") as fh:
                source = fh.read()
            try:
                compile(source, rel, "exec")
            except SyntaxError as exc:
                fail("%s does not compile: %s at line %s" % (rel, exc.msg, exc.lineno))
            module = rel[:-3].replace("/", ".")
            proc = subprocess.run([sys.executable, "-c", "import " + module], cwd=HERE,
                                  capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
                fail("%s does not import: %s" % (rel, last))
    out = os.path.join(HERE, "submission.zip")
    fd, tmp = tempfile.mkstemp(suffix=".zip", dir=HERE)
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for rel in required + optional:
                zf.write(os.path.join(HERE, rel), rel)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    print("wrote %s with %s" % (out, ", ".join(required + optional)))
    for rel in config.get("optional_files", []):
        if rel not in optional:
            print("note: %s does not exist, so it is not in the zip (the tests that need it will say so)" % rel)
    print("Upload submission.zip to Gradescope. Run `pytest` first to see the public checks.")


if __name__ == "__main__":
    main()
