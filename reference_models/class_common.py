"""What the class-conditional reference GANs (``cgan``, ``acgan``, ``sngan-proj``) share: the adapter for the
``class`` task, noise from the seeds, the GAN losses with the WGAN-GP option, the optimisers and their schedule, and
one training step (D every step, G every ``n_critic`` steps) that the three methods fill in with their networks.

Conventions:
  * the condition is the class id (``bench.tasks.class_conditional.class_ids``: the batch's ``class_id``, or the
    constant label map that class datasets store, which is what the shared trainer's batches hold);
  * images are float in [-1, 1]; ``image_channels: 1`` (the minis, on the grey digits; MNIST in the cGAN paper)
    makes G output one grey channel, replicated to RGB, and D read the mean of the three channels;
  * fakes in a training step take the classes of the real batch (the papers draw them uniformly; on balanced
    classes the expectation is the same, and WGAN-GP interpolates real and fake pairs of the same class);
  * one trainer step = one discriminator update; the generator is updated after every ``n_critic``-th (the
    step count of a ``paper`` config with ``n_critic`` 5 is therefore 5x the paper's generator iterations).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, per_sample_noise
from bench.errors import BenchError
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, seeded, to_uint8
from reference_models.losses import gan_loss, gradient_penalty

CLASS_GAN_MODES = ("vanilla", "hinge", "lsgan", "wgan-gp")


def classes_of(batch: dict[str, Any]) -> torch.Tensor:
    from bench.tasks.class_conditional import class_ids

    return class_ids(batch)


def noise_from_seeds(seeds: Sequence[int], dim: int, dist: str, device: Any = "cpu") -> torch.Tensor:
    """[B, dim] noise, row i from ``seeds[i]`` only: standard normal, or uniform on [0, 1]^dim (the cGAN paper's
    prior) as the normal CDF of the same draws."""
    z = per_sample_noise(seeds, (dim,), device)
    return _to_dist(z, dist)


def _to_dist(z: torch.Tensor, dist: str) -> torch.Tensor:
    if dist == "normal":
        return z
    if dist == "uniform":
        return 0.5 * (1.0 + torch.erf(z / math.sqrt(2.0)))
    raise ValueError(f"z_dist must be 'normal' or 'uniform', not {dist!r}")


def bicubic_upscale_matrix(n: int, size: int) -> torch.Tensor:
    """[size, n] matrix of PIL's bicubic upscaling of a length-``n`` signal to ``size`` (PIL resizes separably, so
    ``M @ x @ M.T`` is PIL's bicubic resize of an n x n image, before clipping and rounding)."""
    import numpy as np
    from PIL import Image

    cols = []
    for i in range(n):
        e = np.zeros((1, n), dtype=np.float32)
        e[0, i] = 1.0
        cols.append(np.asarray(Image.fromarray(e, mode="F").resize((size, 1), Image.BICUBIC))[0])
    return torch.from_numpy(np.stack(cols, 1).astype(np.float32))


class UpscaleProjection(nn.Module):
    """The orthogonal projection of [B, C, H, W] images onto the bicubic upscalings of n x n images (``P X P^T``
    with ``P = M pinv(M)``, M from :func:`bicubic_upscale_matrix`): a fixed, parameter-free output layer. Digits
    are 8x8 scans upscaled bicubically to 32x32; their real images are (to rounding) fixed points of it."""

    def __init__(self, n: int, resolution: tuple[int, int]) -> None:
        super().__init__()
        h, w = resolution
        ph, pw = (self._proj(n, s) for s in (h, w))
        self.register_buffer("ph", ph, persistent=False)
        self.register_buffer("pw", pw, persistent=False)

    @staticmethod
    def _proj(n: int, size: int) -> torch.Tensor:
        m = bicubic_upscale_matrix(n, size).double()
        return (m @ torch.linalg.pinv(m)).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.ph.to(x.dtype) @ x @ self.pw.to(x.dtype).T).clamp(-1.0, 1.0)


def layer_norm_2d(channels: int) -> nn.Module:
    """Layer normalisation over (C, H, W) with per-channel affine (WGAN-GP's recommendation for a critic)."""
    return nn.GroupNorm(1, channels)


