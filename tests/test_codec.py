"""The sandbox wire format (autograder.sandbox.codec): round trips, refusals, no pickle."""
import io
import json
import math
import pickle
import struct

import numpy as np
import pytest

from autograder.sandbox import codec
from autograder.sandbox.codec import CodecError, decode, encode

torch = pytest.importorskip("torch")

_LEN = struct.Struct(">Q")


def roundtrip(value, meta=None, **kw):
    out, got_meta = decode(encode(value, meta), **kw)
    assert got_meta == (meta or {})
    return out


def frame(header, blobs=()):
    """A hand-built frame: ``header`` is a dict (dumped as JSON) or raw bytes."""
    head = header if isinstance(header, bytes) else json.dumps(header).encode("utf-8")
    parts = [codec.MAGIC, _LEN.pack(len(head)), head, _LEN.pack(len(blobs))]
    for b in blobs:
        parts += [_LEN.pack(len(b)), b]
    return b"".join(parts)


def npy(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


@pytest.fixture
def no_pickle(monkeypatch):
    """Any unpickling during the test fails it."""
    def refuse(*a, **k):
        raise AssertionError("decode called pickle")
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**63 - 1, -(2**63 - 1), 1.5, -0.0, 1e-300, "", "héllo\n\x00",
    (), [], {}, (1, "a"), [1, [2, [3]]], {"a": 1, 2: "b"},
    {"nested": [(1, 2.5), {"k": [None, True]}], "e": ()},
], ids=repr)
def test_plain_values_round_trip_with_types(value):
    out = roundtrip(value)
    assert out == value
    assert type(out) is type(value)


def test_container_types_are_preserved_deeply():
    out = roundtrip({"t": (1, [2, (3,)]), 5: [(), []]})
    assert type(out["t"]) is tuple and type(out["t"][1]) is list and type(out["t"][1][1]) is tuple
    assert out[5] == [(), []] and type(out[5][0]) is tuple and 5 in out and "5" not in out


def test_bool_stays_bool_not_int():
    out = roundtrip([True, 1])
    assert out[0] is True and type(out[1]) is int


@pytest.mark.parametrize("x", [math.inf, -math.inf])
def test_infinities_round_trip(x):
    out = roundtrip(x)
    assert type(out) is float and out == x


def test_nan_round_trips_and_header_stays_strict_json():
    out = roundtrip([math.nan, {"x": math.nan}])
    assert math.isnan(out[0]) and math.isnan(out[1]["x"])
    # the header must not contain the non-standard NaN literal
    data = encode(math.nan)
    (hlen,) = _LEN.unpack(data[4:12])
    assert b"NaN" not in data[12:12 + hlen]


def test_meta_round_trips():
    assert decode(encode(None, {"op": "call", "target": "a.b:c", "n": [1, 2]}))[1] == {
        "op": "call", "target": "a.b:c", "n": [1, 2]}


@pytest.mark.parametrize("arr", [
    np.arange(6, dtype=np.float64).reshape(2, 3),
    np.arange(24, dtype=np.float32).reshape(2, 3, 4),
    np.array([1, -2, 3], dtype=np.int8),
    np.array([1, 2, 3], dtype=np.uint16),
    np.array([True, False]),
    np.array([1 + 2j, -3j], dtype=np.complex64),
    np.array([np.nan, np.inf, -np.inf, 0.0]),
    np.zeros((0,)),                        # empty
    np.zeros((3, 0, 2), dtype=np.int64),   # empty with shape
    np.array([1.0, 2.0], dtype=">f8"),     # big-endian
], ids=lambda a: "%s%s" % (a.dtype.str, a.shape))
def test_arrays_round_trip_exactly(arr):
    out = roundtrip(arr)
    assert type(out) is np.ndarray
    assert out.dtype == arr.dtype and out.shape == arr.shape
    assert np.array_equal(out, arr, equal_nan=True)


def test_non_contiguous_array_round_trips():
    base = np.arange(20.0).reshape(4, 5)
    view = base[::2, ::-2].T
    out = roundtrip(view)
    assert np.array_equal(out, view) and out.shape == view.shape


