"""A4's test cases: random inputs and weights, the oracle's answers and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).
Weights are tensors keyed by parameter name and inputs are NumPy arrays, all holding
float32 numbers (``oracles.draw_weights``, ``oracles.f32``): the tests send them to the
worker as float32, the dtype students' modules use, and the expected values are the
exact answers for those numbers (float64). Greedy decoding cases are redrawn until no
choice is within ``oracles.MARGIN`` of a tie. Cases of the property checks (padding,
the causal mask) carry inputs only: their verdicts need no oracle.
"""
import numpy as np

import oracles
from autograder.fixtures import case

RNN_SIZES = {"batch": (4, 3, 5, 6), "single": (1, 7, 4, 3), "large scores": (3, 4, 5, 6)}   # N, D, H, O
LSTM_SIZES = {"sequence": (3, 5, 4, 6), "one-step": (2, 1, 3, 2)}         # N, T, D, H
DECODERS = {"rnn": ("RNN", False), "rnn-attention": ("RNN", True), "lstm-attention": ("LSTM", True)}
MASKS = ["no-mask", "padding-mask"]


# ---------------------------------------------------------------- rnn.py, lstm.py
@case(params=list(RNN_SIZES))
def rnn_step(rng, size):
    N, D, H, O = RNN_SIZES[size]
    w = oracles.draw_weights(rng, oracles.rnn_shapes(D, H, O))
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    hint = None
    if size == "large scores":      # rows on very different scales: one near 1000, one near 0
        x[0] *= 1000.0
        x[1] *= 1e-3
        hint = ("with scores in the hundreds, torch.log(torch.softmax(s)) underflows to -inf (and exp(s) overflows): "
                "use torch.log_softmax(s, dim=1), which subtracts each row's maximum")
    x, h = oracles.f32(x), oracles.f32(h)
    log_probs, hidden = oracles.rnn_step(w, x, h)
    return {"weights": w, "kwargs": {"input_size": D, "hidden_size": H, "output_size": O}, "x": x, "h": h,
            "log_probs": log_probs, "hidden": hidden, "misconceptions": oracles.rnn_misconceptions(w, x, h),
            "hint": hint}


@case(params=list(LSTM_SIZES))
def lstm(rng, size):
    N, T, D, H = LSTM_SIZES[size]
    w = oracles.draw_weights(rng, oracles.lstm_shapes(D, H))
    x = oracles.f32(rng.normal(size=(N, T, D)))
    h, c = oracles.lstm_torch(w, x)
    return {"weights": w, "kwargs": {"input_size": D, "hidden_size": H}, "x": x, "h": h, "c": c,
            "misconceptions": oracles.lstm_misconceptions(w, x)}


@case()
def lstm_called_twice(rng):
    """One LSTM called on x1, then x2, then x1 again (same batch size): each call starts from zero states."""
    N, T, D, H = 3, 4, 3, 5
    w = oracles.draw_weights(rng, oracles.lstm_shapes(D, H))
    xs = [oracles.f32(rng.normal(size=(N, T, D))) for _ in range(2)]
    xs.append(xs[0])
    want = [oracles.lstm_torch(w, x) for x in xs]
    # what a state kept from the previous call gives: the next sequence continues from it
    carried = [oracles.lstm_torch(w, np.concatenate(xs[:i + 1], axis=1)) for i in range(len(xs))]
    return {"weights": w, "kwargs": {"input_size": D, "hidden_size": H}, "xs": xs,
            "h": [h for h, _ in want], "c": [c for _, c in want], "carried_h": [h for h, _ in carried]}


@case()
def lstm_parameters(rng):
    D, H = int(rng.integers(2, 7)), int(rng.integers(2, 8))
    return {"kwargs": {"input_size": D, "hidden_size": H},
            "shapes": {k: list(v) for k, v in oracles.lstm_shapes(D, H).items()}}


# ---------------------------------------------------------------- encoder, decoder, model
def _ids(rng, N, T, V):
    src = rng.integers(4, V, size=(N, T))
    src[:, 0] = oracles.SOS
    return src


def _encoder_setup(rng, kind, dropout=0.3):
    V, E, He, Hd, N, T = 11, 4, 5, 5 if kind == "LSTM" else 3, 3, 6
    kwargs = {"input_size": V, "emb_size": E, "encoder_hidden_size": He, "decoder_hidden_size": Hd,
              "dropout": dropout, "model_type": kind}
    return kwargs, oracles.draw_weights(rng, oracles.encoder_shapes(V, E, He, Hd, kind)), _ids(rng, N, T, V)


