"""Class visualisation (Simonyan et al., 2014): an image that a CNN finds most "target-like"."""
import torch


def class_visualization_step(img, target_y, model, l2_reg, learning_rate):
    """One step of gradient ascent on the regularised class score.

        objective = score_{target_y}(img) - l2_reg * sum(img ** 2)
        g   = d objective / d img
        img <- img + learning_rate * g / ||g||_2

    Args:
        img:           (1, C, H, W) image tensor.
        target_y:      int, the class to visualise.
        model:         a CNN in eval mode.
        l2_reg:        strength of the L2 penalty on the image.
        learning_rate: step size.

    Returns:
        (1, C, H, W) tensor: the image after the step (a new tensor).
    """
    # BEGIN SOLUTION
    img = img.clone().detach().requires_grad_(True)
    objective = model(img)[0, int(target_y)] - l2_reg * (img ** 2).sum()
    (g,) = torch.autograd.grad(objective, img)
    return (img + learning_rate * g / g.norm()).detach()
    # END SOLUTION


def _blur(img, sigma=0.5):
    """Gaussian blur of (1, C, H, W), 3x3 kernel, per channel."""
    ax = torch.tensor([-1.0, 0.0, 1.0], dtype=img.dtype)
    k1 = torch.exp(-(ax ** 2) / (2 * sigma ** 2))
    k1 = k1 / k1.sum()
    kernel = (k1[:, None] * k1[None, :]).expand(img.shape[1], 1, 3, 3)
    return torch.nn.functional.conv2d(img, kernel, padding=1, groups=img.shape[1])


def create_class_visualization(target_y, model, shape=(1, 1, 8, 8), num_iterations=200, l2_reg=1e-3,
                               learning_rate=0.5, max_jitter=1, blur_every=10, clamp=(0.0, 1.0), seed=0):
    """Given driver: start from noise, then repeat your step with jitter, blur and clamping.

    Returns the (1, C, H, W) image (clamped to ``clamp``).
    """
    gen = torch.Generator().manual_seed(seed)
    img = torch.rand(shape, generator=gen, dtype=next(model.parameters()).dtype)
    for t in range(num_iterations):
        ox, oy = torch.randint(-max_jitter, max_jitter + 1, (2,), generator=gen).tolist()
        img = torch.roll(img, shifts=(ox, oy), dims=(2, 3))
        img = class_visualization_step(img, target_y, model, l2_reg, learning_rate)
        img = torch.roll(img, shifts=(-ox, -oy), dims=(2, 3))
        img = img.clamp(*clamp)
        if blur_every and t % blur_every == blur_every - 1:
            img = _blur(img)
    return img.detach()
