"""Public checks of the recurrent cells against torch.nn modules with copied weights.

Weights, inputs and expected values are fixtures (tests/fixtures/), computed once by
the instructor's oracle (torch.nn.RNNCell / nn.LSTM with the same weights); the
hidden tests run the same checks on new random inputs. Your modules run in float32
(PyTorch's default dtype) on float32 inputs, and are compared with float32 tolerances
(see a4_feedback.py).
"""
import numpy as np
import pytest

from a4_feedback import expect_close32, f32, same_value
from autograder import Feedback, expect_shape, graded, sandbox
from autograder.fixtures import public_case, public_params

RNN = "seq2seq.rnn.VanillaRNN.forward"
LSTM = "seq2seq.lstm.LSTM.forward"


def check_rnn_step(c, _=None):
    out = sandbox.call("a4_probes:rnn_step", f32(c["weights"]), c["kwargs"], f32(c["x"]), f32(c["h"]))
    wrong = c["misconceptions"]
    expect_close32(out["hidden"], c["hidden"], name=RNN, what="new hidden state", misconceptions=wrong["hidden"],
                   hint=c["hint"])
    expect_close32(out["log_probs"], c["log_probs"], name=RNN, what="log-probabilities",
                   misconceptions=wrong["log_probs"], hint=c["hint"])


def check_lstm(c, _=None):
    out = sandbox.call("a4_probes:lstm", f32(c["weights"]), c["kwargs"], f32(c["x"]))
    wrong = c["misconceptions"]
    expect_shape(out["h"], c["h"].shape, name=LSTM, what="final hidden state h_T")
    expect_close32(out["h"], c["h"], name=LSTM, what="final hidden state h_T", misconceptions=wrong["h"])
    expect_close32(out["c"], c["c"], name=LSTM, what="final cell state c_T", misconceptions=wrong["c"])


def check_lstm_called_twice(c, _=None):
    out = sandbox.call("a4_probes:lstm_calls", f32(c["weights"]), c["kwargs"], [f32(x) for x in c["xs"]])
    if not isinstance(out, list) or len(out) != len(c["xs"]):
        raise Feedback("%s: the probe expected one (h_T, c_T) per call" % LSTM)
    for i, got in enumerate(out):
        if i and not same_value(got["h"], c["h"][i]) and same_value(out[0]["h"], c["h"][0]):
            if same_value(got["h"], c["carried_h"][i]):
                raise Feedback("%s: call %d (a new batch) continued from the states the previous call ended with: "
                               "every call must start from h_0 = c_0 = 0; make them inside forward (e.g. "
                               "x.new_zeros(N, H)), do not keep them on self" % (LSTM, i + 1))
            raise Feedback("%s: the same LSTM gave a wrong result on call %d although call 1 was right: state "
                           "left over from an earlier call? Every call must start from h_0 = c_0 = 0"
                           % (LSTM, i + 1))
        what = "call %d of %d: " % (i + 1, len(out))
        expect_close32(got["h"], c["h"][i], name=LSTM, what=what + "final hidden state h_T")
        expect_close32(got["c"], c["c"][i], name=LSTM, what=what + "final cell state c_T")


def check_lstm_parameters(c, _=None):
    got = sandbox.call("a4_probes:lstm_parameters", c["kwargs"])
    want = c["shapes"]
    missing = sorted(set(want) - set(got))
    if missing:
        raise AssertionError("seq2seq.lstm.LSTM.__init__: missing parameter(s) %s" % ", ".join(missing))
    for k in want:
        expect_shape(np.zeros(got[k]), tuple(want[k]), name="seq2seq.lstm.LSTM.__init__", what="parameter " + k)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"rnn_step": check_rnn_step, "lstm": check_lstm, "lstm_called_twice": check_lstm_called_twice,
          "lstm_parameters": check_lstm_parameters}


@pytest.mark.parametrize("size", public_params("rnn_step"))
@graded(points=3)
def test_rnn_step(size):
    """VanillaRNN.forward: tanh hidden state equals nn.RNNCell, output is a log-softmax over classes"""
    check_rnn_step(public_case("rnn_step", size), size)


@pytest.mark.parametrize("size", public_params("lstm"))
@graded(points=4)
def test_lstm(size):
    """LSTM.forward returns the (h_T, c_T) of nn.LSTM with the same gate weights"""
    check_lstm(public_case("lstm", size), size)


@graded(points=1)
def test_lstm_called_twice():
    """One LSTM called on several batches in turn starts every call from zero states"""
    check_lstm_called_twice(public_case("lstm_called_twice"))


@graded(points=1)
def test_lstm_parameters():
    """LSTM.__init__ creates the sixteen per-gate parameters with the documented shapes"""
    check_lstm_parameters(public_case("lstm_parameters"))
