"""The restricted unpickler of the text-to-image metadata (bench/data/safe_pickle.py): code-running pickles are
refused before anything runs; numpy arrays and lists of str load at every protocol, Python 2's byte stream
included.

``py2_dumps`` writes the byte stream Python 2.7's ``pickle.dump(obj, f, 2)`` produces for the objects StackGAN's
metadata holds (a list of ``str``, a list of ints, a numpy 1.x ``ndarray``): no Python 2 is needed to build the
fixture. The opcodes follow CPython 2.7's ``Lib/pickle.py`` (``save_string``: SHORT_BINSTRING below 256 bytes,
else BINSTRING; ``save_list``: EMPTY_LIST, MARK, items, APPENDS; a BINPUT after each memoised object) and numpy
1.x's ``ndarray.__reduce__`` under Python 2: ``(numpy.core.multiarray._reconstruct, (numpy.ndarray, (0,), 'b'),
(1, shape, dtype, False, <raw data as a str>))`` with ``dtype.__reduce__`` giving ``(numpy.dtype, ('f4', 0, 1),
(3, '<', None, None, None, -1, -1, 0))``. Each stream is checked against the stdlib unpickler too, and its opcodes
are listed (no BINUNICODE / BINBYTES / ``_codecs``: what only Python 3 writes).
"""

from __future__ import annotations

import functools
import os
import pickle
import pickletools
import struct
import subprocess

import numpy as np
import pytest

from bench.data import safe_pickle
from bench.errors import BenchError


# ----------------------------------------------------------------------------- Python 2.7 protocol-2 writer

class _Py2Writer:
    def __init__(self) -> None:
        self.out = bytearray(b"\x80\x02")  # PROTO 2
        self.memo = 0

    def put(self) -> None:  # BINPUT / LONG_BINPUT, as cPickle memoises every object
        self.out += b"q" + bytes([self.memo]) if self.memo < 256 else b"r" + struct.pack("<I", self.memo)
        self.memo += 1

    def glob(self, module: str, name: str) -> None:
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.put()

    def string(self, data: bytes) -> None:  # a Python 2 str: raw bytes
        if len(data) < 256:
            self.out += b"U" + bytes([len(data)]) + data
        else:
            self.out += b"T" + struct.pack("<i", len(data)) + data
        self.put()

    def int(self, v: int) -> None:
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        else:
            self.out += b"J" + struct.pack("<i", v)

    def tuple(self, items: list) -> None:
        if len(items) <= 3:
            for it in items:
                self.obj(it)
            self.out += {0: b")", 1: b"\x85", 2: b"\x86", 3: b"\x87"}[len(items)]
        else:
            self.out += b"("
            for it in items:
                self.obj(it)
            self.out += b"t"
        self.put()

    def ndarray(self, a: np.ndarray) -> None:
        a = np.ascontiguousarray(a)
        self.glob("numpy.core.multiarray", "_reconstruct")
        self.glob("numpy", "ndarray")
        self.tuple([0])
        self.string(b"b")
        self.out += b"\x87"  # TUPLE3 (ndarray, (0,), 'b')
        self.put()
        self.out += b"R"  # REDUCE
        self.put()
        self.out += b"("  # MARK: the state tuple
        self.int(1)
        self.tuple(list(a.shape))
        self.glob("numpy", "dtype")
        self.string(a.dtype.str[1:].encode())  # 'f4', 'i8'
        self.int(0)
        self.int(1)
        self.out += b"\x87"
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("
        self.int(3)
        self.string(a.dtype.str[:1].encode())  # '<'
        self.out += b"NNN"
        self.out += b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1)
        self.int(0)
        self.out += b"t"
        self.put()
        self.out += b"b"  # BUILD the dtype
        self.out += b"\x89"  # NEWFALSE: C order
        self.string(a.tobytes())
        self.out += b"t"
        self.put()
        self.out += b"b"  # BUILD the array

    def obj(self, x) -> None:
        if isinstance(x, np.ndarray):
            self.ndarray(x)
        elif isinstance(x, bool) or x is None:
            self.out += {True: b"\x88", False: b"\x89", None: b"N"}[x]
        elif isinstance(x, int):
            self.int(x)
        elif isinstance(x, str):
            self.string(x.encode("latin1"))
        elif isinstance(x, list):
            self.out += b"]"
            self.put()
            for start in range(0, len(x), 1000):  # cPickle batches APPENDS by 1000
                self.out += b"("
                for it in x[start : start + 1000]:
                    self.obj(it)
                self.out += b"e"
        elif isinstance(x, tuple):
            self.tuple(list(x))
        else:
            raise TypeError(type(x))


def py2_dumps(obj) -> bytes:
    """``obj`` (list of str / ints, numpy array) as Python 2.7 + numpy 1.x write it with protocol 2."""
    w = _Py2Writer()
    w.obj(obj)
    return bytes(w.out + b".")


def opcodes(data: bytes) -> set[str]:
    return {op.name for op, _arg, _pos in pickletools.genops(data)}


# ----------------------------------------------------------------------------- refused payloads