def _encoder_values(out):
    """The Encoder's outputs in the order the probes flatten them: outputs, hidden[, cell]."""
    return [("outputs", out["outputs"]), ("hidden state", out["hidden"])] + (
        [("cell state", out["cell"])] if "cell" in out else [])


@case(params=["RNN", "LSTM"])
def encoder(rng, kind):
    kwargs, w, src = _encoder_setup(rng, kind)
    return {"weights": w, "kwargs": kwargs, "src": src, "expected": oracles.encoder(w, kind, src),
            "misconceptions": oracles.encoder_misconceptions(w, kind, src)}


@case()
def encoder_called_twice(rng):
    """One LSTM Encoder called on src1, then src2, then src1 again: nn.LSTM starts from zero states each time."""
    kwargs, w, src = _encoder_setup(rng, "LSTM")
    sources = [src, _ids(rng, src.shape[0], src.shape[1], kwargs["input_size"]), src]
    return {"weights": w, "kwargs": kwargs, "sources": sources,
            "expected": [_encoder_values(oracles.encoder(w, "LSTM", s)) for s in sources]}


def _dropping_seed(rng, shape, p):
    """A torch seed whose dropout mask drops at least one entry of every sentence (so that train mode
    differs from eval mode for sure) and keeps at least one."""
    for _ in range(100):
        seed = int(rng.integers(2 ** 31))
        mask = oracles.dropout_mask(seed, shape, p).numpy().reshape(shape[0], -1)
        if (mask == 0).any(axis=1).all() and (mask != 0).any(axis=1).all():
            return seed
    raise RuntimeError("no dropout seed drops an entry of every sentence")


@case(params=["Encoder (RNN)", "Decoder (LSTM, attention)"])
def dropout_in_train_mode(rng, module):
    """Train mode right after torch.manual_seed(seed): the embeddings get nn.Dropout's mask; eval mode: no dropout."""
    p = 0.5
    if module.startswith("Encoder"):
        kwargs, w, src = _encoder_setup(rng, "RNN", dropout=p)
        seed = _dropping_seed(rng, src.shape + (kwargs["emb_size"],), p)
        mask = oracles.dropout_mask(seed, src.shape + (kwargs["emb_size"],), p)
        return {"module": "encoder", "weights": w, "kwargs": kwargs, "seed": seed, "args": {"source": src},
                "train": _encoder_values(oracles.encoder(w, "RNN", src, mask=mask)),
                "eval": _encoder_values(oracles.encoder(w, "RNN", src)), "misconceptions": {}}
    N, T, E, H, V = 3, 5, 4, 6, 9
    kwargs = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V, "dropout": p,
              "model_type": "LSTM", "attention": True}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, "LSTM", True))
    inp = rng.integers(0, V, size=(N, 1))
    hidden, cell = oracles.f32(np.tanh(rng.normal(size=(1, N, H)))), oracles.f32(rng.normal(size=(1, N, H)))
    enc = oracles.f32(rng.normal(size=(N, T, H)))
    seed = _dropping_seed(rng, (N, 1, E), p)

    def values(**kw):
        out = oracles.decoder_step(w, "LSTM", True, inp, hidden, enc, cell, **kw)
        return [("log-probabilities", out["log_probs"]), ("new hidden state", out["hidden"]),
                ("new cell state", out["cell"])]

    after_concat = [v for _, v in values(mask=oracles.dropout_mask(seed, (N, 1, E + H), p), mask_after_concat=True)]
    return {"module": "decoder", "weights": w, "kwargs": kwargs, "seed": seed,
            "args": {"input": inp, "hidden": hidden, "encoder_outputs": enc, "cell": cell},
            "train": values(mask=oracles.dropout_mask(seed, (N, 1, E), p)), "eval": values(),
            "misconceptions": {"dropout was applied to [embedding, context]; apply self.dropout to the embedding "
                               "alone, before concatenating the context": after_concat}}


@case()
def attention(rng):
    N, T, H = 4, 6, 5
    kwargs = {"emb_size": 3, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": 7,
              "attention": True}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(3, H, H, 7, "RNN", True))
    hidden, enc = oracles.f32(rng.normal(size=(1, N, H))), oracles.f32(rng.normal(size=(N, T, H)))
    return {"weights": w, "kwargs": kwargs, "hidden": hidden, "encoder_outputs": enc,
            "expected": oracles.cosine_attention(hidden, enc),
            "misconceptions": oracles.attention_misconceptions(hidden, enc)}


