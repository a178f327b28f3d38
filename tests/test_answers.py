"""Written answers: a filled-in student notebook exports, with otter-grader's exporter, to one PDF in which
every question starts on a page of its own and the student's answers are the text of those pages.

The PDF is checked with poppler: ``pdftoppm`` renders every page to PNG (question pages must not be
blank) and ``pdftotext`` reads each page's text. otter's LaTeX route needs ``pandoc`` and ``xelatex``: the
test set-up installs them (and poppler) from Debian's packages when missing, as root (as in CI).
"""
import json
import os
import subprocess
import sys

import nbformat
import pytest

from autograder import answers
from autograder.build import student_tree

from conftest import KIT, debian_tools

PACKAGES = ["pandoc", "texlive-xetex", "texlive-fonts-recommended", "texlive-plain-generic", "poppler-utils"]


@pytest.fixture(scope="session")
def pdf_tools():
    return debian_tools(["pandoc", "xelatex", "pdftoppm", "pdftotext", "pdfinfo"], PACKAGES,
                        "export the written answers to PDF")


def fill_answers(path, words=None):
    """Write an answer into every answer cell of the notebook at ``path``, each with its word of ``words``
    (default: the same word for all); None in ``words`` leaves that answer blank."""
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if answers.ANSWER_TAG in c.metadata.get("tags", [])]
    words = ["student's"] * len(cells) if words is None else words
    assert len(cells) == len(words)
    for cell, word in zip(cells, words):
        if word is not None:
            cell.source = ("**Your answer:** the %s answer: subtracting $m = \\max_j z_j$ leaves $e^{z_i - m} / "
                           "\\sum_j e^{z_j - m}$ unchanged, and `np.exp` cannot overflow." % word)
    nbformat.write(nb, path)


def _pages(pdf):
    out = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
    n = int([ln.split()[-1] for ln in out.splitlines() if ln.startswith("Pages:")][0])
    return [subprocess.run(["pdftotext", "-layout", "-f", str(i), "-l", str(i), pdf, "-"], capture_output=True,
                           text=True, check=True).stdout for i in range(1, n + 1)]


def _ink(png):
    """Share of a page's pixels that are not white."""
    from PIL import Image

    im = Image.open(png).convert("L")
    return sum(im.histogram()[:200]) / (im.size[0] * im.size[1])


def _questions(path):
    nb = nbformat.read(path, as_version=4)
    return [c.source for c in nb.cells if answers.QUESTION_TAG in c.metadata.get("tags", [])]


def _first_words(question, n=4):
    """The first ``n`` consecutive words of a question (after "Question N.") that hold no markdown, math or code,
    as pdftotext prints them."""
    words = question.split()[2:]
    plain = [w.isalpha() or (w[:-1].isalpha() and w[-1] in ",.?:;") for w in words]
    for i in range(len(words) - n + 1):
        if all(plain[i:i + n]):
            return " ".join(words[i:i + n])
    raise AssertionError("no %d plain words in %r" % (n, question))


