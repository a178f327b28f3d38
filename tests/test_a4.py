"""Assignment 4 specifics: the oracles against torch.nn and the reference, the Multi30k loader on
tiny files in the real format, the generated corpus, and short training runs."""
import gzip
import hashlib
import importlib.util
import io
import sys
import tarfile
import urllib.error

import numpy as np
import pytest
import torch

from autograder.config import _load_toml
from conftest import KIT

A4 = "a4_seq2seq"
sys.path.insert(0, KIT.path("assignments", A4, "tests"))
sys.path.insert(0, KIT.path("solutions", A4))
# A4's oracles under their own name: another assignment's `oracles` may already be imported in this session
_spec = importlib.util.spec_from_file_location("a4_oracles", KIT.path("assignments", A4, "tests", "oracles.py"))
oracles = importlib.util.module_from_spec(_spec)
sys.modules["a4_oracles"] = oracles
_spec.loader.exec_module(oracles)
from seq2seq import data, decoder, encoder, lstm, model, rnn, train, transformer  # noqa: E402

torch.set_num_threads(1)


def _load(module, weights):
    module.double()
    module.load_state_dict(weights)
    return module.eval()


# ---------------------------------------------------------------- oracles against torch and the reference
@pytest.mark.parametrize("seed", range(3))
def test_rnn_oracle_matches_closed_form_and_reference(seed):
    rng = np.random.default_rng(seed)
    D, H, O, N = 3, 4, 5, 6
    w = oracles.draw_weights(rng, oracles.rnn_shapes(D, H, O))
    x, h = rng.normal(size=(N, D)), rng.normal(size=(N, H))
    log_probs, hidden = oracles.rnn_step(w, x, h)
    z = np.concatenate([x, h], axis=1)
    np.testing.assert_allclose(hidden, np.tanh(z @ w["i2h.weight"].numpy().T + w["i2h.bias"].numpy()), rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_probs).sum(axis=1), 1.0, rtol=1e-12)
    ref = _load(rnn.VanillaRNN(D, H, O), w)
    lp, hh = ref(torch.tensor(x), torch.tensor(h))
    np.testing.assert_allclose(lp.detach().numpy(), log_probs, rtol=1e-10)
    np.testing.assert_allclose(hh.detach().numpy(), hidden, rtol=1e-10)
    for value in oracles.rnn_misconceptions(w, x, h)["log_probs"].values():
        assert not np.allclose(value, log_probs)


@pytest.mark.parametrize("seed", range(3))
def test_lstm_oracle_numpy_equals_torch_lstm_and_reference(seed):
    rng = np.random.default_rng(seed)
    w = oracles.draw_weights(rng, oracles.lstm_shapes(3, 4))
    x = rng.normal(size=(2, 5, 3))
    h, c = oracles.lstm_torch(w, x)
    hn, cn = oracles.lstm_numpy(w, x)
    np.testing.assert_allclose(hn, h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cn, c, rtol=1e-10, atol=1e-12)
    ref = _load(lstm.LSTM(3, 4), w)
    hr, cr = ref(torch.tensor(x))
    np.testing.assert_allclose(hr.detach().numpy(), h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cr.detach().numpy(), c, rtol=1e-10, atol=1e-12)
    for value in oracles.lstm_misconceptions(w, x)["h"].values():
        assert not np.allclose(value, h, rtol=1e-5, atol=1e-7)


