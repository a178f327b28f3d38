"""The training loop (the core is yours) and learning-curve plots (given)."""
import numpy as np

from .data import iterate_minibatches


def _progress(iterable, **kw):
    try:
        from tqdm.auto import tqdm
    except ImportError:  # tqdm is optional
        return iterable
    return tqdm(iterable, **kw)


def evaluate(model, X, y, batch_size=1000):
    """Mean loss and accuracy of ``model`` on (X, y), without touching its gradients."""
    total_loss, total_correct, n = 0.0, 0.0, len(y)
    for Xb, yb in iterate_minibatches(X, y, batch_size, shuffle=False):
        loss, acc = model.forward(Xb, yb, mode="valid")
        total_loss += loss * len(yb)
        total_correct += acc * len(yb)
    return total_loss / n, total_correct / n


def train_epoch(model, optimizer, X, y, batch_size, seed=0):
    """One pass over (X, y) in mini-batches shuffled with ``seed``; returns (mean loss, mean accuracy).

    For each batch:  forward in train mode -> optimizer.apply_regularization(model)
    -> optimizer.update(model). The returned loss is the data loss averaged over
    batches, weighted by batch size (the regularisation term is not included).
    """
    raise NotImplementedError("neural_nets.train.train_epoch")


def train(model, optimizer, data, epochs=10, batch_size=64, seed=0, progress=True):
    """Train ``model`` and record learning curves.

    Args:
        data: (X_train, y_train, X_val, y_val).
        epochs: passes over the training set; epoch e shuffles with seed + e.
        progress: show a tqdm progress bar.

    Returns:
        history: {"train_loss", "train_acc", "val_loss", "val_acc"}: lists, one value per epoch.
    """
    X_train, y_train, X_val, y_val = data
    history = {"train_loss": [], "train_acc": [], "val_loss": [], "val_acc": []}
    bar = _progress(range(epochs), desc="epochs", disable=not progress) if progress else range(epochs)
    for epoch in bar:
        loss, acc = train_epoch(model, optimizer, X_train, y_train, batch_size, seed=seed + epoch)
        val_loss, val_acc = evaluate(model, X_val, y_val)
        for key, value in zip(history, (loss, acc, val_loss, val_acc)):
            history[key].append(float(value))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(loss="%.3f" % loss, val_acc="%.3f" % val_acc)
    return history


def plot_curves(history, title=None):
    """Loss and accuracy per epoch, training and validation side by side. Returns the figure."""
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 3.5))
    ax_loss.plot(epochs, history["train_loss"], label="train")
    ax_loss.plot(epochs, history["val_loss"], label="validation")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
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