def test_arrays_inside_containers():
    a, b = np.arange(3), np.eye(2)
    out = roundtrip({"params": [a, b], "pair": (a, 1)})
    assert np.array_equal(out["params"][0], a) and np.array_equal(out["params"][1], b)
    assert np.array_equal(out["pair"][0], a) and out["pair"][1] == 1


# np.ascontiguousarray() returns at least 1-d: 0-d values must not go through it.
def test_0d_array_round_trips_as_0d():
    out = roundtrip(np.array(3.25))
    assert type(out) is np.ndarray and out.shape == () and out.dtype == np.float64 and out.item() == 3.25


@pytest.mark.parametrize("scalar", [np.float64(1.5), np.float32(2.5), np.int64(-3), np.bool_(True),
                                    np.complex128(1 + 1j), np.uint8(200)], ids=repr)
def test_numpy_scalars_become_0d_arrays(scalar):
    out = roundtrip(scalar)
    assert type(out) is np.ndarray and out.shape == () and out.dtype == scalar.dtype
    assert out.item() == scalar.item()


def test_0d_tensor_round_trips_as_0d():
    assert roundtrip(torch.tensor(2.5)).shape == ()
    back = roundtrip(torch.tensor(2.5), as_torch=True)
    assert isinstance(back, torch.Tensor) and back.shape == torch.Size([]) and back.item() == 2.5


def test_torch_tensors_come_back_as_numpy_by_default():
    t = torch.arange(6, dtype=torch.float32).reshape(2, 3)
    out = roundtrip(t)
    assert type(out) is np.ndarray and out.dtype == np.float32 and out.shape == (2, 3)
    assert np.array_equal(out, t.numpy())


def test_torch_tensors_come_back_as_tensors_with_as_torch():
    t = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    i = torch.tensor([1, 2, 3])
    out = roundtrip([t, i, np.arange(2)], as_torch=True)
    assert isinstance(out[0], torch.Tensor) and out[0].dtype == torch.float64
    assert torch.equal(out[0], t.detach()) and not out[0].requires_grad
    assert isinstance(out[1], torch.Tensor) and out[1].dtype == torch.int64 and torch.equal(out[1], i)
    # a numpy array stays numpy even when the receiver asks for tensors
    assert type(out[2]) is np.ndarray


def test_torch_tensor_views_conj_and_neg_bits():
    base = torch.arange(12.0).reshape(3, 4)
    out = roundtrip(base.t()[1:])
    assert np.array_equal(out, base.t()[1:].numpy())
    z = torch.tensor([1 + 2j, 3 - 1j]).conj()
    assert np.array_equal(roundtrip(z), np.array([1 - 2j, 3 + 1j], dtype=np.complex64))


def test_decoded_tensor_does_not_share_memory_with_frame():
    out = roundtrip(torch.zeros(3), as_torch=True)
    out += 1  # writable, and independent
    assert torch.equal(out, torch.ones(3))


# ---------------------------------------------------------------- encode refuses

class Thing:
    pass


@pytest.mark.parametrize("value, words", [
    (np.array([1, "a", None], dtype=object), "dtype object"),
    (np.zeros(2, dtype=[("a", "f8"), ("b", "i4")]), "cannot be transferred"),
    (np.array(["ab", "c"]), "cannot be transferred"),
    (np.array([b"ab"]), "cannot be transferred"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "cannot be transferred"),
    (Thing(), "Thing"),
    ({1, 2}, "set"),
    (frozenset(), "frozenset"),
    (b"bytes", "bytes"),
    (lambda: 1, "function"),
    (2**63, "too large"),
    (-(2**63), "too large"),
    (2**200, "too large"),
    ({(1, 2): 3}, "dict keys"),
    ({None: 3}, "dict keys"),
    ({1.5: 3}, "dict keys"),
    ([1, Thing()], "Thing"),
], ids=["object-array", "structured", "unicode-array", "bytes-array", "datetime", "instance", "set",
        "frozenset", "bytes", "function", "int-2**63", "int--2**63", "int-huge", "tuple-key", "none-key",
        "float-key", "nested-instance"])
def test_encode_refuses(value, words):
    with pytest.raises(CodecError) as info:
        encode(value)
    assert words in str(info.value)


