"""Public checks of the encoder, the attention, the decoder and Seq2Seq's greedy decoding.

Weights, inputs and expected values are fixtures (tests/fixtures/), computed once by
the instructor's oracle (torch.nn.RNN / nn.LSTM with the same weights, and a toy
encoder/decoder around your Seq2Seq); the hidden tests run the same checks on new
random inputs. Your modules run in float32 on float32 inputs, compared with float32
tolerances (see a4_feedback.py). Most checks run your modules in eval mode; the
dropout checks also run them in train mode right after ``torch.manual_seed(seed)``,
where nn.Dropout draws the same mask as the oracle's.
"""
import pytest

from a4_feedback import expect_close32, expect_outputs, f32, ids, same_value
from autograder import Feedback, expect_equal, graded, sandbox
from autograder.fixtures import public_case, public_params

S2S = "seq2seq.model.Seq2Seq.forward"
ENC = "seq2seq.encoder.Encoder.forward"
DEC = "seq2seq.decoder.Decoder.forward"


def check_encoder(c, kind):
    out = sandbox.call("a4_probes:encoder", f32(c["weights"]), c["kwargs"], ids(c["src"]))
    want = c["expected"]
    expect_close32(out["outputs"], want["outputs"], name=ENC, what="outputs")
    expect_close32(out["hidden"], want["hidden"], name=ENC, what="hidden state", misconceptions=c["misconceptions"])
    if kind == "LSTM":
        if "cell" not in out:
            raise Feedback("%s: for an LSTM, return hidden as the pair (hidden, cell)" % ENC)
        expect_close32(out["cell"], want["cell"], name=ENC, what="cell state")


def check_encoder_called_twice(c, _=None):
    out = sandbox.call("a4_probes:encoder_calls", f32(c["weights"]), c["kwargs"], [ids(s) for s in c["sources"]])
    want = c["expected"]
    if not isinstance(out, list) or len(out) != len(want):
        raise Feedback("%s: the probe expected one output per call" % ENC)
    first_ok = len(out[0]) == len(want[0]) and all(same_value(g, v) for g, (_, v) in zip(out[0], want[0]))
    for i, (got, values) in enumerate(zip(out, want)):
        if i and first_ok and not (len(got) == len(values) and all(same_value(g, v) for g, (_, v) in zip(got, values))):
            raise Feedback("%s: the same Encoder gave a wrong result on call %d (a new batch) although call 1 was "
                           "right: state is carried over from the previous call. Run self.recurrent from its "
                           "default zero state (self.recurrent(embedded)); do not keep its hidden state on self"
                           % (ENC, i + 1))
        expect_outputs(got, values, name=ENC, what="call %d of %d" % (i + 1, len(out)))


def check_dropout_in_train_mode(c, _=None):
    kind, a, p = c["module"], c["args"], c["kwargs"]["dropout"]
    name = ENC if kind == "encoder" else DEC
    if kind == "encoder":
        got = sandbox.call("a4_probes:encoder_modes", f32(c["weights"]), c["kwargs"], ids(a["source"]), c["seed"])
    else:
        got = sandbox.call("a4_probes:decoder_modes", f32(c["weights"]), c["kwargs"], ids(a["input"]),
                           f32(a["hidden"]), f32(a["encoder_outputs"]), f32(a["cell"]), c["seed"])
    if not all(same_value(x, y) for x, y in zip(got["eval"], got["eval_again"])):
        raise Feedback("%s: in eval mode two calls on the same input gave different outputs. Either dropout is "
                       "active in eval mode (use self.dropout, an nn.Dropout that model.eval() switches off, or "
                       "F.dropout(x, p, training=self.training)), or some state is carried from one call to the "
                       "next (keep nothing on self between calls)" % name)
    expect_outputs(got["eval"], c["eval"], name=name, what="eval mode")
    train = got["train"]
    if len(train) == len(c["eval"]) and all(same_value(x, v) for x, (_, v) in zip(train, c["eval"])):
        raise Feedback("%s: in train mode (dropout=%g) your outputs equal the eval-mode ones: dropout is never "
                       "applied; apply self.dropout to the embeddings: embedded = self.dropout(self.embedding(%s))"
                       % (name, p, "source" if kind == "encoder" else "input"))
    expect_outputs(train, c["train"], name=name, what="train mode (dropout=%g) after torch.manual_seed(%d)"
                   % (p, c["seed"]), misconceptions=c["misconceptions"],
                   hint="apply self.dropout exactly once, to the embedding output (dropout(embedding(x))), and draw "
                        "no other random numbers in forward, so that the same seed gives the same mask")


