"""Unpaired translation sets as CycleGAN distributes them: one folder per domain and split, ``trainA/ trainB/
testA/ testB/`` (horse2zebra, summer2winter_yosemite, monet2photo, ...).

Each folder is a split of the card (its manifest holds the published count), so ``bench data verify`` checks them
one by one. A split ending in ``A`` or ``B`` is the source domain; the same split with the other letter is its
partner, the target domain:

* evaluating ``testA`` translates the 120 horse photos of horse2zebra, and FID / KID compare them with the 140 zebra
  photos of ``testB`` (the real set, ``real_set``: all of it, whatever ``--limit`` takes of the sources, since the
  counts differ and nothing is paired); ``--split testB`` scores the other direction;
* training on ``trainA`` (``train_split`` of ``testA``) yields ``max(|trainA|, |trainB|)`` items holding ``source``
  (trainA[i mod |trainA|]) and ``image`` (trainB[i mod |trainB|]): the authors' unaligned dataset, except that an
  item's partner image is fixed (theirs is drawn at random each time); the trainer's shuffle changes which pairs
  share a batch, not the pairs. A training split is for training only: ``bench run`` refuses to evaluate it.

An evaluation item's ``image`` is its source again (the batch contract wants one; no method is given it: the oracle is
refused on these sets, and the grid has no real column)."""

from __future__ import annotations

import os
from typing import Any

from bench.data.base import PairedDataset
from bench.data.image_only import load as load_images
from bench.errors import BenchError

_OTHER = {"A": "B", "B": "A"}


def partner(card: Any, split: str) -> str:
    """The target-domain split of a source-domain split (``testA`` -> ``testB``); one line when there is none."""
    other = split[:-1] + _OTHER.get(split[-1:], "")
    if split[-1:] not in _OTHER or other not in card.splits:
        raise BenchError(f"{card.name}: split '{split}' has no partner domain (an unpaired folder set's splits come "
                         f"in pairs named <split>A / <split>B; card {card.path} lists: {', '.join(card.splits)})")
    return other


class UnpairedFolders(PairedDataset):
    """One domain's split of a CycleGAN folder set, with its partner domain's split as ``real_set`` (see the module)."""

    real_set: PairedDataset

    @property
    def training(self) -> bool:
        return self.split.startswith("train")

    @property
    def train_split(self) -> str:
        """The split a method trains on to be evaluated on this one: the same domain's ``train`` folder."""
        return "train" + self.split[-1] if self.split.startswith("test") else self.split

    def at_resolution(self, resolution: tuple[int, int]) -> "UnpairedFolders":
        out = super().at_resolution(resolution)
        out.real_set = self.real_set.at_resolution(resolution)  # both domains at the new size
        return out

    def __len__(self) -> int:
        return max(len(self.samples), len(self.real_set)) if self.training else len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self.position(index)
        item = super().__getitem__(index % len(self.samples))
        item["source"] = item["image"]
        if self.training:
            item["image"] = self.real_set[index % len(self.real_set)]["image"]
        return item

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "n": len(self.samples), "real": self.real_set.fingerprint()}


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int] | None, *,
         cache: bool = True) -> UnpairedFolders:
    """``split``'s images (the source domain) with its partner split (the target domain) as the real set."""
    other = partner(card, split)
    source = load_images(card, root, split, resolution, cache=cache)
    target = load_images(card, root, other, resolution, cache=cache)
    return UnpairedFolders.wrap(source, real_set=target)