def test_encode_refuses_overly_deep_nesting():
    ok = []
    for _ in range(codec.MAX_DEPTH):
        ok = [ok]
    assert roundtrip(ok) == ok
    deep = []
    for _ in range(10 * codec.MAX_DEPTH):
        deep = [deep]
    with pytest.raises(CodecError, match="nested too deeply"):
        encode(deep)


def test_encode_refuses_self_referencing_list():
    loop = []
    loop.append(loop)
    with pytest.raises(CodecError, match="nested too deeply"):
        encode(loop)


def test_encode_refuses_subclasses_of_builtins():
    class MyDict(dict):
        pass

    with pytest.raises(CodecError):
        encode(MyDict(a=1))


def test_bfloat16_tensor_is_widened_to_float32():
    out = roundtrip(torch.tensor([1.5, -2.0], dtype=torch.bfloat16))
    assert out.dtype == np.float32 and out.tolist() == [1.5, -2.0]


# ---------------------------------------------------------------- decode refuses, never unpickles

def test_decode_refuses_pickled_object_array_without_unpickling(no_pickle):
    blob = npy(np.array([{"evil": 1}, None], dtype=object), allow_pickle=True)
    assert b"'descr': '|O'" in blob  # the npy header says dtype object
    with pytest.raises(CodecError):
        decode(frame({"meta": {}, "value": {"nd": 0}}, [blob]))


def test_decode_refuses_a_raw_pickle_blob(no_pickle):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle ran')",))

    blob = pickle.dumps(Boom())
    with pytest.raises(CodecError):
        decode(frame({"meta": {}, "value": {"nd": 0}}, [blob]))


def test_decode_refuses_structured_and_string_npy(no_pickle):
    for arr in (np.zeros(2, dtype=[("a", "f8")]), np.array(["x"])):
        with pytest.raises(CodecError, match="unsupported dtype"):
            decode(frame({"meta": {}, "value": {"nd": 0}}, [npy(arr)]))


def test_decode_refuses_npz_blob(no_pickle):
    buf = io.BytesIO()
    np.savez(buf, a=np.arange(3))
    with pytest.raises(CodecError):
        decode(frame({"meta": {}, "value": {"nd": 0}}, [buf.getvalue()]))


def test_decode_refuses_wrong_magic():
    good = encode([1, 2])
    with pytest.raises(CodecError, match="not a sandbox frame"):
        decode(b"AGK2" + good[4:])
    with pytest.raises(CodecError):
        decode(b"")
    with pytest.raises(CodecError):
        decode(pickle.dumps([1, 2]))


def test_decode_refuses_every_truncation():
    good = encode({"a": np.arange(5.0), "b": "text"})
    assert decode(good)[0]["b"] == "text"
    for n in range(4, len(good)):
        with pytest.raises(CodecError):
            decode(good[:n])


def test_decode_refuses_absurd_lengths():
    with pytest.raises(CodecError, match="over the limit"):
        decode(codec.MAGIC + _LEN.pack(2**63) + b"{}")
    head = b'{"meta": {}, "value": null}'
    with pytest.raises(CodecError, match="over the limit"):
        decode(codec.MAGIC + _LEN.pack(len(head)) + head + _LEN.pack(10**9))
    with pytest.raises(CodecError, match="truncated"):
        decode(codec.MAGIC + _LEN.pack(len(head)) + head + _LEN.pack(3))