def test_cosine_attention_oracle_matches_torch_cosine_similarity():
    rng = np.random.default_rng(0)
    hidden, enc = rng.normal(size=(1, 3, 4)), rng.normal(size=(3, 5, 4))
    cos = torch.nn.functional.cosine_similarity(torch.tensor(hidden[0])[:, None, :], torch.tensor(enc), dim=2)
    want = torch.softmax(cos, dim=1)[:, None, :].numpy()
    np.testing.assert_allclose(oracles.cosine_attention(hidden, enc), want, rtol=1e-10)


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_encoder_decoder_seq2seq_oracles_match_reference(kind):
    rng = np.random.default_rng(1)
    V, E, H = 9, 3, 4
    ew = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, H, H, kind))
    dw = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, True))
    src = rng.integers(4, V, size=(2, 5))
    src[:, 0] = oracles.SOS
    enc = _load(encoder.Encoder(V, E, H, H, model_type=kind), ew)
    dec = _load(decoder.Decoder(E, H, H, V, model_type=kind, attention=True), dw)
    outputs, hidden = enc(torch.tensor(src))
    want = oracles.encoder(ew, kind, src)
    np.testing.assert_allclose(outputs.detach().numpy(), want["outputs"], rtol=1e-10)
    h = hidden[0] if kind == "LSTM" else hidden
    np.testing.assert_allclose(h.detach().numpy(), want["hidden"], rtol=1e-10)
    got = model.Seq2Seq(enc, dec)(torch.tensor(src), out_seq_len=4).detach().numpy()
    np.testing.assert_allclose(got, oracles.seq2seq_full(ew, dw, kind, True, src, 4), rtol=1e-9, atol=1e-12)


def test_toy_seq2seq_oracle_matches_reference_and_misconceptions_differ():
    import probes.a4_probes as probes

    src = np.array([[2, 5, 6, 7], [2, 8, 4, 9]])
    want, fed, _ = oracles.toy_seq2seq(3, 10, src, 5)
    enc, dec = probes.make_toy(3, 10)
    assert next(enc.parameters()).dtype == torch.float32      # as students' modules are
    got = model.Seq2Seq(enc, dec)(torch.tensor(src), out_seq_len=5).detach().numpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    enc, dec = probes.make_toy(3, 10)
    got = model.Seq2Seq(enc.double(), dec.double())(torch.tensor(src), out_seq_len=5).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert (fed[:, 0] == oracles.SOS).all() and (fed[:, 1:] == want.argmax(axis=2)[:, :-1]).all()
    for value in oracles.toy_misconceptions(3, 10, src, 5).values():
        assert not np.allclose(value, want)


def _tt(rng, C=8, h=2, dk=4, dv=4):
    kw = {"input_size": 11, "output_size": 9, "hidden_dim": C, "num_heads": h, "dim_feedforward": 6, "dim_k": dk,
          "dim_v": dv, "dim_q": dk, "max_length": 7}
    return kw, oracles.draw_weights(rng, oracles.transformer_shapes(11, 9, C, h, 6, dk, dv, 7))


@pytest.mark.parametrize("masked", [False, True])
def test_attention_closed_form_equals_nn_multihead_attention(masked):
    rng = np.random.default_rng(2)
    kw, w = _tt(rng)
    x = rng.normal(size=(2, 5, 8))
    pad = np.array([[False] * 5, [False, False, True, True, True]]) if masked else None
    closed = oracles.multi_head_attention(w, kw, x, pad)
    np.testing.assert_allclose(closed, oracles.multi_head_attention_torch(w, kw, x, pad), rtol=1e-9, atol=1e-12)
    ref = _load(transformer.TransformerTranslator(**kw), w)
    args = (torch.tensor(x),) + (() if pad is None else (torch.tensor(pad),))
    np.testing.assert_allclose(ref.multi_head_attention(*args).detach().numpy(), closed, rtol=1e-10, atol=1e-12)
    for label, value in oracles.mha_misconceptions(w, kw, x, pad).items():
        assert not np.allclose(value, closed, equal_nan=False), label


def test_transformer_forward_oracle_matches_reference_with_unequal_heads():
    rng = np.random.default_rng(3)
    kw, w = _tt(rng, C=6, h=3, dk=2, dv=5)
    ids = rng.integers(4, 11, size=(3, 7))
    ids[:, 0], ids[0, 4:] = oracles.SOS, oracles.PAD
    ref = _load(transformer.TransformerTranslator(**kw), w)
    np.testing.assert_allclose(ref(torch.tensor(ids)).detach().numpy(), oracles.transformer_forward(w, kw, ids),
                               rtol=1e-10, atol=1e-12)


