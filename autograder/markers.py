"""Strip solution regions from reference code to produce student stubs.

Markers (the words otter-grader and nbgrader use)::

    def softmax(scores):
        \"\"\"docstring with shapes ...\"\"\"
        # BEGIN PROMPT
        # shifted = ...  # subtract the row-wise maximum
        # END PROMPT
        # BEGIN SOLUTION
        shifted = scores - scores.max(axis=1, keepdims=True)
        ...
        # END SOLUTION

* ``# BEGIN SOLUTION`` ... ``# END SOLUTION``: removed from the starter. If a
  PROMPT block comes right before it, the prompt stands in its place; otherwise
  it is replaced by ``raise NotImplementedError("<module>.<qualname>")`` at the
  marker's indentation.
* ``# BEGIN PROMPT`` ... ``# END PROMPT``: commented-out lines in the reference,
  un-commented in the starter (one leading ``# `` removed after the indentation).

Unbalanced or nested markers raise :class:`MarkerError` naming ``file:line``.
"""
from __future__ import annotations

import ast
import re

_MARKER = re.compile(r"^(?P<indent>[ \t]*)#\s*(?P<verb>BEGIN|END)\s+(?P<kind>SOLUTION|PROMPT)\b\s*$")


def _lines(source: str) -> list:
    """Split like Python's tokenizer (\\n, \\r\\n, \\r only), unlike str.splitlines,
    which also breaks at form feeds and U+2028 and would shift line numbers."""
    parts = re.split(r"\r\n|\r|\n", source)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


class MarkerError(ValueError):
    """Malformed solution markers; the message starts with ``file:line:``."""


def _enclosing_qualnames(source: str, filename: str) -> dict:
    """Map each line number to (qualified name, is_function) of its innermost def/class."""
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as exc:
        raise MarkerError("%s:%s: the reference file does not parse: %s" % (filename, exc.lineno, exc.msg)) from None
    owner: dict = {}

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                name = prefix + child.name
                is_func = not isinstance(child, ast.ClassDef)
                for line in range(child.lineno, (child.end_lineno or child.lineno) + 1):
                    owner[line] = (name, is_func)  # inner definitions overwrite outer ones
                visit(child, name + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return owner


def find_regions(source: str, filename: str) -> list[tuple[str, int, int, str]]:
    """Return ``(kind, begin_line, end_line, indent)`` for each region, 1-based lines."""
    regions = []
    open_kind = open_line = open_indent = None
    for lineno, line in enumerate(_lines(source), 1):
        m = _MARKER.match(line)
        if not m:
            if re.search(r"#\s*(BEGIN|END)\s+(SOLUTION|PROMPT)", line):
                raise MarkerError("%s:%d: a marker must be alone on its line: %r" % (filename, lineno, line.strip()))
            continue
        verb, kind = m.group("verb"), m.group("kind")
        if verb == "BEGIN":
            if open_kind is not None:
                raise MarkerError("%s:%d: BEGIN %s inside the %s region opened at line %d (markers cannot nest)"
                                  % (filename, lineno, kind, open_kind, open_line))
            open_kind, open_line, open_indent = kind, lineno, m.group("indent")
        else:
            if open_kind is None:
                raise MarkerError("%s:%d: END %s without a matching BEGIN %s" % (filename, lineno, kind, kind))
            if kind != open_kind:
                raise MarkerError("%s:%d: END %s closes the %s region opened at line %d"
                                  % (filename, lineno, kind, open_kind, open_line))
            regions.append((kind, open_line, lineno, open_indent))
            open_kind = None
    if open_kind is not None:
        raise MarkerError("%s:%d: BEGIN %s is never closed" % (filename, open_line, open_kind))
    return regions


def _uncomment(line: str, indent: str, filename: str, lineno: int) -> str:
    body = line[len(indent):] if line.startswith(indent) else line.lstrip()
    if not body.strip():
        return ""
    if not body.startswith("#"):
        raise MarkerError("%s:%d: lines in a PROMPT region must be comments (they are un-commented in the starter)"
                          % (filename, lineno))
    body = body[1:]
    if body.startswith(" "):
        body = body[1:]
    return indent + body


def has_markers(source: str) -> bool:
    return any(_MARKER.match(line) for line in _lines(source))


def strip_solutions(source: str, filename: str, module: str) -> str:
    """Return the starter version of ``source`` (see the module docstring)."""
    regions = find_regions(source, filename)
    if not regions:
        return source
    owners = _enclosing_qualnames(source, filename)
    lines = _lines(source)
    out: list[str] = []
    pos = 0  # index into lines (0-based) of the next line to copy
    prev_end_kind = None
    for kind, begin, end, indent in regions:
        gap = lines[pos:begin - 1]
        out.extend(gap)
        body = lines[begin:end - 1]
        if kind == "PROMPT":
            out.extend(_uncomment(line, indent, filename, begin + 1 + i) for i, line in enumerate(body))
        else:
            prompt_just_before = prev_end_kind == "PROMPT" and not any(s.strip() for s in gap)
            if not prompt_just_before:
                qual, in_function = owners.get(begin, (None, False))
                if in_function:
                    out.append('%sraise NotImplementedError("%s.%s")' % (indent, module, qual))
                else:  # module or class level: a raise here would break the import
                    out.append("%spass  # your code here" % indent)
        prev_end_kind = kind
        pos = end
    out.extend(lines[pos:])
    result = "\n".join(out) + ("\n" if source.endswith("\n") else "")
    try:
        compile(result, filename + " (starter)", "exec")
    except SyntaxError as exc:
        raise MarkerError("%s:%s: the generated starter does not compile: %s" % (filename, exc.lineno, exc.msg)) from None
    return result


def solution_blocks(source: str, filename: str) -> list[str]:
    """Each SOLUTION region as text (lines stripped, blanks dropped), for leak checks."""
    lines = _lines(source)
    return [normalize("\n".join(lines[begin:end - 1]))
            for kind, begin, end, _ in find_regions(source, filename) if kind == "SOLUTION"]


def normalize(text: str) -> str:
    """Strip every line and drop blank ones, so indentation changes cannot hide a leak."""
    return "\n".join(s.strip() for s in _lines(text) if s.strip())
