"""Similarity check across submissions: winnowing fingerprints (Schleimer, Wilkerson and
Aiken, SIGMOD 2003, the method behind MOSS).

Each submitted ``.py`` file becomes a stream of normalised tokens (every local name
becomes ``v``, every string ``s``, every number ``n``; comments and layout are
dropped; keywords, operators and attribute names such as ``.sum`` are kept), so
renaming variables or reformatting does not hide a copy. Every run of ``k``
tokens is hashed, and in each window of ``w`` consecutive hashes the smallest is
kept: two files that share a run of at least ``w + k - 1`` tokens share a
fingerprint. Fingerprints of the starter code (what every student was given) are
removed, and so are fingerprints that more than ``max_share`` of the submissions
have (common idioms, as MOSS does).

The similarity of two submissions is the share of the smaller one's fingerprints
that the other one also has (1.0: everything the smaller one wrote is in the
other). ``similarity.md`` lists the most similar pairs with their matching line
ranges, and the highest pairs below the threshold when none reaches it (so an
instructor sees what "normal" looks like in this class); ``similarity.csv`` has
every pair from 20%; ``similarity.json`` holds the pairs shown and the code of
their files, for the side-by-side pages of the web report (``autograder.report``).

Archived submissions (earlier terms, solutions found online: ``batch --against DIR``)
are compared with the class but not with each other; their pairs with the class
are reported apart, as "cross-term" pairs. A high score is a reason to read the
two submissions, not a verdict.
"""
from __future__ import annotations

import collections
import csv
import hashlib
import io
import itertools
import json
import keyword
import os
import re
import shutil
import tempfile
import tokenize
from types import SimpleNamespace

from .intake import locate

K = 12          # tokens per k-gram
W = 8           # window of hashes for winnowing


def normalised_tokens(source: str) -> list:
    """[(token, line)] with names, strings and numbers normalised; [] for an empty file."""
    out = []
    prev = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
                            tokenize.ENCODING, tokenize.ENDMARKER):
                continue
            if tok.type == tokenize.NAME:
                text = tok.string if (keyword.iskeyword(tok.string) or prev == ".") else "v"
            elif tok.type == tokenize.STRING:
                text = "s"
            elif tok.type == tokenize.NUMBER:
                text = "n"
            else:
                text = tok.string
            out.append((text, tok.start[0]))
            prev = tok.string
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # broken code still gets compared: a plain word/number/symbol split
        out = []
        for lineno, line in enumerate(source.splitlines(), 1):
            for word in re.findall(r"[A-Za-z_]\w*|\d+|\S", line.split("#", 1)[0]):
                out.append(("n" if word.isdigit() else word if keyword.iskeyword(word) else
                            "v" if word[0].isalpha() or word[0] == "_" else word, lineno))
    return out


def _hash(tokens) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(tokens).encode(), digest_size=8).digest(), "big")


def fingerprints(source: str, k: int = K, w: int = W) -> dict:
    """{fingerprint: [first line of each occurrence]} of one file, by winnowing."""
    toks = normalised_tokens(source)
    if len(toks) < k:
        return {}
    grams = [(_hash([t for t, _ in toks[i:i + k]]), toks[i][1]) for i in range(len(toks) - k + 1)]
    chosen = {}
    last = None
    for start in range(max(1, len(grams) - w + 1)):
        window = grams[start:start + w]
        j = min(range(len(window)), key=lambda i: (window[i][0], -i))   # rightmost minimum
        pos = start + j
        if pos != last:
            h, line = grams[pos]
            chosen.setdefault(h, []).append(line)
            last = pos
    return chosen


def submission_fingerprints(files: dict) -> dict:
    """{fingerprint: [(file, line)]} over a submission's files ({rel: text})."""
    out = collections.defaultdict(list)
    for rel, text in sorted(files.items()):
        for h, lines in fingerprints(text).items():
            out[h] += [(rel, line) for line in lines]
    return dict(out)


def _ranges(lines: list, gap: int = 2) -> list:
    lines = sorted(set(lines))
    out = []
    for line in lines:
        if out and line - out[-1][1] <= gap + 1:
            out[-1][1] = line
        else:
            out.append([line, line])
    return [(a, b) for a, b in out]


