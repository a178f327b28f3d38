"""Models and data for assignment 3 (given code: nothing to write here).

Two networks to interpret:

    DigitsCNN      a small CNN the kit trains on scikit-learn's bundled digits.
                   Input (N, 1, 8, 8) floats in [0, 1]; output (N, 10) class scores.
                   Its weights ship with the assignment, so it works offline.
    SqueezeNet 1.1 torchvision's ImageNet classifier. Input (N, 3, 224, 224),
                   ImageNet-normalised; output (N, 1000) class scores. Its weights
                   are downloaded (about 5 MB) the first time and cached.

Both loaders return the model in eval mode with every parameter frozen
(``requires_grad=False``): the maps in this assignment are gradients with respect
to the *input image*, never the weights.

Example:
    >>> from interpret.models import load_digits_cnn, load_digits_data
    >>> model = load_digits_cnn()
    >>> X, y = load_digits_data()          # X (1797, 1, 8, 8), y (1797,)
    >>> model(X[:5]).argmax(dim=1)         # (5,) predicted digits
"""
import os

import torch
import torch.nn as nn

WEIGHTS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "weights", "digits_cnn.pt")
DOWNLOAD_TIMEOUT = 20  # seconds without an answer before a download gives up
TRAIN_COMMAND = "make digits-cnn"  # runs assignments/a3_interpret/tools/train_digits_cnn.py


class WeightsNotFound(FileNotFoundError):
    """The DigitsCNN weights file is missing."""


class PretrainedWeightsUnavailable(RuntimeError):
    """The pretrained SqueezeNet weights could not be downloaded (or read from the cache)."""


class DigitsCNN(nn.Module):
    """A small CNN for 8x8 handwritten digits.

    Layers (shapes for a batch of N images):

        x                                   (N, 1, 8, 8)    pixels in [0, 1]
        features[0]  Conv2d(1, 16, 3, pad 1) (N, 16, 8, 8)
        features[1]  ReLU
        features[2]  Conv2d(16, 32, 3, pad 1)(N, 32, 8, 8)   <- the Grad-CAM layer
        features[3]  ReLU
        pool         MaxPool2d(2)            (N, 32, 4, 4)
        flatten                              (N, 512)
        classifier   Linear(512, 10)         (N, 10)         class scores (no softmax)

    A 3x3 convolution with padding 1 keeps the height and width:
    H_out = (H + 2 * 1 - 3) / 1 + 1 = H. Max-pooling by 2 halves them.

    Grad-CAM uses the last convolution, ``model.features[2]`` (also available as
    ``model.gradcam_layer``); its output is (N, 32, 8, 8).

    Each ReLU is its own ``nn.ReLU`` module (never ``F.relu``, never one module
    used twice), so guided backpropagation can swap them for a modified ReLU.
    """

    GRADCAM_LAYER = "features.2"

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1),   # (N, 16, 8, 8)
            nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1),  # (N, 32, 8, 8)
            nn.ReLU(),
        )
        self.pool = nn.MaxPool2d(2)                    # (N, 32, 4, 4)
        self.classifier = nn.Linear(32 * 4 * 4, 10)    # (N, 10)

    @property
    def gradcam_layer(self):
        """The last convolution, ``features[2]``: output (N, 32, 8, 8)."""
        return self.features[2]

    def forward(self, x):
        """Class scores of a batch of digits.

        Args:
            x: (N, 1, 8, 8) tensor, pixels in [0, 1] (digits pixels / 16).

        Returns:
            (N, 10) unnormalised class scores.
        """
        if x.dim() != 4 or tuple(x.shape[1:]) != (1, 8, 8):
            raise ValueError("DigitsCNN expects input of shape (N, 1, 8, 8), got %s" % (tuple(x.shape),))
        h = self.features(x)            # (N, 32, 8, 8)
        h = self.pool(h)                # (N, 32, 4, 4)
        h = torch.flatten(h, 1)         # (N, 512)
        return self.classifier(h)       # (N, 10)


def _freeze(model):
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def load_digits_cnn(weights=None):
    """The trained DigitsCNN, in eval mode with frozen parameters.

    Args:
        weights: path of a state_dict file; ``None`` means the weights that ship
                 with the assignment (``interpret/weights/digits_cnn.pt``).

    Returns:
        DigitsCNN mapping (N, 1, 8, 8) float32 in [0, 1] to (N, 10) scores.
        It classifies about 97% of held-out digits correctly.

    Raises:
        WeightsNotFound (a FileNotFoundError): the weights file is missing.
    """
    path = os.fspath(weights) if weights is not None else WEIGHTS_FILE
    if not os.path.isfile(path):
        raise WeightsNotFound("DigitsCNN weights not found at %s; run `%s` to train them (about 10 s on a CPU)"
                              % (path, TRAIN_COMMAND))
    with torch.random.fork_rng(devices=[]):  # building the model must not consume the caller's random stream
        model = DigitsCNN()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return _freeze(model)


