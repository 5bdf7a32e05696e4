"""CLIP ViT-B/32 image embeddings (512-d) as clean-fid's ``model_name="clip_vit_b_32"`` computes them.

clean-fid's pipeline, step by step: the uint8 image goes through torchvision's ``Resize(224, BICUBIC)`` (shorter side
to 224, PIL bicubic) and ``CenterCrop(224)`` on a PIL image, back to uint8; then x / 255, CLIP's mean/std
normalisation, and ``encode_image`` of OpenAI's ViT-B/32 in float32 (clean-fid on CPU; on CUDA, OpenAI's ``clip.load``
runs the network in float16). The network is torch-fidelity's port of OpenAI's visual tower (``build_model``, MIT),
built from the state dict of OpenAI's released TorchScript file: we read its tensors, never run its code.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import torch

from bench import weights
from bench.errors import BenchError

CLIP_SIZE = 224
CLIP_DIM = 512
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
PREPROCESS = ("torchvision Resize(224, bicubic, PIL) of the shorter side, CenterCrop(224), uint8; x/255; CLIP "
              "mean/std (clean-fid clip_vit_b_32)")


@functools.lru_cache(maxsize=1)
def _clip_resize():
    from torchvision import transforms

    return transforms.Compose([transforms.Resize(CLIP_SIZE, interpolation=transforms.InterpolationMode.BICUBIC),
                               transforms.CenterCrop(CLIP_SIZE)])


def clip_preprocess(img: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 -> uint8 224x224x3, clean-fid's ``img_preprocess_clip`` (the transform is built once)."""
    from PIL import Image

    return np.asarray(_clip_resize()(Image.fromarray(img).convert("RGB"))).clip(0, 255).astype(np.uint8)


def visual_from_state_dict(state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """OpenAI CLIP's visual tower from a full CLIP state dict (torch-fidelity's ``build_model``), its weights rounded
    to float16 as OpenAI's ``clip.load`` holds them, then run in float32."""
    from torch_fidelity.feature_extractor_clip import build_model

    if "visual.proj" not in state or "text_projection" not in state:
        raise BenchError("not an OpenAI CLIP ViT state dict (no visual.proj / text_projection)")
    state = dict(state)
    # torch-fidelity's convert_weights leaves the output projection in float32, OpenAI's rounds it too (a no-op for
    # the released file, which is float16 throughout; not for a float32 fine-tune)
    state["visual.proj"] = state["visual.proj"].half()
    return build_model(state, torch.float32).visual.eval()


@functools.lru_cache(maxsize=2)
def _load_visual(path: str, sha256: str, device: str) -> torch.nn.Module:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load's deprecation notice
        # OpenAI's release is a TorchScript archive, verified by sha256 before we get here; we take its tensors only.
        state = torch.jit.load(path, map_location="cpu").state_dict()
    return visual_from_state_dict(state).to(device)


class ClipFeatures:
    """512-d CLIP ViT-B/32 image embeddings; weights through the resolver, sha256-checked."""

    name = "clip-vit-b-32"
    dim = CLIP_DIM

    def __init__(self, device: str | torch.device = "cpu", weights_path: str | None = None,
                 visual: torch.nn.Module | None = None) -> None:
        self.device = torch.device(device)
        if visual is None:
            self.weights = weights.resolve(weights.CLIP_VIT_B32.name, weights_path)
            visual = _load_visual(str(self.weights.path), self.weights.sha256, str(self.device))
        self.visual = visual.to(self.device).eval()
        self.mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)

    def preprocess(self, images: list[np.ndarray]) -> torch.Tensor:
        """uint8 HxWx3 arrays -> float32 [B,3,224,224] in 0..255."""
        batch = np.stack([clip_preprocess(im) for im in images])
        return torch.from_numpy(batch).permute(0, 3, 1, 2).float()

    @torch.no_grad()
    def __call__(self, resized: torch.Tensor) -> torch.Tensor:
        if resized.shape[1:] != (3, CLIP_SIZE, CLIP_SIZE):
            raise BenchError(f"CLIP expects [B,3,{CLIP_SIZE},{CLIP_SIZE}], got {tuple(resized.shape)}")
        x = (resized.to(torch.float32) / 255.0 - self.mean) / self.std
        return self.visual(x.to(self.device)).float().cpu()