def _full(rng, layers=1):
    kw = {"input_size": 12, "output_size": 10, "hidden_dim": 8, "num_heads": 2, "dim_feedforward": 16,
          "num_layers_enc": layers, "num_layers_dec": layers, "dropout": 0.0, "max_length": 10, "pad_idx": 0}
    return kw, oracles.draw_weights(rng, oracles.full_shapes(kw))


def test_full_transformer_oracle_matches_reference_and_is_causal():
    rng = np.random.default_rng(4)
    kw, w = _full(rng, layers=2)
    src = np.array([[2, 5, 6, 7, 3, 0], [2, 8, 9, 3, 0, 0]])
    tgt = np.array([[2, 4, 5, 6, 3], [2, 7, 3, 0, 0]])
    want = oracles.full_forward(w, kw, src, tgt)
    ref = _load(transformer.FullTransformerTranslator(**kw), w)
    np.testing.assert_allclose(ref(torch.tensor(src), torch.tensor(tgt)).detach().numpy(), want, rtol=1e-9,
                               atol=1e-12)
    changed = tgt.copy()
    changed[:, 3:] = 7
    np.testing.assert_allclose(oracles.full_forward(w, kw, src, changed)[:, :3], want[:, :3], rtol=1e-10)
    leaky = oracles.full_forward(w, kw, src, tgt, diagonal=2)
    assert not np.allclose(leaky, want)
    # source padding is never attended: another embedding for <pad> changes nothing (unless unmasked)
    other = dict(w)
    emb = w["src_embedding.weight"].clone()
    emb[0] += 3.0
    other["src_embedding.weight"] = emb
    np.testing.assert_allclose(oracles.full_forward(other, kw, src, tgt), want, rtol=1e-9, atol=1e-12)
    assert not np.allclose(oracles.full_forward(other, kw, src, tgt, src_pad=False), want)
    assert np.array_equal(oracles.causal_mask(4), transformer.causal_mask(4).numpy())
    assert np.array_equal(oracles.causal_mask(4), torch.nn.Transformer.generate_square_subsequent_mask(4).numpy() < 0)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_greedy_oracle_matches_reference_and_stops_at_different_steps(seed):
    rng = np.random.default_rng(seed)
    kw, w = _full(rng)
    src = np.array([[2, 5, 6, 7, 3, 0], [2, 8, 9, 3, 0, 0], [2, 4, 4, 11, 10, 3]])
    w = oracles.eos_biased_weights(w, kw, src, kw["max_length"], rng=rng)
    want = oracles.full_generate(w, kw, src, kw["max_length"])
    ends = [int(np.argmax(row == oracles.EOS)) for row in want]
    assert all((row == oracles.EOS).any() for row in want) and len(set(ends)) > 1, want
    assert want.shape[1] == max(ends) + 1 < kw["max_length"]
    for row, end in zip(want, ends):
        assert (row[end + 1:] == oracles.PAD).all()
    ref = _load(transformer.FullTransformerTranslator(**kw), w)
    assert np.array_equal(ref.generate_translation(torch.tensor(src)).numpy(), want)


def test_vocabulary_oracle_matches_reference():
    sentences = [["a", "b", "a"], ["c", "a", "b"], ["d"]]
    for min_freq in (1, 2):
        vocab = data.Vocabulary(sentences, min_freq=min_freq)
        itos = oracles.vocab_itos(sentences, min_freq)
        assert vocab.itos == itos and len(vocab) == len(itos)
        tokens = ["a", "zz", "d", "c"]
        assert vocab.encode(tokens) == oracles.vocab_encode(itos, tokens)
        assert vocab.encode(tokens, add_sos_eos=False) == oracles.vocab_encode(itos, tokens, False)
    vocab = data.Vocabulary(sentences)
    assert vocab.decode(vocab.encode(["a", "c", "b"])) == ["a", "c", "b"]
    assert vocab.decode(vocab.encode(["a", "unseen"])) == ["a", "<unk>"]
    assert vocab.decode(torch.tensor([2, 4, 3, 5, 0])) == oracles.vocab_decode(itos, [2, 4, 3, 5, 0]) == ["a"]


