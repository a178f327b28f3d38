"""Finding the required files in a submission (autograder.intake)."""
import os
import zipfile

import pytest

from autograder.intake import assemble, locate

REQ = "neural_nets/functional.py"


def write(path, text="x = 1\n"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_zip(path, members):
    """``members``: {name: text} written verbatim as zip member names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


@pytest.fixture
def sub(tmp_path):
    d = tmp_path / "submission"
    d.mkdir()
    return d


@pytest.fixture
def scratch(tmp_path):
    d = tmp_path / "scratch"
    d.mkdir()
    return d


def read(path):
    with open(path) as fh:
        return fh.read()


def files_under(folder):
    return sorted(os.path.relpath(os.path.join(d, f), folder) for d, _, fs in os.walk(folder) for f in fs)


def test_top_level_file_found_by_name(sub, scratch):
    write(sub / "functional.py", "TOP\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert out["found"] == [REQ] and out["missing"] == [] and out["notes"] == []
    assert read(out["files"][REQ]) == "TOP\n"


def test_file_nested_in_folders(sub, scratch):
    write(sub / "my_hw" / "a1" / "neural_nets" / "functional.py", "NESTED\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "NESTED\n"
    assert out["missing"] == []


def test_inside_a_zip(sub, scratch):
    make_zip(sub / "submission.zip", {"neural_nets/functional.py": "ZIPPED\n"})
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "ZIPPED\n"
    assert out["files"][REQ].startswith(str(scratch) + os.sep)  # extracted into scratch
    assert out["notes"] == []


def test_zip_with_top_folder_and_macosx_junk(sub, scratch):
    make_zip(sub / "A1.ZIP", {
        "a1_neural_nets/neural_nets/functional.py": "REAL\n",
        "__MACOSX/a1_neural_nets/neural_nets/._functional.py": "\x00\x05junk",
        "__MACOSX/._functional.py": "junk",
        "a1_neural_nets/.DS_Store": "junk",
    })
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "REAL\n"
    assert out["notes"] == []  # the __MACOSX copies are not candidates
    assert not any("__MACOSX" in p for p in files_under(scratch))


def test_least_nested_wins_with_a_note(sub, scratch):
    write(sub / "old" / "backup" / "neural_nets" / "functional.py", "DEEP\n")
    write(sub / "hw" / "neural_nets" / "functional.py", "SHALLOW\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "SHALLOW\n"
    assert out["notes"] == ["several files could be %s; used hw/neural_nets/functional.py" % REQ]


def test_whole_path_match_beats_a_less_nested_name_match(sub, scratch):
    write(sub / "functional.py", "NAME ONLY\n")
    write(sub / "x" / "neural_nets" / "functional.py", "WHOLE PATH\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "WHOLE PATH\n"
    assert out["notes"] == []  # only one whole-path candidate


def test_unambiguous_gives_no_note(sub, scratch):
    write(sub / "neural_nets" / "functional.py")
    write(sub / "neural_nets" / "other.py")
    assert locate(str(sub), [REQ], str(scratch))["notes"] == []


def test_missing_required_file(sub, scratch):
    write(sub / "neural_nets" / "functional.py")
    out = locate(str(sub), [REQ, "neural_nets/layers.py"], str(scratch))
    assert out["found"] == [REQ]
    assert out["missing"] == ["neural_nets/layers.py"]
    assert "neural_nets/layers.py" not in out["files"]


def test_empty_submission(sub, scratch):
    out = locate(str(sub), [REQ], str(scratch))
    assert out == {"files": {}, "found": [], "missing": [REQ], "notes": []}


@pytest.mark.parametrize("evil", [
    "../evil.py", "../../evil.py", "neural_nets/../../evil.py", "a/../../../evil.py", "..\\evil.py",
    "/ABSOLUTE", "//ABSOLUTE",
])
def test_zip_members_never_escape_the_scratch_folder(tmp_path, sub, scratch, evil):
    # absolute member names point into tmp_path, outside the scratch folder
    evil = evil.replace("ABSOLUTE", str(tmp_path / "abs" / "evil.py").lstrip("/"))
    make_zip(sub / "sub.zip", {evil: "EVIL\n", "neural_nets/functional.py": "OK\n"})
    assert evil in zipfile.ZipFile(str(sub / "sub.zip")).namelist()
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "OK\n"
    inside = os.path.realpath(str(scratch)) + os.sep
    for dirpath, _, names in os.walk(str(tmp_path.parent)):
        if "evil.py" in names:
            assert os.path.realpath(dirpath).startswith(inside), dirpath
    assert not (tmp_path / "abs").exists()
    # the only file extracted is the legitimate one
    assert files_under(scratch) == [os.path.join("unzipped1", "neural_nets", "functional.py")]


def test_corrupt_zip_is_a_note_not_an_exception(sub, scratch):
    (sub / "broken.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    write(sub / "neural_nets" / "functional.py", "LOOSE\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "LOOSE\n"
    assert len(out["notes"]) == 1
    assert out["notes"][0].startswith("could not read broken.zip")


def test_truncated_zip_is_a_note(sub, scratch):
    good = make_zip(sub / "tmp.zip", {"neural_nets/functional.py": "x" * 5000})
    data = good.read_bytes()
    good.unlink()
    (sub / "cut.zip").write_bytes(data[: len(data) // 2])
    out = locate(str(sub), [REQ], str(scratch))
    assert out["missing"] == [REQ]
    assert any(n.startswith("could not read cut.zip") for n in out["notes"])


def test_symlinks_in_the_submission_are_ignored(tmp_path, sub, scratch):
    outside = write(tmp_path / "secret" / "functional.py", "SECRET\n")
    os.symlink(str(outside), str(sub / "functional.py"))
    os.symlink(str(tmp_path / "secret"), str(sub / "neural_nets"))
    out = locate(str(sub), [REQ], str(scratch))
    assert out["missing"] == [REQ] and out["files"] == {}


def test_symlinked_zip_is_not_extracted(tmp_path, sub, scratch):
    zpath = make_zip(tmp_path / "elsewhere" / "a.zip", {"neural_nets/functional.py": "VIA LINK\n"})
    os.symlink(str(zpath), str(sub / "a.zip"))
    out = locate(str(sub), [REQ], str(scratch))
    assert out["missing"] == [REQ]


def test_assemble_overlays_student_file_and_removes_missing(tmp_path, sub, scratch):
    base = tmp_path / "starter" / "neural_nets"
    write(base / "__init__.py", "from . import functional\n")
    write(base / "functional.py", "STUB\n")
    write(base / "layers.py", "STUB LAYERS\n")
    write(base / "given.py", "GIVEN\n")
    write(base / "__pycache__" / "functional.cpython-311.pyc", "junk")
    write(sub / "functional.py", "STUDENT\n")
    write(sub / "given.py", "STUDENT TRIES TO REPLACE GIVEN CODE\n")
    located = locate(str(sub), [REQ, "neural_nets/layers.py"], str(scratch))
    dest = tmp_path / "graded"
    dest.mkdir()
    assert assemble(located, str(base), "neural_nets", str(dest)) == str(dest)
    pkg = dest / "neural_nets"
    assert read(pkg / "functional.py") == "STUDENT\n"
    assert not (pkg / "layers.py").exists()  # required but not submitted: not the stub
    assert read(pkg / "given.py") == "GIVEN\n"  # only required files are taken from the student
    assert read(pkg / "__init__.py") == "from . import functional\n"
    assert not (pkg / "__pycache__").exists()
    assert read(base / "functional.py") == "STUB\n"  # the base package is not modified
