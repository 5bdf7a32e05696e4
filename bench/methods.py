"""Built-in trivial methods, so the whole pipeline runs before any GAN exists."""

from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import Generator, register_method


@register_method("oracle")
class RealImageOracle(Generator):
    """Returns the ground-truth photo: the upper-bound row (FID ~0, the segmenter's own mIoU)."""

    needs_image = True

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        return batch["image"].clone()


@register_method("label-colouring")
class LabelColouring(Generator):
    """Paints every pixel with its class colour from the dataset card: a lower-bound baseline."""

    def __init__(self, info, **kwargs: Any) -> None:
        import torch

        super().__init__(info, **kwargs)
        n = max(info.num_classes, (info.ignore_index or 0) + 1)
        table = torch.zeros((n, 3), dtype=torch.uint8)
        for i, rgb in enumerate(info.palette[:n]):
            table[i] = torch.tensor(rgb, dtype=torch.uint8)
        self.table = table

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        label = batch["label"][:, 0].long().clamp(0, len(self.table) - 1)
        return self.table[label].permute(0, 3, 1, 2).contiguous()