# ---------------------------------------------------------------- float32 grading, train mode, promises (issue #14)
def _f32_model(module, weights):
    module.load_state_dict({k: v.float() for k, v in weights.items()})
    return module.eval()


def test_weights_and_inputs_are_float32_numbers():
    rng = np.random.default_rng(0)
    w = oracles.draw_weights(rng, oracles.lstm_shapes(3, 4))
    for v in w.values():
        assert torch.equal(v.float().double(), v)
    x = oracles.f32(rng.normal(size=(5, 3)))
    assert np.array_equal(x.astype(np.float32).astype(np.float64), x)
    b = oracles.with_bias(w, "b_ii", 1, 0.123456789)
    assert float(b["b_ii"][1]) == float(np.float32(float(w["b_ii"][1]) + 0.123456789))


@pytest.mark.parametrize("seed", range(4))
def test_float32_reference_meets_the_tolerances_with_a_wide_margin(seed):
    """The tests' float32 tolerances (rtol 1e-4, atol 1e-5 x size) hold for the float32 reference at 1/20 of them."""
    spec = importlib.util.spec_from_file_location("a4_feedback", KIT.path("assignments", A4, "tests", "public",
                                                                          "a4_feedback.py"))
    fb = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fb)
    rng = np.random.default_rng(100 + seed)
    tight = {"rtol": fb.RTOL / 20, "atol": fb.ATOL / 20}
    w = oracles.draw_weights(rng, oracles.lstm_shapes(3, 6))
    x = oracles.f32(rng.normal(size=(4, 12, 3)))
    h, c = _f32_model(lstm.LSTM(3, 6), w)(torch.tensor(x, dtype=torch.float32))
    want_h, want_c = oracles.lstm_torch(w, x)
    assert fb.same_value(h.detach().numpy(), want_h, **tight) and fb.same_value(c.detach().numpy(), want_c, **tight)
    kw, wt = _tt(rng)
    ids = rng.integers(4, 11, size=(3, 7))
    ids[:, 0], ids[0, 4:] = oracles.SOS, oracles.PAD
    got = _f32_model(transformer.TransformerTranslator(**kw), wt)(torch.tensor(ids))
    assert fb.same_value(got.detach().numpy(), oracles.transformer_forward(wt, kw, ids), **tight)
    kw, wf = _full(rng, layers=2)
    src = np.array([[2, 5, 6, 7, 3, 0], [2, 8, 9, 3, 0, 0]])
    tgt = np.array([[2, 4, 5, 6, 3], [2, 7, 3, 0, 0]])
    got = _f32_model(transformer.FullTransformerTranslator(**kw), wf)(torch.tensor(src), torch.tensor(tgt))
    assert fb.same_value(got.detach().numpy(), oracles.full_forward(wf, kw, src, tgt), **tight)


def test_dropout_masks_do_not_depend_on_threads_dtype_or_autograd():
    """The train-mode checks rely on nn.Dropout drawing the same mask after torch.manual_seed in the worker
    (float32, autograd on, 1 thread) as oracles.dropout_mask does in the harness."""
    old = torch.get_num_threads()
    try:
        masks = []
        for threads, dtype, grad in ((1, torch.float32, True), (2, torch.float64, False), (1, torch.float32, False)):
            torch.set_num_threads(threads)
            x = torch.rand(4, 9, 7, dtype=dtype) + 0.5
            x.requires_grad_(grad)
            torch.manual_seed(11)
            masks.append((torch.nn.functional.dropout(x, 0.4, training=True) != 0).numpy())
    finally:
        torch.set_num_threads(old)
    assert all(np.array_equal(m, masks[0]) for m in masks)
    assert np.array_equal(oracles.dropout_mask(11, (4, 9, 7), 0.4).numpy() != 0, masks[0])


