"""Transformers for translation: one attention block by hand, and a full nn.Transformer.

Shapes: N sentences, T tokens, C = hidden_dim, h heads of size d_k (queries and
keys) and d_v (values), V the target vocabulary size.
"""
import math

import torch
import torch.nn as nn

from .data import EOS_IDX, PAD_IDX, SOS_IDX


class TransformerTranslator(nn.Module):
    """A one-block Transformer encoder that predicts the target token at each source position.

        x   = embed(inputs)                              (N, T, C)   token + learned position
        x   = multi_head_attention(x, pad_mask)          (N, T, C)   self-attention, residual, LayerNorm
        x   = feedforward_layer(x)                       (N, T, C)   position-wise MLP, residual, LayerNorm
        out = final_layer(x)                             (N, T, V)   scores (logits)

    Layers (the grader loads weights by these names):
        self.embedding     = nn.Embedding(input_size, hidden_dim)
        self.pos_embedding = nn.Embedding(max_length, hidden_dim)
        self.q_proj        = nn.Linear(hidden_dim, num_heads * dim_q)   head i: output features i*d_q .. (i+1)*d_q - 1
        self.k_proj        = nn.Linear(hidden_dim, num_heads * dim_k)
        self.v_proj        = nn.Linear(hidden_dim, num_heads * dim_v)
        self.attention_head_projection = nn.Linear(num_heads * dim_v, hidden_dim)
        self.norm_mh       = nn.LayerNorm(hidden_dim)
        self.ff1           = nn.Linear(hidden_dim, dim_feedforward)
        self.ff2           = nn.Linear(dim_feedforward, hidden_dim)
        self.norm_ff       = nn.LayerNorm(hidden_dim)
        self.fc            = nn.Linear(hidden_dim, output_size)
    """

    def __init__(self, input_size, output_size, hidden_dim=128, num_heads=2, dim_feedforward=2048, dim_k=96,
                 dim_v=96, dim_q=96, max_length=43, pad_idx=PAD_IDX):
        super().__init__()
        if dim_q != dim_k:
            raise ValueError("dim_q (%d) must equal dim_k (%d): queries and keys are compared by dot products"
                             % (dim_q, dim_k))
        self.input_size = input_size
        self.output_size = output_size
        self.hidden_dim = hidden_dim
        self.num_heads = num_heads
        self.dim_feedforward = dim_feedforward
        self.dim_k, self.dim_v, self.dim_q = dim_k, dim_v, dim_q
        self.max_length = max_length
        self.pad_idx = pad_idx
        raise NotImplementedError("seq2seq.transformer.TransformerTranslator.__init__")

    def forward(self, inputs):
        """Scores of the target token at every position.

        Args:
            inputs: (N, T) int64 source ids, T <= max_length, padded with ``pad_idx``.

        Returns:
            (N, T, V) scores. Padding positions are never attended to: the
            pad mask is ``inputs == self.pad_idx``.
        """
        raise NotImplementedError("seq2seq.transformer.TransformerTranslator.forward")

    def embed(self, inputs):
        """Token embedding plus learned position embedding.

            out[n, t] = embedding(inputs[n, t]) + pos_embedding(t),   t = 0 .. T-1

        Args:
            inputs: (N, T) int64.

        Returns:
            (N, T, C).
        """
        raise NotImplementedError("seq2seq.transformer.TransformerTranslator.embed")

    def multi_head_attention(self, inputs, pad_mask=None):
        """Multi-head scaled dot-product self-attention, then residual and LayerNorm.

        For each head i (Q_i = inputs W_q,i + b: (N, T, d_k); K_i, V_i likewise):

            A_i  = softmax( Q_i K_i^T / sqrt(d_k) )   over the keys (last axis)   (N, T, T)
            H_i  = A_i V_i                                                        (N, T, d_v)
            out  = norm_mh( inputs + attention_head_projection([H_1, ..., H_h]) ) (N, T, C)

        A key at a padding position gets score -inf *before* the softmax, so its
        weight is exactly 0 and every row still sums to 1.

        Args:
            inputs:   (N, T, C).
            pad_mask: optional (N, T) bool, True where the token is padding.

        Returns:
            (N, T, C).
        """
        raise NotImplementedError("seq2seq.transformer.TransformerTranslator.multi_head_attention")

    def feedforward_layer(self, inputs):
        """Position-wise feed-forward network, then residual and LayerNorm.

            out = norm_ff( inputs + ff2( relu( ff1(inputs) ) ) )

        Args:
            inputs: (N, T, C).

        Returns:
            (N, T, C).
        """
        raise NotImplementedError("seq2seq.transformer.TransformerTranslator.feedforward_layer")

    def final_layer(self, inputs):
        """Scores over the target vocabulary: fc(inputs), (N, T, C) -> (N, T, V)."""
        raise NotImplementedError("seq2seq.transformer.TransformerTranslator.final_layer")


