"""collect_submission.py (shipped at the root of every student release) refuses what the grader would zero
and warns about unfinished work, on trees built by the release builder itself."""
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile

import pytest

from autograder import answers
from autograder.build import starter_files, student_tree
from autograder.policy import violations
from conftest import A1, KIT
from test_answers import fill_answers, pdf_tools  # noqa: F401 - the fixture installs pandoc and xelatex when missing

A2 = "a2_cnn"
UNITS = {"B": 1, "KB": 1024, "MB": 2**20}


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """One student tree per assignment, built once; each test works on a copy."""
    return {aid: student_tree(KIT, aid, str(tmp_path_factory.mktemp(aid))) for aid in (A1, A2)}


@pytest.fixture
def tree(releases, tmp_path):
    def make(aid):
        root = str(tmp_path / aid)
        shutil.copytree(releases[aid], root)
        return root
    return make


def collect(root, *args, env=None):
    """Run the script; the code checks are tested without the PDF step (``--no-pdf``) unless ``args`` say otherwise."""
    return subprocess.run([sys.executable, "collect_submission.py", *(args or ["--no-pdf"])], cwd=root,
                          capture_output=True, text=True, timeout=600, env=env)


def config(root):
    with open(os.path.join(root, "assignment.json"), encoding="utf-8") as fh:
        return json.load(fh)


def use_reference(root, aid, rels=None):
    """Copy the reference solution of ``rels`` (default: every required and optional file) into the tree."""
    a = KIT.assignment(aid)
    for rel in rels or a.required_files + a.optional_files:
        src = KIT.path("solutions", aid, *rel.split("/"))
        if os.path.exists(src):
            shutil.copyfile(src, os.path.join(root, rel))


def starter_stubs(aid, rel):
    """The functions the marker tool turned into stubs: their raise names them (``pkg.mod.Qual.name``)."""
    with open(KIT.path("student_starter", aid, *rel.split("/")), encoding="utf-8") as fh:
        text = fh.read()
    module = rel[:-3].replace("/", ".")
    return re.findall(r'raise NotImplementedError\("%s\.([\w.]+)"\)' % re.escape(module), text)


def lines(text, prefix):
    return [ln for ln in text.splitlines() if ln.startswith(prefix)]


def zip_names(root):
    with zipfile.ZipFile(os.path.join(root, "submission.zip")) as zf:
        return zf.namelist()


@pytest.mark.parametrize("aid", [A1, A2])
def test_untouched_starter_is_zipped_with_one_warning_per_unchanged_file(tree, aid):
    root = tree(aid)
    required = KIT.assignment(aid).required_files
    proc = collect(root)
    assert proc.returncode == 0, proc.stderr
    assert zip_names(root) == required
    assert lines(proc.stdout, "warning: ") == ["warning: %s is unchanged from the starter: every test of it will fail"
                                               % rel for rel in required]
    assert "%d warnings: the zip was written" % len(required) in proc.stdout
    # progress: one line per file before its import, all before the summary
    out = proc.stdout.splitlines()
    wrote = next(i for i, ln in enumerate(out) if ln.startswith("wrote "))
    for rel in required:
        assert any(ln.startswith("  importing %s ..." % rel) for ln in out[:wrote]), proc.stdout


def test_reference_solutions_are_zipped_without_warnings_and_listed_with_sizes(tree):
    root = tree(A2)
    use_reference(root, A2)
    a = KIT.assignment(A2)
    proc = collect(root)
    assert proc.returncode == 0, proc.stderr
    assert lines(proc.stdout, "warning") == [] and "no warnings" in proc.stdout and proc.stderr == ""
    present = [rel for rel in a.optional_files if os.path.exists(os.path.join(root, rel))]
    assert present, "the reference ships its checkpoint, so the optional file is in the zip"
    assert zip_names(root) == a.required_files + present
    for rel in a.required_files + present:
        match = re.search(r"^  %s +([\d.]+) (B|KB|MB)" % re.escape(rel), proc.stdout, re.M)
        assert match, (rel, proc.stdout)
        unit = UNITS[match.group(2)]
        assert abs(float(match.group(1)) * unit - os.path.getsize(os.path.join(root, rel))) <= 0.05 * unit
    assert proc.stdout.rstrip().endswith("Upload submission.zip to the code assignment on Gradescope. Run `pytest` "
                                         "first to see the public checks.")


@pytest.mark.parametrize("line", ["import torch", "import torch.nn as nn", "from torch import nn"])
def test_a_part1_file_importing_torch_is_refused_with_the_graders_message(tree, line):
    root = tree(A2)
    use_reference(root, A2)
    path = os.path.join(root, "cnn", "layers.py")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(line + "\n" + text)
    old = os.path.join(root, "submission.zip")
    with open(old, "wb") as fh:
        fh.write(b"the zip of an earlier run")
    before = sorted(os.listdir(root))
    proc = collect(root)
    expected = violations(root, config(root)["forbid_imports"])
    assert list(expected) == ["cnn.layers"] and "imports torch (line 1)" in expected["cnn.layers"]
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == ["error: " + message for message in expected.values()]
    with open(old, "rb") as fh:
        assert fh.read() == b"the zip of an earlier run", "an earlier submission.zip is neither replaced nor deleted"
    assert sorted(os.listdir(root)) == before, "nothing is written"


