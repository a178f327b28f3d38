"""Wire format between the grading harness and the sandbox worker.

Values cross as one frame: a JSON header describing the value tree, followed by
``.npy`` blobs for arrays (``np.load(..., allow_pickle=False)``). Never pickle.

Frame layout (all lengths are 8-byte big-endian unsigned integers)::

    b"AGK1" | len(header) | header JSON | n_blobs x (len(blob) | blob)

Value tree (JSON):
    null, true/false, int, finite float, str      -> themselves
    {"nd": i}                                     -> numpy array from blob i
    {"nd": i, "torch": true}                      -> a torch tensor on the sending side
    {"float": "nan" | "inf" | "-inf"}             -> non-finite float
    {"tuple": [...]}, {"list": [...]}             -> tuple, list
    {"dict": [[key, value], ...]}                 -> dict with str/int keys

This module is shared by both sides and uses only the standard library and
NumPy (torch is imported only when a tensor actually crosses), so the worker
can run it from a copy in its own directory. It must stay Python 3.10 compatible.
"""
from __future__ import annotations

import io
import json
import os
import math
import struct
import sys

import numpy as np

MAGIC = b"AGK1"
_LEN = struct.Struct(">Q")
#: dtype kinds that may cross: bool, signed/unsigned int, float, complex.
ALLOWED_KINDS = "biufc"
MAX_DEPTH = 64
#: the JSON part of a frame (the value tree and meta; arrays travel as blobs): a legitimate reply
#: needs far less, and parsing a huge one costs the harness many times its size in memory
MAX_HEADER_BYTES = 4 << 20
MAX_BLOBS = 100000


def _caps() -> tuple:
    """(header bytes, arrays) a reply may hold; read at each decode, not at import (a process forked from a
    template imported this module before its environment was set): the kit's teeth tests switch them off."""
    if "reply-cap" in (os.environ.get("AUTOGRADER_UNSAFE_DISABLE") or "").split(","):
        return 1 << 62, 1 << 62
    return MAX_HEADER_BYTES, MAX_BLOBS


class CodecError(ValueError):
    """A value cannot be encoded, or a frame is malformed or too large."""


def _torch_module():
    return sys.modules.get("torch")


def _encode_value(obj, blobs: list, depth: int = 0):
    if depth > MAX_DEPTH:
        raise CodecError("value is nested too deeply (more than %d levels)" % MAX_DEPTH)
    t = type(obj)
    if obj is None or t is bool or t is str:
        return obj
    if t is int:
        if abs(obj) >= 2**63:
            raise CodecError("integer %d is too large to transfer" % obj)
        return obj
    if t is float:
        if math.isfinite(obj):
            return obj
        return {"float": "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")}
    if t is tuple:
        return {"tuple": [_encode_value(v, blobs, depth + 1) for v in obj]}
    if t is list:
        return {"list": [_encode_value(v, blobs, depth + 1) for v in obj]}
    if t is dict:
        items = []
        for k, v in obj.items():
            if type(k) not in (str, int):
                raise CodecError("dict keys must be str or int, got %s" % type(k).__name__)
            items.append([k, _encode_value(v, blobs, depth + 1)])
        return {"dict": items}
    torch = _torch_module()
    is_tensor = torch is not None and isinstance(obj, torch.Tensor)
    if is_tensor:
        t = obj.detach().cpu().resolve_conj().resolve_neg()
        if t.dtype in (torch.bfloat16,) or str(t.dtype).startswith("torch.float8"):
            t = t.float()  # numpy has no such dtype: widen losslessly
        arr = t.numpy()
    elif isinstance(obj, (np.ndarray, np.generic)):
        arr = np.asarray(obj)
    else:
        raise CodecError(
            "cannot transfer a value of type %s; return numbers, strings, lists, "
            "tuples, dicts, numpy arrays or torch tensors" % t.__name__)
    if type(arr) is not np.ndarray:
        arr = arr.view(np.ndarray)
    if not arr.flags.c_contiguous:
        arr = arr.copy(order="C")  # (np.ascontiguousarray would turn 0-d into 1-d)
    if arr.dtype.kind not in ALLOWED_KINDS:
        raise CodecError("arrays of dtype %s cannot be transferred; use a numeric dtype" % arr.dtype)
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    blobs.append(buf.getvalue())
    node = {"nd": len(blobs) - 1}
    if is_tensor:
        node["torch"] = True
    return node


def encode(obj, meta: dict | None = None) -> bytes:
    """Encode ``obj`` (and a JSON-able ``meta`` dict) into one frame."""
    blobs: list = []
    header = {"meta": meta or {}, "value": _encode_value(obj, blobs)}
    head = json.dumps(header, allow_nan=False).encode("utf-8")
    parts = [MAGIC, _LEN.pack(len(head)), head, _LEN.pack(len(blobs))]
    for b in blobs:
        parts.append(_LEN.pack(len(b)))
        parts.append(b)
    return b"".join(parts)


