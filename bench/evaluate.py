"""One-pass evaluation of a folder of generated images against a folder of real ones.

Each image is decoded once and handed to every consumer (Inception features, paired metrics, diversity,
segmenter). Real-image features are cached on disk, keyed by the folder's content hash and the feature
protocol, so a second method on the same real folder pays only for its own images.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import posixpath
import sys
import time
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from bench import images as imio
from bench.errors import BenchError, WeightsUnavailable, guarded, require_int
from bench.fileio import atomic_write_bytes, save_npz_atomic, write_json  # noqa: F401 (re-exported)
from bench.protocol import Protocol
from bench.results import EVAL_SCHEMA, EvalRecord

FEATURE_CACHE_VERSION = "2"  # 2: a sha256 of the features in the file


@dataclass
class EvalOptions:
    """Options of one evaluation; ``metrics=None`` means every metric that applies to the inputs."""

    metrics: tuple[str, ...] | None = None
    # with metrics=None: the built-in metrics considered (a task's metric set; None: every one), plug-ins always
    candidates: tuple[str, ...] | None = None
    batch_size: int | None = None  # None: 8 on CPU (fastest per image for Inception there), 64 on CUDA
    device: str = "cpu"
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_seed: int = 0
    is_seed: int = 2020
    diversity_pairs: int = 10
    diversity_seed: int = 0
    # "random": diversity_pairs distinct random pairs of a condition's samples (seeded); "disjoint": samples (0, 1),
    # (2, 3), ... by sample index, at most diversity_pairs (BicycleGAN / MUNIT: independent output pairs)
    diversity_pairing: str = "random"
    segmenter: str | None = None
    num_classes: int | None = None
    ignore_index: int | None = 255
    cache: bool = True
    inception_weights: str | None = None
    is_weights: str | None = None
    lpips_weights: str | None = None
    clip_weights: str | None = None  # OpenAI's ViT-B-32.pt (FD_CLIP, KID_CLIP)
    dinov2_weights: str | None = None  # dinov2_vitl14_pretrain.pth (FD_DINOv2, KID_DINOv2)
    # class of each real image by file key (name without extension); a fake inherits its condition's class.
    # Needed by the per-class metrics (input "classes"); `bench run` fills it for class-conditional datasets
    classes: dict[str, int] | None = None
    classifier: str | None = None  # bench.classifiers name for class_acc (`bench run`: the dataset's loader.json)
    classifier_weights: str | None = None
    # the caption of each condition (file key -> text) and the image-text matcher that scores them (r_precision);
    # `bench run` fills both for text datasets (the matcher from the dataset's loader.json)
    captions: dict[str, str] | None = None
    matcher: str | None = None
    r_precision_candidates: int = 100  # AttnGAN: the true caption and 99 mismatched ones per sample
    r_precision_seed: int = 0
    class_diversity_pairs: int = 100  # msssim_class: random sample pairs per class (AC-GAN's 100), seeded
    cas_steps: int | None = None  # CAS: training steps of its classifier (None: bench.metrics.cas.DEFAULT_STEPS)
    cas_seeds: tuple[int, ...] = (0, 1, 2)  # CAS: one classifier per seed; the mean and std over seeds are reported
    progress: bool | None = None  # None: a bar when stderr is a terminal, plain lines otherwise (bench.progress)
    # where to write the per-sample table (parquet: file, condition, sample and psnr / ssim / lpips / iou of each
    # fake image); None: not written
    per_sample_path: str | os.PathLike[str] | None = None
    # each image at its own size (super-resolution test sets: Set5, BSD100, ...): batches never mix sizes, each pair
    # must match, the features' networks resize every image on its own; metrics that need one size are unavailable
    mixed_sizes: bool = False
    # psnr_y / ssim_y border crop of `bench eval` on folders (SR outputs: the scale, as SR papers); None: the SR
    # task's scale in `bench run`, 0 elsewhere
    crop_border: int | None = None
    protocol_fields: dict[str, Any] = field(default_factory=dict)  # e.g. dataset card id, split (bench run)
    # fake ``k/<i>.png`` is sample i of condition k even with no real image named k (`bench run` on an unpaired
    # folder set: the real side is another split, so no real image shares a condition's name)
    conditions_by_folder: bool = False


@dataclass
class _Fake:
    file: imio.ImageFile
    group: str  # key of the real image (condition) this sample belongs to
    partner: imio.ImageFile | None


def _pair(fakes: list[imio.ImageFile], reals: list[imio.ImageFile], by_folder: bool = False) -> list[_Fake]:
    """Pair fake ``k.png`` with real ``k.*``, and fake ``k/<i>.png`` (i-th sample of condition k) with real ``k.*``;
    with ``by_folder``, ``k/<i>.png`` belongs to condition k whether or not a real ``k.*`` exists."""
    by_key = {r.key: r for r in reals}
    out = []
    for f in fakes:
        if f.key in by_key:
            out.append(_Fake(f, f.key, by_key[f.key]))
        else:
            parent = posixpath.dirname(f.key)
            group = parent if parent in by_key or (by_folder and parent) else f.key
            out.append(_Fake(f, group, by_key.get(parent)))
    return out


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": sys.version.split()[0]}
    for dist in ("cgan-bench", "torch", "torchvision", "numpy", "pillow", "piq", "lpips", "torch-fidelity"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def features_cache_dir() -> Path:
    from bench.weights import user_cache_dir

    return user_cache_dir() / "features"


def _prefetched(batches: list, load: Callable[[Any], Any]):
    """Yield ``(batch, load(batch))`` with the next batch loading in a background thread meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = None
        for b in batches:
            future = pool.submit(load, b)
            if pending is not None:
                yield pending[0], pending[1].result()
            pending = (b, future)
        if pending is not None:
            yield pending[0], pending[1].result()


