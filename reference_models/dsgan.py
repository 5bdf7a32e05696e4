"""DSGAN (Yang, Hong, Jang, Zhao, Lee, "Diversity-Sensitive Conditional Generative Adversarial Networks", ICLR
2019): a conditional GAN G(x, z) whose generator is pushed to use its noise by the diversity-sensitive regulariser

    L_z(G) = E_{x, z1, z2} [ min( ||G(x, z1) - G(x, z2)||_1 / ||z1 - z2||_1 , tau ) ],   maximised (weight lambda_ds)

added to a pix2pix-style objective (adversarial + lambda_l1 * L1 to the target).

Written from a reading of the authors' image-to-image code (maga33/DSGAN, ``Image2ImageTranslation/code``:
``trainer.py`` ``errE_calculate``, ``miscc/utils.py`` ``load_networks`` and ``compute_gan_loss``,
``exterior_models/bicycleGAN/networks.py``, ``cfg/facades_bicycleGAN_NE.yml``; nothing copied):

* **G**: BicycleGAN's ``G_Unet_add_all``: a U-Net whose every down block sees z (``nz`` = 8) replicated over the
  pixels and concatenated to its input; InstanceNorm without affine parameters, dropout in the ngf*8 blocks, transposed
  convolutions. Module names are the authors' (``model.down``, ``model.submodule``, ``model.up``), so their
  ``netG`` state dicts have our keys (``benchmarks/oracle_dsgan.py`` runs their class on our weights).
* **D**: ``D_NLayersMulti`` with two scales (the second on a 3x3 average-pooled input, half the width), each a
  70x70 PatchGAN on [label, image] (theirs: [image, label], the first layer's input channels in the other order);
  LSGAN, the D loss halved, the scales' losses summed.
* **Initialisation**: the release's ``load_networks`` initialises nothing, so its networks keep PyTorch's default
  initialisation (``init: default``, as ``paper``); the minis use pix2pix's normal(0, 0.02) (``init: normal``).
* **The regulariser** as the release computes it: per sample, the mean absolute difference of the two outputs (the
  second detached) over the mean absolute difference of the two z (+ 1e-5), averaged over the batch and
  subtracted with weight ``lambda_ds`` (8 in the release). ``ds_tau`` is the paper's bound tau on each sample's
  ratio (None: unbounded, the release's default: its ``NE_MARGIN`` is off).
* **z** ~ N(0, I) per sample; at test the noise is drawn from the sample's seed, dropout is off (``netG.eval()``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, per_sample_noise, register_method
from reference_models.common import GANModel, ReferenceGenerator, image_to_float
from reference_models.discriminators import PatchDiscriminator
from reference_models.losses import gan_loss
from reference_models.pix2pix import Pix2PixModel, _init_normal, input_channels


class UnetBlockZ(nn.Module):
    """One level of ``G_Unet_add_all``: [x, z] -> down -> submodule -> up, concatenated with x (except outermost)."""

    def __init__(self, input_nc: int, outer_nc: int, inner_nc: int, nz: int, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, dropout: bool = False) -> None:
        super().__init__()
        self.outermost, self.innermost, self.nz = outermost, innermost, nz
        downconv = nn.Conv2d(input_nc + nz, inner_nc, kernel_size=4, stride=2, padding=1)
        if outermost:
            down: list[nn.Module] = [downconv]
            up: list[nn.Module] = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1), nn.Tanh()]
        elif innermost:
            down = [nn.LeakyReLU(0.2, True), downconv]
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1), nn.InstanceNorm2d(outer_nc)]
        else:
            down = [nn.LeakyReLU(0.2, True), downconv, nn.InstanceNorm2d(inner_nc)]
            up = [nn.ReLU(True), nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1), nn.InstanceNorm2d(outer_nc)]
            if dropout:
                up.append(nn.Dropout(0.5))
        self.down = nn.Sequential(*down)
        self.submodule = submodule
        self.up = nn.Sequential(*up)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        xz = torch.cat([x, z[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1) if self.nz else x
        if self.innermost:
            return torch.cat([self.up(self.down(xz)), x], 1)
        inner = self.submodule(self.down(xz), z)  # type: ignore[misc]
        return self.up(inner) if self.outermost else torch.cat([self.up(inner), x], 1)


class ZUnetGenerator(nn.Module):
    """``G_Unet_add_all(input_nc, output_nc, nz, num_downs, ngf)``: ``num_downs`` halvings (8: 256x256), z at every
    level, the ngf*8 blocks between the innermost and the three outer ones with dropout."""

    def __init__(self, input_nc: int, output_nc: int, nz: int, num_downs: int = 8, ngf: int = 64,
                 dropout: bool = True) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("DSGAN's U-Net needs num_downs >= 5")
        block = UnetBlockZ(ngf * 8, ngf * 8, ngf * 8, nz, innermost=True)
        for _ in range(num_downs - 5):  # theirs: one, then num_downs - 6 more (the same for num_downs >= 6)
            block = UnetBlockZ(ngf * 8, ngf * 8, ngf * 8, nz, block, dropout=dropout)
        block = UnetBlockZ(ngf * 4, ngf * 4, ngf * 8, nz, block)
        block = UnetBlockZ(ngf * 2, ngf * 2, ngf * 4, nz, block)
        block = UnetBlockZ(ngf, ngf, ngf * 2, nz, block)
        self.model = UnetBlockZ(input_nc, output_nc, ngf, nz, block, outermost=True)

    def forward(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.model(x, z.to(x.dtype))


class TwoScalePatchD(nn.Module):
    """``D_NLayersMulti``: PatchGANs on the input and on its 3x3 average-pooled half (width ndf / 2**i)."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, num_d: int = 2) -> None:
        super().__init__()
        self.scales = nn.ModuleList(PatchDiscriminator(input_nc, int(round(ndf / 2 ** i)), n_layers, "instance")
                                    for i in range(num_d))
        self.down = nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        out = []
        for i, d in enumerate(self.scales):
            out.append(d(x)[0])
            if i + 1 < len(self.scales):
                x = self.down(x)
        return out


