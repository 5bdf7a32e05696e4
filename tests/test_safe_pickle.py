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
import json
import os
import pickle
import pickletools
import struct
import subprocess
import sys
import tracemalloc

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


# ----------------------------------------------------------------------------- crafted files from allowed globals

def _g(module: str, name: str) -> bytes:  # GLOBAL
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _s(data: bytes) -> bytes:  # a Python 2 str
    return b"U" + bytes([len(data)]) + data if len(data) < 256 else b"T" + struct.pack("<i", len(data)) + data


def _i(v: int) -> bytes:  # BININT
    return b"J" + struct.pack("<i", v)


def _dtype(code: bytes, state: bytes | None = None) -> bytes:
    """``numpy.dtype(code, 0, 1)``, then BUILD with the pickled ``state`` tuple (as numpy writes a dtype)."""
    out = _g("numpy", "dtype") + b"(" + _s(code) + _i(0) + _i(1) + b"tR"
    return out + (state + b"b" if state is not None else b"")


def _dstate(order: bytes = b"<", subarray: bytes = b"N", names: bytes = b"N", fields: bytes = b"N",
            elsize: int = -1, align: int = -1, flags: int = 0, version: int = 3) -> bytes:
    return (b"(" + _i(version) + _s(order) + subarray + names + fields + _i(elsize) + _i(align) + _i(flags)
            + b"t")


def _array(shape: list[int], dtype: bytes, data: bytes, reconstruct: bytes | None = None) -> bytes:
    """An array as numpy's ``ndarray.__reduce__`` writes it, with the given dtype opcodes."""
    head = reconstruct if reconstruct is not None else (
        _g("numpy", "ndarray") + b"(" + _i(0) + b"t" + _s(b"b") + b"\x87")
    return (_g("numpy.core.multiarray", "_reconstruct") + head + b"R"
            + b"(" + _i(1) + b"(" + b"".join(_i(x) for x in shape) + b"t" + dtype + b"\x89" + _s(data) + b"tb")


# dtype state of an 8-byte item with one field at offset 2**31 - 8: numpy's dtype.__setstate__ takes it, and reading
# an array of it (tolist) reads 2 GB past its buffer (a segmentation fault)
_FAR_FIELD = (_dstate(b"|", names=b"(" + _s(b"a") + b"t",
                      fields=b"}" + _s(b"a") + b"(" + _dtype(b"f8", _dstate()) + _i(2**31 - 8) + b"ts",
                      elsize=8, align=1))


def _stream(body: bytes) -> bytes:
    return b"\x80\x02" + body + b"."


CRAFTED_DTYPES = {  # name -> (pickle, what the refusal says)
    "void-far-field": (_stream(_array([1], _dtype(b"V8", _FAR_FIELD), bytes(8))), "numpy.dtype('V8', 0, 1)"),
    "f8-far-field": (_stream(_array([1], _dtype(b"f8", _FAR_FIELD), bytes(8))), "fields, names or a subarray"),
    "S1-itemsize-2GB": (_stream(_array([1], _dtype(b"S1", _dstate(b"|", elsize=2**31 - 1, align=1)), b"x")),
                        "numpy writes item size 1, alignment 1"),
    "f4-subarray": (_stream(_array([1], _dtype(b"f4", _dstate(subarray=_dtype(b"f4", _dstate()) + _i(10**6)
                                                                       + b"\x85\x86")), bytes(4))),
                    "fields, names or a subarray"),
    "f4-odd-order": (_stream(_array([1], _dtype(b"f4", _dstate(b"|")), bytes(4))), "byte order '|', numpy writes '<'"),
    "f4-version-4": (_stream(_array([1], _dtype(b"f4", _dstate(version=4)), bytes(4))), "numpy writes (3, "),
    "f4-flags": (_stream(_array([1], _dtype(b"f4", _dstate(flags=63)), bytes(4))), "flags 0"),
}

_READ_ALL = r"""
import json, sys
from pathlib import Path
from bench.data import safe_pickle
from bench.data.text_sets import read_filenames
from bench.errors import BenchError
out = {}
for path in sys.argv[1:]:
    try:
        obj = safe_pickle.load(path, what="filenames list")
        obj.tolist()  # what crashed: reading an array of the crafted dtype
        out[path] = "loaded"
    except BenchError as exc:
        out[path] = str(exc)
    try:
        read_filenames(Path(path), ".*")
    except BenchError as exc:
        assert str(exc) == out[path], (str(exc), out[path])
print(json.dumps(out))
"""


