"""pytest plugin: sandbox per session, seeded inputs, concise feedback, Gradescope results.json.

Loaded by the ``conftest.py`` at the root of both the student release and the
autograder tree (``pytest_plugins = ["autograder.plugin"]``), so a student's
local ``pytest`` and Gradescope run the same tests through the same engine.

Test authors use::

    from autograder import graded, sandbox, expect_close

    @graded(points=2)
    def test_sigmoid(rng):
        \"\"\"sigmoid matches 1 / (1 + exp(-x))\"\"\"       # first line = name on Gradescope
        x = rng.normal(size=(4, 5))
        expect_close(sandbox.call("neural_nets.functional:sigmoid", x), 1 / (1 + np.exp(-x)),
                     name="neural_nets.functional.sigmoid")

Parametrised cases of one test function form one Gradescope entry and share its
points (partial credit by the fraction of cases passed).
"""
from __future__ import annotations

import json
import os
import re
import sys
import time

import pytest

from . import feedback, sandbox as sandbox_mod, seeds
from .config import load_file
from .fixtures import PUBLIC_SEED, FixtureError
from .results import atomic_write_json, build_results


class BudgetExhausted(Exception):
    """Raised instead of running a test once the run's time budget is spent."""


# ------------------------------------------------------------------ options
def pytest_addoption(parser):
    group = parser.getgroup("autograder", "course kit autograder")
    group.addoption("--results", default=os.environ.get("AUTOGRADER_RESULTS_FILE"),
                    help="write Gradescope results.json here")
    group.addoption("--seed", type=int, default=None,
                    help="seed of the hidden tests' random inputs (public inputs are fixed and never change)")
    group.addoption("--submission", default=None,
                    help="folder holding the student package (default: the assignment folder)")
    group.addoption("--inprocess", action="store_true", default=False,
                    help="run student code in this process (for pdb; no time limits, no isolation)")
    group.addoption("--about", action="append", default=[], metavar="NAME",
                    help="run only the tests whose name mentions NAME (a function or class, e.g. Conv2D); "
                         "repeatable")


def graded_marker(points, visibility=None, name=None, tags=(), timeout=None):
    return pytest.mark.graded(points=points, visibility=visibility, name=name, tags=list(tags), timeout=timeout)


def _graded_kwargs(item) -> dict:
    mark = item.get_closest_marker("graded")
    kw = dict(mark.kwargs) if mark else {}
    if mark and mark.args:
        kw.setdefault("points", mark.args[0])
    return kw


def display_name(item) -> str:
    """The test's name as students see it: the marker's ``name``, else its docstring's first line."""
    doc = (getattr(getattr(item, "function", None), "__doc__", None) or "").strip().splitlines()
    return _graded_kwargs(item).get("name") or (doc[0].strip() if doc else getattr(item, "originalname", item.name))


def mentions(name: str, word: str) -> bool:
    """Whether a test name mentions ``word`` as a whole word (``Conv2D`` in "Conv2D.backward gives ...")."""
    return re.search(r"(?<![\w])%s(?![\w])" % re.escape(word), name) is not None


def current_assignment():
    if _CURRENT_STATE is None:
        raise RuntimeError("no grading session: run the tests with the autograder pytest plugin")
    return _CURRENT_STATE.assignment


