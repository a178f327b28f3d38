"""Public checks of the Vocabulary's encode and decode.

Sentences, ids and the expected tokens are fixtures (tests/fixtures/); the hidden
tests run the same check on new random sentences.
"""
from autograder import Feedback, expect_equal, graded, sandbox
from autograder.fixtures import public_case

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


def check_vocabulary_round_trip(c, _=None):
    out = sandbox.call("a4_probes:vocabulary", c["sentences"], c["min_freq"], c["to_encode"], c["to_decode"])
    expect_tokens(out["itos"], c["itos"], name=V + ".__init__", what="itos (given code: did you change it?)")
    for tokens, got, want, as_pad in zip(c["to_encode"], out["encoded"], c["encoded"], c["unknown_as_pad"]):
        if list(got) == as_pad and as_pad != want:
            raise Feedback("%s: ids of %r: unknown tokens must map to <unk> (id %d), not <pad>"
                           % (V + ".encode", tokens, c["unk_id"]))
        expect_equal(got, want, name=V + ".encode", what="ids of %r" % (tokens,))
    for ids, got, want, past_eos in zip(c["to_decode"], out["decoded"], c["decoded"], c["past_eos"]):
        if list(got) == past_eos and past_eos != want:
            raise Feedback("%s: tokens of %r: you skipped <eos> and read on; stop reading at the first <eos>"
                           % (V + ".decode", ids))
        expect_tokens(got, want, name=V + ".decode", what="tokens of %r" % (ids,))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"vocabulary_round_trip": check_vocabulary_round_trip}


@graded(points=2)
def test_vocabulary_round_trip():
    """encode maps tokens to ids (unknown -> <unk>, with <sos>/<eos>), decode reads ids back up to <eos>"""
    check_vocabulary_round_trip(public_case("vocabulary_round_trip"))