@pytest.mark.parametrize("aid,rel", [(A2, "cnn/layers.py"), (A1, "neural_nets/functional.py")])
def test_a_starter_touched_only_by_a_comment_still_warns_that_every_function_is_left(tree, aid, rel):
    root = tree(aid)
    with open(os.path.join(root, rel), "a", encoding="utf-8") as fh:
        fh.write("# started on it\n")
    stubs = starter_stubs(aid, rel)
    assert len(stubs) > 1
    proc = collect(root)
    assert proc.returncode == 0, proc.stderr
    mine = [ln for ln in lines(proc.stdout, "warning: ") if rel in ln]
    assert len(mine) == 1 and mine[0].startswith(
        "warning: %s: all %d functions you have to write still raise NotImplementedError (%s, "
        % (rel, len(stubs), stubs[0])), proc.stdout


def test_one_function_to_write_and_crlf_line_endings(tree):
    root = tree(A2)
    path = os.path.join(root, "cnn", "optim.py")
    with open(path, "a", encoding="utf-8") as fh:
        fh.write("# TODO\n")
    path = os.path.join(root, "cnn", "losses.py")
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(data.replace(b"\n", b"\r\n"))
    proc = collect(root)
    assert proc.returncode == 0, proc.stderr
    warned = lines(proc.stdout, "warning: ")
    assert "warning: cnn/optim.py: the function you have to write still raises NotImplementedError (%s)" \
        % starter_stubs(A2, "cnn/optim.py")[0] in warned
    assert "warning: cnn/losses.py is unchanged from the starter: every test of it will fail" in warned


def test_a_file_partly_written_gets_a_note_not_a_warning(tree):
    root = tree(A2)
    rel = "cnn/layers.py"
    path = os.path.join(root, rel)
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    stubs = starter_stubs(A2, rel)
    done = stubs[0]
    stub = 'raise NotImplementedError("cnn.layers.%s")' % done
    assert text.count(stub) == 1
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text.replace(stub, "return None"))
    proc = collect(root)
    assert proc.returncode == 0, proc.stderr
    assert not [ln for ln in lines(proc.stdout, "warning: ") if rel in ln], proc.stdout
    notes = [ln for ln in lines(proc.stdout, "note: ") if rel in ln]
    assert len(notes) == 1 and notes[0].startswith("note: %s: %d of %d functions still raise NotImplementedError (%s"
                                                   % (rel, len(stubs) - 1, len(stubs), stubs[1])), proc.stdout
    assert done not in notes[0]


def test_recorded_functions_to_write_are_the_marker_stubs_of_every_assignment():
    for aid in KIT.assignment_ids():
        a = KIT.assignment(aid)
        recorded = starter_files(KIT, a)
        assert sorted(recorded) == sorted(rel for rel in a.required_files
                                          if os.path.exists(KIT.path("student_starter", aid, *rel.split("/"))))
        for rel, entry in recorded.items():
            if rel.endswith(".py"):
                assert entry["todo"] == starter_stubs(aid, rel), (aid, rel)


def test_without_the_autograder_folder_the_rules_are_named_in_a_warning(tree):
    root = tree(A2)
    use_reference(root, A2)
    shutil.rmtree(os.path.join(root, "autograder"))
    proc = collect(root)
    assert proc.returncode == 0, proc.stderr
    warned = lines(proc.stdout, "warning: ")
    assert len(warned) == 1 and "import rules were not checked: cnn/" in warned[0] and "torch" in warned[0]


def test_the_written_answers_are_exported_next_to_the_zip(tree, pdf_tools):
    root = tree(A2)
    use_reference(root, A2)
    for path in answers.notebooks_in(root):
        fill_answers(path)
    proc = collect(root, "--exporter", "latex")
    assert proc.returncode == 0, proc.stderr
    assert os.path.getsize(os.path.join(root, "submission.zip")) and os.path.getsize(os.path.join(root,
                                                                                                   "written_answers.pdf"))
    assert re.search(r"^wrote written_answers.pdf: \d+ written questions, each starting on its own page$", proc.stdout,
                     re.M), proc.stdout
    assert lines(proc.stdout, "warning") == [] and proc.stderr == ""
    assert proc.stdout.rstrip().endswith("Upload submission.zip to the code assignment on Gradescope and "
                                         "written_answers.pdf to the written assignment. Run `pytest` first to see "
                                         "the public checks.")


def test_without_latex_the_zip_stands_and_one_line_says_how_to_install(tree):
    root = tree(A1)
    bare = os.path.join(root, "no-latex-bin")
    os.mkdir(bare)
    proc = collect(root, "--exporter", "latex", env=dict(os.environ, PATH=bare))
    assert proc.returncode == 0, proc.stderr
    assert zip_names(root) == KIT.assignment(A1).required_files
    assert not os.path.exists(os.path.join(root, "written_answers.pdf"))
    pdf_lines = [ln for ln in lines(proc.stdout, "warning: ") if "written answers" in ln]
    assert len(pdf_lines) == 1 and "was not found" in pdf_lines[0] and "apt-get install -y pandoc" in pdf_lines[0], \
        proc.stdout
    assert proc.stdout.rstrip().endswith("Upload submission.zip to the code assignment on Gradescope. Run `pytest` "
                                         "first to see the public checks.")