class KitState:
    """Everything the plugin keeps for one pytest session."""

    def __init__(self, config):
        self.config = config
        root = str(config.rootpath)
        cfg_path = os.environ.get("AUTOGRADER_CONFIG") or os.path.join(root, "assignment.json")
        self.root = os.path.dirname(os.path.abspath(cfg_path))
        self.assignment = load_file(cfg_path)
        g = self.assignment.grading
        self.grading = g
        self.submission_dir = (config.getoption("submission") or os.environ.get("AUTOGRADER_SUBMISSION")
                               or self.root)
        self.results_path = config.getoption("results")
        self.inprocess = config.getoption("inprocess")
        self.start = time.monotonic()
        self.budget_end = self.start + float(os.environ.get("AUTOGRADER_BUDGET") or g["budget"])
        #: public tests: fixed inputs (the fixtures, and this seed for the ``rng`` of public tests)
        self.seed = PUBLIC_SEED
        #: hidden tests: the harness's hash of the submitted files and the salt; else (no harness)
        #: a hash of the files; ``--seed`` replays a recorded one
        opt_seed = config.getoption("seed")
        env_hidden = os.environ.get("AUTOGRADER_HIDDEN_SEED")
        if opt_seed is not None:
            self.hidden_seed = opt_seed
        elif env_hidden:
            self.hidden_seed = int(env_hidden)
        else:
            self.hidden_seed = seeds.seed_from(seeds.files_digest(self.submission_dir, self.assignment.required_files))
        self.seed_overridden = opt_seed is not None or os.environ.get("AUTOGRADER_SEED_OVERRIDDEN") == "1"
        public = os.environ.get("AUTOGRADER_PUBLIC_SEED")
        if public:
            # the self-check's extra seeds vary the public tests' random inputs too (the fixtures stay as
            # built); a student's run and Gradescope's never set it
            self.seed = int(public)
        #: instructor-only: run just these tests (keys "file.py::test_name"), as the self-check's
        #: re-runs on extra seeds do; set by the harness from its caller, never by a submission
        select = os.environ.get("AUTOGRADER_SELECT")
        self.select = set(json.loads(select)) if select else None
        #: instructor-only: record the submitted files each test runs (the self-check's reference grading)
        self.trace = os.environ.get("AUTOGRADER_TRACE") == "1"
        self.intake = {}
        intake_path = os.environ.get("AUTOGRADER_INTAKE")
        if intake_path and os.path.exists(intake_path):
            with open(intake_path, encoding="utf-8") as fh:
                self.intake = json.load(fh)
        self.groups = {}       # key -> group dict (see _register)
        self.order = []        # keys in Gradescope order
        self.case_key = {}     # nodeid -> key
        self.leaderboard = {}
        self.sandbox = None
        self.worker_class_now = None
        self.confinement = None
        #: instructor-only lines (how the sandbox was confined, what could not be)
        self.diagnostics = []
        #: lines for the student at the top of the results (e.g. a refused import)
        self.notes = []

    # -------------------------------------------------------------- grouping
    def visibility(self, item) -> str:
        mark = item.get_closest_marker("graded")
        vis = mark.kwargs.get("visibility") if mark else None
        return vis or self.grading["hidden_visibility" if self.is_hidden(item) else "public_visibility"]

    def worker_class(self, item) -> int:
        """Tests run by class, most visible first; each class gets workers of its own, so nothing a
        hidden test showed the worker can reach the output of a test students see earlier."""
        return VISIBILITY_ORDER.get(self.visibility(item), len(VISIBILITY_ORDER))

    def is_hidden(self, item) -> bool:
        return "hidden" in os.path.relpath(str(item.path), self.root).split(os.sep)[:-1]

    def register(self, items):
        # Gradescope numbers follow the collection order, not the (visibility-sorted) run order
        items = sorted(items, key=lambda it: it.stash.get(_ORDER_KEY, 0))
        files = []
        for item in items:
            f = str(item.path)
            if f not in files:
                files.append(f)
        files.sort(key=lambda f: ("%s%s%s" % (os.sep, "hidden", os.sep) in f, os.path.basename(f)))
        per_file = {}
        for item in items:
            key = self.key(item)
            if key not in self.groups:
                mark = item.get_closest_marker("graded")
                kw = _graded_kwargs(item)
                hidden = self.is_hidden(item)
                vis = self.visibility(item)
                f = str(item.path)
                fidx = files.index(f) + 1
                per_file[f] = per_file.get(f, 0) + 1
                self.groups[key] = {
                    "name": display_name(item),
                    "points": float(kw.get("points", 0.0)),
                    "visibility": vis, "hidden": hidden, "tags": list(kw.get("tags") or []),
                    "number": "%d.%d" % (fidx, per_file[f]),
                    "cases": [], "outcomes": {}, "messages": [],
                    "graded": mark is not None, "key": key, "seeded": False, "touched": set(),
                }
                self.order.append(key)
            self.groups[key]["cases"].append(item.nodeid)
            # inputs drawn from the seed: re-run on other seeds by the self-check
            self.groups[key]["seeded"] |= bool({"rng", "seed"} & set(getattr(item, "fixturenames", ())))
            self.case_key[item.nodeid] = key
        self.order.sort(key=lambda k: tuple(int(p) for p in self.groups[k]["number"].split(".")))

    @staticmethod
    def key(item) -> str:
        return "%s::%s" % (os.path.basename(str(item.path)), getattr(item, "originalname", None) or item.name)

    def test_seed(self, item) -> int:
        return self.hidden_seed if self.is_hidden(item) else self.seed

    # -------------------------------------------------------------- results
    def results(self, finished: bool) -> dict:
        return build_results(self, finished)

    def write(self, finished: bool):
        if self.results_path:
            atomic_write_json(self.results_path, self.results(finished))


