"""Train the reference MyModel of assignment 2 and save its checkpoint.

    .venv/bin/python assignments/a2_cnn/tools/train_mymodel.py [--data digits|cifar10] [--epochs N] [--out PATH]

``--data digits`` (default, offline, about a minute on a CPU): scikit-learn's digits
as 3x32x32 images; trains on the images with index % 5 != 0 (the held-out fifth,
index % 5 == 0, is what the grader scores offline), keeping every 10th training
image aside for validation. Seeds and one thread make the run repeat on one machine.
The result is the committed ``solutions/a2_cnn/cnn/mymodel.pt``, which the self-check
grades as the reference submission.

``--data cifar10 --root DIR``: CIFAR-10 (downloaded by torchvision when absent), with
the usual augmentation; use it (ideally on a GPU, ``--device cuda``) to make a
checkpoint for a test submission on Gradescope, where MyModel is scored on the
CIFAR-10 test set. The digits checkpoint scores about chance there.

Only the best weights by validation accuracy are written (a plain state_dict,
loadable with ``weights_only=True``), through a temporary file and ``os.replace``.
"""
import argparse
import os
import sys
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PACKAGE_PARENT = os.path.join(ROOT, "solutions", "a2_cnn")
DEFAULT_OUT = os.path.join(PACKAGE_PARENT, "cnn", "mymodel.pt")
if PACKAGE_PARENT not in sys.path:
    sys.path.insert(0, PACKAGE_PARENT)
from cnn import data, models, trainer  # noqa: E402


def digits_split():
    train, test = data.digits()
    val_mask = torch.arange(len(train)) % 10 == 0
    idx = torch.arange(len(train))
    return (torch.utils.data.Subset(train, idx[~val_mask].tolist()),
            torch.utils.data.Subset(train, idx[val_mask].tolist()), test)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", choices=["digits", "cifar10"], default="digits")
    p.add_argument("--root", default="data", help="CIFAR-10 folder (for --data cifar10)")
    p.add_argument("--epochs", type=int, default=None, help="default: 6 for digits, 40 for cifar10")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", default=DEFAULT_OUT)
    args = p.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if args.data == "digits":
        train, val, test = digits_split()
        epochs, lr = args.epochs or 6, 3e-3
    else:
        full = data.cifar10(args.root, train=True, download=True)
        n_val = 5000
        train, val = torch.utils.data.random_split(full, [len(full) - n_val, n_val],
                                                   generator=torch.Generator().manual_seed(0))
        test = data.cifar10(args.root, train=False, download=True)
        epochs, lr = args.epochs or 40, 3e-3
    train_loader, val_loader = data.loaders(train, val, batch_size=64, seed=0)
    model = models.MyModel()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    start = time.time()
    fit = trainer.Trainer(model, torch.nn.CrossEntropyLoss(), optimizer, train_loader, val_loader,
                          scheduler=scheduler, checkpoint_path=args.out, device=args.device)
    fit.fit(epochs, progress=False)
    model.cpu()
    _, test_loader = data.loaders(train, test, batch_size=256)
    _, test_acc, _ = trainer.evaluate(model, torch.nn.CrossEntropyLoss(), test_loader)
    print("best validation accuracy %.4f at epoch %d; test accuracy %.4f; %.1f s; wrote %s (%.2f MB)"
          % (fit.best_accuracy, fit.best_epoch, test_acc, time.time() - start, args.out,
             os.path.getsize(args.out) / 2**20))
    return 0


if __name__ == "__main__":
    sys.exit(main())
