"""Engine support for A2: forbidden imports (read, never run), optional submitted files with a size cap,
and held-out images whose labels stay in the harness (fetched with a checksum, or built offline)."""
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from autograder import heldout
from autograder.intake import locate
from autograder.policy import imported_modules, violations

from conftest import break_function, A1, A1_FILE, KIT, build_tree, by_name, copy_reference, graded, reference_text, \
    write_submission


# ---------------------------------------------------------------- forbidden imports
@pytest.mark.parametrize("line", [
    "import torch", "import torch.nn as nn", "from torch import nn", "from torch.nn import functional as F",
    "import numpy as np, torch", "x = __import__('torch')", "import importlib\nm = importlib.import_module('torch.nn')",
    "def f():\n    import torch\n    return torch",
])
def test_imports_of_torch_are_found(line):
    assert "torch" in [mod for _, mod in imported_modules(line)]


@pytest.mark.parametrize("line", ["import numpy as np", "from . import torch_helpers", "import torchvision_like_name",
                                  "# import torch", "s = 'import torch'", "def f(:\n  import torch"])
def test_other_code_is_not_flagged(line):
    assert "torch" not in [mod for _, mod in imported_modules(line)]


def test_violations_name_the_file_the_line_and_the_rule(tmp_path):
    pkg = tmp_path / "cnn"
    pkg.mkdir()
    (pkg / "layers.py").write_text("import numpy as np\n\nimport torch.nn.functional as F\n")
    (pkg / "optim.py").write_text("import numpy as np\n")
    rules = [{"files": ["cnn/layers.py", "cnn/optim.py", "cnn/convnet.py"], "modules": ["torch"],
              "reason": "part 1 is NumPy only"}]
    out = violations(str(tmp_path), rules)
    assert list(out) == ["cnn.layers"]
    assert out["cnn.layers"] == ("cnn/layers.py imports torch (line 3): part 1 is NumPy only; remove the import "
                                 "and use NumPy only, then upload again")


def _tree_with_rule(tmp_path, **extra):
    source = build_tree(tmp_path / "source")
    path = os.path.join(source, "assignment.json")
    with open(path) as fh:
        cfg = json.load(fh)
    cfg["forbid_imports"] = [{"files": [A1_FILE], "modules": ["torch"], "reason": "assignment 1 is NumPy only"}]
    cfg.update(extra)
    with open(path, "w") as fh:
        json.dump(cfg, fh)
    return source


def test_a_forbidden_import_fails_that_files_tests_with_the_rule_and_spares_the_rest(tmp_path):
    source = _tree_with_rule(tmp_path)
    text = reference_text().replace("import numpy as np", "import numpy as np\nimport torch  # noqa", 1)
    data = graded(source, write_submission(tmp_path / "sub", text), tmp_path)
    reference = graded(source, copy_reference(tmp_path / "ref"), tmp_path)
    assert reference["score"] == sum(t["max_score"] for t in reference["tests"])
    message = "neural_nets/functional.py imports torch (line"
    assert message in data["output"]
    ref = by_name(reference)
    lost = [t for t in data["tests"] if t["score"] < ref[t["name"]]["score"]]
    kept = [t for t in data["tests"] if t["score"] == ref[t["name"]]["score"]]
    assert len(lost) >= 7, "every test of functional.py (and of code importing it) must lose its points"
    assert all(message in t["output"] for t in lost), [t["output"][:200] for t in lost if message not in t["output"]]
    assert any("optim" in t["name"] or "SGD" in t["name"] for t in kept), "files without the import are graded"


RUNTIME_IMPORTS = {
    "import_module": '__import__("importlib").import_module("tor" + "ch")',
    "dunder_import": '__import__("".join(["t", "o", "r", "c", "h"]))',
    "sys_modules_after_a_probe": '__import__("sys").modules.get("torch") or __import__("to" + "rch")',
}


@pytest.mark.parametrize("how", sorted(RUNTIME_IMPORTS))
def test_a_forbidden_import_built_at_run_time_is_refused(tmp_path, how):
    """The static check cannot see a name built at run time; the worker's audit hook refuses it
    (the file's functions that reach the import fail with the rule), the rest keeps its points."""
    source = _tree_with_rule(tmp_path)
    expr = RUNTIME_IMPORTS[how]
    text = break_function(reference_text(), "sigmoid",
                          "    _t = %s\n    return 1.0 / (1.0 + np.exp(-x))" % expr)
    data = graded(source, write_submission(tmp_path / "sub", text), tmp_path)
    sig = [t for t in data["tests"] if "sigmoid" in t["name"].lower() or "sigmoid" in t["output"]]
    assert sig and any(t["score"] < t["max_score"] and "torch may not be imported by neural_nets/functional.py"
                       in t["output"] for t in sig), [t["output"][:300] for t in sig]
    assert "imports torch (line" not in data["output"]  # not the static rule: this name was built at run time
    others = [t for t in data["tests"] if t["name"].startswith(("several steps of SGD", "train_val_split keeps"))]
    assert others and all(t["score"] == t["max_score"] for t in others), [t["name"] for t in others]


