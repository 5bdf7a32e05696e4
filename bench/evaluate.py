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
from bench.errors import BenchError, WeightsUnavailable, guarded
from bench.fileio import atomic_write_bytes, save_npz_atomic, write_json  # noqa: F401 (re-exported)
from bench.protocol import Protocol

ALL_METRICS = ("fid", "kid", "is", "psnr", "ssim", "lpips", "msssim_diversity", "lpips_diversity", "miou")
FEATURE_CACHE_VERSION = "2"  # 2: a sha256 of the features in the file


@dataclass
class EvalOptions:
    """Options of one evaluation; ``metrics=None`` means every metric that applies to the inputs."""

    metrics: tuple[str, ...] | None = None
    batch_size: int | None = None  # None: 8 on CPU (fastest per image for Inception there), 64 on CUDA
    device: str = "cpu"
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_seed: int = 0
    is_seed: int = 2020
    diversity_pairs: int = 10
    diversity_seed: int = 0
    segmenter: str | None = None
    num_classes: int | None = None
    ignore_index: int | None = 255
    cache: bool = True
    inception_weights: str | None = None
    is_weights: str | None = None
    lpips_weights: str | None = None
    progress: bool | None = None  # None: a bar when stderr is a terminal
    protocol_fields: dict[str, Any] = field(default_factory=dict)  # e.g. dataset card id, split (bench run)


@dataclass
class _Fake:
    file: imio.ImageFile
    group: str  # key of the real image (condition) this sample belongs to
    partner: imio.ImageFile | None


def _pair(fakes: list[imio.ImageFile], reals: list[imio.ImageFile]) -> list[_Fake]:
    """Pair fake ``k.png`` with real ``k.*``, and fake ``k/<i>.png`` (i-th sample of condition k) with real ``k.*``."""
    by_key = {r.key: r for r in reals}
    out = []
    for f in fakes:
        if f.key in by_key:
            out.append(_Fake(f, f.key, by_key[f.key]))
        else:
            parent = posixpath.dirname(f.key)
            out.append(_Fake(f, parent if parent in by_key else f.key, by_key.get(parent)))
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


class _Progress:
    def __init__(self, total: int, desc: str, enabled: bool | None) -> None:
        from tqdm.auto import tqdm

        self.bar = tqdm(total=total, desc=desc, unit="img", disable=(not enabled) if enabled is not None else None,
                        file=sys.stderr, leave=False)

    def update(self, n: int) -> None:
        self.bar.update(n)

    def close(self) -> None:
        self.bar.close()


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


def _moments_from_rows(fid, feats: np.ndarray, chunk: int = 512) -> None:
    for i in range(0, len(feats), chunk):
        fid.update(torch.from_numpy(feats[i : i + chunk]), real=True)


