"""A cheap generator whose output depends on the run seed (for sweep tests: seeds must give different values)."""

from __future__ import annotations

from typing import Any, Sequence

from bench.adapter import Generator, per_sample_noise


class NoisyColouring(Generator):
    """Class colours shifted in brightness by a per-sample seeded amount."""

    multimodal = True

    def __init__(self, info, **kwargs: Any) -> None:
        import torch

        super().__init__(info, **kwargs)
        n = max(info.num_classes, (info.ignore_index or 0) + 1)
        self.table = torch.zeros((n, 3), dtype=torch.int16)
        for i, rgb in enumerate(info.palette[:n]):
            self.table[i] = torch.tensor(rgb, dtype=torch.int16)

    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> Any:
        import torch

        label = batch["label"][:, 0].long().clamp(0, len(self.table) - 1)
        base = self.table[label].permute(0, 3, 1, 2)
        shift = (per_sample_noise(seeds, (1, 1, 1)) * 40).round().to(torch.int16)
        return (base + shift).clamp(0, 255).to(torch.uint8)
