"""Train the DigitsCNN that assignment 3 ships, deterministically, on CPU.

    .venv/bin/python assignments/a3_interpret/tools/train_digits_cnn.py [--out PATH]

Data: scikit-learn's bundled digits (1797 images, 8x8, pixels / 16), split once
with ``np.random.default_rng(0).permutation``: the first 20% are the test set,
the rest the training set (the same rule as A1's ``load_digits``).

Training: Adam (lr 1e-3, annealed to 0 along a cosine over the 30 epochs), batches
of 64 shuffled by a seeded NumPy generator. Seeds, deterministic algorithms and
one thread make the run repeat bit for bit on one machine. Other CPUs round
differently and end with slightly different weights; the annealing lets every run
settle in the same place, so the accuracy agrees (0.969 on the test set here),
where a constant learning rate leaves it wandering by +-0.01 from epoch to epoch.

Writes the state_dict (plain tensors, loadable with ``weights_only=True``) to
``solutions/a3_interpret/interpret/weights/digits_cnn.pt`` by default, through a
temporary file and ``os.replace``, so a failed run never leaves a half-written file.
"""
import argparse
import os
import sys
import tempfile
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PACKAGE_PARENT = os.path.join(ROOT, "solutions", "a3_interpret")
DEFAULT_OUT = os.path.join(PACKAGE_PARENT, "interpret", "weights", "digits_cnn.pt")

if PACKAGE_PARENT not in sys.path:
    sys.path.insert(0, PACKAGE_PARENT)
from interpret.models import DigitsCNN, load_digits_data  # noqa: E402

TEST_FRACTION = 0.2
SPLIT_SEED = 0
LR = 1e-3
BATCH = 64
EPOCHS = 30


def split_indices(n, test_fraction=TEST_FRACTION, seed=SPLIT_SEED):
    """(train_idx, test_idx): a seeded permutation of range(n); the first 20% are the test set."""
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    return order[n_test:], order[:n_test]


def digits_split():
    """(X_train, y_train, X_test, y_test): X (N, 1, 8, 8) float32 in [0, 1], y (N,) int64."""
    X, y = load_digits_data()
    train, test = split_indices(len(y))
    train, test = torch.from_numpy(train), torch.from_numpy(test)
    return X[train], y[train], X[test], y[test]


@torch.no_grad()
def accuracy(model, X, y):
    """Share of ``X`` (N, 1, 8, 8) that ``model`` classifies as ``y`` (N,)."""
    model.eval()
    return float((model(X).argmax(dim=1) == y).float().mean())


def train(epochs=EPOCHS, log=print):
    """Train a DigitsCNN from seed 0; return (model, history) with per-epoch loss and accuracies."""
    torch.manual_seed(0)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)
    X_train, y_train, X_test, y_test = digits_split()
    model = DigitsCNN()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    rng = np.random.default_rng(0)
    history = []
    for epoch in range(1, epochs + 1):
        model.train()
        order = torch.from_numpy(rng.permutation(len(y_train)))
        total = 0.0
        for start in range(0, len(order), BATCH):
            idx = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(model(X_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        schedule.step()
        row = {"epoch": epoch, "loss": total / len(order),
               "train_acc": accuracy(model, X_train, y_train), "test_acc": accuracy(model, X_test, y_test)}
        history.append(row)
        log("epoch %2d  loss %.4f  train acc %.4f  test acc %.4f"
            % (epoch, row["loss"], row["train_acc"], row["test_acc"]))
    return model.eval(), history


def save_state_dict(model, path):
    """Write ``model``'s state_dict to ``path`` atomically, readable by every user (0644 less umask)."""
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(prefix=".digits_cnn-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(state, fh)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="where to write the state_dict (default: %(default)s)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help="epochs (default: %(default)s)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    model, history = train(epochs=args.epochs)
    seconds = time.perf_counter() - start
    save_state_dict(model, args.out)
    last = history[-1]
    print("train accuracy %.4f  test accuracy %.4f  (%d epochs, %.1f s)"
          % (last["train_acc"], last["test_acc"], last["epoch"], seconds))
    print("wrote %s (%d bytes)" % (args.out, os.path.getsize(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
