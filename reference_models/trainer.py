"""The shared trainer behind ``bench train`` and ``bench run --train``.

Layout of ``out_dir``::

    generator.pth                     inference checkpoint: the generator's plain state dict (+ ``_meta.*`` tensors);
                                      rewritten at every checkpoint, so an interrupted run still has one
    checkpoints/step-00000300.pth     every network (G., D., E.) as one plain state dict of tensors
    checkpoints/step-00000300.state.pth  step, optimiser and AMP-scaler states (loads with weights_only=True)
    checkpoints/latest.json           which checkpoint is complete and newest (written last)
    samples/step-00000300.png         label colours | generated | real, for a fixed set of training maps
    train.json                        the run record: config, seed, steps, losses, speed, VGG loss status

Every file is written atomically (temp file + rename). Exact resume: the data order and every random draw of a
step are functions of (seed, step) only -- the epoch permutation is seeded by (seed, epoch), the global RNG is
re-seeded by (seed, step, rank) before each step -- so a run resumed from step k reproduces an uninterrupted one
bit for bit on the same machine (CPU; CUDA kernels may be non-deterministic).

Multi-GPU: under ``torchrun`` (``WORLD_SIZE`` > 1) the process group is initialised (NCCL on CUDA, gloo on CPU),
every rank takes its share of each global batch and gradients are averaged over ranks after every backward
(``StepContext.step``); BatchNorm becomes SyncBatchNorm on CUDA (CPU ranks keep per-rank statistics); rank 0 writes
files. On CUDA, AMP (float16 autocast + one GradScaler per optimiser) and
channels-last are on unless the config turns them off.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from bench.adapter import derive_seed
from bench.errors import BenchError
from reference_models.common import atomic_save, atomic_write_text


class StepContext:
    """What a method's ``train_step`` uses: autocast, and optimiser steps with AMP and cross-rank gradient averaging.

    Why not DistributedDataParallel: a GAN step runs D several times per backward (fake and real, as the authors'
    code does) and runs D frozen inside G's loss; DDP's reducer allows neither (each parameter may be marked ready
    once per backward, and every forward must be followed by a backward that reaches all parameters). Averaging
    the gradients of the optimiser's parameters in one flattened all-reduce after each backward is exact for any
    such graph (the authors trained with single-process DataParallel).
    """

    def __init__(self, device: torch.device, amp: bool, scalers: dict[str, Any], world: int = 1):
        self.device, self.amp, self.scalers, self.world = device, amp, scalers, world
        self.global_step = 0  # the trainer's step (0-based) of the current train_step call
        self.steps_per_epoch = 1  # optimisation steps per pass over the training set (for epoch-based recipes)

    def autocast(self) -> Any:
        if self.amp:
            return torch.autocast(device_type="cuda", dtype=torch.float16)
        return contextlib.nullcontext()

    def step(self, opt: torch.optim.Optimizer, loss: torch.Tensor, name: str) -> None:
        opt.zero_grad(set_to_none=True)
        scaler = self.scalers.get(name)
        (scaler.scale(loss) if scaler is not None else loss).backward()
        if self.world > 1:
            self._average_gradients(opt)
        if scaler is not None:
            scaler.step(opt)
            scaler.update()
        else:
            opt.step()

    def _average_gradients(self, opt: torch.optim.Optimizer) -> None:
        import torch.distributed as tdist

        # every rank runs the same graph, so the same parameters have gradients on every rank
        params = [p for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not params:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in params])
        tdist.all_reduce(flat)
        flat /= self.world
        offset = 0
        for p in params:
            n = p.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n


def _dist_env() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    return world, rank, local


def batch_indices(n: int, batch_size: int, seed: int, step: int) -> list[int]:
    """Indices of the global batch of ``step``: epoch permutations seeded by (seed, epoch), last partial dropped."""
    per_epoch = max(1, n // batch_size)
    epoch, pos = divmod(step, per_epoch)
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(derive_seed(seed, epoch, 7)))
    if n < batch_size:
        perm = perm.repeat(math.ceil(batch_size / n))
    return perm[pos * batch_size:(pos + 1) * batch_size].tolist()


def lr_factor(step: int, total: int, decay_from: float) -> float:
    start = int(total * decay_from)
    if step < start or total <= start:
        return 1.0
    return max(0.0, (total - step) / (total - start))


def _collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    out = {
        "label": torch.stack([it["label"] for it in items]),
        "instance": torch.stack([it["instance"] for it in items]),
        "image": torch.stack([it["image"] for it in items]),
        "path": [it.get("path", "") for it in items],
    }
    for key in items[0]:  # a task's own tensors (``source`` of translation sets)
        if key not in out and isinstance(items[0][key], torch.Tensor):
            out[key] = torch.stack([it[key] for it in items])
    return out


def crop_boxes(n: int, size: tuple[int, int], crop: tuple[int, int], seed: int) -> list[tuple[int, int]]:
    """(top, left) of ``n`` random ``crop`` windows in an image of ``size``: one per sample, from ``seed`` only."""
    g = torch.Generator().manual_seed(seed)
    ys = torch.randint(0, size[0] - crop[0] + 1, (n,), generator=g).tolist()
    xs = torch.randint(0, size[1] - crop[1] + 1, (n,), generator=g).tolist()
    return list(zip(ys, xs))


def _crop(batch: dict[str, Any], boxes: list[tuple[int, int]], crop: tuple[int, int]) -> dict[str, Any]:
    """Each sample's label, instance map and image cut to its window (the same window for all three)."""
    out = dict(batch)
    h, w = crop
    for k in ("label", "instance", "image", "source"):
        if k in batch:
            out[k] = torch.stack([t[:, y:y + h, x:x + w] for t, (y, x) in zip(batch[k], boxes)])
    return out


