"""Solution markers (autograder.markers) and starter generation (autograder.starter)."""
import ast
import os
import textwrap

import pytest

from autograder.config import Kit
from autograder.markers import MarkerError, find_regions, has_markers, solution_blocks, strip_solutions
from autograder.starter import generate, module_name, render_starter, stale_files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def src(text):
    return textwrap.dedent(text).lstrip("\n")


def strip(text, module="pkg.mod", filename="pkg/mod.py"):
    return strip_solutions(src(text), filename, module)


def marker_error(text, filename="pkg/mod.py"):
    with pytest.raises(MarkerError) as info:
        strip_solutions(src(text), filename, "pkg.mod")
    return str(info.value)


def function_body(starter, qualname):
    """The statements of the function ``qualname`` in ``starter`` (parsed)."""
    node = ast.parse(starter)
    for part in qualname.split("."):
        node = next(n for n in ast.walk(node)
                    if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == part)
    return node


# ---------------------------------------------------------------- SOLUTION regions

def test_solution_in_function_becomes_raise_with_module_qualname():
    out = strip('''
        import numpy as np


        def softmax(scores, axis=-1):
            """Row-wise softmax."""
            # BEGIN SOLUTION
            shifted = scores - scores.max(axis=axis, keepdims=True)
            e = np.exp(shifted)
            return e / e.sum(axis=axis, keepdims=True)
            # END SOLUTION


        def after():
            return 1
    ''')
    assert out == src('''
        import numpy as np


        def softmax(scores, axis=-1):
            """Row-wise softmax."""
            raise NotImplementedError("pkg.mod.softmax")


        def after():
            return 1
    ''')
    compile(out, "starter", "exec")
    assert "shifted" not in out and "BEGIN" not in out and "END" not in out


def test_signature_and_docstring_kept_and_stub_raises_at_runtime():
    out = strip('''
        def loss(scores, y, *, reduction="mean"):
            """Cross-entropy.

            Args:
                scores: (N, K)
            """
            # BEGIN SOLUTION
            return 0.0
            # END SOLUTION
    ''', module="neural_nets.functional")
    fn = function_body(out, "loss")
    assert [a.arg for a in fn.args.args] == ["scores", "y"]
    assert [a.arg for a in fn.args.kwonlyargs] == ["reduction"]
    assert ast.get_docstring(fn) == "Cross-entropy.\n\nArgs:\n    scores: (N, K)"
    ns = {}
    exec(compile(out, "starter", "exec"), ns)
    with pytest.raises(NotImplementedError, match=r"^neural_nets\.functional\.loss$"):
        ns["loss"](1, 2)


def test_method_gets_class_qualname_at_marker_indentation():
    out = strip('''
        class Linear:
            def __init__(self, n):
                self.n = n

            def forward(self, x):
                if x is not None:
                    # BEGIN SOLUTION
                    return x * self.n
                    # END SOLUTION
                return None
    ''')
    assert '            raise NotImplementedError("pkg.mod.Linear.forward")\n' in out
    assert "self.n = n" in out  # code outside regions untouched
    ns = {}
    exec(compile(out, "starter", "exec"), ns)
    with pytest.raises(NotImplementedError, match="pkg.mod.Linear.forward"):
        ns["Linear"](2).forward(3)
    assert ns["Linear"](2).forward(None) is None


def test_nested_function_and_outer_function_regions():
    out = strip('''
        def outer(x):
            def inner(y):
                # BEGIN SOLUTION
                return y + 1
                # END SOLUTION
            # BEGIN SOLUTION
            return inner(x)
            # END SOLUTION
    ''')
    assert '        raise NotImplementedError("pkg.mod.outer.inner")' in out.splitlines()
    assert '    raise NotImplementedError("pkg.mod.outer")' in out.splitlines()
    compile(out, "starter", "exec")


def test_source_without_markers_is_returned_unchanged():
    text = "def f():\n    return 1  # a comment\n"
    assert strip_solutions(text, "f.py", "f") == text
    assert not has_markers(text)


def test_trailing_newline_is_preserved_or_not():
    with_nl = strip("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\n")
    assert with_nl.endswith(')\n')
    without = strip_solutions("def f():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION", "f.py", "f")
    assert without == 'def f():\n    raise NotImplementedError("f.f")'


# ---------------------------------------------------------------- PROMPT regions