@case(params=list(DECODERS))
def decoder_step(rng, variant):
    kind, attention = DECODERS[variant]
    N, T, E, H, V = 3, 5, 4, 6, 9
    kwargs = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V, "dropout": 0.3,
              "model_type": kind, "attention": attention}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, attention))
    inp = rng.integers(0, V, size=(N, 1))
    hidden, enc = oracles.f32(np.tanh(rng.normal(size=(1, N, H)))), oracles.f32(rng.normal(size=(N, T, H)))
    cell = oracles.f32(rng.normal(size=(1, N, H))) if kind == "LSTM" else None
    want = oracles.decoder_step(w, kind, attention, inp, hidden, enc, cell)
    wrong = {}
    if attention:
        wrong["the context vector goes after the embedding: torch.cat((embedded, context), dim=2)"] = \
            oracles.decoder_step(w, kind, attention, inp, hidden, enc, cell, context_first=True)["log_probs"]
    return {"weights": w, "kwargs": kwargs, "input": inp, "hidden": hidden, "encoder_outputs": enc, "cell": cell,
            "log_probs": want["log_probs"], "new_hidden": want["hidden"], "misconceptions": wrong}


@case()
def seq2seq_greedy(rng):
    V, N, T, L = 12, 4, 5, 6
    for _ in range(20):             # no greedy choice near a tie
        src = _ids(rng, N, T, V)
        s = int(rng.integers(1000))     # the toy modules' torch seed
        want, fed, first_hidden = oracles.toy_seq2seq(s, V, src, L)
        if oracles.greedy_margin(want) >= oracles.MARGIN:
            break
    return {"toy_seed": s, "vocab": V, "src": src, "out_seq_len": L, "outputs": want, "inputs": fed,
            "first_hidden": first_hidden, "misconceptions": oracles.toy_misconceptions(s, V, src, L)}


@case()
def seq2seq_default_length_and_teacher_forcing(rng):
    V, N, T = 10, 3, 4
    for _ in range(20):             # no greedy choice near a tie
        src = _ids(rng, N, T, V)
        tgt = _ids(rng, N, 7, V)
        s = int(rng.integers(1000))     # the toy modules' torch seed
        default = oracles.toy_seq2seq(s, V, src, T)[0]
        if oracles.greedy_margin(default) >= oracles.MARGIN:
            break
    forced, fed, _ = oracles.toy_seq2seq(s, V, src, 6, target=tgt)
    return {"toy_seed": s, "vocab": V, "src": src, "tgt": tgt, "default_outputs": default,
            "forced_inputs": fed, "forced_outputs": forced}


@case(params=["RNN", "LSTM"])
def seq2seq_end_to_end(rng, kind):
    V, E, H, N, T, L = 10, 4, 5, 3, 5, 6
    ek = {"input_size": V, "emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "model_type": kind}
    dk = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V, "model_type": kind,
          "attention": True}
    for _ in range(20):             # no greedy choice near a tie
        ew = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, H, H, kind))
        dw = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, True))
        src = _ids(rng, N, T, V)
        expected = oracles.seq2seq_full(ew, dw, kind, True, src, L)
        if oracles.greedy_margin(expected) >= oracles.MARGIN:
            break
    return {"enc_weights": ew, "enc_kwargs": ek, "dec_weights": dw, "dec_kwargs": dk, "src": src, "out_seq_len": L,
            "expected": expected}


# ---------------------------------------------------------------- transformer.py
def _tt_setup(rng, C=8, h=2, dk=3, dv=5, Fdim=10, L=9, Vin=13, Vout=11):
    kw = {"input_size": Vin, "output_size": Vout, "hidden_dim": C, "num_heads": h, "dim_feedforward": Fdim,
          "dim_k": dk, "dim_v": dv, "dim_q": dk, "max_length": L}
    return kw, oracles.draw_weights(rng, oracles.transformer_shapes(Vin, Vout, C, h, Fdim, dk, dv, L))


def _padded_ids(rng, lengths, T, V, pad=oracles.PAD):
    """(N, T) ids: <sos>, random tokens, <eos>, then ``pad`` up to T."""
    out = np.full((len(lengths), T), pad, dtype=np.int64)
    for i, n in enumerate(lengths):
        out[i, :n] = rng.integers(4, V, size=n)
        out[i, 0], out[i, n - 1] = oracles.SOS, oracles.EOS
    return out


