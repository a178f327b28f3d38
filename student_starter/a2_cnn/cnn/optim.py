"""Stochastic gradient descent with momentum and L2 regularisation (part 1, NumPy only)."""
import numpy as np


class SGDMomentum:
    """SGD with momentum for a ConvNet.

    Args:
        model:         a ConvNet; its ``modules`` that have a ``weight`` attribute are
                       trained (their ``bias`` too). Gradients come from ``dw`` and ``db``,
                       as set by ``model.backward()``.
        learning_rate: step size lr.
        reg:           L2 strength: the objective gains 0.5 * reg * sum(weight ** 2) for
                       every weight (biases are not regularised), so the weight's gradient
                       gains reg * weight.
        momentum:      mu in [0, 1).

    Update of every parameter w with gradient g (its velocity v starts at 0):

        g <- dw + reg * w      (weights)        g <- db      (biases)
        v <- mu * v - lr * g
        w <- w + v
    """

    def __init__(self, model, learning_rate=1e-4, reg=1e-3, momentum=0.9):
        self.model = model
        self.learning_rate = learning_rate
        self.reg = reg
        self.momentum = momentum
        #: velocity[i] = {"weight": v_w, "bias": v_b} for the i-th module with parameters
        self.velocity = {}
        for i, module in enumerate(model.modules):
            if hasattr(module, "weight"):
                self.velocity[i] = {"weight": np.zeros_like(module.weight), "bias": np.zeros_like(module.bias)}

    def update(self):
        """One step on every weight and bias of the model, using its current dw and db."""
        raise NotImplementedError("cnn.optim.SGDMomentum.update")