def test_prompt_right_before_solution_replaces_it():
    out = strip('''
        def softmax(scores):
            """Doc."""
            # BEGIN PROMPT
            # shifted = ...  # subtract the row-wise maximum
            # return ...
            # END PROMPT
            # BEGIN SOLUTION
            shifted = scores - scores.max()
            return shifted
            # END SOLUTION
    ''')
    assert out == src('''
        def softmax(scores):
            """Doc."""
            shifted = ...  # subtract the row-wise maximum
            return ...
    ''')
    assert "NotImplementedError" not in out
    compile(out, "starter", "exec")


def test_prompt_then_blank_line_then_solution_still_replaces():
    out = strip('''
        def f():
            # BEGIN PROMPT
            # return 0
            # END PROMPT

            # BEGIN SOLUTION
            return 1
            # END SOLUTION
    ''')
    assert "NotImplementedError" not in out
    assert "    return 0" in out.splitlines()
    assert "return 1" not in out


def test_prompt_not_followed_by_solution_is_only_uncommented():
    out = strip('''
        def f(x):
            # BEGIN PROMPT
            # y = x * 2
            #
            # END PROMPT
            y = x + 1
            # BEGIN SOLUTION
            return y
            # END SOLUTION
    ''')
    lines = out.splitlines()
    assert "    y = x * 2" in lines
    assert "    y = x + 1" in lines  # code between prompt and solution: not "right before"
    assert '    raise NotImplementedError("pkg.mod.f")' in lines
    compile(out, "starter", "exec")


def test_prompt_alone_at_module_level():
    out = strip('''
        # BEGIN PROMPT
        # LEARNING_RATE = 0.1
        # END PROMPT
        X = 1
    ''')
    assert out == "LEARNING_RATE = 0.1\nX = 1\n"


# ---------------------------------------------------------------- regions and blocks

def test_find_regions_reports_kind_lines_and_indent():
    text = src('''
        def f():
            # BEGIN PROMPT
            # return 0
            # END PROMPT
            # BEGIN SOLUTION
            return 1
            # END SOLUTION
    ''')
    assert find_regions(text, "f.py") == [("PROMPT", 2, 4, "    "), ("SOLUTION", 5, 7, "    ")]
    assert has_markers(text)


def test_solution_blocks_are_normalized_and_exclude_prompts():
    text = src('''
        def f():
            # BEGIN PROMPT
            # return 0
            # END PROMPT
            # BEGIN SOLUTION
            a = 1

                    # odd indent
            return a
            # END SOLUTION
    ''')
    assert solution_blocks(text, "f.py") == ["a = 1\n# odd indent\nreturn a"]


# ---------------------------------------------------------------- errors name file:line

@pytest.mark.parametrize("text, line, words", [
    ("""
     def f():
         # BEGIN SOLUTION
         return 1
     """, 2, "never closed"),
    ("""
     def f():
         return 1
         # END SOLUTION
     """, 3, "without a matching BEGIN"),
    ("""
     def f():
         # BEGIN SOLUTION
         x = 1
         # BEGIN SOLUTION
         return x
         # END SOLUTION
     """, 4, "cannot nest"),
    ("""
     def f():
         # BEGIN PROMPT
         # return 0
         # BEGIN SOLUTION
     """, 4, "cannot nest"),
    ("""
     def f():
         # BEGIN SOLUTION
         return 1
         # END PROMPT
     """, 4, "closes the SOLUTION region opened at line 2"),
    ("""
     def f():
         x = 1  # BEGIN SOLUTION
         return x
     """, 2, "alone on its line"),
    ("""
     def f():
         # BEGIN SOLUTION and more words
         return 1
         # END SOLUTION
     """, 2, "alone on its line"),
    ("""
     def f():
         # BEGIN PROMPT
         # a = 1
         b = 2
         # END PROMPT
         return 1
     """, 4, "must be comments"),
], ids=["unbalanced-begin", "end-without-begin", "nested-begin", "begin-inside-prompt",
        "mismatched-end", "marker-after-code", "marker-with-words", "code-in-prompt"])
def test_marker_errors_name_file_and_exact_line(text, line, words):
    msg = marker_error(text, filename="solutions/pkg/mod.py")
    assert msg.startswith("solutions/pkg/mod.py:%d:" % line), msg
    assert words in msg


def test_marker_error_is_a_value_error():
    assert issubclass(MarkerError, ValueError)


def test_starter_that_would_not_compile_is_a_marker_error():
    # the solution is the whole body and no docstring: the prompt leaves only a comment
    msg = marker_error('''
        def f():
            # BEGIN PROMPT
            # # write your code here
            # END PROMPT
            # BEGIN SOLUTION
            return 1
            # END SOLUTION
    ''', filename="m.py")
    assert msg.startswith("m.py:")
    assert "does not compile" in msg


