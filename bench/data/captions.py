"""``synthetic-streets-captions``: text-to-image on synthetic-streets, each scene with five generated captions.

The photos, label maps, splits and manifests are synthetic-streets' (64x64). Each scene's captions are
``bench.text.describe`` of its label map and photo (cars, their number and the largest one's colour, people,
trees, sky, road: five sentence templates), and their embeddings the embedded hashing encoder's
(``bench.text.hashing``, 1024-d, no weights). Items add ``captions`` (5), ``embeddings`` float32 [5, 1024] and the
evaluation's ``caption`` / ``embedding`` (caption ``j mod 5`` of scene j). A method trains on the 400 training
scenes' captions; the 100 val scenes' captions are the evaluation's conditions and their photos the real set.
R-precision uses the matcher ``embedded-streets-captions`` (``bench.text.matchers``).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bench.data.base import PairedDataset
from bench.errors import BenchError

SIZE = (64, 64)  # the captions describe the 64x64 rendering (object counts are counts of its pixel regions)


class CaptionDataset(PairedDataset):
    """A synthetic-streets split whose items also hold their captions and embeddings (see the module)."""

    def captions_of(self, index: int) -> list[str]:
        """The captions of scene ``index`` (from its label map and photo; computed on each call, a few ms)."""
        from bench.text.describe import describe

        image, label, _ = self.arrays(index % len(self))
        return describe(label, image)

    def eval_caption(self, index: int) -> str:
        """The caption the evaluation conditions item ``index`` on (``task_params.eval_caption``)."""
        from bench.tasks.text import eval_caption_index

        caps = self.captions_of(index)
        return caps[eval_caption_index(self.task_params, index % len(self), len(caps))]

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        from bench.tasks.text import eval_caption_index
        from bench.text.describe import describe
        from bench.text.hashing import embed_all

        index = self.position(index)
        item = super().__getitem__(index)
        # the item's own 64x64 photo and label map (the loader refuses other sizes): not decoded a second time
        caps = describe(item["label"][0].numpy(), item["image"].permute(1, 2, 0).numpy())
        emb = embed_all(caps)
        c = eval_caption_index(self.task_params, index, len(caps))
        item["captions"] = caps
        item["embeddings"] = torch.from_numpy(emb)
        item["caption"] = caps[c]
        item["embedding"] = torch.from_numpy(np.ascontiguousarray(emb[c]))
        return item

    def fingerprint(self) -> dict[str, Any]:
        from bench.text import describe, hashing

        return {**super().fingerprint(), "source": f"captions-v{describe.VERSION}-{hashing.NAME}"}


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int], *,
         seed: int | None = None, cache: bool = True) -> CaptionDataset:
    """The loader of ``synthetic-streets-captions``: synthetic-streets' files (generated on first use) + captions."""
    from bench.data import synthetic
    from bench.text import hashing

    if tuple(resolution) != SIZE:
        raise BenchError(f"{card.name}: resolution {resolution[0]}x{resolution[1]} is not available: the captions "
                         f"describe the {SIZE[0]}x{SIZE[1]} rendering (its object counts are pixel regions)")
    if card.task_params.get("embedding_dim") != hashing.DIM:
        raise BenchError(f"{card.path}: task_params.embedding_dim must be {hashing.DIM} (the hashing encoder's size), "
                         f"not {card.task_params.get('embedding_dim')!r}")
    return CaptionDataset.wrap(synthetic.load(card, root, split, resolution, seed=seed, cache=cache))
