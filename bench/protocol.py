"""The protocol: everything that can change a number, frozen, versioned and hashed to a short fingerprint."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

# 2: N (conditions, samples per condition, real images), instance maps, label encoding, the whole segmenter
#    protocol and the output quantisation joined the fingerprint
PROTOCOL_VERSION = "2"
_SET_ONLY = frozenset({"task", "classifier", "class_diversity", "cas", "knn", "extrapolation", "bootstrap",
                       "dinov2_features", "clip_features", "y_channel", "diversity_pairing",
                       "text_matching", "clip_score"})  # see Protocol.task


@dataclass(frozen=True)
class Protocol:
    """Every field changes some metric value; two results are comparable only when fingerprints are equal.

    Fields that do not apply (no segmenter, no diversity) are ``None`` and still part of the hash.
    """

    dataset: str = "folder"  # dataset card id@version, or "folder" for `bench eval` on two folders
    split: str = "custom"
    # How many: FID/KID are biased in N, so a number on 8 of 500 label maps is not the 500-map number.
    n_conditions: int | None = None  # label maps (conditions) evaluated; None for `bench eval` (see inputs)
    samples_per_condition: int | None = None
    n_real: int | None = None
    partial: bool = False  # True when the evaluated conditions are not the whole split its manifest lists
    has_instances: bool | None = None  # instance maps given to the generator (None: not a `bench run`)
    label_encoding: str | None = None  # "index-png", or "colour-jpeg-ab" for pix2pix A|B files (decoded labels)
    # The benchmark's sample convention: generators return uint8 (bench.adapter.to_uint8 rounds half to even) and
    # samples are stored as lossless PNG. SPADE's and pix2pixHD's own writers truncate (and pix2pixHD saves JPEG):
    # about +0.5 grey level on average in our samples, enough to move FID, so it is part of the protocol.
    output_quantisation: str = "uint8-round-half-even"
    sample_format: str = "png"
    # (height, width) the images are evaluated at; "native": each at its own size (bench eval --mixed-sizes)
    eval_resolution: tuple[int, int] | str | None = None
    image_resize: str = "none"  # filter used to bring images to eval_resolution
    label_resize: str = "nearest"
    # FID / KID features
    feature_extractor: str = "inception-v3-2015-12-05"
    feature_extractor_sha256: str = ""
    fid_resize: str = "clean"  # clean-fid's: per-channel float PIL bicubic to 299, no quantisation
    kid_subsets: int = 100
    kid_subset_size: int = 1000
    kid_seed: int = 0
    kid_kernel: str = "poly3"  # (x.y / d + 1) ** 3, unbiased MMD^2
    is_splits: int = 10
    is_seed: int = 2020
    is_network_sha256: str = ""
    lpips_net: str = "alex"
    lpips_version: str = "0.1"
    lpips_backbone_sha256: str = ""
    ssim: str = "gaussian11-sigma1.5-k0.01-0.03-nodownsample"
    msssim_scales: int | None = None
    diversity_pairs: int = 10  # random pairs per condition (AC-GAN protocol), seeded
    diversity_seed: int = 0
    # how the diversity pairs are formed: None (the default, unset in the fingerprint) = ``diversity_pairs`` random
    # distinct pairs among a condition's samples; "disjoint" = consecutive samples (0, 1), (2, 3), ...: independent
    # output pairs, the protocol of BicycleGAN / MUNIT (19 pairs for each of 100 inputs)
    diversity_pairing: str | None = None
    segmenter: str | None = None
    segmenter_sha256: str | None = None
    # every field of the segmenter's SegmenterProtocol (input size, normalisation, resize policy, ...), as a
    # sorted tuple of (key, canonical JSON value) so the dataclass stays hashable
    segmenter_protocol: tuple[tuple[str, str], ...] | None = None
    num_classes: int | None = None
    ignore_index: int | None = 255
    metric_versions: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    version: str = PROTOCOL_VERSION
    # Fields added after protocol 2 are part of the dict and the hash only when set, so every protocol that
    # predates them keeps its fingerprint (None meant the same thing before the field existed):
    # the task kind and its parameters (scale and degradation, mask protocol, ...); None is `semantic`.
    task: tuple[tuple[str, str], ...] | None = None
    # the per-class metrics' protocols (set only for evaluations given classes): class_acc's classifier (name,
    # architecture, input size, weights sha256), msssim_class's pairs, seed and scales, CAS's training recipe and seeds
    classifier: tuple[tuple[str, str], ...] | None = None
    class_diversity: tuple[tuple[str, str], ...] | None = None
    cas: tuple[tuple[str, str], ...] | None = None
    # the second metric set (issue 17): k-NN manifold metrics (features, k, ball convention), FID/IS-infinity's
    # subsets and fit, the bootstrap's resamples, and the DINOv2 / CLIP feature spaces (network, weights sha256,
    # preprocessing). Set by every evaluation since; unset in records made before them, which keep their fingerprints.
    knn: tuple[tuple[str, str], ...] | None = None
    extrapolation: tuple[tuple[str, str], ...] | None = None
    bootstrap: tuple[tuple[str, str], ...] | None = None
    dinov2_features: tuple[tuple[str, str], ...] | None = None
    clip_features: tuple[tuple[str, str], ...] | None = None
    # psnr_y / ssim_y (the super-resolution convention): border crop (the SR scale, 0 outside SR), Y channel and
    # PSNR / SSIM definitions (bench/metrics/psnr_y.py). Unset in records made before them.
    y_channel: tuple[tuple[str, str], ...] | None = None
    # r_precision (the text task): the image-text matcher (name, its networks' digests, caption and text-encoder
    # versions), candidates per sample and their seed. Set only for evaluations given captions.
    text_matching: tuple[tuple[str, str], ...] | None = None
    # clip_score (the text task): its definition, CLIP's weights sha256, image preprocessing and tokenizer
    clip_score: tuple[tuple[str, str], ...] | None = None

    @staticmethod
    def freeze(fields: dict[str, Any] | None) -> tuple[tuple[str, str], ...] | None:
        """A dict of protocol facts as a hashable, canonical tuple (key, JSON value), sorted by key."""
        if fields is None:
            return None
        return tuple(sorted((str(k), json.dumps(v, sort_keys=True)) for k, v in fields.items()))

    def to_dict(self) -> dict:
        d = json.loads(json.dumps(dataclasses.asdict(self)))
        return {k: v for k, v in d.items() if not (k in _SET_ONLY and v is None)}

    @property
    def fingerprint(self) -> str:
        """First 12 hex digits of the sha256 of the canonical JSON of every field."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