def test_crafted_dtype_states_are_refused_without_a_crash(tmp_path):
    """A 226-byte ``filenames.pickle`` made of allowed globals only (an array whose dtype has a field 2 GB past
    its 8-byte item) crashed ``read_filenames`` with a segmentation fault; it and its variants (another dtype
    state than numpy writes) are refused in one line naming the file. Read in a subprocess: a regression crashes
    it, not pytest."""
    data = CRAFTED_DTYPES["void-far-field"][0]
    assert len(data) < 300 and b"_codecs" not in data
    # the payload is a real one: numpy's own __setstate__ takes the field 2 GB past the item (data not touched)
    evil = pickle.loads(data, encoding="latin1")
    assert evil.dtype.itemsize == 8 and evil.dtype.fields["a"][1] == 2**31 - 8
    f8 = pickle.loads(CRAFTED_DTYPES["f8-far-field"][0], encoding="latin1").dtype
    assert f8.fields is not None and f8 == np.dtype(f8.str)  # why "no fields" is checked apart from dt == dt.str
    paths = []
    for name, (data, _) in CRAFTED_DTYPES.items():
        paths.append(tmp_path / name / "filenames.pickle")
        paths[-1].parent.mkdir()
        paths[-1].write_bytes(data)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, "-c", _READ_ALL, *map(str, paths)], capture_output=True, text=True,
                          cwd=root, env={**os.environ, "PYTHONPATH": root}, timeout=120)
    assert proc.returncode == 0, f"the reader died (return code {proc.returncode}; -11 is a segmentation fault): " \
                                 f"{proc.stderr[-2000:]}"
    got = json.loads(proc.stdout)
    for path, (name, (_, needle)) in zip(paths, CRAFTED_DTYPES.items()):
        msg = got[str(path)]
        assert msg.startswith(f"{path}: refused to unpickle the filenames list: ") and needle in msg, (name, msg)
        assert "\n" not in msg and len(msg) < 600, (name, msg)
    for data, needle in CRAFTED_DTYPES.values():  # the same in process: refused while loading, nothing read
        with pytest.raises(safe_pickle.RefusedValue) as exc:
            safe_pickle.loads(data)
        assert needle in str(exc.value)