def check_attention(c, _=None):
    got = sandbox.call("a4_probes:attention", f32(c["weights"]), c["kwargs"], f32(c["hidden"]),
                       f32(c["encoder_outputs"]))
    expect_close32(got, c["expected"], name="seq2seq.decoder.Decoder.compute_attention", what="attention weights",
                   misconceptions=c["misconceptions"])


def check_decoder_step(c, _=None):
    out = sandbox.call("a4_probes:decoder_step", f32(c["weights"]), c["kwargs"], ids(c["input"]),
                       f32(c["hidden"]), f32(c["encoder_outputs"]), f32(c["cell"]))
    expect_close32(out["log_probs"], c["log_probs"], name=DEC, what="log-probabilities",
                   misconceptions=c["misconceptions"])
    expect_close32(out["hidden"], c["new_hidden"], name=DEC, what="new hidden state")


def check_seq2seq_greedy(c, _=None):
    out = sandbox.call("a4_probes:seq2seq_toy", c["toy_seed"], c["vocab"], ids(c["src"]), c["out_seq_len"])
    expect_close32(out["outputs"], c["outputs"], name=S2S, what="log-probabilities",
                   misconceptions=c["misconceptions"])
    expect_close32(out["first_hidden"], c["first_hidden"], name=S2S, what="decoder's first hidden state",
                   hint="the encoder's final hidden state is the decoder's initial hidden state")
    expect_equal(out["inputs"], c["inputs"], name=S2S, what="sequence of decoder inputs")


def check_seq2seq_default_length_and_teacher_forcing(c, _=None):
    s, V, src = c["toy_seed"], c["vocab"], ids(c["src"])
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, src)
    expect_close32(out["outputs"], c["default_outputs"], name=S2S,
                   what="log-probabilities with out_seq_len=None (T steps)")
    out = sandbox.call("a4_probes:seq2seq_toy", s, V, src, None, ids(c["tgt"]))
    expect_equal(out["inputs"], c["forced_inputs"], name=S2S, what="decoder inputs under teacher forcing")
    expect_close32(out["outputs"], c["forced_outputs"], name=S2S, what="log-probabilities under teacher forcing")


def check_seq2seq_end_to_end(c, _=None):
    got = sandbox.call("a4_probes:seq2seq_full", f32(c["enc_weights"]), c["enc_kwargs"], f32(c["dec_weights"]),
                       c["dec_kwargs"], ids(c["src"]), c["out_seq_len"])
    expect_close32(got, c["expected"], name=S2S, what="log-probabilities of Encoder + Decoder + Seq2Seq")


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"encoder": check_encoder, "encoder_called_twice": check_encoder_called_twice,
          "dropout_in_train_mode": check_dropout_in_train_mode, "attention": check_attention,
          "decoder_step": check_decoder_step, "seq2seq_greedy": check_seq2seq_greedy,
          "seq2seq_default_length_and_teacher_forcing": check_seq2seq_default_length_and_teacher_forcing,
          "seq2seq_end_to_end": check_seq2seq_end_to_end}


@pytest.mark.parametrize("kind", public_params("encoder"))
@graded(points=3)
def test_encoder(kind):
    """Encoder.forward: outputs of nn.RNN / nn.LSTM and the projected last hidden state"""
    check_encoder(public_case("encoder", kind), kind)


@graded(points=1)
def test_encoder_called_twice():
    """One Encoder called on several batches in turn starts every call from a zero state"""
    check_encoder_called_twice(public_case("encoder_called_twice"))


@pytest.mark.parametrize("module", public_params("dropout_in_train_mode"))
@graded(points=2)
def test_dropout_in_train_mode(module):
    """Encoder and Decoder apply dropout to the embeddings in train mode only"""
    check_dropout_in_train_mode(public_case("dropout_in_train_mode", module), module)


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
