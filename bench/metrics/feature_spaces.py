"""Frechet distance and KID in two more feature spaces: DINOv2 ViT-L/14 (Stein et al. 2023, whose study found it
agrees with human judgement where Inception does not) and CLIP ViT-B/32 (clean-fid's ``clip_vit_b_32``). Same
estimators as FID and KID (float64 moments; KID's kernel, subsets and seed), other networks; each network runs once
per image in the shared pass and its real-folder rows are cached like Inception's."""

from __future__ import annotations

from typing import Any

from bench.metrics.fid import FID
from bench.metrics.kid import KID
from bench.metrics.registry import Column, MetricSpec


def _space_protocol(field: str, network: str) -> Any:
    def protocol(ctx) -> dict:
        from bench import weights
        from bench.protocol import Protocol

        if network == "dinov2-vit-l-14":
            from bench.features_dinov2 import PREPROCESS, VITL14

            wf, extra = weights.DINOV2_VITL14, {"output": "CLS token after the final LayerNorm",
                                                "architecture": f"ViT-L/14 {VITL14}", "dtype": "float32"}
        else:
            from bench.features_clip import PREPROCESS

            wf, extra = weights.CLIP_VIT_B32, {"output": "encode_image (512-d)", "dtype": "float32"}
        return {field: Protocol.freeze({"network": network, "weights_sha256": wf.sha256, "preprocess": PREPROCESS,
                                        **extra})}

    return protocol


def _fd(key: str, title: str, network: str, field: str, what: str) -> MetricSpec:
    return MetricSpec(
        key, higher_is_better=False, inputs=("features",), networks=(network,), builtin=True,
        build=lambda ctx: FID(ctx.networks[network].dim, network, key), protocol=_space_protocol(field, network),
        columns=(Column(key, title, False, 2),),
        description=f"Frechet distance of {what} features, fake vs the real folder",
    )


def _kid(key: str, title: str, network: str, field: str, what: str) -> MetricSpec:
    def protocol(ctx) -> dict:
        return {**_space_protocol(field, network)(ctx), "kid_subsets": ctx.opts.kid_subsets,
                "kid_subset_size": ctx.opts.kid_subset_size, "kid_seed": ctx.opts.kid_seed}

    return MetricSpec(
        key, higher_is_better=False, inputs=("features",), networks=(network,), builtin=True,
        build=lambda ctx: KID(ctx.opts.kid_subsets, ctx.opts.kid_subset_size, ctx.opts.kid_seed, network, key),
        protocol=protocol, columns=(Column(key, title, False, 4),),
        description=f"KID (unbiased MMD^2, cubic kernel, seeded subsets) of {what} features",
    )


FD_DINOV2 = _fd("fd_dinov2", "FD_DINOv2", "dinov2-vit-l-14", "dinov2_features", "DINOv2 ViT-L/14 (dgm-eval)")
KID_DINOV2 = _kid("kid_dinov2", "KID_DINOv2", "dinov2-vit-l-14", "dinov2_features", "DINOv2 ViT-L/14 (dgm-eval)")
FD_CLIP = _fd("fd_clip", "FD_CLIP", "clip-vit-b-32", "clip_features", "CLIP ViT-B/32 (clean-fid)")
KID_CLIP = _kid("kid_clip", "KID_CLIP", "clip-vit-b-32", "clip_features", "CLIP ViT-B/32 (clean-fid)")
