"""Inception Score from the 1008-way logits of the Inception-v3 2015-12-05 network."""

from __future__ import annotations

import numpy as np
import torch

from bench.errors import BenchError
from bench.metrics.base import Metric
from bench.metrics.registry import Column, MetricSpec


def inception_score(logits: np.ndarray | torch.Tensor, *, splits: int = 10, seed: int | None = 2020) -> dict[str, float]:
    """exp(E_x KL(p(y|x) || p(y))) per split, mean and std over ``splits`` (float64).

    With ``seed`` set, rows are first permuted by ``numpy.random.RandomState(seed).permutation(N)`` (as
    torch-fidelity does, so one seed gives one value); ``seed=None`` keeps file order.
    """
    x = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    if x.ndim != 2:
        raise BenchError(f"Inception Score expects logits of shape [N, C], got {tuple(x.shape)}")
    n = x.shape[0]
    if n < splits:
        raise BenchError(f"Inception Score with {splits} splits needs at least {splits} images, got {n}")
    if not torch.isfinite(x).all():
        raise BenchError("Inception Score: logits contain NaN or Inf")
    if seed is not None:
        x = x[torch.from_numpy(np.random.RandomState(seed).permutation(n))]
    log_p = x.log_softmax(dim=1)
    p = log_p.exp()
    scores = []
    for i in range(splits):
        lo, hi = i * n // splits, (i + 1) * n // splits
        p_c, log_p_c = p[lo:hi], log_p[lo:hi]
        log_q = p_c.mean(dim=0, keepdim=True).log()
        scores.append(float((p_c * (log_p_c - log_q)).sum(dim=1).mean().exp()))
    return {"is": float(np.mean(scores)), "is_std": float(np.std(scores))}


class InceptionScore(Metric):
    name = "is"
    version = "1"

    def __init__(self, splits: int = 10, seed: int | None = 2020) -> None:
        super().__init__()
        self.splits, self.seed = splits, seed
        self.add_cat_state("logits")

    def update(self, logits: torch.Tensor) -> None:
        self._append("logits", logits.to(torch.float64))

    def update_view(self, view) -> None:
        self.update(view.output("inception-logits"))

    def compute(self) -> dict[str, float]:
        return inception_score(self.state("logits"), splits=self.splits, seed=self.seed)


SPEC = MetricSpec(
    "is", higher_is_better=True, inputs=("outputs",), networks=("inception-logits",),
    build=lambda ctx: InceptionScore(seed=ctx.opts.is_seed), protocol=lambda ctx: {"is_seed": ctx.opts.is_seed},
    columns=(Column("is", "IS", True, 2),), builtin=True,
    description="Inception Score of the fake images (torch-fidelity's network and splits)",
)
