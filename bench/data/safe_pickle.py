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
* ``_codecs.encode`` with the ``latin1`` codec only: how Python 3 writes ``bytes`` at protocols 0-2 (numpy's raw
  array data), so that files re-saved by Python 3 at those protocols load too.

Plain containers and strings (list, tuple, dict, str, int, float, bool, None) need no global at all, so none of
``builtins`` is allowed (not even ``set`` or ``collections.OrderedDict``: the released files hold neither). Arrays
pickled at protocol 5 (numpy's ``numpy._core.numeric._frombuffer``) are refused too: no release needs them.

Python 2 ``str`` objects (the file names, and the raw bytes of every array) are decoded with ``encoding="latin1"``,
the one codec that maps every byte to a character and back: numpy's ``ndarray.__setstate__`` turns such a string
back into the same bytes. (StackGAN-Pytorch itself ran under Python 2 and calls a bare ``pickle.load(f)``; its
Python 3 ports pass ``encoding="latin1"``, as here.)
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from functools import lru_cache
from typing import Any

from bench.errors import BenchError


class RefusedGlobal(pickle.UnpicklingError):
    """A pickle named a global outside the allow-list (nothing was imported or called)."""

    def __init__(self, module: str, name: str) -> None:
        super().__init__(f"global '{module}.{name}' is not allowed (only numpy arrays, numpy scalars and plain "
                         "containers)")
        self.module = module
        self.name = name


def _latin1_encode(obj: Any, encoding: str = "utf-8", errors: str = "strict") -> bytes:
    """``_codecs.encode`` as Python 3 pickles ``bytes`` at protocols 0-2 (``latin1``); any other codec is refused,
    so the allowed global cannot reach e.g. a compression codec."""
    if encoding not in ("latin1", "latin-1") or errors != "strict" or not isinstance(obj, str):
        raise pickle.UnpicklingError(f"_codecs.encode with codec {encoding!r} is not allowed (only 'latin1', as "
                                     "Python 3 writes bytes)")
    return obj.encode("latin1")


@lru_cache(maxsize=1)
def _allowed() -> dict[tuple[str, str], Any]:
    """(module, name) -> the object, resolved from numpy itself rather than imported by name: ``numpy.core`` is a
    deprecated alias in numpy 2, and importing it by the name in the file would warn (or, later, fail)."""
    import numpy as np

    reconstruct = np.zeros(0).__reduce__()[0]  # numpy's own array rebuild function, whatever its module
    scalar = np.float32(0).__reduce__()[0]
    out: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray, ("numpy", "dtype"): np.dtype,
                                       ("_codecs", "encode"): _latin1_encode}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        out[(mod, "_reconstruct")] = reconstruct
        out[(mod, "scalar")] = scalar
    return out


class RestrictedUnpickler(pickle.Unpickler):
    """Builds numpy arrays, numpy scalars and plain containers only; any other global raises ``RefusedGlobal``."""

    def find_class(self, module: str, name: str) -> Any:
        # called for every GLOBAL / STACK_GLOBAL / INST / OBJ / EXT opcode: the only way a pickle reaches a callable
        obj = _allowed().get((module, name))
        if obj is None:
            raise RefusedGlobal(module, name)
        return obj

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def loads(data: bytes, *, encoding: str = "latin1") -> Any:
    """Unpickle ``data`` with the allow-list (Python 2 strings decoded as latin1)."""
    return RestrictedUnpickler(io.BytesIO(data), encoding=encoding).load()


def load(path: str | Path, *, what: str = "pickle") -> Any:
    """Unpickle a file with the allow-list; any refusal or damage is one ``BenchError`` line naming the file (and,
    for a refused global, the global)."""
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
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise BenchError(f"{path}: not a readable {what} ({type(exc).__name__}: {exc})") from exc


__all__ = ["RefusedGlobal", "RestrictedUnpickler", "load", "loads"]
