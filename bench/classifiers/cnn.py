"""A small image classifier, trained in seconds on a CPU: the embedded classifier of the class-conditional track
(``class_acc``: accuracy of generated images under a fixed classifier) and the classifier that the Classification
Accuracy Score trains on generated images (``cas``). One architecture and one training loop serve both, so the
committed classifier and CAS are the same recipe on different data.

Hand-written (15 lines of torch) because no well-kept package ships a classifier for these small class datasets; the
recipe is data: ``ARCH`` and the training options enter the fingerprint of every number computed with it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

# Bump when build_net, to_input or the training loop below changes: it names the recipe in every fingerprint.
ARCH = "cnn-bn-32-64-128-gap-v1"


@dataclass(frozen=True)
class TrainOptions:
    """Everything that changes a trained classifier besides its data (part of the protocol where it is used)."""

    steps: int = 600
    batch_size: int = 64
    lr: float = 2e-3
    weight_decay: float = 1e-4
    shift: int = 2  # random translation by up to this many pixels (replicate padding), per sample per step

    def as_dict(self) -> dict[str, Any]:
        return {"arch": ARCH, "optimizer": "adam", "schedule": "cosine", **asdict(self)}


def build_net(num_classes: int) -> nn.Module:
    """conv3x3-BN-ReLU at 32, 64, 128 channels with 2x2 max-pooling between, global average pool, linear: any
    input size of at least 4x4."""
    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 32), nn.MaxPool2d(2), *block(32, 64), nn.MaxPool2d(2), *block(64, 128),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, num_classes),
    )


def to_input(images_u8: torch.Tensor) -> torch.Tensor:
    """uint8 [B,3,H,W] -> float32 in [-1, 1]."""
    return images_u8.to(torch.float32) / 127.5 - 1.0


def _shifted(x: torch.Tensor, shift: int, gen: torch.Generator) -> torch.Tensor:
    """Each image translated by its own random (dy, dx) in [-shift, shift], edges replicated."""
    if shift <= 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, [shift] * 4, mode="replicate")
    rows = torch.randint(0, 2 * shift + 1, (b, 1), generator=gen) + torch.arange(h)  # [B, H]
    cols = torch.randint(0, 2 * shift + 1, (b, 1), generator=gen) + torch.arange(w)  # [B, W]
    out = padded[torch.arange(b)[:, None, None], :, rows[:, :, None], cols[:, None, :]]  # [B, H, W, C]
    return out.permute(0, 3, 1, 2).contiguous()


def train(images_u8: torch.Tensor, labels: torch.Tensor, num_classes: int, opts: TrainOptions, seed: int, *,
          device: str | torch.device = "cpu", log: Callable[[str], None] | None = None) -> nn.Module:
    """Train :func:`build_net` on uint8 [N,3,H,W] images with int64 [N] labels; returns the net in eval mode.

    Deterministic for a given seed, data order, device and thread count: the initial weights, the minibatches
    (drawn with replacement) and the shifts all come from ``seed``; the global RNG is left untouched.
    """
    if images_u8.shape[0] != labels.shape[0] or images_u8.shape[0] == 0:
        raise ValueError(f"need as many labels as images (and at least one), got {images_u8.shape[0]} images and "
                         f"{labels.shape[0]} labels")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = build_net(num_classes)
    net = net.to(device).train()
    gen = torch.Generator().manual_seed(seed)
    optim = torch.optim.Adam(net.parameters(), lr=opts.lr, weight_decay=opts.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=opts.steps)
    n = images_u8.shape[0]
    for step in range(opts.steps):
        idx = torch.randint(0, n, (opts.batch_size,), generator=gen)
        x = _shifted(to_input(images_u8[idx]), opts.shift, gen).to(device)
        loss = F.cross_entropy(net(x), labels[idx].to(device))
        optim.zero_grad(set_to_none=True)
        loss.backward()
        optim.step()
        sched.step()
        if log is not None and (step + 1) % max(1, opts.steps // 10) == 0:
            log(f"step {step + 1}/{opts.steps} loss {float(loss):.4f}")
    return net.eval()


@torch.no_grad()
def predict(net: nn.Module, images_u8: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """int64 [N] predicted classes of uint8 [N,3,H,W] images."""
    device = next(net.parameters()).device
    out = [net(to_input(images_u8[i:i + batch_size]).to(device)).argmax(1).cpu()
           for i in range(0, images_u8.shape[0], batch_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.int64)
