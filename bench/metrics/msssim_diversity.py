"""MS-SSIM between samples of one condition (AC-GAN's diversity protocol): lower is more diverse."""

from __future__ import annotations

from bench.metrics.diversity import ms_ssim, ms_ssim_scales
from bench.metrics.paired import MeanOf
from bench.metrics.registry import Column, MetricSpec


class MSSSIMDiversity(MeanOf):
    def __init__(self, ctx) -> None:
        super().__init__("msssim_diversity")
        self.scales = ms_ssim_scales(*ctx.size)

    def update_view(self, view) -> None:
        left, right = view.group_pairs()
        if left:
            self.update(ms_ssim(view.fake[left], view.fake[right], self.scales))


def diversity_protocol(ctx) -> dict[str, int | str]:
    """The pairs both diversity metrics draw: ``diversity_pairs`` per condition, seeded per condition; the pairing
    only when it is not the default random one (so earlier records keep their fingerprints)."""
    out: dict[str, int | str] = {"diversity_pairs": ctx.opts.diversity_pairs, "diversity_seed": ctx.opts.diversity_seed}
    if ctx.opts.diversity_pairing != "random":
        out["diversity_pairing"] = ctx.opts.diversity_pairing
    return out


def _protocol(ctx) -> dict[str, int | None]:
    scales = ms_ssim_scales(*ctx.size) if "msssim_diversity" in ctx.wanted else None
    return {"msssim_scales": scales, **diversity_protocol(ctx)}


SPEC = MetricSpec(
    "msssim_diversity", higher_is_better=False, inputs=("groups",), build=MSSSIMDiversity, protocol=_protocol, one_size=True,
    columns=(Column("msssim_diversity", "MS-SSIM div.", False, 3),), builtin=True,
    description="mean MS-SSIM of seeded random sample pairs per condition (lower: more diverse)",
)
