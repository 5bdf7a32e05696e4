"""pix2pix-seg-clip: a pix2pix variant for semantic image synthesis (COCO-Stuff) whose discriminator segments the
image, trained with a CLIP image-embedding loss. No official code exists; the method is specified by a course's
slides on conditional GANs, and everything they leave open is a config key (see ``pix2pix_seg_clip_config``).

Generator G(x, z): pix2pix's U-Net (``reference_models.pix2pix.UnetGenerator``, the same nested blocks and init) on
the one-hot label map x with a per-image noise vector z (``z_dim``, standard normal) replicated over the pixels and
concatenated to x as extra input channels, as OASIS feeds its 3D noise. Why the U-Net and not SPADE's generator: the
slides call the method a pix2pix variant, and it is the cheaper network (pix2pix's mini trains at ~65 images/s,
SPADE's at ~13 at the same width: the ``mini`` budget). pix2pix's dropout was its only noise source; with an explicit
z it is off by default (config ``dropout``), and every norm is instance norm (pix2pix trains at batch 1, where
BatchNorm is per sample), so a sample depends only on its label map and the seed of its z
(``bench.adapter.per_sample_noise``). The trainer draws z from the global RNG it seeds per step (exact resume).

Discriminator: OASIS's U-Net segmentation discriminator (``reference_models.oasis.OASISDiscriminator``): per pixel one
of num_classes + 1 labels, label 0 meaning "fake" (173-way on the slides' 172 COCO-Stuff labels: 171 classes +
"unlabeled"; here the dataset card's count + 1: 184 on COCO-Stuff, whose card keeps SPADE's 182 ids + unlabeled, 11 of
them never used; "unlabeled" is a class as on the slides, not a don't-care). No LabelMix, no EMA generator (OASIS's,
not on the slides). Losses, with OASIS's class-balanced (N+1)-way cross-entropy (``oasis_ce_loss``):

    L_D = lambda_D * (CE(D(y), classes of x) + CE(D(G(x, z)), fake))
    L_G = lambda_D * CE(D(G(x, z)), classes of x) + lambda_VGG * VGG(G(x, z), y) + lambda_CLIP * L_CLIP

with lambda_D 2.5 (the slides put it on "the discriminator loss": we weight the adversarial cross-entropy by it on both
sides; on D's side it only scales the loss under Adam), lambda_VGG 10 with pix2pixHD's layer weights 1/32, 1/16, 1/8,
1/4, 1 (``losses.VGGLoss``), lambda_CLIP 30 and

    L_CLIP = 1 - cos(E(G(x, z)), E(y)),    cos(a, b) = a . b / (||a|| ||b||),

E the CLIP image encoder (the slides' formula has a typo in its denominator; this is the cosine similarity they
name), averaged over the batch, E(y) without gradient. E is OpenAI's CLIP ViT-B/32 image tower, the same registered
weight file (``clip-vit-b-32``) and loader as the project's FD_CLIP metric (``bench.features_clip.ClipFeatures``);
images go in as clean-fid's CLIP path does (shorter side resized to 224, centre crop, CLIP mean/std) but through
differentiable bicubic interpolation instead of PIL. As the VGG loss: without a verified weight file (the usual offline
case) the term is off with one warning per process and the training record says so (``clip_status``: train.json's and the
run record's ``clip_loss``, beside ``vgg_loss``). Test hook: ``model.set_clip_encoder(module)`` puts any image encoder
([B,3,S,S] -> [B,D]) in place of CLIP's, no weights needed.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, per_sample_noise, register_method
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, one_hot
from reference_models.oasis import OASISDiscriminator, init_weights, oasis_ce_loss
from reference_models.pix2pix import UnetGenerator, _init_normal

_warned: set[str] = set()


# ----------------------------------------------------------------------------- the CLIP loss

def clip_input(x: torch.Tensor, size: int = 224, mean: torch.Tensor | None = None,
               std: torch.Tensor | None = None) -> torch.Tensor:
    """Images in [-1, 1] [B,3,H,W] -> CLIP's input [B,3,size,size], differentiably: the shorter side resized to
    ``size`` (bicubic, antialiased when shrinking; the longer side as torchvision's ``Resize(size)``), the centre
    crop (torchvision's ``CenterCrop`` offsets), [0, 1], then CLIP's mean/std."""
    from bench.features_clip import MEAN, STD

    h, w = x.shape[-2:]
    if h <= w:
        nh, nw = size, int(size * w / h)
    else:
        nh, nw = int(size * h / w), size
    x = (x.float() + 1) / 2
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bicubic", align_corners=False, antialias=nh < h or nw < w)
    top, left = int(round((nh - size) / 2.0)), int(round((nw - size) / 2.0))
    x = x[..., top:top + size, left:left + size].clamp(0, 1)
    mean = torch.tensor(MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) if mean is None else mean.to(x)
    std = torch.tensor(STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1) if std is None else std.to(x)
    return (x - mean) / std


class CLIPLoss:
    """1 - cosine similarity of the CLIP image embeddings of ``x`` and ``y`` (y detached), mean over the batch.

    ``visual``: an image encoder in place of CLIP ViT-B/32 (the test hook; ``size``: its input size), else the
    registered weight file through ``bench.weights`` (``weights_path``: an explicit copy). Without verified weights the
    loss disables itself (``enabled`` False, ``__call__`` returns None) with one warning per process and says why in
    ``status``. Deliberately not an ``nn.Module``: the frozen encoder never enters a model's state dict.
    """

    def __init__(self, weights_path: str | None = None, device: torch.device | str = "cpu",
                 visual: Callable[[torch.Tensor], torch.Tensor] | None = None, size: int = 224) -> None:
        from bench.errors import BenchError
        from bench.features_clip import CLIP_SIZE, ClipFeatures

        self.size = size if visual is not None else CLIP_SIZE
        self.visual: Any = None
        try:
            feats = ClipFeatures(device, weights_path, visual=visual)
        except BenchError as exc:
            why = str(exc).splitlines()[0]
            self.status = f"disabled: CLIP ViT-B/32 weights unavailable ({why})"
            if "clip" not in _warned:
                _warned.add("clip")
                warnings.warn(f"CLIP loss disabled: {why.split('; looked in')[0]}; training goes on without it "
                              f"(train.json and the run record say so). To enable it, put the file in "
                              f"$BENCH_WEIGHTS_DIR or run `bench weights --download clip-vit-b-32`", stacklevel=2)
        else:
            self.visual = feats.visual
            if isinstance(self.visual, nn.Module):
                self.visual.requires_grad_(False)
            self.mean, self.std = feats.mean, feats.std
            self.status = ("enabled: injected image encoder" if visual is not None else
                           f"enabled: {feats.weights.path} (sha256 {feats.weights.sha256[:16]}...)")
        self.enabled = self.visual is not None

    def to(self, device: torch.device | str) -> "CLIPLoss":
        if isinstance(self.visual, nn.Module):
            self.visual = self.visual.to(device)
        return self

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.visual(clip_input(x, self.size, self.mean, self.std)).float()

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor | None:
        if self.visual is None:
            return None
        with torch.no_grad():
            ey = self.embed(y)
        return (1 - F.cosine_similarity(self.embed(x), ey, dim=1)).mean()


# ----------------------------------------------------------------------------- the model

class Pix2PixSegClipModel(GANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.use_instance = bool(cfg.instance and info.has_instances)
        self.dontcare = bool(cfg.dontcare)
        self.semantic_nc = info.num_classes + int(self.dontcare) + int(self.use_instance)
        self.z_dim = int(cfg.z_dim)
        h, w = info.resolution
        num_downs = min(int(cfg.num_downs), min(h, w).bit_length() - 1)
        if min(h, w) % (2 ** num_downs):
            raise ValueError(f"pix2pix-seg-clip: resolution {h}x{w} must be divisible by 2**num_downs")
        self.G = UnetGenerator(self.semantic_nc + self.z_dim, 3, num_downs, cfg.ngf, cfg.norm, cfg.dropout)
        self.D = OASISDiscriminator(info.num_classes, tuple(cfg.d_channels), spectral=bool(cfg.d_spectral_norm),
                                    last_channels=int(cfg.d_last_channels))
        _init_normal(self.G)  # pix2pix's init for the U-Net, OASIS's for its discriminator
        init_weights(self.D)
        self.multimodal = self.z_dim > 0
        self._vgg = None
        self._clip: CLIPLoss | None = None

    def input_keys(self) -> list[str]:
        return ["model.model.0.weight"]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    # -- the CLIP term, built once (as ``vgg``)
    def _clip_enabled(self) -> bool:
        return bool(self.cfg.clip and self.cfg.lambda_clip)

    def clip(self, device: torch.device) -> CLIPLoss | None:
        if not self._clip_enabled():
            return None
        if self._clip is None:
            self._clip = CLIPLoss(self.cfg.clip_weights, device)
        return self._clip

    def set_clip_encoder(self, visual: Callable[[torch.Tensor], torch.Tensor], size: int = 224) -> None:
        """Use ``visual`` ([B,3,size,size] CLIP-normalised -> [B,D] embeddings) as the CLIP image encoder (tests;
        another CLIP). The config's ``clip`` / ``lambda_clip`` still decide whether the term is used."""
        self._clip = CLIPLoss(visual=visual, size=size)

    def clip_status(self) -> str:
        if not self._clip_enabled():
            return "off (config)"
        return self._clip.status if self._clip is not None else "not built"

    # -- training
    def noise(self, b: int, device: torch.device) -> torch.Tensor:
        return torch.randn(b, self.z_dim, device=device)

    def generator(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """G(x, z): z [B, z_dim] replicated over the pixels and concatenated to the label channels."""
        if self.z_dim:
            x = torch.cat([x, z.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])], 1)
        return self.G(x)

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        x = self.encode(batch["label"], batch["instance"])
        target = one_hot(batch["label"], self.info.num_classes, False)  # D's classes (ignore-index pixels: none)
        real = image_to_float(batch["image"])
        bal = bool(cfg.class_balance)
        with ctx.autocast():
            fake = self.generator(x, self.noise(x.shape[0], x.device))
        # D: real pixels -> their class, generated pixels -> "fake" (pix2pix's order: D first, on the same fake)
        self.D.requires_grad_(True)
        with ctx.autocast():
            d_real = oasis_ce_loss(self.D(real), target, True, balance=bal)
            d_fake = oasis_ce_loss(self.D(fake.detach()), target, False, balance=bal)
            loss_d = (d_real + d_fake) * cfg.lambda_d
        ctx.step(opts["D"], loss_d, "D")
        self.D.requires_grad_(False)
        out: dict[str, float] = {}
        with ctx.autocast():
            g_adv = oasis_ce_loss(self.D(fake), target, True, balance=bal) * cfg.lambda_d
            loss_g = self.add_reconstruction_terms(g_adv, fake, real, out)
            clip = self.clip(real.device)
            if clip is not None and clip.enabled:
                g_clip = clip(fake.float(), real) * cfg.lambda_clip
                loss_g = loss_g + g_clip
                out["G_CLIP"] = float(g_clip.detach())
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        return {"G_adv": float(g_adv.detach()), **out, "D_real": float(d_real.detach()),
                "D_fake": float(d_fake.detach())}

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        x = self.encode(label, inst)
        z = per_sample_noise([seed], (self.z_dim,), x.device)
        return self.generator(x, z)


@register_method("pix2pix-seg-clip")
class Pix2PixSegClip(ReferenceGenerator):
    """pix2pix-seg-clip (course slides on conditional GANs): pix2pix U-Net G(x, z), OASIS segmentation discriminator,
    VGG and CLIP losses, through the shared trainer; configs ``mini``, ``paper`` (COCO-Stuff)."""

    method_key = "pix2pix-seg-clip"

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return Pix2PixSegClipModel(cfg, info)
