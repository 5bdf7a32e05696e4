"""SRResNet and SRGAN (Ledig et al. 2017, "Photo-Realistic Single Image Super-Resolution Using a Generative
Adversarial Network", arXiv 1609.04802), and what the super-resolution reference models share (ESRGAN, in
``esrgan.py``, builds on these pieces as the paper builds on SRGAN).

What we follow (the paper, Fig. 4 and sec. 3.2; the authors released no code and no weights):
  * G (SRResNet): 9x9 conv (64) + PReLU; 16 residual blocks (3x3 conv, BN, PReLU, 3x3 conv, BN, + input); 3x3 conv +
    BN + the long skip from the first conv; per factor 2 one stage 3x3 conv (256) -> PixelShuffle x2 -> PReLU; 9x9
    conv (3). x3 uses one 3x3 conv (576) -> PixelShuffle x3 stage (the EDSR / BasicSR convention: the paper is x4);
  * D: 3x3 conv 64 + LeakyReLU 0.2, then seven 3x3 conv + BN + LeakyReLU blocks (64 s2, 128, 128 s2, 256, 256 s2,
    512, 512 s2), dense 1024, LeakyReLU, dense 1 (its sigmoid is inside the BCE-with-logits loss);
  * LR input in [0, 1], HR (and G's output) in [-1, 1]; SRResNet = pixel MSE; SRGAN = VGG54 content loss (MSE of the
    VGG19 relu5_4 features, the 4th conv of block 5 after its activation, rescaled by 1/12.75) + 1e-3 x -log D(G(x)),
    G initialised from the MSE-trained SRResNet; Adam beta1 0.9, lr 1e-4, batch 16 of 96x96 HR patches; SRResNet
    10^6 updates, SRGAN 10^5 at 1e-4 and 10^5 at 1e-5, G and D updated alternately.

One training run holds both SRGAN stages: the first ``pretrain_steps`` steps train G alone with the pixel loss (the
SRResNet-MSE initialisation; G's Adam state is reset when the GAN stage starts, as a second run would), then G and
D alternate (G first, then D on the same fakes: BasicSR's ``SRGANModel``). Choices the paper leaves open: PReLU is
channel-wise; convolutions followed by BN have no bias; the VGG input is the [0, 1] image normalised by the ImageNet
mean/std (torchvision's VGG19 weights expect it).

Shared SR conventions: the adapter receives ``lr`` uint8 [B,3,H/s,W/s] and returns uint8 [B,3,H,W] (deterministic,
one sample at a time); training crops HR patches from the training images and makes their LR partner with the
dataset card's degradation (``bench.tasks.super_resolution.degrade``) on a window around the patch, which equals
degrading the whole image and cropping (the filter support is covered: tested). The VGG19 weights are torchvision's
``vgg19-dcbe5be5.pth`` (``bench.weights``); without them the perceptual term is off with one warning and
``train.json`` says so (the pix2pixHD / SPADE convention of ``losses.VGGLoss``).
"""

from __future__ import annotations

import math
import os
import warnings
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method, to_uint8
from bench.errors import BenchError
from reference_models.common import GANModel, ReferenceGenerator, make_meta, split_meta, strict_load
from reference_models.losses import gan_loss

SR_TASK = "super-resolution"
SR_GAN_MODES = ("vanilla", "ragan")
PIXEL_LOSSES = ("mse", "l1")
# torchvision ``vgg19().features``: the index after the named layer (conv5_4 is module 34, its ReLU module 35)
VGG19_CUT = {"conv5_4": 35, "relu5_4": 36}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# LR pixels of context around a training patch when degrading a window: the bicubic kernel reaches 2 LR pixels
# (support 2 x scale HR pixels), so 2 is exact (tested); 3 leaves a pixel of slack
WINDOW_MARGIN = 3
NATIVE_TRAINING = ("the SR trainer needs a dataset at one resolution (BasicSR trains on fixed-size sub-images cut "
                   "from DIV2K: scripts/data_preparation/extract_subimages.py; not implemented here)")


# ----------------------------------------------------------------------------- data

