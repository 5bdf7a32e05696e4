"""`bench run`: load or train a method, generate the evaluation split, evaluate in one pass, write the record.

A run directory holds everything a run produces; every file in it is written atomically, so a run killed at
any point and started again with the same command resumes: existing samples are kept (each one is a complete
PNG or absent), a finished evaluation is not redone, and the record is written last::

    <run dir>/run.json          what defines the run (a different run refuses to reuse this folder)
    <run dir>/fake/<key>.png    the generated samples (<key>/<k>.png with several samples per label map)
    <run dir>/manifest.json     every sample with its seed and sha256 (written when generation is complete)
    <run dir>/evaluation.json   the metric engine's record (written when evaluation is complete)
    <run dir>/grid.png          label | samples | real, for the first label maps

Real images and segmenter labels of a split are exported once per dataset fingerprint into the cache and shared
by every method (their Inception features are then cached too, keyed by content).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.locks import DirLock


@dataclass
class RunSpec:
    """Everything `bench run` was asked to do (defaults match the CLI)."""

    method: str
    dataset: str = "synthetic-streets"
    root: str | None = None
    split: str | None = None
    resolution: str | None = None
    config: str | None = None
    checkpoint: str | None = None
    train: bool = False
    train_steps: int | None = None
    samples_per_label: int = 1
    seed: int = 0
    device: str = "cpu"
    batch_size: int = 8
    out: str | None = None
    results: str | None = None  # results folder (default: leaderboard/results of the checkout)
    segmenter: str | None = None
    metrics: tuple[str, ...] | None = None
    limit: int | None = None  # evaluate only the first N label maps (quick looks; recorded in the run id)
    progress: bool | None = None


def _atomic_png(path: Path, array: Any, mode: str | None = None) -> None:
    from PIL import Image

    from bench.evaluate import atomic_write_bytes

    buf = io.BytesIO()
    Image.fromarray(array, mode=mode).save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())


def _json_bytes(obj: Any) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True) + "\n").encode()


def export_real(ds: Any, limit: int | None, progress: bool | None) -> tuple[Path, Path, list[str]]:
    """Real images and segmenter-space labels of the split at the eval resolution, exported once per dataset
    fingerprint into the cache (shared by all methods and by concurrent runs: every file is atomic)."""
    import numpy as np
    from tqdm.auto import tqdm

    from bench.weights import user_cache_dir

    n = len(ds) if limit is None else min(limit, len(ds))
    fp = hashlib.sha256(json.dumps(ds.fingerprint(), sort_keys=True).encode()).hexdigest()[:16]
    base = user_cache_dir() / "real" / f"{ds.card.name}-{ds.split}-{fp}"
    real_dir, label_dir = base / "images", base / "labels"
    keys = [ds.samples[i].key for i in range(n)]
    lut = np.asarray(ds.segmenter_lut)
    todo = [i for i in range(n) if not (real_dir / f"{keys[i]}.png").is_file() or not (label_dir / f"{keys[i]}.png").is_file()]
    for i in tqdm(todo, desc="real images", unit="img", disable=(not progress) if progress is not None else None,
                  leave=False, file=sys.stderr):
        image, label, _ = ds.arrays(i)
        seg = lut[label]
        dtype = np.uint8 if seg.max() < 256 else np.uint16
        _atomic_png(label_dir / f"{keys[i]}.png", seg.astype(dtype))
        _atomic_png(real_dir / f"{keys[i]}.png", np.ascontiguousarray(image))
    if limit is not None:
        # a subset is its own folder of links, so the real-feature cache is keyed by exactly these files
        sub = base / f"first-{n}"
        for folder, name in ((real_dir, "images"), (label_dir, "labels")):
            for k in keys:
                link = sub / name / f"{k}.png"
                if not link.exists():
                    link.parent.mkdir(parents=True, exist_ok=True)
                    try:
                        os.symlink(folder / f"{k}.png", link)
                    except FileExistsError:
                        pass
        return sub / "images", sub / "labels", keys
    return real_dir, label_dir, keys


def _dataset_info(ds: Any) -> Any:
    from bench.adapter import DatasetInfo

    return DatasetInfo(
        name=ds.card.name, num_classes=ds.num_classes, resolution=tuple(ds.resolution),
        has_instances=ds.has_instances, ignore_index=ds.ignore_index,
        palette=tuple(tuple(int(c) for c in rgb) for rgb in ds.palette),
    )


def run(spec: RunSpec) -> dict[str, Any]:
    """Run one method on one dataset split and return the result record (also written to the results folder)."""
    import numpy as np
    import torch
    from tqdm.auto import tqdm

    from bench.adapter import get_method, sample_seed
    from bench.conformance import check_output, run_checks
    from bench.data import get_dataset
    from bench.evaluate import EvalOptions, atomic_write_bytes, evaluate_folders
    from bench.results import SCHEMA, git_commit, record_name, results_dir

    t0 = time.perf_counter()
    if spec.samples_per_label < 1:
        raise BenchError(f"--samples-per-label must be >= 1, got {spec.samples_per_label}")
    if spec.train and spec.checkpoint:
        raise BenchError("give either --checkpoint or --train, not both")
    cls = get_method(spec.method)
    ds = get_dataset(spec.dataset, spec.root, spec.split, spec.resolution)
    info = _dataset_info(ds)
    timings: dict[str, float] = {}

    checkpoint = spec.checkpoint
    if spec.train:
        train_ds = get_dataset(spec.dataset, spec.root, "train", spec.resolution)
        train_dir = Path(spec.out or "bench-runs") / f"train-{spec.method}-{spec.config or 'default'}-{ds.card.name}-seed{spec.seed}"
        t = time.perf_counter()
        trainer = cls(info, device=spec.device, checkpoint=None, config=spec.config)
        checkpoint = str(trainer.train(train_ds, out_dir=str(train_dir), seed=spec.seed, steps=spec.train_steps))
        timings["train_s"] = time.perf_counter() - t
    if not checkpoint:
        checkpoint = cls.default_checkpoint(ds.card.name, spec.config)
    gen = cls(info, device=spec.device, checkpoint=checkpoint, config=spec.config)
    prov = gen.provenance()
    name = getattr(cls, "method_name", spec.method)

    n = len(ds) if spec.limit is None else min(spec.limit, len(ds))
    k_samples = spec.samples_per_label
    identity = {
        "method": name, "adapter": prov.get("adapter"), "config": spec.config,
        "checkpoint_sha256": prov.get("checkpoint_sha256"), "dataset": ds.fingerprint(), "n": n,
        "samples_per_label": k_samples, "seed": spec.seed,
    }
    run_id = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    safe_name = name.replace(":", "_").replace("/", "_")
    run_dir = Path(spec.out) if spec.out else Path("bench-runs") / f"{safe_name}-{spec.config or 'default'}-{ds.card.name}-{ds.split}-{run_id}"
    lock = DirLock(run_dir, "run directory")
    try:
        _remove_stale_temp_files(run_dir)
        spec_file = run_dir / "run.json"
        if spec_file.is_file():
            previous = json.loads(spec_file.read_text())
            if previous.get("run_id") != run_id:
                raise BenchError(f"run directory {run_dir} holds another run ({previous.get('identity', {}).get('method')}, "
                                 f"run id {previous.get('run_id')}); choose another --out")
        else:
            atomic_write_bytes(spec_file, _json_bytes({"run_id": run_id, "identity": identity}))

        real_dir, label_dir, keys = export_real(ds, spec.limit, spec.progress)
        fake_dir = run_dir / "fake"

        def fake_path(key: str, k: int) -> Path:
            return fake_dir / (f"{key}.png" if k_samples == 1 else f"{key}/{k}.png")

        # Conformance on the first two label maps before any work: shape, dtype, same seeds -> same images.
        first = ds.loader(batch_size=min(2, n)).__iter__().__next__()
        if not getattr(cls, "needs_image", False):
            first = {k: v for k, v in first.items() if k != "image"}
        for check in run_checks(gen, first, [sample_seed(spec.seed, key, 0) for key in keys[:2]], full=False):
            if not check.ok:
                raise BenchError(f"method '{name}' fails the adapter contract ({check.name}): {check.message}; "
                                 f"see 'bench check-adapter {spec.method}'")

        # Generation: only label maps with a missing sample are loaded and generated.
        t = time.perf_counter()
        todo = [i for i in range(n) if any(not fake_path(keys[i], k).is_file() for k in range(k_samples))]
        missing = sum(not fake_path(keys[i], k).is_file() for i in todo for k in range(k_samples))
        bar = tqdm(total=missing, desc=f"generate {name}", unit="img", file=sys.stderr, leave=False,
                   disable=(not spec.progress) if spec.progress is not None else None)
        from bench.data import collate

        for s in range(0, len(todo), spec.batch_size):
            idx = todo[s : s + spec.batch_size]
            batch = collate([ds[i] for i in idx])
            if not getattr(cls, "needs_image", False):
                batch.pop("image")
            for k in range(k_samples):
                # only missing samples: a finished PNG is never rewritten (batch-size independence makes the
                # sub-batch give the same images)
                rows = [j for j, i in enumerate(idx) if not fake_path(keys[i], k).is_file()]
                if not rows:
                    continue
                sub = batch if len(rows) == len(idx) else {
                    key: (v[rows] if hasattr(v, "shape") else [v[j] for j in rows]) for key, v in batch.items()}
                seeds = [sample_seed(spec.seed, keys[idx[j]], k) for j in rows]
                with torch.no_grad():
                    out = check_output(name, gen.generate(sub, seeds=seeds), len(rows), tuple(ds.resolution))
                arr = out.permute(0, 2, 3, 1).numpy()
                for r, j in enumerate(rows):
                    _atomic_png(fake_path(keys[idx[j]], k), np.ascontiguousarray(arr[r]))
                bar.update(len(rows))
        bar.close()
        timings["generate_s"] = time.perf_counter() - t

        manifest_file = run_dir / "manifest.json"
        if not manifest_file.is_file():
            from bench.weights import sha256_file

            entries = [{"key": keys[i], "sample": k, "seed": sample_seed(spec.seed, keys[i], k),
                        "file": fake_path(keys[i], k).relative_to(run_dir).as_posix(),
                        "sha256": sha256_file(fake_path(keys[i], k))} for i in range(n) for k in range(k_samples)]
            atomic_write_bytes(manifest_file, _json_bytes({"run_id": run_id, "samples": entries}))

        # Evaluation, once.
        t = time.perf_counter()
        eval_file = run_dir / "evaluation.json"
        if eval_file.is_file():
            evaluation = json.loads(eval_file.read_text())
        else:
            segmenter = spec.segmenter or default_segmenter(ds)
            opts = EvalOptions(
                metrics=spec.metrics, device=spec.device, segmenter=segmenter,
                # the protocol's subset size: 1000, or N for smaller splits (recorded, no clamping warning)
                kid_subset_size=min(1000, n),
                num_classes=ds.segmenter_num_classes if segmenter else None, ignore_index=ds.ignore_index,
                progress=spec.progress,
                protocol_fields={"dataset": ds.card.id, "split": ds.split, "image_resize": ds.card.image_resize,
                                 "label_resize": "nearest"},
            )
            evaluation = evaluate_folders(real_dir, fake_dir, label_dir, opts)
            atomic_write_bytes(eval_file, _json_bytes(evaluation))
        timings["evaluate_s"] = time.perf_counter() - t

        grid_png = run_dir / "grid.png"
        if not grid_png.is_file():
            _atomic_png(grid_png, make_grid(ds, keys, fake_path, k_samples))
        timings["total_s"] = time.perf_counter() - t0

        record = {
            "schema": SCHEMA,
            "run_id": run_id,
            "method": {"name": name, "adapter": prov.get("adapter"), "config": spec.config,
                       "checkpoint": prov.get("checkpoint"), "checkpoint_sha256": prov.get("checkpoint_sha256"),
                       "trained": spec.train, **{k: v for k, v in prov.items() if k not in
                                                 ("adapter", "config", "checkpoint", "checkpoint_sha256")}},
            "dataset": {"card": ds.card.id, "card_sha256": ds.card.sha256, "manifest_sha256": ds.manifest.sha256,
                        "split": ds.split, "n": n, "resolution": list(ds.resolution),
                        "image_resize": ds.card.image_resize},
            "protocol": evaluation["protocol"],
            "fingerprint": evaluation["fingerprint"],
            "metrics": evaluation["metrics"],
            "unavailable": evaluation["unavailable"],
            "details": evaluation["details"],
            "seeds": {"run": spec.seed, "samples_per_label": k_samples},
            "weights": evaluation["weights"],
            "versions": evaluation["versions"],
            "git_commit": git_commit(),
            "device": str(spec.device),
            "timings": timings,
            "n_real": n,
            "n_fake": n * k_samples,
            "grid": "",
        }
        out_dir = results_dir(spec.results) / ds.card.name
        rec_path = out_dir / record_name(record)
        for stale in out_dir.glob(f".{rec_path.stem}.*.tmp"):  # only this run writes this record name
            stale.unlink()
        record["grid"] = rec_path.with_suffix(".png").name
        atomic_write_bytes(rec_path.with_suffix(".png"), grid_png.read_bytes())
        atomic_write_bytes(rec_path, _json_bytes(record))
        record["_path"] = str(rec_path)
        return record
    finally:
        lock.release()


def _remove_stale_temp_files(run_dir: Path) -> None:
    """Temp files of atomic writes interrupted by a kill (we hold the run's lock, so none is in flight)."""
    for tmp in run_dir.rglob(".*.tmp"):
        tmp.unlink()


def default_segmenter(ds: Any) -> str | None:
    """The segmenter the dataset's protocol names, when it is available on this machine (else mIoU is reported
    unavailable)."""
    from bench.segmenters import DEFAULT_FOR_DATASET

    return DEFAULT_FOR_DATASET.get(ds.card.name)


def make_grid(ds: Any, keys: list[str], fake_path: Any, k_samples: int, rows: int = 4) -> Any:
    """label (card palette) | generated samples | real photo, for the first ``rows`` label maps."""
    import numpy as np
    from PIL import Image

    palette = np.asarray(ds.palette, dtype=np.uint8)
    lines = []
    for i in range(min(rows, len(keys))):
        image, label, _ = ds.arrays(i)
        colour = palette[np.clip(label, 0, len(palette) - 1)]
        samples = [np.asarray(Image.open(fake_path(keys[i], k)).convert("RGB")) for k in range(min(k_samples, 4))]
        lines.append(np.concatenate([colour, *samples, image], axis=1))
    return np.concatenate(lines, axis=0)
