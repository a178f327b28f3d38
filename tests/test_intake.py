"""Finding the required files in a submission (autograder.intake)."""
import base64
import io
import json
import os
import struct
import zipfile

import pytest

from autograder import intake
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


# ---------------------------------------------------------------- hostile uploads (issue #13, items 5 and 6)
#: A real ZipCrypto zip (``zip -e -P secret``) holding notes.txt and functional.py.
ENCRYPTED_ZIP = base64.b64decode(
    "UEsDBAoACQAAAHVCfl3nsp1QFQAAAAkAAAAJABwAbm90ZXMudHh0VVQJAAOeMQ1rnTENa3V4CwABBAAAAAAEAAAAAOmekNSiVJc53i6jz8FH"
    "/586ZSKZSVBLBwjnsp1QFQAAAAkAAABQSwMECgAJAAAAdUJ+XTuJ9osSAAAABgAAAA0AHABmdW5jdGlvbmFsLnB5VVQJAAOeMQ1rnjENa3V4"
    "CwABBAAAAAAEAAAAAEqTKURJZw/L3W2wIAWPaMw8zlBLBwg7ifaLEgAAAAYAAABQSwECHgMKAAkAAAB1Qn5d57KdUBUAAAAJAAAACQAYAAAA"
    "AAABAAAApIEAAAAAbm90ZXMudHh0VVQFAAOeMQ1rdXgLAAEEAAAAAAQAAAAAUEsBAh4DCgAJAAAAdUJ+XTuJ9osSAAAABgAAAA0AGAAAAAAA"
    "AQAAAKSBaAAAAGZ1bmN0aW9uYWwucHlVVAUAA54xDWt1eAsAAQQAAAAABAAAAABQSwUGAAAAAAIAAgCiAAAA0QAAAAAA")

SOME_TEXT = "".join("line %d: %s\n" % (i, "abcdefghij"[i % 10] * (i % 37)) for i in range(2000))


def json_safe(out):
    """What the harness does with the result: JSON, not ASCII-escaped, written as UTF-8."""
    return json.dumps(out, ensure_ascii=False).encode("utf-8")