def compare(texts: dict, starter: dict, max_share: float = 0.5, min_fingerprints: int = 5,
            archived=()) -> list:
    """Pairs of submissions by similarity, highest first.

    texts:   {submission key: {rel: source}};  starter: {rel: source} given to everyone.
    archived: keys of archived submissions: never paired with each other, and always ``b`` of a pair.
    Returns [{"a", "b", "similarity", "shared", "regions": [(rel, a_lines, b_lines)]}].
    """
    archived = set(archived)
    given = set(submission_fingerprints(starter))
    prints = {key: {h: occ for h, occ in submission_fingerprints(files).items() if h not in given}
              for key, files in texts.items()}
    holders = collections.defaultdict(list)
    for key, fp in prints.items():
        for h in fp:
            holders[h].append(key)
    limit = max(2, int(max_share * len(prints)))
    shared = collections.Counter()
    for h, keys in holders.items():
        if 1 < len(keys) <= limit:
            mine = sorted(k for k in keys if k not in archived)
            for a, b in itertools.chain(itertools.combinations(mine, 2),      # archives are not compared
                                        itertools.product(mine, sorted(k for k in keys if k in archived))):
                shared[(a, b)] += 1
    size = {key: sum(1 for h in fp if len(holders[h]) <= limit) for key, fp in prints.items()}
    pairs = []
    for (a, b), n in shared.items():    # a is a class member; b a class member or an archived submission
        smaller = min(size[a], size[b])
        if smaller < min_fingerprints:
            continue
        common = [h for h in prints[a] if h in prints[b] and len(holders[h]) <= limit]
        regions = []
        for rel in sorted({r for h in common for r, _ in prints[a][h]}):
            a_lines = [line for h in common for r, line in prints[a][h] if r == rel]
            b_lines = [line for h in common for r, line in prints[b].get(h, []) if r == rel]
            if a_lines and b_lines:
                regions.append((rel, _ranges(a_lines), _ranges(b_lines)))
        pairs.append({"a": a, "b": b, "similarity": n / smaller, "shared": n, "regions": regions})
    pairs.sort(key=lambda p: (-p["similarity"], -p["shared"], p["a"], p["b"]))
    return pairs


def _read_py(folder: str, rels: list, names=None) -> dict:
    """{name: text} of the readable files ``folder/rel`` (names default to the rels)."""
    out = {}
    for rel, name in zip(rels, names or rels):
        try:
            with open(os.path.join(folder, rel), encoding="utf-8", errors="replace") as fh:
                out[name] = fh.read()
        except OSError:
            continue
    return out


def collect_texts(kit, aid: str, subs: list) -> tuple:
    """({key: {rel: source}}, starter {rel: source}) for a batch's submissions (found as the grader finds them)."""
    a = kit.assignment(aid)
    rels = [r for r in a.required_files if r.endswith(".py")]
    texts = {}
    with tempfile.TemporaryDirectory(prefix="agk-sim-") as tmp:
        for i, sub in enumerate(subs):
            folder = sub.path
            if os.path.isfile(folder):  # a single uploaded file (.zip or .py)
                folder = os.path.join(tmp, "single%d" % i)
                os.makedirs(folder)
                shutil.copy(sub.path, folder)
            found = locate(folder, rels, os.path.join(tmp, "scratch%d" % i), max_file_mb=a.max_file_mb)
            texts[sub.key] = _read_py("", [os.path.abspath(path) for path in found["files"].values()],
                                      names=list(found["files"]))
    return texts, _read_py(kit.path("student_starter", aid), rels)


def method_text(n: int, n_archived: int = 0) -> str:
    return ("%d submissions%s compared by winnowing fingerprints (k = %d tokens, window %d; names, strings and "
            "numbers normalised; the starter's code and code more than half of them share removed). Similarity = "
            "share of the smaller submission's fingerprints found in the other."
            % (n, " and %d archived ones" % n_archived if n_archived else "", K, W))


def _fmt_ranges(rs) -> str:
    return ", ".join("%d-%d" % tuple(r) if r[0] != r[1] else "%d" % r[0] for r in rs[:6])


def _render_pairs(lines: list, pairs: list, texts: dict, threshold: float, top: int, below: int, what: str) -> None:
    shown = [p for p in pairs if p["similarity"] >= threshold][:top]
    if shown:
        lines += ["| similarity | shared fingerprints | submission A | submission B |", "|---:|---:|---|---|"]
        for p in shown:
            lines.append("| %.0f%% | %d | %s | %s |" % (100 * p["similarity"], p["shared"], p["a"], p["b"]))
    else:
        lines.append("No pair %s reaches the threshold." % what)
    rest = [p for p in pairs if p["similarity"] < threshold][:below]
    if rest:
        lines += ["", "Highest pairs below the threshold (%s), for comparison: what normal looks like here." % what, "",
                  "| similarity | shared fingerprints | submission A | submission B |", "|---:|---:|---|---|"]
        for p in rest:
            lines.append("| %.0f%% (below the threshold) | %d | %s | %s |" % (100 * p["similarity"], p["shared"],
                                                                            p["a"], p["b"]))
    for p in shown:
        lines += ["", "### %s and %s (%.0f%%)" % (p["a"], p["b"], 100 * p["similarity"])]
        for rel, a_ranges, b_ranges in p["regions"][:4]:
            lines.append("- `%s`: lines %s of %s match lines %s of %s" % (rel, _fmt_ranges(a_ranges), p["a"],
                                                                          _fmt_ranges(b_ranges), p["b"]))
            first = a_ranges[0]
            src = texts[p["a"]].get(rel, "").splitlines()[first[0] - 1:min(first[1], first[0] + 7)]
            if src:
                lines += ["", "  ```python"] + ["  " + s for s in src] + ["  ```"]


