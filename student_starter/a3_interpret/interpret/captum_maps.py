"""The same maps with Captum, plus more of its methods, drawn side by side."""
import torch


def attribution_maps(X, y, model, layer):
    """Captum attributions of each image for its correct class.

    Use Captum's uniform interface, ``Method(model[, layer]).attribute(X, target=y, ...)``:

        "Saliency":            Saliency, with abs=True                 -> (N, C, H, W)
        "GuidedBackprop":      GuidedBackprop                          -> (N, C, H, W)
        "LayerGradCam":        LayerGradCam at ``layer``, relu_attributions=True -> (N, 1, h, w)
        "GuidedGradCam":       GuidedGradCam at ``layer``              -> (N, C, H, W)
        "IntegratedGradients": IntegratedGradients, baseline 0, n_steps=50 -> (N, C, H, W)
        "LayerConductance":    LayerConductance at ``layer``, baseline 0, n_steps=50 -> (N, K, h, w)

    Args:
        X: (N, C, H, W) inputs.  y: (N,) labels.  model: a CNN in eval mode.
        layer: the conv layer for the layer methods.

    Returns:
        dict from the names above to detached tensors.
    """
    raise NotImplementedError("interpret.captum_maps.attribution_maps")


def plot_attribution_grid(maps, X, titles=None):
    """Draw the images (first row) and each attribution map below them (one row per method).

    Maps with several channels are reduced to their absolute maximum over channels; each
    map is scaled to [0, 1] for display. Returns the matplotlib figure.
    """
    import matplotlib.pyplot as plt

    names = list(maps)
    n = X.shape[0]
    fig, axes = plt.subplots(len(names) + 1, n, figsize=(1.6 * n, 1.6 * (len(names) + 1)), squeeze=False)
    images = X.detach().cpu()
    for j in range(n):
        img = images[j].permute(1, 2, 0).squeeze(-1).numpy()
        axes[0, j].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[0, j].set_title(titles[j] if titles else str(j), fontsize=8)
    for i, name in enumerate(names, 1):
        m = maps[name].detach().cpu().abs().amax(dim=1)  # (N, h, w)
        for j in range(n):
            v = m[j]
            v = (v - v.min()) / (v.max() - v.min() + 1e-12)
            axes[i, j].imshow(v.numpy(), cmap="hot")
        axes[i, 0].set_ylabel(name, fontsize=8, rotation=0, ha="right", va="center")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig
