"""``synthetic-streets-edges2photo``: paired sketch -> photo translation on the embedded street scenes.

Each synthetic-streets photo has a sketch drawn from it and its label map (``edge_map``): black lines on white where
the label map changes class (the objects' outlines) or where the photo's luminance gradient is strong (Sobel
magnitude above ``THRESHOLD``: the larger windows, car details), 10-27 % of the pixels at 64x64 (15 % on average).
Like pix2pix's edges2shoes (HED edges of the photo), the sketch fixes the layout and leaves colours, textures and
lighting open: a photo is one of many that fit, so the task is multimodal, and the pairs score content exactly (PSNR /
SSIM / LPIPS against the photo the sketch came from). Both splits are paired.

Determinism as in ``bench.data.synthetic``: integer arithmetic only (luminance with integer BT.601 weights x 1000,
the Sobel sums and the squared-magnitude comparison are exact), so the sketch is the same on every machine; a change
bumps ``EDGES_VERSION`` (part of the dataset fingerprint).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bench.data.base import PairedDataset

EDGES_VERSION = 1
THRESHOLD = 500  # Sobel magnitude on the 0-255 luminance scale (the kernel's gain of 4 included)


def edge_map(image: np.ndarray, label: np.ndarray) -> np.ndarray:
    """The sketch (uint8 HxWx3, black lines on white) of a photo (HxWx3 uint8) and its label map (HxW)."""
    rgb = np.asarray(image, dtype=np.int64)
    y = rgb[..., 0] * 299 + rgb[..., 1] * 587 + rgb[..., 2] * 114  # luminance x 1000, exact
    p = np.pad(y, 1, mode="edge")
    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:])
    edge = gx * gx + gy * gy > (THRESHOLD * 1000) ** 2
    lab = np.asarray(label)
    edge[:, 1:] |= lab[:, 1:] != lab[:, :-1]
    edge[1:, :] |= lab[1:, :] != lab[:-1, :]
    return np.repeat(np.where(edge, 0, 255).astype(np.uint8)[..., None], 3, axis=2)


class EdgePairs(PairedDataset):
    """A synthetic-streets split whose items also hold ``source``: the sketch of the item's photo (see the module)."""

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        item = super().__getitem__(index)
        sketch = edge_map(item["image"].permute(1, 2, 0).numpy(), item["label"][0].numpy())
        item["source"] = torch.from_numpy(np.ascontiguousarray(sketch.transpose(2, 0, 1)))
        return item

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "source": f"edges-v{EDGES_VERSION}"}


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int], *,
         seed: int | None = None, cache: bool = True) -> EdgePairs:
    """The loader of ``synthetic-streets-edges2photo``: synthetic-streets' files (generated on first use) + sketches."""
    from bench.data import synthetic

    return EdgePairs.wrap(synthetic.load(card, root, split, resolution, seed=seed, cache=cache))
