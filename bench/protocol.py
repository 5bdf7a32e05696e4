"""The protocol: everything that can change a number, frozen, versioned and hashed to a short fingerprint."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

PROTOCOL_VERSION = "1"


@dataclass(frozen=True)
class Protocol:
    """Every field changes some metric value; two results are comparable only when fingerprints are equal.

    Fields that do not apply (no segmenter, no diversity) are ``None`` and still part of the hash.
    """

    dataset: str = "folder"  # dataset card id@version, or "folder" for `bench eval` on two folders
    split: str = "custom"
    eval_resolution: tuple[int, int] | None = None  # (height, width) the images are evaluated at
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
    segmenter: str | None = None
    segmenter_sha256: str | None = None
    num_classes: int | None = None
    ignore_index: int | None = 255
    metric_versions: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    version: str = PROTOCOL_VERSION

    def to_dict(self) -> dict:
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @property
    def fingerprint(self) -> str:
        """First 12 hex digits of the sha256 of the canonical JSON of every field."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]
