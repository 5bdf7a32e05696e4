"""R-precision (Xu et al., "AttnGAN", CVPR 2018): for each sample, its own caption and K-1 mismatched captions are
ranked by the cosine similarity of their text embedding to the sample's image embedding under a fixed image-text
matcher (``bench.text.matchers``); with one relevant caption, R-precision is the share of samples whose own caption
ranks first.

Protocol: K = 100 candidates (AttnGAN's 1 + 99; all other conditions' captions when fewer than 99 exist, the count
recorded), the mismatched captions drawn without replacement from the other conditions' captions by a generator
seeded with (seed, the condition's index among the sorted condition keys, the sample's index), so the draw depends on
neither batching nor process count. A tie with the own caption at the top shares the credit: 1 / (1 + number of
tied mismatched captions) (AttnGAN's argsort would give a tie to whichever came first; identical generated captions
are possible here). The cosines are exact integers on a 2^-28 grid (``bench.text.exact``), so identical captions tie
on every machine and in every batch (a float dot product's last bits do not). Written by hand: no kept library computes it (AttnGAN's and DM-GAN's scripts are not packages).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from bench.metrics.base import Metric
from bench.metrics.registry import Column, MetricSpec

CHUNK = 256  # samples ranked at once


def draw_candidates(n_bank: int, own: int, k: int, seed: int, sample: int) -> np.ndarray:
    """int64 [k]: ``own`` first, then k - 1 distinct other indices of a bank of ``n_bank`` captions (seeded)."""
    rng = np.random.default_rng([seed, own, sample])
    others = np.delete(np.arange(n_bank, dtype=np.int64), own)
    return np.concatenate([[own], rng.choice(others, size=k - 1, replace=False)]).astype(np.int64)


def r_precision_credits(image_rows: np.ndarray, bank_rows: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """float64 [N]: each sample's credit (1, 1 / (1 + ties) or 0) given its image embedding [N, D], the caption bank's
    embeddings [M, D] and its candidates [N, K] (column 0 its own caption). Cosine similarity as exact integers on a
    2^-28 grid (``bench.text.exact``): identical captions tie exactly, whatever the machine or the batch."""
    from bench.text.exact import candidate_rows, query_rows

    img = query_rows(image_rows)
    bank = candidate_rows(bank_rows)
    out = np.empty(len(img), dtype=np.float64)
    for s in range(0, len(img), CHUNK):  # [chunk, K, D] at a time: N x K x D floats would not fit for CUB-size N
        sims = np.einsum("nd,nkd->nk", img[s : s + CHUNK], bank[candidates[s : s + CHUNK]])
        own, others = sims[:, :1], sims[:, 1:]
        beaten = (others > own).any(1)
        ties = (others == own).sum(1)
        out[s : s + CHUNK] = np.where(beaten, 0.0, 1.0 / (1.0 + ties))
    return out


class RPrecision(Metric):
    name = "r_precision"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.keys = pool(ctx)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.add_cat_state("rows")
        self.add_cat_state("own")
        self.add_cat_state("sample")

    def update_view(self, view) -> None:
        from bench.evaluate import _sample_index

        rows = view.net("matcher").encode_images(view.fake)
        self._append("rows", torch.from_numpy(np.asarray(rows, dtype=np.float32)))
        self._append("own", torch.tensor([self.index[p.group] for p in view.items], dtype=torch.int64))
        # a condition's i-th sample (``<key>/<i>.png``); a single sample ``<key>.png`` is sample 0
        self._append("sample", torch.tensor([0 if p.file.key == p.group else min(_sample_index(p.file.path)[0], 2**31)
                                             for p in view.items], dtype=torch.int64))

    def compute(self) -> dict:
        opts = self.ctx.opts
        bank = self.ctx.networks["matcher"].encode_texts([opts.captions[k] for k in self.keys])
        k = min(opts.r_precision_candidates, len(self.keys))
        own, sample = self.state("own").numpy(), self.state("sample").numpy()
        cands = np.stack([draw_candidates(len(self.keys), int(o), k, opts.r_precision_seed, int(s))
                          for o, s in zip(own, sample)])
        credits = r_precision_credits(self.state("rows").numpy(), bank, cands)
        return {"r_precision": float(credits.mean()),
                "_details": {"r_precision_candidates": k, "r_precision_samples": int(credits.size)}}


def pool(ctx) -> list[str]:
    """The conditions whose captions are ranked: those with samples in this evaluation (a captions file may list
    more), sorted by key."""
    return sorted(k for k in ctx.opts.captions if k in ctx.groups)


def _protocol(ctx) -> dict[str, Any]:
    import hashlib
    import json

    from bench.protocol import Protocol
    from bench.text.matchers import matcher_protocol

    if ctx.opts.matcher is None or ctx.opts.captions is None:
        return {"text_matching": None}
    keys = pool(ctx)
    # the candidates a sample meets: how many (the protocol's 100, or every condition when fewer) and which captions
    digest = hashlib.sha256(json.dumps([[k, ctx.opts.captions[k]] for k in keys]).encode()).hexdigest()
    return {"text_matching": Protocol.freeze({"matcher": matcher_protocol(ctx.opts.matcher),
                                              "candidates": min(ctx.opts.r_precision_candidates, len(keys)),
                                              "captions_sha256": digest,
                                              "seed": ctx.opts.r_precision_seed, "credit": "ties-shared",
                                              "similarity": "cosine, int64 on a 2^-28 grid"})}


def _check(ctx) -> str | None:
    from bench.text.matchers import MATCHERS

    if len(pool(ctx)) < 2:
        return "needs at least 2 conditions (a sample's caption is ranked against the others')"
    size = getattr(MATCHERS.get(ctx.opts.matcher), "input_size", None) if ctx.opts.matcher else None
    if size is not None and ctx.size is not None and tuple(ctx.size) != tuple(size):
        return (f"matcher '{ctx.opts.matcher}' describes {size[0]}x{size[1]} images (its facts count pixel regions), "
                f"these are {ctx.size[0]}x{ctx.size[1]}")
    return None


SPEC = MetricSpec(
    "r_precision", higher_is_better=True, inputs=("pixels", "captions"), networks=("matcher",),
    build=RPrecision, protocol=_protocol, check=_check, tasks=("text",), one_size=True,
    columns=(Column("r_precision", "R-prec.", True, 1, percent=True),), builtin=True,
    description="share of samples whose own caption ranks first among 100 candidates under a fixed image-text "
                "matcher (AttnGAN's R-precision, R = 1)",
)
