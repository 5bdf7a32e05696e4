"""pix2pixHD (Wang et al. 2018): global generator (+ local enhancer for 1024x2048), multi-scale discriminators
(3 scales), least-squares GAN, discriminator feature matching (10), VGG perceptual loss (10), the instance-boundary
channel, and the optional instance-wise feature encoder.

``GlobalGenerator`` / ``LocalEnhancer`` are built layer for layer as in NVIDIA/pix2pixHD ``models/networks.py`` (one
``model`` Sequential; the enhancer's ``model1_1`` / ``model1_2``), so the released ``latest_net_G.pth``
(label2city_1024p) loads with identical keys.

Feature encoder: trained as in the paper (encoder output average-pooled per instance, concatenated to the generator
input). At test time the paper samples k-means cluster centres of the training features; here each class keeps
running mean/std buffers of its instance features (``FeatureBank``) and an instance's feature is mean + std * noise
drawn from the sample's seed (documented simplification; the mode is off in ``paper`` configs).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn

from bench.adapter import DatasetInfo, register_method
from bench.checkpoints import normalize_release, strict_load
from bench.errors import BenchError
from reference_models.common import GANModel, ReferenceGenerator, image_to_float
from reference_models.discriminators import MultiscaleDiscriminatorHD, downsample, norm_2d
from reference_models.losses import VGGLoss, feature_matching, gan_loss


class ResnetBlockHD(nn.Module):
    def __init__(self, dim: int, norm: str) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_2d(norm, dim), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), norm_2d(norm, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


def up_layer(cin: int, cout: int, upsample: str = "transpose") -> list[nn.Module]:
    """One 2x upsampling conv: the authors' ``ConvTranspose2d(3, stride 2)`` (``transpose``), or nearest-neighbour
    resize + reflection-padded 3x3 conv (``nearest``; no checkerboard artefacts, used by ``mini``)."""
    if upsample == "transpose":
        return [nn.ConvTranspose2d(cin, cout, 3, stride=2, padding=1, output_padding=1)]
    if upsample == "nearest":
        return [nn.Upsample(scale_factor=2, mode="nearest"), nn.ReflectionPad2d(1), nn.Conv2d(cin, cout, 3)]
    raise ValueError(f"pix2pixHD upsample must be 'transpose' or 'nearest', not {upsample!r}")


def global_layers(input_nc: int, output_nc: int, ngf: int, n_down: int, n_blocks: int, norm: str,
                  upsample: str = "transpose") -> list[nn.Module]:
    layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), norm_2d(norm, ngf), nn.ReLU(True)]
    for i in range(n_down):
        m = 2 ** i
        layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1), norm_2d(norm, ngf * m * 2), nn.ReLU(True)]
    m = 2 ** n_down
    layers += [ResnetBlockHD(ngf * m, norm) for _ in range(n_blocks)]
    for i in range(n_down):
        m = 2 ** (n_down - i)
        layers += [*up_layer(ngf * m, ngf * m // 2, upsample), norm_2d(norm, ngf * m // 2), nn.ReLU(True)]
    layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
    return layers


class GlobalGenerator(nn.Module):
    def __init__(self, input_nc: int, output_nc: int = 3, ngf: int = 64, n_down: int = 4, n_blocks: int = 9,
                 norm: str = "instance", upsample: str = "transpose") -> None:
        super().__init__()
        self.model = nn.Sequential(*global_layers(input_nc, output_nc, ngf, n_down, n_blocks, norm, upsample))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class LocalEnhancer(nn.Module):
    def __init__(self, input_nc: int, output_nc: int = 3, ngf: int = 32, n_down: int = 4, n_blocks: int = 9,
                 n_local: int = 1, n_blocks_local: int = 3, norm: str = "instance") -> None:
        super().__init__()
        self.n_local = n_local
        g = global_layers(input_nc, output_nc, ngf * 2 ** n_local, n_down, n_blocks, norm)
        self.model = nn.Sequential(*g[:-3])  # the global generator without its output convolution
        for n in range(1, n_local + 1):
            nf = ngf * 2 ** (n_local - n)
            down = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, nf, 7), norm_2d(norm, nf), nn.ReLU(True),
                    nn.Conv2d(nf, nf * 2, 3, stride=2, padding=1), norm_2d(norm, nf * 2), nn.ReLU(True)]
            up: list[nn.Module] = [ResnetBlockHD(nf * 2, norm) for _ in range(n_blocks_local)]
            up += [nn.ConvTranspose2d(nf * 2, nf, 3, stride=2, padding=1, output_padding=1), norm_2d(norm, nf),
                   nn.ReLU(True)]
            if n == n_local:
                up += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
            setattr(self, f"model{n}_1", nn.Sequential(*down))
            setattr(self, f"model{n}_2", nn.Sequential(*up))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pyramid = [x]
        for _ in range(self.n_local):
            pyramid.append(downsample(pyramid[-1]))
        out = self.model(pyramid[-1])
        for n in range(1, self.n_local + 1):
            out = getattr(self, f"model{n}_2")(getattr(self, f"model{n}_1")(pyramid[self.n_local - n]) + out)
        return out


def instance_pool(feat: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
    """Replace every pixel's feature by the mean over its instance (pix2pixHD ``Encoder`` average pooling)."""
    out = torch.empty_like(feat)
    for b in range(feat.shape[0]):
        ids, inv = torch.unique(inst[b, 0], return_inverse=True)
        f = feat[b].reshape(feat.shape[1], -1)
        idx = inv.reshape(-1)
        sums = torch.zeros((feat.shape[1], len(ids)), dtype=f.dtype, device=f.device).index_add_(1, idx, f)
        counts = torch.bincount(idx, minlength=len(ids)).to(f.dtype)
        out[b] = (sums / counts)[:, idx].reshape(feat.shape[1:])
    return out


