"""Public checks of the recurrent cells against torch.nn modules with copied weights."""
import numpy as np
import pytest
import torch

import oracles
from autograder import expect_close, expect_shape, graded, sandbox

TOL = {"rtol": 1e-7, "atol": 1e-10}
RNN = "seq2seq.rnn.VanillaRNN.forward"
LSTM = "seq2seq.lstm.LSTM.forward"


@pytest.mark.parametrize("N,D,H,O", [(4, 3, 5, 6), (1, 7, 4, 3)], ids=["batch", "single"])
@graded(points=3)
def test_rnn_step(rng, N, D, H, O):
    """VanillaRNN.forward: tanh hidden state equals nn.RNNCell, output is a log-softmax over classes"""
    w = oracles.draw_weights(rng, oracles.rnn_shapes(D, H, O))
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    out = sandbox.call("a4_probes:rnn_step", w, {"input_size": D, "hidden_size": H, "output_size": O},
                       torch.tensor(x), torch.tensor(h))
    log_probs, hidden = oracles.rnn_step(w, x, h)
    wrong = oracles.rnn_misconceptions(w, x, h)
    expect_close(out["hidden"], hidden, name=RNN, what="new hidden state", misconceptions=wrong["hidden"], **TOL)
    expect_close(out["log_probs"], log_probs, name=RNN, what="log-probabilities", misconceptions=wrong["log_probs"],
                 **TOL)


@pytest.mark.parametrize("N,T,D,H", [(3, 5, 4, 6), (2, 1, 3, 2)], ids=["sequence", "one-step"])
@graded(points=4)
def test_lstm(rng, N, T, D, H):
    """LSTM.forward returns the (h_T, c_T) of nn.LSTM with the same gate weights"""
    kwargs = {"input_size": D, "hidden_size": H}
    w = oracles.draw_weights(rng, oracles.lstm_shapes(D, H))
    x = rng.normal(size=(N, T, D))
    out = sandbox.call("a4_probes:lstm", w, kwargs, torch.tensor(x))
    h, c = oracles.lstm_torch(w, x)
    wrong = oracles.lstm_misconceptions(w, x)
    expect_shape(out["h"], (N, H), name=LSTM, what="final hidden state h_T")
    expect_close(out["h"], h, name=LSTM, what="final hidden state h_T", misconceptions=wrong["h"], **TOL)
    expect_close(out["c"], c, name=LSTM, what="final cell state c_T", misconceptions=wrong["c"], **TOL)


@graded(points=1)
def test_lstm_parameters():
    """LSTM.__init__ creates the sixteen per-gate parameters with the documented shapes"""
    D, H = 3, 5
    got = sandbox.call("a4_probes:lstm_parameters", {"input_size": D, "hidden_size": H})
    want = {k: list(v) for k, v in oracles.lstm_shapes(D, H).items()}
    missing = sorted(set(want) - set(got))
    if missing:
        raise AssertionError("seq2seq.lstm.LSTM.__init__: missing parameter(s) %s" % ", ".join(missing))
    for k in want:
        expect_shape(np.zeros(got[k]), tuple(want[k]), name="seq2seq.lstm.LSTM.__init__", what="parameter " + k)