def evaluate_folders(
    real_dir: str | os.PathLike[str],
    fake_dir: str | os.PathLike[str],
    labels_dir: str | os.PathLike[str] | None = None,
    opts: EvalOptions | None = None,
) -> dict[str, Any]:
    """Evaluate ``fake_dir`` against ``real_dir``; return the result record (nothing is written here)."""
    from bench.features import InceptionFeatures, InceptionLogits
    from bench.metrics import diversity as div
    from bench.metrics.fid import FID
    from bench.metrics.inception_score import InceptionScore
    from bench.metrics.kid import KID
    from bench.metrics.lpips import build_lpips, lpips_distance
    from bench.metrics.miou import SegmentationScore
    from bench.metrics.paired import MeanOf, psnr, ssim
    from bench import weights

    opts = opts or EvalOptions()
    t0 = time.perf_counter()
    explicit = opts.metrics is not None
    wanted = list(opts.metrics) if explicit else list(ALL_METRICS)
    unknown = [m for m in wanted if m not in ALL_METRICS]
    if unknown:
        import difflib

        close = difflib.get_close_matches(unknown[0], ALL_METRICS, n=1)
        raise BenchError(
            f"unknown metric '{unknown[0]}'" + (f"; did you mean '{close[0]}'?" if close else "")
            + f" (known: {', '.join(ALL_METRICS)})"
        )
    if explicit and not wanted:
        raise BenchError("the metric list is empty; name at least one metric or pass none for every metric")
    if opts.batch_size is None:
        opts = dataclasses.replace(opts, batch_size=8 if str(opts.device) == "cpu" else 64)
    if opts.batch_size < 1:
        raise BenchError(f"batch size must be >= 1, got {opts.batch_size}")
    for flag, value in (("--seed", opts.kid_seed), ("--seed", opts.diversity_seed), ("is_seed", opts.is_seed)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
            raise BenchError(f"{flag} must be an integer from 0 to 2**32-1 (numpy's seed range), got {value}")
    if "kid" in wanted:  # a subset of 0 or fewer images gives NaN or a numpy traceback after the whole feature pass
        for flag, value in (("--kid-subsets", opts.kid_subsets), ("--kid-subset-size", opts.kid_subset_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise BenchError(f"{flag} must be a positive integer, got {value}")

    reals = imio.scan_folder(real_dir, role="real")
    fakes = imio.scan_folder(fake_dir, role="fake")
    pairs = _pair(fakes, reals)
    unavailable: dict[str, str] = {}

    def drop(metric: str, why: str, exit_code: int = 2) -> None:
        if explicit:
            raise BenchError(f"metric '{metric}' cannot be computed: {why}", exit_code=exit_code)
        unavailable[metric] = why
        wanted.remove(metric)

    # Which metrics apply to these inputs.
    paired = [m for m in ("psnr", "ssim", "lpips") if m in wanted]
    if paired:
        unmatched = next((p for p in pairs if p.partner is None), None)
        if unmatched is not None:
            for m in paired:
                drop(m, f"fake file {unmatched.file.path} has no real image with the same name in {real_dir}")
        elif fakes[0].size != reals[0].size:
            for m in paired:
                drop(m, f"fake images are {fakes[0].size[0]}x{fakes[0].size[1]}, real images "
                        f"{reals[0].size[0]}x{reals[0].size[1]}; paired metrics need equal sizes")
    groups: dict[str, list[_Fake]] = {}
    for p in pairs:
        groups.setdefault(p.group, []).append(p)
    for m in ("msssim_diversity", "lpips_diversity"):
        if m in wanted and max(len(g) for g in groups.values()) < 2:
            drop(m, "needs several samples per condition (fake/<name>/<i>.png next to real <name>.png)")
    if "miou" in wanted:
        if labels_dir is None or opts.segmenter is None:
            drop("miou", "needs --labels DIR and --segmenter")
    if len(reals) < 2 or len(fakes) < 2:
        raise BenchError("need at least 2 real and 2 fake images")

    # Networks, each through the weight resolver.
    weights_used: dict[str, dict[str, str]] = {}
    need_features = any(m in wanted for m in ("fid", "kid"))
    inception = InceptionFeatures(opts.device, opts.inception_weights) if need_features else None
    if inception is not None:
        weights_used[inception.weights.name] = _wdict(inception.weights)
    logits_net = None
    if "is" in wanted:
        try:
            logits_net = InceptionLogits(opts.device, opts.is_weights)
            weights_used[logits_net.weights.name] = _wdict(logits_net.weights)
        except WeightsUnavailable as exc:
            drop("is", str(exc), WeightsUnavailable.exit_code)
    lpips_net = None
    if "lpips" in wanted or "lpips_diversity" in wanted:
        try:
            lpips_net, lp_w = build_lpips("alex", device=opts.device, backbone_path=opts.lpips_weights)
            weights_used[lp_w.name] = _wdict(lp_w)
        except WeightsUnavailable as exc:
            for m in ("lpips", "lpips_diversity"):
                if m in wanted:
                    drop(m, str(exc), WeightsUnavailable.exit_code)
    segmenter: Callable[[torch.Tensor], torch.Tensor] | None = None
    num_classes = opts.num_classes
    seg_sha = None
    if "miou" in wanted:
        try:
            segmenter, num_classes, seg_sha = _load_segmenter(opts.segmenter, num_classes)
        except WeightsUnavailable as exc:
            drop("miou", str(exc), WeightsUnavailable.exit_code)
        if segmenter is not None and getattr(segmenter, "weights_sha256", None):
            weights_used[f"segmenter:{opts.segmenter}"] = {"sha256": segmenter.weights_sha256,
                                                           "file": str(getattr(segmenter, "weights_path", "")),
                                                           "source": "bench.segmenters"}

    h, w = fakes[0].size[1], fakes[0].size[0]
    msssim_scales = div.ms_ssim_scales(h, w) if "msssim_diversity" in wanted else None
    protocol = Protocol(
        eval_resolution=(h, w),
        # Networks are named by the registry's digests, not by what this machine happens to have: a run where
        # IS or LPIPS is unavailable must get the same fingerprint as one where they are computed.
        feature_extractor_sha256=weights.INCEPTION_FID.sha256,
        kid_subsets=opts.kid_subsets,
        kid_subset_size=opts.kid_subset_size,
        kid_seed=opts.kid_seed,
        is_seed=opts.is_seed,
        is_network_sha256=weights.INCEPTION_LOGITS.sha256,
        lpips_backbone_sha256=weights.ALEXNET.sha256,
        msssim_scales=msssim_scales,
        diversity_pairs=opts.diversity_pairs,
        diversity_seed=opts.diversity_seed,
        segmenter=opts.segmenter,
        segmenter_sha256=seg_sha,
        segmenter_protocol=_segmenter_protocol(segmenter),
        num_classes=num_classes,
        ignore_index=opts.ignore_index,
        metric_versions=tuple(sorted((m, "1") for m in ALL_METRICS)),
    )
    if opts.protocol_fields:
        protocol = dataclasses.replace(protocol, **opts.protocol_fields)

    # Real features: from the cache, or computed during the passes below.
    real_feats: np.ndarray | None = None
    real_content = imio.content_hash(reals)
    cache_path = None
    cache_state = "off"
    if inception is not None:
        key = hashlib.sha256(json.dumps({
            "content": real_content, "extractor": inception.weights.sha256, "resize": inception.resize_mode,
            "version": FEATURE_CACHE_VERSION}, sort_keys=True).encode()).hexdigest()
        if opts.cache:
            cache_path = features_cache_dir() / f"{key[:32]}.npz"
            cache_state = "miss"
            _remove_stale_cache_temps(cache_path.parent)
            if cache_path.is_file():
                real_feats = _read_cached_features(cache_path, key, len(reals))
                cache_state = "hit" if real_feats is not None else "miss (damaged cache file replaced)"
    # Rows are filled in place (no per-row objects, no final stack): memory grows by 8 KiB per real image only.
    real_rows = np.empty((len(reals), 2048), dtype=np.float32) if real_feats is None and inception else None
    real_done = np.zeros(len(reals), dtype=bool)
    real_index = {r.key: i for i, r in enumerate(reals)}

    fid = FID() if "fid" in wanted else None
    kid = KID(opts.kid_subsets, opts.kid_subset_size, opts.kid_seed) if "kid" in wanted else None
    isc = InceptionScore(seed=opts.is_seed) if "is" in wanted else None
    means = {m: MeanOf(m) for m in ("psnr", "ssim", "lpips", "msssim_diversity", "lpips_diversity") if m in wanted}
    seg = SegmentationScore(num_classes, opts.ignore_index) if "miou" in wanted else None
    need_real_pixels = any(m in wanted for m in ("psnr", "ssim", "lpips"))
    timings: dict[str, float] = {"setup_s": time.perf_counter() - t0}

    # Pass 1: fake images, whole conditions per batch (diversity needs every sample of a condition at once).
    t1 = time.perf_counter()
    bar = _Progress(len(fakes) + (0 if real_feats is not None or inception is None else len(reals)), "images", opts.progress)
    batch: list[_Fake] = []
    group_list = sorted(groups.items())

    def load(batch: list[_Fake]) -> dict[str, Any]:
        """Decode and resize one batch (runs one batch ahead in a thread: PIL releases the GIL)."""
        fake_np = [imio.decode(p.file) for p in batch]
        out: dict[str, Any] = {"fake_np": fake_np, "real_np": None}
        if inception is not None:
            out["fake_299"] = inception.preprocess(fake_np)
        if need_real_pixels and all(p.partner is not None for p in batch):
            # A condition never spans two batches, so these real images are decoded here and nowhere else.
            real_np = {p.partner.key: None for p in batch}
            for k in real_np:
                real_np[k] = imio.decode(reals[real_index[k]])
            out["real_np"] = real_np
            if inception is not None and real_feats is None:
                out["real_299"] = inception.preprocess(list(real_np.values()))
        return out

    def consume(batch: list[_Fake], loaded: dict[str, Any]) -> None:
        fake_t = torch.from_numpy(np.stack(loaded["fake_np"])).permute(0, 3, 1, 2).contiguous()
        files = [p.file for p in batch]
        if inception is not None:
            feats = inception(loaded["fake_299"])
            _check_finite(feats, files, "Inception features")
            if fid is not None:
                fid.update(feats, real=False)
            if kid is not None:
                kid.update(feats, real=False)
        if logits_net is not None:
            logits = logits_net(fake_t)
            _check_finite(logits, files, "Inception logits")
            isc.update(logits)
        real_t = None
        real_np = loaded["real_np"]
        if real_np is not None:
            if "real_299" in loaded:
                idx = [real_index[k] for k in real_np]
                rf = inception(loaded["real_299"])
                _check_finite(rf, [reals[i] for i in idx], "Inception features")
                real_rows[idx] = rf.numpy()
                real_done[idx] = True
                bar.update(len(idx))
            real_t = torch.from_numpy(np.stack([real_np[p.partner.key] for p in batch])).permute(0, 3, 1, 2)
        if real_t is not None:
            if "psnr" in means:
                means["psnr"].update(psnr(fake_t, real_t))
            if "ssim" in means:
                means["ssim"].update(ssim(fake_t, real_t))
            if "lpips" in means:
                means["lpips"].update(lpips_distance(lpips_net, fake_t, real_t))
        if seg is not None:
            pred = torch.as_tensor(segmenter(fake_t))
            for i, p in enumerate(batch):
                label_path = _label_path(labels_dir, p.group)
                seg.update(pred[i].cpu().numpy(), imio.decode_label(label_path), where=str(label_path))
        if "msssim_diversity" in means or "lpips_diversity" in means:
            _diversity(batch, fake_t, means, lpips_net, opts, msssim_scales)
        bar.update(len(batch))

    batches: list[list[_Fake]] = []
    for _, members in group_list:
        batch.extend(members)
        if len(batch) >= opts.batch_size:
            batches.append(batch)
            batch = []
    if batch:
        batches.append(batch)
    for b, loaded in _prefetched(batches, load):
        consume(b, loaded)
    timings["fake_pass_s"] = time.perf_counter() - t1

    # Pass 2: real images not decoded yet, only when their features are not cached.
    t2 = time.perf_counter()
    if inception is not None and real_feats is None:
        todo = np.flatnonzero(~real_done)
        chunks = [todo[i : i + opts.batch_size] for i in range(0, len(todo), opts.batch_size)]
        load_real = lambda chunk: inception.preprocess([imio.decode(reals[i]) for i in chunk])  # noqa: E731
        for chunk, resized in _prefetched(chunks, load_real):
            rf = inception(resized)
            _check_finite(rf, [reals[i] for i in chunk], "Inception features")
            real_rows[chunk] = rf.numpy()
            bar.update(len(chunk))
        real_feats = real_rows
        if cache_path is not None:
            try:
                save_npz_atomic(cache_path, feats=real_feats, key=np.asarray(key),
                                 sha256=np.asarray(_feats_sha256(real_feats)))
            except OSError as exc:  # the cache is optional: a read-only or full disk costs only the speed-up
                print(f"warning: cannot write the feature cache {cache_path} ({exc}); results are unaffected",
                      file=sys.stderr)
                cache_state += " (not written)"
    bar.close()
    if real_feats is not None:
        if fid is not None:
            _moments_from_rows(fid, real_feats)
        if kid is not None:
            kid.update(torch.from_numpy(real_feats), real=True)
    timings["real_pass_s"] = time.perf_counter() - t2

    # Compute.
    t3 = time.perf_counter()
    values: dict[str, Any] = {}
    details: dict[str, Any] = {}
    if fid is not None:
        values.update(fid.compute())
    if kid is not None:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            values.update(kid.compute())
        for wmsg in caught:
            print(f"warning: {wmsg.message}", file=sys.stderr)
    if isc is not None:
        values.update(isc.compute())
    for m in means.values():
        values.update(m.compute())
    if seg is not None:
        s = seg.compute()
        values["miou"], values["pixel_acc"] = s["miou"], s["pixel_acc"]
        details["per_class_iou"] = s["per_class_iou"]
        if hasattr(segmenter, "protocol") and hasattr(segmenter.protocol, "as_dict"):
            details["segmenter_protocol"] = segmenter.protocol.as_dict()
    timings["compute_s"] = time.perf_counter() - t3
    timings["total_s"] = time.perf_counter() - t0

    return {
        "schema": "cgan-bench/eval-record/1",
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
            "labels": {"dir": str(labels_dir)} if labels_dir is not None else None,
        },
        "weights": weights_used,
        "real_feature_cache": cache_state,
        "versions": _versions(),
        "device": str(opts.device),
        "batch_size": opts.batch_size,
        "timings": timings,
    }


def _segmenter_protocol(segmenter: Any) -> tuple[tuple[str, str], ...] | None:
    """Every field of a registered segmenter's SegmenterProtocol (a plain callable has none to record)."""
    proto = getattr(segmenter, "protocol", None)
    return Protocol.freeze(proto.as_dict()) if hasattr(proto, "as_dict") else None


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


def _read_cached_features(path: Path, key: str, n: int) -> np.ndarray | None:
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
    if feats.shape != (n, 2048) or not np.isfinite(feats).all() or stored != _feats_sha256(feats):
        return None
    return feats


def _wdict(rw) -> dict[str, str]:
    return {"file": str(rw.path), "sha256": rw.sha256, "source": rw.source}


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


def _diversity(batch, fake_t, means, lpips_net, opts: EvalOptions, scales) -> None:
    from bench.metrics import diversity as div
    from bench.metrics.lpips import lpips_distance

    by_group: dict[str, list[int]] = {}
    for i, p in enumerate(batch):
        by_group.setdefault(p.group, []).append(i)
    left, right = [], []
    for g, idx in by_group.items():
        if len(idx) < 2:
            continue
        # Seeded per condition, so the pairs do not depend on how conditions fall into batches.
        rng = np.random.default_rng([opts.diversity_seed, zlib.crc32(g.encode())])
        for i, j in div.sample_pairs(len(idx), opts.diversity_pairs, rng):
            left.append(idx[i])
            right.append(idx[j])
    if not left:
        return
    a, b = fake_t[left], fake_t[right]
    if "msssim_diversity" in means:
        means["msssim_diversity"].update(div.ms_ssim(a, b, scales))
    if "lpips_diversity" in means:
        means["lpips_diversity"].update(lpips_distance(lpips_net, a, b))
