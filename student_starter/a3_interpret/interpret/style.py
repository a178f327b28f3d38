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


def style_transfer_step(img, optimizer, extract, content_layer, content_target, content_weight,
                        style_layers, style_targets, style_weights, tv_weight):
    """One optimisation step of style transfer: total loss, gradient, update.

        feats = extract(img)                         list of (1, C_l, H_l, W_l)
        L     = content_loss(content_weight, feats[content_layer], content_target)
              + style_loss(feats, style_layers, style_targets, style_weights)
              + tv_loss(img, tv_weight)
        img  <- optimizer's update of img using dL/dimg

    The optimiser accumulates gradients in ``img.grad`` unless you clear them:
    clear them before you compute the new gradient.

    Args:
        img:            (1, 3, H, W) tensor with ``requires_grad=True``; the optimiser owns it.
        optimizer:      a ``torch.optim`` optimiser over ``[img]``.
        extract:        function mapping an image to its list of features.
        content_layer:  index into the feature list for the content loss.
        content_target: (1, C, H', W') features of the content image at that layer.
        content_weight, style_layers, style_targets, style_weights, tv_weight:
                        as for the three loss functions above.

    Returns:
        float: the total loss L before the update.
    """
    raise NotImplementedError("interpret.style.style_transfer_step")


def style_transfer(content_img, style_img, extract, content_layer, style_layers, style_weights,
                   content_weight=1e-3, tv_weight=1e-2, num_iterations=200, learning_rate=0.05,
                   init_random=False, clamp=(0.0, 1.0), seed=0, progress=True):
    """Given driver: optimise an image whose content is ``content_img`` and whose style is ``style_img``.

    The targets are computed once, then your ``style_transfer_step`` runs
    ``num_iterations`` times with Adam; the learning rate drops tenfold for the
    last fifth of the steps, and the pixels are clamped to ``clamp`` after each step.

    Args:
        content_img, style_img: (1, 3, H, W) and (1, 3, H2, W2) tensors in [0, 1].
        extract:       function mapping an image to its list of features
                       (``models.extract_features`` with a CNN's feature layers).
        content_layer: index of the content layer; style_layers / style_weights: lists.
        init_random:   start from uniform noise instead of the content image.
        progress:      show a tqdm progress bar.

    Returns:
        (image, losses): the (1, 3, H, W) result and the list of total losses per step.
    """
    with torch.no_grad():
        content_target = extract(content_img)[content_layer].detach()
        style_feats = extract(style_img)
        style_targets = [gram_matrix(style_feats[i]).detach() for i in style_layers]
    if init_random:
        gen = torch.Generator().manual_seed(seed)
        img = torch.rand(content_img.shape, generator=gen, dtype=content_img.dtype)
    else:
        img = content_img.clone()
    img.requires_grad_(True)
    optimizer = torch.optim.Adam([img], lr=learning_rate)
    steps = range(num_iterations)
    if progress:
        try:
            from tqdm.auto import tqdm
            steps = tqdm(steps, desc="style transfer", leave=False)
        except ImportError:  # tqdm is optional
            pass
    losses = []
    for t in steps:
        if t == int(num_iterations * 0.8):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate / 10
        losses.append(style_transfer_step(img, optimizer, extract, content_layer, content_target, content_weight,
                                          style_layers, style_targets, style_weights, tv_weight))
        with torch.no_grad():
            img.clamp_(*clamp)
    return img.detach(), losses
