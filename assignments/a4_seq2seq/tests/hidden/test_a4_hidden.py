"""Hidden checks of A4: other sizes and seeds, three heads, two layers, long greedy runs, min_freq.

Like the public tests: float32 weights and inputs, float32 tolerances (a4_feedback.py),
greedy decoding redrawn until no choice is near a tie (oracles.MARGIN).
"""
import oracles
from a4_feedback import expect_close32, f32, ids
from autograder import Feedback, expect_equal, graded, sandbox


@graded(points=1)
def test_rnn_wide_output(rng):
    """VanillaRNN.forward with more classes than hidden units"""
    N, D, H, O = 5, 2, 3, 9
    w = oracles.draw_weights(rng, oracles.rnn_shapes(D, H, O))
    x, h = oracles.f32(rng.normal(size=(N, D))), oracles.f32(rng.normal(size=(N, H)))
    out = sandbox.call("a4_probes:rnn_step", f32(w), {"input_size": D, "hidden_size": H, "output_size": O},
                       f32(x), f32(h))
    log_probs, hidden = oracles.rnn_step(w, x, h)
    expect_close32(out["hidden"], hidden, name="seq2seq.rnn.VanillaRNN.forward", what="new hidden state")
    expect_close32(out["log_probs"], log_probs, name="seq2seq.rnn.VanillaRNN.forward", what="log-probabilities")


@graded(points=2)
def test_lstm_long_sequence(rng):
    """LSTM.forward over 12 steps with a batch of one"""
    D, H = 2, 7
    w = oracles.draw_weights(rng, oracles.lstm_shapes(D, H))
    x = oracles.f32(rng.normal(size=(1, 12, D)))
    out = sandbox.call("a4_probes:lstm", f32(w), {"input_size": D, "hidden_size": H}, f32(x))
    h, c = oracles.lstm_torch(w, x)
    expect_close32(out["h"], h, name="seq2seq.lstm.LSTM.forward", what="final hidden state h_T")
    expect_close32(out["c"], c, name="seq2seq.lstm.LSTM.forward", what="final cell state c_T")


@graded(points=2)
def test_lstm_decoder_without_attention(rng):
    """Decoder.forward with an LSTM and no attention, then Encoder + Decoder + Seq2Seq with an RNN, no attention"""
    N, E, H, V = 2, 3, 4, 6
    kw = {"emb_size": E, "encoder_hidden_size": H, "decoder_hidden_size": H, "output_size": V,
          "model_type": "LSTM", "attention": False}
    w = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, "LSTM", False))
    inp = rng.integers(0, V, size=(N, 1))
    hidden, cell = oracles.f32(rng.normal(size=(1, N, H))), oracles.f32(rng.normal(size=(1, N, H)))
    enc = oracles.f32(rng.normal(size=(N, 3, H)))
    out = sandbox.call("a4_probes:decoder_step", f32(w), kw, ids(inp), f32(hidden), f32(enc), f32(cell))
    want = oracles.decoder_step(w, "LSTM", False, inp, hidden, enc, cell)
    expect_close32(out["log_probs"], want["log_probs"], name="seq2seq.decoder.Decoder.forward",
                   what="log-probabilities")
    expect_close32(out["cell"], want["cell"], name="seq2seq.decoder.Decoder.forward", what="new cell state")
    ek = {"input_size": 8, "emb_size": E, "encoder_hidden_size": 5, "decoder_hidden_size": H, "model_type": "RNN"}
    dk = dict(kw, model_type="RNN", encoder_hidden_size=5, output_size=8)
    for _ in range(20):             # no greedy choice near a tie
        ew = oracles.draw_weights(rng, oracles.encoder_shapes(8, E, 5, H, "RNN"))
        dw = oracles.draw_weights(rng, oracles.decoder_shapes(E, 5, H, 8, "RNN", False))
        src = rng.integers(4, 8, size=(3, 4))
        src[:, 0] = oracles.SOS
        expected = oracles.seq2seq_full(ew, dw, "RNN", False, src, 5)
        if oracles.greedy_margin(expected) >= oracles.MARGIN:
            break
    got = sandbox.call("a4_probes:seq2seq_full", f32(ew), ek, f32(dw), dk, ids(src), 5)
    expect_close32(got, expected, name="seq2seq.model.Seq2Seq.forward", what="log-probabilities")


