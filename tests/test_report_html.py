"""The class report's web pages, rendered in headless Chromium (Debian's ``chromium`` package).

The pages are those ``batch`` wrote for the generated 100-submission A1 class (graded once per session,
shared with test_batch.py). Each page is screenshotted and must not be blank, and Chromium must log no
console message: the pages carry no script, so any message means a broken page, or markup a submission
injected that the Content-Security-Policy stopped. Two control pages prove both checks can fail.

If ``chromium`` is missing, the session fixture installs it with ``apt-get install -y chromium`` (we run as
root, as CI does); only a non-root user without chromium skips, saying why.
"""
import html.parser
import os
import re
import shutil
import subprocess
import tempfile
from urllib.parse import unquote

import pytest

from conftest import debian_tools
from test_batch import graded_class_once

WINDOW = (1280, 1800)


def _find_chromium():
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


@pytest.fixture(scope="session")
def chromium():
    """The chromium binary; installed with apt-get when missing (as root)."""
    path = _find_chromium()
    return path or debian_tools(["chromium"], ["chromium"], "render the report")["chromium"]


def render(chromium, page, png, *, dump_dom=False):
    """Screenshot ``page`` (a file) into ``png``; return (console messages, DOM or None)."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        base = [chromium, "--headless", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
                "--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profile,
                "--enable-logging=stderr", "--v=0", "--window-size=%d,%d" % WINDOW]
        if os.geteuid() == 0:
            base.append("--no-sandbox")     # Chromium's own sandbox refuses to run as root
        url = "file://" + os.path.abspath(page)
        proc = subprocess.run(base + ["--screenshot=" + str(png), url], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0 and os.path.exists(png), "chromium failed on %s:\n%s" % (page, proc.stderr[-3000:])
        console = [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
        dom = None
        if dump_dom:
            proc = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=180)
            assert proc.returncode == 0, proc.stderr[-3000:]
            console += [line for line in proc.stderr.splitlines() if ":CONSOLE" in line]
            dom = proc.stdout
    return console, dom


def blankness(png):
    """(share of pixels that differ from the most common colour, number of distinct colours) of a screenshot."""
    from PIL import Image

    im = Image.open(png).convert("RGB")
    assert im.size == WINDOW, im.size
    colours = im.getcolors(maxcolors=1 << 20)
    background = max(colours)[0]
    return 1.0 - background / (im.size[0] * im.size[1]), len(colours)


def not_blank(png):
    share, colours = blankness(png)
    return share > 0.03 and colours > 40


@pytest.fixture(scope="module")
def class_report(tmp_path_factory):
    plan, out, _ = graded_class_once(tmp_path_factory)
    return plan, os.path.join(out, "report")


def test_the_checks_can_fail(chromium, tmp_path):
    """Controls: a white page is judged blank, and a console error is caught."""
    (tmp_path / "white.html").write_text("<!DOCTYPE html><html><body></body></html>")
    console, _ = render(chromium, tmp_path / "white.html", tmp_path / "white.png")
    assert not not_blank(tmp_path / "white.png") and console == []
    (tmp_path / "noisy.html").write_text("<!DOCTYPE html><html><body><h1>Report</h1>"
                                         "<script>console.error('broken')</script></body></html>")
    console, _ = render(chromium, tmp_path / "noisy.html", tmp_path / "noisy.png")
    assert any("broken" in line for line in console), console


def test_index_renders_with_content_and_no_console_messages(chromium, class_report, tmp_path):
    plan, folder = class_report
    console, dom = render(chromium, os.path.join(folder, "index.html"), tmp_path / "index.png", dump_dom=True)
    assert console == [], console
    share, colours = blankness(tmp_path / "index.png")
    assert not_blank(tmp_path / "index.png"), (share, colours)
    # the rendered DOM holds the sections, the histogram image (decoded by the browser) and no script
    for heading in ("Scores", "Submissions by status", "Pass rate per test", "Misconceptions diagnosed by the feedback",
                    "Other failure messages", "Similarity", "Students"):
        assert ">%s</h2>" % heading in dom, heading
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]{1000,}"', dom)
    assert "<script" not in dom.lower()
    assert len(re.findall(r'href="students/[^"]+\.html"', dom)) >= len(plan), "a link to every student page"


def test_a_hostile_students_page_renders_as_text(chromium, class_report, tmp_path):
    """The submission whose name, printout and error message carry <script> and <img onerror>: shown, not run."""
    plan, folder = class_report
    key = next(p["key"] for p in plan if p["variant"] == "hostile-html-injection")
    page = os.path.join(folder, "students", key + ".html")
    console, dom = render(chromium, page, tmp_path / "student.png", dump_dom=True)
    assert console == [], console
    assert not_blank(tmp_path / "student.png"), blankness(tmp_path / "student.png")
    assert "<script" not in dom.lower(), "no script element in the rendered page"
    assert not re.search(r"<[a-z]+[^<>]*\son[a-z]+=", dom), "no element with an event handler"
    assert '&lt;script&gt;alert("name")&lt;/script&gt;' in dom, "the hostile name is shown as text"
    assert "&lt;img src=x onerror=alert(1)&gt;" in dom, "the hostile error message is shown as text"


def test_a_similarity_pair_page_renders(chromium, class_report, tmp_path):
    _, folder = class_report
    pages = sorted(os.listdir(os.path.join(folder, "pairs")))
    assert pages, "the generated class has similar pairs (mistakes shared by several students)"
    console, dom = render(chromium, os.path.join(folder, "pairs", pages[0]), tmp_path / "pair.png", dump_dom=True)
    assert console == [] and not_blank(tmp_path / "pair.png")
    assert dom.count('class="m"') >= 2, "matching lines are highlighted in both columns"


def test_every_link_and_image_of_the_report_resolves(class_report):
    """Relative links between the pages point at files that exist; nothing is fetched from the network."""
    _, folder = class_report

    class Links(html.parser.HTMLParser):
        def __init__(self):
            super().__init__()
            self.refs = []

        def handle_starttag(self, tag, attrs):
            self.refs += [v for k, v in attrs if k in ("href", "src") and v]

    checked = 0
    for root, _, names in os.walk(folder):
        for name in names:
            parser = Links()
            parser.feed(open(os.path.join(root, name), encoding="utf-8").read())
            for ref in parser.refs:
                if ref.startswith("data:image/png;base64,"):
                    continue
                assert "://" not in ref and not ref.startswith("//"), (name, ref)
                target = unquote(ref.split("#")[0])
                if target:
                    assert os.path.isfile(os.path.normpath(os.path.join(root, target))), (name, ref)
                    checked += 1
    assert checked > 100
