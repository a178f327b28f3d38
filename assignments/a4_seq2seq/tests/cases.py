"""A4's test cases: random inputs and weights, the oracle's answers and the values of known mistakes.

Instructor only (autograder zip). ``make fixtures`` runs every case once on fixed
inputs for the public tests (tests/fixtures/); the hidden tests run the same builders
on their own seeded inputs (tests/hidden/test_public_checks_on_new_inputs_hidden.py).
Weights are float64 tensors keyed by parameter name (they reach the probes as they
are); inputs and expected values are NumPy arrays. Cases of the property checks
(padding, the causal mask) carry inputs only: their verdicts need no oracle.
"""
import numpy as np

import oracles
from autograder.fixtures import case

RNN_SIZES = {"batch": (4, 3, 5, 6), "single": (1, 7, 4, 3)}              # N, D, H, O
LSTM_SIZES = {"sequence": (3, 5, 4, 6), "one-step": (2, 1, 3, 2)}         # N, T, D, H
DECODERS = {"rnn": ("RNN", False), "rnn-attention": ("RNN", True), "lstm-attention": ("LSTM", True)}
MASKS = ["no-mask", "padding-mask"]


# ---------------------------------------------------------------- rnn.py, lstm.py
@case(params=list(RNN_SIZES))
def rnn_step(rng, size):
    N, D, H, O = RNN_SIZES[size]
    w = oracles.draw_weights(rng, oracles.rnn_shapes(D, H, O))
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    log_probs, hidden = oracles.rnn_step(w, x, h)
    return {"weights": w, "kwargs": {"input_size": D, "hidden_size": H, "output_size": O}, "x": x, "h": h,
            "log_probs": log_probs, "hidden": hidden, "misconceptions": oracles.rnn_misconceptions(w, x, h)}


@case(params=list(LSTM_SIZES))
def lstm(rng, size):
    N, T, D, H = LSTM_SIZES[size]
    w = oracles.draw_weights(rng, oracles.lstm_shapes(D, H))
    x = rng.normal(size=(N, T, D))
    h, c = oracles.lstm_torch(w, x)
    return {"weights": w, "kwargs": {"input_size": D, "hidden_size": H}, "x": x, "h": h, "c": c,
            "misconceptions": oracles.lstm_misconceptions(w, x)}


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


@case(params=["RNN", "LSTM"])
def encoder(rng, kind):
    V, E, He, Hd, N, T = 11, 4, 5, 5 if kind == "LSTM" else 3, 3, 6
    kwargs = {"input_size": V, "emb_size": E, "encoder_hidden_size": He, "decoder_hidden_size": Hd,
              "dropout": 0.3, "model_type": kind}
    w = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, He, Hd, kind))
    src = _ids(rng, N, T, V)
    return {"weights": w, "kwargs": kwargs, "src": src, "expected": oracles.encoder(w, kind, src),
            "misconceptions": oracles.encoder_misconceptions(w, kind, src)}


@case()
def attention(rng):
    N, T, H = 4, 6, 5
    kwargs = {"emb_size": 3, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": 7,
              "attention": True}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(3, H, H, 7, "RNN", True))
    hidden, enc = rng.normal(size=(1, N, H)), rng.normal(size=(N, T, H))
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
    hidden, enc = np.tanh(rng.normal(size=(1, N, H))), rng.normal(size=(N, T, H))
    cell = rng.normal(size=(1, N, H)) if kind == "LSTM" else None
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
    src = _ids(rng, N, T, V)
    s = int(rng.integers(1000))     # the toy modules' torch seed
    want, fed, first_hidden = oracles.toy_seq2seq(s, V, src, L)
    return {"toy_seed": s, "vocab": V, "src": src, "out_seq_len": L, "outputs": want, "inputs": fed,
            "first_hidden": first_hidden, "misconceptions": oracles.toy_misconceptions(s, V, src, L)}


@case()
def seq2seq_default_length_and_teacher_forcing(rng):
    V, N, T = 10, 3, 4
    src = _ids(rng, N, T, V)
    tgt = _ids(rng, N, 7, V)
    s = int(rng.integers(1000))     # the toy modules' torch seed
    forced, fed, _ = oracles.toy_seq2seq(s, V, src, 6, target=tgt)
    return {"toy_seed": s, "vocab": V, "src": src, "tgt": tgt, "default_outputs": oracles.toy_seq2seq(s, V, src, T)[0],
            "forced_inputs": fed, "forced_outputs": forced}


@case(params=["RNN", "LSTM"])
def seq2seq_end_to_end(rng, kind):
    V, E, H, N, T, L = 10, 4, 5, 3, 5, 6
    ek = {"input_size": V, "emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "model_type": kind}
    dk = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V, "model_type": kind,
          "attention": True}
    ew = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, H, H, kind))
    dw = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, True))
    src = _ids(rng, N, T, V)
    return {"enc_weights": ew, "enc_kwargs": ek, "dec_weights": dw, "dec_kwargs": dk, "src": src, "out_seq_len": L,
            "expected": oracles.seq2seq_full(ew, dw, kind, True, src, L)}