def crop_training_set(dataset: Any, cfg: Any) -> tuple[Any, tuple[int, int] | None]:
    """pix2pix's / SPADE's ``resize_and_crop`` augmentation: with a config's ``load_size`` set, the training set is
    reloaded at ``resolution * load_size / crop_size`` (286 / 256 in the papers) and every step cuts random windows
    of the original resolution out of it. Returns (the training set, the crop size), or (dataset, None) when off."""
    load = getattr(cfg, "load_size", None)
    if not load:
        return dataset, None
    crop_size = int(cfg.crop_size)
    res = getattr(dataset, "resolution", None)
    if res is None or not hasattr(dataset, "at_resolution"):
        raise BenchError(f"config key load_size={load} (random-crop augmentation) needs a training set at a fixed "
                         f"resolution that can be reloaded larger; {dataset!r} is not one")
    if int(load) < crop_size:
        raise BenchError(f"config key load_size ({load}) must be at least crop_size ({crop_size})")
    big = (round(res[0] * int(load) / crop_size), round(res[1] * int(load) / crop_size))
    return dataset.at_resolution(big), (int(res[0]), int(res[1]))


def _flip(batch: dict[str, Any], mask: torch.Tensor) -> dict[str, Any]:
    out = dict(batch)
    for k in ("label", "instance", "image", "source"):
        if k not in batch:
            continue
        t = batch[k].clone()
        t[mask] = t[mask].flip(-1)
        out[k] = t
    return out


