"""Losses of neural style transfer (Gatys et al., 2016) and total variation.

Features come from a CNN: a list of tensors, one per layer, each (1, C_l, H_l, W_l).
"""
import torch


def content_loss(content_weight, current, original):
    """Content loss: how far the current image's features are from the content image's.

        L_c = content_weight * sum (current - original)^2

    Args:
        content_weight: scalar weight.
        current:  (1, C, H, W) features of the image being optimised.
        original: (1, C, H, W) features of the content image.

    Returns:
        a scalar tensor.
    """
    raise NotImplementedError("interpret.style.content_loss")


def gram_matrix(features, normalize=True):
    """Gram matrix of each feature map: correlations between channels.

        F = features reshaped to (N, C, H*W)
        G[n] = F[n] @ F[n].T                     (N, C, C)
        if normalize: G = G / (C * H * W)

    Args:
        features: (N, C, H, W) tensor.
        normalize: divide by the number of elements of one feature map stack, C * H * W.

    Returns:
        (N, C, C) tensor.
    """
    raise NotImplementedError("interpret.style.gram_matrix")


def style_loss(feats, style_layers, style_targets, style_weights):
    """Style loss: Gram matrices of chosen layers against the style image's.

        L_s = sum over l in style_layers of  w_l * sum (G(feats[l]) - target_l)^2

    Args:
        feats:         list of (1, C_l, H_l, W_l) features of the current image, one per layer.
        style_layers:  list of indices into ``feats``.
        style_targets: list of (1, C_l, C_l) Gram matrices of the style image, one per style layer.
        style_weights: list of scalar weights, one per style layer.

    Returns:
        a scalar tensor.
    """
    raise NotImplementedError("interpret.style.style_loss")


def tv_loss(img, tv_weight):
    """Total-variation loss: penalises differences between neighbouring pixels.

        L_tv = tv_weight * ( sum (img[:, :, 1:, :] - img[:, :, :-1, :])^2
                           + sum (img[:, :, :, 1:] - img[:, :, :, :-1])^2 )

    Args:
        img: (1, 3, H, W) image tensor.
        tv_weight: scalar weight.

    Returns:
        a scalar tensor.
    """
    raise NotImplementedError("interpret.style.tv_loss")
