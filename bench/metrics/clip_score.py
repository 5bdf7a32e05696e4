"""CLIP score of text-to-image samples: 100 * max(cos(CLIP image embedding, CLIP text embedding of the sample's
caption), 0), averaged over the samples (torchmetrics' ``CLIPScore`` definition; Hessel et al. 2021's CLIPScore is the
same cosine with weight 2.5). Image embeddings: the CLIP ViT-B/32 rows FD_CLIP reads (clean-fid's preprocessing:
bicubic resize of the shorter side to 224, centre crop, as CLIP's own); text embeddings: CLIP's text tower of the same
file and OpenAI's tokenizer (``bench.clip_text``). Without OpenAI's ``ViT-B-32.pt`` or the ``openai-clip`` package
it is listed as unavailable, naming what is missing."""

from __future__ import annotations

from typing import Any

import torch

from bench.metrics.base import Metric
from bench.metrics.registry import Column, MetricSpec

DEFINITION = "100 * mean(max(cos(image, text), 0)) (torchmetrics CLIPScore)"


class ClipScore(Metric):
    name = "clip_score"

    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.add_sum_state("total")
        self.add_sum_state("count")

    def update_view(self, view) -> None:
        img = view.output("clip-vit-b-32").to(torch.float64)
        txt = view.net("clip-text")([self.ctx.opts.captions[p.group] for p in view.items]).to(torch.float64)
        cos = torch.nn.functional.cosine_similarity(img, txt, dim=1, eps=1e-12)
        self._add("total", (100.0 * cos.clamp_min(0)).sum())
        self._add("count", torch.tensor(float(len(view.items))))

    def compute(self) -> dict:
        return {"clip_score": float(self.state("total")) / float(self.state("count"))}


def _protocol(ctx) -> dict[str, Any]:
    from bench import weights
    from bench.clip_text import TOKENIZER
    from bench.features_clip import PREPROCESS
    from bench.protocol import Protocol

    if ctx.opts.captions is None:
        return {"clip_score": None}
    return {"clip_score": Protocol.freeze({"definition": DEFINITION, "network_sha256": weights.CLIP_VIT_B32.sha256,
                                           "image_preprocess": PREPROCESS, "tokenizer": TOKENIZER})}


SPEC = MetricSpec(
    "clip_score", higher_is_better=True, inputs=("pixels", "captions"), networks=("clip-vit-b-32", "clip-text"),
    build=ClipScore, protocol=_protocol, tasks=("text",),
    columns=(Column("clip_score", "CLIP score", True, 2),), builtin=True,
    description="100 x mean max(cosine, 0) between the CLIP ViT-B/32 image and text embeddings of each sample and its "
                "caption",
)
