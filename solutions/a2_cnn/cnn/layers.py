"""Layers of a convolutional network, in NumPy (part 1: no PyTorch here).

Conventions used throughout part 1:

* Images are (N, C, H, W): N examples, C channels, height H, width W.
* Inputs (x, dout, the weights) are float64 NumPy arrays: compute in float64, their
  dtype. The tests compare your values with the expected ones to about 1e-6 of
  their size, which float32 arithmetic (dtype=np.float32, .astype(np.float32))
  does not reach.
* Every layer has ``forward(x)`` and ``backward(dout)``. ``forward`` returns the
  output and keeps in ``self.cache`` whatever ``backward`` needs. ``backward``
  receives ``dout``, the gradient of the loss with respect to the layer's
  output (same shape as that output), and *sets* ``self.dx`` (gradient with
  respect to the input, same shape as ``x``) and, for layers with parameters,
  ``self.dw`` and ``self.db`` (same shapes as ``self.weight`` and ``self.bias``);
  what it returns is not used.
* A layer object is used for batch after batch: each ``forward`` replaces the
  cache, and each ``backward`` sets the gradients afresh (it never adds to those
  of an earlier call, and calling it twice gives the same gradients).
* Layers never change their inputs in place.

Python loops over examples and output pixels are acceptable in your code: the
tests only check the numbers. A vectorised version (an "im2col" matrix built
with ``np.lib.stride_tricks``, then one matrix product) is much faster, and
worth it if you train the ConvNet on more than a few hundred images.
"""
import numpy as np


