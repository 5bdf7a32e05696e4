"""Captions of synthetic-streets scenes, generated from a label map and its photo (``synthetic-streets-captions``).

A caption states six facts that a label map and a photo determine, in words a reader of the photo would use:

* the cars: how many (connected regions of car pixels, 4-connected, at least ``MIN_PIXELS`` pixels: "a ... car",
  "two cars", "three cars", "many cars") and the colour of the largest (the renderer's paint, ``PAINTS``, nearest to
  the mean colour of its body band);
* the people: how many ("one person", "two people", "a few people"; every scene has at least one);
* the trees: on which side most vegetation pixels are (left / right, more than 65 % of them; else both sides);
* the sky: its share of the image ("a narrow sky" < 15 %, "an open sky" < 30 %, "a wide sky");
* the road: where it leads (the mean column of the road's top rows, left of 46 % / right of 54 % of the width, else
  straight ahead).

Each image has ``CAPTIONS`` (5) captions: the same facts in five sentence templates, as CUB's ten human captions
of a bird state its parts in different words. :func:`facts` reads the facts; :func:`captions` writes them.

The same function describes a generated image, through a segmenter's label map of it (``bench.text.matchers``):
R-precision asks whether that description is nearer to the image's own caption than to other images'.
Connected regions: ``scipy.ndimage.label`` (scikit-image's dependency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.data.synthetic import CAR, PERSON, ROAD, SKY, VEGETATION

VERSION = 1  # bump with any change to facts, thresholds or templates (the embedded card's fingerprint has it)
CAPTIONS = 5
MIN_PIXELS = 3  # a car / person region smaller than this is noise, not an object (at 64x64)
# the renderer's car paints (bench.data.synthetic.CAR_PAINTS), named
PAINTS = {"red": (170, 30, 30), "blue": (30, 60, 150), "white": (225, 225, 220), "black": (30, 30, 35),
          "silver": (160, 165, 170), "green": (40, 90, 50), "yellow": (210, 170, 40)}

TEMPLATES = (
    "{cars} and {people} on a street, {trees}, {sky}; the road {road}.",
    "a street where the road {road}: {trees}, {cars}, {people} and {sky}.",
    "{people} near {cars}; {sky} above and {trees}; the road {road}.",
    "{sky} over a street with {trees}; {cars}; {people}; the road {road}.",
    "the road {road} past {trees}, with {cars} and {people} under {sky}.",
)


@dataclass(frozen=True)
class Facts:
    cars: int
    car_colour: str  # "" when there is no car
    people: int
    trees: str  # "left", "right", "both", "none"
    sky: str  # "narrow", "open", "wide"
    road: str  # "left", "straight", "right", "none"


def _regions(mask: np.ndarray) -> list[np.ndarray]:
    """Boolean masks of the 4-connected regions of ``mask`` with at least MIN_PIXELS pixels, largest first (ties
    by first pixel in raster order, so the order is deterministic)."""
    from scipy import ndimage

    lab, n = ndimage.label(mask)
    sizes = np.bincount(lab.ravel(), minlength=n + 1)
    keep = [i for i in range(1, n + 1) if sizes[i] >= MIN_PIXELS]
    keep.sort(key=lambda i: -int(sizes[i]))
    return [lab == i for i in keep]


def _colour_name(region: np.ndarray, photo: np.ndarray) -> str:
    """The paint nearest to the mean colour of a car's body band (float64 photo): the rows from 45 % to 80 % of
    the region's height, below the cabin glass and above the wheels (the renderer's car parts); all its pixels when
    the band is empty."""
    rows = np.nonzero(region.any(1))[0]
    r = (np.arange(region.shape[0])[:, None] - rows[0]) / (rows[-1] - rows[0] + 1)
    band = region & (r >= 0.45) & (r <= 0.8)
    pixels = photo[band if band.any() else region]
    names = list(PAINTS)
    ref = np.asarray([PAINTS[n] for n in names], dtype=np.float64)
    return names[int(((pixels.mean(0)[None, :] - ref) ** 2).sum(-1).argmin())]


def facts(label: np.ndarray, photo: np.ndarray) -> Facts:
    """The facts of one scene: ``label`` HxW class ids (synthetic-streets'), ``photo`` HxWx3 uint8."""
    label = np.asarray(label)
    photo = np.asarray(photo, dtype=np.float64)
    H, W = label.shape
    cars = _regions(label == CAR)
    colour = _colour_name(cars[0], photo) if cars else ""
    people = len(_regions(label == PERSON))
    veg_cols = np.nonzero(label == VEGETATION)[1]
    if veg_cols.size == 0:
        trees = "none"
    else:
        left = float(np.count_nonzero(veg_cols < W / 2)) / veg_cols.size
        trees = "left" if left > 0.65 else "right" if left < 0.35 else "both"
    sky_share = float(np.count_nonzero(label == SKY)) / (H * W)
    sky = "narrow" if sky_share < 0.15 else "open" if sky_share < 0.30 else "wide"
    rows = np.nonzero((label == ROAD).any(1))[0]
    if rows.size == 0:
        road = "none"
    else:
        top = rows[: max(1, rows.size // 4)]  # the far quarter of the road's rows
        cols = np.nonzero(label[top] == ROAD)[1]
        x = (float(cols.mean()) + 0.5) / W
        road = "left" if x < 0.46 else "right" if x > 0.54 else "straight"
    return Facts(len(cars), colour, people, trees, sky, road)


def _words(f: Facts) -> dict[str, str]:
    numbers = {2: "two", 3: "three"}
    if f.cars == 0:
        cars = "no cars"
    elif f.cars == 1:
        cars = f"a {f.car_colour} car"
    else:
        cars = f"{numbers.get(f.cars, 'many')} cars, the biggest {f.car_colour}"
    people = {0: "nobody", 1: "one person", 2: "two people"}.get(f.people, "a few people")
    trees = {"none": "no trees", "both": "trees on both sides"}.get(f.trees, f"trees on the {f.trees}")
    sky = {"narrow": "a narrow sky", "open": "an open sky", "wide": "a wide sky"}[f.sky]
    road = {"none": "is hidden", "straight": "goes straight ahead"}.get(f.road, f"turns {f.road}")
    return {"cars": cars, "people": people, "trees": trees, "sky": sky, "road": road}


def captions(f: Facts) -> list[str]:
    """The CAPTIONS sentences stating ``f``, one per template."""
    words = _words(f)
    return [t.format(**words) for t in TEMPLATES]


def describe(label: np.ndarray, photo: np.ndarray) -> list[str]:
    """The captions of one scene."""
    return captions(facts(label, photo))
