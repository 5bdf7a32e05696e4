"""GAN losses (vanilla, least squares, hinge; the WGAN-GP gradient penalty), discriminator feature matching, the
VGG19 perceptual loss and the VAE KL term, shared by the reference models.

The VGG19 weights are torchvision's ImageNet file (``vgg19-dcbe5be5.pth``) found through ``bench.weights.resolve``.
When no verified copy exists (an offline machine), ``VGGLoss`` disables itself with one warning and reports the
reason in ``status``; the trainer writes it into the run record. As in SPADE and pix2pixHD, images in [-1, 1] are
fed to VGG as they are (no ImageNet mean/std), and relu1_1 ... relu5_1 are weighted 1/32, 1/16, 1/8, 1/4, 1.
"""

from __future__ import annotations

import warnings
from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench import weights
from reference_models import weight_files

VGG19 = weight_files.VGG19

GAN_MODES = ("vanilla", "lsgan", "hinge")


def _last(pred: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
    return pred[-1] if isinstance(pred, (list, tuple)) else pred


def gan_loss_single(pred: torch.Tensor, target_is_real: bool, mode: str, for_discriminator: bool = True) -> torch.Tensor:
    if mode == "vanilla":
        target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
        return F.binary_cross_entropy_with_logits(pred, target)
    if mode == "lsgan":
        target = torch.full_like(pred, 1.0 if target_is_real else 0.0)
        return F.mse_loss(pred, target)
    if mode == "hinge":
        if for_discriminator:
            return F.relu(1.0 - pred).mean() if target_is_real else F.relu(1.0 + pred).mean()
        if not target_is_real:
            raise ValueError("the generator's hinge loss aims for real")
        return -pred.mean()
    raise ValueError(f"unknown GAN loss '{mode}' (known: {', '.join(GAN_MODES)})")


def gan_loss(preds: torch.Tensor | Sequence, target_is_real: bool, mode: str, *, for_discriminator: bool = True,
             reduce: str = "mean") -> torch.Tensor:
    """GAN loss of one discriminator output, or of a multi-scale list (each a tensor or a list of intermediate
    features whose last entry is the prediction). ``reduce="mean"`` averages over scales (SPADE),
    ``"sum"`` adds them (pix2pixHD)."""
    if isinstance(preds, torch.Tensor):
        return gan_loss_single(preds, target_is_real, mode, for_discriminator)
    losses = [gan_loss_single(_last(p), target_is_real, mode, for_discriminator) for p in preds]
    total = torch.stack(losses).sum()
    return total / len(losses) if reduce == "mean" else total


def feature_matching(pred_fake: Sequence[Sequence[torch.Tensor]], pred_real: Sequence[Sequence[torch.Tensor]],
                     lam: float, layer_weight: float = 1.0) -> torch.Tensor:
    """L1 between the discriminators' intermediate features of fake and real (real detached), final layer
    excluded; each scale weighted 1/num_D and each layer ``layer_weight`` (pix2pixHD: 4/(n_layers+1); SPADE: 1)."""
    num_d = len(pred_fake)
    total = pred_fake[0][0].new_zeros(())
    for i in range(num_d):
        for j in range(len(pred_fake[i]) - 1):
            total = total + F.l1_loss(pred_fake[i][j], pred_real[i][j].detach()) * (lam * layer_weight / num_d)
    return total


def gradient_penalty(critic, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x critic(x_hat)||_2 - 1)^2] at x_hat = eps * real + (1 - eps) *
    fake, eps ~ U[0, 1] per sample (from the global RNG); ``critic`` maps images to one score per sample. The
    caller multiplies by the penalty weight (10 in the paper)."""
    eps = torch.rand((real.shape[0],) + (1,) * (real.dim() - 1), device=real.device, dtype=real.dtype)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    score = critic(x_hat)
    (grad,) = torch.autograd.grad(score.sum(), x_hat, create_graph=True)
    return ((grad.reshape(grad.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()


def kld_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) summed over the batch and dimensions (SPADE's ``KLDLoss``)."""
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())


class VGG19Features(nn.Module):
    """relu1_1, relu2_1, relu3_1, relu4_1, relu5_1 of torchvision's VGG19 ``features`` (frozen)."""

    SLICES = (2, 7, 12, 21, 30)

    def __init__(self, features: nn.Sequential) -> None:
        super().__init__()
        bounds = (0,) + self.SLICES
        self.slices = nn.ModuleList(nn.Sequential(*[features[i] for i in range(a, b)]) for a, b in zip(bounds, bounds[1:]))
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for s in self.slices:
            x = s(x)
            out.append(x)
        return out


_warned: set[str] = set()


def build_vgg19(weights_path: str | None = None) -> tuple[VGG19Features | None, str]:
    """(features, status): the frozen VGG19 feature stack, or None and why (one warning per process)."""
    from bench.errors import BenchError

    try:
        resolved = weights.resolve(VGG19.name, weights_path)
    except BenchError as exc:
        why = str(exc).splitlines()[0]
        status = f"disabled: VGG19 weights unavailable ({why})"  # the training record keeps where it looked
        if "vgg" not in _warned:
            _warned.add("vgg")
            warnings.warn(f"VGG perceptual loss disabled: {why.split('; looked in')[0]}; training goes on without "
                          f"it (train.json and the run record say so). To enable it, put the file in "
                          f"$BENCH_WEIGHTS_DIR or run `bench weights --download torchvision-vgg19`", stacklevel=2)
        return None, status
    import torchvision

    with torch.random.fork_rng(devices=[]):  # its random init is overwritten: leave the training's RNG alone
        net = torchvision.models.vgg19(weights=None)
    state = torch.load(resolved.path, map_location="cpu", weights_only=True)
    net.load_state_dict(state)
    return VGG19Features(net.features).eval(), f"enabled: {resolved.path} (sha256 {resolved.sha256[:16]}...)"


class VGGLoss:
    """Perceptual loss: sum_i w_i * L1(VGG_i(x), VGG_i(y)), y detached. Disabled (returns None) without weights.

    Deliberately not an ``nn.Module``: the frozen VGG is never part of a model's state dict or checkpoint.
    """

    WEIGHTS = (1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0)

    def __init__(self, weights_path: str | None = None, device: torch.device | str = "cpu") -> None:
        vgg, self.status = build_vgg19(weights_path)
        self.vgg = vgg.to(device) if vgg is not None else None
        self.enabled = vgg is not None

    def to(self, device: torch.device | str) -> "VGGLoss":
        if self.vgg is not None:
            self.vgg = self.vgg.to(device)
        return self

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        if self.vgg is None:
            return None
        fx, fy = self.vgg(x), self.vgg(y)
        return sum(w * F.l1_loss(a, b.detach()) for w, a, b in zip(self.WEIGHTS, fx, fy))