def render(pairs: list, texts: dict, aid: str, top: int = 20, threshold: float = 0.5, cross=None,
           archives=(), below: int = 5) -> str:
    """similarity.md: pairs within the class, then (with archives) the class against earlier terms."""
    n_archived = sum(a["n"] for a in archives)
    lines = ["# Similarity: %s" % aid, "",
             method_text(len(texts) - n_archived, n_archived) +
             " %d pair(s) within the class at or above %.0f%%%s. A high score is a reason to read both, not a "
             "verdict. The web report (report/index.html) shows each pair side by side."
             % (sum(1 for p in pairs if p["similarity"] >= threshold), 100 * threshold,
                "; %d against earlier terms" % sum(1 for p in cross or [] if p["similarity"] >= threshold)
                if archives else ""), "", "## Within the class", ""]
    _render_pairs(lines, pairs, texts, threshold, top, below, "within the class")
    if archives:
        lines += ["", "## Against earlier terms", "",
                  "Archived submissions (not graded): %s." % ", ".join("%s (%d)" % (a["label"], a["n"])
                                                                      for a in archives), ""]
        _render_pairs(lines, cross or [], texts, threshold, top, below, "against earlier terms")
    return "\n".join(lines) + "\n"


def _write(path: str, text: str) -> None:
    with open(path + ".part", "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    os.replace(path + ".part", path)


def write_similarity(out: str, kit, aid: str, subs: list, threshold: float = 0.5, top: int = 20,
                     against=(), below: int = 5) -> list:
    """Write ``out/similarity.md``, ``.csv`` and ``.json``; return the pairs within the class.

    against: [{"label": name of an archive, "subs": [submissions with .key and .path]}], compared with the
    class but not graded; their keys become ``label/key``."""
    archived_subs, archives = [], []
    for arch in against or ():
        keyed = [SimpleNamespace(key="%s/%s" % (arch["label"], s.key), path=s.path) for s in arch["subs"]]
        archived_subs += keyed
        archives.append({"label": arch["label"], "n": len(keyed)})
    texts, starter = collect_texts(kit, aid, list(subs) + archived_subs)
    archived = {s.key for s in archived_subs}
    everything = compare(texts, starter, archived=archived)
    pairs = [p for p in everything if p["b"] not in archived]
    cross = [p for p in everything if p["b"] in archived]
    _write(os.path.join(out, "similarity.md"), render(pairs, texts, aid, top=top, threshold=threshold, cross=cross,
                                                      archives=archives, below=below))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["a", "b", "similarity", "shared_fingerprints", "kind"])
    for kind, group in (("within", pairs), ("cross-term", cross)):
        for p in group:
            if p["similarity"] >= 0.2:
                writer.writerow([p["a"], p["b"], "%.3f" % p["similarity"], p["shared"], kind])
    _write(os.path.join(out, "similarity.csv"), buf.getvalue())
    # the pairs the web report shows (those at or above the threshold, then the highest below it), with their code
    shown = {kind: [p for p in group if p["similarity"] >= threshold][:top] +
             [p for p in group if p["similarity"] < threshold][:below]
             for kind, group in (("within", pairs), ("cross", cross))}
    keys = {k for group in shown.values() for p in group for k in (p["a"], p["b"])}
    data = {"assignment": aid, "threshold": threshold, "k": K, "w": W,
            "method": method_text(len(subs), len(archived_subs)), "archives": archives,
            "counts": {kind: sum(1 for p in group if p["similarity"] >= threshold)
                       for kind, group in (("within", pairs), ("cross", cross))},
            "within": shown["within"], "cross": shown["cross"],
            "texts": {k: texts.get(k, {}) for k in sorted(keys)}}
    _write(os.path.join(out, "similarity.json"), json.dumps(data, ensure_ascii=False))
    return pairs
