"""AC-GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier GANs"): a DCGAN-style
generator G(c, z) and a discriminator with two heads, the source (real/fake) and an N-way auxiliary classifier.

Losses (section 3): L_S = E[log P(S=real | X_real)] + E[log P(S=fake | X_fake)] and L_C = E[log P(C=c | X_real)] +
E[log P(C=c | X_fake)]; D maximises L_S + L_C, G maximises L_C - L_S. As in the authors' practice and every
implementation since, G's source term is the non-saturating one (BCE of D(G(z, c)) against "real"); both class
terms are cross-entropies weighted by ``lambda_cls`` (1 in the paper). ``gan_mode: wgan-gp`` replaces L_S by the
WGAN-GP critic loss (the class terms stay).

Architecture: the paper's CIFAR-10 model (appendix table): the class enters G as a one-hot vector concatenated with
the noise (the table's 110-d input for 10 classes: 100 noise + 10 one-hot; the ImageNet models, trained on 10
classes each, also take 110; ``embed: multiply`` is the common alternative of Keras' mnist_acgan and PyTorch-GAN,
a learned class embedding multiplied elementwise with z), a linear layer to 384 maps of 4x4, then 5x5 transposed
convolutions with stride 2 (192, 96, 3 maps; BatchNorm + ReLU, tanh at the end). D: 3x3 convolutions with strides
2, 1, 2, 1, 2, 1 and 16, 32, 64, 128, 256, 512 maps, BatchNorm on all but the first, LeakyReLU 0.2, dropout 0.5
after each, then two linear heads on the flattened features. Widths are config keys (``ngf``: G's first maps;
``ndf``: D's first maps); the number of upsamplings follows the resolution (4 -> H). Weights N(0, 0.02), biases 0.
The appendix's "activation noise" in D (Gaussian, std 0 / 0.1 / 0.2 searched) is not implemented.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from reference_models.class_common import (ClassGANModel, ClassReferenceGenerator, init_normal, layer_norm_2d,
                                           one_hot_classes)


def _n_up(resolution: tuple[int, int]) -> int:
    h, w = resolution
    n = (h // 4).bit_length() - 1
    if h != w or h < 8 or 4 * 2 ** n != h:
        raise ValueError(f"acgan: square power-of-two resolutions from 8 (4 * 2**n) only, got {h}x{w}")
    return n


class ACGANGenerator(nn.Module):
    def __init__(self, z_dim: int, n_classes: int, resolution: tuple[int, int], out_channels: int, ngf: int,
                 embed: str) -> None:
        super().__init__()
        self.n_classes, self.embed, self.ngf = n_classes, embed, ngf
        if embed == "concat":
            fin = z_dim + n_classes
        elif embed == "multiply":
            self.label_emb = nn.Embedding(n_classes, z_dim)
            fin = z_dim
        else:
            raise ValueError(f"acgan embed must be 'concat' or 'multiply', not {embed!r}")
        self.fc = nn.Linear(fin, ngf * 4 * 4)
        layers: list[nn.Module] = []
        ch = ngf
        n = _n_up(resolution)
        for i in range(n):
            last = i == n - 1
            out = out_channels if last else ch // 2
            # 5x5, stride 2, "same" padding (TensorFlow's, as the authors'): exactly doubles the size
            layers.append(nn.ConvTranspose2d(ch, out, 5, stride=2, padding=2, output_padding=1, bias=last))
            if not last:
                layers += [nn.BatchNorm2d(out), nn.ReLU(True)]
            ch = out
        layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if self.embed == "concat":
            h = torch.cat([z, one_hot_classes(y, self.n_classes).to(z.dtype)], 1)
        else:
            h = z * self.label_emb(y.long())
        return self.net(self.fc(h).view(z.shape[0], self.ngf, 4, 4))


class ACGANDiscriminator(nn.Module):
    STRIDES = (2, 1, 2, 1, 2, 1)

    def __init__(self, n_classes: int, resolution: tuple[int, int], in_channels: int, ndf: int, norm: str,
                 dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch, size = in_channels, resolution[0]
        for i, stride in enumerate(self.STRIDES):
            out = ndf * 2 ** i
            layers.append(nn.Conv2d(ch, out, 3, stride=stride, padding=1, bias=(i == 0 or norm == "none")))
            if i > 0:
                if norm == "batch":
                    layers.append(nn.BatchNorm2d(out))
                elif norm == "layer":
                    layers.append(layer_norm_2d(out))
                elif norm != "none":
                    raise ValueError(f"acgan norm_d must be 'batch', 'layer' or 'none', not {norm!r}")
            layers.append(nn.LeakyReLU(0.2, True))
            if dropout:
                layers.append(nn.Dropout(dropout))
            ch, size = out, (size + 2 - 3) // stride + 1
        self.features = nn.Sequential(*layers)
        flat = ch * size * size
        self.fc_source = nn.Linear(flat, 1)
        self.fc_class = nn.Linear(flat, n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.features(x).flatten(1)
        return self.fc_source(h).view(-1), self.fc_class(h)


class ACGANModel(ClassGANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info)
        n = info.num_classes
        self.G = ACGANGenerator(cfg.z_dim, n, info.resolution, self.channels, cfg.ngf, cfg.embed)
        self.D = ACGANDiscriminator(n, info.resolution, self.channels, cfg.ndf, cfg.norm_d, cfg.d_dropout)
        init_normal(self.G)
        init_normal(self.D)

    def d_outputs(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.D(x)  # the class is not an input of D: its classifier head predicts it

    def extra_d(self, real_cls, fake_cls, y, logs):
        c_real = F.cross_entropy(real_cls.float(), y)
        c_fake = F.cross_entropy(fake_cls.float(), y)
        logs["D_cls_real"], logs["D_cls_fake"] = float(c_real.detach()), float(c_fake.detach())
        return (c_real + c_fake) * float(self.cfg.lambda_cls)

    def extra_g(self, fake_cls, y, logs):
        c = F.cross_entropy(fake_cls.float(), y)
        logs["G_cls"] = float(c.detach())
        return c * float(self.cfg.lambda_cls)


@register_method("acgan")
class ACGAN(ClassReferenceGenerator):
    """AC-GAN (Odena et al. 2017) through the shared trainer; configs ``mini``, ``mini-wgangp``, ``paper``."""

    method_key = "acgan"

    def build(self, cfg: Any, info: DatasetInfo) -> ACGANModel:
        return ACGANModel(cfg, info)
