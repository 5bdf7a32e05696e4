"""Per-class MS-SSIM diversity, the AC-GAN protocol (Odena et al. 2017, section 4.2): for each class, the mean MS-SSIM
of ``class_diversity_pairs`` (100) random pairs of its samples, beside the same quantity on random pairs of its real
images. A class whose samples are more alike than its real images (higher MS-SSIM) has lost diversity: mode collapse,
seen class by class. Reported: the mean over classes of both, and the fraction of classes less diverse than their
real images. The real reference is the evaluated real folder (the paper used the training images).

Pairs are drawn per class, seeded by (``diversity_seed``, class, side), among the samples (or real images) of the class
sorted by file name, so they depend neither on batching nor on the number of processes. Only the images in a pair are
kept in memory (at most 2 x pairs per class)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench import images as imio
from bench.errors import BenchError
from bench.metrics.base import Metric
from bench.metrics.classes import real_classes, sample_classes
from bench.metrics.diversity import ms_ssim, ms_ssim_scales, sample_pairs
from bench.metrics.registry import Column, MetricSpec


def class_pairs(members: dict[int, list[str]], n_pairs: int, seed: int, side: int) -> dict[int, list[tuple[str, str]]]:
    """Seeded pairs of file keys per class (members: class -> keys; each class's keys are sorted first)."""
    out = {}
    for c, keys in sorted(members.items()):
        keys = sorted(keys)
        rng = np.random.default_rng([seed, c, side])
        out[c] = [(keys[i], keys[j]) for i, j in sample_pairs(len(keys), n_pairs, rng)]
    return out


def mean_pair_msssim(pairs: list[tuple[str, str]], image: Any, scales: int, chunk: int = 64) -> float:
    """Mean MS-SSIM over pairs of keys (``image(key)`` -> uint8 [3,H,W] tensor), in float64."""
    values = []
    for s in range(0, len(pairs), chunk):
        part = pairs[s:s + chunk]
        a = torch.stack([image(x) for x, _ in part])
        b = torch.stack([image(y) for _, y in part])
        values.append(ms_ssim(a, b, scales))
    return float(torch.cat(values).mean())


class ClassMSSSIM(Metric):
    name = "msssim_class"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.scales = ms_ssim_scales(*ctx.size)
        self.classes = sorted(set(real_classes(ctx).tolist()))
        fakes: dict[int, list[str]] = {c: [] for c in self.classes}
        for p, c in zip(ctx.pairs, sample_classes(ctx, ctx.pairs)):
            fakes[int(c)].append(p.file.rel)
        reals: dict[int, list[str]] = {c: [] for c in self.classes}
        for r, c in zip(ctx.reals, real_classes(ctx)):
            reals[int(c)].append(r.key)
        for c in self.classes:
            if min(len(fakes[c]), len(reals[c])) < 2:
                raise BenchError(f"per-class MS-SSIM: class {c} has {len(fakes[c])} generated and {len(reals[c])} "
                                 "real image(s); it needs at least 2 of each (pass --metrics without msssim_class)")
        n, seed = ctx.opts.class_diversity_pairs, ctx.opts.diversity_seed
        self.fake_pairs = class_pairs(fakes, n, seed, 0)
        self.real_pairs = class_pairs(reals, n, seed, 1)
        wanted = sorted({k for pairs in self.fake_pairs.values() for pair in pairs for k in pair})
        self.wanted = {k: i for i, k in enumerate(wanted)}
        self.add_cat_state("images")  # uint8 [n, 3, H, W]: the samples that are in a pair
        self.add_cat_state("index")  # their position in ``wanted``

    def update_view(self, view) -> None:
        rows = [i for i, f in enumerate(view.files) if f.rel in self.wanted]
        if rows:
            self._append("images", view.fake[rows])
            self._append("index", torch.tensor([self.wanted[view.files[i].rel] for i in rows], dtype=torch.int64))

    def compute(self) -> dict:
        held = dict(zip(self.state("index").tolist(), self.state("images")))
        missing = [k for k, i in self.wanted.items() if i not in held]
        if missing:
            raise BenchError(f"per-class MS-SSIM: sample {missing[0]} was never seen ({len(missing)} missing)")
        real_by_key = {r.key: r for r in self.ctx.reals}
        real_cache: dict[str, torch.Tensor] = {}

        def real(key: str) -> torch.Tensor:
            if key not in real_cache:
                real_cache[key] = torch.tensor(imio.decode(real_by_key[key])).permute(2, 0, 1)
            return real_cache[key]

        per_class = {}
        for c in self.classes:
            fake_v = mean_pair_msssim(self.fake_pairs[c], lambda k: held[self.wanted[k]], self.scales)
            real_v = mean_pair_msssim(self.real_pairs[c], real, self.scales)
            per_class[str(c)] = {"fake": fake_v, "real": real_v}
        fake_mean = float(np.mean([v["fake"] for v in per_class.values()]))
        real_mean = float(np.mean([v["real"] for v in per_class.values()]))
        less = float(np.mean([v["fake"] > v["real"] for v in per_class.values()]))
        return {"msssim_class": fake_mean, "msssim_class_real": real_mean, "msssim_class_less_diverse": less,
                "_details": {"msssim_class_per_class": per_class}}


def _protocol(ctx) -> dict[str, Any]:
    from bench.protocol import Protocol

    return {"class_diversity": Protocol.freeze({
        "pairs_per_class": ctx.opts.class_diversity_pairs, "seed": ctx.opts.diversity_seed,
        "scales": ms_ssim_scales(*ctx.size) if "msssim_class" in ctx.wanted else None,
        "reference": "random pairs of the real images of the class in the evaluated real folder",
        "less_diverse": "sample MS-SSIM > real MS-SSIM"})}


SPEC = MetricSpec(
    "msssim_class", higher_is_better=False, inputs=("pixels", "classes"), build=ClassMSSSIM, protocol=_protocol, one_size=True,
    # the real reference (msssim_class_real) is in the record, not a column: it is the same on every row
    columns=(Column("msssim_class", "class MS-SSIM", False, 3),
             Column("msssim_class_less_diverse", "less diverse", False, 1, percent=True)),
    builtin=True,
    description="per class, mean MS-SSIM of 100 random sample pairs vs real pairs (AC-GAN); lower: more diverse",
)
