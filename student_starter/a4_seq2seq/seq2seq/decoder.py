"""The decoder of the seq2seq translator: one step at a time, optionally with attention."""
import torch
import torch.nn as nn


class Decoder(nn.Module):
    """One decoding step: embed the previous token, (attend,) update the state, predict.

        embedded         = dropout(embedding(input))                       (N, 1, E)
        with attention:  a = compute_attention(h_{t-1}, encoder_outputs)   (N, 1, T)
                         context = a @ encoder_outputs                     (N, 1, H_enc)
                         embedded = [embedded, context]  (concatenated in that order)
                                                                           (N, 1, E + H_enc)
        output, hidden   = recurrent(embedded, hidden)                     (N, 1, H_dec)
        log_probs        = log_softmax(linear(output[:, 0]))               (N, V_tgt)

    For an LSTM, ``hidden`` is the pair (h, c) and the attention query is h.
    Attention compares the query with every encoder output, so it needs
    H_enc == H_dec.

    Layers (the grader loads weights by these names):
        self.embedding = nn.Embedding(output_size, emb_size)
        self.recurrent = nn.RNN(R, decoder_hidden_size, batch_first=True)    for "RNN"
                         nn.LSTM(R, decoder_hidden_size, batch_first=True)   for "LSTM"
                         with R = emb_size + encoder_hidden_size with attention, else emb_size
        self.linear    = nn.Linear(decoder_hidden_size, output_size)
        self.dropout   = nn.Dropout(dropout)
    """

    def __init__(self, emb_size, encoder_hidden_size, decoder_hidden_size, output_size, dropout=0.2,
                 model_type="RNN", attention=False):
        super().__init__()
        if model_type not in ("RNN", "LSTM"):
            raise ValueError("model_type must be 'RNN' or 'LSTM', not %r" % (model_type,))
        self.emb_size = emb_size
        self.encoder_hidden_size = encoder_hidden_size
        self.decoder_hidden_size = decoder_hidden_size
        self.output_size = output_size
        self.model_type = model_type
        self.attention = attention
        raise NotImplementedError("seq2seq.decoder.Decoder.__init__")

    def compute_attention(self, hidden, encoder_outputs):
        """Attention weights of each encoder step, by cosine similarity.

        With the query q = hidden[0, n] (H,) and the keys k_t = encoder_outputs[n, t] (H,):

            s_t = q . k_t / (||q|| ||k_t||)          cosine similarity, for t = 1..T
            a   = softmax(s) over the T steps

        Args:
            hidden:          (1, N, H) the previous decoder hidden state.
            encoder_outputs: (N, T, H).

        Returns:
            (N, 1, T): for each sentence, weights over the T source steps summing to 1.
        """
        raise NotImplementedError("seq2seq.decoder.Decoder.compute_attention")

    def forward(self, input, hidden, encoder_outputs=None):
        """One decoding step.

        Args:
            input:           (N, 1) int64, the previous target token.
            hidden:          (1, N, H_dec), or the pair (h, c) for an LSTM.
            encoder_outputs: (N, T, H_enc); used only with attention.

        Returns:
            (log_probs, hidden): log_probs (N, V_tgt); hidden as given, one step later.
        """
        raise NotImplementedError("seq2seq.decoder.Decoder.forward")
