"""``synthetic-streets-attributes``: multi-domain attribute translation with hidden pairs (StarGAN's setting).

Every synthetic-streets scene can be drawn with any combination of three binary attributes, each a deterministic
function of the daylight photo, its label map and a seed of its own:

* ``dusk``: the dusk view of ``synthetic-streets-dusk2day`` (``bench.data.translation.dusk``);
* ``fog``: the scene fades to a fog colour, more towards the top of the image (farther away), the sky almost
  entirely; the fog is grey by day and dark blue at dusk;
* ``autumn``: the vegetation turns orange to yellow (smooth patches), keeping each pixel's brightness.

They are applied in the order autumn, dusk, fog. A scene's own attributes (the source domain) are drawn from a seed
of the scene, each 0 or 1 with probability 1/2, so the 8 domains are equally likely. Because each attribute has its
own seed per scene, two views of a scene that share an attribute share its randomness (the same windows lit, the
same fog colour), and a view differs from another only by the attributes that differ.

* Training is unpaired: each training scene is seen only in its own domain (``source`` with ``source_attributes``);
  the item's ``image`` is that same view and ``attributes`` its own attributes (a translation to the target a
  method chooses, as StarGAN draws it, has no real image). Evaluating the train split is refused.
* Evaluation has hidden pairs: val scene j is translated once, to its own attributes with attribute ``j mod 3``
  flipped (StarGAN's CelebA protocol flips gender and age, the binary attributes, in every test image; here the
  flipped attribute rotates over the scenes so that each of the 100 val scenes keeps one hidden target and N stays
  100). The item's ``image`` is the scene drawn with the target attributes: FID / KID against those, PSNR / SSIM /
  LPIPS against the hidden target, mIoU against the scene's label map, and ``class_acc``: the share of translations
  that the embedded 8-domain classifier (``embedded-attributes``) assigns to the target domain.

Determinism as in ``bench.data.synthetic``: uniform draws and exactly rounded arithmetic only.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from bench.data.base import PairedDataset
from bench.data.synthetic import SKY, SPLIT_CODE, VEGETATION, _jitter, _rng, _smooth_noise, _u
from bench.data.translation import DUSK_VERSION, dusk, dusk_seed

ATTRIBUTES = ("dusk", "fog", "autumn")
ATTRIBUTES_VERSION = 1  # bump with any change to ``fog``, ``autumn``, ``styled`` or the draws (the fingerprint has it)


def attribute_seed(seed: int, split: str, index: int, attribute: str) -> list[int]:
    """The seed of one attribute's randomness in a scene (dusk: the dusk2day stream, so both sets agree)."""
    if attribute == "dusk":
        return dusk_seed(seed, split, index)
    return [seed, SPLIT_CODE[split], index, 3 + ATTRIBUTES.index(attribute)]


def scene_attributes(seed: int, split: str, index: int) -> tuple[int, ...]:
    """A scene's own attributes (its source domain): each 0 / 1 with probability 1/2, from the scene's seed."""
    rng = _rng([seed, SPLIT_CODE[split], index, 6])
    return tuple(int(rng.random() < 0.5) for _ in ATTRIBUTES)


def flipped(attributes: Sequence[int], k: int) -> tuple[int, ...]:
    """``attributes`` with attribute ``k`` flipped."""
    return tuple(1 - a if i == k else int(a) for i, a in enumerate(attributes))


def domain_index(attributes: Sequence[int]) -> int:
    """The domain (0-7) of an attribute vector: sum of attribute k's bit times 2^k (the classifier's class)."""
    return int(sum(int(a) << k for k, a in enumerate(attributes)))


def fog(image: np.ndarray, label: np.ndarray, seed: Any, dark: bool) -> np.ndarray:
    """The scene in fog (float64 HxWx3): a blend with a fog colour, stronger higher up; the sky almost all fog."""
    rng = _rng(seed)
    H = label.shape[0]
    base = _u(rng, 0.3, 0.4)
    slope = _u(rng, 0.25, 0.35)
    colour = _jitter(rng, (62, 66, 88) if dark else (205, 208, 212), 6)
    y = (np.arange(H, dtype=np.float64)[:, None] + 0.5) / H
    f = base + slope * (1 - y)
    f = np.where(label == SKY, 0.85, np.broadcast_to(f, label.shape))[..., None]
    return np.asarray(image, dtype=np.float64) * (1 - f) + colour * f