def test_numpy_ndarray_is_not_callable_from_a_pickle():
    """``numpy.ndarray((5e7,), 'O')`` in 31 bytes would allocate 400 MB; the name stands for a sentinel now."""
    data = b"\x80\x02" + _g("numpy", "ndarray") + _i(50_000_000) + b"\x85" + _s(b"O") + b"\x86R."
    assert len(data) < 40
    tracemalloc.start()
    try:
        with pytest.raises(safe_pickle.RefusedValue, match=r"numpy.ndarray\(\(50000000,\), 'O'\) called"):
            safe_pickle.loads(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20, peak  # numpy reports its allocations to tracemalloc: 400 MB would show
    refused = {
        "NEWOBJ": (b"\x80\x02" + _g("numpy", "ndarray") + b")\x81.", pickle.UnpicklingError),
        "other shape": (_stream(_g("numpy.core.multiarray", "_reconstruct") + _g("numpy", "ndarray")
                                + _i(50_000_000) + b"\x85" + _s(b"O") + b"\x87R"), safe_pickle.RefusedValue),
        "not ndarray": (_stream(_g("numpy._core.multiarray", "_reconstruct") + _g("numpy", "dtype") + _i(0)
                                + b"\x85" + _s(b"b") + b"\x87R"), safe_pickle.RefusedValue),
        "BUILD on a global": (_stream(_g("numpy", "dtype") + b"}" + _s(b"a") + _i(1) + b"sb"),
                              safe_pickle.RefusedValue),
        "slots BUILD on a global": (_stream(_g("_codecs", "encode") + b"N}" + _s(b"__defaults__") + b")s\x86b"),
                                    safe_pickle.RefusedValue),
    }
    for name, (data, error) in refused.items():
        with pytest.raises(error):
            safe_pickle.loads(data)
        assert safe_pickle._allowed()[("_codecs", "encode")]._fn.__defaults__ is None, name


@pytest.mark.parametrize("code", ["f4", "<f4", ">f8", "=i4", "i8", "u1", "|u1", "b1", "i1", "f2", "S5", "U10"])
def test_simple_dtype_codes_load(code):
    dt = np.dtype(code)
    arr = np.zeros(3, dt)
    got = safe_pickle.loads(pickle.dumps(arr, protocol=2))
    # numpy 2's own unpickling turns a non-native byte order native: the values are the same
    assert got.dtype == pickle.loads(pickle.dumps(arr)).dtype and np.array_equal(got, arr)
    assert safe_pickle.loads(pickle.dumps(arr[0], protocol=2)) == arr[0]  # b'' / '': numpy writes 'S0' / 'U0'
    full = np.full(2, 1, dt)
    assert np.array_equal(safe_pickle.loads(pickle.dumps(full, protocol=2)), full)
    assert safe_pickle.loads(pickle.dumps(full[0], protocol=2)) == full[0]


@pytest.mark.parametrize("protocol", range(0, 5))
def test_empty_arrays_and_bytes_load(protocol):
    """Python 3 writes ``b''`` at protocols 0-2 as ``bytes()`` (``__builtin__.bytes``): allowed without argument."""
    for arr in (np.zeros((0, 10, 1024), np.float32), np.zeros(0, np.int64)):
        got = safe_pickle.loads(pickle.dumps(arr, protocol=protocol))
        assert got.dtype == arr.dtype and got.shape == arr.shape
    assert safe_pickle.loads(pickle.dumps([b"", np.bytes_(b"")], protocol=protocol)) == [b"", b""]
    with pytest.raises(safe_pickle.RefusedValue, match=r"only bytes\(\) is allowed"):
        safe_pickle.loads(b"\x80\x02c__builtin__\nbytes\n" + _i(10**9) + b"\x85R.")


@pytest.mark.parametrize("code", ["O", "O8", "V8", "c8", "M8", "M8[ns]", "S", "U", "f4,f4", "i3", "(2,)f4",
                                  "f4 ", "d", "float32"])
def test_other_dtype_codes_are_refused(code):
    data = _stream(_dtype(code.encode()))
    with pytest.raises(safe_pickle.RefusedValue, match=r"numpy.dtype\("):
        safe_pickle.loads(data)


def test_scalars_states_and_results_are_checked():
    f4 = _dtype(b"f4", _dstate())
    scalar = _g("numpy.core.multiarray", "scalar")
    assert safe_pickle.loads(_stream(scalar + f4 + _s(struct.pack("<f", 2.5)) + b"\x86R")) == np.float32(2.5)
    refused = {
        "scalar of 3 bytes": scalar + f4 + _s(b"abc") + b"\x86R",
        "scalar of a code": scalar + _s(b"f4") + _s(bytes(4)) + b"\x86R",
        "scalar given a state": scalar + f4 + _s(bytes(4)) + b"\x86R" + b"}b",
        "dtype state set twice": _dtype(b"f4", _dstate()) + _dstate() + b"b",
        "array state set twice": _array([1], f4, bytes(4)) + b"(" + _i(1) + b")" + f4 + b"\x89" + _s(b"") + b"tb",
        "array data too short": _array([1000], f4, bytes(4)),
        "array of 2**40 empty items": _array([2**30, 2**10], f4, b""),
        "array of 2**40 empty strings": _array([2**30, 2**10], _dtype(b"S0", _dstate(b"|", elsize=0, align=1)), b""),
        "array of a str dtype": _array([1], _s(b"f4"), bytes(4)),
        "array without state": _g("numpy.core.multiarray", "_reconstruct") + _g("numpy", "ndarray") + b"(" + _i(0)
        + b"t" + _s(b"b") + b"\x87R",
        "bare dtype": f4,
        "bare global": _g("numpy", "dtype"),
        "list holding itself": b"]q\x00h\x00a",
        "nested 20 deep": b"]" * 20 + b"a" * 19,
        "dict keyed by an array": b"}" + _array([1], f4, bytes(4)) + _i(1) + b"s",
    }
    for name, body in refused.items():
        with pytest.raises(safe_pickle.RefusedValue):
            safe_pickle.loads(_stream(body))
    assert safe_pickle.loads(_stream(b"]" * 16 + b"a" * 15)) == functools.reduce(lambda a, _: [a], range(15), [])
    # one-line errors naming the file
    path = "/nonexistent-dir/x.pickle"
    with pytest.raises(BenchError, match="cannot read"):
        safe_pickle.load(path)


def test_a_memo_bomb_stays_one_array(tmp_path):
    """81 KB naming one [10, 1024] array 20,000 times (pickle's memo): loaded as 20,000 references to one array,
    not 781 MB (``bench.data.text_sets`` checks the count before stacking)."""
    row = np.random.default_rng(0).standard_normal((10, 1024)).astype(np.float32)
    data = pickle.dumps([row] * 20_000, protocol=4)
    assert len(data) < 85_000
    tracemalloc.start()
    try:
        got = safe_pickle.loads(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(got) == 20_000 and len({id(r) for r in got}) == 1 and np.array_equal(got[0], row)
    assert peak < 20 * 2**20, peak