# ---------------------------------------------------------------- transformer.py
def _tt_setup(rng, C=8, h=2, dk=3, dv=5, Fdim=10, L=9, Vin=13, Vout=11):
    kw = {"input_size": Vin, "output_size": Vout, "hidden_dim": C, "num_heads": h, "dim_feedforward": Fdim,
          "dim_k": dk, "dim_v": dv, "dim_q": dk, "max_length": L}
    return kw, oracles.draw_weights(rng, oracles.transformer_shapes(Vin, Vout, C, h, Fdim, dk, dv, L))


def _padded_ids(rng, lengths, T, V):
    """(N, T) ids: <sos>, random tokens, <eos>, then <pad> up to T."""
    out = np.full((len(lengths), T), oracles.PAD, dtype=np.int64)
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
    x = rng.normal(size=(3, 6, kw["hidden_dim"]))
    pad = _pad_mask(masked)
    return {"kwargs": kw, "weights": w, "x": x, "pad": pad, "expected": oracles.multi_head_attention(w, kw, x, pad),
            "misconceptions": oracles.mha_misconceptions(w, kw, x, pad)}


@case(params=MASKS)
def multi_head_attention_matches_torch(rng, masked):
    kw, w = _tt_setup(rng, C=8, h=2, dk=4, dv=4)
    x = rng.normal(size=(2, 5, 8))
    pad = np.array([[False] * 5, [False, False, False, True, True]]) if masked == "padding-mask" else None
    return {"kwargs": kw, "weights": w, "x": x, "pad": pad,
            "expected": oracles.multi_head_attention_torch(w, kw, x, pad),
            "misconceptions": oracles.mha_misconceptions(w, kw, x, pad)}


@case()
def feedforward_layer(rng):
    kw, w = _tt_setup(rng)
    x = rng.normal(size=(2, 4, kw["hidden_dim"]))
    return {"kwargs": kw, "weights": w, "x": x, "expected": oracles.feedforward(w, x),
            "misconceptions": oracles.ffn_misconceptions(w, x)}


@case()
def transformer_forward(rng):
    kw, w = _tt_setup(rng)
    ids = _padded_ids(rng, [8, 5, 3, 6], 8, kw["input_size"])
    expected = oracles.transformer_forward(w, kw, ids)
    misconceptions = oracles.transformer_misconceptions(w, kw, ids)
    return {"kwargs": kw, "weights": w, "ids": ids, "expected": expected, "misconceptions": misconceptions,
            "final_layer_input": rng.normal(size=(2, 3, 8))}


@case()
def padding_is_never_attended(rng):
    """Inputs only: the check compares your scores with and without extra padding columns."""
    kw, w = _tt_setup(rng)
    return {"kwargs": kw, "weights": w, "ids": _padded_ids(rng, [5, 3, 4], 5, kw["input_size"]), "extra": 3}


@case()
def causal_mask(rng):
    """Inputs only: the check knows a causal mask is True exactly where j > i."""
    return {"size": int(rng.integers(3, 7))}


def _full_setup(rng, layers=1):
    kw = {"input_size": 12, "output_size": 10, "hidden_dim": 8, "num_heads": 2, "dim_feedforward": 16,
          "num_layers_enc": layers, "num_layers_dec": layers, "dropout": 0.3, "max_length": 10, "pad_idx": 0}
    return kw, oracles.draw_weights(rng, oracles.full_shapes(kw))


@case()
def full_forward(rng):
    kw, w = _full_setup(rng)
    src = _padded_ids(rng, [6, 4, 5], 6, kw["input_size"])
    tgt = _padded_ids(rng, [5, 5, 3], 5, kw["output_size"])
    return {"kwargs": kw, "weights": w, "src": src, "tgt": tgt, "expected": oracles.full_forward(w, kw, src, tgt),
            "misconceptions": oracles.full_misconceptions(w, kw, src, tgt)}


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
@case()
def vocabulary_round_trip(rng):
    words = ["der", "hund", "sieht", "die", "katze", "das", "pferd"]
    sentences = [[words[i] for i in rng.integers(0, len(words), size=int(rng.integers(3, 7)))] for _ in range(6)]
    to_encode = [sentences[0], sentences[1] + ["zebra"], ["unbekannt", sentences[2][0]]]
    itos = oracles.vocab_itos(sentences, 1)
    round_trip = oracles.vocab_encode(itos, sentences[3])
    to_decode = [round_trip, round_trip[:-1] + [oracles.EOS, 5, 4, oracles.PAD], [oracles.SOS, 4, 1, oracles.EOS]]
    encoded = [oracles.vocab_encode(itos, tokens) for tokens in to_encode]
    return {"sentences": sentences, "min_freq": 1, "to_encode": to_encode, "to_decode": to_decode, "itos": itos,
            "encoded": encoded, "decoded": [oracles.vocab_decode(itos, ids) for ids in to_decode],
            "unk_id": oracles.UNK,
            # the ids a student who maps unknown tokens to <pad> returns, and the tokens of one who reads past <eos>
            "unknown_as_pad": [[oracles.PAD if i == oracles.UNK else i for i in ids] for ids in encoded],
            "past_eos": [[itos[i] for i in ids if i not in (oracles.SOS, oracles.PAD, oracles.EOS)]
                         for ids in to_decode]}
