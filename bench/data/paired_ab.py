"""Paired image-to-image sets in pix2pix's A|B format (edges2shoes, edges2handbags, maps): one JPEG per pair, the
source image (A) left and the target (B) right, as the authors' ``combine_A_and_B.py`` writes them (layout
``"combined": "source-left-target-right"``).

An item's ``image`` is the target half (the real side of every metric: FID / KID against the targets, PSNR / SSIM /
LPIPS against each sample's own target) and ``source`` the source half, both at the card's resolution with its
resize filter. The target half goes through the preprocessing cache; the source half is cut from the file again."""

from __future__ import annotations

import os
from typing import Any

from bench.data.base import Decoded, PairedDataset, Sample, build_dataset, read_rgb
from bench.data.facades import split_ab


class ABPairs(PairedDataset):
    """A split of an A|B set; items also hold ``source`` (see the module)."""

    def source_array(self, index: int) -> Any:
        """The source half of item ``index`` (HxWx3 uint8) at this dataset's resolution."""
        import numpy as np

        from bench.data.preprocess import preprocess

        sample = self.samples[index]
        a, _ = split_ab(read_rgb(sample.image), sample.image)
        zeros = np.zeros(a.shape[:2], dtype=np.int64)
        return preprocess((a, zeros, None), self.resolution, self.card.image_resize, self.native_multiple)[0]

    def __getitem__(self, index: int) -> dict[str, Any]:
        import numpy as np
        import torch

        item = super().__getitem__(index)
        source = self.source_array(index % len(self))
        item["source"] = torch.from_numpy(np.ascontiguousarray(source.transpose(2, 0, 1)))
        return item


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int] | None,
         **options: Any) -> ABPairs:
    """The A|B files of one split: target half as the item's image, source half as ``source``."""
    import numpy as np

    def decode(sample: Sample) -> Decoded:
        _, b = split_ab(read_rgb(sample.image), sample.image)
        return b.copy(), np.zeros(b.shape[:2], dtype=np.int64), None

    return ABPairs.wrap(build_dataset(card, root, split, resolution, decode=decode, **options))
