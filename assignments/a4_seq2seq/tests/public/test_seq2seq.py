"""Public checks of the encoder, the attention, the decoder and Seq2Seq's greedy decoding.

Weights, inputs and expected values are fixtures (tests/fixtures/), computed once by
the instructor's oracle (torch.nn.RNN / nn.LSTM with the same weights, and a toy
encoder/decoder around your Seq2Seq); the hidden tests run the same checks on new
random inputs.
"""
import pytest
import torch

from autograder import Feedback, expect_close, expect_equal, graded, sandbox
from autograder.fixtures import public_case, public_params

TOL = {"rtol": 1e-7, "atol": 1e-10}
S2S = "seq2seq.model.Seq2Seq.forward"


def check_encoder(c, kind):
    out = sandbox.call("a4_probes:encoder", c["weights"], c["kwargs"], torch.tensor(c["src"]))
    want = c["expected"]
    name = "seq2seq.encoder.Encoder.forward"
    expect_close(out["outputs"], want["outputs"], name=name, what="outputs", **TOL)
    expect_close(out["hidden"], want["hidden"], name=name, what="hidden state", misconceptions=c["misconceptions"],
                 **TOL)
    if kind == "LSTM":
        if "cell" not in out:
            raise Feedback("%s: for an LSTM, return hidden as the pair (hidden, cell)" % name)
        expect_close(out["cell"], want["cell"], name=name, what="cell state", **TOL)


def check_attention(c, _=None):
    got = sandbox.call("a4_probes:attention", c["weights"], c["kwargs"], torch.tensor(c["hidden"]),
                       torch.tensor(c["encoder_outputs"]))
    expect_close(got, c["expected"], name="seq2seq.decoder.Decoder.compute_attention", what="attention weights",
                 misconceptions=c["misconceptions"], **TOL)


def check_decoder_step(c, _=None):
    cell = c["cell"]
    out = sandbox.call("a4_probes:decoder_step", c["weights"], c["kwargs"], torch.tensor(c["input"]),
                       torch.tensor(c["hidden"]), torch.tensor(c["encoder_outputs"]),
                       None if cell is None else torch.tensor(cell))
    name = "seq2seq.decoder.Decoder.forward"
    expect_close(out["log_probs"], c["log_probs"], name=name, what="log-probabilities",
                 misconceptions=c["misconceptions"], **TOL)
    expect_close(out["hidden"], c["new_hidden"], name=name, what="new hidden state", **TOL)


def check_seq2seq_greedy(c, _=None):
    out = sandbox.call("a4_probes:seq2seq_toy", c["toy_seed"], c["vocab"], torch.tensor(c["src"]), c["out_seq_len"])
    expect_close(out["outputs"], c["outputs"], name=S2S, what="log-probabilities", misconceptions=c["misconceptions"],
                 **TOL)
    expect_close(out["first_hidden"], c["first_hidden"], name=S2S, what="decoder's first hidden state",
                 hint="the encoder's final hidden state is the decoder's initial hidden state", **TOL)
    expect_equal(out["inputs"], c["inputs"], name=S2S, what="sequence of decoder inputs")


def check_seq2seq_default_length_and_teacher_forcing(c, _=None):
    s, V, src = c["toy_seed"], c["vocab"], torch.tensor(c["src"])
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, src)
    expect_close(out["outputs"], c["default_outputs"], name=S2S,
                 what="log-probabilities with out_seq_len=None (T steps)", **TOL)
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, src, None, torch.tensor(c["tgt"]))
    expect_equal(out["inputs"], c["forced_inputs"], name=S2S, what="decoder inputs under teacher forcing")
    expect_close(out["outputs"], c["forced_outputs"], name=S2S, what="log-probabilities under teacher forcing", **TOL)


def check_seq2seq_end_to_end(c, _=None):
    got = sandbox.call("a4_probes:seq2seq_full", c["enc_weights"], c["enc_kwargs"], c["dec_weights"], c["dec_kwargs"],
                       torch.tensor(c["src"]), c["out_seq_len"])
    expect_close(got, c["expected"], name=S2S, what="log-probabilities of Encoder + Decoder + Seq2Seq",
                 rtol=1e-6, atol=1e-9)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"encoder": check_encoder, "attention": check_attention, "decoder_step": check_decoder_step,
          "seq2seq_greedy": check_seq2seq_greedy,
          "seq2seq_default_length_and_teacher_forcing": check_seq2seq_default_length_and_teacher_forcing,
          "seq2seq_end_to_end": check_seq2seq_end_to_end}


@pytest.mark.parametrize("kind", public_params("encoder"))
@graded(points=3)
def test_encoder(kind):
    """Encoder.forward: outputs of nn.RNN / nn.LSTM and the projected last hidden state"""
    check_encoder(public_case("encoder", kind), kind)


@graded(points=3)
def test_attention():
    """Decoder.compute_attention: softmax over the source steps of the cosine similarity"""
    check_attention(public_case("attention"))


@pytest.mark.parametrize("variant", public_params("decoder_step"))
@graded(points=3)
def test_decoder_step(variant):
    """Decoder.forward: one step of embedding, (attention,) recurrence and log-softmax"""
    check_decoder_step(public_case("decoder_step", variant), variant)


@graded(points=3)
def test_seq2seq_greedy():
    """Seq2Seq.forward decodes greedily from <sos>, feeding back each step's argmax"""
    check_seq2seq_greedy(public_case("seq2seq_greedy"))


@graded(points=2)
def test_seq2seq_default_length_and_teacher_forcing():
    """Seq2Seq.forward decodes T steps by default, and feeds target tokens when a target is given"""
    check_seq2seq_default_length_and_teacher_forcing(public_case("seq2seq_default_length_and_teacher_forcing"))


@pytest.mark.parametrize("kind", public_params("seq2seq_end_to_end"))
@graded(points=2)
def test_seq2seq_end_to_end(kind):
    """Your Encoder, Decoder with attention and Seq2Seq together decode like the oracle"""
    check_seq2seq_end_to_end(public_case("seq2seq_end_to_end", kind), kind)
