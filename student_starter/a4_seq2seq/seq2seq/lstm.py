"""An LSTM with its gates written out by hand."""
import math

import torch
import torch.nn as nn


class LSTM(nn.Module):
    """A one-layer LSTM over a whole sequence, with explicit per-gate parameters.

    For t = 1..T, with x_t (N, D) and the previous states h_{t-1}, c_{t-1} (N, H):

        i_t = sigmoid(x_t W_ii + b_ii + h_{t-1} W_hi + b_hi)     input gate
        f_t = sigmoid(x_t W_if + b_if + h_{t-1} W_hf + b_hf)     forget gate
        g_t =    tanh(x_t W_ig + b_ig + h_{t-1} W_hg + b_hg)     candidate cell
        o_t = sigmoid(x_t W_io + b_io + h_{t-1} W_ho + b_ho)     output gate
        c_t = f_t * c_t-1 + i_t * g_t
        h_t = o_t * tanh(c_t)

    with h_0 = c_0 = 0. This is exactly ``torch.nn.LSTM(D, H, batch_first=True)``,
    whose stacked ``weight_ih_l0`` holds the gates in the order i, f, g, o.

    Parameters (nn.Parameter; the grader loads weights by these names):
        W_ii, W_if, W_ig, W_io: (input_size, hidden_size)
        W_hi, W_hf, W_hg, W_ho: (hidden_size, hidden_size)
        b_ii, b_if, b_ig, b_io, b_hi, b_hf, b_hg, b_ho: (hidden_size,)
    ``init_hidden`` (given) fills them uniformly in [-1/sqrt(H), 1/sqrt(H)].
    """

    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        raise NotImplementedError("seq2seq.lstm.LSTM.__init__")
        self.init_hidden()

    def init_hidden(self):
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x):
        """Run the LSTM over a batch of sequences.

        Args:
            x: (N, T, D) inputs, batch first.

        Returns:
            (h_T, c_T): the hidden and cell state after the last step, each (N, H).
        """
        raise NotImplementedError("seq2seq.lstm.LSTM.forward")