class ClassGANModel(GANModel):
    """Networks ``G(z, y)`` -> [B, image_channels, H, W] in [-1, 1] and ``D(x, y)`` -> (adversarial logits [B],
    class logits [B, C] or None); subclasses build them and may add terms through ``extra_d`` / ``extra_g``."""

    multimodal = True

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.semantic_nc = int(info.num_classes)  # recorded in the checkpoint's meta: the class count
        if cfg.gan_mode not in CLASS_GAN_MODES:
            raise ValueError(f"gan_mode must be one of {', '.join(CLASS_GAN_MODES)}, not {cfg.gan_mode!r}")
        if int(cfg.image_channels) not in (1, 3):
            raise ValueError(f"image_channels must be 1 or 3, not {cfg.image_channels!r}")
        if int(cfg.n_critic) < 1:
            raise ValueError("n_critic must be >= 1")
        self.channels = int(cfg.image_channels)
        n = cfg.g_project_from
        self.project = UpscaleProjection(int(n), tuple(info.resolution)) if n else None

    # -- images in and out
    def fake_images(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """G(z, y), through the fixed output projection when ``g_project_from`` is set."""
        x = self.G(z, y)
        return self.project(x) if self.project is not None else x

    def real_images(self, batch: dict[str, Any]) -> torch.Tensor:
        x = image_to_float(batch["image"])
        return x.mean(1, keepdim=True) if self.channels == 1 else x

    def to_rgb(self, x: torch.Tensor) -> torch.Tensor:
        return x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x

    def sample_z(self, n: int, device: torch.device) -> torch.Tensor:
        """Training noise from the global RNG (seeded per step by the trainer)."""
        return _to_dist(torch.randn(n, int(self.cfg.z_dim), device=device), self.cfg.z_dist)

    # -- to implement
    def d_outputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        raise NotImplementedError

    def extra_d(self, real_cls: torch.Tensor | None, fake_cls: torch.Tensor | None, y: torch.Tensor,
                logs: dict[str, float]) -> torch.Tensor | float:
        return 0.0

    def extra_g(self, fake_cls: torch.Tensor | None, y: torch.Tensor, logs: dict[str, float]) -> torch.Tensor | float:
        return 0.0

    # -- optimisers and schedule
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        if cfg.optimizer == "adam":
            betas = (cfg.beta1, cfg.beta2)
            return {"G": torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=betas),
                    "D": torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas)}
        if cfg.optimizer == "sgd":
            return {"G": torch.optim.SGD(self.G.parameters(), lr=cfg.lr_g, momentum=cfg.momentum),
                    "D": torch.optim.SGD(self.D.parameters(), lr=cfg.lr_d, momentum=cfg.momentum)}
        raise ValueError(f"optimizer must be 'adam' or 'sgd', not {cfg.optimizer!r}")

    def schedule(self, step: int, total: int, opts: dict[str, torch.optim.Optimizer],
                 base_lr: dict[str, list[float]]) -> None:
        """The trainer's hook before each step: the learning rate (``lr_decay``: ``linear`` = the trainer's linear
        decay from ``decay_from``; ``exponential`` = lr / lr_decay_factor**step, floored at ``lr_min``) and, for SGD,
        the momentum ramp from ``momentum`` to ``momentum_final`` over ``momentum_ramp_steps`` (cGAN paper)."""
        from reference_models.trainer import lr_factor

        cfg = self.cfg
        for k, o in opts.items():
            for g, lr in zip(o.param_groups, base_lr[k]):
                if cfg.lr_decay == "linear":
                    g["lr"] = lr * lr_factor(step, total, float(cfg.decay_from))
                elif cfg.lr_decay == "exponential":
                    g["lr"] = max(lr / float(cfg.lr_decay_factor) ** step, float(cfg.lr_min))
                else:
                    raise ValueError(f"lr_decay must be 'linear' or 'exponential', not {cfg.lr_decay!r}")
                if cfg.optimizer == "sgd" and cfg.momentum_final is not None:
                    ramp = min(1.0, step / max(1, int(cfg.momentum_ramp_steps)))
                    g["momentum"] = cfg.momentum + (cfg.momentum_final - cfg.momentum) * ramp

    # -- one training step
    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        real = self.real_images(batch)
        y = classes_of(batch).to(real.device)
        b = real.shape[0]
        logs: dict[str, float] = {}
        wgan = cfg.gan_mode == "wgan-gp"
        # discriminator (critic) update
        self.D.requires_grad_(True)
        with torch.no_grad(), ctx.autocast():
            fake = self.fake_images(self.sample_z(b, real.device), y).detach()
        with ctx.autocast():
            adv_real, cls_real = self.d_outputs(real, y)
            adv_fake, cls_fake = self.d_outputs(fake, y)
            if wgan:
                d_real, d_fake = -adv_real.float().mean(), adv_fake.float().mean()
            else:
                d_real = gan_loss(adv_real.float(), True, cfg.gan_mode)
                d_fake = gan_loss(adv_fake.float(), False, cfg.gan_mode)
            loss_d = d_real + d_fake + self.extra_d(cls_real, cls_fake, y, logs)
        if wgan:  # outside autocast: the penalty's double backward in float32
            gp = gradient_penalty(lambda x: self.d_outputs(x, y)[0], real, fake.float()) * cfg.lambda_gp
            loss_d = loss_d + gp
            logs["D_GP"] = float(gp.detach())
        ctx.step(opts["D"], loss_d, "D")
        logs.update({"D_real": float(d_real.detach()), "D_fake": float(d_fake.detach())})
        # generator update after every n_critic-th discriminator update
        step = int(getattr(ctx, "global_step", 0))
        if (step + 1) % int(cfg.n_critic) == 0:
            self.D.requires_grad_(False)
            with ctx.autocast():
                fake = self.fake_images(self.sample_z(b, real.device), y)
                adv, cls = self.d_outputs(fake, y)
                if wgan:
                    g_gan = -adv.float().mean()
                else:
                    g_gan = gan_loss(adv.float(), True, cfg.gan_mode, for_discriminator=False)
                loss_g = g_gan + self.extra_g(cls, y, logs)
            ctx.step(opts["G"], loss_g, "G")
            self.D.requires_grad_(True)
            logs["G_GAN"] = float(g_gan.detach())
        return logs

    def generate_one(self, y: torch.Tensor, seed: int) -> torch.Tensor:
        z = noise_from_seeds([seed], int(self.cfg.z_dim), self.cfg.z_dist, y.device)
        return self.to_rgb(self.fake_images(z, y))