def test_runtime_import_rule_has_teeth(tmp_path, monkeypatch):
    """With the audit hook switched off, the same submission keeps its sigmoid points."""
    monkeypatch.setenv("AUTOGRADER_UNSAFE_DISABLE", "import-audit")
    source = _tree_with_rule(tmp_path)
    text = break_function(reference_text(), "sigmoid",
                          "    _t = %s\n    return 1.0 / (1.0 + np.exp(-x))" % RUNTIME_IMPORTS["import_module"])
    data = graded(source, write_submission(tmp_path / "sub", text), tmp_path)
    assert not any("may not be imported" in t["output"] for t in data["tests"])


def test_a_forbidden_import_is_refused_in_process_too(tmp_path):
    """pytest --inprocess (a student debugging locally) refuses the same way."""
    source = _tree_with_rule(tmp_path)
    text = reference_text().replace("import numpy as np", "from torch import nn  # noqa\nimport numpy as np", 1)
    sub = write_submission(tmp_path / "sub", text)
    out = tmp_path / "inproc.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOGRADER_")}
    env.update(AUTOGRADER_CONFIG=os.path.join(source, "assignment.json"), PYTHONPATH=source)
    proc = subprocess.run([sys.executable, "-m", "pytest", os.path.join(source, "tests", "public", "test_functional.py"),
                           "-q", "-p", "no:cacheprovider", "--rootdir", source, "-c", os.path.join(source, "pytest.ini"),
                           "--inprocess", "--submission", sub, "--results", str(out)],
                          cwd=source, env=env, capture_output=True, text=True, timeout=300)
    data = json.loads(out.read_text())
    assert data["score"] == 0, proc.stdout[-2000:]
    assert all("functional.py imports torch (line " in t["output"] for t in data["tests"])


# ---------------------------------------------------------------- optional files and the size cap
def test_optional_files_are_taken_when_present_and_size_capped(tmp_path):
    sub = tmp_path / "sub"
    (sub / "cnn").mkdir(parents=True)
    (sub / "cnn" / "layers.py").write_text("x = 1\n")
    (sub / "cnn" / "mymodel.pt").write_bytes(b"\0" * (3 << 20))
    out = locate(str(sub), ["cnn/layers.py"], str(tmp_path / "s1"), optional=["cnn/mymodel.pt"], max_file_mb=5)
    assert sorted(out["files"]) == ["cnn/layers.py", "cnn/mymodel.pt"] and out["missing"] == []
    out = locate(str(sub), ["cnn/layers.py"], str(tmp_path / "s2"), optional=["cnn/mymodel.pt"], max_file_mb=2)
    assert list(out["files"]) == ["cnn/layers.py"]
    assert out["notes"] == ["cnn/mymodel.pt is 3.0 MB, over the 2 MB limit for one file; it was not graded (make "
                            "it smaller, e.g. a model with fewer parameters, then upload again)"]
    (sub / "cnn" / "mymodel.pt").unlink()
    out = locate(str(sub), ["cnn/layers.py"], str(tmp_path / "s3"), optional=["cnn/mymodel.pt"], max_file_mb=2)
    assert list(out["files"]) == ["cnn/layers.py"] and out["missing"] == [] and out["notes"] == []


def test_collect_submission_adds_optional_files_and_refuses_oversized_ones(tmp_path):
    from autograder.build import student_tree

    root = student_tree(KIT, A1, str(tmp_path / "release"))
    for rel in KIT.assignment(A1).required_files:
        with open(KIT.path("solutions", A1, rel)) as src, open(os.path.join(root, rel), "w") as dst:
            dst.write(src.read())
    cfg_path = os.path.join(root, "assignment.json")
    with open(cfg_path) as fh:
        cfg = json.load(fh)
    cfg.update(optional_files=["neural_nets/weights.npz"], max_file_mb=1)
    with open(cfg_path, "w") as fh:
        json.dump(cfg, fh)

    def collect():
        return subprocess.run([sys.executable, "collect_submission.py"], cwd=root, capture_output=True, text=True,
                              timeout=300)

    proc = collect()
    assert proc.returncode == 0, proc.stderr
    assert "note: neural_nets/weights.npz does not exist" in proc.stdout
    with open(os.path.join(root, "neural_nets", "weights.npz"), "wb") as fh:
        fh.write(b"\1" * 1000)
    proc = collect()
    import zipfile
    with zipfile.ZipFile(os.path.join(root, "submission.zip")) as zf:
        assert "neural_nets/weights.npz" in zf.namelist()
    os.unlink(os.path.join(root, "submission.zip"))
    with open(os.path.join(root, "neural_nets", "weights.npz"), "wb") as fh:
        fh.write(b"\1" * (2 << 20))
    proc = collect()
    assert proc.returncode == 1
    assert proc.stderr.strip() == ("error: neural_nets/weights.npz is 2.0 MB, over the 1 MB limit for one file; make "
                                   "it smaller (e.g. a model with fewer parameters)")
    assert not os.path.exists(os.path.join(root, "submission.zip")), "nothing is written when a file is refused"


