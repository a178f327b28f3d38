"""Grad-CAM (Selvaraju et al., 2017): which regions of a conv layer's output drive a class score."""
import torch


def grad_cam(X, y, model, layer):
    """Grad-CAM map of each image for its correct class, at ``layer``'s resolution.

    With A = layer's output (N, K, h, w) and G = d score_{y_i} / d A (same shape):

        alpha[i, k]   = mean over (h, w) of G[i, k]                 (N, K)
        cam[i, h, w]  = ReLU( sum over k of alpha[i, k] * A[i, k, h, w] )

    Args:
        X:     (N, C, H, W) float tensor.
        y:     (N,) int64 labels.
        model: a CNN in eval mode.
        layer: an nn.Module inside ``model`` (typically the last conv layer).

    Returns:
        (N, h, w) tensor, non-negative.

    Hint: ``layer.register_forward_hook`` lets you keep the activation A; then
    ``torch.autograd.grad(score_sum, A)`` gives G. Make X require gradients first (the
    model's weights may be frozen, and then nothing else would). Remove the hook
    afterwards.
    """
    # BEGIN SOLUTION
    kept = {}

    def hook(module, inputs, output):
        kept["A"] = output

    X = X.clone().detach().requires_grad_(True)  # so the graph exists even with frozen weights
    handle = layer.register_forward_hook(hook)
    try:
        scores = model(X)                                      # (N, num_classes)
    finally:
        handle.remove()
    A = kept["A"]                                              # (N, K, h, w)
    target = scores.gather(1, y.view(-1, 1)).sum()
    (G,) = torch.autograd.grad(target, A)                      # (N, K, h, w)
    alpha = G.mean(dim=(2, 3), keepdim=True)                   # (N, K, 1, 1)
    return torch.relu((alpha * A).sum(dim=1)).detach()         # (N, h, w)
    # END SOLUTION
