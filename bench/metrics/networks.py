"""The networks metrics share: each is built once per evaluation, through the weight resolver.

A *featurizer* maps a batch of fake images to one row per image; the evaluator runs it once per batch whatever
the number of metrics reading its rows (FID and KID share Inception's pool features), prepares its input in the
loader thread, and computes (and caches on disk) the same rows for the real folder when a metric asks for
``features``. A *model* (LPIPS, a segmenter) is handed to the metrics that call it on their own inputs.

``protocol()`` gives the fields that name the network in the fingerprint: registry digests, not what this machine
happens to hold, so a run where IS or LPIPS is unavailable gets the same fingerprint as one where they are computed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np
import torch

from bench.registry import Registry

if TYPE_CHECKING:
    from bench.evaluate import EvalContext


@dataclass(frozen=True)
class NetworkSpec:
    name: str
    kind: str  # "featurizer" or "model"
    build: Callable[["EvalContext"], Any]
    protocol: Callable[[], dict[str, Any]] | None = None


def _weights_entry(resolved: Any) -> dict[str, str]:
    return {"file": str(resolved.path), "sha256": resolved.sha256, "source": resolved.source}


class InceptionPool:
    """Inception-v3 2015-12-05 pool3 (2048-d), clean-fid's resize; rows are cached for real folders."""

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.features import InceptionFeatures

        self.net = InceptionFeatures(ctx.opts.device, ctx.opts.inception_weights)
        self.weights = {self.net.weights.name: _weights_entry(self.net.weights)}
        self.dim = 2048
        self.cache_identity = {"extractor": self.net.weights.sha256, "resize": self.net.resize_mode}
        self.what = "Inception features"

    def prepare(self, images: list[np.ndarray]) -> torch.Tensor:
        return self.net.preprocess(images)

    def __call__(self, prepared: torch.Tensor) -> torch.Tensor:
        return self.net(prepared)


class _ViewFeaturizer:
    """A featurizer network with its own resize (prepared in the loader thread) and cached real rows."""

    net: Any
    what = "features"

    def _finish(self, resize: str) -> None:
        w = getattr(self.net, "weights", None)
        self.weights = {w.name: _weights_entry(w)} if w is not None else {}
        self.dim = self.net.dim
        self.cache_identity = {"extractor": w.sha256 if w is not None else self.net.name, "resize": resize}

    def prepare(self, images: list[np.ndarray]) -> torch.Tensor:
        return self.net.preprocess(images)

    def __call__(self, prepared: torch.Tensor) -> torch.Tensor:
        return self.net(prepared)


class ClipNet(_ViewFeaturizer):
    """CLIP ViT-B/32 image embeddings with clean-fid's clip_vit_b_32 preprocessing (FD_CLIP, KID_CLIP)."""

    what = "CLIP features"

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.features_clip import PREPROCESS, ClipFeatures

        self.net = ClipFeatures(ctx.opts.device, ctx.opts.clip_weights)
        self._finish(PREPROCESS)


class ClipTextNet:
    """CLIP ViT-B/32's text tower and tokenizer (clip_score); the same weight file as the image tower."""

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.clip_text import ClipTextEncoder

        self.encoder = ClipTextEncoder(ctx.opts.device, ctx.opts.clip_weights)
        self.weights = {self.encoder.weights.name: _weights_entry(self.encoder.weights)}

    def __call__(self, texts: list[str]) -> torch.Tensor:
        return self.encoder(texts)


class Dinov2Net(_ViewFeaturizer):
    """DINOv2 ViT-L/14 CLS features with dgm-eval's preprocessing (FD_DINOv2, KID_DINOv2)."""

    what = "DINOv2 features"

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.features_dinov2 import PREPROCESS, Dinov2Features

        self.net = Dinov2Features(ctx.opts.device, ctx.opts.dinov2_weights)
        self._finish(PREPROCESS)


class InceptionLogitsNet:
    """Inception-v3 2015-12-05 1008-way logits (torch-fidelity's port and input pipeline), for IS."""

    cache_identity = None
    prepare = None  # takes the uint8 batch itself
    what = "Inception logits"

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.features import InceptionLogits

        self.net = InceptionLogits(ctx.opts.device, ctx.opts.is_weights)
        self.weights = {self.net.weights.name: _weights_entry(self.net.weights)}

    def __call__(self, fake_u8: torch.Tensor) -> torch.Tensor:
        return self.net(fake_u8)