@pytest.mark.parametrize("kind", ["RNN", "LSTM"])
def test_train_mode_oracles_match_the_reference_under_the_same_seed(kind):
    rng = np.random.default_rng(8)
    V, E, H, N, T, p, seed = 9, 3, 4, 2, 5, 0.5, 1234
    ew = oracles.draw_weights(rng, oracles.encoder_shapes(V, E, H, H, kind))
    src = rng.integers(4, V, size=(N, T))
    enc = _f32_model(encoder.Encoder(V, E, H, H, dropout=p, model_type=kind), ew).train()
    torch.manual_seed(seed)
    out, hidden = enc(torch.tensor(src))
    want = oracles.encoder(ew, kind, src, mask=oracles.dropout_mask(seed, (N, T, E), p))
    np.testing.assert_allclose(out.detach().numpy(), want["outputs"], rtol=1e-5, atol=1e-6)
    assert not np.allclose(want["outputs"], oracles.encoder(ew, kind, src)["outputs"])
    dw = oracles.draw_weights(rng, oracles.decoder_shapes(E, H, H, V, kind, True))
    dec = _f32_model(decoder.Decoder(E, H, H, V, dropout=p, model_type=kind, attention=True), dw).train()
    inp = rng.integers(0, V, size=(N, 1))
    h0, c0, enc_out = (oracles.f32(rng.normal(size=s)) for s in ((1, N, H), (1, N, H), (N, T, H)))
    state = (torch.tensor(h0).float(), torch.tensor(c0).float()) if kind == "LSTM" else torch.tensor(h0).float()
    torch.manual_seed(seed)
    log_probs, _ = dec(torch.tensor(inp), state, torch.tensor(enc_out).float())
    want = oracles.decoder_step(dw, kind, True, inp, h0, enc_out, c0 if kind == "LSTM" else None,
                                mask=oracles.dropout_mask(seed, (N, 1, E), p))
    np.testing.assert_allclose(log_probs.detach().numpy(), want["log_probs"], rtol=1e-5, atol=1e-6)


def test_full_train_mode_oracle_matches_the_reference_and_missing_tgt_mask_only_moves_padding():
    rng = np.random.default_rng(9)
    kw, w = _full(rng)
    kw = dict(kw, dropout=0.3)
    src = np.array([[2, 5, 6, 7, 3, 0], [2, 8, 9, 3, 0, 0]])
    tgt = np.array([[2, 4, 5, 6, 3], [2, 7, 3, 0, 0]])
    m = _f32_model(transformer.FullTransformerTranslator(**kw), w).train()
    torch.manual_seed(77)
    got = m(torch.tensor(src), torch.tensor(tgt)).detach().numpy()
    want = oracles.full_train(w, kw, src, tgt, 77)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert not np.allclose(want, oracles.full_train(w, kw, src, tgt, 77, dropout=0.1))
    assert not np.allclose(want, oracles.full_forward(w, kw, src, tgt), atol=1e-3)
    right, leaky = oracles.full_forward(w, kw, src, tgt), oracles.full_forward(w, kw, src, tgt, tgt_pad=False)
    moved = ~np.isclose(right, leaky, rtol=1e-9, atol=1e-12).all(axis=-1)
    assert moved.any() and (tgt[moved] == oracles.PAD).all()


def test_decode_raises_index_error_outside_the_vocabulary_and_takes_tensors():
    vocab = data.Vocabulary([["a", "b", "a"], ["c"]])
    with pytest.raises(IndexError):
        vocab.decode([2, 4, len(vocab), 3])
    assert vocab.decode([2, 4, 3, len(vocab) + 5]) == ["a"]          # reading stopped at <eos>
    assert vocab.decode(torch.tensor([2, 4, 0, 5, 3, 6])) == ["a", "b"]