def load_squeezenet(pretrained=True):
    """torchvision's SqueezeNet 1.1, in eval mode with frozen parameters.

    Args:
        pretrained: load the ImageNet weights (downloaded once, then cached under
                    ``$TORCH_HOME``); ``False`` gives random weights, offline.

    Returns:
        SqueezeNet mapping (N, 3, 224, 224) ImageNet-normalised images to (N, 1000)
        scores. ``model.features`` holds its convolutional part.

    Raises:
        PretrainedWeightsUnavailable: the weights could not be downloaded (no
            internet). ``load_digits_cnn()`` works offline.
    """
    try:
        from torchvision.models import SqueezeNet1_1_Weights, squeezenet1_1
    except ImportError as exc:
        raise ImportError("load_squeezenet needs torchvision: pip install torchvision (%s)" % exc) from None
    import socket

    weights = SqueezeNet1_1_Weights.IMAGENET1K_V1 if pretrained else None
    old_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT)  # offline: fail in seconds, never hang
    try:
        model = squeezenet1_1(weights=weights)
    except (OSError, RuntimeError) as exc:  # URLError is an OSError; a bad hash or file a RuntimeError
        reason = (str(exc).strip().splitlines() or [""])[0]
        raise PretrainedWeightsUnavailable(
            "could not download the SqueezeNet 1.1 ImageNet weights (%s: %s); connect to the internet once "
            "(they are then cached under %s), or use load_digits_cnn(), which works offline"
            % (type(exc).__name__, reason, torch.hub.get_dir())) from None
    finally:
        socket.setdefaulttimeout(old_timeout)
    return _freeze(model)


def imagenet_class_names():
    """The 1000 ImageNet class names, in SqueezeNet's output order (needs torchvision)."""
    from torchvision.models import SqueezeNet1_1_Weights

    return list(SqueezeNet1_1_Weights.IMAGENET1K_V1.meta["categories"])


def load_digits_data():
    """scikit-learn's bundled handwritten digits (1797 images, 8x8), offline.

    Returns:
        X: (1797, 1, 8, 8) float32 tensor, pixels / 16, so in [0, 1].
        y: (1797,) int64 tensor of labels 0..9.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    X = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0   # (N, 1, 8, 8)
    y = torch.tensor(digits.target, dtype=torch.int64)                        # (N,)
    return X, y


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def extract_features(x, cnn, imagenet_normalize=False):
    """The output of every layer of a sequential CNN, in order.

    Args:
        x:   (1, 3, H, W) image in [0, 1].
        cnn: an ``nn.Sequential`` of layers (``load_squeezenet().features`` or
             ``random_feature_cnn()``).
        imagenet_normalize: subtract ImageNet's mean and divide by its standard
             deviation first (what SqueezeNet was trained on).

    Returns:
        a list with one (1, C_l, H_l, W_l) tensor per layer of ``cnn``.
    """
    if imagenet_normalize:
        mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, dtype=x.dtype).view(1, 3, 1, 1)
        x = (x - mean) / std
    feats = []
    for layer in cnn:
        x = layer(x)
        feats.append(x)
    return feats


def random_feature_cnn(seed=0):
    """A VGG-like CNN with random (untrained) weights, for style transfer offline.

    Gram matrices of random convolutional features already describe texture
    well (Ustyuzhaninov et al., "What does it take to generate natural textures?",
    ICLR 2017), so this network stands in for a pretrained one when SqueezeNet's
    weights cannot be downloaded. Layers (index: output for a (1, 3, H, W) input):

        0 Conv2d(3, 32, 3, pad 1)    1 ReLU   (1, 32, H, W)
        2 Conv2d(32, 64, 3, pad 1)   3 ReLU   (1, 64, H, W)
        4 AvgPool2d(2)                        (1, 64, H/2, W/2)
        5 Conv2d(64, 128, 3, pad 1)  6 ReLU   (1, 128, H/2, W/2)
        7 AvgPool2d(2)                        (1, 128, H/4, W/4)
        8 Conv2d(128, 256, 3, pad 1) 9 ReLU   (1, 256, H/4, W/4)

    Returns:
        the ``nn.Sequential``, in eval mode with frozen parameters.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        cnn = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(),
            nn.AvgPool2d(2),
            nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(),
        )
        for m in cnn:
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.uniform_(m.bias, -0.1, 0.1)
    return _freeze(cnn)


def load_style_photos(size=128):
    """scikit-learn's two bundled photos (a Chinese temple and a flower), offline.

    Args:
        size: the shorter side after resizing, in pixels.

    Returns:
        (china, flower): two (1, 3, size, W) float32 tensors in [0, 1].
    """
    from sklearn.datasets import load_sample_images

    photos = []
    for image in load_sample_images().images:                               # (427, 640, 3) uint8
        x = torch.tensor(image, dtype=torch.float32).permute(2, 0, 1)[None] / 255.0   # (1, 3, 427, 640)
        h, w = x.shape[2:]
        new = (size, max(1, round(w * size / h))) if h <= w else (max(1, round(h * size / w)), size)
        photos.append(torch.nn.functional.interpolate(x, size=new, mode="bilinear", align_corners=False,
                                                      antialias=True))
    return photos[0], photos[1]
