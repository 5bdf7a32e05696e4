"""One small registry: a dict of name -> object or lazy ``"module:attr"`` string, with did-you-mean errors.

Plugins (``reference_models`` included: the core never names it) reach the core through installed entry points,
read with ``plugin_entry_points``: ``bench.methods`` (generator classes), ``bench.weights`` (weight files) and
``bench.commands`` (subcommands of ``bench``).
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from bench.errors import BenchError

T = TypeVar("T")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the known name closest to ``name`` (by spelling, else the first that contains
    it), or ``""`` when none is close: the tail of every "unknown ..." error."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1) or [k for k in known if name and name in k][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


def plugin_entry_points(group: str) -> list[tuple[str, str]]:
    """(name, ``"module:attr"``) of every installed entry point of ``group``, sorted by name, nothing imported.

    Entry points come from the installed metadata: after editing ``[project.entry-points]`` in pyproject.toml,
    re-run ``pip install -e . --no-deps``."""
    from importlib.metadata import entry_points

    return sorted({(ep.name, ep.value) for ep in entry_points(group=group)})


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
    """Name -> object; values may be lazy ``"module:attr"`` strings resolved on first ``get``.

    ``fill`` (optional) is called once, before the first lookup or listing, to register the entries that are
    discovered rather than declared (entry points, files). A lazy entry is replaced by the object its module
    registers under the same name when imported (a class registering itself by decorator)."""

    def __init__(self, kind: str, fill: Callable[["Registry[T]"], None] | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T | str] = {}
        self._fill = fill

    def _ensure_filled(self) -> None:
        fill, self._fill = self._fill, None  # cleared first: registering during the fill must not recurse
        if fill is not None:
            try:
                fill(self)
            except BaseException:
                self._fill = fill
                raise

    def register(self, name: str, obj: T | str | None = None) -> Any:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator."""
        if obj is not None:
            self._add(name, obj)
            return obj

        def decorator(target: T) -> T:
            self._add(name, target)
            return target

        return decorator

    def register_entry_points(self, group: str) -> None:
        """A lazy entry for every installed entry point of ``group`` whose name is not registered yet."""
        for name, value in plugin_entry_points(group):
            if name not in self._items:
                self._items[name] = value

    def _add(self, name: str, obj: T | str) -> None:
        old = self._items.get(name)
        if old is not None and old is not obj and not (isinstance(old, str) and not isinstance(obj, str)):
            raise ValueError(f"{self.kind} '{name}' is already registered")
        self._items[name] = obj

    def get(self, name: str) -> T:
        """Return the registered object, importing a lazy entry; unknown names raise with a did-you-mean."""
        self._ensure_filled()
        if name not in self._items:
            if ":" in name:
                return import_string(name)
            known = ", ".join(sorted(self._items)) or "none"
            raise BenchError(f"unknown {self.kind} '{name}'{did_you_mean(name, self._items)} (known: {known})")
        obj = self._items[name]
        if isinstance(obj, str):
            obj = import_string(obj)
            registered = self._items[name]  # the import may have registered the object itself
            if not isinstance(registered, str) and registered is not obj:
                raise BenchError(f"{self.kind} '{name}': the lazy entry names {obj!r}, but importing it "
                                 f"registered {registered!r} under the same name")
            self._items[name] = obj
        return obj  # type: ignore[return-value]

    def names(self) -> list[str]:
        self._ensure_filled()
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        self._ensure_filled()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
