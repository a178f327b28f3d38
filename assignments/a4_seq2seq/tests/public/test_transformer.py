"""Public checks of the Transformers: closed forms, nn.MultiheadAttention and nn.Transformer with copied weights.

Weights, inputs and expected values are fixtures (tests/fixtures/), computed once by
the instructor's oracle; the hidden tests run the same checks on new random inputs.
Three checks need no oracle: padding columns never change the scores at real tokens,
changing later target tokens never changes earlier scores, and a causal mask is True
exactly where j > i.
"""
import numpy as np
import pytest
import torch

from autograder import Feedback, expect_close, expect_equal, expect_finite, graded, sandbox
from autograder.fixtures import public_case, public_params

TOL = {"rtol": 1e-7, "atol": 1e-10}
TT = "seq2seq.transformer.TransformerTranslator"
FULL = "seq2seq.transformer.FullTransformerTranslator"
PAD = 0     # seq2seq.data.PAD_IDX


def _with_mask(c):
    return (torch.tensor(c["x"]),) + (() if c["pad"] is None else (torch.tensor(c["pad"]),))


def check_embed(c, _=None):
    got = sandbox.call("a4_probes:transformer", c["weights"], c["kwargs"], "embed", torch.tensor(c["ids"]))
    expect_close(got, c["expected"], name=TT + ".embed", what="embedding", misconceptions=c["misconceptions"], **TOL)


def check_multi_head_attention(c, _=None):
    got = sandbox.call("a4_probes:transformer", c["weights"], c["kwargs"], "multi_head_attention", *_with_mask(c))
    expect_close(got, c["expected"], name=TT + ".multi_head_attention", misconceptions=c["misconceptions"], **TOL)


def check_multi_head_attention_matches_torch(c, _=None):
    got = sandbox.call("a4_probes:transformer", c["weights"], c["kwargs"], "multi_head_attention", *_with_mask(c))
    expect_close(got, c["expected"], name=TT + ".multi_head_attention", misconceptions=c["misconceptions"],
                 rtol=1e-6, atol=1e-9)


def check_feedforward_layer(c, _=None):
    got = sandbox.call("a4_probes:transformer", c["weights"], c["kwargs"], "feedforward_layer", torch.tensor(c["x"]))
    expect_close(got, c["expected"], name=TT + ".feedforward_layer", misconceptions=c["misconceptions"], **TOL)


def check_transformer_forward(c, _=None):
    w, kw = c["weights"], c["kwargs"]
    got = sandbox.call("a4_probes:transformer", w, kw, "forward", torch.tensor(c["ids"]))
    expect_close(got, c["expected"], name=TT + ".forward", what="scores", misconceptions=c["misconceptions"], **TOL)
    got = sandbox.call("a4_probes:transformer", w, kw, "final_layer", torch.tensor(c["final_layer_input"]))
    expect_finite(got, name=TT + ".final_layer")


def check_padding_is_never_attended(c, _=None):
    ids, extra = c["ids"], c["extra"]
    out = sandbox.call("a4_probes:padding_invariance", c["weights"], c["kwargs"], torch.tensor(ids), extra)
    real = ids != PAD
    short = expect_finite(out["short"], name=TT + ".forward")
    expect_close(np.asarray(out["long"])[:, :ids.shape[1]][real], short[real], name=TT + ".forward",
                 what="scores at real tokens after adding %d padding columns" % extra, rtol=1e-6, atol=1e-9,
                 hint="padding keys must get -inf before the softmax (pad mask = inputs == pad_idx)")


def check_causal_mask(c, _=None):
    T = c["size"]
    got = np.asarray(sandbox.call("seq2seq.transformer:causal_mask", T))
    name = "seq2seq.transformer.causal_mask"
    # the definition, no oracle needed: position i may see j <= i, so the mask is True strictly above the diagonal
    want = np.triu(np.ones((T, T), dtype=bool), k=1)
    if got.shape == want.shape and got.dtype.kind == "b":
        if np.array_equal(got, want | np.eye(T, dtype=bool)):
            raise Feedback("%s: the diagonal is blocked too: a position must see itself (mask[i, i] is False)" % name)
        if np.array_equal(got, np.triu(want, 2)):
            raise Feedback("%s: causal mask off by one: position i can see position i + 1" % name)
    if got.dtype.kind != "b":
        raise Feedback("%s: return a bool tensor (True = blocked), not %s" % (name, got.dtype))
    expect_equal(got, want, name=name, what="mask")


