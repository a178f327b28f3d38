"""Encoder + decoder: the seq2seq translator."""
import torch
import torch.nn as nn


class Seq2Seq(nn.Module):
    """Translate by running the encoder once and the decoder one token at a time.

    The first decoder input is the first source token, ``source[:, 0]``: every
    sentence starts with ``<sos>``, which has the same id in both vocabularies.
    The encoder's final hidden state is the decoder's initial hidden state.
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def forward(self, source, out_seq_len=None, target=None):
        """Log-probabilities of the next token at each of ``out_seq_len`` steps.

        Greedy decoding (``target`` is None): the input at step t + 1 is the most likely
        token of step t (the argmax of its log-probabilities). Teacher forcing (given
        ``target`` (N, L + 1), starting with <sos>): the input at step t + 1 is
        ``target[:, t + 1]``, and ``out_seq_len`` is L.

        Args:
            source:      (N, T) int64 source ids, each row starting with <sos>.
            out_seq_len: number of steps L (default: T).
            target:      optional (N, L + 1) int64 target ids for teacher forcing.

        Returns:
            (N, L, V_tgt): outputs[:, t] are the decoder's log-probabilities at step t,
            a prediction of the target token at position t + 1.
        """
        if target is not None:
            out_seq_len = target.shape[1] - 1
        elif out_seq_len is None:
            out_seq_len = source.shape[1]
        # BEGIN SOLUTION
        encoder_outputs, hidden = self.encoder(source)                        # (N, T, H_enc)
        input = source[:, :1]                                                 # (N, 1) <sos>
        outputs = []
        for t in range(out_seq_len):
            log_probs, hidden = self.decoder(input, hidden, encoder_outputs)  # (N, V)
            outputs.append(log_probs)
            if target is not None:
                input = target[:, t + 1:t + 2]                                # (N, 1)
            else:
                input = log_probs.argmax(dim=1, keepdim=True)                 # (N, 1)
        return torch.stack(outputs, dim=1)                                    # (N, L, V)
        # END SOLUTION
