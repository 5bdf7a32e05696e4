"""pix2pix (Isola et al. 2017): U-Net generator with skip connections and dropout as the noise source, a 70x70
PatchGAN conditioned on the input, loss cGAN + 100 * L1.

The generator is built exactly as ``UnetGenerator`` / ``UnetSkipConnectionBlock`` of
junyanz/pytorch-CycleGAN-and-pix2pix (nested ``model`` Sequentials), so the authors' ``latest_net_G.pth`` loads
with identical keys (see ``official_keys``).

Test-time behaviour (``test_mode``): ``paper`` runs as the paper and the authors' ``test.py`` do (no ``--eval``):
BatchNorm with the statistics of the test batch (here: of the one sample, since samples are generated one at a time)
and dropout active, its mask drawn from the sample's seed, so a sample depends only on its label map and seed.
``eval`` uses running statistics and no dropout (deterministic).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from bench.labels import instance_edges
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, one_hot, palette_image
from reference_models.discriminators import PatchDiscriminator, norm_2d
from reference_models.losses import gan_loss


class UnetBlock(nn.Module):
    """X -> [down -> submodule -> up] concatenated with X (except the outermost block)."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm: str = "batch", dropout: bool = False) -> None:
        super().__init__()
        self.outermost = outermost
        use_bias = norm != "batch"
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        uprelu = nn.ReLU(True)
        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1)
            layers = [downconv, submodule, uprelu, upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [downrelu, downconv, uprelu, upconv, norm_2d(norm, outer_nc)]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, kernel_size=4, stride=2, padding=1, bias=use_bias)
            layers = [downrelu, downconv, norm_2d(norm, inner_nc), submodule, uprelu, upconv, norm_2d(norm, outer_nc)]
            if dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
    """``num_downs`` halvings (8 for 256x256: unet_256; 7: unet_128); the ngf*8 blocks between the innermost and
    the three outer ones carry dropout."""

    def __init__(self, input_nc: int, output_nc: int = 3, num_downs: int = 8, ngf: int = 64, norm: str = "batch",
                 dropout: bool = True) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError("pix2pix U-Net needs num_downs >= 5")
        block = UnetBlock(ngf * 8, ngf * 8, innermost=True, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, submodule=block, norm=norm, dropout=dropout)
        block = UnetBlock(ngf * 4, ngf * 8, submodule=block, norm=norm)
        block = UnetBlock(ngf * 2, ngf * 4, submodule=block, norm=norm)
        block = UnetBlock(ngf, ngf * 2, submodule=block, norm=norm)
        self.model = UnetBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, norm=norm)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


def _init_normal(module: nn.Module, gain: float = 0.02) -> None:
    """The authors' ``init_weights(net, 'normal', 0.02)``."""
    for m in module.modules():
        name = type(m).__name__
        if hasattr(m, "weight") and m.weight is not None and ("Conv" in name or "Linear" in name):
            nn.init.normal_(m.weight, 0.0, gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif "BatchNorm2d" in name and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)


@contextlib.contextmanager
def paper_test_mode(module: nn.Module) -> Iterator[None]:
    """BatchNorm on the current batch's statistics (running buffers untouched) and dropout active."""
    bns = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    drops = [m for m in module.modules() if isinstance(m, nn.Dropout)]
    saved = [(m, m.training, getattr(m, "track_running_stats", None)) for m in bns + drops]
    try:
        for m in bns:
            m.train()
            m.track_running_stats = False
        for m in drops:
            m.train()
        yield
    finally:
        for m, training, trs in saved:
            m.train(training)
            if trs is not None:
                m.track_running_stats = trs


