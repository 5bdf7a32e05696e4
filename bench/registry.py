"""One small registry: a dict of name -> object or lazy ``"module:attr"`` string, with did-you-mean errors."""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Generic, Iterator, TypeVar

from bench.errors import BenchError

T = TypeVar("T")


def import_string(spec: str) -> Any:
    """Import ``"package.module:attr"`` and return ``attr``; raise BenchError naming the part that failed."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise BenchError(f"'{spec}' is not of the form 'package.module:Name'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BenchError(f"cannot import module '{module_name}' (from '{spec}'): {exc}") from exc
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as exc:
        raise BenchError(f"module '{module_name}' has no attribute '{attr}' (from '{spec}')") from exc
    return obj


class Registry(Generic[T]):
    """Name -> object; values may be lazy ``"module:attr"`` strings resolved on first ``get``."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T | str] = {}

    def register(self, name: str, obj: T | str | None = None) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""
        if obj is not None:
            self._add(name, obj)
            return obj

        def decorator(target: T) -> T:
            self._add(name, target)
            return target

        return decorator

    def _add(self, name: str, obj: T | str) -> None:
        if name in self._items and self._items[name] is not obj:
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """Return the registered object, importing a lazy entry; unknown names raise with a did-you-mean."""
        if name not in self._items:
            if ":" in name:
                return import_string(name)
            close = difflib.get_close_matches(name, list(self._items), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            known = ", ".join(sorted(self._items)) or "none"
            raise BenchError(f"unknown {self.kind} '{name}'{hint} (known: {known})")
        obj = self._items[name]
        if isinstance(obj, str):
            obj = import_string(obj)
            self._items[name] = obj
        return obj  # type: ignore[return-value]

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
