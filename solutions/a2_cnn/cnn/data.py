"""Part 2 data (given code: nothing to write here).

* ``cifar10``: torchvision's CIFAR-10 (downloaded once, checked by torchvision's
  MD5 checksums), with the usual training augmentation.
* ``ImbalancedCIFAR10``: CIFAR-10's training set with an exponential class profile.
* ``digits``: scikit-learn's bundled handwritten digits, offline, shaped like
  CIFAR-10 images (3 x 32 x 32) so that every model of this assignment runs on them.
* ``prepare_images``: the test-time transform on a (N, 32, 32, 3) uint8 array, as
  the held-out grading of MyModel applies it.
* ``imbalanced_indices`` / ``class_counts``: the exponential profile on any labels.

Images come as float32 tensors (C, H, W); labels as int64.
"""
import os

import numpy as np
import torch
from torch.utils.data import Subset, TensorDataset

CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class DatasetNotFound(FileNotFoundError):
    """The dataset is not on disk and downloading was not allowed (or failed)."""


def cifar10_transforms(train, augment=True):
    """ToTensor + per-channel normalisation; for training, also a random crop (padding 4)
    and a random horizontal flip, the usual CIFAR-10 augmentation."""
    import torchvision.transforms as T

    steps = [T.RandomCrop(32, padding=4), T.RandomHorizontalFlip()] if (train and augment) else []
    return T.Compose(steps + [T.ToTensor(), T.Normalize(CIFAR10_MEAN, CIFAR10_STD)])


def _cifar(make, root, train, download, transform):
    try:
        return make(root, train=train, download=download, transform=transform)
    except RuntimeError as exc:
        raise DatasetNotFound("CIFAR-10 not found in %s; call with download=True (163 MB), or use digits() offline (%s)"
                              % (os.path.abspath(root), exc)) from None
    except OSError as exc:  # the download itself failed (no network)
        raise DatasetNotFound("could not download CIFAR-10 into %s (%s); download it elsewhere and copy "
                              "cifar-10-batches-py there, or use digits() offline" % (os.path.abspath(root), exc)) from None


def cifar10(root="data", train=True, download=True, augment=True):
    """CIFAR-10's training (50 000 images) or test (10 000) set.

    Args:
        root:     folder holding (or receiving) ``cifar-10-batches-py``.
        train:    the training set (True) or the test set (False).
        download: fetch the archive if it is missing (torchvision checks its MD5).
        augment:  random crop and flip on the training set (never on the test set).

    Returns:
        a torchvision dataset of (image (3, 32, 32) float32, label int) pairs.

    Raises:
        DatasetNotFound: the files are missing and could not be downloaded.
    """
    from torchvision.datasets import CIFAR10

    return _cifar(CIFAR10, root, train, download, cifar10_transforms(train, augment))


def class_counts(num_classes, n_max, imbalance_ratio):
    """The exponential profile: n_c = int(n_max * imbalance_ratio ** (-c / (K - 1))).

    Class 0 keeps ``n_max`` examples and class K-1 keeps n_max / imbalance_ratio.

    Args:
        num_classes: K (at least 2).   n_max: examples of class 0.
        imbalance_ratio: n_max / n_min, >= 1 (1 gives a balanced set).

    Returns:
        list of K ints, non-increasing.
    """
    if imbalance_ratio < 1:
        raise ValueError("imbalance_ratio is n_max / n_min and must be >= 1, got %r" % (imbalance_ratio,))
    return [int(n_max * imbalance_ratio ** (-c / (num_classes - 1))) for c in range(num_classes)]


def imbalanced_indices(labels, imbalance_ratio, seed=0):
    """Indices of a subset of ``labels`` whose class sizes follow ``class_counts``.

    n_max is the size of the smallest class in ``labels`` (so every class has enough
    examples); within each class the kept examples are a random choice (``seed``),
    returned in their original order.
    """
    labels = np.asarray(labels)
    k = int(labels.max()) + 1
    available = np.bincount(labels, minlength=k)
    counts = class_counts(k, int(available.min()), imbalance_ratio)
    rng = np.random.default_rng(seed)
    keep = [rng.choice(np.flatnonzero(labels == c), size=n, replace=False) for c, n in enumerate(counts)]
    return np.sort(np.concatenate(keep))