# ---------------------------------------------------------------- held-out data
def _fake_cifar_tarball(path, n=7, seed=0):
    """A tiny cifar-10-python.tar.gz in the real format: pickled dicts with b'data' (N, 3072) and b'labels'."""
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = [int(v) for v in rng.integers(0, 10, size=n)]
    with tarfile.open(path, "w:gz") as tar:
        for name, batch in (("test_batch", {b"batch_label": b"testing batch 1 of 1", b"data": data,
                                            b"labels": labels, b"filenames": [b"x.png"] * n}),
                            ("batches.meta", {b"label_names": [b"airplane"] * 10})):
            raw = pickle.dumps(batch, protocol=2)
            info = tarfile.TarInfo("cifar-10-batches-py/" + name)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    return data, np.array(labels)


def test_fetch_checks_the_md5_and_converts_the_test_batch(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    data, labels = _fake_cifar_tarball(archive)
    md5 = hashlib.md5(archive.read_bytes()).hexdigest()
    dest = tmp_path / "data"
    path = heldout.fetch("cifar10_test", str(dest), url=archive.as_uri(), md5=md5)
    assert os.listdir(dest) == ["heldout_cifar10_test.npz"] and oct(os.stat(path).st_mode & 0o777) == "0o600"
    got = heldout.load(str(tmp_path), {"gradescope": "cifar10_test", "offline": "digits32"})
    assert got.name == "cifar10_test" and got.images.shape == (7, 32, 32, 3) and got.images.dtype == np.uint8
    np.testing.assert_array_equal(got.labels, labels)
    # pixel (row 1, column 2) of image 3: red, green and blue planes of 1024 values each
    np.testing.assert_array_equal(got.images[3, 1, 2], data[3, [32 + 2, 1024 + 32 + 2, 2048 + 32 + 2]])
    assert [s for s, _ in got.batches(3)] == [0, 3, 6]


def test_fetch_with_a_wrong_md5_writes_nothing_and_says_so(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    _fake_cifar_tarball(archive)
    dest = tmp_path / "data"
    with pytest.raises(heldout.HeldOutUnavailable) as info:
        heldout.fetch("cifar10_test", str(dest), url=archive.as_uri(), md5="0" * 32)
    assert "expected " + "0" * 32 in str(info.value) and "nothing was written" in str(info.value)
    assert "\n" not in str(info.value)
    assert os.listdir(dest) == []


def test_fetch_offline_is_one_clear_line(tmp_path):
    with pytest.raises(heldout.HeldOutUnavailable, match="could not download cifar10_test"):
        heldout.fetch("cifar10_test", str(tmp_path), url=(tmp_path / "absent.tar.gz").as_uri())
    assert os.listdir(tmp_path) == []


def test_the_published_cifar_checksum_is_the_manifests():
    text = open(KIT.path("datasets", "manifest.toml")).read()
    assert heldout.DATASETS["cifar10_test"]["md5"] in text


def test_offline_digits32_is_the_held_out_fifth_scaled_up():
    from sklearn.datasets import load_digits

    got = heldout.load("/nonexistent", {"gradescope": "cifar10_test", "offline": "digits32"})
    digits = load_digits()
    assert got.name == "digits32" and got.images.shape == (360, 32, 32, 3) and got.images.dtype == np.uint8
    np.testing.assert_array_equal(got.labels, digits.target[::5])
    first = digits.images[0]
    np.testing.assert_array_equal(got.images[0, ::4, ::4, 1], np.round(first * 255 / 16).astype(np.uint8))
    assert (got.images[..., 0] == got.images[..., 2]).all()


def test_no_heldout_data_is_a_clear_error():
    with pytest.raises(heldout.HeldOutUnavailable, match="was not fetched into"):
        heldout.load("/nonexistent", {"gradescope": "cifar10_test"})
