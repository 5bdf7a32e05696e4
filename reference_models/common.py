"""Pieces every reference model shares: label encoding, seeding, strict checkpoint loading, and the
``ReferenceGenerator`` adapter base class that the three methods subclass.

Conventions (the same as NVlabs/SPADE and NVIDIA/pix2pixHD):
  * the generator input is a one-hot map of ``num_classes`` channels, plus one "don't care" channel when the
    dataset has an ignore index (config ``dontcare``; ids outside 0..num_classes-1 go there, SPADE's
    ``contain_dontcare_label``), plus one instance-boundary channel (``bench.labels.instance_edges``) when enabled;
  * images are float in [-1, 1]; ``bench.adapter.to_uint8`` turns them into uint8;
  * a generator checkpoint is a plain state dict of tensors, with a few ``_meta.*`` entries (uint8 / int64
    tensors) naming the method, config and label channels so that a mismatch is reported in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import torch
import torch.nn as nn

from bench.adapter import DatasetInfo, Generator, derive_seed, to_uint8
from bench.checkpoints import load_state_dict, strict_load
from bench.errors import BenchError
from bench.labels import instance_edges

META_PREFIX = "_meta."


# ----------------------------------------------------------------------------- label / instance encoding

def one_hot(label: torch.Tensor, num_classes: int, dontcare: bool) -> torch.Tensor:
    """int [B,1,H,W] -> float [B, num_classes (+1), H, W]. Ids outside 0..num_classes-1 (the ignore index) go to
    the extra "don't care" channel when ``dontcare``, else to an all-zero vector."""
    lab = label.long()
    valid = (lab >= 0) & (lab < num_classes)
    n = num_classes + int(dontcare)
    idx = torch.where(valid, lab, torch.full_like(lab, num_classes if dontcare else 0))
    out = torch.zeros((lab.shape[0], n, *lab.shape[2:]), dtype=torch.float32, device=lab.device)
    out.scatter_(1, idx, 1.0)
    if not dontcare:
        out = out * valid.to(out.dtype)
    return out


def palette_image(label: torch.Tensor, palette: Sequence[Sequence[int]], num_classes: int) -> torch.Tensor:
    """The label map painted with the card's colours, in [-1, 1] (pix2pix's original 3-channel input)."""
    table = torch.zeros((max(num_classes, 1) + 1, 3), dtype=torch.float32)
    for i, rgb in enumerate(list(palette)[:num_classes]):
        table[i] = torch.tensor([float(c) for c in rgb])
    lab = label[:, 0].long()
    lab = torch.where((lab >= 0) & (lab < num_classes), lab, torch.full_like(lab, num_classes))
    img = table.to(lab.device)[lab].permute(0, 3, 1, 2)
    return img / 127.5 - 1.0


def image_to_float(image: torch.Tensor) -> torch.Tensor:
    """uint8 [B,3,H,W] -> float [-1, 1]."""
    return image.float() / 127.5 - 1.0


# ----------------------------------------------------------------------------- seeding

@contextlib.contextmanager
def seeded(seed: int, device: torch.device | None = None) -> Iterator[None]:
    """Run a block with the global torch RNG (CPU and the current CUDA device) seeded, restoring it afterwards."""
    devices = []
    if device is not None and device.type == "cuda":
        devices = [device.index if device.index is not None else torch.cuda.current_device()]
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


# ----------------------------------------------------------------------------- checkpoints

def atomic_save(obj: Any, path: str | os.PathLike[str]) -> str:
    """``torch.save`` into memory, then bench's atomic write (temp file, fsync, rename)."""
    import io

    from bench.fileio import atomic_write_bytes

    buf = io.BytesIO()
    torch.save(obj, buf)
    atomic_write_bytes(Path(path), buf.getvalue())
    return os.fspath(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    from bench.fileio import atomic_write_bytes

    atomic_write_bytes(Path(path), text.encode())


def str_tensor(s: str) -> torch.Tensor:
    return torch.tensor(list(s.encode()), dtype=torch.uint8)


def tensor_str(t: torch.Tensor) -> str:
    return bytes(t.to(torch.uint8).tolist()).decode(errors="replace")


def make_meta(method: str, config: str, num_classes: int | None, semantic_nc: int) -> dict[str, torch.Tensor]:
    """The meta entries of a saved generator; ``num_classes`` None: the task has no class count (not stored)."""
    meta = {META_PREFIX + "method": str_tensor(method), META_PREFIX + "config": str_tensor(config)}
    if num_classes is not None:
        meta[META_PREFIX + "num_classes"] = torch.tensor(num_classes, dtype=torch.int64)
    meta[META_PREFIX + "semantic_nc"] = torch.tensor(semantic_nc, dtype=torch.int64)
    return meta


def split_meta(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    meta: dict[str, Any] = {}
    rest: dict[str, torch.Tensor] = {}
    for k, v in state.items():
        if k.startswith(META_PREFIX):
            name = k[len(META_PREFIX):]
            meta[name] = tensor_str(v) if v.dtype == torch.uint8 else int(v)
        else:
            rest[k] = v
    return rest, meta


# ----------------------------------------------------------------------------- the adapter base class

class ReferenceGenerator(Generator):
    """Adapter shared by the reference GANs: builds the networks from a config, loads checkpoints strictly, generates
    one sample at a time (so sample i depends only on its inputs and ``seeds[i]``) and trains with the shared trainer.

    Subclasses set ``method_key`` and implement ``build(cfg, info)`` returning a ``GANModel``.
    """

    method_key: str = ""
    default_config = "mini"
    meta_num_classes = True  # False: tasks without a class count (translation, inpainting) store none

    def __init__(self, info: DatasetInfo, *, device: str = "cpu", checkpoint: str | None = None,
                 config: str | None = None) -> None:
        from reference_models import configs

        super().__init__(info, device=device, checkpoint=checkpoint, config=config or self.default_config)
        self.cfg = configs.get_config(self.method_key, self.config, info)
        with seeded(0):  # a fixed initialisation; the trainer re-initialises from its seed (``reinitialize``)
            self.model = self.build(self.cfg, info)
        self.model.to(self.device)
        self.model.eval()
        self.multimodal = bool(self.model.multimodal)
        self.needs_instance = bool(self.model.use_instance)
        if checkpoint:
            self.load(checkpoint)

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        """Untrained weights never reach a leaderboard: the authors' registered release for this config, or a
        BenchError asking for ``--checkpoint`` / ``--train``."""
        from reference_models import configs, official_keys

        info = type("Info", (), {"name": dataset})()
        cfg = configs.get_config(cls.method_key, config or cls.default_config, info)
        return official_keys.release_checkpoint(cls.method_key, cfg.name, dataset)

    @classmethod
    def native_resolution(cls, dataset: str, config: str | None) -> tuple[int, int] | None:
        """The resolution the authors' release of this config was trained at (configs ``native_resolution``)."""
        from reference_models import configs

        info = type("Info", (), {"name": dataset})()
        native = configs.get_config(cls.method_key, config or cls.default_config, info).native_resolution
        return tuple(native) if native else None

    # -- to implement
    def build(self, cfg: Any, info: DatasetInfo) -> "GANModel":  # pragma: no cover - abstract
        raise NotImplementedError

    def reinitialize(self, seed: int) -> None:
        """Initial weights drawn from ``seed`` (the authors' init schemes): a training run starts from these."""
        with seeded(derive_seed(seed, 1234)):
            fresh = self.build(self.cfg, self.info)
        self.model.load_state_dict(fresh.state_dict())

    # -- checkpoints
    def load(self, path: str) -> None:
        """Load a generator checkpoint (ours, or the authors' release through ``official_keys``), strictly."""
        from reference_models import official_keys

        state = load_state_dict(path, expect=self.method_key)
        state, meta = split_meta(state)
        what = f"{self.method_key} checkpoint {path}"
        if meta:
            if meta.get("method") != self.method_key:
                raise BenchError(f"{what} was trained for method '{meta.get('method')}', not '{self.method_key}'")
            if meta.get("num_classes") is not None and meta["num_classes"] != self.info.num_classes:
                raise BenchError(f"{what} was trained with {meta['num_classes']} label classes, the dataset "
                                 f"'{self.info.name}' has {self.info.num_classes}")
        else:
            state = official_keys.to_ours(self.method_key, state, self.model.generator_module())
        strict_load(self.model.generator_module(), state, what, self.model.input_keys())
        self.model.after_load()

    def generator_state(self) -> dict[str, torch.Tensor]:
        """The generator's state dict + meta (method, config, class count unless ``meta_num_classes`` is False,
        input channels)."""
        state = {k: v.detach().cpu().clone() for k, v in self.model.generator_module().state_dict().items()}
        num_classes = self.info.num_classes if self.meta_num_classes else None
        state.update(make_meta(self.method_key, str(self.config), num_classes, self.model.semantic_nc))
        return state

    # -- generation
    def _per_sample(self, seeds: Sequence[int], make: Any) -> list[torch.Tensor]:
        """``make(i, seed)`` for each sample, one at a time (exact batch-size independence on every backend), each
        under ``seeded(seed)``, in eval mode (the model's mode restored after)."""
        outs = []
        was_training = self.model.training
        self.model.eval()
        try:
            for i, seed in enumerate(seeds):
                with seeded(int(seed), self.device):
                    outs.append(make(i, int(seed)))
        finally:
            self.model.train(was_training)
        return outs

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        if getattr(self.model, "paired", False):  # image -> image: G reads the source image (pix2pix, DSGAN)
            src = batch["source"]
            out = torch.cat(self._per_sample(seeds, lambda i, seed: to_uint8(self.model.generate_from(
                image_to_float(src[i:i + 1].to(self.device)), seed))))
            if tuple(out.shape[-2:]) != tuple(src.shape[-2:]):
                raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected "
                                 f"{list(src.shape[-2:])} (the source's size)")
            return out
        label = batch["label"]
        inst = batch.get("instance")
        if inst is None:
            inst = torch.zeros_like(label)
        out = torch.cat(self._per_sample(seeds, lambda i, seed: to_uint8(self.model.generate(
            label[i:i + 1].to(self.device), inst[i:i + 1].to(self.device), seed))))
        h, w = self.info.resolution
        if tuple(out.shape[-2:]) != (h, w):
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected {[h, w]}")
        return out

    # -- training
    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        from reference_models.trainer import Trainer

        self._run_dir = (Path(out_dir), int(seed))  # where "run:<config>" in an init option looks
        trainer = Trainer(self, dataset, out_dir=out_dir, seed=seed, steps=steps)
        path = trainer.run()
        self.checkpoint = path
        return path

    def init_weights_path(self, ref: str, option: str, needs: str, registered: bool = False) -> str:
        """The file an init option of the config names (pix2pixHD's ``init_global``, StackGAN's ``stage1_g``):
        "run:<config>" = ``generator.pth`` of our run of that config on the same dataset and seed, beside this run's
        training folder; else a path (or, with ``registered``, a registered weight file's name). ``needs`` ends
        the message when the run is missing: what this config is built on, and any extra flag to train it with."""
        from bench.runner import train_folder_name

        if ref.startswith("run:"):
            config = ref[4:]
            out, seed = getattr(self, "_run_dir", (Path("bench-runs") / "x", 0))
            path = out.parent / train_folder_name(self.method_key, config, self.info.name, seed) / "generator.pth"
            if not path.is_file():
                raise BenchError(
                    f"{self.method_key} config '{self.config}' {needs} '{config}' run, expected at {path}: train it "
                    f"first with `bench run --method {self.method_key} --config {config} --dataset {self.info.name}"
                    f"{self._init_train_flags} --train --seed {seed}` (same --out)")
            return str(path)
        if os.path.isfile(ref):
            return ref
        if not registered:
            raise BenchError(f"{self.method_key} config '{self.config}': {option} {ref} is not a file")
        from bench import weights

        return str(weights.resolve(ref).path)

    _init_train_flags = ""  # extra `bench run` flags in init_weights_path's hint (StackGAN's Stage-I: --resolution 64)

    def load_part_state(self, path: str, what: str) -> dict[str, torch.Tensor]:
        """The state dict of another of this method's generators (an earlier stage), refusing one trained for
        another method."""
        state, meta = split_meta(load_state_dict(path, expect=self.method_key))
        if meta and meta.get("method") != self.method_key:
            raise BenchError(f"{what} was trained for method '{meta.get('method')}', not '{self.method_key}'")
        return state

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        out["method"] = self.method_key
        out["config_values"] = self.cfg.to_dict()
        if self.checkpoint:  # trained by our trainer: the training record next to the weights (matched by sha256)
            rec_path = Path(self.checkpoint).parent / "train.json"
            try:
                rec = json.loads(rec_path.read_text())
            except (OSError, ValueError):
                rec = None
            if rec and rec.get("generator_sha256") == out.get("checkpoint_sha256"):
                out["training"] = {k: rec.get(k) for k in (
                    "step", "steps_total", "complete", "batch_size", "world_size", "device", "amp", "vgg_loss",
                    "train_seconds", "images_per_second", "torch")}
                # only where the training record has them: the CPU capability (train.json files of before 2026-12
                # lack it) and the CLIP / segmenter-similarity terms of the models that have one
                for key in ("cpu_capability", "clip_loss", "similarity_loss"):
                    if key in rec:
                        out["training"][key] = rec[key]
                out["training"]["seed"] = rec.get("identity", {}).get("seed")
        return out


class GANModel(nn.Module):
    """The networks and losses of one method. The trainer calls ``optimizers``, ``train_step``; the adapter calls
    ``generate``. ``G`` (and optionally ``D``, ``E``) are submodules; ``generator_module`` is what is saved for
    inference."""

    multimodal = False
    use_instance = False
    semantic_nc = 0


    def _vgg_enabled(self) -> bool:
        return bool(getattr(self.cfg, "vgg", False) and getattr(self.cfg, "lambda_vgg", 0))  # pix2pix has none

    def vgg(self, device: torch.device):
        """The VGG perceptual loss (built once), or None when the config turns it off."""
        from reference_models.losses import VGGLoss

        if not self._vgg_enabled():
            return None
        if getattr(self, "_vgg", None) is None:
            self._vgg = VGGLoss(self.cfg.vgg_weights, device)
        return self._vgg

    def add_reconstruction_terms(self, loss_g: torch.Tensor, fake: torch.Tensor, real: torch.Tensor,
                                 logs: dict[str, float]) -> torch.Tensor:
        """``loss_g`` plus the optional pixel L1 (``lambda_l1``: not in the papers, see configs ``mini``) and VGG
        perceptual (``lambda_vgg``, when its weights are available) terms, added in that order; logged in ``logs``."""
        import torch.nn.functional as F

        if getattr(self.cfg, "lambda_l1", 0):
            g_l1 = F.l1_loss(fake.float(), real) * self.cfg.lambda_l1
            loss_g = loss_g + g_l1
            logs["G_L1"] = float(g_l1.detach())
        vgg = self.vgg(real.device)
        if vgg is not None and vgg.enabled:
            g_vgg = vgg(fake.float(), real) * self.cfg.lambda_vgg
            loss_g = loss_g + g_vgg
            logs["G_VGG"] = float(g_vgg.detach())
        return loss_g

    def vgg_status(self) -> str:
        if not self._vgg_enabled():
            return "off (config)"
        return self._vgg.status if getattr(self, "_vgg", None) is not None else "not built"

    def encode(self, label: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
        """One-hot label map (plus the don't-care channel) and, when enabled, the instance-edge channel."""
        x = one_hot(label, self.info.num_classes, self.dontcare)
        if self.use_instance:
            x = torch.cat([x, instance_edges(inst).float()], 1)
        return x
    def generator_module(self) -> nn.Module:
        return self.G

    def input_keys(self) -> Sequence[str]:
        return ()

    def after_load(self) -> None:
        pass

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        raise NotImplementedError

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        raise NotImplementedError


__all__ = ["GANModel", "ReferenceGenerator", "atomic_save", "atomic_write_text", "image_to_float", "make_meta",
           "one_hot", "palette_image", "seeded", "split_meta", "strict_load", "to_uint8"]
