"""cGAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"): MLP generator and discriminator, both
conditioned on the one-hot class vector y; BCE GAN loss with the non-saturating generator loss.

What we follow (the paper's MNIST model, section 4.1):
  * G: z (100-d, uniform on the unit hypercube) and y are each mapped to a ReLU hidden layer (200 and 1000 units),
    concatenated, mapped to a joint ReLU layer of 1200 units, then to the image (the paper: 784 sigmoid units; here
    ``image_channels`` x H x W tanh units, the [-1, 1] convention of the other models);
  * D: x (flattened) is mapped to a maxout layer of 240 units x 5 pieces, y to a maxout layer of 50 units x 5
    pieces, both to a joint maxout layer of 240 units x 4 pieces, then to one logit (the paper's sigmoid unit);
  * dropout 0.5 in G and D (we apply it after every hidden layer during training; off at generation);
  * SGD, batch 100, lr 0.1 decayed exponentially by 1.00004 per update down to 1e-6, momentum 0.5 raised to 0.7
    (config ``paper``).
Setting both branch widths (``g_z_hidden`` / ``g_y_hidden``, ``d_x_hidden`` / ``d_y_hidden``) to 0 gives the
simpler reading of the paper's text, where the one-hot vector is concatenated to z (G) and to the flattened
image (D) directly. The paper's G loss is the minimax one; like the GAN paper's recommendation (and every
implementation since) G maximises log D(G(z|y)) (``gan_mode: vanilla`` = BCE, non-saturating).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from bench.adapter import DatasetInfo, register_method
from reference_models.class_common import ClassGANModel, ClassReferenceGenerator, init_normal, one_hot_classes


class Maxout(nn.Module):
    """Linear to ``units`` x ``pieces``, then the max over the pieces (Goodfellow et al. 2013)."""

    def __init__(self, fin: int, units: int, pieces: int) -> None:
        super().__init__()
        self.units, self.pieces = units, pieces
        self.linear = nn.Linear(fin, units * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x).view(x.shape[0], self.units, self.pieces).amax(-1)


def _widths(w: Any) -> list[int]:
    return [int(w)] if isinstance(w, int) else [int(v) for v in w]


def _hidden(fin: int, units: int, pieces: int, dropout: float, act: str = "relu", norm: str = "none") -> nn.Module:
    """One hidden layer: maxout (``pieces`` > 1) or linear + [BatchNorm] + ReLU / LeakyReLU 0.2, then dropout."""
    if pieces > 1:
        layers: list[nn.Module] = [Maxout(fin, units, pieces)]
    else:
        layers = [nn.Linear(fin, units)]
        if norm == "batch":
            layers.append(nn.BatchNorm1d(units))
        elif norm != "none":
            raise ValueError(f"cgan norm must be 'batch' or 'none', not {norm!r}")
        if act == "relu":
            layers.append(nn.ReLU())
        elif act == "lrelu":
            layers.append(nn.LeakyReLU(0.2))
        else:
            raise ValueError(f"cgan act must be 'relu' or 'lrelu', not {act!r}")
    if dropout:
        layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _stack(fin: int, widths: list[int], pieces: int, dropout: float, act: str, norm: str) -> tuple[nn.Module, int]:
    layers = []
    for w in widths:
        layers.append(_hidden(fin, w, pieces, dropout, act, norm))
        fin = w
    return nn.Sequential(*layers), fin


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, n_classes: int, out_shape: tuple[int, int, int], z_hidden: int, y_hidden: int,
                 hidden: Any, dropout: float, act: str = "relu", norm: str = "none") -> None:
        super().__init__()
        self.n_classes, self.out_shape = n_classes, out_shape
        self.branches = bool(z_hidden and y_hidden)
        if self.branches:
            self.z_branch = _hidden(z_dim, z_hidden, 1, dropout, act, norm)
            self.y_branch = _hidden(n_classes, y_hidden, 1, dropout, act, norm)
            fin = z_hidden + y_hidden
        else:
            fin = z_dim + n_classes
        self.joint, fin = _stack(fin, _widths(hidden), 1, dropout, act, norm)
        c, h, w = out_shape
        self.out = nn.Linear(fin, c * h * w)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        oh = one_hot_classes(y, self.n_classes).to(z.dtype)
        h = torch.cat([self.z_branch(z), self.y_branch(oh)], 1) if self.branches else torch.cat([z, oh], 1)
        return torch.tanh(self.out(self.joint(h))).view(z.shape[0], *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, n_classes: int, in_shape: tuple[int, int, int], x_hidden: int, y_hidden: int, hidden: Any,
                 pieces: int, joint_pieces: int, dropout: float, act: str = "relu") -> None:
        super().__init__()
        self.n_classes = n_classes
        fx = in_shape[0] * in_shape[1] * in_shape[2]
        self.branches = bool(x_hidden and y_hidden)
        if self.branches:
            self.x_branch = _hidden(fx, x_hidden, pieces, dropout, act)
            self.y_branch = _hidden(n_classes, y_hidden, pieces, dropout, act)
            fin = x_hidden + y_hidden
        else:
            fin = fx + n_classes
        self.joint, fin = _stack(fin, _widths(hidden), joint_pieces, dropout, act, "none")
        self.out = nn.Linear(fin, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(x.shape[0], -1)
        oh = one_hot_classes(y, self.n_classes).to(flat.dtype)
        h = torch.cat([self.x_branch(flat), self.y_branch(oh)], 1) if self.branches else torch.cat([flat, oh], 1)
        return self.out(self.joint(h)).view(-1)


class CGANModel(ClassGANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info)
        h, w = info.resolution
        shape = (self.channels, h, w)
        n = info.num_classes
        self.G = MLPGenerator(cfg.z_dim, n, shape, cfg.g_z_hidden, cfg.g_y_hidden, cfg.g_hidden, cfg.g_dropout,
                              cfg.act, cfg.g_norm)
        self.D = MLPDiscriminator(n, shape, cfg.d_x_hidden, cfg.d_y_hidden, cfg.d_hidden, cfg.d_pieces,
                                  cfg.d_joint_pieces, cfg.d_dropout, cfg.act)
        # the paper's pylearn2 models draw weights from a small uniform/normal range; N(0, 0.02) here (as DCGAN)
        init_normal(self.G)
        init_normal(self.D)

    def input_keys(self) -> list[str]:
        return []

    def d_outputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.D(x, y), None


@register_method("cgan")
class CGAN(ClassReferenceGenerator):
    """cGAN (Mirza & Osindero 2014) through the shared trainer; configs ``mini``, ``mini-wgangp``, ``paper``."""

    method_key = "cgan"

    def build(self, cfg: Any, info: DatasetInfo) -> CGANModel:
        return CGANModel(cfg, info)
