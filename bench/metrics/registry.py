"""The metric registry: what each metric is and how to build its state.

A metric is one module that declares a :class:`MetricSpec` (name, direction, inputs, networks, the protocol fields
it adds, version, leaderboard columns) and a state class (``bench.metrics.base.Metric``: sum-reducible states,
``update(view)``, ``compute()``). ``evaluate_folders`` plans, builds networks, streams and finalizes from these
specs alone; ``bench ls``, the leaderboard's columns and arrows, and the fingerprint's ``metric_versions`` read them
too. Metrics outside the package register through the ``bench.metrics`` entry-point group (an entry point names a
``MetricSpec``); see the README's "Adding a metric".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from bench.errors import BenchError
from bench.registry import Registry, import_string, plugin_entry_points

if TYPE_CHECKING:
    from bench.evaluate import EvalContext

# What a metric may consume; ``evaluate_folders`` decides from these alone whether a metric applies to the inputs.
INPUTS: dict[str, str] = {
    "pixels": "the fake images (uint8 [B,3,H,W])",
    "features": "features of the fake images and of the whole real folder (cached), from the metric's networks",
    "outputs": "outputs of the metric's networks on the fake images (e.g. Inception logits)",
    "pairs": "each fake image with the real image of the same name, at the same size",
    "groups": "several samples per condition (fake/<name>/<i>.png next to real <name>.png)",
    "labels": "the label map of each condition and a segmenter (--labels and --segmenter)",
    "classes": "the class of each real image (--classes; `bench run` on a class dataset); a sample has its condition's",
    "masks": "the hole of each sample, regenerated from the inpainting task's mask protocol (`bench run`)",
    "captions": "the caption of each condition (`bench run` on a text dataset; --captions), and for r_precision a fixed "
                "image-text matcher (the dataset's loader.json; --matcher)",
}


@dataclass(frozen=True)
class Column:
    """One leaderboard column a metric fills: the record key, its title, direction and shown decimals."""

    key: str
    title: str
    higher_is_better: bool
    decimals: int = 3
    percent: bool = False  # records hold fractions; the column shows percent, as papers do


@dataclass(frozen=True)
class MetricSpec:
    """Everything the harness needs to know about a metric, declared once, next to its code.

    ``build(ctx)`` returns the state object. ``protocol(ctx)`` returns the protocol fields the metric's numbers
    depend on: for the built-in metrics these are fields of :class:`bench.protocol.Protocol` (so they enter the
    fingerprint); a plug-in metric's fields are recorded under ``metric_protocols`` in the record, next to its
    version, and do not change the fingerprint of the built-in numbers.
    """

    name: str
    higher_is_better: bool
    inputs: tuple[str, ...]
    build: str | Callable[["EvalContext"], Any]
    version: str = "1"
    networks: tuple[str, ...] = ()
    protocol: Callable[["EvalContext"], dict[str, Any]] | None = None
    columns: tuple[Column, ...] = ()  # default: one column, the metric itself
    description: str = ""
    weights_required: bool = False  # True: a missing weight file is an error, not "unavailable" (FID, KID)
    builtin: bool = False
    leaderboard: bool = True  # False: in the record only, no leaderboard column (bootstrap intervals)
    # (ctx) -> why these inputs cannot give a meaningful value (e.g. too few images), or None; checked before any
    # image is read, so the metric is listed as unavailable with the reason instead of printing a wrong number
    check: Callable[["EvalContext"], str | None] | None = None
    # True: needs every image at one size (MS-SSIM's scale count, a classifier's or a segmenter's input size), so
    # it is unavailable when the images keep their own sizes (``bench eval --mixed-sizes``)
    one_size: bool = False
    # the task kinds whose `bench run` computes and fingerprints this metric (None: every task). A metric of one
    # track (the SR convention's Y-channel PSNR, inpainting's L1/L2) is then neither computed by nor part of the
    # fingerprint of another track's runs, so adding it leaves their fingerprints as they were; `bench eval` on
    # two folders (no task) computes it like any other
    tasks: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        unknown = [i for i in self.inputs if i not in INPUTS]
        if unknown:
            raise ValueError(f"metric '{self.name}': unknown input '{unknown[0]}' (known: {', '.join(INPUTS)})")

    @property
    def leaderboard_columns(self) -> tuple[Column, ...]:
        if not self.leaderboard:
            return ()
        return self.columns or (Column(self.name, self.name, self.higher_is_better),)

    def make(self, ctx: "EvalContext") -> Any:
        build = import_string(self.build) if isinstance(self.build, str) else self.build
        return build(ctx)


# Built-in metrics (name -> module), in leaderboard column order: lazy "module:SPEC" strings, so listing them
# imports nothing heavy.
_BUILTIN = {"fid": "fid", "kid": "kid", "is": "inception_score", "miou": "miou", "psnr": "psnr", "ssim": "ssim",
            "psnr_y": "psnr_y", "ssim_y": "ssim_y",
            "l1": "hole:L1", "l2": "hole:L2", "hole_psnr": "hole:HOLE_PSNR", "hole_l1": "hole:HOLE_L1",
            "hole_l2": "hole:HOLE_L2",
            "lpips": "lpips", "msssim_diversity": "msssim_diversity", "lpips_diversity": "lpips_diversity",
            "fid_intra": "fid_intra", "kid_intra": "kid_intra", "class_acc": "class_acc", "cas": "cas",
            "msssim_class": "msssim_class", "precision_recall": "knn", "density_coverage": "knn:DENSITY_COVERAGE",
            "fid_inf": "extrapolation", "is_inf": "extrapolation:IS_INF", "bootstrap_ci": "bootstrap",
            "fd_dinov2": "feature_spaces:FD_DINOV2", "kid_dinov2": "feature_spaces:KID_DINOV2",
            "fd_clip": "feature_spaces:FD_CLIP", "kid_clip": "feature_spaces:KID_CLIP",
            "r_precision": "r_precision", "clip_score": "clip_score"}
ENTRY_POINT_GROUP = "bench.metrics"


def _discover_plugins(registry: Registry[MetricSpec]) -> None:
    for name, value in plugin_entry_points(ENTRY_POINT_GROUP):
        if name in registry:
            raise BenchError(f"metric plug-in '{name}' ({value}, entry point group {ENTRY_POINT_GROUP}) would "
                             "replace the built-in metric of that name")
        registry.register(name, value)


METRICS: Registry[MetricSpec] = Registry("metric", fill=_discover_plugins)
for _name, _module in _BUILTIN.items():
    METRICS.register(_name, f"bench.metrics.{_module}" + ("" if ":" in _module else ":SPEC"))


def names() -> list[str]:
    """Every registered metric: the built-ins in column order, then plug-ins by name (nothing imported)."""
    return list(_BUILTIN) + sorted(n for n in METRICS.names() if n not in _BUILTIN)


def get(name: str) -> MetricSpec:
    """The spec of a registered metric (imported on first use); an unknown name raises with a did-you-mean, a
    plug-in entry point that names no valid spec raises naming it."""
    if ":" in name:  # metrics come from the registry or entry points, never from an import path on the fly
        raise BenchError(f"unknown metric '{name}' (known: {', '.join(names())})")
    spec = METRICS.get(name)
    if not isinstance(spec, MetricSpec) or spec.name != name or spec.builtin != (name in _BUILTIN):
        raise BenchError(f"metric '{name}': its entry point must name a bench.metrics.registry.MetricSpec called "
                         f"'{name}' (builtin=False for a plug-in), got {spec!r}")
    return spec


def specs() -> list[MetricSpec]:
    return [get(n) for n in names()]


def leaderboard_columns() -> dict[str, Column]:
    """Record key -> column, in column order (what `bench leaderboard` shows, with its arrows)."""
    return {c.key: c for s in specs() for c in s.leaderboard_columns}


def fingerprinted(spec: MetricSpec, ctx: "EvalContext | None" = None) -> bool:
    """Whether a built-in metric's version and protocol fields enter the fingerprint of this evaluation: always,
    whether or not it is computed (an unavailable IS does not move it), except the per-class metrics, which enter
    only evaluations given classes. So the metrics of the class track, added after protocol 2, leave every
    fingerprint of an evaluation without classes as it was."""
    if not spec.builtin:
        return False
    if ctx is not None and not in_scope(spec, ctx.opts.protocol_fields) and spec.name not in ctx.wanted:
        return False
    if "masks" in spec.inputs:  # the in-hole metrics: only evaluations of an inpainting protocol (bench.masks)
        from bench.masks import params_from_protocol

        if ctx is None or params_from_protocol(ctx.opts.protocol_fields) is None:
            return False
    if "captions" in spec.inputs:  # text-image consistency: only evaluations given captions (the text track)
        return ctx is not None and ctx.opts.captions is not None
    return "classes" not in spec.inputs or (ctx is not None and ctx.opts.classes is not None)


def evaluation_task(protocol_fields: dict[str, Any]) -> str | None:
    """The task kind of an evaluation from its protocol fields: the ``task`` field `bench run` sets (absent for
    ``semantic``, whose protocol predates tasks: a run names its ``dataset``), None for `bench eval` on folders."""
    import json

    task = dict(protocol_fields.get("task") or ())  # Protocol.freeze: ((key, JSON value), ...)
    if task:
        return json.loads(task["name"])
    return "semantic" if "dataset" in protocol_fields else None


def in_scope(spec: MetricSpec, protocol_fields: dict[str, Any]) -> bool:
    """Whether the metric belongs to the task of an evaluation with these protocol fields (always, for `bench
    eval` on folders)."""
    if spec.tasks is None:
        return True
    task = evaluation_task(protocol_fields)
    return task is None or task in spec.tasks


def metric_versions(ctx: "EvalContext | None" = None) -> tuple[tuple[str, str], ...]:
    """(name, version) of the built-in metrics this evaluation's fingerprint covers (see :func:`fingerprinted`).
    Plug-ins are recorded with their own version in the record and do not move the fingerprint of the built-in
    numbers."""
    return tuple(sorted((s.name, s.version) for s in specs() if fingerprinted(s, ctx)))
