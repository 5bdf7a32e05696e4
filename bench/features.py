"""Inception-v3 (2015-12-05) features in clean-fid's "clean" mode, and the 1008-way logits for IS.

"clean" resize, as clean-fid defines it: each channel of the uint8 image becomes a float32 PIL 'F' image,
is resized to 299x299 with PIL bicubic, clipped to 0..255 and not quantised; the network sees (x - 128) / 128.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch
from PIL import Image

from bench import weights
from bench.errors import BenchError

FID_SIZE = 299
FEATURE_DIM = 2048


def clean_resize(img: np.ndarray, size: int = FID_SIZE) -> np.ndarray:
    """uint8 HxWx3 -> float32 size x size x 3, per-channel PIL bicubic in float mode (clean-fid 'clean')."""
    out = np.empty((size, size, 3), dtype=np.float32)
    for c in range(3):
        ch = Image.fromarray(img[:, :, c].astype(np.float32), mode="F")
        out[:, :, c] = np.asarray(ch.resize((size, size), resample=Image.BICUBIC)).clip(0, 255)
    return out


@functools.lru_cache(maxsize=2)
def _load_layers(path: str, sha256: str, device: str) -> torch.nn.Module:
    """Load once per process (keyed by digest too, so a replaced file is reloaded)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        # A TorchScript archive (no pickled Python objects), verified by sha256 before we get here.
        module = torch.jit.load(path, map_location=device).eval()
    return getattr(module, "net", module).layers


class InceptionFeatures:
    """2048-d pool features of NVIDIA's Inception-v3 stack; weights through the resolver, sha256-checked."""

    name = "inception-v3-2015-12-05"
    resize_mode = "clean"

    def __init__(self, device: str | torch.device = "cpu", weights_path: str | None = None) -> None:
        self.device = torch.device(device)
        self.weights = weights.resolve(weights.INCEPTION_FID.name, weights_path)
        self.layers = _load_layers(str(self.weights.path), self.weights.sha256, str(self.device))
        # channels_last runs this stack ~1.5x faster on CPU; features agree with NCHW to ~1e-6 relative.
        self.memory_format = torch.channels_last

    def preprocess(self, images: list[np.ndarray]) -> torch.Tensor:
        """uint8 HxWx3 arrays -> float32 [B,3,299,299] in 0..255 (clean resize)."""
        batch = np.stack([clean_resize(im) for im in images])
        return torch.from_numpy(batch).permute(0, 3, 1, 2)

    @torch.no_grad()
    def __call__(self, resized: torch.Tensor) -> torch.Tensor:
        """[B,3,299,299] float 0..255 -> [B,2048] float32 features."""
        if resized.shape[1:] != (3, FID_SIZE, FID_SIZE):
            raise BenchError(f"Inception expects [B,3,{FID_SIZE},{FID_SIZE}], got {tuple(resized.shape)}")
        x = resized.to(self.device, torch.float32).contiguous(memory_format=self.memory_format)
        x = (x - 128) / 128
        return self.layers(x).reshape(x.shape[0], FEATURE_DIM).float().cpu()


class InceptionLogits:
    """1008-way logits of Inception-v3 2015-12-05 (torch-fidelity's port, which holds the fc layer).

    Uses torch-fidelity's own input pipeline (uint8 in, TF1-style bilinear resize to 299 inside the network),
    so IS equals torch-fidelity's ISC on the same images.
    """

    name = "inception-v3-2015-12-05-logits"

    def __init__(self, device: str | torch.device = "cpu", weights_path: str | None = None) -> None:
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        self.device = torch.device(device)
        self.weights = weights.resolve(weights.INCEPTION_LOGITS.name, weights_path)
        state = torch.load(self.weights.path, map_location="cpu", weights_only=True)
        # torch-fidelity unpickles the file with weights_only=False; we hand it the tensors we loaded safely.
        real_load = torch.load
        torch.load = lambda *args, **kwargs: state  # type: ignore[assignment]
        try:
            model = FeatureExtractorInceptionV3(
                "inception-v3-compat", ["logits_unbiased"], feature_extractor_weights_path=str(self.weights.path)
            )
        finally:
            torch.load = real_load  # type: ignore[assignment]
        self.model = model.eval().to(self.device)

    @torch.no_grad()
    def __call__(self, images_u8: torch.Tensor) -> torch.Tensor:
        (logits,) = self.model(images_u8.to(self.device))
        return logits.to(torch.float64).cpu()