def sr_params(cfg: Any, info: DatasetInfo) -> tuple[int, str]:
    """(scale, degradation) of a model: the dataset's task_params; a config ``scale`` must agree with them."""
    params = dict(info.task_params)
    scale = params.get("scale")
    if cfg.scale is not None:
        if scale is not None and int(scale) != int(cfg.scale):
            raise BenchError(f"config scale {cfg.scale} does not match the dataset '{info.name}' (x{scale})")
        scale = cfg.scale
    if scale is None:
        raise BenchError(f"dataset '{info.name}' has no super-resolution scale (task_params) and the config sets none")
    return int(scale), str(params.get("degradation", "pil-bicubic"))


class SRTrainingData:
    """The HR images of a super-resolution split for the shared trainer: decoded once into memory when they fit
    (``max_bytes``; a step would otherwise decode 16 PNGs), with all-zero label and instance maps (the trainer's
    batches and sample grids carry them; SR has none: uint8, so a batch of them costs 1 byte a pixel)."""

    def __init__(self, dataset: Any, max_bytes: int = 1 << 30) -> None:
        if getattr(dataset, "resolution", ()) is None:
            raise BenchError(f"{getattr(getattr(dataset, 'card', None), 'name', 'this dataset')} keeps each image's "
                             f"own size; {NATIVE_TRAINING}")
        self.ds = dataset
        n = len(dataset)
        first = dataset[0]["image"]
        self.items = None
        if first.numel() * n <= max_bytes:
            self.items = [(it["image"], it.get("path", "")) for it in (dataset[i] for i in range(n))]
        for k in ("num_classes", "has_instances", "palette", "card"):
            if hasattr(dataset, k):
                setattr(self, k, getattr(dataset, k))

    def __len__(self) -> int:
        return len(self.ds)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if self.items is not None:
            image, path = self.items[i]
        else:
            it = self.ds[i]
            image, path = it["image"], it.get("path", "")
        zeros = torch.zeros((1, 1, 1), dtype=torch.uint8).expand(1, *image.shape[-2:])
        return {"image": image, "label": zeros, "instance": zeros, "path": path}


def degrade_window(img: torch.Tensor, scale: int, y: int, x: int, size: int, degradation: str,
                   margin: int = WINDOW_MARGIN) -> torch.Tensor:
    """uint8 [3, size, size]: the LR pixels [y, y+size) x [x, x+size) of ``degrade(img)``, computed from a window of
    ``img`` with ``margin`` LR pixels of context (clipped at the borders, where the full image stops too)."""
    from bench.tasks.super_resolution import degrade

    h, w = img.shape[-2] // scale, img.shape[-1] // scale
    y0, y1 = max(0, y - margin), min(h, y + size + margin)
    x0, x1 = max(0, x - margin), min(w, x + size + margin)
    region = img[:, y0 * scale:y1 * scale, x0 * scale:x1 * scale]
    low = degrade(region[None].contiguous(), scale, degradation)[0]
    return low[:, y - y0:y - y0 + size, x - x0:x - x0 + size]


