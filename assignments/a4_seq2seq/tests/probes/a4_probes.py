"""Probes for A4: build the student's modules in the worker, load the test's weights, run them.

Weights come from the test (the harness) by parameter name, so both sides compute with
the very same numbers. Modules run as students build them: float32 (PyTorch's default
dtype), with float32 inputs; the harness compares with float32 tolerances. Every probe
runs the model in eval mode (no dropout) except the ``*_modes`` probes, which also run it
in train mode right after ``torch.manual_seed(seed)`` so the harness can draw the same
dropout masks. ``ToyEncoder``/``ToyDecoder``/``make_toy`` are shared with the harness's
oracles (tests/oracles.py imports them) to check Seq2Seq on its own. No expected values here.
"""
import importlib

import torch
import torch.nn as nn


def _cls(module, name):
    return getattr(importlib.import_module("seq2seq." + module), name)


def _load(model, weights, name, train=False):
    """Load ``weights`` {parameter name: tensor} into ``model`` (its parameters keep their dtype: float32
    unless the student chose otherwise); eval mode unless ``train``."""
    have = set(model.state_dict())
    want = set(weights)
    if have != want:
        missing, extra = sorted(want - have), sorted(have - want)
        raise AttributeError("%s: its parameters are not named as its docstring says (missing %s; unexpected %s); "
                             "use the layer names given there" % (name, ", ".join(missing[:4]) or "none",
                                                                  ", ".join(extra[:4]) or "none"))
    model.load_state_dict({k: torch.as_tensor(v) for k, v in weights.items()})
    return model.train(train)


def _build(module, cls, kwargs, weights, train=False):
    return _load(_cls(module, cls)(**kwargs), weights, "seq2seq.%s.%s" % (module, cls), train)


def _flat(out):
    """A module's output, nested tuples of tensors, as a flat list of detached tensors."""
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out.detach() if isinstance(out, torch.Tensor) else out]


def _modes(model, seed, *args):
    """The module's outputs in train mode right after torch.manual_seed(seed), then twice in eval mode."""
    model.train()
    torch.manual_seed(int(seed))
    train = _flat(model(*args))
    model.eval()
    return {"train": train, "eval": _flat(model(*args)), "eval_again": _flat(model(*args))}


# ---------------------------------------------------------------- recurrent cells
def rnn_step(weights, kwargs, x, hidden):
    model = _build("rnn", "VanillaRNN", kwargs, weights)
    log_probs, new_hidden = model(x, hidden)
    return {"log_probs": log_probs.detach(), "hidden": new_hidden.detach()}


def lstm(weights, kwargs, x):
    model = _build("lstm", "LSTM", kwargs, weights)
    h, c = model(x)
    return {"h": h.detach(), "c": c.detach()}


def lstm_calls(weights, kwargs, xs):
    """One LSTM, called on each input of ``xs`` in turn: [{"h", "c"}, ...]."""
    model = _build("lstm", "LSTM", kwargs, weights)
    out = []
    for x in xs:
        h, c = model(x)
        out.append({"h": h.detach(), "c": c.detach()})
    return out


