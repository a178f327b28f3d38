"""Public checks of the Transformers: closed forms, nn.MultiheadAttention and nn.Transformer with copied weights."""
import numpy as np
import pytest
import torch

import oracles
from autograder import Feedback, expect_close, expect_equal, expect_finite, graded, sandbox

TOL = {"rtol": 1e-7, "atol": 1e-10}
TT = "seq2seq.transformer.TransformerTranslator"
FULL = "seq2seq.transformer.FullTransformerTranslator"


def tt_setup(rng, C=8, h=2, dk=3, dv=5, Fdim=10, L=9, Vin=13, Vout=11):
    kw = {"input_size": Vin, "output_size": Vout, "hidden_dim": C, "num_heads": h, "dim_feedforward": Fdim,
          "dim_k": dk, "dim_v": dv, "dim_q": dk, "max_length": L}
    return kw, oracles.draw_weights(rng, oracles.transformer_shapes(Vin, Vout, C, h, Fdim, dk, dv, L))


def padded_ids(rng, lengths, T, V):
    """(N, T) ids: <sos>, random tokens, <eos>, then <pad> up to T."""
    out = np.full((len(lengths), T), oracles.PAD, dtype=np.int64)
    for i, n in enumerate(lengths):
        out[i, :n] = rng.integers(4, V, size=n)
        out[i, 0], out[i, n - 1] = oracles.SOS, oracles.EOS
    return out


@graded(points=1)
def test_embed(rng):
    """embed adds the learned position embedding of 0..T-1 to the token embedding"""
    kw, w = tt_setup(rng)
    ids = padded_ids(rng, [7, 5, 3], 7, kw["input_size"])
    got = sandbox.call("a4_probes:transformer", w, kw, "embed", torch.tensor(ids))
    expect_close(got, oracles.embed(w, ids), name=TT + ".embed", what="embedding",
                 misconceptions=oracles.embed_misconceptions(w, ids), **TOL)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "padding-mask"])
@graded(points=4)
def test_multi_head_attention(rng, masked):
    """multi_head_attention: scaled dot-product heads, concatenation, projection, residual + LayerNorm"""
    kw, w = tt_setup(rng)
    x = rng.normal(size=(3, 6, kw["hidden_dim"]))
    pad = None
    if masked:
        pad = np.zeros((3, 6), dtype=bool)
        pad[0, 4:], pad[2, 2:] = True, True
    args = (torch.tensor(x),) + (() if pad is None else (torch.tensor(pad),))
    got = sandbox.call("a4_probes:transformer", w, kw, "multi_head_attention", *args)
    expect_close(got, oracles.multi_head_attention(w, kw, x, pad), name=TT + ".multi_head_attention",
                 misconceptions=oracles.mha_misconceptions(w, kw, x, pad), **TOL)


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "padding-mask"])
@graded(points=2)
def test_multi_head_attention_matches_torch(rng, masked):
    """multi_head_attention equals nn.MultiheadAttention (copied weights) followed by residual + LayerNorm"""
    kw, w = tt_setup(rng, C=8, h=2, dk=4, dv=4)
    x = rng.normal(size=(2, 5, 8))
    pad = np.array([[False] * 5, [False, False, False, True, True]]) if masked else None
    args = (torch.tensor(x),) + (() if pad is None else (torch.tensor(pad),))
    got = sandbox.call("a4_probes:transformer", w, kw, "multi_head_attention", *args)
    expect_close(got, oracles.multi_head_attention_torch(w, kw, x, pad), name=TT + ".multi_head_attention",
                 misconceptions=oracles.mha_misconceptions(w, kw, x, pad), rtol=1e-6, atol=1e-9)


@graded(points=2)
def test_feedforward_layer(rng):
    """feedforward_layer is norm_ff(x + ff2(relu(ff1(x)))) at every position"""
    kw, w = tt_setup(rng)
    x = rng.normal(size=(2, 4, kw["hidden_dim"]))
    got = sandbox.call("a4_probes:transformer", w, kw, "feedforward_layer", torch.tensor(x))
    expect_close(got, oracles.feedforward(w, x), name=TT + ".feedforward_layer",
                 misconceptions=oracles.ffn_misconceptions(w, x), **TOL)


@graded(points=2)
def test_transformer_forward(rng):
    """TransformerTranslator.forward: embed, masked attention, feed-forward, final layer"""
    kw, w = tt_setup(rng)
    ids = padded_ids(rng, [8, 5, 3, 6], 8, kw["input_size"])
    got = sandbox.call("a4_probes:transformer", w, kw, "forward", torch.tensor(ids))
    expect_close(got, oracles.transformer_forward(w, kw, ids), name=TT + ".forward", what="scores",
                 misconceptions=oracles.transformer_misconceptions(w, kw, ids), **TOL)
    got = sandbox.call("a4_probes:transformer", w, kw, "final_layer", torch.tensor(rng.normal(size=(2, 3, 8))))
    expect_finite(got, name=TT + ".final_layer")


