"""OASIS (Schönfeld, Sushko, Zhang, Gall, Schiele, Khoreva, ICLR 2021, "You Only Need Adversarial Supervision for
Semantic Image Synthesis"): a SPADE-style generator fed 3-D noise, a U-Net segmentation discriminator with N+1
outputs (class 0 = fake) trained with a class-balanced cross-entropy, LabelMix regularisation, and an EMA of the
generator's weights (the network that is evaluated).

Written from the paper and a reading of boschresearch/OASIS (AGPL-3.0; nothing of it is copied here) ``models/
{generator,discriminator,norms,losses,models}.py``, ``config.py``, ``utils/utils.py`` and ``dataloaders/*``; module
attributes and nesting are theirs, so the released ``<iter>_G.pth`` / ``<iter>_EMA.pth`` state dicts load strictly
(spectral norm through ``torch.nn.utils.spectral_norm``: ``weight_orig`` / ``weight_u`` / ``weight_v``; their
SynchronizedBatchNorm(affine=False) holds the buffers of ``nn.BatchNorm2d(affine=False)``).

* G (``OASISGenerator``, theirs ``OASIS_Generator``): a 64-d noise vector per sample, replicated over the image and
  concatenated (noise first) to the one-hot label map; ``fc`` (3x3 conv, no spectral norm) on the map resized to
  the latent size (W / 2**(n-1)); ``body``: n = 6 SPADE residual blocks (channels 16, 16, 16, 8, 4, 2, 1 x 64, x2
  nearest upsampling between blocks; each SPADE norm sees noise + labels, ``first_norm`` = BatchNorm without affine,
  ``nhidden`` 128); LeakyReLU 0.2, ``conv_img``, tanh.
* D (``OASISDiscriminator``, theirs ``OASIS_Discriminator``): a U-Net of residual blocks with spectral norm, six
  down (average pooling) and six up (nearest) blocks with skip concatenations, channels 3, 128, 128, 256, 256, 512,
  512, a 1x1 conv to N+1 channels at full resolution.
* Losses (``oasis_ce_loss``): D: class-balanced CE with target class id + 1 on real images, unweighted CE with
  target 0 on fakes; G: the real-target CE on its fakes; LabelMix (lambda 10, Cityscapes 5): an MSE between D's
  logits on a per-class mix of a real and a fake image and the same mix of its logits on the two.
* EMA of G's state (decay 0.9999, Cityscapes 0.999), the evaluated generator; its BatchNorm statistics are
  refreshed on training batches (see ``OASISModel.train_step``).
"""

from __future__ import annotations

import copy
from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from bench.adapter import DatasetInfo, per_sample_noise, register_method
from bench.errors import BenchError
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, one_hot

OFFICIAL_D_CHANNELS = (3, 128, 128, 256, 256, 512, 512)


def _sn(module: nn.Module, on: bool) -> nn.Module:
    return spectral_norm(module) if on else module


# ----------------------------------------------------------------------------- discriminator (stable public API)

