"""A restricted unpickler for the text-to-image metadata the StackGAN authors released.

Their ``filenames.pickle``, ``class_info.pickle`` and ``char-CNN-RNN-embeddings.pickle`` (CUB-200-2011, Oxford-102,
COCO) were written by Python 2 with ``pickle.dump``: lists of ``str``, lists of ints and numpy arrays. A pickle is a
program, though: any global it names is imported and may be called, so a copy from anywhere must not be unpickled
with ``pickle.load``. ``RestrictedUnpickler`` resolves exactly the globals those files need and refuses every other
one (``os.system``, ``builtins.eval``, ``subprocess.Popen``, ``functools.partial``, torch's rebuild functions, ...)
before anything is called:

* ``numpy.core.multiarray._reconstruct`` / ``numpy._core.multiarray._reconstruct`` with ``numpy.ndarray`` and
  ``numpy.dtype``: an array (numpy 1.x writes the first module name, numpy 2.x the second);
* ``numpy.core.multiarray.scalar`` / ``numpy._core.multiarray.scalar``: a numpy scalar (e.g. a class id);
* ``_codecs.encode`` with the ``latin1`` codec only, and ``bytes()`` without argument: how Python 3 writes
  ``bytes`` (and ``b''``) at protocols 0-2 (numpy's raw array data), so that files re-saved by Python 3 at those
  protocols load too.

None of them is numpy's own callable. The allowed names stand for guarded stand-ins that accept exactly the
arguments numpy's ``__reduce__`` writes, and the objects they return take exactly the state numpy writes:

* ``numpy.ndarray`` is no callable at all (``numpy.ndarray((5e7,), 'O')`` would allocate 400 MB from 37 bytes): a
  sentinel that only ``_reconstruct`` accepts, and ``_reconstruct`` only as ``(numpy.ndarray, (0,), b'b')``;
* ``numpy.dtype`` takes a simple type code only (``'f4'``, ``'<i8'``, ``'b1'``, ``'S5'``, ``'U10'``: kinds
  b/i/u/f/S/U, at least one byte), and its state (pickle's BUILD) only as numpy writes it for that code: no
  fields, names or subarray, numpy's item size and alignment, a byte order. numpy's own ``dtype.__setstate__`` is
  never called: it accepts e.g. a field at offset 2 GB inside an 8-byte item, and reading such an array
  (``tolist``) reads out of bounds (a segmentation fault). The dtype used is always ``numpy.dtype(code)`` with
  the byte order of the state;
* an array's state is ``(1, shape, <that dtype>, fortran, raw data)`` with exactly ``prod(shape) * itemsize``
  bytes of data, then handed to numpy's ``ndarray.__setstate__``; a numpy scalar is ``scalar(<that dtype>,
  <itemsize bytes>)``.

After loading, the whole result is checked (without reading array data): lists, tuples and dicts nested at most
``MAX_DEPTH`` deep, no container holding itself, and every array / numpy scalar of a dtype of kind b/i/u/f/S/U
without fields or subarray that equals ``numpy.dtype(dt.str)``. Shared references (pickle's memo) stay shared: one
[10, 1024] array referenced 20,000 times is one array here; a caller that turns such a list into one array must
check its length first (``bench.data.text_sets`` does).

Plain containers and strings (list, tuple, dict, str, int, float, bool, None) need no global at all, so nothing
else of ``builtins`` is allowed (not even ``set`` or ``collections.OrderedDict``: the released files hold neither). Arrays
pickled at protocol 5 (numpy's ``numpy._core.numeric._frombuffer``) are refused too: no release needs them.

Python 2 ``str`` objects (the file names, and the raw bytes of every array) are decoded with ``encoding="latin1"``,
the one codec that maps every byte to a character and back: such a string is turned back into the same bytes
before numpy sees it. (StackGAN-Pytorch itself ran under Python 2 and calls a bare ``pickle.load(f)``; its Python 3
ports pass ``encoding="latin1"``, as here.)
"""

from __future__ import annotations

import io
import math
import pickle
import re
import reprlib
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from bench.errors import BenchError

MAX_DEPTH = 16  # containers nested deeper are refused (the releases: an array, or a list of arrays / str / ints)
MAX_NDIM = 32  # numpy 1.x's limit
SIMPLE_KINDS = "biufSU"  # bool, int, uint, float, bytes, str: what the releases (and their ports) hold
_CODE = re.compile(r"[<>|=]?[biufSU][0-9]{1,9}\Z")  # numpy writes 'f4', 'i8', 'b1', 'S5', 'U10', ...


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list (nothing was imported or called)."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"global '{module}.{name}' is not allowed (only numpy arrays, numpy scalars and plain "
                         "containers)")
        self.module = module
        self.name = name


