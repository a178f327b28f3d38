"""Part 2, PyTorch: one training step and evaluation (yours); the Trainer loop (given)."""
import copy
import os

import torch


def _progress(iterable, **kw):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        return iterable
    return tqdm(iterable, **kw)


def train_step(model, criterion, optimizer, x, y):
    """One optimisation step on one batch.

    Put the model in training mode, clear the old gradients, compute the scores and
    the loss, backpropagate, and let the optimiser update the parameters.

    Args:
        model:     an nn.Module mapping x to scores (N, K).
        criterion: a loss, called as criterion(scores, y) (e.g. nn.CrossEntropyLoss()).
        optimizer: a torch.optim optimiser over model.parameters().
        x:         (N, C, H, W) images.   y: (N,) int64 labels.

    Returns:
        (loss, correct): the batch loss before the update (a Python float) and the
        number of examples whose highest score was the label (a Python int).
    """
    # BEGIN SOLUTION
    model.train()
    optimizer.zero_grad()
    scores = model(x)                                     # (N, K)
    loss = criterion(scores, y)
    loss.backward()
    optimizer.step()
    return float(loss.detach()), int((scores.argmax(dim=1) == y).sum())
    # END SOLUTION


def evaluate(model, criterion, loader):
    """Loss and accuracy of ``model`` over every batch of ``loader``, without training.

    Put the model in evaluation mode (dropout off, batch norm uses its running
    statistics) and compute no gradients (torch.no_grad()).

    Args:
        model:     an nn.Module.
        criterion: a loss whose value is the mean over a batch.
        loader:    an iterable of (x, y) batches, e.g. a DataLoader; the last batch may be smaller.

    Returns:
        (loss, accuracy, per_class):
            loss      the mean loss over all examples (batch losses weighted by batch size), float
            accuracy  the fraction of examples classified correctly, float
            per_class (K,) float tensor: the accuracy on the examples of each class
                      (NaN for a class with no examples)
    """
    # BEGIN SOLUTION
    model.eval()
    losses, sizes, hits, counts = [], [], None, None
    with torch.no_grad():
        for x, y in loader:
            scores = model(x)                                       # (B, K)
            losses.append(float(criterion(scores, y)))
            sizes.append(len(y))
            k = scores.shape[1]
            if hits is None:
                hits, counts = torch.zeros(k, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
            correct = (scores.argmax(dim=1) == y).to(torch.float64)
            hits += torch.bincount(y, weights=correct, minlength=k)[:k]
            counts += torch.bincount(y, minlength=k)[:k].to(torch.float64)
    n = sum(sizes)
    loss = sum(l * b for l, b in zip(losses, sizes)) / n        # weighted by batch size
    per_class = (hits / counts).float()                          # NaN where counts == 0
    return loss, float(hits.sum() / n), per_class
    # END SOLUTION


class Trainer:
    """Train a model for some epochs, keep the best weights, record learning curves.

    Args:
        model, criterion, optimizer: as for train_step.
        train_loader, val_loader:    iterables of (x, y) batches.
        scheduler:        optional torch.optim.lr_scheduler, stepped once per epoch.
        checkpoint_path:  if given, the best weights (by validation accuracy) are saved
                          there with torch.save(model.state_dict()) whenever they improve.
        device:           "cpu" or "cuda"; batches are moved there.

    After ``fit``, ``model`` holds the best weights seen (by validation accuracy),
    ``best_accuracy`` and ``best_epoch`` say when, and ``history`` holds the curves.
    """

    def __init__(self, model, criterion, optimizer, train_loader, val_loader, scheduler=None,
                 checkpoint_path=None, device="cpu"):
        self.model = model.to(device)
        self.criterion = criterion.to(device) if isinstance(criterion, torch.nn.Module) else criterion
        self.optimizer = optimizer
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.scheduler = scheduler
        self.checkpoint_path = checkpoint_path
        self.device = device
        self.history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
        self.best_accuracy, self.best_epoch, self.best_state = -1.0, None, None

    def _batches(self, loader):
        for x, y in loader:
            yield x.to(self.device), y.to(self.device)

    def train_epoch(self, progress=True, desc="train"):
        """One pass over the training batches; returns (mean loss, accuracy)."""
        total_loss, correct, n = 0.0, 0, 0
        bar = _progress(self._batches(self.train_loader), desc=desc, leave=False,
                        total=_length(self.train_loader)) if progress else self._batches(self.train_loader)
        for x, y in bar:
            loss, hits = train_step(self.model, self.criterion, self.optimizer, x, y)
            total_loss += loss * len(y)
            correct += hits
            n += len(y)
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss="%.3f" % loss)
        return total_loss / n, correct / n

    def fit(self, epochs, progress=True):
        """Train for ``epochs`` epochs; returns the history dict (one value per epoch per curve)."""
        for epoch in range(1, epochs + 1):
            loss, acc = self.train_epoch(progress, desc="epoch %d/%d" % (epoch, epochs))
            val_loss, val_acc, _ = evaluate(self.model, self.criterion, self._batches(self.val_loader))
            if self.scheduler is not None:
                self.scheduler.step()
            for key, value in zip(self.history, (loss, acc, val_loss, val_acc)):
                self.history[key].append(float(value))
            if val_acc > self.best_accuracy:
                self.best_accuracy, self.best_epoch = val_acc, epoch
                self.best_state = copy.deepcopy(self.model.state_dict())
                if self.checkpoint_path:
                    _save_atomic(self.best_state, self.checkpoint_path)
            if progress:
                print("epoch %d: train loss %.4f acc %.4f | val loss %.4f acc %.4f%s"
                      % (epoch, loss, acc, val_loss, val_acc, "  (best)" if self.best_epoch == epoch else ""))
        if self.best_state is not None:
            self.model.load_state_dict(self.best_state)
        return self.history


def _length(loader):
    try:
        return len(loader)
    except TypeError:
        return None


def _save_atomic(state, path):
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def plot_curves(history, title=None):
    """Loss and accuracy per epoch, training and validation side by side. Returns the figure."""
    import matplotlib.pyplot as plt

    epochs = range(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax_loss.plot(epochs, history["train_loss"], label="train")
    ax_loss.plot(epochs, history["val_loss"], label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="Loss")
    ax_acc.plot(epochs, history["train_acc"], label="train")
    ax_acc.plot(epochs, history["val_acc"], label="validation")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="Accuracy", ylim=(0, 1))
    for ax in (ax_loss, ax_acc):
        ax.legend()
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_per_class(per_class, labels, names=None, title=None):
    """Bar plot of per-class accuracies for several runs.

    Args:
        per_class: list of (K,) accuracies, one per run.   labels: one label per run.
        names:     K class names (default 0 .. K-1).
    """
    import matplotlib.pyplot as plt
    import numpy as np

    per_class = [np.asarray(p, dtype=float) for p in per_class]
    k = len(per_class[0])
    names = names or [str(i) for i in range(k)]
    width = 0.8 / len(per_class)
    fig, ax = plt.subplots(figsize=(max(6, k * 0.8), 3.5))
    for i, (acc, label) in enumerate(zip(per_class, labels)):
        ax.bar(np.arange(k) + i * width - 0.4 + width / 2, acc, width, label=label)
    ax.set(xticks=np.arange(k), xticklabels=names, ylabel="accuracy", ylim=(0, 1), title=title or "Per-class accuracy")
    ax.legend()
    fig.tight_layout()
    return fig