class LpipsNet:
    def __init__(self, ctx: "EvalContext") -> None:
        from bench.metrics.lpips import build_lpips

        self.model, resolved = build_lpips("alex", device=ctx.opts.device, backbone_path=ctx.opts.lpips_weights)
        self.weights = {resolved.name: _weights_entry(resolved)}

    def distance(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        from bench.metrics.lpips import lpips_distance

        return lpips_distance(self.model, a, b)


class SegmenterNet:
    """A registered segmenter (bench.segmenters) or ``package.module:callable``; its protocol is recorded."""

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.evaluate import _load_segmenter

        self.spec = ctx.opts.segmenter
        self.segmenter, self.num_classes, self.sha256 = _load_segmenter(ctx.opts.segmenter, ctx.opts.num_classes)
        self.weights = ({f"segmenter:{self.spec}": {"sha256": self.sha256, "source": "bench.segmenters",
                                                    "file": str(getattr(self.segmenter, "weights_path", ""))}}
                        if self.sha256 else {})
        proto = getattr(self.segmenter, "protocol", None)
        self.protocol = proto.as_dict() if hasattr(proto, "as_dict") else None

    def __call__(self, fake_u8: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(self.segmenter(fake_u8))


class ClassifierNet:
    """A fixed classifier of the dataset's classes (bench.classifiers), for class_acc; its protocol is the metric's."""

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.classifiers import get_classifier
        from bench.errors import BenchError

        name = ctx.opts.classifier
        self.classifier = get_classifier(name, ctx.opts.classifier_weights, ctx.opts.device)
        if tuple(ctx.size) != tuple(self.classifier.spec.input_size):
            h, w = self.classifier.spec.input_size
            raise BenchError(f"classifier '{name}' takes {h}x{w} images, these are {ctx.size[0]}x{ctx.size[1]}")
        self.weights = {f"classifier:{name}": {"file": self.classifier.path, "sha256": self.classifier.sha256,
                                               "source": "bench.classifiers"}}

    def __call__(self, fake_u8: torch.Tensor) -> torch.Tensor:
        return self.classifier(fake_u8)


class MatcherNet:
    """A fixed image-text matcher (bench.text.matchers), for r_precision; its protocol is the metric's."""

    def __init__(self, ctx: "EvalContext") -> None:
        from bench.text.matchers import get_matcher

        self.matcher = get_matcher(ctx.opts.matcher, ctx.opts.device)
        self.weights = dict(getattr(self.matcher, "weights", {}))

    def encode_images(self, fake_u8: torch.Tensor) -> np.ndarray:
        return self.matcher.encode_images(fake_u8)

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        return self.matcher.encode_texts(texts)


def _named_by(field: str, weight_file: str) -> Callable[[], dict[str, Any]]:
    """Protocol fields naming a network by its registered file's sha256."""
    def protocol() -> dict[str, Any]:
        from bench import weights

        return {field: getattr(weights, weight_file).sha256}

    return protocol


NETWORKS: Registry[NetworkSpec] = Registry("network")
NETWORKS.register("inception-pool3", NetworkSpec("inception-pool3", "featurizer", InceptionPool,
                                                  _named_by("feature_extractor_sha256", "INCEPTION_FID")))
NETWORKS.register("inception-logits", NetworkSpec("inception-logits", "featurizer", InceptionLogitsNet,
                                                   _named_by("is_network_sha256", "INCEPTION_LOGITS")))
NETWORKS.register("clip-vit-b-32", NetworkSpec("clip-vit-b-32", "featurizer", ClipNet))
NETWORKS.register("dinov2-vit-l-14", NetworkSpec("dinov2-vit-l-14", "featurizer", Dinov2Net))
NETWORKS.register("lpips-alex", NetworkSpec("lpips-alex", "model", LpipsNet, _named_by("lpips_backbone_sha256", "ALEXNET")))
NETWORKS.register("segmenter", NetworkSpec("segmenter", "model", SegmenterNet))
NETWORKS.register("classifier", NetworkSpec("classifier", "model", ClassifierNet))
NETWORKS.register("matcher", NetworkSpec("matcher", "model", MatcherNet))
NETWORKS.register("clip-text", NetworkSpec("clip-text", "model", ClipTextNet))