def clean_text(text: str) -> str:
    """``text`` with lone surrogates (which no UTF-8 writer accepts) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _clean_tree(obj, depth: int = 0):
    """Strings of a decoded JSON tree made writable as UTF-8 (keys included)."""
    if depth > 2 * MAX_DEPTH + 8:  # a node nests as {"list": [...]}: two levels each
        raise CodecError("value is nested too deeply")
    if isinstance(obj, str):
        return clean_text(obj)
    if isinstance(obj, list):
        return [_clean_tree(v, depth + 1) for v in obj]
    if isinstance(obj, dict):
        return {clean_text(k): _clean_tree(v, depth + 1) for k, v in obj.items()}
    return obj


class _ViewReader(io.RawIOBase):
    """A read-only file over a memoryview: np.load reads a blob without copying all of it first."""

    def __init__(self, view):
        self._view, self._pos = view, 0

    def readable(self):
        return True

    def seekable(self):
        return True

    def readinto(self, buf):
        n = min(len(buf), len(self._view) - self._pos)
        buf[:n] = self._view[self._pos:self._pos + n]
        self._pos += n
        return n

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self._pos, 2: len(self._view)}[whence]
        self._pos = max(0, min(base + offset, len(self._view)))
        return self._pos

    def tell(self):
        return self._pos


def _decode_value(node, blobs: list, as_torch: bool, depth: int = 0):
    if depth > MAX_DEPTH:
        raise CodecError("value is nested too deeply")
    if node is None or isinstance(node, (bool, int, float, str)):
        return node
    if isinstance(node, list):
        raise CodecError("malformed value tree (bare list)")
    if not isinstance(node, dict) or len(node) not in (1, 2):
        raise CodecError("malformed value tree")
    if "nd" in node:
        if set(node) - {"nd", "torch"}:
            raise CodecError("malformed array node")
        i = node["nd"]
        if type(i) is not int or not 0 <= i < len(blobs):
            raise CodecError("malformed array reference")
        arr = np.load(io.BufferedReader(_ViewReader(blobs[i])), allow_pickle=False)
        if type(arr) is not np.ndarray or arr.dtype.kind not in ALLOWED_KINDS or arr.dtype.fields:
            raise CodecError("array of unsupported dtype %s" % getattr(arr, "dtype", "?"))
        if node.get("torch") and as_torch:
            import torch  # only the side that asked for tensors imports torch

            return torch.from_numpy(arr.copy())
        return arr
    (tag, payload), = node.items()
    if tag == "float":
        if payload not in ("nan", "inf", "-inf"):
            raise CodecError("malformed float")
        return float(payload)
    if tag in ("tuple", "list"):
        if not isinstance(payload, list):
            raise CodecError("malformed sequence")
        seq = [_decode_value(v, blobs, as_torch, depth + 1) for v in payload]
        return tuple(seq) if tag == "tuple" else seq
    if tag == "dict":
        out = {}
        for item in payload:
            if not (isinstance(item, list) and len(item) == 2 and type(item[0]) in (str, int)):
                raise CodecError("malformed dict")
            out[item[0]] = _decode_value(item[1], blobs, as_torch, depth + 1)
        return out
    raise CodecError("unknown tag %r" % tag)


def decode(frame: bytes, as_torch: bool = False):
    """Decode one frame into ``(value, meta)``; any malformation raises CodecError.

    ``as_torch``: rebuild values that were torch tensors on the sending side as
    tensors (the worker does this for arguments); otherwise they are numpy arrays.
    """
    try:
        return _decode(frame, as_torch)
    except CodecError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError, EOFError, RecursionError, OverflowError,
            UnicodeDecodeError, struct.error) as exc:
        raise CodecError("malformed frame (%s: %s)" % (type(exc).__name__, str(exc)[:200])) from None


def _decode(frame, as_torch: bool):
    view = memoryview(frame)
    if bytes(view[:4]) != MAGIC:
        raise CodecError("not a sandbox frame")
    pos = 4

    def take(n):
        nonlocal pos
        if pos + n > len(view):
            raise CodecError("truncated frame")
        chunk = view[pos:pos + n]
        pos += n
        return chunk

    max_header, max_blobs = _caps()
    (hlen,) = _LEN.unpack(take(8))
    if hlen > max_header:  # checked before parsing: JSON costs many times its size in memory
        raise CodecError("the value's structure takes %d bytes, over the limit of %d (return arrays, not "
                         "long nested lists)" % (hlen, max_header))
    try:
        header = json.loads(bytes(take(hlen)).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CodecError("malformed header: %s" % exc) from None
    (nblobs,) = _LEN.unpack(take(8))
    if nblobs > max_blobs:
        raise CodecError("a value with %d arrays is over the limit of %d" % (nblobs, max_blobs))
    blobs = []
    for _ in range(nblobs):
        (blen,) = _LEN.unpack(take(8))
        blobs.append(take(blen))
    if not isinstance(header, dict) or not isinstance(header.get("meta"), dict):
        raise CodecError("malformed header")
    header = _clean_tree(header)
    return _decode_value(header.get("value"), blobs, as_torch), header["meta"]


# ---------------------------------------------------------------- framing on fds
# A frame on a pipe is preceded by its total length (8 bytes).

def write_frame(fd: int, frame: bytes) -> None:
    """Blocking write of one length-prefixed frame (used by the worker)."""
    data = _LEN.pack(len(frame)) + frame
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd: int, n: int) -> bytes | None:
    """Blocking read of exactly ``n`` bytes; ``None`` on end of file."""
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, max_bytes: int) -> bytes | None:
    """Blocking read of one frame (used by the worker); ``None`` on end of file."""
    head = read_exact(fd, 8)
    if head is None:
        return None
    (n,) = _LEN.unpack(head)
    if n > max_bytes:
        raise CodecError("frame of %d bytes exceeds the limit of %d" % (n, max_bytes))
    return read_exact(fd, n)