def zip_bytes(members, method=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return bytearray(buf.getvalue())


def damage(data, member, how):
    """Damage one member of a zip (bytes) in place: "encrypted" sets the encryption flag in its local and
    central headers, "method" gives it an unknown compression method, "deflate" makes its deflate stream
    start with an invalid block type, "data" flips bytes in the middle of its (compressed) data."""
    info = zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo(member)
    local = info.header_offset
    n, m = struct.unpack("<HH", data[local + 26:local + 30])
    start = local + 30 + n + m
    central = struct.unpack("<I", data[-6:-2])[0]  # from the end-of-central-directory record (no comment)
    while True:
        n2, m2, k2 = struct.unpack("<HHH", data[central + 28:central + 34])
        if data[central + 46:central + 46 + n2] == info.orig_filename.encode():
            break
        central += 46 + n2 + m2 + k2
    if how == "encrypted":
        data[local + 6] |= 1
        data[central + 8] |= 1
    elif how == "method":
        data[local + 8:local + 10] = data[central + 10:central + 12] = struct.pack("<H", 99)
    elif how == "deflate":
        data[start] |= 0x06  # BTYPE 11: reserved, an error in every inflater
    else:
        for i in range(start + info.compress_size // 3, start + info.compress_size // 3 + 16):
            data[i] ^= 0xFF
    return data


def test_real_encrypted_zip_beside_correct_files(sub, scratch):
    (sub / "stray.zip").write_bytes(ENCRYPTED_ZIP)
    write(sub / "neural_nets" / "functional.py", "LOOSE\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "LOOSE\n" and out["missing"] == []
    assert out["notes"] == ["stray.zip is password-protected, so its files were skipped; zip them again without "
                            "a password, or upload the files themselves"]
    assert files_under(scratch) == []  # nothing of the encrypted members was written
    json_safe(out)


def test_zip_with_a_corrupt_deflate_stream_beside_a_good_zip(sub, scratch):
    (sub / "a_broken.zip").write_bytes(damage(zip_bytes({"neural_nets/functional.py": SOME_TEXT}),
                                              "neural_nets/functional.py", "deflate"))
    make_zip(sub / "b_good.zip", {"neural_nets/functional.py": "GOOD\n"})
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "GOOD\n" and out["missing"] == []
    assert len(out["notes"]) == 1
    assert out["notes"][0].startswith("1 file in a_broken.zip could not be unpacked and was skipped: "
                                      "neural_nets/functional.py (corrupt compressed data);")
    assert files_under(scratch) == [os.path.join("unzipped2", "neural_nets", "functional.py")]
    json_safe(out)


@pytest.mark.parametrize("how, method, why", [
    ("deflate", zipfile.ZIP_DEFLATED, "corrupt compressed data"),
    ("data", zipfile.ZIP_DEFLATED, "corrupt"),
    ("data", zipfile.ZIP_STORED, "corrupt data (CRC check failed)"),
    ("method", zipfile.ZIP_DEFLATED, "unsupported compression method"),
    ("encrypted", zipfile.ZIP_DEFLATED, "password-protected"),
])
def test_one_unreadable_member_is_skipped_and_the_good_one_used(sub, scratch, how, method, why):
    data = zip_bytes({"extra/notes.txt": SOME_TEXT, "neural_nets/functional.py": "GOOD\n",
                      "neural_nets/layers.py": "LAYERS\n"}, method)
    (sub / "submission.zip").write_bytes(damage(data, "extra/notes.txt", how))
    out = locate(str(sub), [REQ, "neural_nets/layers.py"], str(scratch))
    assert read(out["files"][REQ]) == "GOOD\n" and read(out["files"]["neural_nets/layers.py"]) == "LAYERS\n"
    assert len(out["notes"]) == 1
    assert out["notes"][0].startswith("1 file in submission.zip could not be unpacked and was skipped: "
                                      "extra/notes.txt (%s" % why)
    assert out["notes"][0].endswith("; zip your files again with a standard tool (no password), or upload the files "
                                    "themselves")
    # the partly written member was removed
    assert files_under(scratch) == [os.path.join("unzipped1", "neural_nets", n) for n in ("functional.py", "layers.py")]
    json_safe(out)


def test_file_and_folder_names_that_are_not_utf8_are_skipped(sub, scratch):
    write(sub / "neural_nets" / "functional.py", "GOOD\n")
    root = os.fsencode(str(sub))
    with open(os.path.join(root, b"bad\xff.py"), "w") as fh:
        fh.write("x = 1\n")
    os.makedirs(os.path.join(root, b"dir\xfe", b"neural_nets"))
    with open(os.path.join(root, b"dir\xfe", b"neural_nets", b"functional.py"), "w") as fh:
        fh.write("HIDDEN IN A BAD FOLDER\n")
    make_zip(sub / "bad\udcfd.zip", {"neural_nets/functional.py": "IN A ZIP WITH A BAD NAME\n"})
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "GOOD\n" and out["missing"] == []
    assert out["notes"] == ["skipped 3 files or folders whose names are not valid UTF-8: bad\\xfd.zip, bad\\xff.py, "
                            "dir\\xfe/; rename them (letters, digits, - and _) and upload again"]
    assert files_under(scratch) == []
    json_safe(out)


def test_zip_member_name_flagged_utf8_but_not_utf8(sub, scratch):
    data = zip_bytes({"neural_nets/functional.py": "ZIPPED\n", "badX.py": "x\n"})
    i = data.index(b"badX.py")  # local header name; then the central one
    j = data.index(b"badX.py", i + 1)
    for k in (i, j):
        data[k + 3] = 0xFF
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = -1
        while True:
            pos = data.find(sig, pos + 1)
            if pos < 0:
                break
            data[pos + off + 1] |= 0x08  # general-purpose flag bit 11: names are UTF-8
    (sub / "odd.zip").write_bytes(data)
    write(sub / "functional.py", "LOOSE\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "LOOSE\n"
    assert out["notes"] == ["could not read odd.zip (a file name in it is not valid UTF-8); upload a standard .zip "
                            "or the files themselves"]
    json_safe(out)


def scratch_bytes(folder):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(folder) for f in fs)


def test_many_small_zip_bombs_are_capped_in_total(sub, scratch):
    size = 40 << 20  # each under the 50 MB limit for one zip
    bomb = zip_bytes({"zeros.bin": b"\0" * size})
    for i in range(40):
        (sub / ("bomb%02d.zip" % i)).write_bytes(bomb)
    write(sub / "neural_nets" / "functional.py", "GOOD\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "GOOD\n"
    written = scratch_bytes(scratch)
    assert written <= intake.MAX_TOTAL_BYTES and written == 2 * size
    assert out["notes"] == ["the zips in your upload unpack to more than 100 MB together; unpacking stopped at "
                            "bomb02.zip and the rest was ignored (upload only the files the assignment asks for)"]
    assert sorted(os.listdir(str(scratch))) == ["unzipped1", "unzipped2", "unzipped3"]  # no zip opened after that
    json_safe(out)


def test_total_file_count_is_capped(sub, scratch):
    many = zip_bytes({"f%04d.txt" % i: "" for i in range(1900)}, zipfile.ZIP_STORED)
    for i in range(3):
        (sub / ("many%d.zip" % i)).write_bytes(many)
    write(sub / "functional.py", "GOOD\n")
    out = locate(str(sub), [REQ], str(scratch))
    assert read(out["files"][REQ]) == "GOOD\n"
    assert len(files_under(scratch)) == intake.MAX_TOTAL_FILES
    assert out["notes"] == ["the zips in your upload hold more than 5000 files together; unpacking stopped at "
                            "many2.zip and the rest was ignored (upload only the files the assignment asks for)"]


def test_time_bound_for_the_whole_intake(sub, scratch, monkeypatch):
    make_zip(sub / "a.zip", {"neural_nets/functional.py": "IN ZIP\n"})
    make_zip(sub / "b.zip", {"neural_nets/layers.py": "IN ZIP\n"})
    write(sub / "loose" / "functional.py", "LOOSE\n")
    out = locate(str(sub), [REQ], str(scratch), time_limit=0.0)
    assert read(out["files"][REQ]) == "LOOSE\n"
    assert out["notes"] == ["unpacking your upload took more than 0 s; unpacking stopped at a.zip and the rest was "
                            "ignored (upload only the files the assignment asks for)"]
    assert files_under(scratch) == []
    # a member that is still being written when time runs out is removed
    # (the clock runs out once 1 MB of big.bin is on disk)
    monkeypatch.setattr(intake.time, "monotonic", lambda: 100.0 if scratch_bytes(scratch / "2") >= 1 << 20 else 0.0)
    big = zip_bytes({"big.bin": b"\0" * (3 << 20), "neural_nets/functional.py": "IN ZIP\n"})
    (sub / "a.zip").write_bytes(big)
    (sub / "b.zip").unlink()
    out = locate(str(sub), [REQ], str(scratch / "2"), time_limit=10.0)
    assert read(out["files"][REQ]) == "LOOSE\n"
    assert out["notes"] == ["unpacking your upload took more than 10 s; unpacking stopped at a.zip and the rest was "
                            "ignored (upload only the files the assignment asks for)"]
    assert files_under(scratch / "2") == []
    json_safe(out)