def _imbalanced_cifar10_class():
    from torchvision.datasets import CIFAR10

    class ImbalancedCIFAR10(CIFAR10):
        """CIFAR-10's training set with an exponential class profile.

        Class c keeps int(5000 * imbalance_ratio ** (-c / 9)) of its images: 5000 airplanes
        down to 5000 / imbalance_ratio trucks (50 for the default ratio 100).

        Args:
            root, download, augment: as for cifar10() (always the training set).
            imbalance_ratio: n_max / n_min, >= 1.
            seed: which images of each class are kept.

        Attributes:
            class_counts: list of the 10 class sizes, for reweight().
        """

        def __init__(self, root="data", imbalance_ratio=100, download=True, augment=True, seed=0):
            _cifar(super().__init__, root, True, download, cifar10_transforms(True, augment))
            keep = imbalanced_indices(self.targets, imbalance_ratio, seed)
            self.data = self.data[keep]
            self.targets = [self.targets[i] for i in keep]
            self.imbalance_ratio = imbalance_ratio
            self.class_counts = np.bincount(self.targets, minlength=len(self.classes)).tolist()

    return ImbalancedCIFAR10


def __getattr__(name):  # ImbalancedCIFAR10 is built on first use, so importing cnn.data needs no torchvision
    if name == "ImbalancedCIFAR10":
        cls = _imbalanced_cifar10_class()
        globals()[name] = cls
        return cls
    raise AttributeError("module %r has no attribute %r" % (__name__, name))


def prepare_images(images, normalize=True):
    """The test-time transform, on a whole array: what cifar10(train=False) does per image.

    Args:
        images: (N, H, W, 3) uint8 array, as CIFAR-10 stores its images.
        normalize: subtract CIFAR10_MEAN and divide by CIFAR10_STD per channel.

    Returns:
        (N, 3, H, W) float32 tensor. The held-out grading of MyModel feeds it this way.
    """
    x = torch.as_tensor(np.asarray(images, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 255.0   # (N, 3, H, W)
    if normalize:
        mean = torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
        x = (x - mean) / std
    return x.contiguous()


#: digits with index % DIGITS_TEST_EVERY == 0 form the test split (the offline held-out set too)
DIGITS_TEST_EVERY = 5


def digits_uint8():
    """scikit-learn's bundled digits as CIFAR-style (1797, 32, 32, 3) uint8 images and (1797,) labels.

    Each 8x8 pixel (0..16) becomes a 4x4 block (nearest neighbour) scaled to 0..255,
    copied into the three colour channels.
    """
    from sklearn.datasets import load_digits

    d = load_digits()
    small = np.round(d.images * (255.0 / 16.0)).astype(np.uint8)                  # (1797, 8, 8)
    big = np.kron(small, np.ones((1, 4, 4), dtype=np.uint8))                       # (1797, 32, 32)
    return np.repeat(big[..., None], 3, axis=3), d.target.astype(np.int64)


def digits(normalize=True):
    """scikit-learn's bundled handwritten digits (1797 real 8x8 images), offline, shaped
    like CIFAR-10 (3 x 32 x 32) so that every model of this assignment runs on them.

    The images go through prepare_images (scaled to [0, 1], then CIFAR-10's per-channel
    normalisation unless ``normalize`` is False). The test split is every fifth image
    (index % 5 == 0, 360 images; the offline stand-in for the held-out set), the
    training split the other 1437.

    Returns:
        (train, test): TensorDatasets of (x (3, 32, 32) float32, y int64).
    """
    images, labels = digits_uint8()
    X, y = prepare_images(images, normalize), torch.from_numpy(labels)
    test = torch.from_numpy(np.arange(len(labels)) % DIGITS_TEST_EVERY == 0)
    return TensorDataset(X[~test], y[~test]), TensorDataset(X[test], y[test])


def imbalanced_digits(imbalance_ratio=10, normalize=True, seed=0):
    """The digits training split with the exponential class profile; the test split stays balanced.

    Returns:
        (train, test, counts): a Subset of the training split, the balanced test split,
        and the list of the 10 training class sizes.
    """
    train, test = digits(normalize)
    labels = train.tensors[1].numpy()
    keep = imbalanced_indices(labels, imbalance_ratio, seed)
    counts = np.bincount(labels[keep], minlength=10).tolist()
    return Subset(train, keep.tolist()), test, counts


def loaders(train, test, batch_size=128, num_workers=0, seed=0):
    """DataLoaders: the training one shuffled (seeded), the test one in order."""
    g = torch.Generator().manual_seed(seed)
    return (torch.utils.data.DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                                        generator=g),
            torch.utils.data.DataLoader(test, batch_size=batch_size, shuffle=False, num_workers=num_workers))