@graded(points=2)
def test_padding_is_never_attended(rng):
    """Adding padding columns leaves the TransformerTranslator's scores at real tokens unchanged"""
    kw, w = tt_setup(rng)
    ids = padded_ids(rng, [5, 3, 4], 5, kw["input_size"])
    out = sandbox.call("a4_probes:padding_invariance", w, kw, torch.tensor(ids), 3)
    real = ids != oracles.PAD
    short = expect_finite(out["short"], name=TT + ".forward")
    expect_close(np.asarray(out["long"])[:, :5][real], short[real], name=TT + ".forward",
                 what="scores at real tokens after adding 3 padding columns", rtol=1e-6, atol=1e-9,
                 hint="padding keys must get -inf before the softmax (pad mask = inputs == pad_idx)")


@graded(points=1)
def test_causal_mask(rng):
    """causal_mask(T) is True exactly above the diagonal (position i sees j <= i)"""
    T = int(rng.integers(3, 7))
    got = np.asarray(sandbox.call("seq2seq.transformer:causal_mask", T))
    name = "seq2seq.transformer.causal_mask"
    want = oracles.causal_mask(T)
    if got.shape == want.shape and got.dtype.kind == "b":
        if np.array_equal(got, want | np.eye(T, dtype=bool)):
            raise Feedback("%s: the diagonal is blocked too: a position must see itself (mask[i, i] is False)" % name)
        if np.array_equal(got, np.triu(want, 2)):
            raise Feedback("%s: causal mask off by one: position i can see position i + 1" % name)
    if got.dtype.kind != "b":
        raise Feedback("%s: return a bool tensor (True = blocked), not %s" % (name, got.dtype))
    expect_equal(got, want, name=name, what="mask")


def full_setup(rng, layers=1):
    kw = {"input_size": 12, "output_size": 10, "hidden_dim": 8, "num_heads": 2, "dim_feedforward": 16,
          "num_layers_enc": layers, "num_layers_dec": layers, "dropout": 0.3, "max_length": 10, "pad_idx": 0}
    return kw, oracles.draw_weights(rng, oracles.full_shapes(kw))


@graded(points=3)
def test_full_forward(rng):
    """FullTransformerTranslator.forward equals nn.Transformer (copied weights) with causal and padding masks"""
    kw, w = full_setup(rng)
    src = padded_ids(rng, [6, 4, 5], 6, kw["input_size"])
    tgt = padded_ids(rng, [5, 5, 3], 5, kw["output_size"])
    got = sandbox.call("a4_probes:full_forward", w, kw, torch.tensor(src), torch.tensor(tgt))
    name = FULL + ".forward"
    expect_finite(got, name=name, what="scores")
    expect_close(got, oracles.full_forward(w, kw, src, tgt), name=name, what="scores",
                 misconceptions=oracles.full_misconceptions(w, kw, src, tgt), rtol=1e-6, atol=1e-9)


@graded(points=2)
def test_causal_mask_blocks_the_future(rng):
    """Changing later target tokens leaves the scores at earlier positions unchanged"""
    kw, w = full_setup(rng)
    src = padded_ids(rng, [6, 6], 6, kw["input_size"])
    tgt = padded_ids(rng, [6, 6], 6, kw["output_size"])
    k = int(rng.integers(2, 5))
    changed = tgt.copy()
    changed[:, k:] = rng.integers(4, kw["output_size"], size=(2, 6 - k))
    out = sandbox.call("a4_probes:full_future_blind", w, kw, torch.tensor(src), torch.tensor(tgt),
                       torch.tensor(changed))
    name = FULL + ".forward"
    a = expect_finite(out["a"], name=name, what="scores")
    b = expect_finite(out["b"], name=name, what="scores")
    if not np.allclose(a[:, :k], b[:, :k], rtol=1e-9, atol=1e-12):
        raise Feedback("%s: changing the target tokens from position %d on changed the scores at positions before %d: "
                       "the causal mask lets a position see later tokens (it must see only j <= i)" % (name, k, k))


@graded(points=3)
def test_generate_translation(rng):
    """generate_translation decodes greedily from <sos>, pads after <eos> and stops when all sentences ended"""
    kw, w = full_setup(rng)
    src = padded_ids(rng, [6, 4, 5, 6], 6, kw["input_size"])
    w = oracles.eos_biased_weights(w, kw, src, kw["max_length"], rng=rng)
    got = sandbox.call("a4_probes:full_generate", w, kw, torch.tensor(src), kw["max_length"])
    want = oracles.full_generate(w, kw, src, kw["max_length"])
    name = FULL + ".generate_translation"
    got = np.asarray(got)
    if got.ndim == 2 and got.shape[0] == want.shape[0] and got.shape[1] > want.shape[1]:
        bad = oracles.full_generate(w, kw, src, kw["max_length"], pad_after_eos=False)
        hint = " (and the tokens after <eos> are not <pad>)" if not np.array_equal(
            got[:, :bad.shape[1]], want[:, :bad.shape[1]]) else ""
        raise Feedback("%s: returned %d tokens per sentence; every sentence had produced <eos> after %d, so decoding "
                       "should have stopped there%s" % (name, got.shape[1], want.shape[1], hint))
    expect_equal(got, want, name=name, what="tokens")
