"""Export the notebooks' written answers to one PDF for Gradescope, with otter-grader's exporter.

    python -m autograder.answers                       # every notebook here -> written_answers.pdf
    python -m autograder.answers a1_neural_nets.ipynb -o answers.pdf --exporter html

Each written question is a markdown cell tagged ``written-question`` in the notebook, followed
by the student's answer in a cell tagged ``written-answer`` (the tags live in the cells'
metadata, so editing the text cannot lose them). The export gathers those cells, in notebook
order, into a notebook of their own with otter-grader's question comments
(``<!-- BEGIN QUESTION -->`` ... ``<!-- END QUESTION -->``) and hands it to
``otter.export.export_notebook`` with filtering and page breaks on: every question starts on a
new page, so Gradescope's page matching is one click per question. otter's LaTeX route (the
default) needs ``pandoc`` and ``xelatex``; its HTML route needs Chromium for playwright.

The PDF is written to a temporary file first and moved into place only when complete.
"""
from __future__ import annotations

import argparse
import glob
import os
import shutil
import sys
import tempfile

QUESTION_TAG = "written-question"
ANSWER_TAG = "written-answer"
#: the answer cell of the student notebook before the student writes (autograder.notebooks.MD_PLACEHOLDER)
UNANSWERED = "*(write here)*"
DEFAULT_PDF = "written_answers.pdf"

INSTALL_LATEX = ("the LaTeX route needs pandoc and xelatex: on Colab run `!apt-get install -y pandoc texlive-xetex "
                 "texlive-fonts-recommended texlive-plain-generic`; on Linux install those packages, on macOS "
                 "MacTeX and pandoc, on Windows MiKTeX and pandoc; or use --exporter html (needs "
                 "`playwright install chromium` once)")
INSTALL_HTML = ("the HTML route needs Chromium for playwright: run `playwright install chromium` once "
                "(or use the default LaTeX route)")


class ExportError(Exception):
    """The written answers could not be exported; the message is one line for the student."""


def _tags(cell) -> list:
    return list(cell.get("metadata", {}).get("tags", []))


def written_answers(paths) -> list:
    """[{notebook, number, question, answer, answered}] for every tagged question of the notebooks, in order."""
    import nbformat

    found = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception as exc:  # noqa: BLE001 - any unreadable notebook is the same one-line error
            raise ExportError("%s is not a notebook nbformat can read (%s); save it again from Jupyter"
                              % (path, str(exc).splitlines()[0][:200])) from exc
        cells = nb.cells
        number = 0
        for i, cell in enumerate(cells):
            if QUESTION_TAG not in _tags(cell):
                continue
            number += 1
            answers = []
            for later in cells[i + 1:]:
                if ANSWER_TAG not in _tags(later):
                    break
                answers.append(later.source.strip())
            if not answers:
                raise ExportError("%s: question %d has no answer cell after it (a cell tagged %r); copy the answer "
                                  "cell back from a fresh copy of the notebook" % (path, number, ANSWER_TAG))
            answer = "\n\n".join(answers)
            found.append({"notebook": os.path.basename(path), "number": number, "question": cell.source.strip(),
                          "answer": answer, "answered": bool(answer) and UNANSWERED not in answer})
    return found


def answers_notebook(paths, title: str | None = None):
    """A notebook of the written questions and answers, each question between otter's question comments."""
    import nbformat

    items = written_answers(paths)
    if not items:
        raise ExportError("no written questions (cells tagged %r) in %s; export the assignment's own notebooks"
                          % (QUESTION_TAG, ", ".join(os.path.basename(p) for p in paths) or "no notebook"))
    several = len({it["notebook"] for it in items}) > 1
    nb = nbformat.v4.new_notebook()
    cells = []
    for i, it in enumerate(items):
        # the title shares the first question's page (otter's filter drops cells outside questions)
        head = "# %s: written answers\n\n" % (title or "Assignment") if i == 0 else ""
        where = "*%s*\n\n" % it["notebook"] if several else ""
        cells.append(nbformat.v4.new_markdown_cell("<!-- BEGIN QUESTION -->\n\n" + head + where + it["question"]))
        cells.append(nbformat.v4.new_markdown_cell(it["answer"] if it["answered"] else
                                                   "**Your answer:** *(not answered)*"))
        cells.append(nbformat.v4.new_markdown_cell("<!-- END QUESTION -->"))
    nb.cells = cells
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.validate(nb)
    return nb, items


