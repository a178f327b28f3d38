"""Import rules for submitted files, checked on their source text (never by running them).

An assignment can forbid some files to import some modules, e.g. A2's part 1 must
use NumPy only::

    [[forbid_imports]]
    files = ["cnn/layers.py", "cnn/convnet.py", "cnn/optim.py"]
    modules = ["torch"]
    reason = "part 1 is NumPy only"

``import torch``, ``import torch.nn as nn``, ``from torch import ...``,
``__import__("torch")`` and ``importlib.import_module("torch")`` with a literal name
are found. A name assembled at run time is not (see docs/security.md); the graded
values are still computed by the file's own code either way.
"""
from __future__ import annotations

import ast
import os


def _literal(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def imported_modules(source: str) -> list:
    """(line, top-level module) for every import in ``source``; [] if it does not parse."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            target = _literal(node.args[0])
            if name in ("__import__", "import_module") and target:
                found.append((node.lineno, target.split(".")[0]))
    return sorted(set(found))


def violations(package_root: str, rules: list) -> dict:
    """{module name: one-line message} for each submitted file that breaks an import rule.

    package_root: the folder holding the graded package (``<root>/cnn/layers.py``).
    """
    out = {}
    for rule in rules:
        banned = set(rule["modules"])
        reason = rule.get("reason") or "this file must not import %s" % ", ".join(sorted(banned))
        for rel in rule["files"]:
            path = os.path.join(package_root, *rel.split("/"))
            try:
                with open(path, encoding="utf-8", errors="replace") as fh:
                    source = fh.read()
            except OSError:
                continue
            hits = [(line, mod) for line, mod in imported_modules(source) if mod in banned]
            if hits:
                line, mod = hits[0]
                out[rel[:-3].replace("/", ".")] = (
                    "%s imports %s (line %d): %s; remove the import and use NumPy only, then upload again"
                    % (rel, mod, line, reason))
    return out
