"""SNGAN with a projection discriminator (Miyato & Koyama 2018, "cGANs with Projection Discriminator"; spectral
normalisation: Miyato et al. 2018): a ResNet generator whose BatchNorms are class-conditional (a gamma and a beta
per class), and a ResNet discriminator with spectral norm on every layer whose output is
``psi(phi(x)) + <embed(y), phi(x)>`` (the projection term); hinge loss.

Built as the authors' CIFAR-10 model (pfnet-research/sngan_projection ``gen_models/resnet_32.py``,
``dis_models/snresnet_32.py``, ``{gen,dis}_models/resblocks.py``, ``configs/sn_cifar10.yml``):
  * G: z (128-d normal) -> linear to ``ngf`` maps of 4x4 -> upsampling residual blocks (CBN, ReLU, nearest x2,
    3x3 conv, CBN, ReLU, 3x3 conv; shortcut: x2 + 1x1 conv) until the resolution -> BN, ReLU, 3x3 conv, tanh;
  * D: an "optimized" first block (conv, ReLU, conv, 2x2 average pool; shortcut: pool + 1x1 conv), one
    downsampling block, two plain blocks (ReLU, conv, ReLU, conv), ReLU, global sum pooling -> phi(x) of ``ndf``
    features; psi: a linear layer without bias; the class embedding: ``ndf`` per class;
  * init: Glorot uniform, gain sqrt(2) in the residual branches, 1 in shortcuts, linear layers and the embedding;
    CBN gammas 1, betas 0;
  * spectral norm through ``torch.nn.utils.parametrizations.spectral_norm`` (one power iteration per forward in
    training, as the authors' SN links).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from bench.adapter import DatasetInfo, register_method
from reference_models.class_common import ClassGANModel, ClassReferenceGenerator


def _glorot(module: nn.Module, gain: float) -> nn.Module:
    nn.init.xavier_uniform_(module.weight, gain)
    if getattr(module, "bias", None) is not None:
        nn.init.zeros_(module.bias)
    return module


class CategoricalConditionalBatchNorm2d(nn.Module):
    """BatchNorm without affine parameters, then a per-class gain and bias (embeddings initialised to 1 and 0)."""

    def __init__(self, channels: int, n_classes: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gamma = nn.Embedding(n_classes, channels)
        self.beta = nn.Embedding(n_classes, channels)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        g, b = self.gamma(y.long()), self.beta(y.long())
        return self.bn(x) * g[:, :, None, None] + b[:, :, None, None]


class GBlock(nn.Module):
    def __init__(self, fin: int, fout: int, n_classes: int, upsample: bool = True) -> None:
        super().__init__()
        self.upsample = upsample
        self.learnable_sc = fin != fout or upsample
        self.b1 = CategoricalConditionalBatchNorm2d(fin, n_classes)
        self.c1 = _glorot(nn.Conv2d(fin, fout, 3, padding=1), math.sqrt(2))
        self.b2 = CategoricalConditionalBatchNorm2d(fout, n_classes)
        self.c2 = _glorot(nn.Conv2d(fout, fout, 3, padding=1), math.sqrt(2))
        if self.learnable_sc:
            self.c_sc = _glorot(nn.Conv2d(fin, fout, 1), 1.0)

    def _up(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest") if self.upsample else x

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.c1(self._up(F.relu(self.b1(x, y))))
        h = self.c2(F.relu(self.b2(h, y)))
        sc = self.c_sc(self._up(x)) if self.learnable_sc else x
        return h + sc


class ResNetGenerator(nn.Module):
    def __init__(self, z_dim: int, n_classes: int, resolution: tuple[int, int], out_channels: int, ngf: int) -> None:
        super().__init__()
        h, w = resolution
        n_up = (h // 4).bit_length() - 1
        if h != w or h < 8 or 4 * 2 ** n_up != h:
            raise ValueError(f"sngan-proj: square power-of-two resolutions from 8 (4 * 2**n) only, got {h}x{w}")
        self.ngf = ngf
        self.l1 = _glorot(nn.Linear(z_dim, 4 * 4 * ngf), 1.0)
        self.blocks = nn.ModuleList(GBlock(ngf, ngf, n_classes) for _ in range(n_up))
        self.b_out = nn.BatchNorm2d(ngf)
        self.c_out = _glorot(nn.Conv2d(ngf, out_channels, 3, padding=1), 1.0)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.l1(z).view(z.shape[0], self.ngf, 4, 4)
        for blk in self.blocks:
            h = blk(h, y)
        return torch.tanh(self.c_out(F.relu(self.b_out(h))))


def _sn(module: nn.Module, gain: float) -> nn.Module:
    return spectral_norm(_glorot(module, gain))


class DBlock(nn.Module):
    def __init__(self, fin: int, fout: int, downsample: bool) -> None:
        super().__init__()
        self.downsample = downsample
        self.learnable_sc = fin != fout or downsample
        self.c1 = _sn(nn.Conv2d(fin, fout, 3, padding=1), math.sqrt(2))
        self.c2 = _sn(nn.Conv2d(fout, fout, 3, padding=1), math.sqrt(2))
        if self.learnable_sc:
            self.c_sc = _sn(nn.Conv2d(fin, fout, 1), 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.c2(F.relu(self.c1(F.relu(x))))
        sc = self.c_sc(x) if self.learnable_sc else x
        if self.downsample:
            h, sc = F.avg_pool2d(h, 2), F.avg_pool2d(sc, 2)
        return h + sc


class OptimizedDBlock(nn.Module):
    def __init__(self, fin: int, fout: int) -> None:
        super().__init__()
        self.c1 = _sn(nn.Conv2d(fin, fout, 3, padding=1), math.sqrt(2))
        self.c2 = _sn(nn.Conv2d(fout, fout, 3, padding=1), math.sqrt(2))
        self.c_sc = _sn(nn.Conv2d(fin, fout, 1), 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.avg_pool2d(self.c2(F.relu(self.c1(x))), 2)
        return h + self.c_sc(F.avg_pool2d(x, 2))


class ProjectionDiscriminator(nn.Module):
    def __init__(self, n_classes: int, in_channels: int, ndf: int) -> None:
        super().__init__()
        self.block1 = OptimizedDBlock(in_channels, ndf)
        self.block2 = DBlock(ndf, ndf, downsample=True)
        self.block3 = DBlock(ndf, ndf, downsample=False)
        self.block4 = DBlock(ndf, ndf, downsample=False)
        self.l5 = _sn(nn.Linear(ndf, 1, bias=False), 1.0)
        self.l_y = _sn(nn.Embedding(n_classes, ndf), 1.0)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.block4(self.block3(self.block2(self.block1(x))))
        h = F.relu(h).sum((2, 3))  # global sum pooling: phi(x)
        return self.l5(h).view(-1) + (self.l_y(y.long()) * h).sum(1)  # psi(phi) + <embed(y), phi>


class SNGANProjModel(ClassGANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info)
        n = info.num_classes
        self.G = ResNetGenerator(cfg.z_dim, n, info.resolution, self.channels, cfg.ngf)
        self.D = ProjectionDiscriminator(n, self.channels, cfg.ndf)

    def d_outputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.D(x, y), None


@register_method("sngan-proj")
class SNGANProjection(ClassReferenceGenerator):
    """SNGAN + projection discriminator (Miyato & Koyama 2018) through the shared trainer; configs ``mini``,
    ``paper``."""

    method_key = "sngan-proj"

    def build(self, cfg: Any, info: DatasetInfo) -> SNGANProjModel:
        return SNGANProjModel(cfg, info)