class ResidualBlockD(nn.Module):
    """Theirs ``residual_block_D``: ``conv1`` / ``conv2`` (LeakyReLU 0.2 before each conv but the very first; an
    up block upsamples inside ``conv1``), a learned 1x1 ``conv_s`` shortcut when the width changes, average pooling
    after a down block (the first block pools its input before ``conv_s``, the others after)."""

    def __init__(self, fin: int, fout: int, up_or_down: int, first: bool = False, spectral: bool = True) -> None:
        super().__init__()
        self.up_or_down, self.first = up_or_down, first
        self.learned_shortcut = fin != fout
        conv = lambda i, o, k, p: _sn(nn.Conv2d(i, o, k, 1, p), spectral)  # noqa: E731
        if first:
            self.conv1 = nn.Sequential(conv(fin, fout, 3, 1))
        elif up_or_down > 0:
            self.conv1 = nn.Sequential(nn.LeakyReLU(0.2), nn.Upsample(scale_factor=2), conv(fin, fout, 3, 1))
        else:
            self.conv1 = nn.Sequential(nn.LeakyReLU(0.2), conv(fin, fout, 3, 1))
        self.conv2 = nn.Sequential(nn.LeakyReLU(0.2), conv(fout, fout, 3, 1))
        if self.learned_shortcut:
            self.conv_s = conv(fin, fout, 1, 0)
        if up_or_down > 0:
            self.sampling: nn.Module = nn.Upsample(scale_factor=2)
        elif up_or_down < 0:
            self.sampling = nn.AvgPool2d(2)
        else:
            self.sampling = nn.Identity()

    def shortcut(self, x: torch.Tensor) -> torch.Tensor:
        before = self.up_or_down < 0 if self.first else self.up_or_down > 0
        if before:
            x = self.sampling(x)
        if self.learned_shortcut:
            x = self.conv_s(x)
        if self.up_or_down < 0 and not self.first:
            x = self.sampling(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dx = self.conv2(self.conv1(x))
        if self.up_or_down < 0:
            dx = self.sampling(dx)
        return self.shortcut(x) + dx


class OASISDiscriminator(nn.Module):
    """The OASIS U-Net segmentation discriminator: image in [-1, 1] ``[B, 3, H, W]`` -> logits
    ``[B, num_classes + 1, H, W]`` (channel 0 = "fake", channel c + 1 = label channel c).

    ``channels`` are the widths of the input and of the ``num_res_blocks`` down blocks (official: 3, 128, 128, 256,
    256, 512, 512 with 6 blocks; ``num_res_blocks`` defaults to ``len(channels) - 1``); the up path mirrors them with
    skip concatenations, its last block gives ``last_channels`` (official 64). H and W must be multiples of
    2**num_res_blocks. State-dict keys are the authors' (``body_down.*``, ``body_up.*``, ``layer_up_last``)."""

    def __init__(self, num_classes: int, channels: Sequence[int] = OFFICIAL_D_CHANNELS,
                 num_res_blocks: int | None = None, *, spectral: bool = True, last_channels: int = 64) -> None:
        super().__init__()
        ch = [int(c) for c in channels]
        n = len(ch) - 1 if num_res_blocks is None else int(num_res_blocks)
        if len(ch) != n + 1 or n < 2:
            raise ValueError(f"OASISDiscriminator: {n} residual blocks need {n + 1} channel widths (input first), "
                             f"got {len(ch)}: {ch}")
        self.num_classes, self.num_res_blocks = int(num_classes), n
        self.body_down = nn.ModuleList(
            [ResidualBlockD(ch[i], ch[i + 1], -1, first=(i == 0), spectral=spectral) for i in range(n)])
        up = [ResidualBlockD(ch[-1], ch[-2], 1, spectral=spectral)]
        up += [ResidualBlockD(2 * ch[-1 - i], ch[-2 - i], 1, spectral=spectral) for i in range(1, n - 1)]
        up += [ResidualBlockD(2 * ch[1], last_channels, 1, spectral=spectral)]
        self.body_up = nn.ModuleList(up)
        self.layer_up_last = nn.Conv2d(last_channels, self.num_classes + 1, 1, 1, 0)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        f = 2 ** self.num_res_blocks
        if image.shape[-1] % f or image.shape[-2] % f:
            raise BenchError(f"OASISDiscriminator with {self.num_res_blocks} blocks needs H and W divisible by {f}, "
                             f"got {list(image.shape[-2:])}")
        x = image
        skips = []
        for block in self.body_down:
            x = block(x)
            skips.append(x)
        x = self.body_up[0](x)
        for i in range(1, len(self.body_down)):
            x = self.body_up[i](torch.cat((skips[-i - 1], x), dim=1))
        return self.layer_up_last(x)


def class_balance_weights(label_onehot: torch.Tensor, dontcare: int | None = None) -> torch.Tensor:
    """OASIS's per-pixel class-balancing weights ``[B, H, W]`` of a batch's one-hot label map ``[B, N, H, W]``:
    pixel of class c -> B*H*W / (count_c * K), count_c = pixels of class c in the batch, K = classes present (the
    authors' ``get_class_balancing``: the inverse class frequency of the batch, normalised by the number of classes
    present). Class ``dontcare`` (theirs: channel 0 when ``contain_dontcare_label``) and unlabelled pixels (an
    all-zero vector) get 0."""
    lab = label_onehot.float()
    count = lab.sum(dim=(0, 2, 3))
    if dontcare is not None:
        count[dontcare] = 0
    present = count > 0
    k = present.sum().clamp(min=1)
    # the authors' expression and order of operations (bit-identical weights): 1/count * numel / (K * N)
    coef = torch.where(present, torch.reciprocal(count) * lab.numel() / (k * lab.shape[1]), torch.zeros_like(count))
    w = coef[lab.argmax(dim=1)]
    return w * (lab.sum(dim=1) > 0).to(w.dtype)


def oasis_ce_loss(logits: torch.Tensor, label_onehot: torch.Tensor, for_real: bool, *, dontcare: int | None = None,
                  balance: bool = True) -> torch.Tensor:
    """OASIS's (N+1)-class cross-entropy (theirs ``losses_computer.loss``) of D's logits ``[B, N+1, H, W]`` for the
    one-hot label map ``[B, N, H, W]``.

    ``for_real=True``: target = label channel + 1 at every pixel, each pixel's CE weighted by
    ``class_balance_weights`` (``balance=False``: weight 1 -- theirs ``--no_balancing_inloss``), then the mean over
    pixels. ``for_real=False``: target 0 ("fake") everywhere, the plain mean (unweighted, as the paper's Eq. 2 and
    the authors' code). D's loss: ``oasis_ce_loss(D(real), t, True) + oasis_ce_loss(D(fake), t, False)``; G's
    adversarial loss: ``oasis_ce_loss(D(fake), t, True)``. ``dontcare``: a label channel whose pixels get weight 0
    in the real term (theirs: channel 0, when the dataset has a don't-care label)."""
    logits = logits.float()
    b, _, h, w = logits.shape
    if label_onehot.shape[0] != b or tuple(label_onehot.shape[2:]) != (h, w) or logits.shape[1] != label_onehot.shape[1] + 1:
        raise ValueError(f"oasis_ce_loss: logits {list(logits.shape)} need the label map's N + 1 channels and size, "
                         f"label {list(label_onehot.shape)}")
    if not for_real:
        target = torch.zeros((b, h, w), dtype=torch.long, device=logits.device)
        return F.cross_entropy(logits, target, reduction="none").mean()
    target = label_onehot.argmax(dim=1) + 1
    loss = F.cross_entropy(logits, target, reduction="none")
    if balance:
        weight = class_balance_weights(label_onehot, dontcare)
    else:
        weight = torch.ones_like(loss)
    return (loss * weight).mean()


# ----------------------------------------------------------------------------- LabelMix and EMA

def labelmix_mask(label_onehot: torch.Tensor) -> torch.Tensor:
    """A binary mask ``[B, 1, H, W]``: one random bit per class present in the batch (drawn in ascending class
    order, one ``torch.randint(0, 2, (1,))`` each, as the authors), the same bit for that class in every image."""
    target = label_onehot.argmax(dim=1, keepdim=True)
    classes = torch.unique(target)
    bits = torch.zeros(label_onehot.shape[1], dtype=torch.float32, device=target.device)
    for c in classes.tolist():
        bits[c] = torch.randint(0, 2, (1,), device=target.device).float()
    return bits[target]


def labelmix(label_onehot: torch.Tensor, fake: torch.Tensor, real: torch.Tensor,
             mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(mixed image = mask * real + (1 - mask) * fake, mask); theirs ``generate_labelmix``."""
    if mask is None:
        mask = labelmix_mask(label_onehot)
    mask = mask.to(real.dtype)
    return mask * real + (1 - mask) * fake, mask


def labelmix_loss(mask: torch.Tensor, d_mixed: torch.Tensor, d_fake: torch.Tensor, d_real: torch.Tensor) -> torch.Tensor:
    """MSE between D's logits on the mixed image and the same mix of its logits on real and fake (not detached)."""
    mask = mask.float()
    return F.mse_loss(mask * d_real.float() + (1 - mask) * d_fake.float(), d_mixed.float())


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema <- ema * decay + model * (1 - decay) for every floating-point state entry (weights, biases, spectral-norm
    vectors, BatchNorm statistics), as the authors' ``update_EMA``; integer buffers (``num_batches_tracked``) keep
    the EMA's own count."""
    own = ema.state_dict()
    src = model.state_dict()
    for k, e in own.items():
        if e.is_floating_point():
            e.copy_(e * decay + src[k] * (1 - decay))


def ema_decay_at(decay: float, step: int, warmup: bool) -> float:
    """The decay of the EMA update after ``step`` (0-based); ``warmup``: min(decay, (1 + step) / (10 + step)) (the
    num_updates rule of TensorFlow's ExponentialMovingAverage; not in OASIS, used by ``mini``)."""
    return min(decay, (1.0 + step) / (10.0 + step)) if warmup else decay


# ----------------------------------------------------------------------------- generator

class SPADE(nn.Module):
    """Theirs ``norms.SPADE``: ``first_norm`` (param-free) * (1 + gamma(seg)) + beta(seg), from ``mlp_shared``."""

    def __init__(self, norm_nc: int, label_nc: int, param_free_norm: str = "syncbatch", ks: int = 3,
                 nhidden: int = 128) -> None:
        super().__init__()
        if param_free_norm == "instance":
            self.first_norm: nn.Module = nn.InstanceNorm2d(norm_nc, affine=False)
        elif param_free_norm in ("batch", "syncbatch"):
            self.first_norm = nn.BatchNorm2d(norm_nc, affine=False)
        else:
            raise ValueError(f"{param_free_norm} is not a param-free norm of OASIS (instance, batch, syncbatch)")
        pw = ks // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, nhidden, ks, padding=pw), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        normalized = self.first_norm(x)
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(seg)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class ResnetBlockWithSPADE(nn.Module):
    """Theirs ``ResnetBlock_with_SPADE`` (LeakyReLU 0.2, spectral-norm convs, bias-free 1x1 shortcut)."""

    def __init__(self, fin: int, fout: int, cond_nc: int, spectral: bool = True, param_free_norm: str = "syncbatch",
                 ks: int = 3, nhidden: int = 128) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = _sn(nn.Conv2d(fin, fmiddle, 3, padding=1), spectral)
        self.conv_1 = _sn(nn.Conv2d(fmiddle, fout, 3, padding=1), spectral)
        if self.learned_shortcut:
            self.conv_s = _sn(nn.Conv2d(fin, fout, 1, bias=False), spectral)
        self.norm_0 = SPADE(fin, cond_nc, param_free_norm, ks, nhidden)
        self.norm_1 = SPADE(fmiddle, cond_nc, param_free_norm, ks, nhidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(fin, cond_nc, param_free_norm, ks, nhidden)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return x_s + dx


def generator_channels(ch: int, num_res_blocks: int) -> list[int]:
    """Block widths: theirs 16, 16, 16, 8, 4, 2, 1 x ch for 6 blocks; fewer blocks drop leading 16s (``mini``)."""
    if num_res_blocks < 4:
        raise ValueError(f"OASIS generator: num_res_blocks must be >= 4, got {num_res_blocks}")
    return [m * ch for m in [16] * (num_res_blocks - 3) + [8, 4, 2, 1]]


class OASISGenerator(nn.Module):
    """Theirs ``OASIS_Generator``: label map ``[B, semantic_nc, H, W]`` (+ noise ``z`` ``[B, z_dim]``, drawn from
    the global RNG when None) -> image in [-1, 1]."""

    def __init__(self, semantic_nc: int, resolution: tuple[int, int], channels_g: int = 64, num_res_blocks: int = 6,
                 z_dim: int = 64, noise: bool = True, spectral: bool = True, param_free_norm: str = "syncbatch",
                 spade_ks: int = 3, nhidden: int = 128) -> None:
        super().__init__()
        h, w = resolution
        f = 2 ** (num_res_blocks - 1)
        self.init_w = w // f
        self.init_h = round(self.init_w / (w / h))  # theirs compute_latent_vector_size (crop_size / aspect_ratio)
        if self.init_w * f != w or self.init_h * f != h:
            raise BenchError(f"OASIS: resolution {h}x{w} is not {f} x the latent size (W and H must be multiples of "
                             f"{f} with {num_res_blocks} blocks)")
        self.z_dim, self.noise, self.num_res_blocks = int(z_dim), bool(noise), int(num_res_blocks)
        self.channels = generator_channels(channels_g, num_res_blocks)
        cond = semantic_nc + (self.z_dim if self.noise else 0)
        self.conv_img = nn.Conv2d(self.channels[-1], 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)
        self.body = nn.ModuleList([ResnetBlockWithSPADE(self.channels[i], self.channels[i + 1], cond, spectral,
                                                        param_free_norm, spade_ks, nhidden)
                                   for i in range(len(self.channels) - 1)])
        self.fc = nn.Conv2d(cond, self.channels[0], 3, padding=1)

    def forward(self, seg: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.noise:
            if z is None:
                z = torch.randn(seg.shape[0], self.z_dim, dtype=torch.float32, device=seg.device)
            z = z.to(seg.dtype).view(seg.shape[0], self.z_dim, 1, 1).expand(-1, -1, seg.shape[2], seg.shape[3])
            seg = torch.cat((z, seg), dim=1)
        x = self.fc(F.interpolate(seg, size=(self.init_h, self.init_w)))
        for i, block in enumerate(self.body):
            x = block(x, seg)
            if i < self.num_res_blocks - 1:
                x = self.up(x)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


def init_weights(module: nn.Module, gain: float = 0.02) -> None:
    """Theirs ``init_networks``: xavier normal (gain 0.02) for conv / linear weights (``weight_orig`` under spectral
    norm), zero biases; affine BatchNorm N(1, 0.02) (OASIS has none)."""
    for m in module.modules():
        name = type(m).__name__
        if "BatchNorm2d" in name:
            if getattr(m, "weight", None) is not None:
                nn.init.normal_(m.weight, 1.0, gain)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif "Conv" in name or "Linear" in name:
            w = getattr(m, "weight_orig", None)
            if w is None:
                w = getattr(m, "weight", None)
            if isinstance(w, torch.Tensor):
                nn.init.xavier_normal_(w, gain=gain)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------- the model

class OASISModel(GANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.dontcare = bool(cfg.dontcare)
        self.use_instance = False  # OASIS takes no instance maps
        self.semantic_nc = info.num_classes + int(self.dontcare)
        self.G = OASISGenerator(self.semantic_nc, info.resolution, int(cfg.channels_g), int(cfg.num_res_blocks),
                                int(cfg.z_dim), not cfg.no_3dnoise, not cfg.no_spectral_norm, cfg.param_free_norm,
                                int(cfg.spade_ks), int(cfg.nhidden))
        self.D = OASISDiscriminator(self.semantic_nc, tuple(cfg.d_channels), spectral=not cfg.no_spectral_norm,
                                    last_channels=int(cfg.d_last_channels))
        init_weights(self.G)
        init_weights(self.D)
        self.multimodal = not cfg.no_3dnoise
        self.ema = not cfg.no_ema
        if self.ema:
            self.G_ema = copy.deepcopy(self.G)  # theirs netEMA: a copy of the initialised G
            self.G_ema.requires_grad_(False)
        self._vgg = None

    # -- labels: channel layout and don't-care channel of the authors' datasets
    def encode(self, label: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
        x = one_hot(label, self.info.num_classes, self.dontcare)
        shift = int(self.cfg.label_shift)
        return torch.roll(x, shifts=shift, dims=1) if shift else x

    def dontcare_channel(self) -> int | None:
        return 0 if self.cfg.contain_dontcare_label else None

    def generator_module(self) -> nn.Module:
        return self.G_ema if self.ema else self.G

    def input_keys(self) -> list[str]:
        return ["fc.weight", "body.0.norm_0.mlp_shared.0.weight"]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def d_loss_terms(self, label: torch.Tensor, fake: torch.Tensor, real: torch.Tensor,
                     mask: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """The discriminator's loss terms (theirs ``losses_D``: fake, real, LabelMix), D run on each separately."""
        cfg = self.cfg
        dc, bal = self.dontcare_channel(), not cfg.no_balancing_inloss
        d_fake = self.D(fake)
        out = {"D_fake": oasis_ce_loss(d_fake, label, False, dontcare=dc, balance=bal)}
        d_real = self.D(real)
        out["D_real"] = oasis_ce_loss(d_real, label, True, dontcare=dc, balance=bal)
        if cfg.lambda_labelmix:
            mixed, mask = labelmix(label, fake, real, mask)
            out["D_LM"] = cfg.lambda_labelmix * labelmix_loss(mask, self.D(mixed), d_fake, d_real)
        return out

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        label = self.encode(batch["label"], batch["instance"])
        real = image_to_float(batch["image"])
        dc, bal = self.dontcare_channel(), not cfg.no_balancing_inloss
        logs: dict[str, float] = {}
        # generator step (theirs "losses_G"): a fresh fake, its class-balanced CE as real, [+ VGG]
        self.D.requires_grad_(False)
        with ctx.autocast():
            fake = self.G(label)
            g_adv = oasis_ce_loss(self.D(fake), label, True, dontcare=dc, balance=bal)
            loss_g = self.add_reconstruction_terms(g_adv, fake, real, logs)
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        # discriminator step (theirs "losses_D"): another fake without gradient; fake, real and LabelMix terms
        with torch.no_grad(), ctx.autocast():
            fake = self.G(label)
        with ctx.autocast():
            terms = self.d_loss_terms(label, fake, real)
            loss_d = sum(terms.values())
        ctx.step(opts["D"], loss_d, "D")
        # EMA of G (theirs update_EMA after every step), then its BatchNorm statistics on this batch
        if self.ema:
            ema_update(self.G_ema, self.G, ema_decay_at(float(cfg.ema_decay), int(ctx.global_step), cfg.ema_warmup))
            if cfg.ema_bn_refresh:
                with torch.no_grad(), ctx.autocast():
                    self.G_ema.train()
                    self.G_ema(label)
        logs.update({"G_adv": float(g_adv.detach()), **{k: float(v.detach()) for k, v in terms.items()}})
        return logs

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        seg = self.encode(label, inst)
        net = self.generator_module()
        z = per_sample_noise([seed], (self.cfg.z_dim,), seg.device) if not self.cfg.no_3dnoise else None
        return net(seg, z)


def official_to_ours(state: dict[str, Any]) -> dict[str, Any]:
    """A released OASIS generator state dict (``<iter>_G.pth`` or ``<iter>_EMA.pth``, ``best_EMA.pth``) with our
    key names: the identity (our modules carry the authors' names); ``module.`` prefixes and missing
    ``num_batches_tracked`` are handled by ``bench.checkpoints.normalize_release``."""
    return dict(state)


@register_method("oasis")
class OASIS(ReferenceGenerator):
    """OASIS (Schönfeld et al. 2021) through the shared trainer; configs ``mini``, ``paper``, ``paper-cityscapes``,
    ``paper-ade20k``, ``paper-coco-stuff``. The evaluated generator is the EMA one (the authors' ``*_EMA.pth``)."""

    method_key = "oasis"
    multimodal = True  # 3-D noise (per-instance: False only with the no_3dnoise ablation)
    needs_instance = False

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return OASISModel(cfg, info)


__all__ = ["OASIS", "OASISDiscriminator", "OASISGenerator", "OASISModel", "ResidualBlockD", "ResnetBlockWithSPADE",
           "SPADE", "class_balance_weights", "ema_decay_at", "ema_update", "generator_channels", "init_weights",
           "labelmix", "labelmix_loss", "labelmix_mask", "oasis_ce_loss", "official_to_ours"]
