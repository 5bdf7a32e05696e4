"""Task kinds: what a condition is, what the adapter's batch holds, and what a track measures.

A dataset card declares its task (``"task": "super-resolution"``, with ``"task_params": {"scale": 4}``); the task
turns the dataset's items into the batch the generator sees, says which metrics and leaderboard columns the
track has, and names the baseline method that needs no training (the track's lower-bound row)::

    from bench.tasks import get_task
    task = get_task("super-resolution")
    task.batch_keys        # {"lr": "uint8 [B,3,H/s,W/s] ...", "scale": ..., "path": ...}
    task.baseline          # "bicubic"

Every generator returns uint8 [B,3,H,W] at the dataset's resolution, whatever the task; the conformance check
(`bench check-adapter`, and every `bench run`) feeds it the task's batch. Adding a task = one module declaring a
``Task`` + one line in ``_BUILTIN``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from bench.errors import BenchError
from bench.registry import Registry

# The distribution metrics of the second set (issue 17), computed by every track that computes FID: they read the
# same Inception rows (k-NN, FID-infinity, bootstrap intervals) or add the DINOv2 / CLIP networks.
DISTRIBUTION_II = ("precision_recall", "density_coverage", "fid_inf", "bootstrap_ci", "fd_dinov2", "kid_dinov2",
                   "fd_clip", "kid_clip")

# name -> module holding TASK (imported on first use: a task module may import numpy / torch)
_BUILTIN = {
    "semantic": "bench.tasks.semantic",
    "paired": "bench.tasks.paired",
    "super-resolution": "bench.tasks.super_resolution",
    "inpainting": "bench.tasks.inpainting",
    "class": "bench.tasks.class_conditional",
    "unpaired": "bench.tasks.unpaired",
    "attribute": "bench.tasks.attribute",
    "text": "bench.tasks.text",
}


@dataclass(frozen=True)
class Task:
    """One task kind. ``make_batch`` and ``show`` are pure functions of the dataset's collated batch."""

    name: str
    summary: str
    # the adapter's batch: key -> what it holds (the documented contract; `bench ls --tasks` prints it)
    batch_keys: Mapping[str, str]
    baseline: str  # a method that needs no training: the track's lower-bound row
    # (dataset batch {image, label, instance, path, ...}, task params, sample keys) -> the adapter's batch
    make_batch: Callable[[dict[str, Any], Mapping[str, Any], list[str]], dict[str, Any]]
    # (dataset batch, row j, task params, card palette, sample keys) -> the condition of sample j as an RGB uint8
    # HxWx3 picture (the grids' first column)
    show: Callable[[dict[str, Any], int, Mapping[str, Any], Any, list[str]], Any]
    # metrics computed by default (None: every registered metric whose inputs are present, as for `semantic`)
    metrics: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None  # leaderboard columns in order (None: every metric present)
    params: Mapping[str, Any] = field(default_factory=dict)  # allowed card task_params and their defaults
    # (params with defaults filled, eval resolution (H, W), or None at native resolution) -> why they cannot work,
    # or None
    check_params: Callable[[Mapping[str, Any], tuple[int, int] | None], str | None] | None = None
    # (params) -> the multiple every image is cropped to at native resolution (super-resolution: the scale, the SR
    # convention's "modcrop" of the top-left corner); None: the task cannot run at native resolution
    native_multiple: Callable[[Mapping[str, Any]], int] | None = None
    uses_labels: bool = False  # real label maps are exported and label metrics (mIoU) apply
    # (dataset item) -> its class id, for tasks whose conditions have classes (per-class metrics get them)
    class_of: Callable[[dict[str, Any]], int] | None = None
    # (task, params with defaults) -> the task as these params pose it (e.g. ``unpaired`` with hidden pairs adds
    # the paired and label metrics); None: the params change no metric
    refine: Callable[["Task", Mapping[str, Any]], "Task"] | None = None

    def refined(self, params: Mapping[str, Any]) -> "Task":
        """This task as a dataset's (resolved) task_params pose it."""
        return self.refine(self, params) if self.refine else self

    def resolve_params(self, given: Mapping[str, Any] | None, where: str, resolution: tuple[int, int] | None) -> dict:
        """The card's task_params with defaults filled in; unknown keys and unusable values raise naming ``where``."""
        import copy

        given = copy.deepcopy(dict(given or {}))  # the card's own lists stay the card's
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            allowed = ", ".join(sorted(self.params)) or "none"
            raise BenchError(f"{where}: task_params: unknown key '{unknown[0]}' for task '{self.name}' "
                             f"(allowed: {allowed})")
        params = {**copy.deepcopy(dict(self.params)), **given}
        for key, default in self.params.items():
            if type(params[key]) is not type(default):
                raise BenchError(f"{where}: task_params.{key} must be a {type(default).__name__}, got "
                                 f"{params[key]!r}")
        why = self.check_params(params, resolution) if self.check_params else None
        if why:
            raise BenchError(f"{where}: task_params: {why}")
        return params

    def adapter_batch(self, batch: dict[str, Any], params: Mapping[str, Any], keys: list[str], *,
                      with_image: bool = False) -> dict[str, Any]:
        """What the generator receives for a collated dataset batch: the task's keys, plus the real ``image``
        only for methods that declare ``needs_image`` (the oracle)."""
        out = self.make_batch(batch, params, keys)
        if with_image:
            out["image"] = batch["image"]
        return out

    def accepts(self, method_tasks: tuple[str, ...]) -> bool:
        return "*" in method_tasks or self.name in method_tasks

    def protocol(self, params: Mapping[str, Any]) -> dict[str, Any] | None:
        """The task's part of the fingerprinted protocol (None for ``semantic``, whose protocol predates tasks)."""
        return None if self.name == "semantic" else {"name": self.name, **params}


def _fill(registry: Registry[Any]) -> None:
    for name, module in _BUILTIN.items():
        registry.register(name, f"{module}:TASK")


TASKS: Registry[Task] = Registry("task", fill=_fill)


def get_task(name: str) -> Task:
    """A task kind by name; unknown names raise with a did-you-mean."""
    task = TASKS.get(name)
    if not isinstance(task, Task) or task.name != name:
        raise BenchError(f"task '{name}' is registered as {task!r}, not a bench.tasks.Task named '{name}'")
    return task


def task_names() -> list[str]:
    return list(_BUILTIN)


__all__ = ["TASKS", "Task", "get_task", "task_names"]
