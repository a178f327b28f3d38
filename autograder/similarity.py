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
ranges; ``similarity.csv`` has every pair above the threshold. A high score is a
reason to read the two submissions, not a verdict.
"""
from __future__ import annotations

import collections
import csv
import hashlib
import io
import itertools
import keyword
import os
import re
import shutil
import tempfile
import tokenize

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


def compare(texts: dict, starter: dict, max_share: float = 0.5, min_fingerprints: int = 5) -> list:
    """Pairs of submissions by similarity, highest first.

    texts:   {submission key: {rel: source}};  starter: {rel: source} given to everyone.
    Returns [{"a", "b", "similarity", "shared", "regions": [(rel, a_lines, b_lines)]}].
    """
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
            for a, b in itertools.combinations(sorted(keys), 2):
                shared[(a, b)] += 1
    size = {key: sum(1 for h in fp if len(holders[h]) <= limit) for key, fp in prints.items()}
    pairs = []
    for (a, b), n in shared.items():
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


def render(pairs: list, texts: dict, aid: str, top: int = 20, threshold: float = 0.5) -> str:
    shown = [p for p in pairs if p["similarity"] >= threshold][:top]
    lines = ["# Similarity: %s" % aid, "",
             "%d submissions compared by winnowing fingerprints (k = %d tokens, window %d; names, strings and "
             "numbers normalised; the starter's code and code more than half the class shares removed). "
             "Similarity = share of the smaller submission's fingerprints found in the other. %d pair(s) at or "
             "above %.0f%%; the top %d are below. A high score is a reason to read both, not a verdict."
             % (len(texts), K, W, sum(1 for p in pairs if p["similarity"] >= threshold), 100 * threshold,
                len(shown)), ""]
    if not shown:
        return "\n".join(lines + ["No pair reaches the threshold."]) + "\n"
    lines += ["| similarity | shared fingerprints | submission A | submission B |", "|---:|---:|---|---|"]
    for p in shown:
        lines.append("| %.0f%% | %d | %s | %s |" % (100 * p["similarity"], p["shared"], p["a"], p["b"]))
    for p in shown:
        lines += ["", "## %s and %s (%.0f%%)" % (p["a"], p["b"], 100 * p["similarity"])]
        for rel, a_ranges, b_ranges in p["regions"][:4]:
            fmt = lambda rs: ", ".join("%d-%d" % r if r[0] != r[1] else "%d" % r[0] for r in rs[:6])  # noqa: E731
            lines.append("- `%s`: lines %s of %s match lines %s of %s" % (rel, fmt(a_ranges), p["a"], fmt(b_ranges),
                                                                          p["b"]))
            first = a_ranges[0]
            src = texts[p["a"]].get(rel, "").splitlines()[first[0] - 1:min(first[1], first[0] + 7)]
            if src:
                lines += ["", "  ```python"] + ["  " + s for s in src] + ["  ```"]
    return "\n".join(lines) + "\n"


def write_similarity(out: str, kit, aid: str, subs: list, threshold: float = 0.5, top: int = 20) -> list:
    """Write ``out/similarity.md`` and ``out/similarity.csv``; return the pairs."""
    texts, starter = collect_texts(kit, aid, subs)
    pairs = compare(texts, starter)
    with open(os.path.join(out, "similarity.md.part"), "w", encoding="utf-8") as fh:
        fh.write(render(pairs, texts, aid, top=top, threshold=threshold))
    os.replace(os.path.join(out, "similarity.md.part"), os.path.join(out, "similarity.md"))
    with open(os.path.join(out, "similarity.csv.part"), "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "similarity", "shared_fingerprints"])
        for p in pairs:
            if p["similarity"] >= 0.2:
                writer.writerow([p["a"], p["b"], "%.3f" % p["similarity"], p["shared"]])
    os.replace(os.path.join(out, "similarity.csv.part"), os.path.join(out, "similarity.csv"))
    return pairs
