"""Course kit autograder: sandboxed grading, feedback helpers, release tools.

Test authors import from here::

    from autograder import graded, sandbox, expect_close, expect_grad_close, expect_shape
"""
#: imported from .feedback on first use (the harness process, which never compares values, then starts
#: without NumPy: it runs once per grading, hundreds of times in a self-check)
_FEEDBACK = ("Feedback", "diagnose", "expect_close", "expect_equal", "expect_finite", "expect_grad_close",
             "expect_scalar", "expect_shape")

__version__ = "0.1.0"


def graded(points, visibility=None, name=None, tags=(), timeout=None):
    """Mark a test as worth ``points`` on Gradescope.

    visibility: "visible" | "hidden" | "after_due_date" | "after_published"
                (default: the assignment's public/hidden visibility by the test's folder).
    name:       shown on Gradescope (default: the first line of the docstring).
    timeout:    seconds for this test (default: the assignment's grading.test_timeout).
    """
    from .plugin import graded_marker

    return graded_marker(points, visibility=visibility, name=name, tags=tags, timeout=timeout)


def assignment():
    """The assignment being graded (its ``assignment.json``), for test modules at import time."""
    from .plugin import current_assignment

    return current_assignment()


def __getattr__(name):
    import importlib

    if name == "sandbox":  # lazy: `from autograder import sandbox`
        return importlib.import_module(".sandbox", __name__)
    if name in _FEEDBACK:
        return getattr(importlib.import_module(".feedback", __name__), name)
    raise AttributeError(name)


def __dir__():
    return sorted(list(globals()) + list(_FEEDBACK) + ["sandbox"])
