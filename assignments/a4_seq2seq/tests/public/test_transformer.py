"""Public checks of the Transformers: closed forms, nn.MultiheadAttention and nn.Transformer with copied weights.

Weights, inputs and expected values are fixtures (tests/fixtures/), computed once by
the instructor's oracle; the hidden tests run the same checks on new random inputs.
Your modules run in float32 on float32 inputs, compared with float32 tolerances (see
a4_feedback.py). Three checks need no oracle: padding columns never change the scores
at real tokens, changing later target tokens never changes earlier scores, and a causal
mask is True exactly where j > i.
"""
import numpy as np
import pytest

from a4_feedback import ATOL, RTOL, expect_close32, expect_outputs, f32, ids, same_value, scale_of
from autograder import Feedback, expect_equal, expect_finite, graded, sandbox
from autograder.fixtures import public_case, public_params

TT = "seq2seq.transformer.TransformerTranslator"
FULL = "seq2seq.transformer.FullTransformerTranslator"


def _with_mask(c):
    return (f32(c["x"]),) + (() if c["pad"] is None else (ids(c["pad"]).bool(),))


def check_embed(c, _=None):
    got = sandbox.call("a4_probes:transformer", f32(c["weights"]), c["kwargs"], "embed", ids(c["ids"]))
    expect_close32(got, c["expected"], name=TT + ".embed", what="embedding", misconceptions=c["misconceptions"])


def check_multi_head_attention(c, _=None):
    got = sandbox.call("a4_probes:transformer", f32(c["weights"]), c["kwargs"], "multi_head_attention", *_with_mask(c))
    expect_close32(got, c["expected"], name=TT + ".multi_head_attention", misconceptions=c["misconceptions"])


def check_multi_head_attention_matches_torch(c, _=None):
    got = sandbox.call("a4_probes:transformer", f32(c["weights"]), c["kwargs"], "multi_head_attention", *_with_mask(c))
    expect_close32(got, c["expected"], name=TT + ".multi_head_attention", misconceptions=c["misconceptions"])


def check_feedforward_layer(c, _=None):
    got = sandbox.call("a4_probes:transformer", f32(c["weights"]), c["kwargs"], "feedforward_layer", f32(c["x"]))
    expect_close32(got, c["expected"], name=TT + ".feedforward_layer", misconceptions=c["misconceptions"])


def check_transformer_forward(c, _=None):
    w, kw = f32(c["weights"]), c["kwargs"]
    got = sandbox.call("a4_probes:transformer", w, kw, "forward", ids(c["ids"]))
    expect_close32(got, c["expected"], name=TT + ".forward", what="scores", misconceptions=c["misconceptions"])
    got = sandbox.call("a4_probes:transformer", w, kw, "final_layer", f32(c["final_layer_input"]))
    expect_finite(got, name=TT + ".final_layer")


def check_padding_is_never_attended(c, _=None):
    tokens, extra, pad = c["ids"], c["extra"], c["pad_idx"]
    out = sandbox.call("a4_probes:padding_invariance", f32(c["weights"]), c["kwargs"], ids(tokens), extra)
    real = tokens != pad
    short = expect_finite(out["short"], name=TT + ".forward")
    hint = "padding keys must get -inf (or -1e9) before the softmax; the pad mask is inputs == self.pad_idx"
    if pad != 0:
        hint += " (here pad_idx=%d: build the mask from self.pad_idx, not from PAD_IDX or 0)" % pad
    expect_close32(np.asarray(out["long"])[:, :tokens.shape[1]][real], short[real], name=TT + ".forward",
                   what="scores at real tokens after adding %d padding columns" % extra, hint=hint)


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
    got = sandbox.call("a4_probes:full_forward", f32(c["weights"]), c["kwargs"], ids(c["src"]), ids(c["tgt"]))
    name = FULL + ".forward"
    got = expect_finite(got, name=name, what="scores")
    expect_close32(got, c["expected"], name=name, what="scores", misconceptions=c["misconceptions"],
                   hint=_where_wrong(got, c["expected"], c["tgt"], c["kwargs"]["pad_idx"]))