class ClassReferenceGenerator(ReferenceGenerator):
    """The adapter of the class-conditional reference GANs: batch ``class_id`` int64 [B] (or the constant label maps
    of the trainer's batches) -> uint8 [B,3,H,W]; sample i from ``class_id[i]`` and noise from ``seeds[i]`` only
    (generated one at a time, eval mode: BatchNorm on its running statistics, no dropout)."""

    tasks = ("class",)
    multimodal = True

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        raise BenchError(f"{cls.method_key} (config '{config or cls.default_config}') has no released weights: "
                         "pass --checkpoint FILE or --train")

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        """The shared trainer, on the split held in memory (class datasets are small: digits' 1,442 items are
        ~30 MB; decoding two PNGs per item at every step would cost more than the step itself)."""
        return super().train(InMemory(dataset), out_dir=out_dir, seed=seed, steps=steps)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        y = classes_of(batch)
        n = self.info.num_classes
        if len(y) and (int(y.min()) < 0 or int(y.max()) >= n):
            raise BenchError(f"{self.method_key}: class ids must be in 0..{n - 1}, got {int(y.min())}..{int(y.max())}")
        was_training = self.model.training
        self.model.eval()
        outs = []
        try:
            for i, seed in enumerate(seeds):
                with seeded(int(seed), self.device):
                    x = self.model.generate_one(y[i:i + 1].to(self.device), int(seed))
                outs.append(to_uint8(x))
        finally:
            self.model.train(was_training)
        out = torch.cat(outs) if outs else torch.zeros((0, 3, *self.info.resolution), dtype=torch.uint8)
        if tuple(out.shape[-2:]) != tuple(self.info.resolution):
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected {list(self.info.resolution)}")
        return out


class InMemory:
    """The items of a dataset, decoded once (same items, same order: training is unchanged)."""

    def __init__(self, dataset: Any) -> None:
        self.items = [dataset[i] for i in range(len(dataset))]
        for k in ("num_classes", "has_instances", "palette", "card"):
            if hasattr(dataset, k):
                setattr(self, k, getattr(dataset, k))

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]


def init_normal(module: nn.Module, std: float = 0.02) -> None:
    """DCGAN / AC-GAN initialisation: weights N(0, std), biases 0; normalisation gains N(1, std)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, std)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d, nn.GroupNorm)) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)


def one_hot_classes(y: torch.Tensor, n: int) -> torch.Tensor:
    return F.one_hot(y.long(), n).float()


__all__ = ["CLASS_GAN_MODES", "ClassGANModel", "ClassReferenceGenerator", "classes_of", "init_normal",
           "layer_norm_2d", "noise_from_seeds", "one_hot_classes"]
