"""ESRGAN (Wang et al. 2018, "ESRGAN: Enhanced Super-Resolution Generative Adversarial Networks", arXiv
1809.00219): RRDBNet generator, VGG-style discriminator, relativistic average GAN, perceptual loss on VGG19 conv5_4
before its activation, L1 term; and strict loading of the released generators.

What we follow:
  * G (``RRDBNet``): module for module as xinntao/ESRGAN ``RRDBNet_arch.py`` (so ``RRDB_ESRGAN_x4.pth`` and
    ``RRDB_PSNR_x4.pth`` load with their own key names): 3x3 conv_first; ``RRDB_trunk`` of 23 RRDBs, each three
    residual dense blocks (five 3x3 convs, growth 32, LeakyReLU 0.2, output x 0.2 + input) and x 0.2 + input;
    trunk_conv + the long skip; two (nearest x2 -> 3x3 conv -> LeakyReLU) stages; HRconv, LeakyReLU, conv_last;
    no BatchNorm. x2 pixel-unshuffles the input first (BasicSR's ``RRDBNet``, conv_first then takes 12 channels);
    RRDB convs start from MSRA init x 0.1 (the paper's "smaller initialization"; BasicSR's
    ``default_init_weights(..., 0.1)``);
  * LR input and output in [0, 1] (the official test.py; outputs become uint8 as (clamp(0, 1) * 255).round());
  * D: BasicSR's ``VGGStyleDiscriminator`` (VGG128: conv0_0 3x3, then per stage a 3x3 and a 4x4 stride-2 conv with
    BN, widths 64, 128, 256, 512, 512, LeakyReLU 0.2, linear 100, linear 1), on ``patch_size`` x ``patch_size``
    patches (a multiple of 32; the paper's 128 gives 4x4 before the linear layers);
  * L_G = L_percep + 5e-3 L_G^Ra + 1e-2 L1 (the paper; BasicSR ``train_ESRGAN_x4.yml``: perceptual = L1 of the
    conv5_4 features of the ImageNet-normalised images), relativistic average losses as BasicSR computes them;
    PSNR-oriented pre-training with L1 (the ``RRDB_PSNR_x4`` model): lr 2e-4 halved every 2x10^5 steps (the
    paper's training details); GAN stage lr 1e-4 halved at 50k, 100k, 200k, 300k; Adam (0.9, 0.999); batch 16 of
    128x128 HR patches with flips and 90-degree rotations. Stage lengths are not in the paper: BasicSR's configs by
    the first author train 10^6 PSNR steps and 4x10^5 GAN steps. BasicSR's EMA of G (0.999) is not in the paper and
    not used.

Released generators (strict loading; see ``official_keys`` and docs/reference_models.md): xinntao/ESRGAN's files
use our key names; BasicSR's copies rename them (``conv_body``, ``body.N.rdbK``, ``conv_up1/2``, ``conv_hr``) and
wrap them in ``{"params": ...}`` (``params_ema`` too, for files trained with EMA).
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from bench.errors import BenchError
from reference_models.srgan import SRModel, SRReferenceGenerator


class ResidualDenseBlock5C(nn.Module):
    """Five 3x3 convs, each fed every earlier output (dense connections, growth ``gc``); output x 0.2 + input."""

    def __init__(self, nf: int = 64, gc: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, gc, 3, 1, 1)
        self.conv2 = nn.Conv2d(nf + gc, gc, 3, 1, 1)
        self.conv3 = nn.Conv2d(nf + 2 * gc, gc, 3, 1, 1)
        self.conv4 = nn.Conv2d(nf + 3 * gc, gc, 3, 1, 1)
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in (self.conv1, self.conv2, self.conv3, self.conv4):
            feats.append(self.lrelu(conv(torch.cat(feats, 1))))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    """Residual in residual dense block: three dense blocks, output x 0.2 + input."""

    def __init__(self, nf: int, gc: int = 32) -> None:
        super().__init__()
        self.RDB1 = ResidualDenseBlock5C(nf, gc)
        self.RDB2 = ResidualDenseBlock5C(nf, gc)
        self.RDB3 = ResidualDenseBlock5C(nf, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.RDB3(self.RDB2(self.RDB1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    """ESRGAN's generator for x4 (the release) and x2 (BasicSR's pixel-unshuffled input)."""

    def __init__(self, scale: int = 4, nf: int = 64, nb: int = 23, gc: int = 32) -> None:
        super().__init__()
        if scale not in (2, 4):
            raise BenchError(f"RRDBNet upsamples x4 (ESRGAN) or x2 (BasicSR's pixel-unshuffle variant), not x{scale}")
        self.scale = scale
        self.conv_first = nn.Conv2d(3 * (4 if scale == 2 else 1), nf, 3, 1, 1)
        self.RRDB_trunk = nn.Sequential(*[RRDB(nf, gc) for _ in range(nb)])
        self.trunk_conv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.upconv2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.HRconv = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, 3, 3, 1, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.scale == 2:
            x = F.pixel_unshuffle(x, 2)
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.RRDB_trunk(fea))
        fea = self.lrelu(self.upconv1(F.interpolate(fea, scale_factor=2, mode="nearest")))
        fea = self.lrelu(self.upconv2(F.interpolate(fea, scale_factor=2, mode="nearest")))
        return self.conv_last(self.lrelu(self.HRconv(fea)))


def init_rrdb(net: RRDBNet, scale: float = 0.1) -> None:
    """MSRA (Kaiming normal) init x ``scale`` for the dense blocks' convs, biases 0 (ESRGAN's smaller init)."""
    for m in net.RRDB_trunk.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight)
            m.weight.data.mul_(scale)
            nn.init.zeros_(m.bias)


class VGGStyleDiscriminator(nn.Module):
    """BasicSR's ``VGGStyleDiscriminator`` (ESRGAN's VGG128) generalised to ``patch`` = 32 x k; one logit per
    image. Attribute names as BasicSR's."""

    def __init__(self, patch: int = 128, nf: int = 64, dense: int = 100) -> None:
        super().__init__()
        if patch % 32:
            raise BenchError(f"the VGG-style discriminator halves the patch 5 times: patch_size {patch} is not a "
                             "multiple of 32")
        self.patch = patch
        self.conv0_0 = nn.Conv2d(3, nf, 3, 1, 1)
        self.conv0_1 = nn.Conv2d(nf, nf, 4, 2, 1, bias=False)
        self.bn0_1 = nn.BatchNorm2d(nf)
        cin = nf
        for k, cout in enumerate((2 * nf, 4 * nf, 8 * nf, 8 * nf), start=1):
            setattr(self, f"conv{k}_0", nn.Conv2d(cin, cout, 3, 1, 1, bias=False))
            setattr(self, f"bn{k}_0", nn.BatchNorm2d(cout))
            setattr(self, f"conv{k}_1", nn.Conv2d(cout, cout, 4, 2, 1, bias=False))
            setattr(self, f"bn{k}_1", nn.BatchNorm2d(cout))
            cin = cout
        side = patch // 32
        self.linear1 = nn.Linear(cin * side * side, dense)
        self.linear2 = nn.Linear(dense, 1)
        self.lrelu = nn.LeakyReLU(0.2, inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.patch, self.patch):
            raise BenchError(f"the VGG-style discriminator takes {self.patch}x{self.patch} patches, got "
                             f"{list(x.shape[-2:])}")
        feat = self.lrelu(self.conv0_0(x))
        feat = self.lrelu(self.bn0_1(self.conv0_1(feat)))
        for k in range(1, 5):
            feat = self.lrelu(getattr(self, f"bn{k}_0")(getattr(self, f"conv{k}_0")(feat)))
            feat = self.lrelu(getattr(self, f"bn{k}_1")(getattr(self, f"conv{k}_1")(feat)))
        return self.linear2(self.lrelu(self.linear1(feat.flatten(1)))).view(-1)


