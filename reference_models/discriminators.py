"""Discriminators, layer for layer as in the authors' code (so their state-dict keys map onto ours):

* ``PatchDiscriminator``: pix2pix's ``NLayerDiscriminator`` (junyanz/pytorch-CycleGAN-and-pix2pix), one flat
  ``model`` Sequential; n_layers=3 is the 70x70 PatchGAN.
* ``MultiscaleDiscriminatorHD``: pix2pixHD's ``MultiscaleDiscriminator`` with intermediate features
  (``scale{i}_layer{j}``), scale i seeing the input downsampled ``num_D - 1 - i`` times.
* ``MultiscaleDiscriminatorSPADE``: SPADE's ``MultiscaleDiscriminator`` of ``NLayerDiscriminator``s
  (``discriminator_{i}.model{n}``), spectral norm + instance norm on the inner convolutions.

Every discriminator returns a list (one entry per scale) of lists of features whose last entry is the prediction.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm


def norm_2d(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels, affine=True)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown norm '{kind}' (batch, instance, none)")


def downsample(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=2, padding=1, count_include_pad=False)


class PatchDiscriminator(nn.Module):
    """pix2pix PatchGAN: C64-C128-C256-C512 (4x4 convs, stride 2, 2, 2, 1) and a 1-channel 4x4 conv."""

    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "batch") -> None:
        super().__init__()
        use_bias = norm != "batch"
        seq: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2, padding=1, bias=use_bias),
                    norm_2d(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=1, padding=1, bias=use_bias),
                norm_2d(norm, ndf * mult), nn.LeakyReLU(0.2, True)]
        seq += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*seq)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        return [[self.model(x)]]


class _NLayerHD(nn.Module):
    def __init__(self, input_nc: int, ndf: int, n_layers: int, norm: str) -> None:
        super().__init__()
        padw = int(math.ceil((4 - 1.0) / 2))
        seq = [[nn.Conv2d(input_nc, ndf, 4, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]]
        nf = ndf
        for _ in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            seq += [[nn.Conv2d(prev, nf, 4, stride=2, padding=padw), norm_2d(norm, nf), nn.LeakyReLU(0.2, True)]]
        prev, nf = nf, min(nf * 2, 512)
        seq += [[nn.Conv2d(prev, nf, 4, stride=1, padding=padw), norm_2d(norm, nf), nn.LeakyReLU(0.2, True)]]
        seq += [[nn.Conv2d(nf, 1, 4, stride=1, padding=padw)]]
        self.layers = [nn.Sequential(*s) for s in seq]


class MultiscaleDiscriminatorHD(nn.Module):
    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: str = "instance", num_D: int = 3) -> None:
        super().__init__()
        self.num_D, self.n_layers = num_D, n_layers
        for i in range(num_D):
            net = _NLayerHD(input_nc, ndf, n_layers, norm)
            for j, layer in enumerate(net.layers):
                self.add_module(f"scale{i}_layer{j}", layer)

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        result = []
        for i in range(self.num_D):
            layers = [getattr(self, f"scale{self.num_D - 1 - i}_layer{j}") for j in range(self.n_layers + 2)]
            feats, h = [], x
            for layer in layers:
                h = layer(h)
                feats.append(h)
            result.append(feats)
            if i != self.num_D - 1:
                x = downsample(x)
        return result


def _sn_norm(conv: nn.Conv2d, norm: str) -> nn.Module:
    """SPADE's ``get_nonspade_norm_layer``: 'spectral<sub>' wraps in spectral norm, then adds the sub-norm."""
    layer: nn.Module = conv
    sub = norm
    if norm.startswith("spectral"):
        layer = spectral_norm(conv)
        sub = norm[len("spectral"):]
    if sub in ("", "none"):
        return layer
    if conv.bias is not None:  # meaningless before a normalization: removed, as in SPADE
        del conv.bias
        conv.register_parameter("bias", None)
    return nn.Sequential(layer, norm_2d(sub.replace("syncbatch", "batch"), conv.out_channels))


class _NLayerSPADE(nn.Module):
    def __init__(self, input_nc: int, ndf: int, n_layers: int, norm: str) -> None:
        super().__init__()
        padw = int(math.ceil((4 - 1.0) / 2))
        nf = ndf
        seq = [[nn.Conv2d(input_nc, nf, 4, stride=2, padding=padw), nn.LeakyReLU(0.2, False)]]
        for n in range(1, n_layers):
            prev, nf = nf, min(nf * 2, 512)
            stride = 1 if n == n_layers - 1 else 2
            seq += [[_sn_norm(nn.Conv2d(prev, nf, 4, stride=stride, padding=padw), norm), nn.LeakyReLU(0.2, False)]]
        seq += [[nn.Conv2d(nf, 1, 4, stride=1, padding=padw)]]
        for n, s in enumerate(seq):
            self.add_module(f"model{n}", nn.Sequential(*s))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for m in self.children():
            x = m(x)
            out.append(x)
        return out


class MultiscaleDiscriminatorSPADE(nn.Module):
    def __init__(self, input_nc: int, ndf: int = 64, n_layers: int = 4, norm: str = "spectralinstance",
                 num_D: int = 2) -> None:
        super().__init__()
        for i in range(num_D):
            self.add_module(f"discriminator_{i}", _NLayerSPADE(input_nc, ndf, n_layers, norm))

    def forward(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        result = []
        for d in self.children():
            result.append(d(x))
            x = downsample(x)
        return result
