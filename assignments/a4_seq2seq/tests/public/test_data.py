"""Public checks of the Vocabulary's encode and decode.

Sentences, ids and the expected tokens are fixtures (tests/fixtures/); the hidden
tests run the same check on new random sentences.
"""
from a4_feedback import ids as as_ids
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
    tensor = as_ids(c["as_tensor"])
    try:
        got = sandbox.call("a4_probes:call_decode", c["sentences"], c["min_freq"], tensor)
    except sandbox.StudentError as e:
        if e.not_implemented:
            raise
        raise Feedback("%s failed on a 1-d tensor of ids, %s (the docstring: ids may be a list, or a 1-d tensor / "
                       "array): convert them first, ids = [int(i) for i in ids]\n%s"
                       % (V + ".decode", tensor.tolist(), e)) from None
    expect_tokens(got, c["tensor_decoded"], name=V + ".decode", what="tokens of the tensor %s" % (tensor.tolist(),))


def check_decode_out_of_vocabulary(c, _=None):
    name, tokens = V + ".decode", c["ids"]
    try:
        got = sandbox.call("a4_probes:call_decode", c["sentences"], c["min_freq"], tokens)
    except sandbox.StudentError as e:
        if e.exc_type == "IndexError":
            return
        if e.not_implemented:
            raise
        raise Feedback("%s(%r) raised %s; an id outside the vocabulary (%d, with %d tokens in it) must raise "
                       "IndexError, as the docstring promises" % (name, tokens, e.exc_type, c["bad"], c["size"])) \
            from None
    raise Feedback("%s(%r) returned %r; the id %d is outside the vocabulary (it has %d tokens), so decode must raise "
                   "IndexError, as its docstring promises (self.itos[i] does): do not map unknown ids to a token"
                   % (name, tokens, got, c["bad"], c["size"]))


#: case name (tests/cases.py) -> its check; the hidden tests run each on new inputs
CHECKS = {"vocabulary_round_trip": check_vocabulary_round_trip,
          "decode_out_of_vocabulary": check_decode_out_of_vocabulary}


@graded(points=2)
def test_vocabulary_round_trip():
    """encode maps tokens to ids (unknown -> <unk>, with <sos>/<eos>), decode reads ids back up to <eos>"""
    check_vocabulary_round_trip(public_case("vocabulary_round_trip"))


@graded(points=1)
def test_decode_out_of_vocabulary():
    """decode raises IndexError for an id outside the vocabulary"""
    check_decode_out_of_vocabulary(public_case("decode_out_of_vocabulary"))