def test_reference_that_does_not_parse_is_a_marker_error():
    msg = marker_error('''
        def f(:
            # BEGIN SOLUTION
            return 1
            # END SOLUTION
    ''', filename="m.py")
    assert msg.startswith("m.py:1:")


# markers.py splits like Python's tokenizer (\n, \r\n, \r), not like str.splitlines (which
# also breaks at \f, \v, \x1c-\x1e, \x85, \u2028, \u2029 and would shift line numbers).


def test_line_separator_inside_a_string_literal_is_kept():
    text = 'SEP = "a\u2028b"\n\n\ndef f():\n    # BEGIN SOLUTION\n    return SEP\n    # END SOLUTION\n'
    out = strip_solutions(text, "m.py", "m")  # currently: MarkerError, the starter "does not compile"
    assert out.startswith('SEP = "a\u2028b"\n')


def test_form_feed_does_not_shift_qualnames():
    text = '"""Doc\x0c\x0c\x0c."""\ndef a():\n    # BEGIN SOLUTION\n    return 1\n    # END SOLUTION\ndef b():\n    return 2\n'
    out = strip_solutions(text, "m.py", "m")
    assert 'raise NotImplementedError("m.a")' in out  # currently names m.b
    assert out.startswith('"""Doc\x0c\x0c\x0c."""\n')


def test_form_feed_does_not_shift_error_lines():
    text = "def f():\n    pass\n\x0c\n\ndef g():\n    # END SOLUTION\n"
    with pytest.raises(MarkerError) as info:
        strip_solutions(text, "m.py", "m")
    assert str(info.value).startswith("m.py:6:"), str(info.value)  # currently m.py:7:


# ---------------------------------------------------------------- module_name

@pytest.mark.parametrize("rel, mod", [
    ("neural_nets/functional.py", "neural_nets.functional"),
    ("neural_nets/__init__.py", "neural_nets"),
    ("a/b/c.py", "a.b.c"),
    ("top.py", "top"),
])
def test_module_name(rel, mod):
    assert module_name(rel.replace("/", os.sep)) == mod


# ---------------------------------------------------------------- generate() on a fake kit

SOLUTION_V1 = src('''
    """Fake functional module."""
    import numpy as np


    def double(x):
        """Twice x."""
        # BEGIN SOLUTION
        return 2 * x
        # END SOLUTION


    class Model:
        def forward(self, x):
            # BEGIN SOLUTION
            return double(x)
            # END SOLUTION
''')


def make_kit(root, aid="a0_fake", pkg="fakepkg"):
    adir = root / "assignments" / aid
    adir.mkdir(parents=True)
    (adir / "assignment.toml").write_text(
        'id = "%s"\ntitle = "Fake"\npackage = "%s"\nrequired_files = ["%s/functional.py"]\n' % (aid, pkg, pkg))
    sol = root / "solutions" / aid / pkg
    (sol / "sub").mkdir(parents=True)
    (sol / "__init__.py").write_text("from . import functional\n")
    (sol / "functional.py").write_text(SOLUTION_V1)
    (sol / "sub" / "__init__.py").write_text("")
    (sol / "sub" / "deep.py").write_text(
        "def g():\n    # BEGIN SOLUTION\n    return 3\n    # END SOLUTION\n")
    (sol / "data.csv").write_bytes(b"a,b\n1,2\n\x00\xff binary ok\n")
    (sol / "__pycache__").mkdir()
    (sol / "__pycache__" / "functional.cpython-311.pyc").write_bytes(b"junk")
    (sol / "stray.pyc").write_bytes(b"junk")
    kit = Kit(str(root))
    assert kit.assignment(aid).package == pkg  # the fake kit is a valid kit
    return kit


def snapshot(folder):
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, folder)] = fh.read()
    return out


def test_generate_writes_starter(tmp_path):
    kit = make_kit(tmp_path)
    dest = generate(kit, "a0_fake")
    assert dest == str(tmp_path / "student_starter" / "a0_fake")
    files = snapshot(dest)
    assert sorted(files) == ["fakepkg/__init__.py", "fakepkg/data.csv", "fakepkg/functional.py",
                             "fakepkg/sub/__init__.py", "fakepkg/sub/deep.py"]
    func = files["fakepkg/functional.py"].decode()
    assert 'raise NotImplementedError("fakepkg.functional.double")' in func
    assert 'raise NotImplementedError("fakepkg.functional.Model.forward")' in func
    assert "return 2 * x" not in func and '"""Twice x."""' in func
    assert 'raise NotImplementedError("fakepkg.sub.deep.g")' in files["fakepkg/sub/deep.py"].decode()
    # non-Python files are copied byte for byte; no bytecode or __pycache__
    assert files["fakepkg/data.csv"] == (tmp_path / "solutions/a0_fake/fakepkg/data.csv").read_bytes()
    assert not any("__pycache__" in p or p.endswith(".pyc") for p in files)
    assert os.listdir(tmp_path / "student_starter") == ["a0_fake"]


