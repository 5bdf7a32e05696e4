"""DINOv2 ViT-L/14 image features (1024-d CLS token) as Stein et al.'s dgm-eval computes them (FD_DINOv2).

dgm-eval's pipeline: torchvision ``Resize((224, 224), BICUBIC)`` of the PIL image (no crop), ``ToTensor``, ImageNet
mean/std, then ``model(x)`` of torch hub's ``dinov2_vitl14``: the CLS token after the final LayerNorm (the head is the
identity). The network is timm's ``VisionTransformer`` (the optional extra ``cgan-bench[dinov2]``) holding the
official checkpoint's tensors under the same names; the official model was trained at 518 px (37 x 37 patches) and
resamples its position embedding for a 224 px input at every call, with bicubic interpolation by the scale factor
(16 + 0.1) / 37 and no antialiasing. We do that once at load time (:func:`official_pos_embed`), so the forward at
224 px is the official one. ``tests/fixtures/dinov2`` holds the official code's output for a small model of the
same family (PROVENANCE.md there), which our build must reproduce.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from bench import weights
from bench.errors import BenchError, WeightsUnavailable

DINO_SIZE = 224
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
PREPROCESS = "torchvision Resize((224, 224), bicubic, PIL), ToTensor, ImageNet mean/std (dgm-eval)"


@dataclass(frozen=True)
class ViTConfig:
    """The DINOv2 ViT options our build needs (the hub's ``dinov2_vitl14``: patch 14, LayerScale, plain MLP,
    position embeddings resampled with offset 0.1 and no antialiasing)."""

    embed_dim: int = 1024
    depth: int = 24
    num_heads: int = 16
    patch_size: int = 14
    interpolate_offset: float = 0.1


VITL14 = ViTConfig()


def official_pos_embed(pos_embed: torch.Tensor, grid: int, offset: float = 0.1) -> torch.Tensor:
    """The position embedding DINOv2's ``interpolate_pos_encoding`` gives a ``grid x grid`` patch input, computed
    the way the official code does (float32, bicubic by scale factor (grid + offset) / M, no antialias)."""
    cls, patches = pos_embed[:, :1], pos_embed[:, 1:].float()
    m = math.isqrt(patches.shape[1])
    if m * m != patches.shape[1]:
        raise BenchError(f"DINOv2 position embedding of {patches.shape[1]} patches is not a square grid")
    if m == grid:
        return pos_embed
    dim = patches.shape[-1]
    scale = float(grid + offset) / m
    out = torch.nn.functional.interpolate(patches.reshape(1, m, m, dim).permute(0, 3, 1, 2), mode="bicubic",
                                          antialias=False, scale_factor=(scale, scale))
    if out.shape[-2:] != (grid, grid):
        raise BenchError(f"DINOv2 position embedding resampled to {tuple(out.shape[-2:])}, expected {grid}x{grid}")
    return torch.cat([cls, out.permute(0, 2, 3, 1).reshape(1, grid * grid, dim).to(pos_embed.dtype)], dim=1)


def vit_from_state_dict(state: dict[str, torch.Tensor], cfg: ViTConfig = VITL14) -> torch.nn.Module:
    """timm's VisionTransformer at 224 px holding an official DINOv2 state dict (strict: every tensor used, every
    parameter given; the unused ``mask_token`` of the training objective is the only key dropped)."""
    try:
        from timm.models.vision_transformer import VisionTransformer
    except ImportError as exc:
        raise WeightsUnavailable("the DINOv2 feature network needs the package timm: "
                                 "pip install 'cgan-bench[dinov2]'") from exc
    state = {k: v for k, v in state.items() if k != "mask_token"}
    if "pos_embed" not in state:
        raise BenchError("not a DINOv2 ViT state dict (no pos_embed)")
    state["pos_embed"] = official_pos_embed(state["pos_embed"], DINO_SIZE // cfg.patch_size, cfg.interpolate_offset)
    with torch.device("meta"):  # no 300M-parameter random init: every tensor comes from the checkpoint
        model = VisionTransformer(img_size=DINO_SIZE, patch_size=cfg.patch_size, embed_dim=cfg.embed_dim,
                                  depth=cfg.depth, num_heads=cfg.num_heads, mlp_ratio=4.0, qkv_bias=True,
                                  init_values=1.0, num_classes=0, global_pool="token")
    result = model.load_state_dict(state, strict=False, assign=True)
    if result.missing_keys or result.unexpected_keys:
        raise BenchError(f"DINOv2 checkpoint does not match ViT {cfg}: missing {result.missing_keys[:3]}, "
                         f"unexpected {result.unexpected_keys[:3]}")
    return model.eval()


@functools.lru_cache(maxsize=1)
def _load_vit(path: str, sha256: str, device: str) -> torch.nn.Module:
    state = torch.load(path, map_location="cpu", weights_only=True)
    return vit_from_state_dict(state, VITL14).to(device)


@functools.lru_cache(maxsize=1)
def _dinov2_transform():
    from torchvision import transforms

    return transforms.Compose([
        transforms.Resize((DINO_SIZE, DINO_SIZE), interpolation=transforms.InterpolationMode.BICUBIC),
        transforms.ToTensor(), transforms.Normalize(MEAN, STD)])


def dinov2_preprocess(img: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 -> float32 3x224x224, dgm-eval's transform (built once)."""
    from PIL import Image

    return _dinov2_transform()(Image.fromarray(img).convert("RGB")).numpy()


class Dinov2Features:
    """1024-d DINOv2 ViT-L/14 CLS features; weights through the resolver, sha256-checked."""

    name = "dinov2-vit-l-14"

    def __init__(self, device: str | torch.device = "cpu", weights_path: str | None = None,
                 model: torch.nn.Module | None = None) -> None:
        self.device = torch.device(device)
        if model is None:
            self.weights = weights.resolve(weights.DINOV2_VITL14.name, weights_path)
            model = _load_vit(str(self.weights.path), self.weights.sha256, str(self.device))
        self.model = model.to(self.device).eval()
        self.dim = int(self.model.embed_dim)

    def preprocess(self, images: list[np.ndarray]) -> torch.Tensor:
        return torch.from_numpy(np.stack([dinov2_preprocess(im) for im in images]))

    @torch.no_grad()
    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1:] != (3, DINO_SIZE, DINO_SIZE):
            raise BenchError(f"DINOv2 expects [B,3,{DINO_SIZE},{DINO_SIZE}], got {tuple(x.shape)}")
        return self.model(x.to(self.device, torch.float32)).float().cpu()
