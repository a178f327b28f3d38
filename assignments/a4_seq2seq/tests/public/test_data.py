"""Public checks of the Vocabulary's encode and decode."""
import oracles
from autograder import Feedback, expect_equal, graded, sandbox

V = "seq2seq.data.Vocabulary"


def expect_tokens(got, want, *, name, what):
    """Lists of strings compared exactly, with the first difference named."""
    got = list(got) if isinstance(got, (list, tuple)) else got
    if not isinstance(got, list) or not all(isinstance(t, str) for t in got):
        raise Feedback("%s: the %s should be a list of strings, got %r" % (name, what, got))
    if got != want:
        i = next((k for k, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        raise Feedback("%s: the %s differ at position %d: got %r, expected %r"
                       % (name, what, i, got[i:i + 3], want[i:i + 3]))


@graded(points=2)
def test_vocabulary_round_trip(rng):
    """encode maps tokens to ids (unknown -> <unk>, with <sos>/<eos>), decode reads ids back up to <eos>"""
    words = ["der", "hund", "sieht", "die", "katze", "das", "pferd"]
    sentences = [[words[i] for i in rng.integers(0, len(words), size=int(rng.integers(3, 7)))] for _ in range(6)]
    to_encode = [sentences[0], sentences[1] + ["zebra"], ["unbekannt", sentences[2][0]]]
    itos = oracles.vocab_itos(sentences, 1)
    round_trip = oracles.vocab_encode(itos, sentences[3])
    to_decode = [round_trip, round_trip[:-1] + [oracles.EOS, 5, 4, oracles.PAD], [oracles.SOS, 4, 1, oracles.EOS]]
    out = sandbox.call("a4_probes:vocabulary", sentences, 1, to_encode, to_decode)
    expect_tokens(out["itos"], itos, name=V + ".__init__", what="itos (given code: did you change it?)")
    for tokens, got in zip(to_encode, out["encoded"]):
        want = oracles.vocab_encode(itos, tokens)
        as_pad = [oracles.PAD if i == oracles.UNK else i for i in want]
        if list(got) == as_pad and as_pad != want:
            raise Feedback("%s: ids of %r: unknown tokens must map to <unk> (id %d), not <pad>"
                           % (V + ".encode", tokens, oracles.UNK))
        expect_equal(got, want, name=V + ".encode", what="ids of %r" % (tokens,))
    for ids, got in zip(to_decode, out["decoded"]):
        want = oracles.vocab_decode(itos, ids)
        past_eos = [itos[i] for i in ids if i not in (oracles.SOS, oracles.PAD, oracles.EOS)]
        if list(got) == past_eos and past_eos != want:
            raise Feedback("%s: tokens of %r: you skipped <eos> and read on; stop reading at the first <eos>"
                           % (V + ".decode", ids))
        expect_tokens(got, want, name=V + ".decode", what="tokens of %r" % (ids,))