@case()
def embed(rng):
    kw, w = _tt_setup(rng)
    ids = _padded_ids(rng, [7, 5, 3], 7, kw["input_size"])
    return {"kwargs": kw, "weights": w, "ids": ids, "expected": oracles.embed(w, ids),
            "misconceptions": oracles.embed_misconceptions(w, ids)}


def _pad_mask(masked):
    if masked != "padding-mask":
        return None
    pad = np.zeros((3, 6), dtype=bool)
    pad[0, 4:], pad[2, 2:] = True, True
    return pad


@case(params=MASKS)
def multi_head_attention(rng, masked):
    kw, w = _tt_setup(rng)
    x = oracles.f32(rng.normal(size=(3, 6, kw["hidden_dim"])))
    pad = _pad_mask(masked)
    return {"kwargs": kw, "weights": w, "x": x, "pad": pad, "expected": oracles.multi_head_attention(w, kw, x, pad),
            "misconceptions": oracles.mha_misconceptions(w, kw, x, pad)}


@case(params=MASKS)
def multi_head_attention_matches_torch(rng, masked):
    kw, w = _tt_setup(rng, C=8, h=2, dk=4, dv=4)
    x = oracles.f32(rng.normal(size=(2, 5, 8)))
    pad = np.array([[False] * 5, [False, False, False, True, True]]) if masked == "padding-mask" else None
    return {"kwargs": kw, "weights": w, "x": x, "pad": pad,
            "expected": oracles.multi_head_attention_torch(w, kw, x, pad),
            "misconceptions": oracles.mha_misconceptions(w, kw, x, pad)}


@case()
def feedforward_layer(rng):
    kw, w = _tt_setup(rng)
    x = oracles.f32(rng.normal(size=(2, 4, kw["hidden_dim"])))
    return {"kwargs": kw, "weights": w, "x": x, "expected": oracles.feedforward(w, x),
            "misconceptions": oracles.ffn_misconceptions(w, x)}


@case()
def transformer_forward(rng):
    kw, w = _tt_setup(rng)
    ids = _padded_ids(rng, [8, 5, 3, 6], 8, kw["input_size"])
    expected = oracles.transformer_forward(w, kw, ids)
    misconceptions = oracles.transformer_misconceptions(w, kw, ids)
    return {"kwargs": kw, "weights": w, "ids": ids, "expected": expected, "misconceptions": misconceptions,
            "final_layer_input": oracles.f32(rng.normal(size=(2, 3, 8)))}


@case(params=["pad_idx 0", "pad_idx 1"])
def padding_is_never_attended(rng, pad):
    """Inputs only: the check compares your scores with and without extra padding columns. The second case
    builds the model with pad_idx=1: the mask must come from self.pad_idx."""
    kw, w = _tt_setup(rng)
    pad_idx = int(pad.split()[-1])
    kw["pad_idx"] = pad_idx
    return {"kwargs": kw, "weights": w, "ids": _padded_ids(rng, [5, 3, 4], 5, kw["input_size"], pad=pad_idx),
            "extra": 3, "pad_idx": pad_idx}


@case()
def causal_mask(rng):
    """Inputs only: the check knows a causal mask is True exactly where j > i."""
    return {"size": int(rng.integers(3, 7))}


def _full_setup(rng, layers=1):
    kw = {"input_size": 12, "output_size": 10, "hidden_dim": 8, "num_heads": 2, "dim_feedforward": 16,
          "num_layers_enc": layers, "num_layers_dec": layers, "dropout": 0.3, "max_length": 10, "pad_idx": 0}
    return kw, oracles.draw_weights(rng, oracles.full_shapes(kw))


@case(params=["pad_idx 0", "pad_idx 1"])
def full_forward(rng, pad):
    """The second case builds the model with pad_idx=1: every mask must come from self.pad_idx."""
    kw, w = _full_setup(rng)
    kw["pad_idx"] = int(pad.split()[-1])
    src = _padded_ids(rng, [6, 4, 5], 6, kw["input_size"], pad=kw["pad_idx"])
    tgt = _padded_ids(rng, [5, 5, 3], 5, kw["output_size"], pad=kw["pad_idx"])
    return {"kwargs": kw, "weights": w, "src": src, "tgt": tgt, "expected": oracles.full_forward(w, kw, src, tgt),
            "misconceptions": oracles.full_misconceptions(w, kw, src, tgt)}