def lstm_parameters(kwargs):
    """Names and shapes of the student's LSTM parameters, as built by its constructor."""
    model = _cls("lstm", "LSTM")(**kwargs)
    return {k: list(v.shape) for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- encoder, decoder
def encoder(weights, kwargs, source):
    model = _build("encoder", "Encoder", kwargs, weights)
    outputs, hidden = model(source)
    out = {"outputs": outputs.detach()}
    if isinstance(hidden, tuple):
        out["hidden"], out["cell"] = hidden[0].detach(), hidden[1].detach()
    else:
        out["hidden"] = hidden.detach()
    return out


def encoder_calls(weights, kwargs, sources):
    """One Encoder, called on each batch of ``sources`` in turn: a flat list of its outputs per call."""
    model = _build("encoder", "Encoder", kwargs, weights)
    return [_flat(model(src)) for src in sources]


def encoder_modes(weights, kwargs, source, seed):
    return _modes(_build("encoder", "Encoder", kwargs, weights), seed, source)


def decoder_modes(weights, kwargs, input, hidden, encoder_outputs, cell, seed):
    state = (hidden, cell) if cell is not None else hidden
    return _modes(_build("decoder", "Decoder", kwargs, weights), seed, input, state, encoder_outputs)


def attention(weights, kwargs, hidden, encoder_outputs):
    model = _build("decoder", "Decoder", kwargs, weights)
    return model.compute_attention(hidden, encoder_outputs).detach()


def decoder_step(weights, kwargs, input, hidden, encoder_outputs, cell=None):
    model = _build("decoder", "Decoder", kwargs, weights)
    state = (hidden, cell) if cell is not None else hidden
    log_probs, new_state = model(input, state, encoder_outputs)
    out = {"log_probs": log_probs.detach()}
    if isinstance(new_state, tuple):
        out["hidden"], out["cell"] = new_state[0].detach(), new_state[1].detach()
    else:
        out["hidden"] = new_state.detach()
    return out


def seq2seq_full(enc_weights, enc_kwargs, dec_weights, dec_kwargs, source, out_seq_len):
    """The student's Encoder, Decoder and Seq2Seq together, greedy decoding."""
    enc = _build("encoder", "Encoder", enc_kwargs, enc_weights)
    dec = _build("decoder", "Decoder", dec_kwargs, dec_weights)
    model = _cls("model", "Seq2Seq")(enc, dec).eval()
    return model(source, out_seq_len=out_seq_len).detach()


# ---------------------------------------------------------------- Seq2Seq around toy modules
class ToyEncoder(nn.Module):
    """Embedding + torch's GRU; returns (outputs (N, T, H), hidden (1, N, H))."""

    def __init__(self, vocab, hidden):
        super().__init__()
        self.emb = nn.Embedding(vocab, hidden)
        self.gru = nn.GRU(hidden, hidden, batch_first=True)

    def forward(self, source):
        return self.gru(self.emb(source))


class ToyDecoder(nn.Module):
    """Embedding + mean of the encoder outputs + a GRU cell; records the inputs it is given."""

    def __init__(self, vocab, hidden):
        super().__init__()
        self.output_size = vocab
        self.emb = nn.Embedding(vocab, hidden)
        self.cell = nn.GRUCell(2 * hidden, hidden)
        self.out = nn.Linear(hidden, vocab)
        self.seen_inputs = []
        self.seen_hidden = []

    def forward(self, input, hidden, encoder_outputs):
        self.seen_inputs.append(input.detach().clone())
        self.seen_hidden.append(hidden.detach().clone())
        x = torch.cat([self.emb(input[:, 0]), encoder_outputs.mean(dim=1)], dim=1)   # (N, 2H)
        h = self.cell(x, hidden[0])                                                   # (N, H)
        return torch.log_softmax(self.out(h), dim=1), h[None]


def make_toy(seed, vocab, hidden=6):
    """The toy encoder and decoder, float32 (as students' modules are), in eval mode."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(seed))
        return ToyEncoder(vocab, hidden).eval(), ToyDecoder(vocab, hidden).eval()


def seq2seq_toy(seed, vocab, source, out_seq_len=None, target=None):
    """The student's Seq2Seq around the toy modules; returns its outputs and what the decoder saw."""
    enc, dec = make_toy(seed, vocab)
    model = _cls("model", "Seq2Seq")(enc, dec)
    with torch.no_grad():
        out = model(source, out_seq_len=out_seq_len, target=target) if target is not None \
            else model(source, out_seq_len=out_seq_len)
    inputs = torch.cat(dec.seen_inputs, dim=1) if dec.seen_inputs else torch.zeros(source.shape[0], 0)
    first_hidden = dec.seen_hidden[0] if dec.seen_hidden else torch.zeros(0)
    return {"outputs": out.detach(), "inputs": inputs, "first_hidden": first_hidden}


# ---------------------------------------------------------------- transformers
def transformer(weights, kwargs, method, *args):
    """Call one method of the student's TransformerTranslator (weights loaded)."""
    model = _build("transformer", "TransformerTranslator", kwargs, weights)
    return getattr(model, method)(*args).detach()


def full_forward(weights, kwargs, src, tgt):
    model = _build("transformer", "FullTransformerTranslator", kwargs, weights)
    return model(src, tgt).detach()


def full_modes(weights, kwargs, src, tgt, seed):
    return _modes(_build("transformer", "FullTransformerTranslator", kwargs, weights), seed, src, tgt)


def full_future_blind(weights, kwargs, src, tgt, tgt_changed):
    """Scores for two decoder inputs that differ only after some position."""
    model = _build("transformer", "FullTransformerTranslator", kwargs, weights)
    return {"a": model(src, tgt).detach(), "b": model(src, tgt_changed).detach()}


def full_generate(weights, kwargs, src, max_len):
    model = _build("transformer", "FullTransformerTranslator", kwargs, weights)
    return model.generate_translation(src, max_len)


def padding_invariance(weights, kwargs, inputs, extra):
    """TransformerTranslator scores of a batch, and of the same batch with ``extra`` more padding columns."""
    model = _build("transformer", "TransformerTranslator", kwargs, weights)
    pad = model.pad_idx
    longer = torch.cat([inputs, torch.full((inputs.shape[0], int(extra)), pad, dtype=inputs.dtype)], dim=1)
    return {"short": model(inputs).detach(), "long": model(longer).detach()}


# ---------------------------------------------------------------- vocabulary
def vocabulary(sentences, min_freq, encode, decode, add_sos_eos=True):
    """Build the (given) Vocabulary, then run the student's encode and decode (each id sequence of
    ``decode`` as it comes: a list, or a 1-d tensor)."""
    vocab = _cls("data", "Vocabulary")(sentences, min_freq=min_freq)
    return {"itos": list(vocab.itos),
            "encoded": [list(vocab.encode(tokens, add_sos_eos=add_sos_eos)) for tokens in encode],
            "decoded": [list(vocab.decode(ids)) for ids in decode]}


def call_decode(sentences, min_freq, ids):
    """The student's decode of one id sequence, returned as is (an exception propagates to the test)."""
    return _cls("data", "Vocabulary")(sentences, min_freq=min_freq).decode(ids)