def diversity_ratio(fake1: torch.Tensor, fake2: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor,
                    tau: float | None = None, eps: float = 1e-5) -> torch.Tensor:
    """Per-sample ``mean|G(x,z1) - G(x,z2)| / (mean|z1 - z2| + eps)`` (the second output detached, as the release),
    bounded by ``tau`` when given (the paper's min(., tau)); [B]."""
    img = (fake1 - fake2.detach()).abs().flatten(1).mean(1)
    lat = (z1 - z2).abs().flatten(1).mean(1)
    ratio = img / (lat + eps)
    return ratio.clamp(max=tau) if tau is not None else ratio


class DSGANModel(Pix2PixModel):
    """pix2pix's inputs (the label map one-hot or in the card's colours; the source image for ``paired``) with the
    DSGAN networks and objective."""

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        GANModel.__init__(self)
        self.cfg, self.info = cfg, info
        self.semantic_nc = input_channels(self, cfg, info, "dsgan")
        h, w = info.resolution
        num_downs = min(int(cfg.num_downs), min(h, w).bit_length() - 1)
        if min(h, w) % (2 ** num_downs):
            raise ValueError(f"dsgan: resolution {h}x{w} must be divisible by 2**num_downs")
        self.nz = int(cfg.nz)
        self.G = ZUnetGenerator(self.semantic_nc, 3, self.nz, num_downs, cfg.ngf, cfg.dropout)
        self.D = TwoScalePatchD(self.semantic_nc + 3, cfg.ndf, cfg.n_layers_d, cfg.num_d)
        if cfg.init == "normal":  # pix2pix's; the release keeps PyTorch's defaults (its load_networks inits nothing)
            _init_normal(self.G)
            _init_normal(self.D)
        elif cfg.init != "default":
            raise ValueError(f"dsgan init must be 'default' or 'normal', not {cfg.init!r}")
        self.multimodal = self.nz > 0

    def input_keys(self) -> list[str]:
        return ["model.down.0.weight"]

    def noise(self, b: int, device: torch.device) -> torch.Tensor:
        return torch.randn(b, self.nz, device=device)

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        a = self.condition(batch)
        b = image_to_float(batch["image"])
        z1 = self.noise(a.shape[0], a.device)
        with ctx.autocast():
            fake = self.G(a, z1)
        # D first, on the same fake (the release's order); real and fake terms averaged
        self.D.requires_grad_(True)
        with ctx.autocast():
            d_real = gan_loss(self.D(torch.cat([a, b], 1)), True, cfg.gan_mode, reduce="sum")
            d_fake = gan_loss(self.D(torch.cat([a, fake.detach()], 1)), False, cfg.gan_mode, reduce="sum")
            loss_d = (d_real + d_fake) * 0.5
        ctx.step(opts["D"], loss_d, "D")
        self.D.requires_grad_(False)
        logs: dict[str, float] = {}
        with ctx.autocast():
            g_gan = gan_loss(self.D(torch.cat([a, fake], 1)), True, cfg.gan_mode, for_discriminator=False,
                             reduce="sum")
            loss_g = g_gan
            if cfg.lambda_ds:
                z2 = self.noise(a.shape[0], a.device)
                fake2 = self.G(a, z2)
                ratio = diversity_ratio(fake.float(), fake2.float(), z1, z2, cfg.ds_tau)
                g_ds = -ratio.mean() * cfg.lambda_ds
                loss_g = loss_g + g_ds
                logs["G_DS"] = float(g_ds.detach())
            if cfg.lambda_l1:
                g_l1 = F.l1_loss(fake.float(), b) * cfg.lambda_l1
                loss_g = loss_g + g_l1
                logs["G_L1"] = float(g_l1.detach())
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        return {"G_GAN": float(g_gan.detach()), **logs, "D_real": float(d_real.detach()),
                "D_fake": float(d_fake.detach())}

    def generate_from(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        return self.G(x, per_sample_noise([seed], (self.nz,), x.device))


@register_method("dsgan")
class DSGAN(ReferenceGenerator):
    """DSGAN (Yang et al. 2019): pix2pix-style G(x, z) with the diversity-sensitive regulariser, through the shared
    trainer; configs ``mini``, ``mini-no-ds`` (the same without the regulariser), ``paper``."""

    method_key = "dsgan"
    tasks = ("semantic", "paired")

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return DSGANModel(cfg, info)
