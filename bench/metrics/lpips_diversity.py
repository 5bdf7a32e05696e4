"""LPIPS between samples of one condition (the multimodal-translation diversity score): higher is more diverse."""

from __future__ import annotations

from bench.metrics.msssim_diversity import diversity_protocol
from bench.metrics.paired import MeanOf
from bench.metrics.registry import Column, MetricSpec


class LPIPSDiversity(MeanOf):
    def __init__(self, ctx=None) -> None:
        super().__init__("lpips_diversity")

    def update_view(self, view) -> None:
        left, right = view.group_pairs()
        if left:
            self.update(view.net("lpips-alex").distance(view.fake[left], view.fake[right]))


SPEC = MetricSpec(
    "lpips_diversity", higher_is_better=True, inputs=("groups",), networks=("lpips-alex",), build=LPIPSDiversity,
    protocol=diversity_protocol, columns=(Column("lpips_diversity", "LPIPS div.", True, 3),), builtin=True,
    description="mean LPIPS of seeded random sample pairs per condition (higher: more diverse)",
)
