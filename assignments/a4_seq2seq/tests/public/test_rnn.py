"""Public checks of the recurrent cells against torch.nn modules with copied weights.

Weights, inputs and expected values are fixtures (tests/fixtures/), computed once by
the instructor's oracle (torch.nn.RNNCell / nn.LSTM with the same weights); the
hidden tests run the same checks on new random inputs.
"""
import numpy as np
import pytest
import torch

from autograder import expect_close, expect_shape, graded, sandbox
from autograder.fixtures import public_case, public_params

TOL = {"rtol": 1e-7, "atol": 1e-10}
RNN = "seq2seq.rnn.VanillaRNN.forward"
LSTM = "seq2seq.lstm.LSTM.forward"


def check_rnn_step(c, _=None):
    out = sandbox.call("a4_probes:rnn_step", c["weights"], c["kwargs"], torch.tensor(c["x"]), torch.tensor(c["h"]))
    wrong = c["misconceptions"]
    expect_close(out["hidden"], c["hidden"], name=RNN, what="new hidden state", misconceptions=wrong["hidden"], **TOL)
    expect_close(out["log_probs"], c["log_probs"], name=RNN, what="log-probabilities",
                 misconceptions=wrong["log_probs"], **TOL)


def check_lstm(c, _=None):
    out = sandbox.call("a4_probes:lstm", c["weights"], c["kwargs"], torch.tensor(c["x"]))
    wrong = c["misconceptions"]
    expect_shape(out["h"], c["h"].shape, name=LSTM, what="final hidden state h_T")
    expect_close(out["h"], c["h"], name=LSTM, what="final hidden state h_T", misconceptions=wrong["h"], **TOL)
    expect_close(out["c"], c["c"], name=LSTM, what="final cell state c_T", misconceptions=wrong["c"], **TOL)


def check_lstm_parameters(c, _=None):
    got = sandbox.call("a4_probes:lstm_parameters", c["kwargs"])
    want = c["shapes"]
    missing = sorted(set(want) - set(got))
    if missing:
        raise AssertionError("seq2seq.lstm.LSTM.__init__: missing parameter(s) %s" % ", ".join(missing))
    for k in want:
        expect_shape(np.zeros(got[k]), tuple(want[k]), name="seq2seq.lstm.LSTM.__init__", what="parameter " + k)


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"rnn_step": check_rnn_step, "lstm": check_lstm, "lstm_parameters": check_lstm_parameters}


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
def test_lstm_parameters():
    """LSTM.__init__ creates the sixteen per-gate parameters with the documented shapes"""
    check_lstm_parameters(public_case("lstm_parameters"))
