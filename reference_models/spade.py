"""SPADE / GauGAN (Park et al. 2019): residual generator with spatially-adaptive normalization and spectral norm,
multi-scale PatchGAN discriminators, hinge loss, feature matching (10) and VGG (10), optional VAE style encoder
with a KL term (0.05) for multimodal synthesis.

Built layer for layer as NVlabs/SPADE ``models/networks/{generator,architecture,normalization,discriminator,
encoder}.py`` (same module names, spectral norm through ``torch.nn.utils.spectral_norm`` so its ``weight_orig`` /
``weight_u`` / ``weight_v`` entries match), so the released ``latest_net_G.pth`` files load with identical keys. The
authors' SynchronizedBatchNorm (affine=False) holds the same buffers as ``nn.BatchNorm2d(affine=False)``, used here
(converted to ``SyncBatchNorm`` when training on several GPUs). Differences: ``nhidden`` (128 in the paper) is a
config key so that ``mini`` stays small.
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils import spectral_norm

from bench.adapter import DatasetInfo, per_sample_noise, register_method
from reference_models.common import GANModel, ReferenceGenerator, image_to_float
from reference_models.discriminators import MultiscaleDiscriminatorSPADE, _sn_norm
from reference_models.losses import VGGLoss, feature_matching, gan_loss, kld_loss


class SPADE(nn.Module):
    """out = norm(x) * (1 + gamma(seg)) + beta(seg), gamma/beta from a shared 2-layer conv on the resized map."""

    def __init__(self, config_text: str, norm_nc: int, label_nc: int, nhidden: int = 128) -> None:
        super().__init__()
        parsed = re.fullmatch(r"spade(\D+)(\d)x\d", config_text)
        if not parsed:
            raise ValueError(f"bad SPADE norm '{config_text}' (e.g. spadebatch3x3, spadeinstance3x3)")
        kind, ks = parsed.group(1), int(parsed.group(2))
        if kind == "instance":
            self.param_free_norm = nn.InstanceNorm2d(norm_nc, affine=False)
        elif kind in ("batch", "syncbatch"):
            self.param_free_norm = nn.BatchNorm2d(norm_nc, affine=False)
        else:
            raise ValueError(f"{kind} is not a param-free norm of SPADE (instance, batch, syncbatch)")
        pw = ks // 2
        self.mlp_shared = nn.Sequential(nn.Conv2d(label_nc, nhidden, ks, padding=pw), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)
        self.mlp_beta = nn.Conv2d(nhidden, norm_nc, ks, padding=pw)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        normalized = self.param_free_norm(x)
        seg = F.interpolate(seg, size=x.shape[2:], mode="nearest")
        actv = self.mlp_shared(seg)
        return normalized * (1 + self.mlp_gamma(actv)) + self.mlp_beta(actv)


class SPADEResnetBlock(nn.Module):
    def __init__(self, fin: int, fout: int, norm_g: str, semantic_nc: int, nhidden: int) -> None:
        super().__init__()
        self.learned_shortcut = fin != fout
        fmiddle = min(fin, fout)
        self.conv_0 = nn.Conv2d(fin, fmiddle, 3, padding=1)
        self.conv_1 = nn.Conv2d(fmiddle, fout, 3, padding=1)
        if self.learned_shortcut:
            self.conv_s = nn.Conv2d(fin, fout, 1, bias=False)
        if "spectral" in norm_g:
            self.conv_0 = spectral_norm(self.conv_0)
            self.conv_1 = spectral_norm(self.conv_1)
            if self.learned_shortcut:
                self.conv_s = spectral_norm(self.conv_s)
        spade = norm_g.replace("spectral", "")
        self.norm_0 = SPADE(spade, fin, semantic_nc, nhidden)
        self.norm_1 = SPADE(spade, fmiddle, semantic_nc, nhidden)
        if self.learned_shortcut:
            self.norm_s = SPADE(spade, fin, semantic_nc, nhidden)

    def forward(self, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
        x_s = self.conv_s(self.norm_s(x, seg)) if self.learned_shortcut else x
        dx = self.conv_0(F.leaky_relu(self.norm_0(x, seg), 0.2))
        dx = self.conv_1(F.leaky_relu(self.norm_1(dx, seg), 0.2))
        return x_s + dx


UPSAMPLING = {"normal": 5, "more": 6, "most": 7}


def latent_size(resolution: tuple[int, int], mode: str, what: str) -> tuple[int, int]:
    """(sh, sw) of the first feature map, as the authors' compute_latent_vector_size (crop_size // 2**n, then
    / aspect ratio); the resolution must be divisible by 2**n for the mode's n upsamplings."""
    if mode not in UPSAMPLING:
        raise ValueError(f"num_upsampling_layers must be one of {sorted(UPSAMPLING)}")
    h, w = resolution
    n_up = UPSAMPLING[mode]
    if w % 2 ** n_up or h % 2 ** n_up:
        raise ValueError(f"{what}: resolution {h}x{w} must be divisible by {2 ** n_up} ({mode})")
    sw = w // 2 ** n_up
    return round(sw / (w / h)), sw


