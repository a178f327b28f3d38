"""Stochastic gradient descent with L2 regularisation and momentum.

The optimiser works on any model with ``weights`` and ``gradients`` dicts
(see models.py). Weight matrices have keys starting with "W"; biases start with "b".
"""
import numpy as np


class SGD:
    """Mini-batch SGD.

    Args:
        learning_rate: step size (lr).
        reg:           L2 strength; the loss gains 0.5 * reg * sum(W ** 2) for every
                       weight matrix W (biases are not regularised).
        momentum:      mu in [0, 1); 0 gives plain SGD.

    Update of one parameter w with gradient g (velocity v starts at 0):
        v <- mu * v - lr * g
        w <- w + v
    """

    def __init__(self, learning_rate=1e-2, reg=1e-3, momentum=0.0):
        self.learning_rate = learning_rate
        self.reg = reg
        self.momentum = momentum
        self.velocity = {}

    def apply_regularization(self, model):
        """Add the L2 gradient reg * W to the gradient of every weight matrix (not biases).

        Call after model.forward(..., mode="train") and before update().

        Returns:
            the regularisation loss 0.5 * reg * sum of W ** 2 over weight matrices (float),
            for reporting the full objective.
        """
        raise NotImplementedError("neural_nets.optim.SGD.apply_regularization")

    def update(self, model):
        """Take one step on every parameter of ``model`` (see the class docstring).

        Returns nothing: afterwards ``model.weights`` holds the new values. Assigning
        ``model.weights[name] = ...`` and changing the arrays in place (``w += v``) are both fine.
        """
        raise NotImplementedError("neural_nets.optim.SGD.update")