def causal_mask(size):
    """The causal (look-ahead) mask for ``size`` target positions.

    Returns:
        (size, size) bool tensor, True where attention is *blocked*: query position i
        may attend to key positions j <= i only, so mask[i, j] = (j > i). For size 3:

            [[False,  True,  True],
             [False, False,  True],
             [False, False, False]]
    """
    raise NotImplementedError("seq2seq.transformer.causal_mask")


class FullTransformerTranslator(nn.Module):
    """An encoder-decoder Transformer (``nn.Transformer``) with causal and padding masks.

        src_x = src_embedding(src) + src_pos_embedding(0..S-1)              (N, S, C)
        tgt_x = tgt_embedding(tgt) + tgt_pos_embedding(0..T-1)              (N, T, C)
        y     = transformer(src_x, tgt_x, masks)                            (N, T, C)
        out   = fc(y)                                                       (N, T, V)

    Masks passed to ``self.transformer``:
        tgt_mask                 = causal_mask(T)         a target position sees only itself and earlier ones
        src_key_padding_mask     = (src == pad_idx)       the encoder never attends to source padding
        memory_key_padding_mask  = (src == pad_idx)       nor does the decoder's cross-attention
        tgt_key_padding_mask     = (tgt == pad_idx)       nor the decoder's self-attention to target padding

    Layers (the grader loads weights by these names):
        self.src_embedding     = nn.Embedding(input_size, hidden_dim)
        self.src_pos_embedding = nn.Embedding(max_length, hidden_dim)
        self.tgt_embedding     = nn.Embedding(output_size, hidden_dim)
        self.tgt_pos_embedding = nn.Embedding(max_length, hidden_dim)
        self.transformer       = nn.Transformer(d_model=hidden_dim, nhead=num_heads,
                                     num_encoder_layers=num_layers_enc, num_decoder_layers=num_layers_dec,
                                     dim_feedforward=dim_feedforward, dropout=dropout, batch_first=True)
        self.fc                = nn.Linear(hidden_dim, output_size)
    """

    def __init__(self, input_size, output_size, hidden_dim=128, num_heads=2, dim_feedforward=2048,
                 num_layers_enc=2, num_layers_dec=2, dropout=0.2, max_length=43, pad_idx=PAD_IDX):
        super().__init__()
        self.input_size = input_size
        self.output_size = output_size
        self.hidden_dim = hidden_dim
        self.max_length = max_length
        self.pad_idx = pad_idx
        raise NotImplementedError("seq2seq.transformer.FullTransformerTranslator.__init__")

    def forward(self, src, tgt):
        """Scores of the next target token at every target position (teacher forcing).

        Args:
            src: (N, S) int64 source ids, padded with ``pad_idx``.
            tgt: (N, T) int64 decoder inputs: the target shifted right, starting with <sos>.

        Returns:
            (N, T, V) scores; out[:, t] predicts the target token at position t + 1 and
            depends only on tgt[:, :t + 1] (and on the whole source).
        """
        raise NotImplementedError("seq2seq.transformer.FullTransformerTranslator.forward")

    def generate_translation(self, src, max_len=None):
        """Greedy decoding: start from <sos>, append the most likely next token, repeat.

        A sentence is finished once it has produced <eos>; every later position of it
        is ``pad_idx``. Decoding stops as soon as every sentence is finished, or when
        the output has ``max_len`` tokens (<sos> included). Call ``model.eval()`` first.

        Args:
            src:     (N, S) int64 source ids.
            max_len: longest output, <sos> included (default: self.max_length).

        Returns:
            (N, L) int64, L <= max_len: column 0 is <sos>; L is 1 + the number of steps taken.
        """
        max_len = self.max_length if max_len is None else max_len
        raise NotImplementedError("seq2seq.transformer.FullTransformerTranslator.generate_translation")
