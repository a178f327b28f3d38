"""Public test cases: fixed inputs and the oracle's answers, generated at release time.

The student release carries no oracle. Its public tests compare student output with
*fixtures*: values the instructor's oracle computed, once, on fixed public inputs.
A student's local ``pytest`` and Gradescope's public tests read the same files, so
they see the same inputs and give the same results.

Instructor side, ``assignments/<id>/tests/cases.py`` (in the autograder zip, never in
the student zip) builds each case from a random generator::

    from autograder.fixtures import case

    @case(params=["typical", "large positive scores"])
    def softmax(rng, kind):
        scores = rng.normal(size=(5, 4)) + (1000.0 if kind != "typical" else 0.0)
        return {"scores": scores, "expected": oracles.softmax(scores),
                "misconceptions": {"you normalised over axis 0 ...": ...}}

``python -m autograder fixtures <id>`` (``make fixtures``) calls every case with a
generator seeded by :data:`PUBLIC_SEED` and writes ``tests/fixtures/public.json`` (the
value trees, scalars and strings) and ``tests/fixtures/public.npz`` (the arrays). A
public test reads its case back::

    from autograder.fixtures import public_case, public_params

    @pytest.mark.parametrize("kind", public_params("softmax"))
    @graded(points=3)
    def test_softmax(kind):
        c = public_case("softmax", kind)
        expect_close(sandbox.call(F + ":softmax", c["scores"]), c["expected"], ...)

and a hidden test calls the very same builder on its own seeded generator, so a
submission that hard-codes the public answers still fails there::

    import cases
    c = cases.softmax(rng, "typical")

Values are what the sandbox codec carries (numbers, strings, None, lists, tuples,
dicts, numpy arrays, torch tensors); never pickle. This module is part of the grading
runtime (shipped to students); writing fixtures lives in :mod:`autograder.fixturegen`.
"""
from __future__ import annotations

import json
import os
import zipfile

from .sandbox import codec

#: the seed of every public input (fixtures and the ``rng`` of public tests); never changes
PUBLIC_SEED = 20240901
FORMAT = 1
FIXTURES_DIR = os.path.join("tests", "fixtures")
JSON_NAME = "public.json"
NPZ_NAME = "public.npz"


class FixtureError(RuntimeError):
    """A public fixture is missing or unreadable; the message says what to do."""


class Case:
    """A case builder: ``builder(rng)`` or ``builder(rng, param)`` -> dict of values."""

    def __init__(self, fn, params=None, name=None):
        self.fn = fn
        self.name = name or fn.__name__
        self.params = None if params is None else [str(p) for p in params]
        self.__doc__ = fn.__doc__
        self.__wrapped__ = fn

    def __call__(self, rng, param=None):
        if self.params is None:
            if param is not None:
                raise TypeError("case %r takes no parameter (got %r)" % (self.name, param))
            return self.fn(rng)
        if param not in self.params:
            raise KeyError("case %r has no parameter %r (known: %s)" % (self.name, param, ", ".join(self.params)))
        return self.fn(rng, param)

    def __repr__(self):
        return "<case %s%s>" % (self.name, "" if self.params is None else " %s" % self.params)


def case(params=None, name=None):
    """Mark a builder in ``tests/cases.py`` as a public case (``params``: its parameter ids)."""
    def wrap(fn):
        return Case(fn, params=params, name=name)
    return wrap


def fixture_key(name: str, param=None) -> str:
    """The id of one generated case, also the label of its random stream."""
    return name if param is None else "%s[%s]" % (name, param)


# ---------------------------------------------------------------- reading
_CACHE: dict = {}


def _root() -> str:
    """The assignment folder of this run: the plugin's, else the nearest parent of the cwd with assignment.json."""
    try:
        from .plugin import _CURRENT_STATE
    except ImportError:  # pytest missing: not a grading run
        _CURRENT_STATE = None
    if _CURRENT_STATE is not None:
        return _CURRENT_STATE.root
    d = os.getcwd()
    while not os.path.exists(os.path.join(d, "assignment.json")):
        parent = os.path.dirname(d)
        if parent == d:
            raise FixtureError("no assignment.json above %s: run pytest from the assignment folder" % os.getcwd())
        d = parent
    return d