def test_case_builders_avoid_near_ties_and_masks_that_drop_nothing(monkeypatch):
    # A4's case builders under their own name, importing A4's oracles (another assignment's `oracles` or
    # `cases` may already be imported in this session)
    monkeypatch.setitem(sys.modules, "oracles", oracles)
    spec = importlib.util.spec_from_file_location("a4_cases", KIT.path("assignments", A4, "tests", "cases.py"))
    cases = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cases)
    for s in range(3):
        c = cases.seq2seq_greedy(np.random.default_rng(s))
        assert oracles.greedy_margin(c["outputs"]) >= oracles.MARGIN
        c = cases.seq2seq_end_to_end(np.random.default_rng(s), "LSTM")
        assert oracles.greedy_margin(c["expected"]) >= oracles.MARGIN
        for module in cases.dropout_in_train_mode.params:
            c = cases.dropout_in_train_mode(np.random.default_rng(s), module)
            for (_, train), (_, evaluated) in zip(c["train"], c["eval"]):   # every sentence differs
                diff = np.abs(np.asarray(train) - np.asarray(evaluated))
                assert (diff.reshape(diff.shape[0], -1).max(axis=1) > 1e-3).all() or diff.shape[0] == 1


# ---------------------------------------------------------------- data: manifest, Multi30k, the generated corpus
def test_manifest_and_loader_checksums_agree():
    manifest = _load_toml(KIT.path("datasets", "manifest.toml"))["multi30k"]
    for split, (url, sha) in data.MULTI30K["archives"].items():
        assert manifest["archives"][split]["url"] == url
        assert manifest["archives"][split]["sha256"] == sha
    recorded = {k: v for k, v in data.MULTI30K["files"].items() if v is not None}
    assert manifest["files"] == recorded


DE = ["Zwei junge Männer stehen draußen.", "Ein Hund läuft über die Wiese.", "Eine Frau liest, im Park."]
EN = ["Two young men stand outside.", "A dog runs across the meadow.", "A woman reads, in the park."]


def _write_split(root, prefix, gz):
    """Multi30k's raw format: one sentence a line, UTF-8, a trailing newline; optionally gzip."""
    hashes = {}
    for lang, lines in (("de", DE), ("en", EN)):
        raw = ("\n".join(lines) + "\n").encode("utf-8")
        hashes[lang] = hashlib.sha256(raw).hexdigest()
        path = root / ("%s.%s%s" % (prefix, lang, ".gz" if gz else ""))
        path.write_bytes(gzip.compress(raw) if gz else raw)
    return hashes


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_multi30k_loader_reads_raw_files_and_checks_sums(tmp_path, monkeypatch, gz):
    hashes = _write_split(tmp_path, "train", gz)
    files = dict(data.MULTI30K["files"], **{"train.de": hashes["de"], "train.en": hashes["en"]})
    monkeypatch.setitem(data.MULTI30K, "files", files)
    pairs = data.load_multi30k(str(tmp_path), "train")
    assert pairs == list(zip(DE, EN))
    assert data.tokenize(pairs[2][0]) == ["eine", "frau", "liest", ",", "im", "park", "."]
    monkeypatch.setitem(data.MULTI30K, "files", dict(files, **{"train.en": "0" * 64}))
    with pytest.raises(data.ChecksumError, match="not Multi30k's.*verify=False"):
        data.load_multi30k(str(tmp_path), "train")
    assert data.load_multi30k(str(tmp_path), "train", verify=False) == pairs


def test_multi30k_test_split_names_and_unequal_files(tmp_path):
    _write_split(tmp_path, "test_2016_flickr", gz=True)
    assert len(data.load_multi30k(str(tmp_path), "test")) == 3      # no recorded sums for test files
    (tmp_path / "val.de").write_text("eins\nzwei\n", encoding="utf-8")
    (tmp_path / "val.en").write_text("one\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be parallel"):
        data.load_multi30k(str(tmp_path), "valid", verify=False)