_STATE_KEY = pytest.StashKey[KitState]()
_ORDER_KEY = pytest.StashKey[int]()
#: the order in which visibility classes run; a fresh worker starts at each change of class
VISIBILITY_ORDER = {"visible": 0, "after_due_date": 1, "after_published": 2, "hidden": 3}


def _state(config) -> KitState:
    return config.stash[_STATE_KEY]


# ------------------------------------------------------------------ lifecycle
_CURRENT_STATE: KitState | None = None


def pytest_configure(config):
    global _CURRENT_STATE
    config.addinivalue_line("markers", "graded(points, visibility=None, name=None, tags=()): a graded test")
    config.stash[_STATE_KEY] = _CURRENT_STATE = KitState(config)
    # instructor-only modules at the top of tests/ (oracles.py, cases.py: autograder zip only) and
    # helpers shared by public and hidden tests in tests/public/
    for sub in ("public", ""):
        tests_dir = os.path.join(_CURRENT_STATE.root, "tests", sub).rstrip(os.sep)
        if tests_dir not in sys.path:
            sys.path.insert(0, tests_dir)


def pytest_sessionstart(session):
    st = _state(session.config)
    probes = os.path.join(st.root, "tests", "probes")
    if st.inprocess:
        from .sandbox.inprocess import InProcessSandbox

        st.sandbox = InProcessSandbox(st.submission_dir, [probes])
    else:
        st.confinement = None
        from .sandbox import isolation

        if isolation.is_root():  # Gradescope: student code must not run as root
            try:
                st.confinement = isolation.Confinement({"memory_mb": int(st.grading["worker_memory_mb"])},
                                                       uid=os.environ.get("AUTOGRADER_SANDBOX_UID") or None)
                worker_python = isolation.reachable_python(
                    os.environ.get("AUTOGRADER_WORKER_PYTHON") or sys.executable)
                st.diagnostics.append("sandbox: " + st.confinement.describe())
                st.diagnostics += st.confinement.notes
            except (isolation.IsolationError, OSError) as exc:
                st.diagnostics.append("sandbox could not be confined: %s" % exc)
                st.sandbox = _RefusingSandbox("sandbox error, not caused by your code: %s" % exc)
                sandbox_mod.set_current(st.sandbox)
                return
        else:
            worker_python = None
            st.diagnostics.append("sandbox: plain subprocess of the current user (harness not root)")
        st.sandbox = _make_sandbox(st, probes, worker_python)
    _apply_import_rules(st)
    if not st.inprocess:
        st.sandbox.preflight([rel[:-3].replace("/", ".") for rel in st.assignment.required_files
                              if rel.endswith(".py") and os.path.exists(os.path.join(st.submission_dir, rel))])
    sandbox_mod.set_current(st.sandbox)


def _make_sandbox(st, probes, worker_python):
    """One worker; or, under [[forbid_imports]] rules, one per rule beside the main one (RoutedSandbox)."""
    def make(**rules):
        return sandbox_mod.Sandbox(
            st.submission_dir, [probes], python=worker_python, call_timeout=st.grading["call_timeout"],
            threads=st.grading["threads"], max_reply_bytes=int(st.grading["max_reply_mb"]) << 20,
            confinement=st.confinement, trace=st.trace, template=os.environ.get("AUTOGRADER_TEMPLATE") or None,
            **rules)

    rules = st.assignment.forbid_imports
    if not rules or disabled("import-audit"):
        return make()
    guarded, routes = [], []
    for rule in rules:
        files = list(rule["files"])
        where = files[0] if len(files) == 1 else "%s or %s" % (", ".join(files[:-1]), files[-1])
        message = "{module} may not be imported by %s (%s); remove the import and use NumPy only, then upload again" % (
            where, rule.get("reason") or "an assignment rule")
        guarded.append({"files": list(rule["files"]), "modules": list(rule["modules"]), "message": message})
        modules = [rel[:-3].replace("/", ".") for rel in rule["files"]]
        routes.append((modules, list(rule.get("probes", ())),
                       make(forbid={"modules": list(rule["modules"]), "message": message})))
    return sandbox_mod.RoutedSandbox(make(guarded=guarded), routes)


def disabled(defence: str) -> bool:
    from .sandbox.isolation import disabled as off

    return off(defence)


