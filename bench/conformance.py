"""Adapter conformance: what `bench check-adapter` reports and what `bench run` enforces on every batch."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Sequence

from bench.errors import BenchError


@dataclass
class Check:
    name: str
    ok: bool
    message: str


def output_problem(out: Any, batch_size: int, resolution: tuple[int, int]) -> str | None:
    """Why ``out`` is not a uint8 [B,3,H,W] tensor of this batch, or None when it is."""
    import torch

    if not isinstance(out, torch.Tensor):
        return f"returned {type(out).__name__}, expected a torch.Tensor"
    if out.device.type != "cpu":  # first: a meta or GPU tensor has no values to inspect here
        return f"returned a tensor on {out.device}, expected one on the CPU (end generate with .cpu())"
    if out.dtype.is_floating_point:
        if torch.isnan(out).any():
            return f"returned {out.dtype} with NaN values, expected uint8"
        if out.numel() and (out.min() < 0 or out.max() > 255):
            return (f"returned {out.dtype} with values in [{float(out.min()):.3g}, {float(out.max()):.3g}], "
                    "expected uint8 in 0..255")
        return f"returned {out.dtype}, expected uint8 (convert with bench.adapter.to_uint8)"
    if out.dtype != torch.uint8:
        return f"returned dtype {out.dtype}, expected uint8"
    expected = (batch_size, 3, *resolution)
    if tuple(out.shape) != expected:
        return f"returned shape {list(out.shape)}, expected {list(expected)}"
    return None


def check_output(method: str, out: Any, batch_size: int, resolution: tuple[int, int]) -> Any:
    problem = output_problem(out, batch_size, resolution)
    if problem:
        raise BenchError(f"method '{method}' {problem}")
    return out


def slice_batch(batch: dict[str, Any], idx: Sequence[int]) -> dict[str, Any]:
    """Rows ``idx`` of a batch: tensors and lists are indexed, per-batch scalars (e.g. ``scale``) kept."""
    def pick(v: Any) -> Any:
        if hasattr(v, "shape") and getattr(v, "ndim", 0) > 0:
            return v[list(idx)]
        if isinstance(v, (list, tuple)):
            return [v[i] for i in idx]
        return v

    return {k: pick(v) for k, v in batch.items()}


def run_checks(gen: Any, batch: dict[str, Any], seeds: Sequence[int], *, full: bool = True,
               size: tuple[int, int] | None = None) -> list[Check]:
    """Shape/dtype/range, same seeds -> same output, different seeds -> different output (multimodal),
    batch-size independence and speed. ``full=False`` skips only the speed line: ``bench run`` relies on every
    other check (same seeds for resume, batch-size independence for resumed sub-batches, different seeds for the
    diversity metrics). ``size``: the (H, W) the outputs must have (default: the dataset's resolution; a dataset
    at native resolution passes the batch's)."""
    import torch

    res = tuple(size or gen.info.resolution)  # every task's output: [B, 3, H, W] at the dataset's resolution
    b = len(batch["path"])
    checks: list[Check] = []

    def safe(fn) -> tuple[Any, str | None]:
        try:
            return fn(), None
        except BenchError:
            raise
        except SystemExit as exc:  # an adapter must not end the check with its own exit code
            return None, f"called sys.exit({exc.code!r})"
        except Exception as exc:  # noqa: BLE001 - any adapter failure is reported, not a traceback
            return None, f"raised {type(exc).__name__}: {exc}"

    t = time.perf_counter()
    out, err = safe(lambda: gen.generate(batch, seeds=list(seeds)))
    dt = time.perf_counter() - t
    problem = err or output_problem(out, b, res)
    checks.append(Check("output", problem is None,
                        problem or f"uint8 {list(out.shape)} in {int(out.min())}..{int(out.max())}"))
    if problem:
        return checks
    again, err = safe(lambda: gen.generate(batch, seeds=list(seeds)))
    same = err is None and output_problem(again, b, res) is None and torch.equal(out, again)
    checks.append(Check("same seeds give the same images", same,
                        "identical" if same else (err or "two calls with the same seeds returned different images "
                                                  "(seed every random draw from the seeds argument)")))
    if getattr(gen, "multimodal", False):
        other, err = safe(lambda: gen.generate(batch, seeds=[s + 1 for s in seeds]))
        differs = err is None and output_problem(other, b, res) is None and not torch.equal(out, other)
        checks.append(Check("different seeds give different images (multimodal)", differs,
                            "differ" if differs else (err or "the method claims multimodal=True but other seeds "
                                                      "gave the same images")))
    singles = []
    for i in range(b):
        one, err = safe(lambda: gen.generate(slice_batch(batch, [i]), seeds=[seeds[i]]))
        if err or output_problem(one, 1, res):
            singles = None
            break
        singles.append(one)
    indep = singles is not None and torch.equal(torch.cat(singles), out)
    diff = "" if indep or singles is None else f" (max |difference| {int((torch.cat(singles).int() - out.int()).abs().max())})"
    checks.append(Check("batch-size independence", indep,
                        "batch of %d == %d batches of 1" % (b, b) if indep else
                        "sample i must depend only on its own inputs and seeds[i]; batch of %d != batches of 1%s"
                        % (b, diff)))
    if not full:
        return checks
    checks.append(Check("speed", True, f"{b / dt:.1f} images/s at batch {b} on {getattr(gen, 'device', 'cpu')}"))
    return checks
