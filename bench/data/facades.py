"""CMP Facades in pix2pix's paired format: one 512x256 JPEG per pair, photo (A) left, label colours (B) right.

The label half is a colour rendering of the 12 CMP classes (label L drawn as row 5L+1 of MATLAB's jet(64); see
the card's provenance), JPEG-compressed, so ids are recovered by the nearest card colour; a file whose right half is mostly far from every card colour is refused (it is not a
label rendering, or the halves are swapped).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench.data.base import Decoded, PairedDataset, Sample, build_dataset, read_rgb
from bench.data.cards import Card
from bench.errors import BenchError

# Interior pixels of real files sit within ~15 of their card colour (tests/test_data_facades_real.py); the
# palette colours are >= 57 apart. JPEG's 4:2:0 chroma blurs colours across every class edge, so about 12% of
# a real label half (all of it within 2 px of an edge) is farther than TOLERANCE from every colour and decodes to
# the nearest one. A photo is ~0% on-palette, so half the pixels on-palette still tells a label rendering apart.
TOLERANCE = 60.0
MIN_ON_PALETTE = 0.5


def split_ab(ab: "Any", path: Path) -> tuple["Any", "Any"]:
    """(A, B) halves of an A|B image; an odd width means the halves cannot match."""
    h, w = ab.shape[:2]
    if w % 2:
        raise BenchError(f"{path}: width {w} is odd, a pix2pix A|B pair has two halves of equal size")
    return ab[:, : w // 2], ab[:, w // 2:]


def colors_to_ids(rgb: "Any", card: Card, path: Path) -> "Any":
    """Nearest card colour per pixel -> generator id; refuses a half that is not a label rendering."""
    import numpy as np

    pal = np.array([c.color for c in card.classes], dtype=np.int64)
    gen = np.array([c.generator_id for c in card.classes], dtype=np.int64)
    px = rgb.reshape(-1, 3).astype(np.int64)
    d2 = ((px[:, None, :] - pal[None, :, :]) ** 2).sum(-1)
    nearest = d2.argmin(1)
    off = d2[np.arange(len(px)), nearest] > TOLERANCE ** 2
    frac = float(off.mean()) if len(px) else 0.0
    if frac > 1 - MIN_ON_PALETTE:
        i = int(np.flatnonzero(off)[0])
        y, x = divmod(i, rgb.shape[1])
        raise BenchError(f"{path}: {frac:.0%} of the label half (right) is farther than {TOLERANCE:.0f} from every "
                         f"{card.name} card colour, e.g. pixel (x={x + rgb.shape[1]}, y={y}) = {tuple(int(v) for v in px[i])}: "
                         "not a pix2pix facades A|B file (photo left, label colours right)")
    return gen[nearest].reshape(rgb.shape[:2])


def load(card: Card, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int],
         **options: Any) -> PairedDataset:
    def decode(sample: Sample) -> Decoded:
        a, b = split_ab(read_rgb(sample.image), sample.image)
        return a.copy(), colors_to_ids(b, card, sample.image), None

    return build_dataset(card, root, split, resolution, decode=decode, **options)