def _apply_import_rules(st) -> None:
    """Refuse submitted modules that break the assignment's forbid_imports rules (read, never run)."""
    if not st.assignment.forbid_imports:
        return
    from .policy import violations

    for module, message in violations(st.submission_dir, st.assignment.forbid_imports).items():
        st.sandbox.refuse(module, message)
        st.notes.append(message)


class _RefusingSandbox:
    """Stands in when confinement failed: every call fails loudly; student code never runs."""

    restarts = 0
    deadline = None
    deadline_reason = ""

    def __init__(self, message):
        self.message = message

    def call(self, *args, **kwargs):
        raise sandbox_mod.SandboxError(self.message)

    call_with = call_pure = import_module = call

    def restart(self):
        pass

    def close(self):
        pass


def pytest_collection_modifyitems(session, config, items):
    """Run the tests of each visibility class together, most visible first (stable otherwise)."""
    st = _state(config)
    for i, item in enumerate(items):
        item.stash[_ORDER_KEY] = i
    if st.select is not None:
        keep = [it for it in items if st.key(it) in st.select]
        dropped = [it for it in items if st.key(it) not in st.select]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    about = config.getoption("about")
    if about:
        keep = [it for it in items if any(mentions(display_name(it), w) for w in about)]
        dropped = [it for it in items if it not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    if not disabled("visibility-workers"):
        items.sort(key=st.worker_class)


def pytest_collection_finish(session):
    """Register the final items (after -k/-m deselection), so only selected tests are reported."""
    st = _state(session.config)
    st.register(session.items)
    st.write(finished=False)
    torch = sys.modules.get("torch")  # imported by the tests' oracles, if at all
    if torch is not None:
        torch.set_num_threads(int(st.grading["threads"]))


def pytest_sessionfinish(session, exitstatus):
    st = _state(session.config)
    if st.sandbox is not None:
        st.sandbox.close()
        sandbox_mod.set_current(None)
    if getattr(st, "confinement", None) is not None:
        st.confinement.release()
    st.write(finished=True)


# ------------------------------------------------------------------ per test
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    st = _state(item.config)
    if st.trace:
        sandbox_mod.take_touched()  # nothing of an earlier test counts for this one
    now = time.monotonic()
    if now >= st.budget_end:
        raise BudgetExhausted("not run: the autograder's time budget of %g s was used up by earlier tests"
                              % st.grading["budget"])
    cls = st.worker_class(item)
    if st.worker_class_now is not None and cls != st.worker_class_now and not disabled("visibility-workers"):
        st.sandbox.restart()  # no worker (nor its files) crosses a visibility boundary
    st.worker_class_now = cls
    marker = item.get_closest_marker("graded")
    limit = float((marker.kwargs.get("timeout") if marker else None) or st.grading["test_timeout"])
    test_end = now + limit
    if test_end < st.budget_end:
        st.sandbox.deadline, st.sandbox.deadline_reason = test_end, "this test's time limit of %g s" % limit
    else:
        st.sandbox.deadline, st.sandbox.deadline_reason = st.budget_end, "the autograder's overall time budget"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    st = _state(item.config)
    with feedback.reveal_values(not st.is_hidden(item)):
        yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    st = _state(item.config)
    if st.trace and call.when == "teardown":
        key = st.case_key.get(item.nodeid)
        if key is not None:
            st.groups[key]["touched"].update(sandbox_mod.take_touched())
    if report.failed and call.excinfo is not None:
        msg = describe_failure(call.excinfo.value, hidden=st.is_hidden(item), state=st)
        limit = int(st.grading["output_limit"])
        if len(msg) > limit:
            msg = msg[:limit] + "\n[... message truncated ...]"
        report.kit_message = msg
        report.longrepr = msg  # concise terminal output for students too
    elif report.skipped and call.when in ("setup", "call"):
        report.kit_message = "skipped: %s" % (report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr)


def pytest_runtest_logreport(report):
    st = _CURRENT_STATE
    key = st.case_key.get(report.nodeid) if st else None
    if key is None:
        return
    g = st.groups[key]
    if g["outcomes"].get(report.nodeid) != "failed":
        if report.failed or (report.skipped and report.when in ("setup", "call")):
            g["outcomes"][report.nodeid] = "failed"
            label = _case_label(report.nodeid, len(g["cases"]))
            g["messages"].append((label, getattr(report, "kit_message", None) or "failed"))
        elif report.when == "call" and report.passed:
            g["outcomes"][report.nodeid] = "passed"
    if report.when == "teardown":
        st.write(finished=False)


def _case_label(nodeid: str, n_cases: int) -> str:
    if n_cases <= 1 or "[" not in nodeid:
        return ""
    return nodeid[nodeid.index("[") + 1:-1]


# ------------------------------------------------------------------ fixtures
@pytest.fixture
def seed(request) -> int:
    """The seed of this test's random inputs: fixed in public tests, the hidden seed in hidden tests."""
    return _state(request.config).test_seed(request.node)


@pytest.fixture
def rng(request):
    """A numpy Generator for this test case: fixed in public tests, from the hidden seed in hidden ones."""
    st = _state(request.config)
    return seeds.rng_for(st.test_seed(request.node), KitState.key(request.node) + "|" + request.node.name)


class Leaderboard:
    def __init__(self, state):
        self._state = state

    def record(self, name: str, value: float, order: str = "desc") -> None:
        """Publish ``value`` on Gradescope's leaderboard column ``name`` (order asc|desc)."""
        if order not in ("asc", "desc"):
            raise ValueError("leaderboard order must be 'asc' or 'desc'")
        self._state.leaderboard[name] = {"name": name, "value": value, "order": order}


@pytest.fixture(scope="session")
def heldout(request):
    """The held-out images and labels of ``[heldout]`` (harness only: send the worker images, never labels)."""
    from . import heldout as heldout_mod

    st = _state(request.config)
    if not st.assignment.heldout:
        raise RuntimeError("the heldout fixture needs a [heldout] table in assignment.toml")
    return heldout_mod.load(st.root, st.assignment.heldout)


@pytest.fixture
def leaderboard(request) -> Leaderboard:
    return Leaderboard(_state(request.config))


# ------------------------------------------------------------------ messages
def _missing_module_message(exc, state) -> str | None:
    missing = (state.intake or {}).get("missing") or []
    if not missing or not isinstance(exc, sandbox_mod.StudentError):
        return None
    if exc.exc_type not in ("ModuleNotFoundError", "ImportError"):
        return None
    for rel in missing:
        module = rel[:-3].replace("/", ".") if rel.endswith(".py") else rel
        if module.split(".")[-1] in str(exc.info.get("message", "")):
            return "%s was not found in your submission, so this test could not run" % rel
    return None


def describe_failure(exc, hidden: bool, state=None) -> str:
    """One short message for the student; never harness frames."""
    if isinstance(exc, feedback.Feedback):
        return str(exc)
    if isinstance(exc, sandbox_mod.StudentError):
        msg = (_missing_module_message(exc, state) if state else None) or str(exc)
        if exc.printed.strip() and not exc.not_implemented:
            msg += "\nYour code printed (last lines):\n" + exc.printed[-600:]
        return msg
    if isinstance(exc, (sandbox_mod.SandboxError, BudgetExhausted, FixtureError)):
        return str(exc)
    if isinstance(exc, AssertionError):
        text = str(exc)
        if hidden:  # pytest's rewritten asserts may show expected values: keep only the author's message
            text = text.split("\nassert ")[0].split("\nAssertionError")[0]
            if text.startswith("assert "):
                text = ""
        return "check failed" + (": " + text.strip()[:1000] if text.strip() else "")
    if isinstance(exc, pytest.skip.Exception):
        return "skipped: %s" % exc
    detail = "" if hidden else ": %s" % str(exc)[:300]
    return ("internal error in this test, not caused by your code; please tell your instructor "
            "(%s%s)" % (type(exc).__name__, detail))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    st = _state(config)
    res = st.results(finished=True)
    tr = terminalreporter
    tr.section("autograder")
    width = max([len(t["name"]) for t in res["tests"]] + [10])
    for t in res["tests"]:
        first = [ln for ln in (t.get("output") or "").splitlines() if "cases passed" not in ln][:1]
        tr.write_line("%-6s %-*s %6.2f / %-6.2f %s" % (t["number"], width, t["name"][:width], t["score"],
                                                      t["max_score"], first[0][:100] if first and t["status"] == "failed" else ""))
    hidden = any(g["hidden"] for g in st.groups.values())
    tr.write_line("total: %.2f / %.2f   (public inputs are fixed: Gradescope's public tests see the same%s)"
                  % (res["score"], sum(t["max_score"] for t in res["tests"]),
                     "; hidden inputs: seed %d, replay with --seed %d" % (st.hidden_seed, st.hidden_seed)
                     if hidden else ""))