def random_pairs(hr: torch.Tensor, scale: int, patch: int, degradation: str, *,
                 rot90: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(LR uint8 [B,3,patch/s,patch/s], HR uint8 [B,3,patch,patch]): one random scale-aligned patch per image, with
    its LR partner as the card degrades the whole image. ``rot90``: a random vertical flip and a random transpose per
    image (with the trainer's horizontal flips, the 8 rotations/reflections of BasicSR's ``use_rot``). Every draw is
    from the global RNG, which the trainer seeds per step (exact resume)."""
    if patch % scale:
        raise BenchError(f"patch_size {patch} is not a multiple of the scale {scale}")
    small = patch // scale
    hr = hr.cpu()
    lrs, hrs = [], []
    for img in hr:
        if rot90:
            if bool(torch.rand(()) < 0.5):
                img = img.flip(-2)
            if bool(torch.rand(()) < 0.5):
                img = img.transpose(-1, -2)
        h, w = img.shape[-2] // scale, img.shape[-1] // scale
        if small > min(h, w):
            raise BenchError(f"patch_size {patch} is larger than the training images "
                             f"({img.shape[-2]}x{img.shape[-1]})")
        y = int(torch.randint(0, h - small + 1, ()))
        x = int(torch.randint(0, w - small + 1, ()))
        lrs.append(degrade_window(img, scale, y, x, small, degradation))
        hrs.append(img[:, y * scale:(y + small) * scale, x * scale:(x + small) * scale])
    return torch.stack(lrs), torch.stack(hrs).contiguous()


# ----------------------------------------------------------------------------- losses

_warned: set[str] = set()


def vgg19_trunk(upto: int, weights_path: str | None = None) -> tuple[nn.Module | None, str]:
    """(the first ``upto`` modules of torchvision's VGG19 ``features``, frozen, status), or (None, why) without the
    weights (one warning per process), as ``losses.build_vgg19`` does for the relu1_1..relu5_1 stack."""
    from bench import weights
    from reference_models.weight_files import VGG19

    try:
        resolved = weights.resolve(VGG19.name, weights_path)
    except BenchError as exc:
        why = str(exc).splitlines()[0]
        if "vgg-sr" not in _warned:
            _warned.add("vgg-sr")
            warnings.warn(f"VGG perceptual loss disabled: {why.split('; looked in')[0]}; training goes on without "
                          f"it (train.json and the run record say so). To enable it, put the file in "
                          f"$BENCH_WEIGHTS_DIR or run `bench weights --download torchvision-vgg19`", stacklevel=2)
        return None, f"disabled: VGG19 weights unavailable ({why})"
    import torchvision

    with torch.random.fork_rng(devices=[]):  # its random init is overwritten: leave the training's RNG alone
        net = torchvision.models.vgg19(weights=None)
    net.load_state_dict(torch.load(resolved.path, map_location="cpu", weights_only=True))
    trunk = net.features[:upto].eval()
    for p in trunk.parameters():
        p.requires_grad_(False)
    return trunk, f"enabled: {resolved.path} (sha256 {resolved.sha256[:16]}...)"


class PerceptualLoss:
    """criterion(scale * VGG19_layer(x), scale * VGG19_layer(y)) on [0, 1] images normalised by the ImageNet
    mean/std, y detached. SRGAN: ``relu5_4``, MSE, scale 1/12.75; ESRGAN: ``conv5_4`` (before the activation), L1,
    scale 1 (BasicSR's ``PerceptualLoss``). Not an ``nn.Module``: the frozen VGG never enters a checkpoint."""

    def __init__(self, layer: str, criterion: str, scale: float, weights_path: str | None = None,
                 device: torch.device | str = "cpu", trunk: nn.Module | None = None) -> None:
        if layer not in VGG19_CUT:
            raise BenchError(f"config perceptual_layer must be one of {', '.join(VGG19_CUT)}, not {layer!r}")
        if criterion not in PIXEL_LOSSES:
            raise BenchError(f"config perceptual_criterion must be one of {', '.join(PIXEL_LOSSES)}, not "
                             f"{criterion!r}")
        self.layer, self.criterion, self.scale = layer, criterion, float(scale)
        if trunk is None:  # ``trunk``: a given feature stack (tests), else torchvision's with the verified weights
            trunk, self.status = vgg19_trunk(VGG19_CUT[layer], weights_path)
        else:
            self.status = "enabled: given feature network"
        self.vgg = trunk.to(device) if trunk is not None else None
        self.enabled = self.vgg is not None
        self.mean = torch.tensor(IMAGENET_MEAN, device=device).view(1, 3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD, device=device).view(1, 3, 1, 1)

    def features(self, x01: torch.Tensor) -> torch.Tensor:
        assert self.vgg is not None
        return self.vgg((x01 - self.mean.to(x01)) / self.std.to(x01)) * self.scale

    def __call__(self, x01: torch.Tensor, y01: torch.Tensor) -> torch.Tensor | None:
        if self.vgg is None:
            return None
        fx = self.features(x01)
        with torch.no_grad():
            fy = self.features(y01)
        return F.mse_loss(fx, fy) if self.criterion == "mse" else F.l1_loss(fx, fy)


def pixel_loss(kind: str, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(x, y) if kind == "mse" else F.l1_loss(x, y)


def relativistic_losses(real: torch.Tensor, fake: torch.Tensor, for_discriminator: bool) -> torch.Tensor:
    """Relativistic average GAN (Jolicoeur-Martineau 2018) as ESRGAN's code computes it (BasicSR
    ``ESRGANModel.optimize_parameters``): D's logit of x minus the batch mean of the other side's, in a BCE; each side
    weighted 1/2. For D the other side is detached; for G the real side is (real images carry no G gradient)."""
    if for_discriminator:
        return 0.5 * (gan_loss(real - fake.detach().mean(), True, "vanilla")
                      + gan_loss(fake - real.detach().mean(), False, "vanilla"))
    real = real.detach()
    return 0.5 * (gan_loss(real - fake.mean(), False, "vanilla") + gan_loss(fake - real.mean(), True, "vanilla"))


def idle_optimizer() -> torch.optim.Optimizer:
    """The ``D`` optimiser of a model without a discriminator (SRResNet, the PSNR-oriented RRDBNet): the shared
    trainer's learning-rate table reads one; this one holds a stand-in parameter and never steps."""
    return torch.optim.SGD([nn.Parameter(torch.zeros(()))], lr=0.0)


# ----------------------------------------------------------------------------- the model base

class SRModel(GANModel):
    """G (LR in [0, 1] -> HR in ``output_range``) and an optional D on HR patches, with the training step both papers
    share: pixel-loss pre-training for ``pretrain_steps`` (the whole run when not ``adversarial``), then G (pixel +
    perceptual + adversarial terms) and D updates alternating, vanilla or relativistic-average GAN."""

    output_range: tuple[float, float] = (-1.0, 1.0)

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.scale, self.degradation = sr_params(cfg, info)
        if cfg.pixel_loss not in PIXEL_LOSSES:
            raise BenchError(f"config pixel_loss must be one of {', '.join(PIXEL_LOSSES)}, not {cfg.pixel_loss!r}")
        if cfg.gan_mode not in SR_GAN_MODES:
            raise BenchError(f"config gan_mode must be one of {', '.join(SR_GAN_MODES)}, not {cfg.gan_mode!r}")
        if cfg.global_skip not in ("none", "bicubic"):
            raise BenchError(f"config global_skip must be 'none' or 'bicubic', not {cfg.global_skip!r}")
        if cfg.perceptual_layer not in VGG19_CUT:
            raise BenchError(f"config perceptual_layer must be one of {', '.join(VGG19_CUT)}, not "
                             f"{cfg.perceptual_layer!r}")
        self.D: nn.Module | None = None
        self._perceptual: PerceptualLoss | None = None

    # -- value conventions
    def lr_to_input(self, lr: torch.Tensor) -> torch.Tensor:
        return lr.float() / 255.0

    def hr_to_target(self, hr: torch.Tensor) -> torch.Tensor:
        lo, hi = self.output_range
        return lo + (hi - lo) * (hr.float() / 255.0)

    def to_unit(self, out: torch.Tensor) -> torch.Tensor:
        lo, hi = self.output_range
        return (out - lo) / (hi - lo)

    def output_to_uint8(self, out: torch.Tensor) -> torch.Tensor:
        if self.output_range == (-1.0, 1.0):
            return to_uint8(out)
        # [0, 1] output: the official ESRGAN test.py's conversion, (clamp(0, 1) * 255).round()
        out = out.detach()
        if not bool(torch.isfinite(out).all()):
            raise BenchError(f"generator output holds {int((~torch.isfinite(out)).sum())} NaN/Inf value(s): the "
                             "weights or the inputs are broken (a diverged or damaged checkpoint?)")
        return (out.float().clamp(0, 1) * 255.0).round().to(torch.uint8).cpu()

    def forward_g(self, x: torch.Tensor) -> torch.Tensor:
        """G(x), plus the bicubic upsampling of x when ``global_skip`` (the mini configs: G learns the residual over
        bicubic, VDSR's global residual; BasicSR's MSRResNet adds a bilinear one; no paper config uses it)."""
        out = self.G(x)
        if self.cfg.global_skip == "bicubic":
            lo, hi = self.output_range
            up = F.interpolate(x, scale_factor=self.scale, mode="bicubic", align_corners=False)
            out = out + (lo + (hi - lo) * up)
        return out

    def zero_last(self, conv: nn.Conv2d) -> None:
        """With ``global_skip`` the last conv starts at 0, so an untrained model is exactly the bicubic baseline."""
        if self.cfg.global_skip == "bicubic":
            nn.init.zeros_(conv.weight)
            if conv.bias is not None:
                nn.init.zeros_(conv.bias)

    # -- trainer interface
    def in_gan_stage(self, step: int) -> bool:
        return bool(self.cfg.adversarial) and step >= int(self.cfg.pretrain_steps)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        betas = (cfg.beta1, cfg.beta2)
        opts = {"G": torch.optim.Adam(self.G.parameters(), lr=cfg.lr_pretrain, betas=betas)}
        opts["D"] = (torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=betas) if self.D is not None
                     else idle_optimizer())
        return opts

    def learning_rates(self, step: int) -> tuple[float, float]:
        """(G's, D's) learning rate at ``step``: step decays by ``pretrain_gamma`` at ``pretrain_milestones`` in the
        pixel stage, by ``lr_gamma`` at ``milestones`` (counted from the GAN stage's start) after it."""
        cfg = self.cfg
        if self.in_gan_stage(step):
            k = sum(step - int(cfg.pretrain_steps) >= int(m) for m in cfg.milestones)
            f = float(cfg.lr_gamma) ** k
            return cfg.lr_g * f, cfg.lr_d * f
        k = sum(step >= int(m) for m in cfg.pretrain_milestones)
        return cfg.lr_pretrain * float(cfg.pretrain_gamma) ** k, 0.0

    def schedule(self, step: int, total: int, opts: dict[str, torch.optim.Optimizer],
                 base_lr: dict[str, list[float]]) -> None:
        """The trainer's hook before each step: the learning rates; at the first GAN step G's Adam state is reset
        (the paper's GAN stage is a new run initialised from the pixel-loss model)."""
        lr_g, lr_d = self.learning_rates(step)
        if self.cfg.adversarial and step == int(self.cfg.pretrain_steps) and step > 0:
            opts["G"].state.clear()
        for k, lr in (("G", lr_g), ("D", lr_d)):
            for g in opts[k].param_groups:
                g["lr"] = lr

    def perceptual(self, device: torch.device) -> PerceptualLoss | None:
        cfg = self.cfg
        if not (cfg.adversarial and cfg.lambda_perceptual):
            return None
        if self._perceptual is None:
            self._perceptual = PerceptualLoss(cfg.perceptual_layer, cfg.perceptual_criterion, cfg.perceptual_scale,
                                              cfg.vgg_weights, device)
        return self._perceptual

    def vgg_status(self) -> str:
        if not (self.cfg.adversarial and self.cfg.lambda_perceptual):
            return "off (config)"
        return self._perceptual.status if self._perceptual is not None else "not built"

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        device = batch["image"].device
        lr_u8, hr_u8 = random_pairs(batch["image"], self.scale, int(cfg.patch_size), self.degradation,
                                    rot90=bool(cfg.rot90))
        x, y = self.lr_to_input(lr_u8.to(device)), self.hr_to_target(hr_u8.to(device))
        step = int(getattr(ctx, "global_step", 0))
        perceptual = self.perceptual(device)  # built at the first step, so train.json knows its status
        if not self.in_gan_stage(step):
            with ctx.autocast():
                out = self.forward_g(x)
            loss = pixel_loss(cfg.pixel_loss, out.float(), y)
            ctx.step(opts["G"], loss, "G")
            return {"G_pixel": float(loss.detach())}
        logs: dict[str, float] = {}
        assert self.D is not None
        # generator first, then D on the same fakes (BasicSR's SRGANModel / ESRGANModel)
        self.D.requires_grad_(False)
        with ctx.autocast():
            fake = self.forward_g(x)
            fake_pred = self.D(fake).float()
            real_pred = self.D(y).float() if cfg.gan_mode == "ragan" else None
        g_adv = (relativistic_losses(real_pred, fake_pred, False) if real_pred is not None
                 else gan_loss(fake_pred, True, "vanilla", for_discriminator=False)) * cfg.lambda_adv
        loss_g = g_adv
        logs["G_adv"] = float(g_adv.detach())
        if cfg.lambda_pixel:
            g_pix = pixel_loss(cfg.pixel_loss, fake.float(), y) * cfg.lambda_pixel
            loss_g = loss_g + g_pix
            logs["G_pixel"] = float(g_pix.detach())
        if perceptual is not None and perceptual.enabled:
            g_vgg = perceptual(self.to_unit(fake.float()), self.to_unit(y)) * cfg.lambda_perceptual
            loss_g = loss_g + g_vgg
            logs["G_VGG"] = float(g_vgg.detach())
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        with ctx.autocast():
            real_pred = self.D(y).float()
            fake_pred = self.D(fake.detach()).float()
        if cfg.gan_mode == "ragan":
            loss_d = relativistic_losses(real_pred, fake_pred, True)
        else:
            loss_d = gan_loss(real_pred, True, "vanilla") + gan_loss(fake_pred, False, "vanilla")
        ctx.step(opts["D"], loss_d, "D")
        logs["D"] = float(loss_d.detach())
        return logs


# ----------------------------------------------------------------------------- checkpoints

def read_generator_file(path: str, expect: str) -> tuple[dict[str, torch.Tensor], str]:
    """(state dict, where in the file): a plain state dict (``bench.checkpoints.load_state_dict``'s layouts), or
    BasicSR's ``{"params": ..., "params_ema": ...}`` wrapper, whose EMA weights are taken when present (what BasicSR
    evaluates when a model was trained with EMA, and Real-ESRGAN's inference picks). ``weights_only=True``."""
    from bench.checkpoints import load_state_dict

    p = os.fspath(path)
    if os.path.isfile(p):
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - load_state_dict below reports every failure in one line
            obj = None
        if isinstance(obj, dict):
            for key in ("params_ema", "params"):
                inner = obj.get(key)
                if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                    return dict(inner), key
    return load_state_dict(p, expect=expect), ""


class SRReferenceGenerator(ReferenceGenerator):
    """The adapter of the super-resolution reference models: batch ``lr`` uint8 [B,3,H/s,W/s] and ``scale`` ->
    uint8 [B,3,H,W], sample by sample (eval mode: BatchNorm on its running statistics), deterministic."""

    tasks = (SR_TASK,)
    multimodal = False
    # methods whose checkpoints ``init_g`` accepts besides this one's (srgan: a trained srresnet)
    init_from: tuple[str, ...] = ()
    # config name -> registered weight files of the authors' release, tried in order (``default_checkpoint``)
    releases: dict[str, tuple[str, ...]] = {}

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        """The authors' released generator of this config (any SR dataset: the releases are not per dataset), found
        offline first; else one line asking for ``--checkpoint`` / ``--train``."""
        from bench import weights
        from reference_models import configs

        name = configs.get_config(cls.method_key, config or cls.default_config).name
        names = cls.releases.get(name, ())
        for download in (False, None):
            for wname in names:
                if download is None and not weights.get(wname).urls:
                    continue
                try:
                    return str(weights.resolve(wname, download=download).path)
                except BenchError:
                    continue
        if names:
            files = ", ".join(weights.get(n).filename for n in names)
            raise BenchError(f"{cls.method_key} (config '{name}'): the authors' release ({files}) was not found "
                             f"(`bench weights` lists where it is looked for): put it in $BENCH_WEIGHTS_DIR, or pass "
                             "--checkpoint FILE or --train")
        raise BenchError(f"{cls.method_key} (config '{name}') has no released weights: pass --checkpoint FILE or "
                         "--train")

    def _load_into_g(self, path: str, methods: Sequence[str]) -> str:
        from reference_models import official_keys

        state, where = read_generator_file(path, self.method_key)
        state, meta = split_meta(state)
        what = f"{self.method_key} checkpoint {path}" + (f" ({where})" if where else "")
        G = self.model.generator_module()
        if meta:
            if meta.get("method") not in methods:
                raise BenchError(f"{what} was trained for method '{meta.get('method')}', not "
                                 f"'{' or '.join(methods)}'")
            if meta.get("scale") is not None and int(meta["scale"]) != self.model.scale:
                raise BenchError(f"{what} was trained for x{meta['scale']}, the dataset '{self.info.name}' is "
                                 f"x{self.model.scale}")
        else:
            state = official_keys.to_ours(self.method_key, state, G)
        self.check_release_scale(state, what)
        strict_load(G, state, what)
        self.model.after_load()
        return where

    def check_release_scale(self, state: dict[str, torch.Tensor], what: str) -> None:
        """A one-line error when a file is for another scale (subclasses that can tell)."""

    def load(self, path: str) -> None:
        """Load a generator checkpoint strictly: ours (``_meta`` names the method and scale) or, where the method has
        one, the authors' release (``official_keys``)."""
        self.params_key = self._load_into_g(path, (self.method_key,))

    def reinitialize(self, seed: int) -> None:
        """Initial weights from ``seed``; then ``init_g`` (a checkpoint path or a registered weight file) into G."""
        super().reinitialize(seed)
        init = self.cfg.init_g
        if init:
            from bench import weights

            path = init if os.path.isfile(str(init)) else str(weights.resolve(str(init)).path)
            self._load_into_g(path, (self.method_key, *self.init_from))

    def generator_state(self) -> dict[str, torch.Tensor]:
        state = {k: v.detach().cpu().clone() for k, v in self.model.generator_module().state_dict().items()}
        state.update(make_meta(self.method_key, str(self.config), self.info.num_classes, 0))
        state["_meta.scale"] = torch.tensor(self.model.scale, dtype=torch.int64)
        return state

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        """The shared trainer on the split's HR images (held in memory when they fit)."""
        if self.info.resolution is None:
            raise BenchError(f"{self.info.name} keeps each image's own size; {NATIVE_TRAINING}")
        return super().train(SRTrainingData(dataset), out_dir=out_dir, seed=seed, steps=steps)

    def _lr_batch(self, batch: dict[str, Any]) -> torch.Tensor:
        scale = self.model.scale
        if "lr" in batch:
            if "scale" in batch and int(batch["scale"]) != scale:
                raise BenchError(f"{self.method_key}: the batch asks for x{int(batch['scale'])}, this model is "
                                 f"x{scale}")
            lr = batch["lr"]
        elif "image" in batch:  # the trainer's sample grids hold the HR images: degrade them as the card says
            from bench.tasks.super_resolution import degrade

            lr = degrade(batch["image"].cpu(), scale, self.model.degradation)
        else:
            raise BenchError(f"{self.method_key}: the batch has no 'lr' (keys: {', '.join(sorted(batch))})")
        if lr.dtype != torch.uint8 or lr.dim() != 4 or lr.shape[1] != 3:
            raise BenchError(f"{self.method_key}: 'lr' must be uint8 [B,3,h,w], got {lr.dtype} {list(lr.shape)}")
        if self.info.resolution is not None:  # None: a test set at its own sizes (the output is x scale)
            h, w = self.info.resolution
            if tuple(lr.shape[-2:]) != (h // scale, w // scale):
                raise BenchError(f"{self.method_key}: 'lr' must be [B,3,{h // scale},{w // scale}] (x{scale} of "
                                 f"{h}x{w}), got {list(lr.shape)}")
        return lr

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        lr = self._lr_batch(batch)
        was_training = self.model.training
        self.model.eval()
        outs = []
        try:
            for i in range(lr.shape[0]):  # one at a time: exact batch-size independence
                x = self.model.lr_to_input(lr[i:i + 1].to(self.device))
                outs.append(self.model.output_to_uint8(self.model.forward_g(x)))
        finally:
            self.model.train(was_training)
        size = (lr.shape[-2] * self.model.scale, lr.shape[-1] * self.model.scale)
        out = torch.cat(outs) if outs else torch.zeros((0, 3, *size), dtype=torch.uint8)
        if tuple(out.shape[-2:]) != size:
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected {list(size)}")
        return out

    def provenance(self) -> dict[str, Any]:
        out = super().provenance()
        if getattr(self, "params_key", ""):
            out["checkpoint_params_key"] = self.params_key
        return out


# ----------------------------------------------------------------------------- SRResNet / SRGAN networks

class ResidualBlockBN(nn.Module):
    """3x3 conv, BN, PReLU, 3x3 conv, BN, + input."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(nf, nf, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(nf)
        self.act = nn.PReLU(nf)
        self.conv2 = nn.Conv2d(nf, nf, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(nf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))


def upsample_stages(nf: int, scale: int) -> nn.Sequential:
    """conv -> PixelShuffle -> PReLU per factor: 2 for powers of two, one x3 stage for 3."""
    if scale == 3:
        factors = [3]
    elif scale >= 2 and scale & (scale - 1) == 0:
        factors = [2] * int(math.log2(scale))
    else:
        raise BenchError(f"SRResNet upsamples x2, x3, x4 and x8, not x{scale}")
    layers: list[nn.Module] = []
    for f in factors:
        layers += [nn.Conv2d(nf, nf * f * f, 3, 1, 1), nn.PixelShuffle(f), nn.PReLU(nf)]
    return nn.Sequential(*layers)


class SRResNetGenerator(nn.Module):
    def __init__(self, scale: int, nf: int = 64, n_blocks: int = 16) -> None:
        super().__init__()
        self.conv_first = nn.Conv2d(3, nf, 9, 1, 4)
        self.act_first = nn.PReLU(nf)
        self.body = nn.Sequential(*[ResidualBlockBN(nf) for _ in range(n_blocks)])
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1, bias=False)
        self.bn_body = nn.BatchNorm2d(nf)
        self.upsample = upsample_stages(nf, scale)
        self.conv_last = nn.Conv2d(nf, 3, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.act_first(self.conv_first(x))
        feat = feat + self.bn_body(self.conv_body(self.body(feat)))
        return self.conv_last(self.upsample(feat))


class SRGANDiscriminator(nn.Module):
    """Ledig et al. Fig. 4 (bottom) on ``patch`` x ``patch`` HR images; returns one logit per image."""

    def __init__(self, patch: int, ndf: int = 64, dense: int = 1024) -> None:
        super().__init__()
        if patch % 16:
            raise BenchError(f"the SRGAN discriminator halves the patch 4 times: patch_size {patch} is not a "
                             "multiple of 16")
        self.patch = patch
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 3, 1, 1), nn.LeakyReLU(0.2, inplace=True)]
        cin = ndf
        for cout, stride in ((ndf, 2), (2 * ndf, 1), (2 * ndf, 2), (4 * ndf, 1), (4 * ndf, 2), (8 * ndf, 1),
                             (8 * ndf, 2)):
            layers += [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout),
                       nn.LeakyReLU(0.2, inplace=True)]
            cin = cout
        self.features = nn.Sequential(*layers)
        side = patch // 16
        self.dense1 = nn.Linear(cin * side * side, dense)
        self.act = nn.LeakyReLU(0.2, inplace=True)
        self.dense2 = nn.Linear(dense, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != (self.patch, self.patch):
            raise BenchError(f"the SRGAN discriminator takes {self.patch}x{self.patch} patches, got "
                             f"{list(x.shape[-2:])}")
        return self.dense2(self.act(self.dense1(self.features(x).flatten(1)))).view(-1)


class SRResNetModel(SRModel):
    output_range = (-1.0, 1.0)

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info)
        self.G = SRResNetGenerator(self.scale, int(cfg.nf), int(cfg.n_blocks))
        self.zero_last(self.G.conv_last)
        if cfg.adversarial:
            self.D = SRGANDiscriminator(int(cfg.patch_size), int(cfg.ndf), int(cfg.d_dense))


@register_method("srresnet")
class SRResNet(SRReferenceGenerator):
    """SRResNet (Ledig et al. 2017), trained with the pixel MSE; configs ``mini``, ``paper``."""

    method_key = "srresnet"

    def build(self, cfg: Any, info: DatasetInfo) -> SRResNetModel:
        return SRResNetModel(cfg, info)


@register_method("srgan")
class SRGAN(SRReferenceGenerator):
    """SRGAN (Ledig et al. 2017): SRResNet-MSE pre-training, then VGG54 content + 1e-3 adversarial loss; configs
    ``mini``, ``paper``. ``init_g`` may name a trained ``srresnet`` generator."""

    method_key = "srgan"
    init_from = ("srresnet",)

    def build(self, cfg: Any, info: DatasetInfo) -> SRResNetModel:
        return SRResNetModel(cfg, info)


__all__ = ["PerceptualLoss", "SRGAN", "SRGANDiscriminator", "SRModel", "SRReferenceGenerator", "SRResNet",
           "SRResNetGenerator", "SRResNetModel", "SRTrainingData", "degrade_window", "random_pairs",
           "read_generator_file", "relativistic_losses"]