def autumn(image: np.ndarray, label: np.ndarray, seed: Any) -> np.ndarray:
    """The scene in autumn (float64 HxWx3): vegetation orange to yellow in smooth patches, each pixel's brightness
    kept (the mean of its channels over 110 scales the colour)."""
    rng = _rng(seed)
    H, W = label.shape
    img = np.asarray(image, dtype=np.float64)
    # saturated orange to yellow, with little blue: unlike any facade colour of the renderer (a red-brown autumn
    # was taken for the brick facades by the classifier)
    orange = _jitter(rng, (240, 130, 20), 8)
    yellow = _jitter(rng, (230, 195, 25), 8)
    t = _smooth_noise(rng, H, W, _u(rng, 2.0, 4.0) * H / 64.0)[..., None]
    lum = ((img[..., 0] + img[..., 1] + img[..., 2]) / 3.0 / 110.0)[..., None]
    leaves = (orange * (1 - t) + yellow * t) * lum
    return np.where((label == VEGETATION)[..., None], leaves, img)


def _round(a: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(a, 0, 255) + 0.5).astype(np.uint8)


def styled(image: np.ndarray, label: np.ndarray, attributes: Sequence[int], seed: int, split: str,
           index: int) -> np.ndarray:
    """Scene ``index`` of ``split`` (its daylight photo and label map) drawn with ``attributes`` (uint8 HxWx3)."""
    on = dict(zip(ATTRIBUTES, (int(a) for a in attributes)))
    out = np.asarray(image)
    if on["autumn"]:
        out = _round(autumn(out, label, attribute_seed(seed, split, index, "autumn")))
    if on["dusk"]:
        out = dusk(out, label, attribute_seed(seed, split, index, "dusk"))
    if on["fog"]:
        out = _round(fog(out, label, attribute_seed(seed, split, index, "fog"), dark=bool(on["dusk"])))
    return np.ascontiguousarray(out, dtype=np.uint8)


class AttributeDataset(PairedDataset):
    """A synthetic-streets split whose items hold ``source`` (the scene in its own domain), ``source_attributes``,
    ``attributes`` (the target) and, as ``image``, the scene in the target domain (see the module)."""

    seed = 0

    @property
    def training(self) -> bool:
        """The train split holds no translations with a real image: it is for training only."""
        return self.split == "train"

    def source_attributes(self, index: int) -> tuple[int, ...]:
        return scene_attributes(self.seed, self.split, index % len(self))

    def target_attributes(self, index: int) -> tuple[int, ...]:
        """Val: the scene's attributes with attribute ``index mod 3`` flipped; train: its own attributes."""
        own = self.source_attributes(index)
        return own if self.training else flipped(own, (index % len(self)) % len(ATTRIBUTES))

    def target_class(self, index: int) -> int:
        """The target domain (0-7) for the dataset's classifier (``embedded-attributes``)."""
        return domain_index(self.target_attributes(index))

    def daylight(self, index: int, *, cached: bool = True) -> Any:
        """(daylight photo, label, instance) of scene ``index``: synthetic-streets' own item."""
        return PairedDataset.arrays(self, index, cached=cached)

    def arrays(self, index: int, *, cached: bool = True) -> Any:
        """(the scene in the target domain, label, instance): the real side of the evaluation (hidden target)."""
        index %= len(self)
        image, label, inst = self.daylight(index, cached=cached)
        return styled(image, label, self.target_attributes(index), self.seed, self.split, index), label, inst

    def __getitem__(self, index: int) -> dict[str, Any]:
        import torch

        index = self.position(index)
        item = super().__getitem__(index)  # ``image``: the target view (``arrays``)
        day, label, _ = self.daylight(index)
        own = self.source_attributes(index)
        source = styled(day, label, own, self.seed, self.split, index)
        item["source"] = torch.from_numpy(np.ascontiguousarray(source.transpose(2, 0, 1)))
        item["source_attributes"] = torch.tensor(own, dtype=torch.float32)
        item["attributes"] = torch.tensor(self.target_attributes(index), dtype=torch.float32)
        return item

    def fingerprint(self) -> dict[str, Any]:
        # both renderers' versions: a change to the dusk view (dusk2day's) changes these views too
        return {**super().fingerprint(), "source": f"attributes-v{ATTRIBUTES_VERSION}-dusk-v{DUSK_VERSION}",
                "seed": self.seed}


def load(card: Any, root: str | os.PathLike[str] | None, split: str, resolution: tuple[int, int], *,
         seed: int | None = None, cache: bool = True) -> AttributeDataset:
    """The loader of ``synthetic-streets-attributes``: synthetic-streets' files (generated on first use) + views."""
    from bench.data import synthetic
    from bench.data.cards import load_card

    if tuple(card.task_params.get("attributes", ())) != ATTRIBUTES:
        from bench.errors import BenchError

        raise BenchError(f"{card.path}: task_params.attributes must be {list(ATTRIBUTES)} (the renderer's attributes, "
                         f"in its order), not {card.task_params.get('attributes')!r}")
    ds = synthetic.load(card, root, split, resolution, seed=seed, cache=cache)
    default = int(load_card(synthetic.NAME).raw["synthetic"]["default_seed"])
    return AttributeDataset.wrap(ds, seed=int(default if seed is None else seed))