@pytest.mark.parametrize("aid", ["a1_neural_nets", "a2_cnn"])
def test_filled_notebook_exports_one_page_per_question(aid, pdf_tools, tmp_path):
    root = student_tree(KIT, aid, str(tmp_path))
    notebooks = answers.notebooks_in(root)
    assert notebooks and all(os.path.dirname(p) == root for p in notebooks)
    words, questions = [], []
    for path in notebooks:
        n = len(_questions(path))
        mine = ["zebra%d%s" % (len(words) + i, "x" * (i % 3)) for i in range(n)]
        mine[-1] = None if path == notebooks[-1] else mine[-1]  # the last question left unanswered
        fill_answers(path, mine)
        words += mine
        questions += _questions(path)
    proc = subprocess.run([sys.executable, "-m", "autograder.answers"], cwd=root, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    pdf = os.path.join(root, answers.DEFAULT_PDF)
    assert os.path.getsize(pdf) > 0
    assert "%d written questions" % len(questions) in proc.stdout
    assert "warning: no answer yet for %s question %d" % (os.path.basename(notebooks[-1]),
                                                          len(_questions(notebooks[-1]))) in proc.stdout

    pages = _pages(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-png", pdf, str(tmp_path / "page")], check=True)
    pngs = sorted(p for p in os.listdir(tmp_path) if p.startswith("page") and p.endswith(".png"))
    assert len(pngs) == len(pages)

    flat = [" ".join(p.split()) for p in pages]
    starts = []
    for i, (question, word) in enumerate(zip(questions, words)):
        head = _first_words(question)
        where = [k for k, text in enumerate(flat) if head in text]
        assert len(where) == 1, "question %d (%r) is on pages %s" % (i + 1, head, where)
        page = where[0]
        starts.append(page)
        if word is None:
            assert "(not answered)" in flat[page]
        else:
            assert word in flat[page], "answer %r is not on the page of question %d" % (word, i + 1)
            assert sum(word in text for text in flat) == 1
        assert _ink(str(tmp_path / pngs[page])) > 0.002, "the page of question %d renders blank" % (i + 1)
    assert starts == sorted(starts) and len(set(starts)) == len(starts), "each question starts on a page of its own"
    for k in range(len(starts) - 1):  # nothing of the next question before its own page
        assert all(_first_words(questions[k + 1]) not in flat[p] for p in range(starts[k], starts[k + 1]))
    assert KIT.assignment(aid).title in flat[starts[0]]


def test_export_failure_is_one_line_and_keeps_the_old_pdf(pdf_tools, tmp_path):
    root = student_tree(KIT, "a1_neural_nets", str(tmp_path))
    nb_path = answers.notebooks_in(root)[0]
    pdf = os.path.join(root, answers.DEFAULT_PDF)
    with open(pdf, "wb") as fh:
        fh.write(b"%PDF-1.4 an earlier export\n")
    nb = nbformat.read(nb_path, as_version=4)
    cell = [c for c in nb.cells if answers.ANSWER_TAG in c.metadata.get("tags", [])][0]
    cell.source = "the gradient is $\\frac{1}{2} \\undefinedmacro{x}$"  # LaTeX cannot typeset this
    nbformat.write(nb, nb_path)
    proc = subprocess.run([sys.executable, "-m", "autograder.answers"], cwd=root, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the written answers were not exported: LaTeX could not "
                                                   "typeset your answers"), proc.stderr
    with open(pdf, "rb") as fh:
        assert fh.read() == b"%PDF-1.4 an earlier export\n"
    assert not [n for n in os.listdir(root) if n.endswith(".part")]


def test_missing_latex_says_how_to_install(tmp_path):
    """Without pandoc/xelatex on PATH the student gets one line naming the packages (and Colab's command)."""
    root = student_tree(KIT, "a1_neural_nets", str(tmp_path))
    bare = tmp_path / "bin"
    bare.mkdir()
    env = dict(os.environ, PATH=str(bare))
    proc = subprocess.run([sys.executable, "-m", "autograder.answers"], cwd=root, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "was not found" in lines[0] and "apt-get install -y pandoc texlive-xetex" in lines[0], \
        proc.stderr
    assert not os.path.exists(os.path.join(root, answers.DEFAULT_PDF))


def test_untagged_or_unreadable_notebooks_are_one_line(tmp_path):
    plain = nbformat.v4.new_notebook()
    plain.cells = [nbformat.v4.new_markdown_cell("*Question 1.* untagged")]
    nbformat.write(plain, str(tmp_path / "plain.ipynb"))
    (tmp_path / "broken.ipynb").write_text("{not json")
    for name, expected in [("plain.ipynb", "no written questions"), ("broken.ipynb", "is not a notebook")]:
        proc = subprocess.run([sys.executable, "-m", "autograder.answers", name], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 1 and expected in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, \
            proc.stderr
    assert not os.path.exists(tmp_path / answers.DEFAULT_PDF)


def test_every_student_notebook_has_answer_placeholders():
    """The student versions keep the tags, and every answer cell starts as the placeholder the export recognises."""
    from autograder.notebooks import strip_notebook
    from autograder.starter import master_notebooks

    for aid in KIT.assignment_ids():
        for path in master_notebooks(KIT, aid):
            nb = strip_notebook(path)
            cells = [c for c in nb.cells if answers.ANSWER_TAG in c.metadata.get("tags", [])]
            assert cells and all(answers.UNANSWERED in c.source for c in cells), path
            tmp = json.loads(nbformat.writes(nb))
            assert [c for c in tmp["cells"] if answers.QUESTION_TAG in c["metadata"].get("tags", [])]