def input_channels(model: GANModel, cfg: Any, info: DatasetInfo, name: str) -> int:
    """Set the input attributes of a pix2pix-style model (``paired``: the source image; ``semantic``: the label map
    one-hot or in the card's colours, plus the instance-edge channel) and return the input's channel count."""
    model.paired = info.task == "paired"
    model.use_instance = bool(cfg.instance and info.has_instances) and not model.paired
    model.dontcare = bool(cfg.dontcare)
    if model.paired:
        return 3
    if cfg.input == "rgb":
        return 3 + int(model.use_instance)
    if cfg.input == "onehot":
        return info.num_classes + int(model.dontcare) + int(model.use_instance)
    raise ValueError(f"{name} input must be 'onehot' or 'rgb', not {cfg.input!r}")


class Pix2PixModel(GANModel):
    paired = False  # the ``paired`` task: the condition is batch["source"], an image

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.semantic_nc = input_channels(self, cfg, info, "pix2pix")
        h, w = info.resolution
        max_downs = min(h, w).bit_length() - 1
        if min(h, w) % (2 ** min(cfg.num_downs, max_downs)):
            raise ValueError(f"pix2pix: resolution {h}x{w} must be divisible by 2**num_downs")
        self.G = UnetGenerator(self.semantic_nc, 3, min(cfg.num_downs, max_downs), cfg.ngf, cfg.norm, cfg.dropout)
        self.D = PatchDiscriminator(self.semantic_nc + 3, cfg.ndf, cfg.n_layers_d, cfg.norm_d)
        _init_normal(self.G)
        _init_normal(self.D)
        self.multimodal = bool(cfg.dropout and cfg.test_mode == "paper")

    def input_keys(self) -> list[str]:
        return ["model.model.0.weight"]

    def encode(self, label: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
        if self.cfg.input == "rgb":
            x = palette_image(label, self.info.palette, self.info.num_classes)
        else:
            x = one_hot(label, self.info.num_classes, self.dontcare)
        if self.use_instance:
            x = torch.cat([x, instance_edges(inst).float()], 1)
        return x

    def condition(self, batch: dict[str, Any]) -> torch.Tensor:
        """G's (and D's) input: the source image in [-1, 1] (``paired``) or the encoded label map."""
        if self.paired:
            return image_to_float(batch["source"])
        return self.encode(batch["label"], batch["instance"])

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        a = self.condition(batch)
        b = image_to_float(batch["image"])
        with ctx.autocast():
            fake = self.G(a)
        # D: (fake + real) / 2, as optimize_parameters() in the authors' pix2pix_model.py
        self.D.requires_grad_(True)
        with ctx.autocast():
            d_fake = gan_loss(self.D(torch.cat([a, fake.detach()], 1)), False, self.cfg.gan_mode)
            d_real = gan_loss(self.D(torch.cat([a, b], 1)), True, self.cfg.gan_mode)
            loss_d = (d_fake + d_real) * 0.5
        ctx.step(opts["D"], loss_d, "D")
        self.D.requires_grad_(False)
        with ctx.autocast():
            g_gan = gan_loss(self.D(torch.cat([a, fake], 1)), True, self.cfg.gan_mode, for_discriminator=False)
            g_l1 = F.l1_loss(fake.float(), b) * self.cfg.lambda_l1
            loss_g = g_gan + g_l1
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        return {"G_GAN": float(g_gan.detach()), "G_L1": float(g_l1.detach()), "D_real": float(d_real.detach()), "D_fake": float(d_fake.detach())}

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        return self.generate_from(self.encode(label, inst), seed)

    def generate_from(self, x: torch.Tensor, seed: int) -> torch.Tensor:
        """G on an encoded condition (``condition``), as the test mode says."""
        if self.cfg.test_mode == "paper":
            with paper_test_mode(self.G):
                return self.G(x)
        return self.G(x)


@register_method("pix2pix")
class Pix2Pix(ReferenceGenerator):
    """pix2pix (Isola et al. 2017) through the shared trainer; configs ``mini``, ``paper``, ``paper-facades``.
    Label map -> photo (``semantic``) or image -> image (``paired``: edges2shoes)."""

    method_key = "pix2pix"
    tasks = ("semantic", "paired")

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return Pix2PixModel(cfg, info)