class Conv2D:
    """2-D convolution (strictly, cross-correlation, as in every deep-learning library).

    Args:
        in_channels:  C, channels of the input.
        out_channels: F, number of filters.
        kernel_size:  k, height and width of each (square) filter.
        stride:       s, step between neighbouring windows, in pixels.
        padding:      p, zeros added on every side of the input (top, bottom, left, right).
        seed:         seed of the weight initialisation (None: a fresh random seed).

    Parameters:
        weight: (F, C, k, k), initialised from N(0, 2 / (C * k * k)) (He initialisation).
        bias:   (F,), initialised to zero.

    Output size (the same formula for the width):

        H_out = (H + 2 * p - k) // s + 1
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, seed=None):
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        rng = np.random.default_rng(seed)
        fan_in = in_channels * kernel_size * kernel_size
        self.weight = rng.normal(0.0, np.sqrt(2.0 / fan_in), size=(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = np.zeros(out_channels)
        self.cache = None
        self.dx = self.dw = self.db = None

    def forward(self, x):
        """Convolve every filter with the zero-padded input.

            xpad = x with p zeros on each side of its last two axes   (N, C, H + 2p, W + 2p)
            out[n, f, i, j] = bias[f]
                              + sum over c, a, b of weight[f, c, a, b] * xpad[n, c, i * s + a, j * s + b]

        with 0 <= a, b < k. The filter is *not* flipped (cross-correlation).

        Args:
            x: (N, C, H, W) input.

        Returns:
            out: (N, F, H_out, W_out), H_out = (H + 2p - k) // s + 1, W_out = (W + 2p - k) // s + 1.
        """
        # BEGIN PROMPT
        # # Python loops over examples, filters and output pixels are acceptable. Faster: build the
        # # (C*k*k, N*H_out*W_out) matrix of windows (im2col, np.lib.stride_tricks.as_strided) and
        # # multiply it by weight reshaped to (F, C*k*k). Keep in self.cache what backward needs.
        # raise NotImplementedError("cnn.layers.Conv2D.forward")
        # END PROMPT
        # BEGIN SOLUTION
        k, s, p = self.kernel_size, self.stride, self.padding
        n, c, h, w = x.shape
        f = self.out_channels
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))             # (N, C, H+2p, W+2p)
        h_out, w_out = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
        sn, sc, sh, sw = xp.strides
        windows = np.lib.stride_tricks.as_strided(                      # (C, k, k, N, H_out, W_out), a view
            xp, shape=(c, k, k, n, h_out, w_out), strides=(sc, sh, sw, sn, s * sh, s * sw), writeable=False)
        cols = windows.reshape(c * k * k, n * h_out * w_out)            # (C*k*k, N*H_out*W_out): im2col
        w_mat = self.weight.reshape(f, -1)                              # (F, C*k*k)
        out = w_mat @ cols + self.bias[:, None]                         # (F, N*H_out*W_out)
        self.cache = (x.shape, cols)
        return out.reshape(f, n, h_out, w_out).transpose(1, 0, 2, 3)    # (N, F, H_out, W_out)
        # END SOLUTION

    def backward(self, dout):
        """Gradients of the loss with respect to the input, the weights and the bias.

            db[f]          = sum over n, i, j of dout[n, f, i, j]
            dw[f, c, a, b] = sum over n, i, j of dout[n, f, i, j] * xpad[n, c, i * s + a, j * s + b]
            dxpad[n, c, i * s + a, j * s + b] += sum over f of dout[n, f, i, j] * weight[f, c, a, b]
            dx = dxpad without its padding                                  (N, C, H, W)

        Args:
            dout: (N, F, H_out, W_out) upstream gradient.

        Sets:
            self.dx (N, C, H, W), self.dw (F, C, k, k), self.db (F,).
        """
        # BEGIN PROMPT
        # # Loops are acceptable here too: accumulate into a zero dxpad of shape (N, C, H + 2p, W + 2p),
        # # then crop the padding.
        # raise NotImplementedError("cnn.layers.Conv2D.backward")
        # END PROMPT
        # BEGIN SOLUTION
        (n, c, h, w), cols = self.cache
        k, s, p = self.kernel_size, self.stride, self.padding
        f, h_out, w_out = dout.shape[1:]
        dout_mat = dout.transpose(1, 0, 2, 3).reshape(f, -1)            # (F, N*H_out*W_out)
        self.db = dout.sum(axis=(0, 2, 3))                              # (F,)
        self.dw = (cols @ dout_mat.T).T.reshape(self.weight.shape)      # (F, C, k, k)
        dcols = self.weight.reshape(f, -1).T @ dout_mat                 # (C*k*k, N*H_out*W_out)
        dcols = dcols.reshape(c, k, k, n, h_out, w_out)
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=dcols.dtype)
        dxp_cn = dxp.transpose(1, 0, 2, 3)                              # (C, N, H+2p, W+2p), a view of dxp
        for a in range(k):       # loops over the k * k kernel offsets (col2im), not over output pixels
            for b in range(k):
                dxp_cn[:, :, a:a + s * h_out:s, b:b + s * w_out:s] += dcols[:, a, b]
        self.dx = dxp[:, :, p:p + h, p:p + w]
        # END SOLUTION


class MaxPool2D:
    """Max-pooling over k x k windows, channel by channel.

    Args:
        kernel_size: k, height and width of each window.
        stride:      s, step between neighbouring windows (windows overlap when s < k).

    Output size (the same formula for the width), no padding:

        H_out = (H - k) // s + 1
    """

    def __init__(self, kernel_size, stride):
        self.kernel_size = kernel_size
        self.stride = stride
        self.cache = None
        self.dx = None

    def forward(self, x):
        """out[n, c, i, j] = max over 0 <= a, b < k of x[n, c, i * s + a, j * s + b].

        Args:
            x: (N, C, H, W).

        Returns:
            out: (N, C, H_out, W_out).
        """
        # BEGIN SOLUTION
        k, s = self.kernel_size, self.stride
        n, c, h, w = x.shape
        h_out, w_out = (h - k) // s + 1, (w - k) // s + 1
        out = None
        for a in range(k):       # loops over the k * k window offsets, not over output pixels
            for b in range(k):
                view = x[:, :, a:a + s * h_out:s, b:b + s * w_out:s]    # (N, C, H_out, W_out)
                out = view.copy() if out is None else np.maximum(out, view)
        self.cache = (x, out)
        return out
        # END SOLUTION

    def backward(self, dout):
        """Route each upstream gradient to the input position that was the maximum.

        Where a window holds several equal maxima, the gradient goes to the first
        one in row-major order (top row first, left to right), as in PyTorch. Where
        windows overlap, an input position collects the gradients of every window
        whose maximum it is.

        Args:
            dout: (N, C, H_out, W_out).

        Sets:
            self.dx: (N, C, H, W), zero except at the chosen maxima.
        """
        # BEGIN SOLUTION
        x, out = self.cache
        k, s = self.kernel_size, self.stride
        h_out, w_out = out.shape[2:]
        dx = np.zeros(x.shape, dtype=np.result_type(dout, x))
        taken = np.zeros(out.shape, dtype=bool)     # windows whose maximum has had its gradient
        for a in range(k):                          # row-major order: the first maximum wins
            for b in range(k):
                hit = x[:, :, a:a + s * h_out:s, b:b + s * w_out:s] == out
                hit &= ~taken
                taken |= hit
                dx[:, :, a:a + s * h_out:s, b:b + s * w_out:s] += dout * hit
        self.dx = dx
        # END SOLUTION


class Linear:
    """Fully connected layer; flattens each example first.

    Args:
        in_features:  D, the number of values per example (C * H * W for an image input).
        out_features: M.
        seed:         seed of the weight initialisation (None: a fresh random seed).

    Parameters:
        weight: (D, M), initialised from N(0, 2 / D).
        bias:   (M,), initialised to zero.

    Note the orientation: ``weight`` is (in, out) here (as in assignment 1), the
    transpose of PyTorch's ``nn.Linear.weight``.
    """

    def __init__(self, in_features, out_features, seed=None):
        self.in_features = in_features
        self.out_features = out_features
        rng = np.random.default_rng(seed)
        self.weight = rng.normal(0.0, np.sqrt(2.0 / in_features), size=(in_features, out_features))
        self.bias = np.zeros(out_features)
        self.cache = None
        self.dx = self.dw = self.db = None

    def forward(self, x):
        """out = x_flat @ weight + bias, with x_flat = x reshaped to (N, D).

        Args:
            x: (N, d_1, ..., d_m) with d_1 * ... * d_m = D, e.g. (N, C, H, W) or (N, D).

        Returns:
            out: (N, M).
        """
        # BEGIN SOLUTION
        x_flat = x.reshape(x.shape[0], -1)                            # (N, D)
        self.cache = (x.shape, x_flat)
        return x_flat @ self.weight + self.bias                       # (N, M)
        # END SOLUTION

    def backward(self, dout):
        """dx = dout @ weight.T reshaped like x;  dw = x_flat.T @ dout;  db = dout summed over N.

        Args:
            dout: (N, M).

        Sets:
            self.dx (same shape as the forward input x), self.dw (D, M), self.db (M,).
        """
        # BEGIN SOLUTION
        x_shape, x_flat = self.cache
        self.dw = x_flat.T @ dout                                     # (D, M)
        self.db = dout.sum(axis=0)                                    # (M,)
        self.dx = (dout @ self.weight.T).reshape(x_shape)             # (N, d_1, ..., d_m)
        # END SOLUTION


class ReLU:
    """Element-wise max(0, x); works on inputs of any shape."""

    def __init__(self):
        self.cache = None
        self.dx = None

    def forward(self, x):
        """out = max(0, x), same shape as x."""
        # BEGIN SOLUTION
        self.cache = x
        return np.maximum(x, 0)
        # END SOLUTION

    def backward(self, dout):
        """dx = dout where the forward input x was positive, 0 elsewhere (0 at x == 0).

        Sets:
            self.dx: same shape as dout.
        """
        # BEGIN SOLUTION
        x = self.cache
        self.dx = dout * (x > 0)
        # END SOLUTION


class SoftmaxCrossEntropy:
    """Softmax of the scores, then the mean cross-entropy with the labels.

        probs[n] = softmax(x[n])                 (subtract each row's maximum first)
        loss     = -(1 / N) * sum over n of log(probs[n, y[n]])
    """

    def __init__(self):
        self.cache = None
        self.dx = None

    def forward(self, x, y):
        """Probabilities and the loss.

        Args:
            x: (N, K) class scores.
            y: (N,) integer labels in 0 .. K-1.

        Returns:
            (probs, loss): probs (N, K) with rows summing to 1; loss a float.
        """
        # BEGIN SOLUTION
        shifted = x - x.max(axis=1, keepdims=True)                    # (N, K)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        probs = np.exp(log_probs)
        n = x.shape[0]
        loss = float(-log_probs[np.arange(n), y].mean())
        self.cache = (probs, y)
        return probs, loss
        # END SOLUTION

    def backward(self):
        """Gradient of the loss with respect to the scores (there is no upstream gradient).

            dx = (probs - one_hot(y)) / N            (N, K)

        Sets:
            self.dx: (N, K).
        """
        # BEGIN SOLUTION
        probs, y = self.cache
        n = probs.shape[0]
        dx = probs.copy()
        dx[np.arange(n), y] -= 1.0
        self.dx = dx / n
        # END SOLUTION
