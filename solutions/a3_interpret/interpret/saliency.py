"""Saliency maps (Simonyan et al., 2014): how much each pixel moves the correct class score."""
import torch


def compute_saliency_maps(X, y, model):
    """Saliency map of each image for its correct class.

        saliency[i, h, w] = max over channels c of | d score_{y_i}(X_i) / d X[i, c, h, w] |

    Args:
        X:     (N, C, H, W) float tensor of input images.
        y:     (N,) int64 tensor of labels: the class whose score to explain.
        model: a CNN in eval mode, mapping (N, C, H, W) to (N, num_classes) scores.

    Returns:
        (N, H, W) tensor, non-negative.

    Hint: make a copy of X that requires gradients, pick each row's correct score
    with ``scores.gather(1, y.view(-1, 1))``, sum them, and call ``backward()``.
    """
    # BEGIN SOLUTION
    X = X.clone().detach().requires_grad_(True)
    scores = model(X)                                    # (N, num_classes)
    correct = scores.gather(1, y.view(-1, 1)).squeeze(1)  # (N,)
    correct.sum().backward()
    return X.grad.abs().amax(dim=1)                      # (N, H, W)
    # END SOLUTION
