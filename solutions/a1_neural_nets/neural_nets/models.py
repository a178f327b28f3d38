"""Two classifiers trained with hand-written backpropagation.

Both models keep their parameters in ``self.weights`` and, after a forward pass
in train mode, the gradient of the *mean* loss over the batch in
``self.gradients`` (same keys, same shapes):

    SoftmaxRegression:  W1 (D, K), b1 (K,)
    TwoLayerNet:        W1 (D, H), b1 (H,), W2 (H, K), b2 (K,)

Shapes: ``N`` examples, ``D`` input features, ``H`` hidden units, ``K`` classes.
Regularisation is not part of the model: the optimiser adds it (see optim.py).
"""
import numpy as np

from .functional import accuracy, cross_entropy, sigmoid, sigmoid_grad, softmax


class _Model:
    """Shared set-up: seeded weight initialisation and the gradient dict."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.weights = {}
        self.gradients = {}

    def _init_layer(self, name, fan_in, fan_out):
        """Weights ~ N(0, 1/fan_in) (keeps activations at unit scale), biases 0."""
        self.weights["W" + name] = self.rng.normal(0.0, 1.0 / np.sqrt(fan_in), size=(fan_in, fan_out))
        self.weights["b" + name] = np.zeros(fan_out)

    def zero_gradients(self):
        self.gradients = {k: np.zeros_like(v) for k, v in self.weights.items()}


class SoftmaxRegression(_Model):
    """A single linear layer followed by softmax.

        scores = X @ W1 + b1          (N, K)
        probs  = softmax(scores)      (N, K)
        loss   = cross_entropy(probs, y)
    """

    def __init__(self, input_size=784, num_classes=10, seed=1024):
        super().__init__(seed)
        self._init_layer("1", input_size, num_classes)
        self.zero_gradients()

    def forward(self, X, y, mode="train"):
        """Compute the loss and accuracy of a batch; in train mode, also the gradients.

        Args:
            X: (N, D) inputs.
            y: (N,) integer labels.
            mode: "train" fills ``self.gradients`` with this batch's gradients (replacing
                  those of any earlier call: nothing accumulates across calls);
                  "valid" only evaluates: ``self.gradients`` and ``self.weights``
                  stay as they are.

        Returns:
            (loss, accuracy): the mean cross-entropy (float) and the accuracy (float).

        Gradients (train mode), with P = probs and Y the one-hot labels:
            dL/dscores = (P - Y) / N                      (N, K)
            dL/dW1 = X.T @ dL/dscores                     (D, K)
            dL/db1 = sum over the batch of dL/dscores     (K,)
        """
        # BEGIN SOLUTION
        n = X.shape[0]
        scores = X @ self.weights["W1"] + self.weights["b1"]  # (N, K)
        probs = softmax(scores)                               # (N, K)
        loss = cross_entropy(probs, y)
        acc = accuracy(probs, y)
        if mode != "train":
            return loss, acc
        dscores = probs.copy()                             # (N, K)
        dscores[np.arange(n), y] -= 1.0
        dscores /= n                                       # gradient of the MEAN loss
        self.gradients["W1"] = X.T @ dscores               # (D, K)
        self.gradients["b1"] = dscores.sum(axis=0)         # (K,)
        return loss, acc
        # END SOLUTION


class TwoLayerNet(_Model):
    """Linear -> sigmoid -> linear -> softmax.

        z1     = X @ W1 + b1          (N, H)
        a1     = sigmoid(z1)          (N, H)
        scores = a1 @ W2 + b2         (N, K)
        probs  = softmax(scores)      (N, K)
        loss   = cross_entropy(probs, y)
    """

    def __init__(self, input_size=784, num_classes=10, hidden_size=128, seed=1024):
        super().__init__(seed)
        self._init_layer("1", input_size, hidden_size)
        self._init_layer("2", hidden_size, num_classes)
        self.zero_gradients()

    def forward(self, X, y, mode="train"):
        """Compute the loss and accuracy of a batch; in train mode, also the gradients.

        Args:
            X: (N, D) inputs.
            y: (N,) integer labels.
            mode: "train" fills ``self.gradients`` with this batch's gradients (replacing
                  those of any earlier call: nothing accumulates across calls);
                  "valid" only evaluates: ``self.gradients`` and ``self.weights``
                  stay as they are.

        Returns:
            (loss, accuracy): the mean cross-entropy (float) and the accuracy (float).

        Backpropagation (train mode), layer by layer from the loss back:
            dscores = (P - Y) / N                         (N, K)
            dW2 = a1.T @ dscores,  db2 = dscores summed over N
            da1 = dscores @ W2.T                          (N, H)
            dz1 = da1 * sigmoid_grad(z1)                  (N, H)
            dW1 = X.T @ dz1,       db1 = dz1 summed over N
        """
        # BEGIN SOLUTION
        n = X.shape[0]
        W1, b1, W2, b2 = (self.weights[k] for k in ("W1", "b1", "W2", "b2"))
        z1 = X @ W1 + b1                                   # (N, H)
        a1 = sigmoid(z1)                                   # (N, H)
        probs = softmax(a1 @ W2 + b2)                      # (N, K)
        loss = cross_entropy(probs, y)
        acc = accuracy(probs, y)
        if mode != "train":
            return loss, acc
        dscores = probs.copy()                             # (N, K)
        dscores[np.arange(n), y] -= 1.0
        dscores /= n
        self.gradients["W2"] = a1.T @ dscores              # (H, K)
        self.gradients["b2"] = dscores.sum(axis=0)         # (K,)
        dz1 = (dscores @ W2.T) * sigmoid_grad(z1)          # (N, H)
        self.gradients["W1"] = X.T @ dz1                   # (D, H)
        self.gradients["b1"] = dz1.sum(axis=0)             # (H,)
        return loss, acc
        # END SOLUTION