def test_multi30k_missing_without_download_is_one_clear_line(tmp_path, monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_multi30k reached for the network")

    monkeypatch.setattr(data.urllib.request, "urlopen", no_network)
    with pytest.raises(data.DatasetNotFound) as info:
        data.load_multi30k(str(tmp_path / "nothing"), "train")
    message = str(info.value)
    assert "\n" not in message and "download=True" in message and "load_embedded" in message


def test_multi30k_download_checks_the_archive(tmp_path, monkeypatch):
    """download=True with the network patched out: a fake archive in the real layout is served."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for lang, lines in (("de", DE), ("en", EN)):
            raw = ("\n".join(lines) + "\n").encode("utf-8")
            info = tarfile.TarInfo("val.%s" % lang)
            info.size = len(raw)
            tar.addfile(info, io.BytesIO(raw))
    archive = buf.getvalue()
    served = []

    def fake_urlopen(url, timeout=None):
        served.append(url)
        return io.BytesIO(archive)

    monkeypatch.setattr(data.urllib.request, "urlopen", fake_urlopen)
    url = data.MULTI30K["archives"]["valid"][0]
    monkeypatch.setitem(data.MULTI30K, "archives", dict(data.MULTI30K["archives"], valid=(url, "f" * 64)))
    with pytest.raises(data.ChecksumError, match="corrupt"):
        data.load_multi30k(str(tmp_path), "valid", download=True)
    monkeypatch.setitem(data.MULTI30K, "archives",
                        dict(data.MULTI30K["archives"], valid=(url, hashlib.sha256(archive).hexdigest())))
    pairs = data.load_multi30k(str(tmp_path), "valid", download=True, verify=False)
    assert pairs == list(zip(DE, EN))
    assert served == [url], "the archive kept from the first try matches now: no second download"


def test_download_failure_surfaces_as_url_error(tmp_path, monkeypatch):
    def unreachable(url, timeout=None):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(data.urllib.request, "urlopen", unreachable)
    with pytest.raises(urllib.error.URLError):
        data.load_multi30k(str(tmp_path), "train", download=True)


def test_generated_corpus_is_deterministic_and_grammatical():
    a, b = data.generate_corpus(600, seed=7), data.generate_corpus(600, seed=7)
    assert a == b and a != data.generate_corpus(600, seed=8)
    assert len({de for de, _ in a}) == 600
    for de, en in a:
        d, e = de.split(), en.split()
        assert len(d) == len(e) and 4 <= len(d) <= 16, (de, en)
        if d[0] in ("ich", "sie", "wir"):                         # subordinate clause: verb last
            assert d[-1] in {v[0] for v in data._VERBS} | {v[1] for v in data._VERBS} | {"hat", "haben"}, de
        if "den" in d[:2] or "einen" in d[:2]:
            raise AssertionError("an accusative article in subject position: %r" % de)
    pairs = dict(a)
    perfect = [de for de in pairs if " hat " in " %s " % de and not de.startswith(("ich", "sie", "wir"))]
    assert perfect and all(de.split()[-1].startswith("ge") for de in perfect[:20])    # participle last
    splits = data.load_embedded(n_pairs=500)
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [400, 50, 50]
    assert not set(splits["train"]) & set(splits["test"])


def test_translation_data_batches_and_padding():
    d = data.TranslationData(data.load_embedded(n_pairs=200), max_len=10)
    assert all(len(data.tokenize(de)) <= 10 for de, _ in d.splits["train"])
    src, tgt = next(d.batches("train", batch_size=8))
    assert src.dtype == torch.long and src.shape[0] == tgt.shape[0] == 8
    assert (src[:, 0] == data.SOS_IDX).all() and (tgt[:, 0] == data.SOS_IDX).all()
    assert ((src == data.EOS_IDX).sum(dim=1) == 1).all()
    src, tgt = next(d.batches("valid", batch_size=4, pad_to=14))
    assert src.shape == tgt.shape == (4, 14)
    assert data.pad_batch([[5, 6], [7]]).tolist() == [[5, 6], [7, 0]]


# ---------------------------------------------------------------- training, BLEU, plots
def test_short_training_lowers_the_loss_and_reports_bleu():
    torch.manual_seed(0)
    d = data.TranslationData(data.load_embedded(n_pairs=600, seed=1))
    m = transformer.TransformerTranslator(len(d.src_vocab), len(d.tgt_vocab), hidden_dim=32, dim_feedforward=64,
                                          dim_k=16, dim_v=16, dim_q=16, max_length=18)
    before = train.evaluate(m, d, "transformer")
    history = train.fit(m, d, "transformer", epochs=3, lr=3e-3, batch_size=32, progress=False)
    assert history["valid_loss"][-1] < 0.7 * before, (before, history)
    assert history["valid_ppl"][-1] == pytest.approx(np.exp(history["valid_loss"][-1]))
    score = train.bleu(m, d, "transformer", split="test")
    assert 0.0 <= score <= 100.0
    examples = train.example_translations(m, d, "transformer", n=2)
    assert len(examples) == 2 and all(isinstance(s, str) for triple in examples for s in triple)


@pytest.mark.parametrize("kind", ["seq2seq", "full"])
def test_other_models_train_one_epoch(kind):
    torch.manual_seed(0)
    d = data.TranslationData(data.load_embedded(n_pairs=300, seed=2))
    if kind == "seq2seq":
        enc = encoder.Encoder(len(d.src_vocab), 8, 16, 16, model_type="LSTM")
        dec = decoder.Decoder(8, 16, 16, len(d.tgt_vocab), model_type="LSTM", attention=True)
        m = model.Seq2Seq(enc, dec)
    else:
        m = transformer.FullTransformerTranslator(len(d.src_vocab), len(d.tgt_vocab), hidden_dim=16,
                                                  dim_feedforward=32, num_layers_enc=1, num_layers_dec=1,
                                                  max_length=18)
    before = train.evaluate(m, d, kind)
    train.fit(m, d, kind, epochs=2, lr=5e-3, batch_size=32, progress=False)
    assert train.evaluate(m, d, kind) < before
    hyps = train.translate(m, d, [d.splits["test"][0][0]], kind)
    assert len(hyps) == 1 and isinstance(hyps[0], str)


def test_attention_maps_and_plots():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = data.TranslationData(data.load_embedded(n_pairs=100))
    enc = encoder.Encoder(len(d.src_vocab), 8, 12, 12)
    dec = decoder.Decoder(8, 12, 12, len(d.tgt_vocab), attention=True)
    m = model.Seq2Seq(enc, dec)
    src = torch.tensor(d.src_vocab.encode(data.tokenize(d.splits["test"][0][0])))
    weights = train.seq2seq_attention(m, src, out_seq_len=5)
    assert weights.shape == (5, len(src)) and torch.allclose(weights.sum(dim=1), torch.ones(5, dtype=weights.dtype))
    assert "compute_attention" not in vars(m.decoder)       # the spy is removed again
    tt = transformer.TransformerTranslator(len(d.src_vocab), len(d.tgt_vocab), hidden_dim=16, dim_k=8, dim_v=8,
                                           dim_q=8, max_length=20)
    maps = train.transformer_attention(tt, src)
    assert maps.shape == (2, len(src), len(src))
    ax = train.plot_attention(weights, d.src_vocab.decode(src.tolist()) + ["<eos>"], ["a"] * 5, title="t")
    assert ax.get_title() == "t"
    fig = train.plot_curves({"tt": {"train_loss": [2, 1], "valid_loss": [2.5, 1.5], "valid_ppl": [12, 4.5]}})
    assert len(fig.axes) == 2
    plt.close("all")