def _where_wrong(got, want, tgt, pad):
    """A hint when every wrong score sits at a target padding position (tgt == pad)."""
    got, want = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    if got.shape != want.shape:
        return None
    wrong = ~np.isclose(got, want, rtol=RTOL, atol=ATOL * scale_of(want)).all(axis=-1)     # (N, T)
    if wrong.any() and (np.asarray(tgt)[wrong] == pad).all():
        return ("every wrong score sits at a target padding position (tgt == pad_idx): the decoder's self-attention "
                "must not see target padding; pass tgt_key_padding_mask=(tgt == self.pad_idx)")
    return None


def check_full_dropout_in_train_mode(c, _=None):
    got = sandbox.call("a4_probes:full_modes", f32(c["weights"]), c["kwargs"], ids(c["src"]), ids(c["tgt"]),
                       c["seed"])
    name, p = FULL + ".forward", c["kwargs"]["dropout"]
    if not all(same_value(x, y) for x, y in zip(got["eval"], got["eval_again"])):
        raise Feedback("%s: in eval mode two calls on the same input gave different scores. Either dropout is "
                       "active in eval mode (the only dropout is nn.Transformer's own, which model.eval() switches "
                       "off), or some state is carried from one call to the next" % name)
    expect_outputs(got["eval"], [("scores", c["eval"])], name=name, what="eval mode")
    expect_outputs(got["train"], [("scores", c["train"])], name=name,
                   what="train mode (dropout=%g) after torch.manual_seed(%d)" % (p, c["seed"]),
                   misconceptions={k: [v] for k, v in c["misconceptions"].items()},
                   hint="build nn.Transformer with dropout=dropout and add no dropout of your own (the embeddings "
                        "have none), so that the same seed gives the same masks")


def check_causal_mask_blocks_the_future(c, _=None):
    k = c["k"]
    out = sandbox.call("a4_probes:full_future_blind", f32(c["weights"]), c["kwargs"], ids(c["src"]), ids(c["tgt"]),
                       ids(c["changed"]))
    name = FULL + ".forward"
    a = expect_finite(out["a"], name=name, what="scores")
    b = expect_finite(out["b"], name=name, what="scores")
    if not same_value(a[:, :k], b[:, :k], rtol=1e-5, atol=1e-6):
        raise Feedback("%s: changing the target tokens from position %d on changed the scores at positions before %d: "
                       "the causal mask lets a position see later tokens (it must see only j <= i)" % (name, k, k))


def check_generate_translation(c, _=None):
    got = sandbox.call("a4_probes:full_generate", f32(c["weights"]), c["kwargs"], ids(c["src"]), c["max_len"])
    want = c["expected"]
    name = FULL + ".generate_translation"
    got = np.asarray(got)
    if got.dtype.kind not in "iu":
        raise Feedback("%s: return the token ids as an int64 tensor (torch.long), not %s" % (name, got.dtype))
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
          "full_forward": check_full_forward, "full_dropout_in_train_mode": check_full_dropout_in_train_mode,
          "causal_mask_blocks_the_future": check_causal_mask_blocks_the_future,
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


@pytest.mark.parametrize("pad", public_params("padding_is_never_attended"))
@graded(points=2)
def test_padding_is_never_attended(pad):
    """Adding padding columns leaves the TransformerTranslator's scores at real tokens unchanged"""
    check_padding_is_never_attended(public_case("padding_is_never_attended", pad), pad)


@graded(points=1)
def test_causal_mask():
    """causal_mask(T) is True exactly above the diagonal (position i sees j <= i)"""
    check_causal_mask(public_case("causal_mask"))


@pytest.mark.parametrize("pad", public_params("full_forward"))
@graded(points=3)
def test_full_forward(pad):
    """FullTransformerTranslator.forward equals nn.Transformer (copied weights) with causal and padding masks"""
    check_full_forward(public_case("full_forward", pad), pad)


@graded(points=1)
def test_full_dropout_in_train_mode():
    """FullTransformerTranslator: nn.Transformer's dropout is on in train mode and off in eval mode"""
    check_full_dropout_in_train_mode(public_case("full_dropout_in_train_mode"))


@graded(points=2)
def test_causal_mask_blocks_the_future():
    """Changing later target tokens leaves the scores at earlier positions unchanged"""
    check_causal_mask_blocks_the_future(public_case("causal_mask_blocks_the_future"))


@graded(points=3)
def test_generate_translation():
    """generate_translation decodes greedily from <sos>, pads after <eos> and stops when all sentences ended"""
    check_generate_translation(public_case("generate_translation"))