class EncoderHD(nn.Module):
    """pix2pixHD's feature ``Encoder``: a conv encoder-decoder whose output is averaged per instance."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 16, n_down: int = 4, norm: str = "instance"):
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7), norm_2d(norm, ngf), nn.ReLU(True)]
        for i in range(n_down):
            m = 2 ** i
            layers += [nn.Conv2d(ngf * m, ngf * m * 2, 3, stride=2, padding=1), norm_2d(norm, ngf * m * 2), nn.ReLU(True)]
        for i in range(n_down):
            m = 2 ** (n_down - i)
            layers += [nn.ConvTranspose2d(ngf * m, ngf * m // 2, 3, stride=2, padding=1, output_padding=1),
                       norm_2d(norm, ngf * m // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, image: torch.Tensor, inst: torch.Tensor) -> torch.Tensor:
        return instance_pool(self.model(image), inst)


class FeatureBank(nn.Module):
    """Per-class running mean / std of encoded instance features (replaces the paper's k-means clusters)."""

    def __init__(self, num_classes: int, feat_num: int, momentum: float = 0.02) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("mean", torch.zeros(num_classes + 1, feat_num))
        self.register_buffer("std", torch.full((num_classes + 1, feat_num), 0.1))

    @torch.no_grad()
    def update(self, feat: torch.Tensor, label: torch.Tensor) -> None:
        n = self.mean.shape[0] - 1
        lab = label[:, 0].clamp(0, n)
        f = feat.permute(0, 2, 3, 1).reshape(-1, feat.shape[1]).float()
        lab = lab.reshape(-1)
        for c in torch.unique(lab).tolist():
            x = f[lab == c]
            self.mean[c].lerp_(x.mean(0), self.momentum)
            if x.shape[0] > 1:
                self.std[c].lerp_(x.std(0), self.momentum)

    def sample(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        n = self.mean.shape[0] - 1
        g = torch.Generator().manual_seed(int(seed))
        out = torch.zeros((label.shape[0], self.mean.shape[1], *label.shape[2:]), device=label.device)
        for b in range(label.shape[0]):
            for i in torch.unique(inst[b, 0]).tolist():
                mask = inst[b, 0] == i
                c = int(label[b, 0][mask].clamp(0, n).min())
                z = torch.randn(self.mean.shape[1], generator=g).to(label.device)
                out[b, :, mask] = (self.mean[c] + self.std[c] * z)[:, None]
        return out


class GeneratorWithFeatures(nn.Module):
    def __init__(self, G: nn.Module, bank: FeatureBank) -> None:
        super().__init__()
        self.G, self.bank = G, bank


class Pix2PixHDModel(GANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.use_instance = bool(cfg.instance and info.has_instances)
        self.dontcare = bool(cfg.dontcare)
        self.label_nc = info.num_classes + int(self.dontcare) + int(self.use_instance)
        self.semantic_nc = self.label_nc
        self.use_features = bool(cfg.features)
        g_in = self.label_nc + (cfg.feat_num if self.use_features else 0)
        if cfg.netG == "global":
            self.G = GlobalGenerator(g_in, 3, cfg.ngf, cfg.n_downsample_global, cfg.n_blocks_global, cfg.norm,
                                     cfg.upsample)
        elif cfg.netG == "local":
            if cfg.upsample != "transpose":
                raise ValueError("pix2pixHD: the local enhancer supports only upsample='transpose'")
            self.G = LocalEnhancer(g_in, 3, cfg.ngf, cfg.n_downsample_global, cfg.n_blocks_global,
                                   cfg.n_local_enhancers, cfg.n_blocks_local, cfg.norm)
        else:
            raise ValueError(f"pix2pixHD netG must be 'global' or 'local', not {cfg.netG!r}")
        self.D = MultiscaleDiscriminatorHD(self.label_nc + 3, cfg.ndf, cfg.n_layers_d, cfg.norm, cfg.num_d)
        if self.use_features:
            self.E = EncoderHD(3, cfg.feat_num, cfg.nef, cfg.n_downsample_e, cfg.norm)
            self.bank = FeatureBank(info.num_classes, cfg.feat_num)
            self.multimodal = True
        for m in self.modules():  # the authors' weights_init
            name = type(m).__name__
            if "Conv" in name:
                nn.init.normal_(m.weight, 0.0, 0.02)
            elif "BatchNorm2d" in name:
                nn.init.normal_(m.weight, 1.0, 0.02)
                nn.init.zeros_(m.bias)
        self._vgg: VGGLoss | None = None

    def generator_module(self) -> nn.Module:
        return GeneratorWithFeatures(self.G, self.bank) if self.use_features else self.G

    def input_keys(self) -> list[str]:
        if self.use_features:
            return ["G.model.1.weight", "G.model1_1.1.weight"]
        return ["model.1.weight", "model1_1.1.weight"]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        g_params = list(self.G.parameters()) + (list(self.E.parameters()) if self.use_features else [])
        return {"G": torch.optim.Adam(g_params, lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def fixed_global(self, ctx: Any, opts: dict[str, torch.optim.Optimizer]) -> bool:
        """pix2pixHD's ``niter_fix_global``: during the first epochs G's optimiser holds only the outermost local
        enhancer (here the rest gets no gradient, so Adam leaves it alone); when they end the authors build a new
        Adam over all of G (``update_fixed_params``): the optimiser state is cleared once at that step."""
        if self.cfg.netG != "local" or not self.cfg.fix_global_epochs:
            return False
        until = int(self.cfg.fix_global_epochs) * int(ctx.steps_per_epoch)
        if ctx.global_step == until:
            opts["G"].state.clear()
        return ctx.global_step < until

    def _trainable_while_fixed(self) -> list[nn.Parameter]:
        n = self.cfg.n_local_enhancers
        return [p for name, p in self.G.named_parameters() if name.startswith(f"model{n}_")]

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        fixed = self.fixed_global(ctx, opts)
        if fixed:
            self.G.requires_grad_(False)
            for p in self._trainable_while_fixed():
                p.requires_grad_(True)
        try:
            return self._train_step(batch, opts, ctx)
        finally:
            if fixed:
                self.G.requires_grad_(True)

    def _train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        a = self.encode(batch["label"], batch["instance"])
        real = image_to_float(batch["image"])
        logs: dict[str, float] = {}
        with ctx.autocast():
            g_in = a
            if self.use_features:
                feat = self.E(real, batch["instance"])
                self.bank.update(feat.detach(), batch["label"])
                g_in = torch.cat([a, feat], 1)
            fake = self.G(g_in)
            self.D.requires_grad_(False)
            pred_fake = self.D(torch.cat([a, fake], 1))
            with torch.no_grad():
                pred_real = self.D(torch.cat([a, real], 1))
            g_gan = gan_loss(pred_fake, True, cfg.gan_mode, for_discriminator=False, reduce="sum")
            g_feat = feature_matching(pred_fake, pred_real, cfg.lambda_feat, 4.0 / (cfg.n_layers_d + 1))
            loss_g = self.add_reconstruction_terms(g_gan + g_feat, fake, real, logs)
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        with ctx.autocast():
            d_fake = gan_loss(self.D(torch.cat([a, fake.detach()], 1)), False, cfg.gan_mode, reduce="sum")
            d_real = gan_loss(self.D(torch.cat([a, real], 1)), True, cfg.gan_mode, reduce="sum")
            loss_d = (d_fake + d_real) * 0.5
        ctx.step(opts["D"], loss_d, "D")
        return {"G_GAN": float(g_gan.detach()), "G_Feat": float(g_feat.detach()), "D_real": float(d_real.detach()),
                "D_fake": float(d_fake.detach()), **logs}

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        x = self.encode(label, inst)
        if self.use_features:
            x = torch.cat([x, self.bank.sample(label, inst, seed)], 1)
        return self.G(x)


@register_method("pix2pixhd")
class Pix2PixHD(ReferenceGenerator):
    """pix2pixHD (Wang et al. 2018) through the shared trainer; configs ``mini``, ``mini-feat``, ``paper``,
    ``paper-cityscapes`` (the released 1024x2048 local enhancer), ``paper-cityscapes-512``."""

    method_key = "pix2pixhd"
    needs_instance = True  # the instance-boundary channel (per config; zeros when the dataset has none)

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return Pix2PixHDModel(cfg, info)

    def init_global_path(self) -> str | None:
        """The file ``init_global`` names (``init_weights_path``): a trained run of ours, a checkpoint path or a
        registered weight file."""
        init = self.cfg.init_global
        if not init:
            return None
        return self.init_weights_path(str(init), "init_global", "starts its global generator (pix2pixHD's 1024p "
                                      "recipe) from a trained", registered=True)

    def reinitialize(self, seed: int) -> None:
        """Initial weights from ``seed``; then the global part of the local enhancer from ``init_global`` (a
        trained global generator: ours, or the authors' ``label2city_512p`` file), every key of that part
        required with its shape. The enhancer branches keep their fresh weights, as ``--load_pretrain`` leaves them."""
        super().reinitialize(seed)
        path = self.init_global_path()
        if path is None:
            return
        if self.cfg.netG != "local":
            raise BenchError(f"pix2pixhd config '{self.config}': init_global needs netG 'local'")
        what = f"global generator {path}"
        state = self.load_part_state(path, what)
        part = self.model.G.model  # the global generator without its last three layers
        depth = len(part)
        sub = {}
        for k, v in state.items():
            k = k[len("module."):] if k.startswith("module.") else k
            head, _, rest = k.partition(".")
            if head == "model" and rest.split(".")[0].isdigit() and int(rest.split(".")[0]) < depth:
                sub[rest] = v
        strict_load(part, normalize_release(part, sub), what)