def test_header_is_bounded_before_it_is_parsed():
    """A reply whose JSON part is huge (a 60 MB nested list) is refused before json.loads,
    which would cost the harness many times its size in memory."""
    head = b'{"meta": {}, "value": {"list": [' + b"1," * (codec.MAX_HEADER_BYTES // 2) + b'1]}}'
    frame = codec.MAGIC + _LEN.pack(len(head)) + head + _LEN.pack(0)
    with pytest.raises(CodecError, match="over the limit"):
        decode(frame)


def test_lone_surrogates_from_the_worker_become_replacement_characters():
    """A student exception message holding "\\ud800" must not crash the UTF-8 results writer."""
    frame = encode("x\ud800y", {"error": {"message": "bad \udfff"}, "\ud801": 1})
    value, meta = decode(frame)
    assert value == "x\ufffd\ufffd\ufffdy" or "\ud800" not in value
    value.encode("utf-8"), meta["error"]["message"].encode("utf-8")
    assert all(isinstance(k, str) and k.encode("utf-8") for k in meta)


def test_arrays_decode_from_a_bytearray_frame_without_copying_it_first():
    frame = bytearray(encode([np.arange(12.0).reshape(3, 4), np.asfortranarray(np.ones((2, 3), np.float32))]))
    a, b = decode(frame)[0]
    assert np.array_equal(a, np.arange(12.0).reshape(3, 4)) and b.dtype == np.float32 and b.shape == (2, 3)


MALFORMED = {
    "header-not-json": b"{not json",
    "header-not-utf8": b"\xff\xfe",
    "header-is-list": b"[1, 2]",
    "meta-missing": {"value": 1},
    "meta-not-dict": {"meta": [], "value": 1},
    "bare-list": {"meta": {}, "value": [1, 2]},
    "unknown-tag": {"meta": {}, "value": {"pickle": "x"}},
    "empty-node": {"meta": {}, "value": {}},
    "three-keys": {"meta": {}, "value": {"list": [], "a": 1, "b": 2}},
    "bad-float": {"meta": {}, "value": {"float": "1e999"}},
    "bad-sequence": {"meta": {}, "value": {"list": "abc"}},
    "bad-tuple": {"meta": {}, "value": {"tuple": 3}},
    "bad-dict-item": {"meta": {}, "value": {"dict": [[1, 2, 3]]}},
    "bad-dict-key": {"meta": {}, "value": {"dict": [[[1], 2]]}},
    "dangling-nd": {"meta": {}, "value": {"nd": 0}},
    "negative-nd": {"meta": {}, "value": {"nd": -1}},
    "bool-nd": {"meta": {}, "value": {"nd": True}},
    "str-nd": {"meta": {}, "value": {"nd": "0"}},
    "deep-tree": b'{"meta": {}, "value": ' + b'{"list": [' * 200 + b"]}" * 200 + b"}",
}


@pytest.mark.parametrize("header", MALFORMED.values(), ids=MALFORMED.keys())
def test_decode_refuses_malformed_trees(header):
    with pytest.raises(CodecError):
        decode(frame(header))


# Frames that once made decode() raise TypeError / EOFError / RecursionError, which
# the harness did not catch: a worker (student code writing to its reply pipe)
# could make a raw exception escape the sandbox instead of BadReply.
ODD = {
    "dict-payload-int": frame({"meta": {}, "value": {"dict": 5}}),
    "dict-payload-null": frame({"meta": {}, "value": {"dict": None}}),
    "two-unknown-keys": frame({"meta": {}, "value": {"float": "nan", "x": 1}}),
    "empty-npy-blob": frame({"meta": {}, "value": {"nd": 0}}, [b""]),
    "deep-json-header": frame(b'{"meta": {}, "value": ' + b"[" * 100000 + b"]" * 100000 + b"}"),
    "garbage-npy-blob": frame({"meta": {}, "value": {"nd": 0}}, [b"garbage that is not npy"]),
    "npy-short-data": frame({"meta": {}, "value": {"nd": 0}}, [npy(np.arange(10.0))[:-8]]),
    "npy-short-header": frame({"meta": {}, "value": {"nd": 0}}, [npy(np.arange(10.0))[:20]]),
}


@pytest.mark.parametrize("data", ODD.values(), ids=ODD.keys())
def test_decode_any_malformation_is_codec_error(data, no_pickle):
    with pytest.raises(CodecError):
        decode(data)


# ---------------------------------------------------------------- framing on fds

def test_frames_over_a_pipe():
    import os

    data = encode([np.arange(3), "x"], {"op": "ping"})
    r, w = os.pipe()
    try:
        codec.write_frame(w, data)
        codec.write_frame(w, data)
        assert codec.read_frame(r, 1 << 20) == data
        with pytest.raises(CodecError, match="exceeds the limit"):
            codec.read_frame(r, len(data) - 1)
    finally:
        os.close(w)
        os.close(r)
    r, w = os.pipe()
    os.close(w)
    try:
        assert codec.read_frame(r, 1 << 20) is None  # end of file
    finally:
        os.close(r)