class RefusedValue(pickle.UnpicklingError):
    """An allowed global was called with arguments, or given a state, that numpy does not write (a crafted dtype,
    a bare ``numpy.ndarray(...)``), or the result holds something other than arrays, scalars and containers."""


def _line(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(text.splitlines())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _ShortRepr(reprlib.Repr):
    """``reprlib`` that also cuts ``bytes`` before ``repr`` (a 1 GB string in a crafted call stays cheap)."""

    def repr_bytes(self, x: bytes, level: int) -> str:
        return repr(x[: self.maxstring]) + ("..." if len(x) > self.maxstring else "")

    repr_bytearray = repr_bytes


_REPR = _ShortRepr()
_REPR.maxstring = _REPR.maxother = 40


def _short(value: Any, limit: int = 80) -> str:
    """``repr`` on one line, cut to ``limit`` characters (for messages about untrusted values)."""
    return _line(_REPR.repr(value), limit)


class _Guarded:
    """What ``find_class`` returns: a callable whose state cannot be set (pickle's BUILD on a global would update
    its ``__dict__`` or attributes process-wide), and which is no type (NEWOBJ cannot call its ``__new__``)."""

    __slots__ = ("_fn", "_name")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self._name = name
        self._fn = fn

    def __call__(self, *args: Any) -> Any:
        return self._fn(*args)

    def __setstate__(self, state: Any) -> None:
        raise RefusedValue(f"'{self._name}' given a state (BUILD on a global)")

    def __repr__(self) -> str:
        return f"<{self._name}>"


def _ndarray_called(*args: Any) -> Any:
    raise RefusedValue(f"numpy.ndarray{_short(args)} called: numpy.ndarray may only be passed to _reconstruct "
                       "as numpy writes an array")


_NDARRAY = _Guarded("numpy.ndarray", _ndarray_called)  # the sentinel only _reconstruct accepts


class _Dtype:
    """``numpy.dtype(code)`` as loaded: the dtype, and whether its state (byte order) was set."""

    __slots__ = ("dtype", "code", "built")

    def __init__(self, dtype: Any, code: str) -> None:
        self.dtype = dtype
        self.code = code
        self.built = False

    def __repr__(self) -> str:
        return f"numpy.dtype('{self.code}')"

    def __setstate__(self, state: Any) -> None:
        if self.built:
            raise RefusedValue(f"the state of dtype '{self.code}' set twice")
        self.built = True
        self.dtype = _dtype_with_state(self.dtype, self.code, state)


class _Array:
    """What ``_reconstruct`` returns: the array is made when its state arrives (BUILD)."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value: Any = None

    def __repr__(self) -> str:
        return "<array>"

    def __setstate__(self, state: Any) -> None:
        if self.value is not None:
            raise RefusedValue("the state of an array set twice")
        self.value = _array_from_state(state)


class _Value:
    """A numpy scalar as loaded (its state cannot be set: numpy writes none)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "<numpy scalar>"

    def __setstate__(self, state: Any) -> None:
        raise RefusedValue(f"a numpy scalar given a state {_short(state)}")


def _simple_dtype(dt: Any, *, empty: bool = False) -> bool:
    """A dtype of kind b/i/u/f/S/U, of at least one byte (``empty``: or an empty S / U, as numpy writes the scalars
    ``b''`` and ``''``), without fields, names or subarray, equal to the dtype its string names (what no crafted
    ``__setstate__`` leaves)."""
    import numpy as np

    if not isinstance(dt, np.dtype) or dt.kind not in SIMPLE_KINDS or len(dt.kind) != 1:
        return False
    if dt.fields is not None or dt.names is not None or dt.subdtype is not None or dt.metadata:
        return False
    try:
        plain = np.dtype(dt.str)
    except (TypeError, ValueError):
        return False
    if dt.itemsize < 1 and not (empty and dt.kind in "SU" and dt.itemsize == 0):
        return False
    return dt.itemsize == plain.itemsize and dt == plain and dt.str == plain.str


def _as_bytes(data: Any, what: str) -> bytes:
    """Raw bytes as pickled: ``bytes`` (Python 3) or a Python 2 ``str`` decoded as latin1."""
    if isinstance(data, str):
        try:
            return data.encode("latin1")
        except UnicodeEncodeError:
            raise RefusedValue(f"{what} is a text beyond latin1, not raw bytes") from None
    if type(data) is not bytes:
        raise RefusedValue(f"{what} is a {type(data).__name__}, not raw bytes")
    return data


def _make_dtype(*args: Any) -> _Dtype:
    """``numpy.dtype(code, align, copy)`` as numpy's ``dtype.__reduce__`` writes it, for a simple code only."""
    import numpy as np

    code = args[0] if args else None
    if not 1 <= len(args) <= 3 or not isinstance(code, str) or not _CODE.match(code):
        raise RefusedValue(f"numpy.dtype{_short(args)}: only a simple type code is allowed (kinds "
                           f"{'/'.join(SIMPLE_KINDS)}, such as 'f4', 'i8', 'S5', 'U10')")
    if any(type(flag) not in (bool, int) or flag not in (0, 1) for flag in args[1:]):
        raise RefusedValue(f"numpy.dtype{_short(args)}: align / copy must be 0 or 1")
    try:
        dt = np.dtype(code)
    except (TypeError, ValueError):
        raise RefusedValue(f"numpy.dtype('{code}'): not a numpy type code") from None
    if not _simple_dtype(dt, empty=True):
        raise RefusedValue(f"numpy.dtype('{code}'): only dtypes of kinds {'/'.join(SIMPLE_KINDS)} are allowed")
    return _Dtype(dt, code)


def _dtype_with_state(dt: Any, code: str, state: Any) -> Any:
    """The dtype that ``state`` (pickle's BUILD) gives ``numpy.dtype(code)``: the state must be what numpy writes for
    that code, ``(3, byteorder, None, None, None, elsize, alignment, flags)``; only the byte order is used."""
    canon = dt.__reduce__()[2]  # e.g. (3, '<', None, None, None, -1, -1, 0); 'S5': (..., 5, 1, 0)
    bad = f"dtype '{code}' given the state {_short(state)}"
    if type(state) is not tuple or len(state) != 8 or type(state[0]) is not int or state[0] != 3:
        raise RefusedValue(f"{bad}: numpy writes (3, byteorder, None, None, None, {canon[5]}, {canon[6]}, "
                           f"{canon[7]})")
    _, order, subarray, names, fields, elsize, alignment, flags = state
    if subarray is not None or names is not None or fields is not None:
        raise RefusedValue(f"{bad}: fields, names or a subarray are not allowed")
    if any(type(v) is not int for v in (elsize, alignment, flags)) or (elsize, alignment) != canon[5:7] \
            or flags not in (0, canon[7]):
        raise RefusedValue(f"{bad}: numpy writes item size {canon[5]}, alignment {canon[6]}, flags {canon[7]} "
                           f"for '{code}'")
    if order not in ("<", ">", "=", "|") or (order == "|") != (canon[1] == "|"):
        orders = "'|'" if canon[1] == "|" else "'<', '>' or '='"
        raise RefusedValue(f"{bad}: byte order {_short(order)}, numpy writes {orders} for '{code}'")
    out = dt if order == "|" else dt.newbyteorder(order)
    if not _simple_dtype(out, empty=True):  # cannot happen: a simple code with a byte order
        raise RefusedValue(bad)
    return out


@lru_cache(maxsize=1)
def _numpy_functions() -> tuple[Any, Any]:
    """numpy's own ``_reconstruct`` and ``scalar``, whatever their module (``numpy.core`` is a deprecated alias in
    numpy 2; importing it by the name in the file would warn, or later fail)."""
    import numpy as np

    return np.zeros(0).__reduce__()[0], np.float32(0).__reduce__()[0]


def _reconstruct(*args: Any) -> _Array:
    """numpy's ``_reconstruct`` as ``ndarray.__reduce__`` writes it: ``(numpy.ndarray, (0,), b'b')`` (Python 2:
    ``'b'``); the array itself is made from its state."""
    if len(args) != 3 or args[0] is not _NDARRAY or type(args[1]) is not tuple or args[1] != (0,) \
            or type(args[2]) not in (bytes, str) or args[2] not in (b"b", "b"):
        raise RefusedValue(f"_reconstruct{_short(args)}: only (numpy.ndarray, (0,), b'b') is allowed, as numpy "
                           "writes an array")
    return _Array()


def _array_from_state(state: Any) -> Any:
    """An array from ``(1, shape, dtype, fortran, raw data)`` (numpy's ``ndarray.__reduce__`` state), the dtype a
    loaded ``numpy.dtype`` and the data exactly ``prod(shape) * itemsize`` bytes."""
    import numpy as np

    if type(state) is not tuple or len(state) != 5 or type(state[0]) is not int or state[0] != 1:
        raise RefusedValue(f"an array state {_short(state)}: numpy writes (1, shape, dtype, fortran, data)")
    _, shape, dt, fortran, data = state
    if not isinstance(dt, _Dtype):
        raise RefusedValue(f"an array of dtype {_short(dt)}: only a numpy.dtype of the file is allowed")
    if dt.dtype.itemsize < 1:  # numpy makes no such array; its size would not be bounded by the file's
        raise RefusedValue(f"an array of {dt!r}: items of 0 bytes")
    if type(shape) is not tuple or len(shape) > MAX_NDIM or any(type(s) is not int or s < 0 for s in shape):
        raise RefusedValue(f"an array of shape {_short(shape)}: expected a tuple of at most {MAX_NDIM} sizes")
    if type(fortran) not in (bool, int) or fortran not in (0, 1):
        raise RefusedValue(f"an array with the order flag {_short(fortran)}")
    raw = _as_bytes(data, "an array's data")
    need = math.prod(shape) * dt.dtype.itemsize
    if len(raw) != need:
        raise RefusedValue(f"an array {list(shape)} of {dt.dtype} needs {need} bytes, the file holds {len(raw)}")
    arr = _numpy_functions()[0](np.ndarray, (0,), b"b")
    arr.__setstate__((1, shape, dt.dtype, bool(fortran), raw))
    return arr


def _scalar(*args: Any) -> _Value:
    """numpy's ``scalar(dtype, raw bytes)`` for a loaded simple dtype, with exactly ``itemsize`` bytes."""
    if len(args) != 2 or not isinstance(args[0], _Dtype):
        raise RefusedValue(f"scalar{_short(args)}: only (numpy.dtype, raw bytes) is allowed, as numpy writes a "
                           "scalar")
    dt = args[0].dtype
    raw = _as_bytes(args[1], "a numpy scalar's data")
    if len(raw) != dt.itemsize:
        raise RefusedValue(f"a numpy scalar of {dt} given {len(raw)} bytes, it needs {dt.itemsize}")
    return _Value(_numpy_functions()[1](dt, raw))


def _empty_bytes(*args: Any) -> bytes:
    """``bytes()``: how Python 3 writes ``b''`` at protocols 0-2 (an empty array's data, the scalar ``b''``)."""
    if args:
        raise RefusedValue(f"bytes{_short(args)}: only bytes() is allowed, as Python 3 writes b''")
    return b""


def _latin1_encode(*args: Any) -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` at protocols 0-2 (``latin1``); any other codec is refused,
    so the allowed global cannot reach e.g. a compression codec."""
    obj = args[0] if 1 <= len(args) <= 3 else None
    encoding = args[1] if len(args) > 1 else "utf-8"
    errors = args[2] if len(args) > 2 else "strict"
    if encoding not in ("latin1", "latin-1") or errors != "strict" or not isinstance(obj, str):
        raise RefusedValue(f"_codecs.encode with codec {_short(encoding)} is not allowed (only 'latin1', "
                           "as Python 3 writes bytes)")
    return obj.encode("latin1")


@lru_cache(maxsize=1)
def _allowed() -> dict[tuple[str, str], _Guarded]:
    """(module, name) -> its guarded stand-in."""
    out = {("numpy", "ndarray"): _NDARRAY, ("numpy", "dtype"): _Guarded("numpy.dtype", _make_dtype),
           ("_codecs", "encode"): _Guarded("_codecs.encode", _latin1_encode)}
    for mod in ("__builtin__", "builtins"):  # protocols 0-2 name it __builtin__
        out[(mod, "bytes")] = _Guarded(f"{mod}.bytes", _empty_bytes)
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(mod, "_reconstruct")] = _Guarded(f"{mod}._reconstruct", _reconstruct)
        out[(mod, "scalar")] = _Guarded(f"{mod}.scalar", _scalar)
    return out


class RestrictedUnpickler(pickle.Unpickler):
    """Builds numpy arrays, numpy scalars and plain containers only; any other global raises ``RefusedGlobal``, a
    call or state numpy does not write ``RefusedValue``. ``load`` returns the checked result (see the module)."""

    def load(self) -> Any:
        return _finish(super().load())

    def find_class(self, module: str, name: str) -> Any:
        # called for every GLOBAL / STACK_GLOBAL / INST / OBJ / EXT opcode: the only way a pickle reaches a callable
        obj = _allowed().get((module, name))
        if obj is None:
            raise RefusedGlobal(module, name)
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


_LEAVES = (type(None), bool, int, float, str, bytes)
_ACTIVE = object()  # a container being walked (seen again: it holds itself)


def _finish(obj: Any) -> Any:
    """The loaded object with the stand-ins replaced by the arrays / scalars they made, checked (see the module):
    containers at most ``MAX_DEPTH`` deep and not holding themselves, dict keys and set items plain values, every
    array / scalar of a simple dtype. Array data is not read."""
    import numpy as np

    memo: dict[int, Any] = {}
    keep: list[Any] = []  # the walked objects stay alive, so that no id is reused while walking

    def leaf(value: Any, where: str) -> Any:
        if type(value) not in _LEAVES:
            raise RefusedValue(f"{where} is a {type(value).__name__}, expected str, bytes or a number")
        return value

    def walk(o: Any, depth: int) -> Any:
        t = type(o)
        if t in _LEAVES:
            return o
        done = memo.get(id(o))
        if done is _ACTIVE:
            raise RefusedValue(f"a {t.__name__} that holds itself")
        if done is not None:
            return done
        if depth > MAX_DEPTH:
            raise RefusedValue(f"containers nested more than {MAX_DEPTH} deep")
        keep.append(o)
        memo[id(o)] = _ACTIVE
        if t is _Array:
            if o.value is None:
                raise RefusedValue("an array without its state (numpy writes one)")
            out = o.value
            if type(out) is not np.ndarray or not _simple_dtype(out.dtype):
                raise RefusedValue(f"an array of dtype {_short(out.dtype)}")
        elif t is _Value:
            out = o.value
            if not isinstance(out, np.generic) or not _simple_dtype(out.dtype, empty=True):
                raise RefusedValue(f"a numpy scalar of dtype {_short(getattr(out, 'dtype', None))}")
        elif t is list:
            for i, v in enumerate(o):
                o[i] = walk(v, depth + 1)
            out = o
        elif t is tuple:
            out = tuple(walk(v, depth + 1) for v in o)
        elif t is dict:
            items = [(leaf(k, "a dict key"), walk(v, depth + 1)) for k, v in o.items()]
            o.clear()
            o.update(items)
            out = o
        elif t in (set, frozenset):
            out = t(leaf(v, f"an item of a {t.__name__}") for v in o)
        elif t is bytearray:
            out = o
        elif t is _Dtype:
            raise RefusedValue(f"a bare numpy.dtype('{o.code}') (numpy writes dtypes inside arrays and scalars)")
        elif t is _Guarded:
            raise RefusedValue(f"the global {o!r} itself, not called")
        else:
            raise RefusedValue(f"a {t.__name__} object")
        memo[id(o)] = out
        return out

    return walk(obj, 0)


def loads(data: bytes, *, encoding: str = "latin1") -> Any:
    """Unpickle ``data`` with the allow-list (Python 2 strings decoded as latin1), then resolve and check the result
    (see the module); refusals raise ``RefusedGlobal`` / ``RefusedValue`` (both ``pickle.UnpicklingError``)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def load(path: str | Path, *, what: str = "pickle") -> Any:
    """Unpickle a file with the allow-list; any refusal or damage is one ``BenchError`` line naming the file (and,
    for a refused global, the global; for a refused value, the value)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BenchError(f"{path}: cannot read the {what} ({exc.strerror or exc})") from exc
    try:
        return loads(data)
    except RefusedGlobal as exc:
        raise BenchError(f"{path}: refused to unpickle global '{exc.module}.{exc.name}': the {what} may only hold "
                         "numpy arrays, numpy scalars, lists and strings (a file that is not the released one?)"
                         ) from exc
    except RefusedValue as exc:
        raise BenchError(f"{path}: refused to unpickle the {what}: {exc} (a file that is not the released one?)"
                         ) from exc
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, OverflowError, MemoryError, RecursionError) as exc:
        raise BenchError(f"{path}: not a readable {what} ({type(exc).__name__}: {_line(str(exc), 300)})") from exc


__all__ = ["MAX_DEPTH", "RefusedGlobal", "RefusedValue", "RestrictedUnpickler", "load", "loads"]
