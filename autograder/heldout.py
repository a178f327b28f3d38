"""Held-out images for grading a model the student trained (A2's MyModel).

The harness keeps images *and labels*; tests send the worker images only (in
batches, through sandbox calls) and compute accuracy from the predictions it
returns, so labels never reach student code.

Datasets (``[heldout]`` in assignment.toml names one for Gradescope and one for
offline use)::

    cifar10_test  CIFAR-10's 10,000 test images. setup.sh runs
                  ``python -m autograder.heldout fetch cifar10_test --dest <source>/data``
                  on Gradescope (which has network during setup): it downloads the
                  python tarball, checks its MD5, and writes heldout_cifar10_test.npz.
    digits32      scikit-learn's bundled digits, the held-out fifth (index % 5 == 0),
                  scaled up to 32x32 RGB: an offline stand-in with CIFAR-10's shape.

Images are uint8 arrays (N, 32, 32, 3); labels int64 (N,).
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass

import numpy as np

DATASETS = {
    "cifar10_test": {
        "url": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "md5": "c58f30108f718f92721af3b95e74349a",
        "member": "cifar-10-batches-py/test_batch",
        "description": "CIFAR-10 test set",
    },
}
OFFLINE = ("digits32",)
#: digits with index % DIGITS_HELDOUT_EVERY == 0 are held out (the A2 offline training data excludes them)
DIGITS_HELDOUT_EVERY = 5


class HeldOutUnavailable(RuntimeError):
    """The held-out data is missing or could not be fetched."""


@dataclass
class HeldOut:
    images: np.ndarray   # (N, 32, 32, 3) uint8
    labels: np.ndarray   # (N,) int64
    name: str
    description: str

    def batches(self, size: int):
        """(start, images[start:start + size]) pairs covering every image once."""
        for start in range(0, len(self.images), size):
            yield start, self.images[start:start + size]


def npz_path(folder: str, name: str) -> str:
    return os.path.join(folder, "heldout_%s.npz" % name)


def read_cifar_batch(fileobj) -> tuple:
    """A CIFAR-10 python batch (a pickled dict) -> (images (N, 32, 32, 3) uint8, labels (N,) int64).

    Only ever called on a file whose checksum matched the published one (``fetch``)
    or on the kit's own test fixtures."""
    entry = pickle.load(fileobj, encoding="bytes")
    data = np.asarray(entry[b"data"], dtype=np.uint8)                      # (N, 3072), channel-major
    labels = np.asarray(entry.get(b"labels", entry.get(b"fine_labels")), dtype=np.int64)
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)            # (N, 32, 32, 3)
    return np.ascontiguousarray(images), labels


def _md5(path: str) -> str:
    h = hashlib.md5()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(name: str, dest: str, *, url: str | None = None, md5: str | None = None, timeout: float = 60.0) -> str:
    """Download dataset ``name``, check its MD5, and write ``dest/heldout_<name>.npz`` (atomically).

    Returns the path written. Raises HeldOutUnavailable with one clear line on any failure,
    leaving nothing half-written."""
    if name not in DATASETS:
        raise HeldOutUnavailable("unknown held-out dataset %r (known: %s)" % (name, ", ".join(DATASETS)))
    spec = DATASETS[name]
    url, md5 = url or spec["url"], md5 or spec["md5"]
    os.makedirs(dest, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest, prefix=".fetch-") as tmp:
        archive = os.path.join(tmp, "archive")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(archive, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
        except (OSError, ValueError) as exc:
            raise HeldOutUnavailable("could not download %s from %s (%s); check the network, or grade offline "
                                     "with the [heldout] offline dataset" % (name, url, exc)) from None
        got = _md5(archive)
        if got != md5:
            raise HeldOutUnavailable("%s from %s has MD5 %s, expected %s; the download is corrupt or the file "
                                     "changed: nothing was written" % (name, url, got, md5))
        try:
            with tarfile.open(archive, "r:gz") as tar:
                member = tar.extractfile(spec["member"])
                if member is None:
                    raise KeyError(spec["member"])
                images, labels = read_cifar_batch(io.BytesIO(member.read()))
        except (tarfile.TarError, KeyError, OSError, pickle.UnpicklingError, ValueError) as exc:
            raise HeldOutUnavailable("%s: could not read %s from the archive (%s)" % (name, spec["member"], exc)) \
                from None
        part = os.path.join(tmp, "out.npz")
        np.savez(part, images=images, labels=labels)
        final = npz_path(dest, name)
        os.replace(part, final)
    os.chmod(final, 0o600)  # the harness reads it; the sandbox uid never does
    return final


def digits32() -> tuple:
    """scikit-learn's digits with index % 5 == 0, as (N, 32, 32, 3) uint8 images (each pixel a 4x4 block)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise HeldOutUnavailable("the offline held-out digits need scikit-learn, which is not installed here; "
                                 "install it, or let setup.sh fetch the [heldout] gradescope dataset") from None
    digits = load_digits()
    keep = np.arange(len(digits.target)) % DIGITS_HELDOUT_EVERY == 0
    small = np.round(digits.images[keep] * (255.0 / 16.0)).astype(np.uint8)          # (N, 8, 8)
    big = np.kron(small, np.ones((1, 4, 4), dtype=np.uint8))                          # (N, 32, 32)
    return np.repeat(big[..., None], 3, axis=3), digits.target[keep].astype(np.int64)


def load(root: str, spec: dict) -> HeldOut:
    """The held-out set for one grading run: the Gradescope dataset if setup.sh fetched it
    into ``<root>/data``, otherwise the offline one."""
    online = spec.get("gradescope")
    if online:
        path = npz_path(os.path.join(root, "data"), online)
        if os.path.exists(path):
            with np.load(path, allow_pickle=False) as data:
                return HeldOut(data["images"], data["labels"], online, DATASETS[online]["description"])
    offline = spec.get("offline")
    if offline == "digits32":
        images, labels = digits32()
        return HeldOut(images, labels, offline, "digits held-out split (offline stand-in%s)"
                       % (" for %s" % online if online else ""))
    raise HeldOutUnavailable("no held-out data: %s was not fetched into %s and no offline dataset is set; "
                             "run setup.sh with network, or set [heldout] offline = \"digits32\""
                             % (online or "nothing", os.path.join(root, "data")))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.heldout", description="fetch held-out grading data")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download a dataset, check its MD5, write <dest>/heldout_<name>.npz")
    f.add_argument("name", choices=sorted(DATASETS))
    f.add_argument("--dest", required=True)
    args = p.parse_args(argv)
    try:
        path = fetch(args.name, args.dest)
    except HeldOutUnavailable as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("wrote %s" % path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
