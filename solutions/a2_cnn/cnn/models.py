"""Part 2, PyTorch: three image classifiers.

Every model takes a batch of images x (N, C, H, W) (float32) and returns class
scores (N, num_classes), raw (no softmax: nn.CrossEntropyLoss and FocalLoss take
scores). Build the layers in ``__init__`` and use them in ``forward``.

Output size of a convolution or a pooling layer (the same formula for the width):

    H_out = (H + 2 * padding - kernel_size) // stride + 1
"""
import torch
import torch.nn as nn


class TwoLayerNet(nn.Module):
    """Flatten -> Linear(input_dim, hidden_size) -> sigmoid -> Linear(hidden_size, num_classes).

    Args:
        input_dim:   D = C * H * W, the number of values in one image.
        hidden_size: H, hidden units.
        num_classes: K.

    forward(x): x (N, C, H, W) (or (N, D)) -> scores (N, K).
    """

    def __init__(self, input_dim, hidden_size, num_classes):
        super().__init__()
        # BEGIN SOLUTION
        self.fc1 = nn.Linear(input_dim, hidden_size)
        self.fc2 = nn.Linear(hidden_size, num_classes)
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        x = x.reshape(x.shape[0], -1)                     # (N, D)
        return self.fc2(torch.sigmoid(self.fc1(x)))       # (N, K)
        # END SOLUTION


class VanillaCNN(nn.Module):
    """Conv(7x7, 32 filters, stride 1, no padding) -> ReLU -> MaxPool(2x2, stride 2) -> Linear.

    Args:
        in_channels: C (3 for CIFAR-10).
        num_classes: K.
        image_size:  H = W of the input images (32 for CIFAR-10).

    Shapes for CIFAR-10 (N, 3, 32, 32):
        conv   (N, 32, 26, 26)      26 = (32 - 7) // 1 + 1
        pool   (N, 32, 13, 13)      13 = (26 - 2) // 2 + 1
        linear (N, 10)              from 32 * 13 * 13 = 5408 features

    forward(x): x (N, C, image_size, image_size) -> scores (N, K).
    """

    def __init__(self, in_channels=3, num_classes=10, image_size=32):
        super().__init__()
        # BEGIN SOLUTION
        self.conv = nn.Conv2d(in_channels, 32, kernel_size=7, stride=1, padding=0)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        side = (image_size - 7) // 1 + 1                     # after the conv: (H + 2p - k) // s + 1
        side = (side - 2) // 2 + 1                           # after the pool
        self.fc = nn.Linear(32 * side * side, num_classes)
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        x = self.pool(self.relu(self.conv(x)))               # (N, 32, side, side)
        return self.fc(x.flatten(1))                         # (N, K)
        # END SOLUTION


class MyModel(nn.Module):
    """Your own design for CIFAR-10: graded on held-out images, and on the leaderboard.

    Rules: train it from scratch (no pretrained weights) and design it yourself (no
    off-the-shelf architectures such as torchvision's ResNet). Keep it small enough to
    train on a laptop CPU or a free GPU in under an hour; its saved weights must fit
    the submission's size limit.

    Args:
        in_channels: C (3 for CIFAR-10).
        num_classes: K.

    forward(x): x (N, C, H, W) -> scores (N, K). It must accept 32x32 images (other
    sizes are not graded). In evaluation mode (model.eval()) it must be deterministic:
    use nn.Dropout modules, not F.dropout(x, p) (which drops in every mode).
    """

    def __init__(self, in_channels=3, num_classes=10):
        super().__init__()
        # BEGIN PROMPT
        # # Your layers here, e.g. self.features = nn.Sequential(...)
        # raise NotImplementedError("cnn.models.MyModel.__init__")
        # END PROMPT
        # BEGIN SOLUTION
        # Reference design: three VGG-style blocks (two 3x3 convolutions with batch
        # norm, then 2x2 max-pooling), global average pooling, dropout, one linear
        # layer: about 0.29 M parameters.
        def block(cin, cout):
            return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True),
                    nn.MaxPool2d(2)]

        self.features = nn.Sequential(*block(in_channels, 32), *block(32, 64), *block(64, 128))
        self.classifier = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                                        nn.Linear(128, num_classes))
        # END SOLUTION

    def forward(self, x):
        # BEGIN SOLUTION
        return self.classifier(self.features(x))             # (N, K)
        # END SOLUTION
