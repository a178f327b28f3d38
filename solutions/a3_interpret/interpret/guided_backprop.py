"""Guided backpropagation (Springenberg et al., 2015).

A gradient map in which every ReLU lets a gradient through only where both its
input was positive (ordinary ReLU backward) and the incoming gradient is
positive (the "guided" part).
"""
import torch
import torch.nn as nn


class GuidedReLU(torch.autograd.Function):
    """ReLU forward; guided backward.

        forward:  out = max(x, 0)
        backward: grad_in = grad_out * (x > 0) * (grad_out > 0)
    """

    @staticmethod
    def forward(ctx, x):
        # BEGIN SOLUTION
        ctx.save_for_backward(x)
        return x.clamp(min=0)
        # END SOLUTION

    @staticmethod
    def backward(ctx, grad_output):
        # BEGIN SOLUTION
        (x,) = ctx.saved_tensors
        return grad_output.clamp(min=0) * (x > 0).to(grad_output.dtype)
        # END SOLUTION


class _GuidedReLUModule(nn.Module):
    """Stands in for an nn.ReLU while guided backprop runs."""

    def forward(self, x):
        return GuidedReLU.apply(x)


def _swap_relus(module, replacement):
    """Replace every nn.ReLU child (recursively) with ``replacement()``; return what was replaced."""
    swapped = []
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, replacement())
            swapped.append((module, name, child))
        else:
            swapped += _swap_relus(child, replacement)
    return swapped


def guided_backprop(X, y, model):
    """Guided-backpropagation map of each image for its correct class.

    Args:
        X:     (N, C, H, W) float tensor.
        y:     (N,) int64 labels.
        model: a CNN whose ReLUs are nn.ReLU modules (not F.relu calls).

    Returns:
        (N, C, H, W) tensor: the guided gradient of score_{y_i} with respect to X_i.

    The model must be left as it was: put its ReLU modules back when you are done
    (the given ``_swap_relus`` helper returns what it replaced).
    """
    # BEGIN SOLUTION
    swapped = _swap_relus(model, _GuidedReLUModule)
    try:
        X = X.clone().detach().requires_grad_(True)
        scores = model(X)                                  # (N, num_classes)
        scores.gather(1, y.view(-1, 1)).sum().backward()
        return X.grad.detach()                             # (N, C, H, W)
    finally:
        for parent, name, relu in swapped:
            setattr(parent, name, relu)
    # END SOLUTION
