"""A convolutional network assembled from the layers of layers.py (part 1, NumPy only).

Example, for 8x8 grey images and 10 classes:

    >>> from cnn.layers import Conv2D, ReLU, MaxPool2D, Linear, SoftmaxCrossEntropy
    >>> net = ConvNet([Conv2D(1, 8, 3, padding=1),    # (N, 8, 8, 8)
    ...                ReLU(),
    ...                MaxPool2D(2, 2),               # (N, 8, 4, 4)
    ...                Linear(8 * 4 * 4, 10)],        # (N, 10)
    ...               SoftmaxCrossEntropy())
    >>> probs, loss = net.forward(x, y)               # x (N, 1, 8, 8), y (N,)
    >>> net.backward()                                # fills dw/db of every layer
"""


class ConvNet:
    """A stack of layers followed by a loss.

    Args:
        modules:   list of layer objects (Conv2D, ReLU, MaxPool2D, Linear, ...), applied in order.
        criterion: the loss layer, e.g. SoftmaxCrossEntropy(): ``criterion.forward(scores, y)``
                   returns (probs, loss) and ``criterion.backward()`` sets ``criterion.dx``.
    """

    def __init__(self, modules, criterion):
        self.modules = list(modules)
        self.criterion = criterion

    def forward(self, x, y):
        """Run every module in order, then the criterion.

        Args:
            x: (N, C, H, W) images.
            y: (N,) integer labels.

        Returns:
            (probs, loss): probs (N, K), loss a float.
        """
        raise NotImplementedError("cnn.convnet.ConvNet.forward")

    def backward(self):
        """Backpropagate from the criterion through the modules in reverse order.

        Call after ``forward``. Each module's ``backward`` receives the ``dx`` of the
        module after it (the last module receives ``criterion.dx``), so that
        afterwards every module holds its own ``dx`` (and ``dw``, ``db``).
        """
        raise NotImplementedError("cnn.convnet.ConvNet.backward")
