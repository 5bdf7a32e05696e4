"""`bench run`: load or train a method, generate the evaluation split, evaluate in one pass, write the record.

A run directory holds everything a run produces; every file in it is written atomically, so a run killed at
any point and started again with the same command resumes: existing samples are kept (each one is a complete
PNG or absent), a finished evaluation is not redone (unless it was made with other --metrics, --segmenter or
--diversity-protocol), and the record is written last::

    <run dir>/run.json          what defines the run (a different run refuses to reuse this folder)
    <run dir>/fake/<key>.png    the generated samples (<key>/<k>.png with several samples per label map)
    <run dir>/manifest.json     every sample with its seed and sha256 (written when generation is complete)
    <run dir>/evaluation.json   the metric engine's record (written when evaluation is complete)
    <run dir>/evaluation.request.json   the options that evaluation was made with
    <run dir>/grid.png          label | samples | real, for the first label maps

Real images and segmenter labels of a split are exported once per source content (sha256 of every source file)
into the cache, verified file by file on reuse, and shared by every method (their Inception features are then
cached too, keyed by content). A split that does not match its manifest is refused unless ``--limit`` or
``--partial`` says so; either is part of the protocol fingerprint.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.conformance import slice_batch
from bench.data import collate, default_classifier
from bench.errors import BenchError, guarded, require_int
from bench.fileio import check_writable_dir, json_bytes
from bench.locks import DirLock
from bench.protocol import Protocol


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
    diversity_protocol: str = "default"  # bench.evaluate.DIVERSITY_PROTOCOLS; "munit" generates 38 samples per label
    seed: int = 0
    device: str = "cpu"
    batch_size: int = 8
    out: str | None = None
    results: str | None = None  # results folder (default: leaderboard/results of the checkout)
    segmenter: str | None = None
    metrics: tuple[str, ...] | None = None
    limit: int | None = None  # evaluate only the first N label maps (quick looks; recorded in the protocol)
    partial: bool = False  # evaluate a split that does not match its manifest (recorded in the protocol)
    any_resolution: bool = False  # run a release at another resolution than it was trained at (recorded)
    progress: bool | None = None

    def validate(self) -> None:
        """One line for every value that cannot work, before any work is done."""
        for name, value in (("--samples-per-label", self.samples_per_label), ("--batch-size", self.batch_size),
                            ("--limit", self.limit), ("--train-steps", self.train_steps)):
            if value is not None:
                require_int(name, value)
        if self.train and self.checkpoint:
            raise BenchError("give either --checkpoint or --train, not both")
        from bench.evaluate import DIVERSITY_PROTOCOLS

        if self.diversity_protocol not in DIVERSITY_PROTOCOLS:
            raise BenchError(f"--diversity-protocol must be one of {', '.join(DIVERSITY_PROTOCOLS)}, "
                             f"got {self.diversity_protocol!r}")
        need = DIVERSITY_PROTOCOLS[self.diversity_protocol][2]
        if need is not None and self.samples_per_label not in (1, need):
            raise BenchError(f"--diversity-protocol {self.diversity_protocol} generates {need} samples per label map; "
                             f"drop --samples-per-label {self.samples_per_label} (or give {need})")
        if self.metrics is not None and not self.metrics:
            raise BenchError("--metrics names no metric")


def train_folder_name(method: str, config: str, dataset: str, seed: int) -> str:
    """The folder ``bench run --train`` trains in, under ``--out``; an adapter finds an earlier stage's run by it
    (``ReferenceGenerator.init_weights_path``)."""
    return f"train-{method}-{config}-{dataset}-seed{seed}"


def _atomic_png(path: Path, array: Any) -> None:
    from bench.fileio import atomic_write_bytes

    atomic_write_bytes(path, _png_bytes(array))


def source_digest(ds: Any, indices: list[int], progress: bool | None) -> str:
    """sha256 over (key, sha256 of each source file) of the evaluated samples: what the data *is*, so another
    copy of a dataset with the same file names (a corrected release, a different --root) gets its own export."""
    from bench.fileio import sha256_file
    from bench.progress import iterate

    h = hashlib.sha256()
    for i in iterate(indices, "hash sources", "file", progress):
        s = ds.samples[i]
        parts = [sha256_file(p) if p is not None else "-" for p in (s.image, s.label, s.instance)]
        h.update(("\0".join([s.key, *parts]) + "\n").encode())
    return h.hexdigest()


EXPORT_FORMAT = 2  # 2: keyed by source content, every exported file's sha256 in export.json


def export_real(ds: Any, n: int, progress: bool | None,
                real_ds: Any = None) -> tuple[Path, Path | None, list[str]]:
    """(real folder, label folder, keys of the first ``n`` conditions): the real images and (for tasks with label
    maps) segmenter-space labels of the first ``n`` samples at the eval resolution; or, when the dataset has a
    separate real set (``real_ds``: an unpaired folder set's partner split), all of that set's images.

    Exported into the cache once per source content and protocol, shared by all methods and concurrent runs
    (atomic files). A cached export is verified file by file against the sha256s of its ``export.json``; a damaged
    or edited file is re-exported from the source (with a warning), never scored."""
    keys = [ds.samples[i].key for i in range(n)]
    if real_ds is not None:
        real_dir, label_dir = _export_images(real_ds, len(real_ds), progress)
    else:
        real_dir, label_dir = _export_images(ds, n, progress)
    return real_dir, label_dir, keys


def _export_images(ds: Any, n: int, progress: bool | None) -> tuple[Path, Path | None]:
    """The export of ``export_real`` for the first ``n`` items of ``ds``."""
    import numpy as np

    from bench.fileio import atomic_write_bytes, sha256_file
    from bench.progress import iterate
    from bench.weights import user_cache_dir

    keys = [ds.samples[i].key for i in range(n)]
    ident = {"format": EXPORT_FORMAT, "dataset": ds.fingerprint(), "n": n,
             "sources": source_digest(ds, list(range(n)), progress)}
    digest = hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
    base = user_cache_dir() / "real" / f"{ds.card.name}-{ds.split}-{digest}"
    with_labels = ds.task.uses_labels
    real_dir, label_dir = base / "images", base / "labels"
    index_file = base / "export.json"
    index: dict[str, dict[str, str]] = {}
    if index_file.is_file():
        try:
            loaded = json.loads(index_file.read_text())
            if loaded.get("identity") == ident and isinstance(loaded.get("files"), dict):
                index = loaded["files"]
        except (OSError, ValueError):
            index = {}  # unreadable index: every file is re-verified by re-export below
    todo, damaged = [], []
    for i, key in enumerate(keys):
        want = index.get(key, {})
        files = {"image": real_dir / f"{key}.png"}
        if with_labels:
            files["label"] = label_dir / f"{key}.png"
        present = all(f.is_file() for f in files.values())
        if present and want and all(sha256_file(f) == want.get(k) for k, f in files.items()):
            continue
        if present and want:
            damaged.append(key)
        todo.append(i)
    if damaged:
        print(f"warning: {len(damaged)} cached real file(s) in {base} differ from their export record "
              f"(first {damaged[0]}); re-exported from the source", file=sys.stderr)
    lut = np.asarray(ds.segmenter_lut)
    for i in iterate(todo, "export real images", "img", progress):
        image, label, _ = ds.arrays(i, cached=False)  # from the source: a cache never feeds the reference side
        _atomic_png(real_dir / f"{keys[i]}.png", np.ascontiguousarray(image))
        index[keys[i]] = {"image": sha256_file(real_dir / f"{keys[i]}.png")}
        if with_labels:
            seg = lut[label]
            dtype = np.uint8 if seg.max() < 256 else np.uint16
            _atomic_png(label_dir / f"{keys[i]}.png", seg.astype(dtype))
            index[keys[i]]["label"] = sha256_file(label_dir / f"{keys[i]}.png")
    if todo or not index_file.is_file():
        atomic_write_bytes(index_file, json_bytes({"identity": ident, "files": {k: index[k] for k in keys}}))
    return real_dir, (label_dir if with_labels else None)


def check_split(ds: Any, limit: int | None, partial: bool) -> bool:
    """True when what is evaluated is not the whole split its manifest freezes; refuse that unless asked.

    FID/KID depend on N and a few files are not the split, so 8 of 500 Cityscapes images must not give a row
    that sits next to rows measured on 500."""
    import re

    m = ds.manifest
    keys = [s.key for s in ds.samples]
    problems = []
    if m.kind == "published-counts":
        pattern = m.raw.get("key_pattern")
        if pattern:
            odd = [k for k in keys if not re.match(pattern, Path(k).name)]
            if odd:
                problems.append(f"{len(odd)} file(s) not named like the split's files (e.g. {odd[0]})")
    else:
        listed = {f["key"] for f in m.files}
        missing, extra = sorted(listed - set(keys)), sorted(set(keys) - listed)
        if missing:
            problems.append(f"{len(missing)} listed file(s) missing (e.g. {missing[0]})")
        if extra:
            problems.append(f"{len(extra)} file(s) not in the manifest (e.g. {extra[0]})")
    complete = len(keys) == m.count and not problems
    n = len(keys) if limit is None else min(limit, len(keys))
    if not complete and limit is None and not partial:
        detail = f" ({'; '.join(problems)})" if problems else ""
        raise BenchError(
            f"{ds.card.name} {ds.split} under {ds.root}: {len(keys)} pair(s) found, its manifest {m.path} lists "
            f"{m.count}{detail}; a partial split is not the benchmark's split: pass --limit N for a quick look or "
            "--partial to evaluate what is there (both are recorded in the protocol and shown on the leaderboard); "
            f"'bench data verify --dataset {ds.card.name} --root {ds.root}' lists what is missing")
    return not (complete and n == m.count)


def run(spec: RunSpec) -> dict[str, Any]:
    """Run one method on one dataset split and return the result record (also written to the results folder)."""
    import numpy as np
    import torch

    from bench import distributed
    from bench.adapter import dataset_info, get_method, sample_seed
    from bench.conformance import check_output, run_checks
    from bench.data import get_dataset
    from bench.evaluate import evaluate_folders
    from bench.fileio import atomic_write_bytes
    from bench.progress import Progress
    from bench.results import MethodInfo, git_commit, make_run_record, record_name, results_dir, write_eval_record
    from bench.schema import check

    t0 = time.perf_counter()
    spec.validate()
    device = distributed.init_from_env(spec.device)  # under torchrun: join the group; CUDA ranks take LOCAL_RANK
    rank, world = distributed.rank_and_world()
    cls = get_method(spec.method)
    name = getattr(cls, "method_name", spec.method)
    _check_task(cls, name, spec)  # from the card, before the data is read (or generated)
    ds = get_dataset(spec.dataset, spec.root, spec.split, spec.resolution)
    task, task_params = ds.task, ds.task_params
    partial = check_split(ds, spec.limit, spec.partial)
    # an unpaired folder set's real side is its partner split (testA -> all of testB), not the evaluated items
    real_ds = getattr(ds, "real_set", None)
    if getattr(ds, "training", False):
        why = (f"its items pair each {ds.split} image with a {real_ds.split} image in turn, for training"
               if real_ds is not None else "its items are translations without a real image, for training")
        raise BenchError(f"{ds.card.name} {ds.split} is a training split ({why}); evaluate a test split: "
                         f"{', '.join(s for s in ds.card.splits if not s.startswith('train'))}")
    if real_ds is not None:
        if getattr(cls, "needs_image", False):
            raise BenchError(f"method '{spec.method}' reads the real image of each condition; {ds.card.name} "
                             f"{ds.split} has none (its real set is {real_ds.split}, unpaired)")
        partial = check_split(real_ds, None, spec.partial) or partial
    native = cls.native_resolution(ds.card.name, spec.config)
    if (native is not None and not spec.train and ds.resolution is not None and tuple(native) != tuple(ds.resolution)
            and not spec.any_resolution):
        raise BenchError(
            f"method '{name}' config '{spec.config or 'default'}' was trained at {native[0]}x{native[1]}; "
            f"{ds.card.name} is evaluated at {ds.resolution[0]}x{ds.resolution[1]} here: pass --resolution "
            f"{native[0]}x{native[1]}, or --any-resolution to run it at this size anyway (recorded)")
    out_dir = results_dir(spec.results) / ds.card.name
    check_writable_dir(out_dir, "results folder")
    info = dataset_info(ds)
    timings: dict[str, float] = {}

    checkpoint = spec.checkpoint
    if spec.train:
        # unpaired folder sets train on the evaluated domain's own train folder (testA -> trainA)
        train_split = getattr(ds, "train_split", "train")
        train_ds = get_dataset(spec.dataset, spec.root, train_split, spec.resolution)
        split_tag = f"-{train_split}" if train_split != "train" else ""
        train_dir = Path(spec.out or "bench-runs") / train_folder_name(spec.method, spec.config or "default",
                                                                        f"{ds.card.name}{split_tag}", spec.seed)
        t = time.perf_counter()
        trainer = _construct(cls, name, info, device, None, spec.config)
        # under torchrun every rank trains (the reference trainer is data-parallel); rank 0 writes the weights
        checkpoint = str(guarded(f"method '{name}' failed in train", lambda: trainer.train(
            train_ds, out_dir=str(train_dir), seed=spec.seed, steps=spec.train_steps)))
        distributed.barrier()
        timings["train_s"] = time.perf_counter() - t
    if not checkpoint:
        checkpoint = cls.default_checkpoint(ds.card.name, spec.config)
    gen = _construct(cls, name, info, device, checkpoint, spec.config)
    prov = gen.provenance()
    # the adapter's own keys first: ours (name, trained, ...) are never overridden by a provenance() of the same name
    method_info = {**{k: v for k, v in prov.items() if k not in ("adapter", "config", "checkpoint", "checkpoint_sha256")},
                   "name": name, "adapter": prov.get("adapter"), "config": spec.config,
                   "checkpoint": prov.get("checkpoint"), "checkpoint_sha256": prov.get("checkpoint_sha256"),
                   "trained": spec.train, "native_resolution": list(native) if native else None,
                   "uses_instances": bool(getattr(gen, "needs_instance", False))}
    if getattr(cls, "leaderboard_note", None):
        method_info["note"] = str(cls.leaderboard_note)
    check(method_info, MethodInfo, f"method '{name}'", "from its adapter's provenance(); see "
          "bench.results.MethodInfo", field="method")  # refused before any work, not after the evaluation

    n = len(ds) if spec.limit is None else min(spec.limit, len(ds))
    n_real = len(real_ds) if real_ds is not None else n  # real images the distribution metrics compare with
    from bench.evaluate import DIVERSITY_PROTOCOLS

    k_samples = DIVERSITY_PROTOCOLS[spec.diversity_protocol][2] or spec.samples_per_label
    identity = {
        "method": name, "adapter": prov.get("adapter"), "config": spec.config,
        "checkpoint_sha256": prov.get("checkpoint_sha256"), "dataset": ds.fingerprint(), "n": n,
        "samples_per_label": k_samples, "seed": spec.seed,
    }
    run_id = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]
    safe_name = name.replace(":", "_").replace("/", "_")
    run_dir = Path(spec.out) if spec.out else Path("bench-runs") / f"{safe_name}-{spec.config or 'default'}-{ds.card.name}-{ds.split}-{run_id}"
    check_writable_dir(run_dir, "run directory")
    # rank 0 holds the lock for the whole job; the other ranks work inside it (torchrun ends them if rank 0 fails)
    lock = DirLock(run_dir, "run directory") if rank == 0 else None
    try:
        if rank == 0:
            _remove_stale_temp_files(run_dir)
            spec_file = run_dir / "run.json"
            previous = _read_json(spec_file, "run description") if spec_file.is_file() else None
            if previous is not None:
                if previous.get("run_id") != run_id:
                    raise BenchError(f"run directory {run_dir} holds another run "
                                     f"({previous.get('identity', {}).get('method')}, run id {previous.get('run_id')}); "
                                     "choose another --out")
            else:
                atomic_write_bytes(spec_file, json_bytes({"run_id": run_id, "identity": identity}))
            real_dir, label_dir, keys = export_real(ds, n, spec.progress, real_ds)  # once, into the shared cache
        distributed.barrier()
        if rank != 0:  # the export is there now: verified from the cache, not written again
            real_dir, label_dir, keys = export_real(ds, n, False, real_ds)
        fake_dir = run_dir / "fake"

        def fake_path(key: str, k: int) -> Path:
            return fake_dir / (f"{key}.png" if k_samples == 1 else f"{key}/{k}.png")

        # The contract that correctness and resume rely on, on the first two label maps, before any work: output
        # shape/dtype/device, same seeds -> same images, other seeds -> other images (multimodal), batch-size
        # independence (a resumed run generates sub-batches).
        with_image = bool(getattr(cls, "needs_image", False))
        first_idx, first_items = next(same_size_batches(ds, range(n), 2))  # native resolution: maybe one item
        first_coll = collate(first_items)
        first = task.adapter_batch(first_coll, task_params, [keys[i] for i in first_idx], with_image=with_image)
        for result in run_checks(gen, first, [sample_seed(spec.seed, keys[i], 0) for i in first_idx], full=False,
                                 size=tuple(first_coll["image"].shape[-2:])):
            if not result.ok:
                raise BenchError(f"method '{name}' fails the adapter contract ({result.name}): {result.message}; "
                                 f"see 'bench check-adapter {spec.method}'")

        # Generation: only label maps with a missing sample are loaded and generated (under torchrun, this rank's
        # contiguous share of them).
        t = time.perf_counter()
        # The share is cut from all conditions, not from the missing ones: ranks look at the folder at different
        # moments (another rank may have written part of its share already), so shares of "what is missing" would
        # not be complementary.
        mine = distributed.shard(range(n), rank, world)
        todo = [i for i in mine if any(not fake_path(keys[i], k).is_file() for k in range(k_samples))]
        missing = sum(not fake_path(keys[i], k).is_file() for i in todo for k in range(k_samples))
        regenerated: set[str] = set()
        bar = Progress(missing, f"generate {name}", "img", spec.progress)
        for idx, items in same_size_batches(ds, todo, spec.batch_size):
            coll = collate(items)
            size = tuple(coll["image"].shape[-2:])  # the dataset's resolution, or this batch's (native)
            batch = task.adapter_batch(coll, task_params, [keys[i] for i in idx], with_image=with_image)
            for k in range(k_samples):
                # only missing samples: a finished PNG is never rewritten (batch-size independence makes the
                # sub-batch give the same images)
                rows = [j for j, i in enumerate(idx) if not fake_path(keys[i], k).is_file()]
                if not rows:
                    continue
                sub = batch if len(rows) == len(idx) else slice_batch(batch, rows)
                seeds = [sample_seed(spec.seed, keys[idx[j]], k) for j in rows]
                with torch.no_grad():
                    out = guarded(f"method '{name}' failed in generate", lambda: gen.generate(sub, seeds=seeds))
                    out = check_output(name, out, len(rows), size)
                arr = out.permute(0, 2, 3, 1).numpy()
                for r, j in enumerate(rows):
                    _atomic_png(fake_path(keys[idx[j]], k), np.ascontiguousarray(arr[r]))
                    regenerated.add(fake_path(keys[idx[j]], k).relative_to(run_dir).as_posix())
                bar.update(len(rows))
        bar.close()
        distributed.barrier()  # every rank's samples are on disk
        timings["generate_s"] = time.perf_counter() - t
        if rank != 0:  # this rank's share of the evaluation, when rank 0 finds it is not done yet
            if distributed.broadcast(None):
                evaluate_folders(real_dir, fake_dir, label_dir,
                                 _eval_options(spec, ds, keys, n, n_real, k_samples, partial, device, None))
            return None

        # The manifest and the evaluation describe the samples on disk now, not those of an earlier invocation
        # (a sample deleted and regenerated on another device, a file dropped into fake/ by hand).
        from bench import images as imio
        from bench.fileio import sha256_file

        expected = {fake_path(keys[i], k).relative_to(fake_dir).as_posix() for i in range(n) for k in range(k_samples)}
        on_disk = imio.scan_folder(fake_dir, role="fake", min_count=1, one_size=ds.resolution is not None)
        strays = sorted(f.rel for f in on_disk if f.rel not in expected)
        if strays:
            raise BenchError(f"{fake_dir}: {len(strays)} file(s) that are not samples of this run (first {strays[0]}); "
                             "remove them, or delete the run folder to start again")
        entries = [{"key": keys[i], "sample": k, "seed": sample_seed(spec.seed, keys[i], k),
                    "file": fake_path(keys[i], k).relative_to(run_dir).as_posix(),
                    "sha256": sha256_file(fake_path(keys[i], k))} for i in range(n) for k in range(k_samples)]
        manifest = {"run_id": run_id, "samples": entries}
        manifest_file = run_dir / "manifest.json"
        old_manifest = _read_json_or_none(manifest_file)
        if old_manifest != manifest:
            samples = old_manifest.get("samples") if isinstance(old_manifest, dict) else None
            listed = {e.get("file"): e.get("sha256") for e in samples or () if isinstance(e, dict)}
            edited = [e["file"] for e in entries
                      if e["file"] not in regenerated and e["file"] in listed and listed[e["file"]] != e["sha256"]]
            if edited:  # not what the method generated: a number computed from it would not be the method's
                raise BenchError(f"{run_dir / edited[0]}: differs from the sample this run generated (sha256 in "
                                 f"{manifest_file}; {len(edited)} file(s) in all); delete it to generate it again")
            if manifest_file.exists():
                print(f"warning: {manifest_file} did not list the samples on disk ({len(regenerated)} regenerated); "
                      "rewritten", file=sys.stderr)
            atomic_write_bytes(manifest_file, json_bytes(manifest))

        # Evaluation, once for these samples.
        t = time.perf_counter()
        eval_file = run_dir / "evaluation.json"
        evaluation = _read_evaluation(eval_file) if eval_file.is_file() else None
        fake_content = imio.content_hash(on_disk)
        if evaluation is not None and evaluation["inputs"]["fake"]["content_sha256"] != fake_content:
            print(f"warning: {eval_file} evaluated other samples than those in {fake_dir}; evaluating again",
                  file=sys.stderr)
            evaluation = None
            (run_dir / "grid.png").unlink(missing_ok=True)
        per_sample_file = run_dir / "per_sample.parquet"
        if evaluation is not None and not per_sample_file.is_file():
            evaluation = None  # a run folder of an older version (every evaluation writes one): evaluated again
        # what was asked of the evaluation (metrics, segmenter, diversity protocol): the samples are the run's, but an
        # evaluation made under other options is not this run's number
        request_file = run_dir / "evaluation.request.json"
        # + what the dataset and its task plan besides the options: its classifier (loader.json can gain one) and the
        # task's metric set (a new bench version can add one)
        request = {**_eval_request(spec), "classifier": _classifier_for(ds), "matcher": _matcher_for(ds),
                   "captions": ds.task.name == "text",
                   "candidates": list(task.metrics) if task.metrics is not None else None}
        if evaluation is not None and _older_request(_read_json_or_none(request_file), ds) != request:
            print(f"note: {eval_file} was made with other evaluation options (--metrics, --segmenter, "
                  "--diversity-protocol, the dataset's classifier or the task's metrics); evaluating again",
                  file=sys.stderr)
            evaluation = None
        distributed.broadcast(evaluation is None)  # the other ranks join the evaluation, or are done
        if evaluation is None:
            per_sample_file.unlink(missing_ok=True)
            evaluation = evaluate_folders(real_dir, fake_dir, label_dir,
                                          _eval_options(spec, ds, keys, n, n_real, k_samples, partial, device,
                                                        per_sample_file))
            write_eval_record(eval_file, evaluation)
            atomic_write_bytes(request_file, json_bytes(request))
        timings["evaluate_s"] = time.perf_counter() - t

        grid_png = run_dir / "grid.png"
        if not grid_png.is_file():
            _atomic_png(grid_png, make_grid(ds, keys, fake_path, k_samples, task_params))
        timings["total_s"] = time.perf_counter() - t0

        record = make_run_record(
            evaluation, run_id=run_id, method=method_info,
            dataset={"card": ds.card.id, "card_sha256": ds.card.sha256, "manifest_sha256": ds.manifest.sha256,
                     "split": ds.split, "task": task.name, "task_params": task_params, "n": n, "partial": partial,
                     "resolution": list(ds.resolution) if ds.resolution is not None else "native",
                     "image_resize": ds.card.image_resize, "layout": ds.layout,
                     "has_instances": ds.has_instances,
                     **({"real_split": {"split": real_ds.split, "manifest_sha256": real_ds.manifest.sha256,
                                        "n": n_real}} if real_ds is not None else {})},
            seeds={"run": spec.seed, "samples_per_label": k_samples}, git_commit=git_commit(),
            device=str(device), timings=timings, n_real=n_real, n_fake=n * k_samples)
        rec_path = out_dir / record_name(record)
        extra: dict[str, bytes] = {}
        if per_sample_file.is_file():
            record["per_sample"] = rec_path.with_suffix(".samples.parquet").name
            extra[record["per_sample"]] = per_sample_file.read_bytes()
            worst = worst_samples(per_sample_file)
            if worst is not None:
                png = rec_path.with_suffix(".worst.png").name
                record["worst"] = {"image": png, **worst}
                extra[png] = _png_bytes(make_grid(ds, keys, fake_path, k_samples, task_params,
                                                  conditions=worst["conditions"], worst_of=worst["samples"]))
                del record["worst"]["samples"]
        from bench.results import ResultRecord

        check(record, ResultRecord, f"bench run's result record {rec_path} (not written)")  # with the keys added
        write_record(rec_path, record, grid_png.read_bytes(), extra)
        record["_path"] = str(rec_path)
        return record
    finally:
        if lock is not None:
            lock.release()


def _eval_options(spec: RunSpec, ds: Any, keys: list[str], n: int, n_real: int, k_samples: int, partial: bool,
                  device: str, per_sample: Path | None) -> Any:
    """The evaluation's options and protocol fields (every rank of a distributed run builds the same)."""
    from bench.evaluate import DIVERSITY_PROTOCOLS, EvalOptions

    task, task_params = ds.task, ds.task_params
    pairing, pairs, _ = DIVERSITY_PROTOCOLS[spec.diversity_protocol]
    segmenter = (spec.segmenter or default_segmenter(ds)) if task.uses_labels else None
    task_fields = {"task": Protocol.freeze(task.protocol(task_params))} if task.protocol(task_params) else {}
    classes, classifier = None, _classifier_for(ds)
    if task.class_of:  # class-conditional: the class each sample was generated for
        classes = {keys[i]: task.class_of(ds[i]) for i in range(n)}
    elif classifier:  # a translation's target domain
        classes = {keys[i]: ds.target_class(i) for i in range(n)}
    matcher = _matcher_for(ds)
    captions = None
    if task.name == "text":  # r_precision and clip_score read each condition's caption
        caption_of = getattr(ds, "eval_caption", None) or (lambda i: ds[i]["caption"])  # the first needs no image
        captions = {keys[i]: caption_of(i) for i in range(n)}
    return EvalOptions(
        metrics=spec.metrics, candidates=task.metrics, device=device, segmenter=segmenter,
        classes=classes, classifier=classifier, captions=captions, matcher=matcher,
        # the protocol's subset size: 1000, or N for smaller splits (recorded, no clamping warning)
        kid_subset_size=min(1000, n, n_real), diversity_pairing=pairing, diversity_pairs=pairs,
        num_classes=ds.segmenter_num_classes if segmenter else None, ignore_index=ds.ignore_index,
        progress=spec.progress, per_sample_path=per_sample, mixed_sizes=ds.resolution is None,
        conditions_by_folder=k_samples > 1 and getattr(ds, "real_set", None) is not None,
        protocol_fields={"dataset": ds.card.id, "split": ds.split, "image_resize": ds.card.image_resize,
                         "label_resize": "nearest", "n_conditions": n, "samples_per_condition": k_samples,
                         "n_real": n_real, "partial": partial, "has_instances": ds.has_instances,
                         "label_encoding": label_encoding(ds), **task_fields},
    )


def _classifier_for(ds: Any) -> str | None:
    """The fixed classifier that scores ``class_acc`` on this dataset (``loader.json`` ``default_classifier``): for
    class datasets, and for translation sets whose items have a target class (``target_class``); else None."""
    if ds.task.class_of or hasattr(ds, "target_class"):
        return default_classifier(ds.card.name)
    return None


def _matcher_for(ds: Any) -> str | None:
    """The fixed image-text matcher that scores ``r_precision`` on a text dataset (``loader.json``
    ``default_matcher``); None for other tasks."""
    from bench.data import default_matcher

    return default_matcher(ds.card.name) if ds.task.name == "text" else None


def _check_task(cls: Any, name: str, spec: RunSpec) -> None:
    """One line when the method does not generate for the dataset's task, or an option does not apply to it."""
    from bench.data import DATASETS, load_card
    from bench.tasks import get_task

    DATASETS.get(spec.dataset)  # unknown names raise with a did-you-mean
    card = load_card(spec.dataset)
    task = get_task(card.task).refined(card.task_params)
    method_tasks = tuple(getattr(cls, "tasks", ("semantic",)))
    if not task.accepts(method_tasks):
        raise BenchError(f"method '{name}' generates for task {', '.join(method_tasks)}; {card.name} is a "
                         f"{task.name} dataset (its baseline: --method {task.baseline}; 'bench ls --tasks' lists "
                         "each task's batch)")
    if spec.segmenter and not task.uses_labels:
        raise BenchError(f"--segmenter: {card.name} is a {task.name} dataset, it has no label maps to score a "
                         "segmentation against")


def _construct(cls: Any, name: str, info: Any, device: str, checkpoint: str | None, config: str | None) -> Any:
    """Build the adapter; its own failures are one line naming the method (ours are BenchErrors already)."""
    return guarded(f"method '{name}' failed to initialise",
                   lambda: cls(info, device=device, checkpoint=checkpoint, config=config))


def label_encoding(ds: Any) -> str:
    """How label maps reach us: index PNGs, or colours decoded from pix2pix A|B JPEGs (which changes inputs)."""
    return "colour-jpeg-ab" if ds.card.layout(ds.layout).combined == "image-left-label-right" else "index-png"


def _read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise BenchError(f"{path}: unreadable {what} ({exc}); delete it (or the run folder) to start the run "
                         "again") from exc
    if not isinstance(obj, dict):
        raise BenchError(f"{path}: {what} is not a JSON object; delete it (or the run folder) to start again")
    return obj


def _eval_request(spec: RunSpec) -> dict[str, Any]:
    """The options of a run that change its evaluation but not its samples (``evaluation.request.json``)."""
    metrics = list(spec.metrics) if spec.metrics is not None else None  # as JSON reads it back
    return {"metrics": metrics, "segmenter": spec.segmenter, "diversity_protocol": spec.diversity_protocol}


def _older_request(old: Any, ds: Any) -> Any:
    """A request file of an older version, completed with what that version asked implicitly (no re-evaluation of
    every old run folder): the classifier of class datasets only; the task's metric set of today (not recorded)."""
    if not isinstance(old, dict):
        return old
    old = dict(old)
    if "classifier" not in old:
        old["classifier"] = default_classifier(ds.card.name) if ds.task.class_of else None
    if "matcher" not in old:
        old["matcher"] = None  # text datasets came with it
    if "captions" not in old:  # text runs evaluated before every one was given captions are evaluated again
        old["captions"] = False
    if "candidates" not in old:
        old["candidates"] = list(ds.task.metrics) if ds.task.metrics is not None else None
    return old


def _read_json_or_none(path: Path) -> Any:
    """The JSON in ``path``, or None when it is absent or unreadable (a file we rewrite anyway)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _read_evaluation(path: Path) -> dict[str, Any] | None:
    """A finished evaluation, or None (with a warning) when the file is damaged or not a valid evaluation record
    (bench.results.EvalRecord): it is then redone."""
    from bench.results import eval_record_problem

    obj = _read_json_or_none(path)
    why = "not readable JSON" if obj is None else eval_record_problem(obj)
    if why is None:
        return obj
    print(f"warning: {path} is damaged; evaluating again ({why})", file=sys.stderr)
    return None


def write_record(rec_path: Path, record: dict[str, Any], grid: bytes, extra: dict[str, bytes] | None = None) -> None:
    """Write the record, its grid and its ``extra`` files (name next to the record -> bytes) under a lock on the
    results folder: two runs with one record name (the same run in two --out folders) take turns, and the
    stale-temp cleanup never sees another writer's temp file. The record is written last: a record on disk always
    has its files."""
    from bench.fileio import atomic_write_bytes
    from bench.locks import folder_lock

    with folder_lock(rec_path.parent):
        for stale in rec_path.parent.glob(f".{rec_path.stem}.*.tmp"):  # left by a killed writer of this record
            stale.unlink(missing_ok=True)
        atomic_write_bytes(rec_path.with_suffix(".png"), grid)
        for name, data in (extra or {}).items():
            atomic_write_bytes(rec_path.parent / name, data)
        atomic_write_bytes(rec_path, json_bytes(record))


def _remove_stale_temp_files(run_dir: Path) -> None:
    """Temp files of atomic writes interrupted by a kill (we hold the run's lock, so none is in flight)."""
    for tmp in run_dir.rglob(".*.tmp"):
        tmp.unlink()


def default_segmenter(ds: Any) -> str | None:
    """The segmenter the dataset's protocol names, when it is available on this machine (else mIoU is reported
    unavailable)."""
    from bench.data import default_segmenter as default_for

    return default_for(ds.card.name)


def same_size_batches(ds: Any, indices: Any, batch_size: int):
    """(indices, items) batches of at most ``batch_size`` consecutive items, cut where the image size changes (a
    dataset at native resolution keeps each image's size; a batch must stack). Every item is loaded once."""
    idx: list[int] = []
    items: list[dict[str, Any]] = []
    for i in indices:
        item = ds[i]
        if items and (len(items) >= batch_size or item["image"].shape != items[0]["image"].shape):
            yield idx, items
            idx, items = [], []
        idx.append(i)
        items.append(item)
    if items:
        yield idx, items


def make_grid(ds: Any, keys: list[str], fake_path: Any, k_samples: int, task_params: dict[str, Any],
              rows: int = 4, conditions: list[str] | None = None, worst_of: list[int] | None = None) -> Any:
    """condition (the task's picture of it: the label map in the card palette, the upsampled low-res input, the
    image with its hole) | generated samples | real photo, for the first ``rows`` conditions; or, for the worst
    samples, for ``conditions`` with only sample ``worst_of[j]`` of each."""
    import numpy as np
    from PIL import Image

    from bench.tasks.common import hwc

    position = {k: i for i, k in enumerate(keys)}
    chosen = [position[c] for c in conditions] if conditions is not None else list(range(min(rows, len(keys))))
    lines = []
    for j, i in enumerate(chosen):
        batch = collate([ds[i]])
        condition = ds.task.show(batch, 0, task_params, ds.palette, [keys[i]])
        which = [worst_of[j]] if worst_of is not None else range(min(k_samples, 4))
        samples = [np.asarray(Image.open(fake_path(keys[i], k)).convert("RGB")) for k in which]
        real = [] if getattr(ds, "real_set", None) is not None else [hwc(batch["image"][0])]  # unpaired: none
        lines.append(np.concatenate([condition, *samples, *real], axis=1))
    width = max(line.shape[1] for line in lines)  # native resolution: lines of several widths, padded with black
    return np.concatenate([np.pad(line, ((0, 0), (0, width - line.shape[1]), (0, 0))) for line in lines], axis=0)


WORST_BY = (("lpips", False), ("psnr", True), ("ssim", True), ("iou", True))  # the first per-sample column present
WORST_ROWS = 4


def worst_samples(per_sample: Path) -> dict[str, Any] | None:
    """The conditions whose worst sample scores worst on the first per-sample metric of WORST_BY (ties: by key),
    with that sample's index; None when the table has none of those columns or only NaNs."""
    import polars as pl

    frame = pl.read_parquet(per_sample)
    for metric, higher in WORST_BY:
        if metric not in frame.columns:
            continue
        valid = frame.filter(pl.col(metric).is_not_nan() & pl.col(metric).is_not_null())
        if not valid.height:
            continue
        # the worst sample of each condition, then the worst conditions
        ranked = valid.sort([metric, "condition", "sample"], descending=[not higher, False, False])
        per_condition = ranked.unique("condition", keep="first", maintain_order=True).head(WORST_ROWS)
        return {"metric": metric, "higher_is_better": higher,
                "conditions": per_condition["condition"].to_list(), "samples": per_condition["sample"].to_list()}
    return None


def _png_bytes(array: Any) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()
