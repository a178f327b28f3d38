"""Generate a class of submissions for an assignment, for the batch benchmark and tests.

    .venv/bin/python bench/make_class.py a1_neural_nets DEST [--n 200] [--seed 0]

Each submission is the reference, the starter, one catalogued mistake
(``mistakes.toml``), a hostile variant, or the reference with files missing, with a
per-student comment line (so every submission has its own seed), laid out the ways
students upload: the package folder, the files nested under extra folders, a zip
inside the folder, or a bare .zip. Each folder carries a ``submission_metadata.json``
like Gradescope's. The HTML-injection variant also has markup in its student name (its
layout is always a folder, so the name is there).

``make_class`` returns the list of {key, variant, layout} so a test knows what
each submission should score.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from autograder.config import Kit  # noqa: E402
from autograder.selfcheck import apply_entry, load_mistakes  # noqa: E402

#: hostile variants: code put at the top of the first required file, and what an honest grade is
HOSTILE = {
    "hostile-exit-at-import": ("import sys\nsys.exit(3)\n", "low"),
    "hostile-forged-results": ("import os, json\nfor _p in ('/autograder/results/results.json', 'results.json'):\n"
                               "    try:\n        json.dump({'score': 1e6, 'tests': []}, open(_p, 'w'))\n"
                               "    except OSError:\n        pass\n", "full"),
    "hostile-print-flood": ("print('x' * (4 << 20))\n", "full"),
    # markup in what the student prints, in an error message and in the name: the web report must escape it
    "hostile-html-injection": ("print('<script>alert(\"printed\")</script>')\n"
                               "raise ImportError('<img src=x onerror=alert(1)>"
                               "<script>alert(\"feedback\")</script>')\n", "low"),
}
HTML_NAME = '<script>alert("name")</script> <b>Student %d</b>'
#: the reference with only its first required file: the report's "missing files" status
MISSING = "missing-files"


def _files(kit, aid, variant, mistakes):
    a = kit.assignment(aid)
    base = "student_starter" if variant == "starter" else "solutions"
    files = {}
    for rel in a.required_files:
        with open(kit.path(base, aid, rel), encoding="utf-8") as fh:
            files[rel] = fh.read()
    if variant in mistakes:
        files = apply_entry(files, mistakes[variant])
    elif variant == MISSING:
        files = {a.required_files[0]: files[a.required_files[0]]}
    elif variant in HOSTILE:
        first = a.required_files[0]
        files[first] = HOSTILE[variant][0] + files[first]
    return files


def make_class(kit: Kit, aid: str, dest: str, n: int = 200, seed: int = 0) -> list:
    rng = random.Random(seed)
    mistakes = {m["id"]: m for m in load_mistakes(kit, aid)}
    variants = ["reference", "starter", MISSING] + list(mistakes) + list(HOSTILE)
    weights = {"reference": 0.30, "starter": 0.06, MISSING: 0.02, **{m: 0.57 / max(len(mistakes), 1) for m in mistakes},
               **{h: 0.05 / len(HOSTILE) for h in HOSTILE}}
    plan = variants[:n] + rng.choices(variants, weights=[weights[v] for v in variants], k=max(0, n - len(variants)))
    rng.shuffle(plan)
    os.makedirs(dest, exist_ok=True)
    out = []
    for i, variant in enumerate(plan):
        key = "student%03d" % i
        files = _files(kit, aid, variant, mistakes)
        files = {rel: "# %s, %s\n" % (key, aid) + text for rel, text in files.items()}
        layout = rng.choices(["folder", "nested", "zip-in-folder", "bare-zip"], weights=[5, 2, 2, 1])[0]
        name = "Student %d" % i
        if variant == "hostile-html-injection":
            layout, name = "folder", HTML_NAME % i
        meta = {"users": [{"name": name, "email": "%s@example.edu" % key, "sid": str(100000 + i)}]}
        if layout == "bare-zip":
            with zipfile.ZipFile(os.path.join(dest, key + ".zip"), "w") as zf:
                for rel, text in files.items():
                    zf.writestr(rel, text)
        else:
            folder = os.path.join(dest, key)
            os.makedirs(folder)
            with open(os.path.join(folder, "submission_metadata.json"), "w") as fh:
                json.dump(meta, fh)
            if layout == "zip-in-folder":
                with zipfile.ZipFile(os.path.join(folder, "submission.zip"), "w") as zf:
                    for rel, text in files.items():
                        zf.writestr("hw/" + rel, text)
            else:
                prefix = os.path.join(folder, "my_work", "final") if layout == "nested" else folder
                for rel, text in files.items():
                    path = os.path.join(prefix, *rel.split("/"))
                    os.makedirs(os.path.dirname(path), exist_ok=True)
                    with open(path, "w") as fh:
                        fh.write(text)
        out.append({"key": key, "variant": variant, "layout": layout,
                    "name": "" if layout == "bare-zip" else meta["users"][0]["name"]})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("id")
    p.add_argument("dest")
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    plan = make_class(Kit(ROOT), args.id, args.dest, n=args.n, seed=args.seed)
    with open(os.path.join(os.path.dirname(os.path.abspath(args.dest)), os.path.basename(args.dest) + "-plan.json"),
              "w") as fh:
        json.dump(plan, fh, indent=1)
    print("wrote %d submissions to %s" % (len(plan), args.dest))


if __name__ == "__main__":
    main()
