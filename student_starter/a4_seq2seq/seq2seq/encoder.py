"""The encoder of the seq2seq translator."""
import torch
import torch.nn as nn


class Encoder(nn.Module):
    """Embed the source sentence, run a recurrent layer over it, project its last hidden state.

        embedded        = dropout(embedding(source))                 (N, T, E)
        outputs, h_T    = recurrent(embedded)                        (N, T, H_enc), (1, N, H_enc)
        hidden          = tanh(linear2(relu(linear1(h_T))))          (1, N, H_dec)

    For an LSTM, ``recurrent`` returns (h_T, c_T): project h_T as above and return
    the pair (hidden, c_T) (then H_enc must equal H_dec).

    Layers (the grader loads weights by these names):
        self.embedding = nn.Embedding(input_size, emb_size)
        self.recurrent = nn.RNN(emb_size, encoder_hidden_size, batch_first=True)   for "RNN"
                         nn.LSTM(emb_size, encoder_hidden_size, batch_first=True)  for "LSTM"
        self.linear1   = nn.Linear(encoder_hidden_size, encoder_hidden_size)
        self.linear2   = nn.Linear(encoder_hidden_size, decoder_hidden_size)
        self.dropout   = nn.Dropout(dropout)

    Args:
        input_size:          source vocabulary size V_src.
        emb_size:            embedding size E.
        encoder_hidden_size: H_enc.
        decoder_hidden_size: H_dec.
        dropout:             dropout probability on the embeddings.
        model_type:          "RNN" or "LSTM".
    """

    def __init__(self, input_size, emb_size, encoder_hidden_size, decoder_hidden_size, dropout=0.2,
                 model_type="RNN"):
        super().__init__()
        if model_type not in ("RNN", "LSTM"):
            raise ValueError("model_type must be 'RNN' or 'LSTM', not %r" % (model_type,))
        self.input_size = input_size
        self.emb_size = emb_size
        self.encoder_hidden_size = encoder_hidden_size
        self.decoder_hidden_size = decoder_hidden_size
        self.model_type = model_type
        raise NotImplementedError("seq2seq.encoder.Encoder.__init__")

    def forward(self, source):
        """Encode a batch of source sentences.

        Args:
            source: (N, T) int64 token ids.

        Returns:
            (outputs, hidden): outputs (N, T, H_enc), the recurrent layer's output at
            every step; hidden (1, N, H_dec), or the pair (hidden, cell) for an LSTM.
        """
        raise NotImplementedError("seq2seq.encoder.Encoder.forward")