def _explain(exc: BaseException, exporter: str) -> str:
    text = "%s: %s" % (type(exc).__name__, exc)
    name = type(exc).__name__
    if name == "PandocMissing" or "pandoc" in text.lower() and "not found" in text.lower():
        return "pandoc was not found; " + INSTALL_LATEX
    if isinstance(exc, OSError) and "xelatex" in text:
        return "xelatex was not found; " + INSTALL_LATEX
    if exporter == "html" and ("chromium" in text.lower() or "playwright" in text.lower()):
        return INSTALL_HTML
    if name in ("ExportFailedException", "LatexFailed"):
        lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("!")]
        return ("LaTeX could not typeset your answers (%s); check the $...$ math in your answers (every $ needs its "
                "pair), or use --exporter html" % (lines[0][:160] if lines else "see the LaTeX log"))
    return "the export failed (%s); try --exporter html, or ask on the course forum with this line" % text[:300]


def export_pdf(paths, dest: str = DEFAULT_PDF, *, exporter: str = "latex", title: str | None = None) -> list:
    """Write the PDF of the written answers of ``paths`` to ``dest``; return the questions (see written_answers).

    Raises ExportError (one line) when it cannot; ``dest`` is then left as it was.
    """
    nb, items = answers_notebook(paths, title)
    try:
        from otter.export import export_notebook
    except ImportError as exc:
        raise ExportError("otter-grader is not installed; run `pip install -r requirements.txt` (it installs "
                          "otter-grader) and try again") from exc
    import nbformat

    dest = os.path.abspath(dest)
    with tempfile.TemporaryDirectory(prefix="agk-answers-") as tmp:
        src = os.path.join(tmp, "written_answers.ipynb")
        with open(src, "w", encoding="utf-8") as fh:
            nbformat.write(nb, fh)
        out = os.path.join(tmp, "written_answers.pdf")
        cwd = os.getcwd()
        try:
            os.chdir(tmp)  # LaTeX writes its scratch files beside the notebook
            export_notebook(src, dest=out, exporter_type=exporter, filtering=True, pagebreaks=True)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one line for the student
            raise ExportError(_explain(exc, exporter)) from exc
        finally:
            os.chdir(cwd)
        if not os.path.exists(out) or os.path.getsize(out) == 0:
            raise ExportError("the exporter wrote no PDF; try --exporter html")
        part = dest + ".part"
        shutil.copyfile(out, part)
        os.replace(part, dest)
    return items


def notebooks_in(folder: str) -> list:
    """The notebooks of an assignment folder that hold written questions, in name order."""
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "*.ipynb"))):
        try:
            if written_answers([path]):
                out.append(path)
        except ExportError:
            out.append(path)  # reported by the export itself
    return out


def report(items, dest: str) -> list:
    """The lines that say what went into the PDF."""
    by_notebook = {}
    for it in items:
        if not it["answered"]:
            by_notebook.setdefault(it["notebook"], []).append(str(it["number"]))
    missing = ["%s question%s %s" % (nb, "s" if len(nums) > 1 else "", ", ".join(nums))
               for nb, nums in by_notebook.items()]
    lines = ["wrote %s: %d written questions, each starting on its own page" % (dest, len(items))]
    if missing:
        lines.append("warning: no answer yet for %s (the answer cell still says %s); write the answers in the "
                     "notebook, save, and export again" % ("; ".join(missing), UNANSWERED))
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder.answers",
                                     description="Export the notebooks' written answers to one PDF for Gradescope.")
    parser.add_argument("notebooks", nargs="*", help="notebooks to export (default: every notebook in this folder "
                                                     "that has written questions)")
    parser.add_argument("-o", "--output", default=DEFAULT_PDF, help="the PDF to write (default: %(default)s)")
    parser.add_argument("--exporter", choices=("latex", "html"), default="latex",
                        help="otter-grader's route to PDF: latex (pandoc + xelatex) or html (Chromium)")
    parser.add_argument("--title", default=None, help="the first page's title")
    args = parser.parse_args(argv)
    paths = args.notebooks or notebooks_in(os.getcwd())
    title = args.title
    if title is None and os.path.exists("assignment.json"):
        import json

        with open("assignment.json", encoding="utf-8") as fh:
            title = json.load(fh).get("title")
    for path in paths:
        if not os.path.isfile(path):
            print("error: %s does not exist; give the path of a notebook" % path, file=sys.stderr)
            return 2
    try:
        items = export_pdf(paths, args.output, exporter=args.exporter, title=title)
    except ExportError as exc:
        print("error: the written answers were not exported: %s" % exc, file=sys.stderr)
        return 1
    for line in report(items, args.output):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