class _Reduce:
    """An object whose unpickling calls ``fn(*args)``: the classic pickle payload."""

    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_code_running_payloads_are_refused_before_they_run(tmp_path, protocol):
    marker = tmp_path / "pwned"
    payloads = {
        "system": _Reduce(os.system, f"touch {marker}"),
        "eval": _Reduce(eval, f"open({str(marker)!r}, 'w').write('x')"),
        "Popen": _Reduce(subprocess.Popen, ["touch", str(marker)]),
        "partial": _Reduce(functools.partial, os.system, f"touch {marker}"),
    }
    for needle, obj in payloads.items():
        data = pickle.dumps([np.zeros(2, np.float32), obj], protocol=protocol)
        path = tmp_path / f"{needle}.pickle"
        path.write_bytes(data)
        with pytest.raises(BenchError) as exc:
            safe_pickle.load(path, what="filenames list")
        msg = str(exc.value)
        assert msg.startswith(f"{path}: refused to unpickle global '") and needle in msg and "\n" not in msg, msg
        with pytest.raises(safe_pickle.RefusedGlobal):
            safe_pickle.loads(data)
        assert not marker.exists(), needle
    # the same payload through the unrestricted unpickler does run: the test's payload is a real one
    pickle.loads(pickle.dumps(_Reduce(open, str(marker), "w"), protocol=protocol)).close()
    assert marker.exists()


@pytest.mark.parametrize("module, name", [
    ("torch._utils", "_rebuild_tensor_v2"), ("builtins", "getattr"), ("numpy", "load"),
    ("numpy.testing._private.utils", "runstring"), ("__builtin__", "set"), ("collections", "OrderedDict"),
    ("numpy.core.multiarray", "fromstring"), ("copy_reg", "_reconstructor"),
])
def test_other_globals_are_refused_by_name_without_importing_them(module, name):
    data = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n)R."
    with pytest.raises(safe_pickle.RefusedGlobal, match=f"'{module}.{name}' is not allowed"):
        safe_pickle.loads(data)


def test_codecs_encode_is_only_latin1_and_damaged_files_are_one_line(tmp_path):
    # Python 3's protocol-2 bytes go through _codecs.encode(str, 'latin1'); another codec is refused
    evil = b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x04\x00\x00\x00zlib\x86R."
    with pytest.raises(pickle.UnpicklingError, match="codec 'zlib' is not allowed"):
        safe_pickle.loads(evil)
    path = tmp_path / "filenames.pickle"
    path.write_bytes(pickle.dumps(["a", "b"], protocol=2)[:-3])  # truncated
    with pytest.raises(BenchError, match=r"filenames.pickle: not a readable pickle \("):
        safe_pickle.load(path)
    with pytest.raises(BenchError, match="cannot read the pickle"):
        safe_pickle.load(tmp_path / "absent.pickle")
    path.write_bytes(b"\x80\x02P" + b"0\n.")  # a persistent id
    with pytest.raises(BenchError, match="not a readable pickle"):
        safe_pickle.load(path)


# ----------------------------------------------------------------------------- what the releases hold loads

@pytest.mark.parametrize("protocol", range(0, 5))
def test_arrays_lists_and_numpy_scalars_load_at_protocols_0_to_4(protocol):
    rng = np.random.default_rng(protocol)
    emb = rng.standard_normal((3, 10, 1024)).astype(np.float32)
    names = ["001.Black_footed_Albatross/Black_Footed_Albatross_0046_18", "jpg/image_06734"]
    got = safe_pickle.loads(pickle.dumps(emb, protocol=protocol))
    assert got.dtype == np.float32 and got.shape == (3, 10, 1024) and np.array_equal(got, emb)
    assert safe_pickle.loads(pickle.dumps(names, protocol=protocol)) == names
    ids = [np.int64(7), np.int32(1), 3]
    assert safe_pickle.loads(pickle.dumps(ids, protocol=protocol)) == [7, 1, 3]
    five = rng.standard_normal((2, 5, 1024)).astype(np.float32)
    assert np.array_equal(safe_pickle.loads(pickle.dumps(list(five), protocol=protocol)), list(five))


def test_protocol_5_arrays_are_refused_by_name():
    """numpy writes protocol-5 arrays through ``numpy._core.numeric._frombuffer``: no release needs it (they are
    Python 2 pickles), so it stays outside the allow-list, refused with its name rather than half-supported."""
    data = pickle.dumps(np.zeros((2, 10, 1024), np.float32), protocol=5)
    with pytest.raises(safe_pickle.RefusedGlobal, match="_frombuffer"):
        safe_pickle.loads(data)
    assert safe_pickle.loads(pickle.dumps(["a"], protocol=5)) == ["a"]  # containers need no global at all


def test_python2_protocol2_streams_load():
    """Python 2 + numpy 1.x's bytes of a [N,10,1024] float32 array and of a list of str (see the module)."""
    rng = np.random.default_rng(0)
    emb = rng.standard_normal((2, 10, 1024)).astype(np.float32)
    emb[0, 0, :4] = [1.0, -2.5, 3.25, 1e-30]  # raw bytes beyond ASCII, which only latin1 maps one to one
    data = py2_dumps(emb)
    ops = opcodes(data)
    assert "BINSTRING" in ops and "SHORT_BINSTRING" in ops and "GLOBAL" in ops
    assert not ops & {"BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "SHORT_BINBYTES", "STACK_GLOBAL"}
    assert b"numpy.core.multiarray\n_reconstruct" in data and b"_codecs" not in data
    got = safe_pickle.loads(data)
    assert got.dtype == np.float32 and got.shape == (2, 10, 1024) and np.array_equal(got, emb)
    # the stdlib unpickler agrees (the stream is a valid pickle), and needs latin1 too: ASCII cannot decode it
    assert np.array_equal(pickle.loads(data, encoding="latin1"), emb)
    with pytest.raises(UnicodeDecodeError):
        pickle.loads(data)
    names = ["002.Laysan_Albatross/Laysan_Albatross_0002_1027", "jpg/image_00001"] * 600  # two APPENDS batches
    assert safe_pickle.loads(py2_dumps(names)) == names
    assert safe_pickle.loads(py2_dumps([1, 77, 102])) == [1, 77, 102]
    assert np.array_equal(safe_pickle.loads(py2_dumps(np.arange(5, dtype=np.int64))), np.arange(5))