def test_generate_replaces_previous_starter(tmp_path):
    kit = make_kit(tmp_path)
    dest = generate(kit, "a0_fake")
    with open(os.path.join(dest, "fakepkg", "leftover.txt"), "w") as fh:
        fh.write("from an older generation")
    generate(kit, "a0_fake")
    assert not os.path.exists(os.path.join(dest, "fakepkg", "leftover.txt"))
    assert os.listdir(tmp_path / "student_starter") == ["a0_fake"]


def test_generate_marker_error_leaves_previous_starter_untouched(tmp_path):
    kit = make_kit(tmp_path)
    dest = generate(kit, "a0_fake")
    before = snapshot(dest)
    broken = tmp_path / "solutions/a0_fake/fakepkg/sub/deep.py"
    broken.write_text("def g():\n    # BEGIN SOLUTION\n    return 4\n")  # never closed
    with pytest.raises(MarkerError) as info:
        generate(kit, "a0_fake")
    msg = str(info.value)
    assert "deep.py:2:" in msg and "never closed" in msg
    assert snapshot(dest) == before
    assert os.listdir(tmp_path / "student_starter") == ["a0_fake"]  # no temp folders left


def test_generate_marker_error_names_the_real_path(tmp_path):
    kit = make_kit(tmp_path)
    (tmp_path / "solutions/a0_fake/fakepkg/sub/deep.py").write_text("def g():\n    # END SOLUTION\n")
    with pytest.raises(MarkerError) as info:
        generate(kit, "a0_fake")
    path, line = str(info.value).split(":")[:2]
    assert path == os.path.join("solutions", "a0_fake", "fakepkg", "sub", "deep.py")
    assert os.path.isfile(kit.path(path)) and line == "2"


def test_generate_without_solutions_folder(tmp_path):
    kit = make_kit(tmp_path)
    with pytest.raises(FileNotFoundError, match="solutions/nope"):
        generate(kit, "nope")


def test_render_starter_returns_the_files(tmp_path):
    make_kit(tmp_path)
    dest = tmp_path / "out"
    files = render_starter(str(tmp_path / "solutions/a0_fake"), str(dest))
    assert sorted(files) == sorted(snapshot(dest))
    assert os.path.join("fakepkg", "functional.py") in files


def test_stale_files_empty_after_generate_and_lists_edited_file(tmp_path):
    kit = make_kit(tmp_path)
    generate(kit, "a0_fake")
    assert stale_files(kit, "a0_fake") == []
    # editing the solution *outside* a region changes the starter
    path = tmp_path / "solutions/a0_fake/fakepkg/functional.py"
    path.write_text(SOLUTION_V1.replace('"""Twice x."""', '"""Two times x."""'))
    assert stale_files(kit, "a0_fake") == [os.path.join("fakepkg", "functional.py")]
    # editing only inside a region does not
    path.write_text(SOLUTION_V1.replace("return 2 * x", "return x + x"))
    assert stale_files(kit, "a0_fake") == []


def test_stale_files_lists_added_and_removed_files(tmp_path):
    kit = make_kit(tmp_path)
    generate(kit, "a0_fake")
    (tmp_path / "solutions/a0_fake/fakepkg/new.py").write_text("X = 1\n")
    os.remove(tmp_path / "solutions/a0_fake/fakepkg/data.csv")
    assert stale_files(kit, "a0_fake") == [os.path.join("fakepkg", "data.csv"), os.path.join("fakepkg", "new.py")]


def test_stale_files_when_starter_never_generated(tmp_path):
    kit = make_kit(tmp_path)
    assert len(stale_files(kit, "a0_fake")) == 5


# ---------------------------------------------------------------- the real kit

def test_committed_starter_is_not_stale():
    stale = stale_files(Kit(REPO), "a1_neural_nets")
    assert stale == [], ("student_starter/a1_neural_nets is stale (differs from solutions/ in %s); "
                         "run `make starter` and commit the result" % ", ".join(stale))