def load(folder: str) -> dict:
    """``{"cases": {name: {"params": [...] | None, "values": {param or "": value}}}, ...}`` of a fixtures folder."""
    folder = os.path.abspath(folder)
    if folder in _CACHE:
        return _CACHE[folder]
    jpath, zpath = os.path.join(folder, JSON_NAME), os.path.join(folder, NPZ_NAME)
    if not (os.path.exists(jpath) and os.path.exists(zpath)):
        raise FixtureError("the public test fixtures (%s, %s) are missing from %s; instructors: run "
                           "`make fixtures`; students: unzip the release again" % (JSON_NAME, NPZ_NAME, folder))
    try:
        with open(jpath, encoding="utf-8") as fh:
            meta = json.load(fh)
        with zipfile.ZipFile(zpath) as zf:
            names = sorted(n for n in zf.namelist() if n.endswith(".npy"))
            blobs = [zf.read(n) for n in names]
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FixtureError("cannot read the public test fixtures in %s (%s); unzip the release again"
                           % (folder, exc)) from None
    if meta.get("format") != FORMAT:
        raise FixtureError("%s has format %r, this engine reads %r; regenerate with `make fixtures`"
                           % (jpath, meta.get("format"), FORMAT))
    cases = {}
    for name, entry in meta["cases"].items():
        values = {}
        for param, tree in entry["values"].items():
            values[param] = codec._decode_value(tree, blobs, as_torch=True)  # imports torch only for tensors
        cases[name] = {"params": entry["params"], "values": values}
    data = dict(meta, cases=cases)
    _CACHE[folder] = data
    return data


def _fixtures(root: str | None = None) -> dict:
    return load(os.path.join(root or _root(), FIXTURES_DIR))


def public_params(name: str, root: str | None = None) -> list:
    """The parameter ids of the public case ``name``, in order (for ``pytest.mark.parametrize``)."""
    entry = _entry(name, root)
    if entry["params"] is None:
        raise FixtureError("public case %r has no parameters; call public_case(%r)" % (name, name))
    return list(entry["params"])


def public_case(name: str, param=None, root: str | None = None) -> dict:
    """The fixed inputs and expected values of public case ``name`` (and ``param``); a fresh copy."""
    import copy

    entry = _entry(name, root)
    key = "" if param is None else str(param)
    if key not in entry["values"]:
        raise FixtureError("public case %r has no parameter %r (known: %s); regenerate with `make fixtures`"
                           % (name, param, ", ".join(entry["params"] or ["none"])))
    return copy.deepcopy(entry["values"][key])


def _entry(name: str, root: str | None) -> dict:
    data = _fixtures(root)
    if name not in data["cases"]:
        raise FixtureError("no public case %r in the fixtures (known: %s); regenerate with `make fixtures`"
                           % (name, ", ".join(sorted(data["cases"]))))
    return data["cases"][name]


# ---------------------------------------------------------------- hidden tests on new inputs
def new_input_ids(checks: dict, builders) -> list:
    """``name`` or ``name[param]`` of every case in ``checks`` ({case name: check(values, param)}),
    with the parameters of its builder in ``builders`` (the cases module), for parametrising a hidden test."""
    out = []
    for name in checks:
        builder = getattr(builders, name)
        out += [fixture_key(name, p) for p in (builder.params or [None])]
    return out


def check_new_inputs(checks: dict, builders, rng, key: str) -> None:
    """Build case ``key`` (from :func:`new_input_ids`) on ``rng`` and run its public check on it."""
    name, _, rest = key.partition("[")
    param = rest[:-1] if rest else None
    checks[name](getattr(builders, name)(rng, param), param)
