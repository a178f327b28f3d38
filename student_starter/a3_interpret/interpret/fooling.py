"""Fooling images (Szegedy et al., 2014): a small change that flips a CNN's prediction."""
import torch


def make_fooling_image(X, target_y, model, learning_rate=10.0, max_iter=100):
    """Nudge ``X`` until ``model`` classifies it as ``target_y``.

    Gradient ASCENT on the target class score, with normalised steps:

        g  = d score_{target_y}(X_fool) / d X_fool
        X_fool <- X_fool + learning_rate * g / ||g||_2

    Stop as soon as the model's prediction (arg-max of the scores) is ``target_y``,
    or after ``max_iter`` steps.

    Args:
        X:        (1, C, H, W) image tensor.
        target_y: int, the class to reach.
        model:    a CNN in eval mode.
        learning_rate, max_iter: step size and step budget.

    Returns:
        (1, C, H, W) tensor: the fooling image (a new tensor; X is unchanged).
    """
    raise NotImplementedError("interpret.fooling.make_fooling_image")