class ESRGANModel(SRModel):
    output_range = (0.0, 1.0)

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info)
        self.G = RRDBNet(self.scale, int(cfg.nf), int(cfg.n_blocks), int(cfg.gc))
        init_rrdb(self.G)
        self.zero_last(self.G.conv_last)
        if cfg.adversarial:
            self.D = VGGStyleDiscriminator(int(cfg.patch_size), int(cfg.ndf), int(cfg.d_dense))


# BasicSR's names -> xinntao's (ours), from BasicSR scripts/model_conversion/convert_models.py (convert_esrgan_model)
_BASICSR_RENAMES = ((re.compile(r"^body\.(\d+)\.rdb(\d)\."), r"RRDB_trunk.\1.RDB\2."),
                    (re.compile(r"^conv_body\."), "trunk_conv."),
                    (re.compile(r"^conv_up(\d)\."), r"upconv\1."),
                    (re.compile(r"^conv_hr\."), "HRconv."))


def official_to_ours(state: dict[str, Any]) -> dict[str, Any]:
    """A released RRDBNet state dict with our (xinntao's) key names: BasicSR-style files (recognised by their
    ``body.`` / ``conv_body.`` keys) are renamed, xinntao-style ones are returned unchanged. Renaming only: the
    strict load that follows checks every key and shape."""
    keys = [k[len("module."):] if k.startswith("module.") else k for k in state]
    if not any(k.startswith(("body.", "conv_body.")) for k in keys):
        return dict(state)
    out: dict[str, Any] = {}
    for k, v in state.items():
        name = k[len("module."):] if k.startswith("module.") else k
        for pattern, repl in _BASICSR_RENAMES:
            name, n = pattern.subn(repl, name)
            if n:
                break
        if name in out:
            raise BenchError(f"RRDBNet checkpoint holds both '{k}' and another key that maps to '{name}'")
        out[name] = v
    return out


@register_method("esrgan")
class ESRGAN(SRReferenceGenerator):
    """ESRGAN (Wang et al. 2018); configs ``paper`` (the GAN model, ``RRDB_ESRGAN_x4``), ``paper-psnr`` (the
    PSNR-oriented ``RRDB_PSNR_x4``), ``paper-gan`` (GAN stage from the released PSNR model), ``mini``, ``mini-psnr``.
    Without ``--checkpoint`` / ``--train``, ``paper`` / ``paper-psnr`` use the registered releases."""

    method_key = "esrgan"
    releases = {"paper": ("esrgan-rrdb-esrgan-x4", "basicsr-esrgan-x4"),
                "paper-psnr": ("esrgan-rrdb-psnr-x4", "basicsr-esrgan-psnr-x4")}

    def build(self, cfg: Any, info: DatasetInfo) -> ESRGANModel:
        return ESRGANModel(cfg, info)

    def check_release_scale(self, state: dict[str, torch.Tensor], what: str) -> None:
        w = state.get("conv_first.weight")
        own = self.model.G.conv_first.weight
        if w is not None and w.dim() == 4 and w.shape[1] != own.shape[1]:
            theirs = {3: "x4", 12: "x2"}.get(int(w.shape[1]), f"{int(w.shape[1])} input channels")
            raise BenchError(f"{what}: an RRDBNet for {theirs} (conv_first takes {int(w.shape[1])} channels); the "
                             f"dataset '{self.info.name}' is x{self.model.scale}")


__all__ = ["ESRGAN", "ESRGANModel", "RRDB", "RRDBNet", "ResidualDenseBlock5C", "VGGStyleDiscriminator",
           "init_rrdb", "official_to_ours"]