class Trainer:
    def __init__(self, adapter: Any, dataset: Any, *, out_dir: str | os.PathLike[str], seed: int = 0,
                 steps: int | None = None, progress: bool | None = None, stop_after: int | None = None) -> None:
        self.adapter = adapter
        self.model = adapter.model
        self.cfg = adapter.cfg
        self.dataset = dataset
        self.out = Path(out_dir)
        self.seed = int(seed)
        self.device = adapter.device
        n = len(dataset)
        if n == 0:
            raise BenchError("cannot train on an empty dataset")
        self.n = n
        # the random-crop augmentation (config ``load_size``): the set reloaded larger, cut back to this size
        self.train_set, self.crop = crop_training_set(dataset, self.cfg)
        self.world, self.rank, self.local_rank = _dist_env()
        bs = int(self.cfg.batch_size)
        self.batch_size = bs
        if steps is not None:
            self.total = int(steps)
        elif self.cfg.steps is not None:
            self.total = int(self.cfg.steps)
        else:
            self.total = int(self.cfg.epochs) * max(1, n // bs)
        if self.total <= 0:
            raise BenchError(f"training steps must be positive (got {self.total})")
        self.stop_after = stop_after  # testing hook: stop (as if interrupted) after this many steps
        # None: a bar on a terminal, else one plain line per checkpoint (logs of batch jobs); False: silent
        self.progress = sys.stderr.isatty() if progress is None else progress
        self.log_lines = progress is None and not self.progress
        self.ckpt_dir = self.out / "checkpoints"
        self.on_cuda = self.device.type == "cuda"
        self.amp = bool(self.cfg.amp and self.on_cuda)

    # ------------------------------------------------------------------ files
    def _record_path(self) -> Path:
        return self.out / "train.json"

    def _identity(self) -> dict[str, Any]:
        split = getattr(self.dataset, "split", "train")
        return {"method": self.adapter.method_key, "config": str(self.adapter.config), "seed": self.seed,
                "dataset": getattr(self.adapter.info, "name", ""), "num_classes": self.adapter.info.num_classes,
                "resolution": list(self.adapter.info.resolution),
                # unpaired folder sets train per direction (trainA or trainB); "train" keeps older records' identity
                **({"split": split} if split != "train" else {})}

    def _check_resume(self) -> dict[str, Any] | None:
        latest = self.ckpt_dir / "latest.json"
        rec_path = self._record_path()
        if rec_path.is_file():
            rec = json.loads(rec_path.read_text())
            ident = self._identity()
            diff = [k for k in ident if rec.get("identity", {}).get(k) != ident[k]]
            if diff:
                k = diff[0]
                raise BenchError(f"{self.out} holds a training run with {k}={rec.get('identity', {}).get(k)!r}, "
                                 f"this one has {k}={ident[k]!r}; use another output folder")
        if not latest.is_file():
            return None
        return json.loads(latest.read_text())

    def _save(self, step: int, opts: dict[str, torch.optim.Optimizer], scalers: dict[str, Any]) -> None:
        if self.rank != 0:
            return
        name = f"step-{step:08d}"
        nets = {k: v.detach().cpu().clone() for k, v in self.model.state_dict().items()}
        state = {"step": step, "seed": self.seed, "method": self.adapter.method_key,
                 "optim": {k: o.state_dict() for k, o in opts.items()},
                 "scaler": {k: s.state_dict() for k, s in scalers.items()}}
        atomic_save(nets, self.ckpt_dir / f"{name}.pth")
        atomic_save(state, self.ckpt_dir / f"{name}.state.pth")
        atomic_save(self.adapter.generator_state(), self.out / "generator.pth")
        atomic_write_text(self.ckpt_dir / "latest.json",
                          json.dumps({"step": step, "nets": f"{name}.pth", "state": f"{name}.state.pth"}))
        keep = max(1, int(self.cfg.keep_last))
        olds = sorted(p for p in self.ckpt_dir.glob("step-*.pth") if not p.name.endswith(".state.pth"))
        for p in olds[:-keep]:
            p.unlink(missing_ok=True)
            (p.parent / p.name.replace(".pth", ".state.pth")).unlink(missing_ok=True)

    def _load(self, latest: dict[str, Any], opts: dict[str, torch.optim.Optimizer], scalers: dict[str, Any]) -> int:
        from bench.adapter import load_state_dict

        nets = load_state_dict(self.ckpt_dir / latest["nets"], expect=self.adapter.method_key)
        try:
            self.model.load_state_dict(nets, strict=True)
        except RuntimeError as exc:
            raise BenchError(f"cannot resume from {self.ckpt_dir / latest['nets']}: "
                             f"{str(exc).splitlines()[0]}") from exc
        state = torch.load(self.ckpt_dir / latest["state"], map_location="cpu", weights_only=True)
        for k, o in opts.items():
            o.load_state_dict(state["optim"][k])
        for k, s in scalers.items():
            if k in state.get("scaler", {}):
                s.load_state_dict(state["scaler"][k])
        return int(state["step"])

    def _sample_grid(self, step: int) -> None:
        if self.rank != 0 or not self.cfg.sample_every:
            return
        import numpy as np
        from PIL import Image

        items = [self.dataset[i] for i in range(min(8, self.n))]
        batch = _collate(items)
        fake = self.adapter.generate(batch, seeds=list(range(len(items))))
        palette = list(self.adapter.info.palette) or [(i * 37 % 256, i * 91 % 256, i * 53 % 256) for i in range(256)]
        table = np.zeros((256, 3), np.uint8)
        for i, rgb in enumerate(palette[:256]):
            table[i] = rgb
        lab = table[batch["label"][:, 0].clamp(0, 255).numpy()]
        rows = [np.concatenate([lab[i], fake[i].permute(1, 2, 0).numpy(), batch["image"][i].permute(1, 2, 0).numpy()], 1)
                for i in range(len(items))]
        path = self.out / "samples" / f"step-{step:08d}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("." + path.name + ".tmp.png")
        Image.fromarray(np.concatenate(rows, 0)).save(tmp)
        os.replace(tmp, path)

    # ------------------------------------------------------------------ the loop
    def run(self) -> str:
        """Train to the step budget (resuming from the newest checkpoint); returns the generator's path. Rank 0
        holds a lock on the training folder, so two trainings never write one folder."""
        if self.rank != 0:
            return self._run()
        from bench.locks import DirLock

        with DirLock(self.out, "training folder"):
            return self._run()

    def _run(self) -> str:
        model, cfg = self.model, self.cfg
        dist = self.world > 1
        if dist:
            import torch.distributed as tdist

            if not tdist.is_initialized():
                tdist.init_process_group("nccl" if self.on_cuda else "gloo")
            if self.on_cuda:
                self.device = torch.device("cuda", self.local_rank)
                torch.cuda.set_device(self.device)
                self.adapter.device = self.device
                for name in ("G", "D", "E"):  # SyncBatchNorm runs on GPUs only
                    if hasattr(model, name):
                        setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(getattr(model, name)))
        model.to(self.device)
        if self.on_cuda and cfg.channels_last:
            model.to(memory_format=torch.channels_last)
        opts = model.optimizers()
        scalers = {k: torch.amp.GradScaler("cuda") for k in opts} if self.amp else {}
        ctx = StepContext(self.device, self.amp, scalers, self.world)
        ctx.steps_per_epoch = max(1, self.n // self.batch_size)

        latest = self._check_resume()
        if latest:
            start = self._load(latest, opts, scalers)
        else:
            self.adapter.reinitialize(self.seed)
            start = 0
        if dist:  # ranks start from rank 0's weights (equal anyway: same seed or the same checkpoint)
            for t in model.state_dict().values():
                tdist.broadcast(t, 0)
        base_lr = {"G": [cfg.lr_g] * len(opts["G"].param_groups), "D": [cfg.lr_d] * len(opts["D"].param_groups)}
        rec_path = self._record_path()
        record = json.loads(rec_path.read_text()) if (latest and rec_path.is_file()) else {}
        history: list[dict[str, Any]] = [h for h in record.get("history", []) if h.get("step", 0) <= start]
        self.out.mkdir(parents=True, exist_ok=True)
        vgg_status = getattr(model, "vgg_status", lambda: "not used")
        t0 = time.perf_counter()
        images = 0
        end = self.total if self.stop_after is None else min(self.total, start + self.stop_after)
        bar = None
        if self.progress and self.rank == 0:
            from tqdm.auto import tqdm

            bar = tqdm(total=self.total, initial=start, desc=f"train {self.adapter.method_key}/{self.adapter.config}",
                       unit="step", dynamic_ncols=True)
        losses: dict[str, float] = {}
        step = start
        model.train()
        schedule = getattr(model, "schedule", None)  # a model's own lr (and momentum) schedule, if it has one
        for step in range(start, end):
            if schedule is not None:
                schedule(step, self.total, opts, base_lr)
            else:
                factor = lr_factor(step, self.total, float(cfg.decay_from))
                for k, o in opts.items():
                    for g, lr in zip(o.param_groups, base_lr[k]):
                        g["lr"] = lr * factor
            idx = batch_indices(self.n, self.batch_size * (self.world if dist else 1), self.seed, step)
            if dist:
                idx = idx[self.rank::self.world]
            batch = _collate([self.train_set[i] for i in idx])
            if self.crop is not None:  # resize_and_crop: crop, then flip, as the authors' transforms
                size = tuple(batch["image"].shape[-2:])
                batch = _crop(batch, crop_boxes(len(idx), size, self.crop, derive_seed(self.seed, step, 13)),
                              self.crop)
            if cfg.flip:
                g = torch.Generator().manual_seed(derive_seed(self.seed, step, 11))
                mask = torch.rand(len(idx), generator=g) < 0.5
                batch = _flip(batch, mask)
            batch = {k: (v.to(self.device, non_blocking=True) if isinstance(v, torch.Tensor) else v)
                     for k, v in batch.items()}
            torch.manual_seed(derive_seed(self.seed, step, self.rank))
            ctx.global_step = step  # e.g. for a generator update after every n_critic-th discriminator update
            losses = model.train_step(batch, opts, ctx)
            images += len(idx) * (self.world if dist else 1)
            done = step + 1
            if bar is not None:
                bar.update(1)
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
            if done % max(1, int(cfg.log_every)) == 0 or done == self.total:
                history.append({"step": done, **{k: round(v, 5) for k, v in losses.items()}})
            if done % max(1, int(cfg.save_every)) == 0 or done == self.total:
                self._save(done, opts, scalers)
                if self.log_lines and self.rank == 0:
                    rate = images / max(time.perf_counter() - t0, 1e-9)
                    print(f"train {self.adapter.method_key}/{self.adapter.config}: step {done}/{self.total}, "
                          f"{rate:.1f} img/s, " + ", ".join(f"{k} {v:.3f}" for k, v in losses.items()),
                          file=sys.stderr, flush=True)
            if cfg.sample_every and (done % int(cfg.sample_every) == 0 or done == self.total):
                self._sample_grid(done)
                model.train()
        if bar is not None:
            bar.close()
        elapsed = time.perf_counter() - t0
        reached = end
        if reached > start and reached % max(1, int(cfg.save_every)) and reached != self.total:
            self._save(reached, opts, scalers)  # an early stop still leaves a resumable checkpoint
        gen = self.out / "generator.pth"
        # a run that trained nothing (already complete) keeps its record: its speed, losses and VGG status
        if self.rank == 0 and (reached > start or not record):
            from bench.fileio import sha256_file

            prev_time = float(record.get("train_seconds", 0.0))
            record = {
                "identity": self._identity(),
                "config": self.cfg.to_dict(),
                "steps_total": self.total,
                "step": reached,
                "complete": reached >= self.total,
                "batch_size": self.batch_size,
                "world_size": self.world,
                "device": str(self.device),
                # the CPU kernels torch dispatched to (e.g. AVX2, AVX512): float sums differ between them, and GAN
                # training amplifies that, so weights are bit-reproducible only on the same capability
                "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                "amp": self.amp,
                "vgg_loss": vgg_status(),
                # models with a CLIP term (pix2pix-seg-clip): whether it ran, as vgg_loss says for VGG
                **({"clip_loss": model.clip_status()} if hasattr(model, "clip_status") else {}),
                # models with a segmenter-based similarity term (ECGAN): whether it ran
                **({"similarity_loss": model.similarity_status()} if hasattr(model, "similarity_status") else {}),
                "train_seconds": round(prev_time + elapsed, 3),
                "images_per_second": round(images / elapsed, 2) if elapsed > 0 and images else None,
                "last_losses": {k: round(v, 5) for k, v in losses.items()},
                "history": history,
                "generator": str(gen),
                "generator_sha256": sha256_file(gen) if gen.is_file() else None,
                "torch": torch.__version__,
            }
            atomic_write_text(rec_path, json.dumps(record, indent=1))
        model.eval()
        return str(gen)