def _check_finite(feats: torch.Tensor, files: list[imio.ImageFile], what: str) -> None:
    bad = ~torch.isfinite(feats).all(dim=1)
    if bad.any():
        first = files[int(bad.nonzero()[0])]
        raise BenchError(f"{first.path}: {what} contain NaN or Inf ({int(bad.sum())} image(s) in this batch)")


@dataclass
class EvalContext:
    """What an evaluation knows once its inputs are scanned: metric specs build their states and protocol fields
    from it."""

    opts: EvalOptions
    reals: list[imio.ImageFile]
    fakes: list[imio.ImageFile]
    pairs: list[_Fake]
    groups: dict[str, list[_Fake]]
    size: tuple[int, int] | None  # (height, width) of the fake images; None: they keep their own sizes (mixed)
    labels_dir: Path | None
    wanted: list[str] = field(default_factory=list)
    networks: dict[str, Any] = field(default_factory=dict)


class BatchView:
    """One batch of fake images (whole conditions) as the metrics see it. Network outputs, label maps and
    diversity pairs are computed on first use and shared by every metric that reads them."""

    def __init__(self, ctx: EvalContext, items: list[_Fake], loaded: dict[str, Any]) -> None:
        self.ctx, self.items, self._loaded = ctx, items, loaded
        self.files = [p.file for p in items]
        self.fake = torch.from_numpy(np.stack(loaded["fake_np"])).permute(0, 3, 1, 2).contiguous()
        real_np = loaded.get("real_np")
        self.real = (torch.from_numpy(np.stack([real_np[p.partner.key] for p in items])).permute(0, 3, 1, 2)
                     if real_np is not None else None)
        self._outputs: dict[str, torch.Tensor] = {}
        self._pairs: tuple[list[int], list[int]] | None = None

    def net(self, name: str) -> Any:
        return self.ctx.networks[name]

    def output(self, name: str) -> torch.Tensor:
        """The network's output on this batch's fake images (once per batch); non-finite rows name the file."""
        if name not in self._outputs:
            net = self.ctx.networks[name]
            out = net(self._loaded.get("prepared", {}).get(name, self.fake))
            if out.is_floating_point():
                _check_finite(out, self.files, getattr(net, "what", f"{name} outputs"))
            self._outputs[name] = out
        return self._outputs[name]

    def labels(self) -> list[tuple[np.ndarray, str]]:
        """The label map of each sample's condition, with its path (for messages)."""
        out = []
        for p in self.items:
            path = _label_path(self.ctx.labels_dir, p.group)
            out.append((imio.decode_label(path), str(path)))
        return out

    def group_pairs(self) -> tuple[list[int], list[int]]:
        """Seeded random pairs of samples of one condition (``diversity_pairs`` per condition), as batch indices.
        Seeded per condition, so the pairs do not depend on how conditions fall into batches."""
        if self._pairs is None:
            from bench.metrics.diversity import sample_pairs

            by_group: dict[str, list[int]] = {}
            for i, p in enumerate(self.items):
                by_group.setdefault(p.group, []).append(i)
            left, right = [], []
            for g, idx in by_group.items():
                if len(idx) < 2:
                    continue
                if self.ctx.opts.diversity_pairing == "disjoint":
                    idx = sorted(idx, key=lambda i: _sample_index(self.items[i].file.path))
                    for k in range(min(len(idx) // 2, self.ctx.opts.diversity_pairs)):
                        left.append(idx[2 * k])
                        right.append(idx[2 * k + 1])
                    continue
                rng = np.random.default_rng([self.ctx.opts.diversity_seed, zlib.crc32(g.encode())])
                for i, j in sample_pairs(len(idx), self.ctx.opts.diversity_pairs, rng):
                    left.append(idx[i])
                    right.append(idx[j])
            self._pairs = (left, right)
        return self._pairs


def _sample_index(path: Any) -> tuple[int, str]:
    """Sort key of a sample file ``<condition>/<i>.png``: i as a number (so 10 follows 9), then the name."""
    stem = Path(path).stem
    return (int(stem), stem) if stem.isdigit() else (2**62, stem)


DIVERSITY_PAIRINGS = ("random", "disjoint")
# named diversity protocols (``--diversity-protocol``): (pairing, pairs per condition, samples per condition that
# `bench run` generates, None: the --samples-per-label given). "munit": LPIPS over 19 pairs of independent outputs
# for each input (BicycleGAN, Zhu et al., NeurIPS 2017; MUNIT, Huang et al., ECCV 2018: 19 pairs for each of 100
# inputs; for a split of more than 100 inputs, --limit 100 takes its first 100, recorded).
DIVERSITY_PROTOCOLS: dict[str, tuple[str, int, int | None]] = {"default": ("random", 10, None),
                                                                "munit": ("disjoint", 19, 38)}


def _validate(opts: EvalOptions, wanted: list[str], explicit: bool) -> EvalOptions:
    """One line for every option that cannot work, before any image is read."""
    if explicit and not wanted:
        raise BenchError("the metric list is empty; name at least one metric or pass none for every metric")
    if opts.batch_size is None:
        opts = dataclasses.replace(opts, batch_size=8 if str(opts.device) == "cpu" else 64)
    if opts.batch_size < 1:
        raise BenchError(f"batch size must be >= 1, got {opts.batch_size}")
    if opts.diversity_pairing not in DIVERSITY_PAIRINGS:
        raise BenchError(f"diversity pairing must be one of {', '.join(DIVERSITY_PAIRINGS)}, "
                         f"got {opts.diversity_pairing!r}")
    require_int("diversity_pairs", opts.diversity_pairs, 1)
    for flag, value in (("--seed", opts.kid_seed), ("--seed", opts.diversity_seed), ("is_seed", opts.is_seed)):
        require_int(flag, value, 0, 2**32 - 1)  # numpy's seed range
    if opts.cas_steps is not None:
        require_int("--cas-steps", opts.cas_steps)
    if opts.crop_border is not None:
        require_int("--crop-border", opts.crop_border, 0, 10_000)
    if "kid" in wanted:  # a subset of 0 or fewer images gives NaN or a numpy traceback after the whole feature pass
        require_int("--kid-subsets", opts.kid_subsets)
        require_int("--kid-subset-size", opts.kid_subset_size)
    return opts


def _inapplicable(spec: Any, ctx: EvalContext, real_dir: Any) -> str | None:
    """Why the metric's declared inputs are not there, or None."""
    if "pairs" in spec.inputs:
        unmatched = next((p for p in ctx.pairs if p.partner is None), None)
        if unmatched is not None:
            return f"fake file {unmatched.file.path} has no real image with the same name in {real_dir}"
        if ctx.size is None:
            bad = next((p for p in ctx.pairs if p.file.size != p.partner.size), None)
            if bad is not None:
                (fw, fh), (rw, rh) = bad.file.size, bad.partner.size  # type: ignore[union-attr]
                return (f"fake image {bad.file.path} is {fw}x{fh}, its real image {bad.partner.path} "  # type: ignore[union-attr]
                        f"{rw}x{rh}; paired metrics need equal sizes")
        elif ctx.fakes[0].size != ctx.reals[0].size:
            f, r = ctx.fakes[0].size, ctx.reals[0].size
            return f"fake images are {f[0]}x{f[1]}, real images {r[0]}x{r[1]}; paired metrics need equal sizes"
    if spec.one_size and ctx.size is None:
        return "needs every image at one size (the images keep their own sizes: --mixed-sizes)"
    if "groups" in spec.inputs and max(len(g) for g in ctx.groups.values()) < 2:
        return "needs several samples per condition (fake/<name>/<i>.png next to real <name>.png)"
    if "classes" in spec.inputs:
        if ctx.opts.classes is None:
            return "needs the class of each real image (--classes FILE.json)"
        missing = next((r.key for r in ctx.reals if r.key not in ctx.opts.classes), None)
        if missing is not None:
            return f"real image '{missing}' has no class in the classes given"
        orphan = next((p.file.rel for p in ctx.pairs if p.group not in ctx.opts.classes), None)
        if orphan is not None:
            return f"fake image '{orphan}' has no real image of the same name, so no class"
    if "captions" in spec.inputs:
        if ctx.opts.captions is None:
            return "needs the caption of each condition (`bench run` on a text dataset; bench eval --captions FILE)"
        if "matcher" in spec.networks and ctx.opts.matcher is None:
            return ("needs a fixed image-text matcher of these captions, and none is named (a dataset's loader.json "
                    "default_matcher; bench eval --matcher NAME; `bench ls` lists them)")
        orphan = next((p.file.rel for p in ctx.pairs if p.group not in ctx.opts.captions), None)
        if orphan is not None:
            return f"fake image '{orphan}' has no caption (its condition is not among the captions given)"
    if "labels" in spec.inputs and (ctx.labels_dir is None or ctx.opts.segmenter is None):
        return "needs --labels DIR and --segmenter"
    if "classifier" in spec.networks and ctx.opts.classifier is None:
        return "needs a classifier of these classes (--classifier NAME; `bench ls` lists them)"
    return spec.check(ctx) if spec.check is not None else None


def evaluate_folders(
    real_dir: str | os.PathLike[str],
    fake_dir: str | os.PathLike[str],
    labels_dir: str | os.PathLike[str] | None = None,
    opts: EvalOptions | None = None,
) -> EvalRecord | None:
    """Evaluate ``fake_dir`` against ``real_dir``; return the evaluation record (bench.results.EvalRecord; nothing
    is written here but the per-sample table, when ``opts.per_sample_path`` asks for it).

    Plan (which registered metrics apply to these inputs), build (each network once, through the weight
    resolver), one streaming pass over the fake images (whole conditions per batch; paired real images decoded
    in the same pass), the real folder's features (cached), finalize (compute, protocol, record).

    Under torch.distributed (bench.distributed) each rank takes a contiguous share of the batches of both passes,
    the states are reduced onto rank 0, which computes and returns the record; the other ranks return None."""
    from bench import distributed
    from bench.metrics import registry
    from bench.metrics.networks import NETWORKS
    from bench.progress import Progress

    rank, world = distributed.rank_and_world()

    opts = opts or EvalOptions()
    t0 = time.perf_counter()
    explicit = opts.metrics is not None
    if explicit:
        wanted = list(opts.metrics)
    else:
        # a track's own metrics (MetricSpec.tasks) only in runs of that track: another track's fingerprint stays
        wanted = [m for m in registry.names()
                  if (opts.candidates is None or m in opts.candidates or not registry.get(m).builtin)
                  and registry.in_scope(registry.get(m), opts.protocol_fields)]
    specs = {m: registry.get(m) for m in wanted}
    opts = _validate(opts, wanted, explicit)

    # --- plan
    one_size = not opts.mixed_sizes
    reals = imio.scan_folder(real_dir, role="real", one_size=one_size)
    fakes = imio.scan_folder(fake_dir, role="fake", one_size=one_size)
    pairs = _pair(fakes, reals, opts.conditions_by_folder)
    groups: dict[str, list[_Fake]] = {}
    for p in pairs:
        groups.setdefault(p.group, []).append(p)
    if opts.diversity_pairing == "disjoint":  # a protocol of N independent pairs: fewer samples would score fewer
        need = 2 * opts.diversity_pairs
        short = next(((g, len(m)) for g, m in sorted(groups.items()) if len(m) < need), None)
        if short is not None:
            raise BenchError(f"disjoint diversity pairing ({opts.diversity_pairs} pairs: --diversity-protocol munit) "
                             f"needs {need} samples of every condition; condition '{short[0]}' has {short[1]} in "
                             f"{fake_dir}")
    sizes = {f.size for f in fakes}
    size = (fakes[0].size[1], fakes[0].size[0]) if len(sizes) == 1 and one_size else None
    ctx = EvalContext(opts, reals, fakes, pairs, groups, size,
                      Path(labels_dir) if labels_dir is not None else None, wanted)
    unavailable: dict[str, str] = {}

    def drop(metric: str, why: str, exit_code: int = 2) -> None:
        if explicit:
            raise BenchError(f"metric '{metric}' cannot be computed: {why}", exit_code=exit_code)
        unavailable[metric] = why
        wanted.remove(metric)

    for m in list(wanted):
        why = _inapplicable(specs[m], ctx, real_dir)
        if why is not None:
            drop(m, why)

    # --- build: every network the remaining metrics name, once; a missing weight file drops its metrics
    weights_used: dict[str, dict[str, str]] = {}
    for name in dict.fromkeys(n for m in wanted for n in specs[m].networks):
        try:
            ctx.networks[name] = NETWORKS.get(name).build(ctx)
        except WeightsUnavailable as exc:
            users = [m for m in wanted if name in specs[m].networks]
            if any(specs[m].weights_required for m in users):
                raise  # a headline metric (FID, KID) is never reduced to "unavailable": no weight file is an error
            for m in users:
                drop(m, str(exc), WeightsUnavailable.exit_code)
            continue
        weights_used.update(ctx.networks[name].weights)
    states = {m: specs[m].make(ctx) for m in wanted}

    protocol = _protocol(ctx)
    plugin_protocols = {m: {"version": s.version, **(s.protocol(ctx) if s.protocol else {})}
                        for m, s in specs.items() if not s.builtin and m in wanted}

    # --- real features: from the cache, or computed during the passes below
    real_content = imio.content_hash(reals)
    featurizers = list(dict.fromkeys(n for m in wanted if "features" in specs[m].inputs for n in specs[m].networks))
    real_rows: dict[str, np.ndarray] = {}  # network -> rows, filled in place (8 KiB per real image for pool3)
    cached: dict[str, np.ndarray] = {}
    cache_state = "off"
    cache_paths: dict[str, tuple[Path, str]] = {}
    for name in featurizers:
        net = ctx.networks[name]
        key = hashlib.sha256(json.dumps({"content": real_content, **net.cache_identity,
                                         "version": FEATURE_CACHE_VERSION}, sort_keys=True).encode()).hexdigest()
        if opts.cache:
            path = features_cache_dir() / f"{key[:32]}.npz"
            cache_paths[name] = (path, key)
            cache_state = "miss"
            _remove_stale_cache_temps(path.parent)
            if path.is_file():
                feats = _read_cached_features(path, key, (len(reals), net.dim))
                if feats is not None:
                    cached[name] = feats
                    cache_state = "hit"
                else:
                    cache_state = "miss (damaged cache file replaced)"
        if name not in cached:
            # zeros: under torch.distributed each row is filled by one rank and the others' zeros sum away exactly
            real_rows[name] = np.zeros((len(reals), net.dim), dtype=np.float32)
    real_done = np.zeros(len(reals), dtype=bool)
    real_index = {r.key: i for i, r in enumerate(reals)}
    need_real_pixels = any("pairs" in specs[m].inputs for m in wanted)
    prepared_nets = [n for n, net in ctx.networks.items() if getattr(net, "prepare", None) is not None]
    timings: dict[str, float] = {"setup_s": time.perf_counter() - t0}

    # --- pass 1: fake images, whole conditions per batch (diversity needs every sample of a condition at once)
    t1 = time.perf_counter()
    batches: list[list[_Fake]] = []
    batch: list[_Fake] = []
    for _, members in sorted(groups.items()):
        if batch and batch[0].file.size != members[0].file.size:  # one size per batch (--mixed-sizes)
            batches.append(batch)
            batch = []
        batch.extend(members)
        if len(batch) >= opts.batch_size:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    order = [p for b in batches for p in b]  # the pass order, also of per-sample values gathered in rank order
    batches = distributed.shard(batches, rank, world)
    bar = Progress(sum(len(b) for b in batches), "evaluate generated", "img", opts.progress)

    def load(batch: list[_Fake]) -> dict[str, Any]:
        """Decode and prepare one batch (runs one batch ahead in a thread: PIL releases the GIL)."""
        fake_np = [imio.decode(p.file) for p in batch]
        out: dict[str, Any] = {"fake_np": fake_np, "real_np": None,
                               "prepared": {n: ctx.networks[n].prepare(fake_np) for n in prepared_nets}}
        if need_real_pixels:
            # A condition never spans two batches, so these real images are decoded here and nowhere else.
            real_np = {p.partner.key: imio.decode(reals[real_index[p.partner.key]]) for p in batch}
            out["real_np"] = real_np
            out["real_prepared"] = {n: ctx.networks[n].prepare(list(real_np.values())) for n in real_rows}
        return out

    def consume(batch: list[_Fake], loaded: dict[str, Any]) -> None:
        view = BatchView(ctx, batch, loaded)
        for m in wanted:
            states[m].update_view(view)
        if loaded.get("real_prepared"):
            idx = [real_index[k] for k in loaded["real_np"]]
            for name, prepared in loaded["real_prepared"].items():
                rows = ctx.networks[name](prepared)
                _check_finite(rows, [reals[i] for i in idx], ctx.networks[name].what)
                real_rows[name][idx] = rows.numpy()
            real_done[idx] = True
        bar.update(len(batch))

    for b, loaded in _prefetched(batches, load):
        consume(b, loaded)
    bar.close()
    if world > 1:  # every rank must agree on which real images are left for pass 2
        done = torch.from_numpy(real_done.astype(np.uint8))
        real_done = distributed.all_reduce_max_(done).numpy().astype(bool)
    timings["fake_pass_s"] = time.perf_counter() - t1

    # --- pass 2: real images not decoded yet, only for features that are not cached
    t2 = time.perf_counter()
    if real_rows:
        todo = np.flatnonzero(~real_done)
        chunks = distributed.shard([todo[i : i + opts.batch_size] for i in range(0, len(todo), opts.batch_size)],
                                   rank, world)
        bar = Progress(sum(len(c) for c in chunks), "real image features", "img", opts.progress)

        def load_real(chunk: np.ndarray) -> dict[str, Any]:
            images = [imio.decode(reals[i]) for i in chunk]
            return {n: ctx.networks[n].prepare(images) for n in real_rows}

        for chunk, prepared in _prefetched(chunks, load_real):
            for name, x in prepared.items():
                rows = ctx.networks[name](x)
                _check_finite(rows, [reals[i] for i in chunk], ctx.networks[name].what)
                real_rows[name][chunk] = rows.numpy()
            bar.update(len(chunk))
        bar.close()
        for name, rows in real_rows.items():
            if world > 1:
                distributed.all_reduce_sum_(torch.from_numpy(rows))  # in place: the numpy array shares its memory
            if name in cache_paths and rank == 0:
                path, key = cache_paths[name]
                try:
                    save_npz_atomic(path, feats=rows, key=np.asarray(key), sha256=np.asarray(_feats_sha256(rows)))
                except OSError as exc:  # the cache is optional: a read-only or full disk costs only the speed-up
                    print(f"warning: cannot write the feature cache {path} ({exc}); results are unaffected",
                          file=sys.stderr)
                    cache_state += " (not written)"
    if world > 1:
        for m in wanted:  # before update_real: every rank holds all real rows, which must count once
            states[m].sync()
        if rank != 0:
            return None
    all_rows = {**cached, **real_rows}
    for m in wanted:
        if "features" in specs[m].inputs:
            states[m].update_real(all_rows)
    timings["real_pass_s"] = time.perf_counter() - t2
    per_sample = _per_sample_table(order, {m: states[m] for m in wanted}) if opts.per_sample_path else None

    # --- finalize
    t3 = time.perf_counter()
    values: dict[str, Any] = {}
    details: dict[str, Any] = {}
    for m in wanted:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = dict(states[m].compute())
        for wmsg in caught:
            print(f"warning: {wmsg.message}", file=sys.stderr)
        details.update(out.pop("_details", {}))
        values.update(out)
    timings["compute_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0

    record = {
        "schema": EVAL_SCHEMA,
        "metrics": values,
        "details": details,
        "unavailable": unavailable,
        "protocol": protocol.to_dict(),
        "fingerprint": protocol.fingerprint,
        "inputs": {
            "real": {"dir": str(real_dir), "n": len(reals), "content_sha256": real_content,
                     "size": list(reals[0].size)},
            "fake": {"dir": str(fake_dir), "n": len(fakes), "content_sha256": imio.content_hash(fakes),
                     "size": list(fakes[0].size), "conditions": len(groups)},
            **({"distinct_sizes": len(sizes)} if opts.mixed_sizes else {}),
            "labels": {"dir": str(labels_dir)} if labels_dir is not None else None,
        },
        "weights": weights_used,
        "real_feature_cache": cache_state,
        "versions": _versions(),
        "device": str(opts.device),
        "batch_size": opts.batch_size,
        "timings": timings,
    }
    if plugin_protocols:
        record["metric_protocols"] = plugin_protocols
    if per_sample is not None:
        from bench.fileio import frame_bytes

        atomic_write_bytes(Path(opts.per_sample_path), frame_bytes(per_sample, ".parquet"))
    if world > 1:
        record["world_size"] = world
    return record


def _per_sample_table(order: list[_Fake], states: dict[str, Any]):
    """One row per fake image in pass order: its file, condition and sample index, and every per-sample value the
    metrics kept (psnr, ssim, lpips, iou), as a polars frame."""
    import polars as pl

    data: dict[str, Any] = {
        "file": [p.file.rel for p in order],
        "condition": [p.group for p in order],
        "sample": [int(posixpath.basename(p.file.key)) if p.group != p.file.key and posixpath.basename(
            p.file.key).isdigit() else 0 for p in order],
    }
    for state in states.values():
        for column, name in getattr(state, "per_sample_columns", {}).items():
            values = state.state(name).numpy().astype(np.float64)
            if len(values) != len(order):  # a metric that kept something else than one value per image
                raise BenchError(f"per-sample column '{column}' has {len(values)} values for {len(order)} images")
            data[column] = values
    return pl.DataFrame(data)


def _read_key_map(path: str | os.PathLike[str], option: str, what: str, valid: Callable[[Any], bool],
                  must_be: str) -> dict[str, Any]:
    """``{"<file key>": value}`` from the JSON file of ``option``; one line naming the file and the bad entry
    otherwise."""
    try:
        obj = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{option} {path}: not a readable JSON file ({exc})") from exc
    if not isinstance(obj, dict) or not obj:
        raise BenchError(f"{option} {path}: expected a non-empty object {{\"<name>\": {what}}}")
    for key, value in obj.items():
        if not valid(value):
            raise BenchError(f"{option} {path}: {what} of '{key}' must be {must_be}, got {value!r}")
    return dict(obj)


def read_captions(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{"<file key>": caption}`` from a JSON file (bench eval --captions)."""
    return _read_key_map(path, "--captions", "caption", lambda v: isinstance(v, str) and bool(v.strip()),
                         "a non-empty string")


def read_classes(path: str | os.PathLike[str]) -> dict[str, int]:
    """``{"<file key>": class id}`` from a JSON file (bench eval --classes)."""
    return _read_key_map(path, "--classes", "class", lambda v: isinstance(v, int) and not isinstance(v, bool)
                         and v >= 0, "a non-negative integer")


def _protocol(ctx: EvalContext) -> Protocol:
    """The fingerprinted protocol: the evaluation's own fields, every built-in network's and metric's fields
    (whether or not this run computes it, so an unavailable IS does not move the fingerprint), the caller's
    fields (dataset, split, N for `bench run`)."""
    from bench.metrics import registry
    from bench.metrics.networks import NETWORKS

    fields: dict[str, Any] = {"eval_resolution": ctx.size if ctx.size is not None else "native",
                              "metric_versions": registry.metric_versions(ctx)}
    for name in NETWORKS.names():
        spec = NETWORKS.get(name)
        fields.update(spec.protocol() if spec.protocol else {})
    for spec in registry.specs():
        if registry.fingerprinted(spec, ctx) and spec.protocol is not None:
            fields.update(spec.protocol(ctx))
    protocol = Protocol(**fields)
    return dataclasses.replace(protocol, **ctx.opts.protocol_fields) if ctx.opts.protocol_fields else protocol


STALE_TEMP_S = 3600.0  # a temp file this old has no live writer (a write takes seconds)


def _remove_stale_cache_temps(folder: Path) -> None:
    """Temp files of killed cache writers; only old ones, so a concurrent writer's in-flight file survives."""
    now = time.time()
    for tmp in folder.glob(".*.tmp") if folder.is_dir() else ():
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_S:
                tmp.unlink()
        except OSError:
            pass  # gone already, or a read-only folder: harmless


def _feats_sha256(feats: np.ndarray) -> str:
    a = np.ascontiguousarray(feats, dtype=np.float32)
    return hashlib.sha256(f"{a.shape}".encode() + a.tobytes()).hexdigest()


def _read_cached_features(path: Path, key: str, shape: tuple[int, int]) -> np.ndarray | None:
    """Cached real features, or None for any damage: a truncated, empty or bit-flipped file is a miss (and is
    replaced), never a traceback on every later evaluation and never a wrong number."""
    try:
        with np.load(path) as z:
            if str(z["key"]) != key:
                return None
            feats = np.asarray(z["feats"], dtype=np.float32)
            stored = str(z["sha256"])
    except Exception:  # noqa: BLE001 - zipfile, zlib, EOF, pickle-refusal, format errors all mean "damaged"
        return None
    if feats.shape != shape or not np.isfinite(feats).all() or stored != _feats_sha256(feats):
        return None
    return feats


def _label_path(labels_dir, key: str) -> Path:
    p = Path(labels_dir) / f"{key}.png"
    if not p.is_file():
        raise BenchError(f"label map {p} not found (expected one PNG per real image, same name)")
    return p


def _load_segmenter(spec: str, num_classes: int | None):
    """A registered segmenter name (bench.segmenters) or ``package.module:callable`` / class."""
    from bench.registry import import_string

    if ":" not in spec:
        from bench.segmenters import get_segmenter

        obj = get_segmenter(spec)
    else:
        obj = import_string(spec)
        if isinstance(obj, type):
            obj = guarded(f"segmenter '{spec}' failed to initialise", obj)
    if not callable(obj):
        raise BenchError(f"segmenter '{spec}' is not callable")
    n = num_classes if num_classes is not None else getattr(obj, "num_classes", None)
    if n is None:
        raise BenchError(f"segmenter '{spec}' does not declare num_classes; pass --num-classes")
    return obj, int(n), getattr(obj, "weights_sha256", None)
