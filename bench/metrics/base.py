"""Stateful metric base: states are float64/int64 running sums (or lists of rows) that reduce across processes.

A metric's math lives in pure functions next to it; the classes only hold state, so that ``update`` over any
batching and ``merge`` over any sharding give the same ``compute`` (batch-size and world-size independence).
"""

from __future__ import annotations

from typing import Any

import torch


class Metric:
    """update / compute / reset over named states.

    ``_sum_states``: tensors summed across processes. ``_cat_states``: lists of row tensors concatenated in
    rank order (features for KID, logits for IS).
    """

    name: str = "metric"
    version: str = "1"
    # per-sample table column -> cat state holding one value per fake image in pass order (PSNR of each image, ...)
    per_sample_columns: dict[str, str] = {}

    def __init__(self) -> None:
        self._sum_states: dict[str, torch.Tensor] = {}
        self._cat_states: dict[str, list[torch.Tensor]] = {}
        self.reset()

    def add_sum_state(self, name: str, shape: tuple[int, ...] = (), dtype: torch.dtype = torch.float64) -> None:
        self._sum_states[name] = torch.zeros(shape, dtype=dtype)

    def add_cat_state(self, name: str) -> None:
        self._cat_states[name] = []

    def reset(self) -> None:
        for k, v in self._sum_states.items():
            self._sum_states[k] = torch.zeros_like(v)
        for k in self._cat_states:
            self._cat_states[k] = []

    def state(self, name: str) -> torch.Tensor:
        if name in self._sum_states:
            return self._sum_states[name]
        rows = self._cat_states[name]
        return torch.cat(rows) if rows else torch.empty(0)

    def _add(self, name: str, value: torch.Tensor) -> None:
        self._sum_states[name] += value.to(self._sum_states[name].dtype)

    def _append(self, name: str, rows: torch.Tensor) -> None:
        self._cat_states[name].append(rows.detach().cpu())

    def merge(self, other: "Metric") -> "Metric":
        """Fold another shard's states into this one (what an all-reduce does across processes)."""
        for k in self._sum_states:
            self._sum_states[k] = self._sum_states[k] + other._sum_states[k]
        for k in self._cat_states:
            self._cat_states[k] = self._cat_states[k] + other._cat_states[k]
        return self

    def sync(self) -> None:
        """Reduce states across torch.distributed processes (no-op when not initialised)."""
        import torch.distributed as dist

        from bench.distributed import cpu_group

        if not (dist.is_available() and dist.is_initialized()):
            return
        group = cpu_group()  # states are CPU tensors: gloo, also beside NCCL
        for k, v in self._sum_states.items():
            dist.all_reduce(v, op=dist.ReduceOp.SUM, group=group)
        for k in self._cat_states:
            gathered: list[Any] = [None] * dist.get_world_size()
            dist.all_gather_object(gathered, self.state(k), group=group)
            self._cat_states[k] = [g for g in gathered if g.numel()]

    def compute(self) -> dict[str, Any]:
        raise NotImplementedError


class FeatureRows(Metric):
    """A metric that needs every feature row of both sides (k-NN balls, subsets, resamples), not running moments:
    cat states ``fake`` and ``real`` of one featurizer's rows."""

    network: str = "inception-pool3"

    def __init__(self) -> None:
        super().__init__()
        self.add_cat_state("fake")
        self.add_cat_state("real")

    def update_view(self, view) -> None:
        self._append("fake", view.output(self.network))

    def update_real(self, rows: dict) -> None:
        self._append("real", torch.from_numpy(rows[self.network]))

    def rows(self) -> tuple[Any, Any]:
        """(fake rows, real rows) as numpy arrays."""
        return self.state("fake").numpy(), self.state("real").numpy()
