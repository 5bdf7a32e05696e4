"""The check behind every record bench writes and reads: a walk over the TypedDicts that document the records.

The record types in ``bench.results`` are the one description of the records: a comment per key for readers, and
the annotations this module walks to validate a JSON value against them. Hand-written rather than a library: no
well-kept validator (jsonschema, pydantic) is among the project's dependencies, and the ~100 lines below read the
same TypedDicts the documentation is written in, so the two cannot drift apart.

Supported annotations: TypedDict (closed: an unknown key is an error, unless the class is marked
``@extensible``; ``NotRequired[...]`` keys may be absent), ``dict[str, T]``, ``list[T]``, ``X | Y``, ``Any``,
``str``, ``int``, ``float`` (any JSON number, NaN included; ``True`` is never a number), ``bool``, ``None`` and
``Annotated[str, Hex(n)]`` (exactly ``n`` lowercase hex digits).
"""

from __future__ import annotations

import functools
import re
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from bench.errors import BenchError


@dataclass(frozen=True)
class Hex:
    """``Annotated[str, Hex(n)]``: exactly ``n`` lowercase hex digits (a digest or a prefix of one)."""

    digits: int

    def ok(self, value: str) -> bool:
        return re.fullmatch(f"[0-9a-f]{{{self.digits}}}", value) is not None

    def describe(self) -> str:
        return f"{self.digits} lowercase hex digits"


_EXTENSIBLE: set[type] = set()


def extensible(cls: type) -> type:
    """Class decorator: this TypedDict may carry keys it does not declare (their values are not checked)."""
    _EXTENSIBLE.add(cls)
    return cls


@functools.lru_cache(maxsize=None)
def fields(tp: type) -> dict[str, tuple[Any, bool]]:
    """{key: (type, required)} of a TypedDict, base classes included. Required-ness is read from the annotations,
    not ``__required_keys__`` (wrong in Python 3.11 when the module uses ``from __future__ import annotations``)."""
    out = {}
    for key, hint in typing.get_type_hints(tp, include_extras=True).items():
        origin = typing.get_origin(hint)
        if origin in (typing.NotRequired, typing.Required):
            out[key] = (typing.get_args(hint)[0], origin is typing.Required)
        else:
            out[key] = (hint, tp.__total__)
    return out


def _describe(tp: Any) -> str:
    if typing.get_origin(tp) is typing.Annotated:
        return " and ".join(m.describe() for m in typing.get_args(tp)[1:] if isinstance(m, Hex)) or "a value"
    if typing.get_origin(tp) in (Union, types.UnionType):
        return " or ".join(_describe(t) for t in typing.get_args(tp))
    if typing.is_typeddict(tp) or tp is dict or typing.get_origin(tp) is dict:
        return "an object"
    if tp is list or typing.get_origin(tp) is list:
        return "a list"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false",
            type(None): "null"}.get(tp, getattr(tp, "__name__", str(tp)))


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _scalar_ok(value: Any, tp: Any) -> bool:
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:  # a JSON number: 3 is a float too (PEP 484's numeric tower), NaN and Infinity are what they say
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    if tp is None or tp is type(None):
        return value is None
    raise TypeError(f"bench.schema cannot check values against {tp!r}")


def problem(value: Any, tp: Any, field: str = "") -> str | None:
    """The first thing wrong with ``value`` as a ``tp``, as ``<field path> must be <what>, got <value>``; or None."""
    name = field or "the record"
    origin = typing.get_origin(tp)
    if tp is Any:
        return None
    if origin is typing.Annotated:
        base, *meta = typing.get_args(tp)
        first = problem(value, base, field)
        if first is not None:
            return first
        bad = next((m for m in meta if isinstance(m, Hex) and not m.ok(value)), None)
        return f"{name} must be {bad.describe()}, got {_show(value)}" if bad else None
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if any(problem(value, t, field) is None for t in options):
            return None
        others = [t for t in options if t is not type(None)]
        if value is not None and len(others) == 1:  # "X | None" given a wrong X: say what is wrong inside it
            return problem(value, others[0], field)
        # "list[int] | str" given a list: the one alternative of the value's own kind says what is wrong inside it
        same_kind = [t for t in others if (typing.get_origin(t) or t) is type(value)]
        if len(same_kind) == 1:
            return problem(value, same_kind[0], field)
        return f"{name} must be {_describe(tp)}, got {_show(value)}"
    if typing.is_typeddict(tp):
        if not isinstance(value, dict):
            return f"{name} must be an object, got {_show(value)}"
        declared = fields(tp)
        for key, (sub_tp, required) in declared.items():
            sub = f"{field}.{key}" if field else key
            if key not in value:
                if required:
                    return f"{sub} is missing"
                continue
            found = problem(value[key], sub_tp, sub)
            if found is not None:
                return found
        if tp not in _EXTENSIBLE:
            unknown = sorted(k for k in value if k not in declared)
            if unknown:
                sub = f"{field}.{unknown[0]}" if field else unknown[0]
                return f"{sub} is not a field of this record"
        return None
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            return f"{name} must be an object, got {_show(value)}"
        value_tp = typing.get_args(tp)[1] if typing.get_args(tp) else Any
        for key, item in value.items():
            found = problem(item, value_tp, f"{field}.{key}" if field else str(key))
            if found is not None:
                return found
        return None
    if origin is list or tp is list:
        if not isinstance(value, list):
            return f"{name} must be a list, got {_show(value)}"
        item_tp = typing.get_args(tp)[0] if typing.get_args(tp) else Any
        for i, item in enumerate(value):
            found = problem(item, item_tp, f"{name}[{i}]")
            if found is not None:
                return found
        return None
    return None if _scalar_ok(value, tp) else f"{name} must be {_describe(tp)}, got {_show(value)}"


def check(value: Any, tp: Any, where: str, hint: str = "", field: str = "") -> None:
    """Raise one line ``<where>: <field> must be ..., got ... (<hint>)`` when ``value`` is not a ``tp``; ``field``
    is the path of ``value`` itself inside its record."""
    found = problem(value, tp, field)
    if found is not None:
        raise BenchError(f"{where}: {found}" + (f" ({hint})" if hint else ""))