@graded(points=2)
def test_three_heads_unequal_sizes(rng):
    """multi_head_attention and forward with three heads, d_v != d_k, and a fully padded tail"""
    C, h, dk, dv, L = 6, 3, 2, 4, 8
    kw = {"input_size": 9, "output_size": 7, "hidden_dim": C, "num_heads": h, "dim_feedforward": 5, "dim_k": dk,
          "dim_v": dv, "dim_q": dk, "max_length": L}
    w = oracles.draw_weights(rng, oracles.transformer_shapes(9, 7, C, h, 5, dk, dv, L))
    tokens = rng.integers(4, 9, size=(3, 8))
    tokens[:, 0] = oracles.SOS
    tokens[0, 3:], tokens[1, 6:] = oracles.PAD, oracles.PAD
    got = sandbox.call("a4_probes:transformer", f32(w), kw, "forward", ids(tokens))
    expect_close32(got, oracles.transformer_forward(w, kw, tokens),
                   name="seq2seq.transformer.TransformerTranslator.forward", what="scores")


@graded(points=2)
def test_full_two_layers(rng):
    """FullTransformerTranslator.forward with two encoder and two decoder layers"""
    kw = {"input_size": 9, "output_size": 8, "hidden_dim": 12, "num_heads": 3, "dim_feedforward": 10,
          "num_layers_enc": 2, "num_layers_dec": 2, "dropout": 0.1, "max_length": 9, "pad_idx": 0}
    w = oracles.draw_weights(rng, oracles.full_shapes(kw))
    src = rng.integers(4, 9, size=(2, 7))
    src[:, 0], src[1, 4:] = oracles.SOS, oracles.PAD
    tgt = rng.integers(4, 8, size=(2, 6))
    tgt[:, 0], tgt[0, 5:] = oracles.SOS, oracles.PAD
    got = sandbox.call("a4_probes:full_forward", f32(w), kw, ids(src), ids(tgt))
    expect_close32(got, oracles.full_forward(w, kw, src, tgt),
                   name="seq2seq.transformer.FullTransformerTranslator.forward", what="scores")


@graded(points=2)
def test_generate_until_max_len(rng):
    """generate_translation stops at max_len when a sentence never produces <eos>"""
    kw = {"input_size": 9, "output_size": 8, "hidden_dim": 8, "num_heads": 2, "dim_feedforward": 8,
          "num_layers_enc": 1, "num_layers_dec": 1, "dropout": 0.1, "max_length": 12, "pad_idx": 0}
    for _ in range(20):             # no greedy choice near a tie
        w = oracles.with_bias(oracles.draw_weights(rng, oracles.full_shapes(kw)), "fc.bias", oracles.EOS,
                              -50.0)      # <eos> never wins
        src = rng.integers(4, 9, size=(2, 5))
        src[:, 0] = oracles.SOS
        want, gap = oracles.full_generate(w, kw, src, 7, margin=True)
        if gap >= oracles.MARGIN:
            break
    got = sandbox.call("a4_probes:full_generate", f32(w), kw, ids(src), 7)
    expect_equal(got, want, name="seq2seq.transformer.FullTransformerTranslator.generate_translation",
                 what="tokens")


@graded(points=1)
def test_vocabulary_min_freq(rng):
    """Vocabulary with min_freq=2: rare tokens become <unk>; decode without <eos>"""
    sentences = [["a", "b", "a"], ["c", "a", "b"], ["d"]]
    itos = oracles.vocab_itos(sentences, 2)
    tokens = ["a", "c", "d", "b", "zz"]
    seq = [4, 5, oracles.PAD, 4]
    out = sandbox.call("a4_probes:vocabulary", sentences, 2, [tokens], [seq], False)
    expect_equal(out["encoded"][0], oracles.vocab_encode(itos, tokens, add_sos_eos=False),
                 name="seq2seq.data.Vocabulary.encode", what="ids with add_sos_eos=False")
    if list(out["decoded"][0]) != oracles.vocab_decode(itos, seq):
        raise Feedback("seq2seq.data.Vocabulary.decode: wrong tokens for ids without <eos> (skip <sos> and <pad>)")