@case()
def full_dropout_in_train_mode(rng):
    """Train mode right after torch.manual_seed(seed): nn.Transformer applies its dropout (kw["dropout"])."""
    kw, w = _full_setup(rng)
    src = _padded_ids(rng, [6, 4, 5], 6, kw["input_size"])
    tgt = _padded_ids(rng, [5, 5, 3], 5, kw["output_size"])
    seed = int(rng.integers(2 ** 31))
    default = oracles.full_train(w, kw, src, tgt, seed, dropout=0.1)
    return {"kwargs": kw, "weights": w, "src": src, "tgt": tgt, "seed": seed,
            "train": oracles.full_train(w, kw, src, tgt, seed), "eval": oracles.full_forward(w, kw, src, tgt),
            "misconceptions": {"nn.Transformer was built with its default dropout (0.1), not the dropout argument: "
                               "pass dropout=dropout": default}}


@case()
def causal_mask_blocks_the_future(rng):
    """Inputs only: two target batches equal before position k; the check compares your scores there."""
    kw, w = _full_setup(rng)
    src = _padded_ids(rng, [6, 6], 6, kw["input_size"])
    tgt = _padded_ids(rng, [6, 6], 6, kw["output_size"])
    k = int(rng.integers(2, 5))
    changed = tgt.copy()
    changed[:, k:] = rng.integers(4, kw["output_size"], size=(2, 6 - k))
    return {"kwargs": kw, "weights": w, "src": src, "tgt": tgt, "changed": changed, "k": k}


@case()
def generate_translation(rng):
    kw, w = _full_setup(rng)
    src = _padded_ids(rng, [6, 4, 5, 6], 6, kw["input_size"])
    w = oracles.eos_biased_weights(w, kw, src, kw["max_length"], rng=rng)   # sentences end at different steps
    return {"kwargs": kw, "weights": w, "src": src, "max_len": kw["max_length"],
            "expected": oracles.full_generate(w, kw, src, kw["max_length"]),
            "no_pad_after_eos": oracles.full_generate(w, kw, src, kw["max_length"], pad_after_eos=False)}


# ---------------------------------------------------------------- data.py
WORDS = ["der", "hund", "sieht", "die", "katze", "das", "pferd"]


def _sentences(rng):
    return [[WORDS[i] for i in rng.integers(0, len(WORDS), size=int(rng.integers(3, 7)))] for _ in range(6)]


@case()
def vocabulary_round_trip(rng):
    """``as_tensor`` goes to decode as a 1-d int64 tensor: its docstring takes a list or a tensor."""
    sentences = _sentences(rng)
    to_encode = [sentences[0], sentences[1] + ["zebra"], ["unbekannt", sentences[2][0]]]
    itos = oracles.vocab_itos(sentences, 1)
    round_trip = oracles.vocab_encode(itos, sentences[3])
    to_decode = [round_trip, round_trip[:-1] + [oracles.EOS, 5, 4, oracles.PAD], [oracles.SOS, 4, 1, oracles.EOS]]
    as_tensor = np.array(round_trip[:-1] + [oracles.PAD, oracles.EOS, 4], dtype=np.int64)
    encoded = [oracles.vocab_encode(itos, tokens) for tokens in to_encode]
    return {"sentences": sentences, "min_freq": 1, "to_encode": to_encode, "to_decode": to_decode, "itos": itos,
            "encoded": encoded, "decoded": [oracles.vocab_decode(itos, ids) for ids in to_decode],
            "as_tensor": as_tensor, "tensor_decoded": oracles.vocab_decode(itos, as_tensor.tolist()),
            "unk_id": oracles.UNK,
            # the ids a student who maps unknown tokens to <pad> returns, and the tokens of one who reads past <eos>
            "unknown_as_pad": [[oracles.PAD if i == oracles.UNK else i for i in ids] for ids in encoded],
            "past_eos": [[itos[i] for i in ids if i not in (oracles.SOS, oracles.PAD, oracles.EOS)]
                         for ids in to_decode]}


@case()
def decode_out_of_vocabulary(rng):
    """An id >= len(vocabulary) before <eos>: decode must raise IndexError, as its docstring promises."""
    sentences = _sentences(rng)
    itos = oracles.vocab_itos(sentences, 1)
    bad = len(itos) + int(rng.integers(0, 5))
    return {"sentences": sentences, "min_freq": 1, "ids": [oracles.SOS, 4, bad, 5, oracles.EOS], "bad": bad,
            "size": len(itos)}
