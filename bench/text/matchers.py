"""Image-text matchers for text-image consistency (``r_precision``): fixed models that put images and captions in
one space, where a caption's cosine similarity to an image says how well it describes it.

    from bench.text.matchers import get_matcher
    m = get_matcher("embedded-streets-captions")
    m.encode_images(fake_u8)           # float32 [B, D] unit rows
    m.encode_texts(["a red car ..."])  # float32 [N, D] unit rows
    m.protocol()                       # what the fingerprint holds: names, versions, weight digests

AttnGAN's R-precision uses its DAMSM image and text encoders, trained on the dataset (Xu et al. 2018); the
embedded set's matcher needs no training: ``embedded-streets-captions`` segments the image with the embedded
segmenter, states its facts with the caption function of the dataset (``bench.text.describe``: the five
templates' embeddings, averaged) and embeds them with the hashing encoder, the same one as the captions'. A sample
whose cars, people, trees, sky and road are those of its caption scores its own caption above others.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bench.registry import Registry


class EmbeddedStreetsMatcher:
    """synthetic-streets images <-> their generated captions (see the module)."""

    name = "embedded-streets-captions"
    segmenter_name = "embedded-synthetic-streets"
    input_size = (64, 64)  # the captions' facts are pixel-region counts of the 64x64 rendering

    def __init__(self, device: str = "cpu") -> None:
        from bench.segmenters import get_segmenter

        self.segmenter = get_segmenter(self.segmenter_name, device=device)
        self.weights = {f"segmenter:{self.segmenter_name}": {
            "sha256": self.segmenter.weights_sha256, "source": "bench.segmenters",
            "file": str(getattr(self.segmenter, "weights_path", ""))}}

    @classmethod
    def protocol(cls) -> dict[str, Any]:
        from bench.segmenters.embedded import WEIGHTS
        from bench.text import describe, hashing

        return {"name": cls.name, "input_size": list(cls.input_size), "segmenter": cls.segmenter_name,
                "segmenter_sha256": WEIGHTS.sha256,
                "captions": f"v{describe.VERSION}", "text_encoder": hashing.NAME}

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        from bench.text.hashing import embed_all

        return embed_all(texts)

    def encode_images(self, images: Any) -> np.ndarray:
        """uint8 [B,3,H,W] -> float32 [B, D]: the normalised mean embedding of the five captions of each image's
        segmentation (``describe`` of the predicted label map and the image)."""
        from bench.text.describe import describe
        from bench.text.hashing import embed_all

        from bench.errors import BenchError

        if tuple(images.shape[-2:]) != self.input_size:
            raise BenchError(f"matcher '{self.name}' describes {self.input_size[0]}x{self.input_size[1]} images, got "
                             f"{images.shape[-2]}x{images.shape[-1]}")
        labels = np.asarray(self.segmenter(images).cpu())
        pixels = images.permute(0, 2, 3, 1).cpu().numpy()
        rows = []
        for label, photo in zip(labels, pixels):
            v = embed_all(describe(label, photo)).astype(np.float64).mean(0)
            rows.append(v / max(float(np.sqrt(v @ v)), 1e-12))
        return np.stack(rows).astype(np.float32)


MATCHERS: Registry[Any] = Registry("image-text matcher")
MATCHERS.register(EmbeddedStreetsMatcher.name, EmbeddedStreetsMatcher)


def get_matcher(name: str, device: str = "cpu") -> Any:
    """An instance of the registered matcher ``name`` (unknown names raise with a did-you-mean)."""
    return MATCHERS.get(name)(device=device)


def matcher_protocol(name: str) -> dict[str, Any]:
    """The fingerprint's description of a matcher, without building it."""
    return MATCHERS.get(name).protocol()
