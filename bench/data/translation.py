"""``synthetic-streets-dusk2day``: unpaired translation with hidden pairs, from the embedded street scenes.

Every synthetic-streets photo (daylight) also has a dusk version, drawn from the photo, its label map and a seed
(``dusk``): darker, bluer light, a dusk sky (deep blue to an orange glow at the horizon), and the building windows
(the bluish glass the day renderer paints) lit or dark at random. The task is dusk -> day.

* Training is unpaired: the train split's first half of the scenes are seen only in daylight (the target domain,
  ``image``) and the second half only at dusk (the source domain, ``source``); item i pairs day scene i with dusk
  scene i + n/2, so no item holds two views of one scene.
* Evaluation has hidden pairs: each val item's source is the dusk view of the scene whose daylight photo is the
  item's real image. Besides FID / KID against the daylight photos, the benchmark scores content preservation
  exactly: PSNR / SSIM / LPIPS against the hidden target, and the embedded segmenter's mIoU of the translated
  image against the source's label map (the segmenter was trained on daylight photos).

Determinism as in ``bench.data.synthetic``: uniform draws and exactly rounded arithmetic only.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from bench.data.base import PairedDataset
from bench.data.synthetic import BUILDING, SKY, SPLIT_CODE, _jitter, _rng, _smooth_noise, _u

DUSK_VERSION = 1  # bump with any change to ``dusk`` (the card's version changes with it)


def dusk_seed(seed: int, split: str, index: int) -> list[int]:
    """The seed of a scene's dusk view (a stream separate from its layout's and its photo's)."""
    return [seed, SPLIT_CODE[split], index, 2]


def dusk(image: np.ndarray, label: np.ndarray, seed: Any) -> np.ndarray:
    """The dusk view (uint8 HxWx3) of a synthetic-streets daylight photo with its label map."""
    rng = _rng(seed)
    H, W = label.shape
    day = np.asarray(image, dtype=np.float64)
    y = np.arange(H, dtype=np.float64)[:, None]
    light = _u(rng, 0.35, 0.5)
    tint = np.array([0.85, 0.8, 1.1]) * (1 + (rng.random(3) - 0.5) * 0.1)
    out = day * (light * tint)
    # the sky: deep blue overhead, an orange glow at the horizon (quadratic in height)
    top = _jitter(rng, (28, 36, 84), 10)
    glow = _jitter(rng, (232, 128, 62), 15)
    sky_rows = np.flatnonzero((label == SKY).any(1))
    span = (sky_rows[-1] + 1) / H if sky_rows.size else 0.5
    g = np.minimum((y + 0.5) / H / span, 1.0)
    g = (g * g)[..., None]
    sky = np.broadcast_to(top * (1 - g) + glow * g, (H, W, 3))
    out = np.where((label == SKY)[..., None], sky, out)
    # windows: the day renderer's glass is bluish (blue above red), facades are not; a random half is lit
    glass = (label == BUILDING) & (day[..., 2] > day[..., 0] + 8)
    lit = _smooth_noise(rng, H, W, _u(rng, 3.0, 6.0) * H / 64.0) > _u(rng, 0.45, 0.6)
    warm = _jitter(rng, (250, 205, 120), 8)
    dark = _jitter(rng, (18, 22, 34), 5)
    out = np.where((glass & lit)[..., None], warm, np.where(glass[..., None], dark, out))
    out = out + (rng.random((H, W, 3)) - 0.5) * 4
    return np.floor(np.clip(out, 0, 255) + 0.5).astype(np.uint8)


class HiddenPairDataset(PairedDataset):
    """A synthetic-streets split whose items also hold ``source``: the dusk view of a scene (see the module)."""

    seed = 0

    @property
    def task(self) -> Any:
        """The training split holds no pairs: scored on it, only the distribution metrics apply."""
        if self.split == "train":
            from bench.tasks import get_task

            return get_task(self.card.task)
        return super().task

    def target_class(self, index: int) -> int:
        """The target domain's class for the dataset's classifier (``embedded-daytime``: 0 day, 1 dusk): every
        translation should look like daylight, so ``class_acc`` is the share the classifier takes for day."""
        return 0

    def _source_scene(self, index: int) -> int:
        """The scene whose dusk view item ``index`` holds: itself (val: hidden pairs) or one of the other half."""
        if self.split == "train":
            return index + len(self.samples) // 2
        return index

    def __len__(self) -> int:
        return len(self.samples) // 2 if self.split == "train" else len(self.samples)

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        index = self.position(index)
        item = super().__getitem__(index)
        j = self._source_scene(index)
        if j == index:
            image, label = item["image"].permute(1, 2, 0).numpy(), item["label"][0].numpy()
        else:
            image, label, _ = self.arrays(j)
        source = dusk(image, label, dusk_seed(self.seed, self.split, j))
        item["source"] = torch.from_numpy(np.ascontiguousarray(source.transpose(2, 0, 1)))
        return item

    def fingerprint(self) -> dict[str, Any]:
        return {**super().fingerprint(), "source": f"dusk-v{DUSK_VERSION}", "seed": self.seed}


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int], *,
         seed: int | None = None, cache: bool = True) -> HiddenPairDataset:
    """The loader of ``synthetic-streets-dusk2day``: synthetic-streets' files (generated on first use) + dusk views."""
    from bench.data import synthetic
    from bench.data.cards import load_card

    ds = synthetic.load(card, root, split, resolution, seed=seed, cache=cache)
    default = int(load_card(synthetic.NAME).raw["synthetic"]["default_seed"])
    return HiddenPairDataset.wrap(ds, seed=int(default if seed is None else seed))