def add_trunk_blocks(module: nn.Module, semantic_nc: int, nf: int, norm_g: str, nhidden: int, mode: str) -> int:
    """Register the authors' SPADE residual blocks (head_0, G_middle_0/1, up_0..up_3, up_4 for "most") on
    ``module`` under their names (so released files load); returns the last block's width. Shared by SPADE's and
    ECGAN's generators."""
    blk = lambda fin, fout: SPADEResnetBlock(fin, fout, norm_g, semantic_nc, nhidden)  # noqa: E731
    module.head_0 = blk(16 * nf, 16 * nf)
    module.G_middle_0 = blk(16 * nf, 16 * nf)
    module.G_middle_1 = blk(16 * nf, 16 * nf)
    module.up_0 = blk(16 * nf, 8 * nf)
    module.up_1 = blk(8 * nf, 4 * nf)
    module.up_2 = blk(4 * nf, 2 * nf)
    module.up_3 = blk(2 * nf, 1 * nf)
    if mode == "most":
        module.up_4 = blk(nf, nf // 2)
        return nf // 2
    return nf


def trunk_forward(module: nn.Module, x: torch.Tensor, seg: torch.Tensor) -> torch.Tensor:
    """The blocks of ``add_trunk_blocks`` from the first feature map ``x`` to full resolution (``module.up``:
    nearest 2x upsampling; ``module.mode``: the upsampling mode)."""
    x = module.G_middle_0(module.up(module.head_0(x, seg)), seg)
    if module.mode in ("more", "most"):
        x = module.up(x)
    x = module.G_middle_1(x, seg)
    for name in ("up_0", "up_1", "up_2", "up_3"):
        x = getattr(module, name)(module.up(x), seg)
    if module.mode == "most":
        x = module.up_4(module.up(x), seg)
    return x


class SPADEGenerator(nn.Module):
    def __init__(self, semantic_nc: int, resolution: tuple[int, int], ngf: int = 64, norm_g: str = "spectralspadebatch3x3",
                 num_upsampling_layers: str = "normal", use_vae: bool = False, z_dim: int = 256, nhidden: int = 128):
        super().__init__()
        nf = ngf
        self.ngf, self.use_vae, self.z_dim, self.mode = ngf, use_vae, z_dim, num_upsampling_layers
        self.sh, self.sw = latent_size(resolution, num_upsampling_layers, "SPADE")
        if use_vae:
            self.fc = nn.Linear(z_dim, 16 * nf * self.sw * self.sh)
        else:
            self.fc = nn.Conv2d(semantic_nc, 16 * nf, 3, padding=1)
        final_nc = add_trunk_blocks(self, semantic_nc, nf, norm_g, nhidden, num_upsampling_layers)
        self.conv_img = nn.Conv2d(final_nc, 3, 3, padding=1)
        self.up = nn.Upsample(scale_factor=2)

    def forward(self, seg: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        if self.use_vae:
            if z is None:
                z = torch.randn(seg.shape[0], self.z_dim, device=seg.device)
            x = self.fc(z).view(-1, 16 * self.ngf, self.sh, self.sw)
        else:
            x = self.fc(F.interpolate(seg, size=(self.sh, self.sw)))
        x = trunk_forward(self, x, seg)
        return torch.tanh(self.conv_img(F.leaky_relu(x, 0.2)))


class ConvEncoder(nn.Module):
    """SPADE's VAE style encoder: six (five below 256 px) 3x3 stride-2 convs, fc_mu / fc_var of size z_dim.

    The paper resizes every input to 256x256 and uses 256-d codes; ``z_dim`` and an input size of 4 * 2**n
    (``size``) are config keys so ``mini-vae`` stays small."""

    def __init__(self, ngf: int = 64, norm_e: str = "spectralinstance", crop_size: int = 256, z_dim: int = 256) -> None:
        super().__init__()
        ndf = ngf
        conv = lambda i, o: _sn_norm(nn.Conv2d(i, o, 3, stride=2, padding=1), norm_e)  # noqa: E731
        self.layer1 = conv(3, ndf)
        self.layer2 = conv(ndf, ndf * 2)
        self.layer3 = conv(ndf * 2, ndf * 4)
        self.layer4 = conv(ndf * 4, ndf * 8)
        self.layer5 = conv(ndf * 8, ndf * 8)
        self.deep = crop_size >= 256
        if self.deep:
            self.layer6 = conv(ndf * 8, ndf * 8)
        self.size = 256 if self.deep else 128
        s0 = 4
        self.fc_mu = nn.Linear(ndf * 8 * s0 * s0, z_dim)
        self.fc_var = nn.Linear(ndf * 8 * s0 * s0, z_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.shape[2] != self.size or x.shape[3] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear")
        x = self.layer1(x)
        for name in ("layer2", "layer3", "layer4", "layer5") + (("layer6",) if self.deep else ()):
            x = getattr(self, name)(F.leaky_relu(x, 0.2))
        x = F.leaky_relu(x, 0.2).reshape(x.shape[0], -1)
        return self.fc_mu(x), self.fc_var(x)


def _init_xavier(module: nn.Module, gain: float = 0.02) -> None:
    """SPADE's ``init_weights('xavier', 0.02)``."""
    for m in module.modules():
        name = type(m).__name__
        if "BatchNorm2d" in name and getattr(m, "weight", None) is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
        elif ("Conv" in name or "Linear" in name):
            w = getattr(m, "weight_orig", None)
            if w is None:
                w = getattr(m, "weight", None)
            if isinstance(w, torch.Tensor):
                nn.init.xavier_normal_(w, gain=gain)
                if getattr(m, "bias", None) is not None:
                    nn.init.zeros_(m.bias)


class SPADEModel(GANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.use_instance = bool(cfg.instance and info.has_instances)
        self.dontcare = bool(cfg.dontcare)
        self.semantic_nc = info.num_classes + int(self.dontcare) + int(self.use_instance)
        self.G = SPADEGenerator(self.semantic_nc, info.resolution, cfg.ngf, cfg.norm_g, cfg.num_upsampling_layers,
                                cfg.use_vae, cfg.z_dim, cfg.nhidden)
        self.D = MultiscaleDiscriminatorSPADE(self.semantic_nc + 3, cfg.ndf, cfg.n_layers_d, cfg.norm_d, cfg.num_d)
        if cfg.use_vae:
            self.E = ConvEncoder(cfg.ngf, cfg.norm_e, min(info.resolution) if min(info.resolution) >= 256 else 128,
                                 cfg.z_dim)
        self.multimodal = bool(cfg.use_vae)
        for m in (self.G, self.D) + ((self.E,) if cfg.use_vae else ()):
            _init_xavier(m)
        self._vgg: VGGLoss | None = None

    def input_keys(self) -> list[str]:
        return ["fc.weight", "head_0.norm_0.mlp_shared.0.weight"]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        g_params = list(self.G.parameters()) + (list(self.E.parameters()) if self.cfg.use_vae else [])
        return {"G": torch.optim.Adam(g_params, lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        seg = self.encode(batch["label"], batch["instance"])
        real = image_to_float(batch["image"])
        out: dict[str, float] = {}
        # generator step (SPADE's run_generator_one_step)
        self.D.requires_grad_(False)
        with ctx.autocast():
            z = None
            loss_g = seg.new_zeros(())
            if cfg.use_vae:
                mu, logvar = self.E(real)
                z = torch.randn_like(mu) * torch.exp(0.5 * logvar) + mu
                kld = kld_loss(mu.float(), logvar.float()) * cfg.lambda_kld
                loss_g = loss_g + kld
                out["KLD"] = float(kld.detach())
            fake = self.G(seg, z)
            preds = self.D(torch.cat([torch.cat([seg, fake], 1), torch.cat([seg, real], 1)], 0))
            b = seg.shape[0]
            pred_fake = [[t[:b] for t in p] for p in preds]
            pred_real = [[t[b:] for t in p] for p in preds]
            g_gan = gan_loss(pred_fake, True, cfg.gan_mode, for_discriminator=False)
            g_feat = feature_matching(pred_fake, pred_real, cfg.lambda_feat)
            loss_g = self.add_reconstruction_terms(loss_g + g_gan + g_feat, fake, real, out)
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        # discriminator step (run_discriminator_one_step: a fresh fake without gradient)
        with torch.no_grad(), ctx.autocast():
            z = None
            if cfg.use_vae:
                mu, logvar = self.E(real)
                z = torch.randn_like(mu) * torch.exp(0.5 * logvar) + mu
            fake = self.G(seg, z).detach()
        with ctx.autocast():
            preds = self.D(torch.cat([torch.cat([seg, fake], 1), torch.cat([seg, real], 1)], 0))
            pred_fake = [[t[:b] for t in p] for p in preds]
            pred_real = [[t[b:] for t in p] for p in preds]
            d_fake = gan_loss(pred_fake, False, cfg.gan_mode)
            d_real = gan_loss(pred_real, True, cfg.gan_mode)
            loss_d = d_fake + d_real
        ctx.step(opts["D"], loss_d, "D")
        out.update({"G_GAN": float(g_gan.detach()), "G_Feat": float(g_feat.detach()), "D_real": float(d_real.detach()), "D_fake": float(d_fake.detach())})
        return out

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        seg = self.encode(label, inst)
        z = per_sample_noise([seed], (self.cfg.z_dim,), seg.device) if self.cfg.use_vae else None
        return self.G(seg, z)


@register_method("spade")
class SPADEMethod(ReferenceGenerator):
    """SPADE (Park et al. 2019) through the shared trainer; configs ``mini``, ``mini-vae``, ``paper``,
    ``paper-cityscapes``, ``paper-ade20k``, ``paper-coco-stuff``."""

    method_key = "spade"
    needs_instance = True  # the instance-boundary channel (per config; zeros when the dataset has none)

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return SPADEModel(cfg, info)
