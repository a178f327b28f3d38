"""Assignment configuration: ``assignments/<id>/assignment.toml`` in the kit,
``assignment.json`` (the same data) inside the built zips, so nothing shipped
needs a TOML parser on Python 3.10."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

GRADING_DEFAULTS = {
    "call_timeout": 10.0,       # seconds for one sandbox call
    "test_timeout": 60.0,       # seconds for one test (all its calls)
    "budget": 480.0,            # seconds for the whole run; Gradescope's default timeout is 600
    "hidden_visibility": "after_published",
    "public_visibility": "visible",
    "threads": 1,               # BLAS / torch threads (Gradescope gives 0.5 vCPU by default)
    "max_reply_mb": 64,
    "output_limit": 4000,       # characters of feedback per test entry
    "worker_memory_mb": 4096,   # address-space limit of the confined worker (virtual, not RSS)
}
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


class ConfigError(ValueError):
    """An assignment's configuration is missing or wrong."""


def _load_toml(path: str) -> dict:
    try:
        import tomllib  # novermin (Python 3.10 falls back to tomli below)
    except ImportError:  # Python 3.10
        import tomli as tomllib
    with open(path, "rb") as fh:
        try:
            return tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError("%s: %s" % (path, exc)) from None


@dataclass
class Assignment:
    id: str
    title: str
    package: str
    required_files: list
    grader_packages: list
    student_packages: list
    grading: dict
    mistakes_file: str = "mistakes.toml"
    #: work in progress: `make release` skips it unless named; the self-check and tests cover it
    draft: bool = False
    #: files taken when present (e.g. a model checkpoint), never compiled or imported by the intake
    optional_files: list = field(default_factory=list)
    #: largest size of one submitted file, in MB (a larger one is refused with a note)
    max_file_mb: float = 5.0
    #: [{"files": [...], "modules": [...], "reason": "..."}]: submitted files that must not import these
    forbid_imports: list = field(default_factory=list)
    #: {"gradescope": dataset fetched by setup.sh, "offline": dataset built locally}: held-out images
    heldout: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict, where: str) -> "Assignment":
        missing = [k for k in ("id", "title", "package", "required_files") if k not in data]
        if missing:
            raise ConfigError("%s: missing key(s) %s; see docs/instructor-guide.md" % (where, ", ".join(missing)))
        grading = dict(GRADING_DEFAULTS)
        grading.update(data.get("grading", {}))
        unknown = set(grading) - set(GRADING_DEFAULTS)
        if unknown:
            raise ConfigError("%s: unknown [grading] key(s) %s" % (where, ", ".join(sorted(unknown))))
        for key in ("hidden_visibility", "public_visibility"):
            if grading[key] not in VISIBILITIES:
                raise ConfigError("%s: grading.%s must be one of %s" % (where, key, ", ".join(VISIBILITIES)))
        optional = list(data.get("optional_files", []))
        for rel in list(data["required_files"]) + optional:
            if os.path.isabs(rel) or ".." in rel.split("/"):
                raise ConfigError("%s: submitted file %r must be a relative path inside the package" % (where, rel))
        forbid = list(data.get("forbid_imports", []))
        for rule in forbid:
            if not isinstance(rule, dict) or not rule.get("files") or not rule.get("modules"):
                raise ConfigError("%s: each [[forbid_imports]] needs files = [...] and modules = [...]" % where)
            probes = rule.get("probes", [])
            if not isinstance(probes, list) or not all(isinstance(t, str) and ":" in t for t in probes):
                raise ConfigError("%s: forbid_imports probes must be a list of \"module:function\" names" % where)
            stray = [f for f in rule["files"] if f not in data["required_files"]]
            if stray:
                raise ConfigError("%s: forbid_imports names %s, which is not in required_files"
                                  % (where, ", ".join(stray)))
        heldout = dict(data.get("heldout", {}))
        unknown = set(heldout) - {"gradescope", "offline", "thresholds", "checkpoint", "points"}
        if unknown:
            raise ConfigError("%s: unknown [heldout] key(s) %s" % (where, ", ".join(sorted(unknown))))
        return cls(id=data["id"], title=data["title"], package=data["package"],
                   required_files=list(data["required_files"]),
                   grader_packages=list(data.get("grader_packages", ["numpy", "pytest"])),
                   student_packages=list(data.get("student_packages", ["numpy", "pytest"])),
                   grading=grading, mistakes_file=data.get("mistakes_file", "mistakes.toml"),
                   draft=bool(data.get("draft", False)), optional_files=optional,
                   max_file_mb=float(data.get("max_file_mb", 5.0)), forbid_imports=forbid, heldout=heldout,
                   raw=data)

    def to_json_dict(self) -> dict:
        data = dict(self.raw)
        data["grading"] = self.grading
        return data


def load_file(path: str) -> Assignment:
    if not os.path.exists(path):
        raise ConfigError("%s not found" % path)
    if path.endswith(".json"):
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    else:
        data = _load_toml(path)
    return Assignment.from_dict(data, path)


def find_kit_root(start: str | None = None) -> str:
    """The kit checkout: the nearest parent holding assignments/ and solutions/."""
    here = os.path.abspath(start or os.getcwd())
    candidates = [here, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))]
    for base in candidates:
        d = base
        while True:
            if os.path.isdir(os.path.join(d, "assignments")) and os.path.isdir(os.path.join(d, "solutions")):
                return d
            parent = os.path.dirname(d)
            if parent == d:
                break
            d = parent
    raise ConfigError("not inside the course kit (no assignments/ and solutions/ found above %s)" % here)


class Kit:
    """Paths of one kit checkout."""

    def __init__(self, root: str | None = None):
        self.root = os.path.abspath(root) if root else find_kit_root()

    def path(self, *parts) -> str:
        return os.path.join(self.root, *parts)

    def assignment_ids(self) -> list:
        base = self.path("assignments")
        return sorted(d for d in os.listdir(base)
                      if os.path.isfile(os.path.join(base, d, "assignment.toml")))

    def assignment(self, aid: str) -> Assignment:
        path = self.path("assignments", aid, "assignment.toml")
        if not os.path.exists(path):
            known = ", ".join(self.assignment_ids()) or "none"
            raise ConfigError("unknown assignment %r (known: %s)" % (aid, known))
        a = load_file(path)
        if a.id != aid:
            raise ConfigError("%s: id %r does not match its folder name %r" % (path, a.id, aid))
        return a

    def resolve_ids(self, ids, skip_drafts: bool = False) -> list:
        """The named assignments (all when none is named; then drafts too unless skip_drafts)."""
        named = list(ids)
        ids = named or self.assignment_ids()
        for aid in ids:
            self.assignment(aid)
        if skip_drafts and not named:
            ids = [aid for aid in ids if not self.assignment(aid).draft]
        return ids