def check_full_forward(c, _=None):
    got = sandbox.call("a4_probes:full_forward", c["weights"], c["kwargs"], torch.tensor(c["src"]),
                       torch.tensor(c["tgt"]))
    name = FULL + ".forward"
    expect_finite(got, name=name, what="scores")
    expect_close(got, c["expected"], name=name, what="scores", misconceptions=c["misconceptions"], rtol=1e-6,
                 atol=1e-9)


def check_causal_mask_blocks_the_future(c, _=None):
    k = c["k"]
    out = sandbox.call("a4_probes:full_future_blind", c["weights"], c["kwargs"], torch.tensor(c["src"]),
                       torch.tensor(c["tgt"]), torch.tensor(c["changed"]))
    name = FULL + ".forward"
    a = expect_finite(out["a"], name=name, what="scores")
    b = expect_finite(out["b"], name=name, what="scores")
    if not np.allclose(a[:, :k], b[:, :k], rtol=1e-9, atol=1e-12):
        raise Feedback("%s: changing the target tokens from position %d on changed the scores at positions before %d: "
                       "the causal mask lets a position see later tokens (it must see only j <= i)" % (name, k, k))


def check_generate_translation(c, _=None):
    got = sandbox.call("a4_probes:full_generate", c["weights"], c["kwargs"], torch.tensor(c["src"]), c["max_len"])
    want = c["expected"]
    name = FULL + ".generate_translation"
    got = np.asarray(got)
    if got.ndim == 2 and got.shape[0] == want.shape[0] and got.shape[1] > want.shape[1]:
        bad = c["no_pad_after_eos"]
        hint = " (and the tokens after <eos> are not <pad>)" if not np.array_equal(
            got[:, :bad.shape[1]], want[:, :bad.shape[1]]) else ""
        raise Feedback("%s: returned %d tokens per sentence; every sentence had produced <eos> after %d, so decoding "
                       "should have stopped there%s" % (name, got.shape[1], want.shape[1], hint))
    expect_equal(got, want, name=name, what="tokens")


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"embed": check_embed, "multi_head_attention": check_multi_head_attention,
          "multi_head_attention_matches_torch": check_multi_head_attention_matches_torch,
          "feedforward_layer": check_feedforward_layer, "transformer_forward": check_transformer_forward,
          "padding_is_never_attended": check_padding_is_never_attended, "causal_mask": check_causal_mask,
          "full_forward": check_full_forward, "causal_mask_blocks_the_future": check_causal_mask_blocks_the_future,
          "generate_translation": check_generate_translation}


@graded(points=1)
def test_embed():
    """embed adds the learned position embedding of 0..T-1 to the token embedding"""
    check_embed(public_case("embed"))


@pytest.mark.parametrize("masked", public_params("multi_head_attention"))
@graded(points=4)
def test_multi_head_attention(masked):
    """multi_head_attention: scaled dot-product heads, concatenation, projection, residual + LayerNorm"""
    check_multi_head_attention(public_case("multi_head_attention", masked), masked)


@pytest.mark.parametrize("masked", public_params("multi_head_attention_matches_torch"))
@graded(points=2)
def test_multi_head_attention_matches_torch(masked):
    """multi_head_attention equals nn.MultiheadAttention (copied weights) followed by residual + LayerNorm"""
    check_multi_head_attention_matches_torch(public_case("multi_head_attention_matches_torch", masked), masked)


@graded(points=2)
def test_feedforward_layer():
    """feedforward_layer is norm_ff(x + ff2(relu(ff1(x)))) at every position"""
    check_feedforward_layer(public_case("feedforward_layer"))


@graded(points=2)
def test_transformer_forward():
    """TransformerTranslator.forward: embed, masked attention, feed-forward, final layer"""
    check_transformer_forward(public_case("transformer_forward"))


@graded(points=2)
def test_padding_is_never_attended():
    """Adding padding columns leaves the TransformerTranslator's scores at real tokens unchanged"""
    check_padding_is_never_attended(public_case("padding_is_never_attended"))


@graded(points=1)
def test_causal_mask():
    """causal_mask(T) is True exactly above the diagonal (position i sees j <= i)"""
    check_causal_mask(public_case("causal_mask"))


@graded(points=3)
def test_full_forward():
    """FullTransformerTranslator.forward equals nn.Transformer (copied weights) with causal and padding masks"""
    check_full_forward(public_case("full_forward"))


@graded(points=2)
def test_causal_mask_blocks_the_future():
    """Changing later target tokens leaves the scores at earlier positions unchanged"""
    check_causal_mask_blocks_the_future(public_case("causal_mask_blocks_the_future"))


@graded(points=3)
def test_generate_translation():
    """generate_translation decodes greedily from <sos>, pads after <eos> and stops when all sentences ended"""
    check_generate_translation(public_case("generate_translation"))
