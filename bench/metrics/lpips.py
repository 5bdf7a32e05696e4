"""LPIPS (the ``lpips`` package): linear heads from its wheel, the backbone via the weight resolver."""

from __future__ import annotations

import torch

from bench.errors import BenchError
from bench.metrics.paired import PairedMean
from bench.metrics.registry import Column, MetricSpec

BACKBONE_WEIGHTS = {"alex": "torchvision-alexnet"}


def build_lpips(net: str = "alex", *, device: str | torch.device = "cpu", backbone_path: str | None = None):
    """An ``lpips.LPIPS`` whose ImageNet backbone comes from the resolver (never from a run-time download).

    Returns ``(module, resolved_weights)``; raises WeightsUnavailable when the backbone file is not found.
    """
    import lpips

    from bench import weights

    if net not in BACKBONE_WEIGHTS:
        raise BenchError(f"LPIPS net '{net}' is not supported (supported: {', '.join(BACKBONE_WEIGHTS)})")
    resolved = weights.resolve(BACKBONE_WEIGHTS[net], backbone_path)
    model = lpips.LPIPS(net=net, pnet_rand=True, verbose=False)
    load_backbone(model, torch.load(resolved.path, map_location="cpu", weights_only=True))
    return model.eval().to(device), resolved


def load_backbone(model, torchvision_state: dict[str, torch.Tensor]) -> None:
    """Copy torchvision ``features.<i>.*`` tensors into lpips' ``net.slice<k>.<i>.*`` (every key, strictly)."""
    target = model.net.state_dict()
    mapped = {}
    for key in target:
        _slice, idx, param = key.split(".")
        src = f"features.{idx}.{param}"
        if src not in torchvision_state or torchvision_state[src].shape != target[key].shape:
            raise BenchError(f"LPIPS backbone weights lack '{src}' with shape {tuple(target[key].shape)}")
        mapped[key] = torchvision_state[src]
    model.net.load_state_dict(mapped, strict=True)


def lpips_distance(model, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Per-pair LPIPS of uint8 [B,3,H,W] images (mapped to [-1, 1] as the package expects)."""
    dev = next(model.parameters()).device
    with torch.no_grad():
        x = a.to(dev, torch.float32) / 127.5 - 1.0
        y = b.to(dev, torch.float32) / 127.5 - 1.0
        return model(x, y).reshape(-1).to(torch.float64).cpu()


SPEC = MetricSpec("lpips", higher_is_better=False, inputs=("pairs",), networks=("lpips-alex",), build=lambda ctx: PairedMean("lpips", ctx.networks["lpips-alex"].distance),
                  columns=(Column("lpips", "LPIPS", False, 3),), builtin=True)
