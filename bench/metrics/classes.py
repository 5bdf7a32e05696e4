"""Who belongs to which class, for the per-class metrics (input ``classes``): a real image has the class given for
its file key, a generated sample the class of its condition (the real image it was generated for)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from bench.evaluate import EvalContext


def real_classes(ctx: "EvalContext") -> np.ndarray:
    """int64 class of each real image, in ``ctx.reals`` order."""
    return np.asarray([ctx.opts.classes[r.key] for r in ctx.reals], dtype=np.int64)


def sample_classes(ctx: "EvalContext", items: list[Any]) -> np.ndarray:
    """int64 class of each generated sample (``_Fake`` items of a batch or of the whole evaluation)."""
    return np.asarray([ctx.opts.classes[p.group] for p in items], dtype=np.int64)


def evaluated_classes(ctx: "EvalContext") -> list[int]:
    """The classes of the real folder, sorted: the classes every per-class metric averages over."""
    return sorted(set(real_classes(ctx).tolist()))
