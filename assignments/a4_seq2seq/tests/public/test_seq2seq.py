"""Public checks of the encoder, the attention, the decoder and Seq2Seq's greedy decoding."""
import numpy as np
import pytest
import torch

import oracles
from autograder import Feedback, expect_close, expect_equal, graded, sandbox

TOL = {"rtol": 1e-7, "atol": 1e-10}


def _ids(rng, N, T, V):
    src = rng.integers(4, V, size=(N, T))
    src[:, 0] = oracles.SOS
    return src


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
@graded(points=3)
def test_encoder(rng, kind):
    """Encoder.forward: outputs of nn.RNN / nn.LSTM and the projected last hidden state"""
    V, E, He, Hd, N, T = 11, 4, 5, 5 if kind == "LSTM" else 3, 3, 6
    kwargs = {"input_size": V, "emb_size": E, "encoder_hidden_size": He, "decoder_hidden_size": Hd,
              "dropout": 0.3, "model_type": kind}
    w = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, He, Hd, kind))
    src = _ids(rng, N, T, V)
    out = sandbox.call("a4_probes:encoder", w, kwargs, torch.tensor(src))
    want = oracles.encoder(w, kind, src)
    name = "seq2seq.encoder.Encoder.forward"
    expect_close(out["outputs"], want["outputs"], name=name, what="outputs", **TOL)
    expect_close(out["hidden"], want["hidden"], name=name, what="hidden state",
                 misconceptions=oracles.encoder_misconceptions(w, kind, src), **TOL)
    if kind == "LSTM":
        if "cell" not in out:
            raise Feedback("%s: for an LSTM, return hidden as the pair (hidden, cell)" % name)
        expect_close(out["cell"], want["cell"], name=name, what="cell state", **TOL)


@graded(points=3)
def test_attention(rng):
    """Decoder.compute_attention: softmax over the source steps of the cosine similarity"""
    N, T, H = 4, 6, 5
    kwargs = {"emb_size": 3, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": 7,
              "attention": True}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(3, H, H, 7, "RNN", True))
    hidden, enc = rng.normal(size=(1, N, H)), rng.normal(size=(N, T, H))
    got = sandbox.call("a4_probes:attention", w, kwargs, torch.tensor(hidden), torch.tensor(enc))
    expect_close(got, oracles.cosine_attention(hidden, enc), name="seq2seq.decoder.Decoder.compute_attention",
                 what="attention weights", misconceptions=oracles.attention_misconceptions(hidden, enc), **TOL)


@pytest.mark.parametrize("kind,attention", [("RNN", False), ("RNN", True), ("LSTM", True)],
                         ids=["rnn", "rnn-attention", "lstm-attention"])
@graded(points=3)
def test_decoder_step(rng, kind, attention):
    """Decoder.forward: one step of embedding, (attention,) recurrence and log-softmax"""
    N, T, E, H, V = 3, 5, 4, 6, 9
    kwargs = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V, "dropout": 0.3,
              "model_type": kind, "attention": attention}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, attention))
    inp = rng.integers(0, V, size=(N, 1))
    hidden, enc = np.tanh(rng.normal(size=(1, N, H))), rng.normal(size=(N, T, H))
    cell = rng.normal(size=(1, N, H)) if kind == "LSTM" else None
    out = sandbox.call("a4_probes:decoder_step", w, kwargs, torch.tensor(inp), torch.tensor(hidden),
                       torch.tensor(enc), None if cell is None else torch.tensor(cell))
    want = oracles.decoder_step(w, kind, attention, inp, hidden, enc, cell)
    wrong = {}
    if attention:
        wrong["the context vector goes after the embedding: torch.cat((embedded, context), dim=2)"] = \
            oracles.decoder_step(w, kind, attention, inp, hidden, enc, cell, context_first=True)["log_probs"]
    name = "seq2seq.decoder.Decoder.forward"
    expect_close(out["log_probs"], want["log_probs"], name=name, what="log-probabilities", misconceptions=wrong, **TOL)
    expect_close(out["hidden"], want["hidden"], name=name, what="new hidden state", **TOL)


@graded(points=3)
def test_seq2seq_greedy(rng, seed):
    """Seq2Seq.forward decodes greedily from <sos>, feeding back each step's argmax"""
    V, N, T, L = 12, 4, 5, 6
    src = _ids(rng, N, T, V)
    s = seed % 1000
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, torch.tensor(src), L)
    want, fed, first_hidden = oracles.toy_seq2seq(s, V, src, L)
    name = "seq2seq.model.Seq2Seq.forward"
    expect_close(out["outputs"], want, name=name, what="log-probabilities",
                 misconceptions=oracles.toy_misconceptions(s, V, src, L), **TOL)
    expect_close(out["first_hidden"], first_hidden, name=name, what="decoder's first hidden state",
                 hint="the encoder's final hidden state is the decoder's initial hidden state", **TOL)
    expect_equal(out["inputs"], fed, name=name, what="sequence of decoder inputs")


@graded(points=2)
def test_seq2seq_default_length_and_teacher_forcing(rng, seed):
    """Seq2Seq.forward decodes T steps by default, and feeds target tokens when a target is given"""
    V, N, T = 10, 3, 4
    src = _ids(rng, N, T, V)
    tgt = _ids(rng, N, 7, V)
    s = (seed + 1) % 1000
    name = "seq2seq.model.Seq2Seq.forward"
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, torch.tensor(src))
    expect_close(out["outputs"], oracles.toy_seq2seq(s, V, src, T)[0], name=name,
                 what="log-probabilities with out_seq_len=None (T steps)", **TOL)
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, torch.tensor(src), None, torch.tensor(tgt))
    want, fed, _ = oracles.toy_seq2seq(s, V, src, 6, target=tgt)
    expect_equal(out["inputs"], fed, name=name, what="decoder inputs under teacher forcing")
    expect_close(out["outputs"], want, name=name, what="log-probabilities under teacher forcing", **TOL)


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
@graded(points=2)
def test_seq2seq_end_to_end(rng, kind):
    """Your Encoder, Decoder with attention and Seq2Seq together decode like the oracle"""
    V, E, H, N, T, L = 10, 4, 5, 3, 5, 6
    ek = {"input_size": V, "emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "model_type": kind}
    dk = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V, "model_type": kind,
          "attention": True}
    ew = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, H, H, kind))
    dw = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, True))
    src = _ids(rng, N, T, V)
    got = sandbox.call("a4_probes:seq2seq_full", ew, ek, dw, dk, torch.tensor(src), L)
    expect_close(got, oracles.seq2seq_full(ew, dw, kind, True, src, L), name="seq2seq.model.Seq2Seq.forward",
                 what="log-probabilities of Encoder + Decoder + Seq2Seq", rtol=1e-6, atol=1e-9)
