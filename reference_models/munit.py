"""MUNIT (Huang, Liu, Belongie, Kautz, ECCV 2018) and UNIT (Liu, Breuel, Kautz, NeurIPS 2017) for the ``unpaired``
task, on the shared trainer.

Built as the authors' PyTorch code (NVlabs/MUNIT at a82e222, which holds both methods: ``networks.py``,
``trainer.py`` ``MUNIT_Trainer`` / ``UNIT_Trainer``, ``utils.py`` ``weights_init`` / ``get_scheduler``, ``test.py``,
``configs/*.yaml``; UNIT's configs from mingyuliutw/UNIT at 28d5982, whose ``networks.py`` and ``trainer.py`` are the
same as MUNIT's but for spectral norm; read, not copied), with the same attribute names and nesting, so the released
generator files (``gen_*.pt``: ``{'a': gen_a.state_dict(), 'b': gen_b.state_dict()}``, ``MUNIT_Trainer.save``) load
strictly into our generator pair (keys ``gen_a.*`` / ``gen_b.*``, ``official_to_ours``):

* building blocks (``networks.py``): ``Conv2dBlock`` (pad, conv with bias, norm, activation; attributes ``pad``,
  ``norm``, ``activation``, ``conv``), ``ResBlocks`` / ``ResBlock`` (x + two 3x3 ``Conv2dBlock``, the second without
  activation), ``LinearBlock``, ``MLP`` (``n_blk`` 3: style_dim -> mlp_dim -> mlp_dim -> the AdaIN parameters, ReLU
  between), the authors' ``LayerNorm`` (per sample over C, H, W: (x - mean) / (unbiased std + eps), then a
  per-channel ``gamma`` (initialised U[0, 1)) and ``beta``) and ``AdaptiveInstanceNorm2d`` (instance norm whose
  per-sample scale ``weight`` and shift ``bias`` are assigned before each decode; its ``running_mean`` /
  ``running_var`` buffers are unused but in the released files, so they are here too);
* MUNIT's generator ``AdaINGen``: ``enc_style`` (``StyleEncoder``: 7x7 conv dim, two 4x4 stride-2 convs doubling the
  width, two more keeping it (4 halvings, fixed in ``AdaINGen``), global average pooling, 1x1 conv to ``style_dim``;
  no norm), ``enc_content`` (``ContentEncoder``: 7x7 conv, ``n_downsample`` 4x4 stride-2 convs doubling the width,
  ``n_res`` residual blocks, all InstanceNorm), ``dec`` (``Decoder``: ``n_res`` AdaIN residual blocks, then per
  halving a nearest x2 upsampling and a 5x5 conv halving the width with LayerNorm, then a 7x7 conv to 3 channels,
  tanh) and ``mlp`` (the style code -> every AdaIN layer's (bias, weight), in module order: for each layer the
  first ``num_features`` values are its shift, the next its scale: ``assign_adain_params``);
* UNIT's generator ``VAEGen``: ``enc`` (a ``ContentEncoder``) and ``dec`` (a ``Decoder`` with InstanceNorm residual
  blocks); ``encode`` returns (hiddens, noise ~ N(0, I) of the same shape): the "reduced VAE" with unit variance. In
  this code base gen_a and gen_b share no weights (the paper's shared high-level layers): the shared latent space is
  asked for by the losses only;
* the discriminator ``MsImageDis`` (both methods): ``num_scales`` networks in ``cnns``, each a 4x4 stride-2
  ``Conv2dBlock`` (no norm) then ``n_layer - 1`` more doubling the width, then a 1x1 conv to one channel; scale i
  sees the input average-pooled i times (3x3, stride 2, padding 1, ``count_include_pad=False``); LSGAN
  (``gan_type`` lsgan; nsgan = BCE on logits), the scales' losses summed (``calc_dis_loss``: fake to 0 plus real to
  1, not halved; ``calc_gen_loss``: fake to 1);
* the losses (``MUNIT_Trainer.gen_update``): gan_w (GAN(dis_a(x_ba)) + GAN(dis_b(x_ab))) + recon_x_w (|x_a_recon -
  x_a| + |x_b_recon - x_b|) + recon_s_w (|s_a_recon - s_a| + ...) + recon_c_w (|c_a_recon - c_a| + ...) +
  recon_x_cyc_w (|x_aba - x_a| + ...), every term a mean absolute error, s_a, s_b ~ N(0, I) drawn per step, x_ab =
  gen_b.decode(c_a, s_b); the domain-invariant VGG loss (``vgg_w``, 0 in the edges2shoes config) is not
  implemented: a config with ``vgg_w`` > 0 is refused. UNIT (``UNIT_Trainer.gen_update``): gan_w GAN + recon_x_w
  |decode(h + n) - x| + recon_kl_w mean(h^2) + recon_x_cyc_w |x_aba - x_a| + recon_kl_cyc_w mean(h_recon^2) per
  domain, decoding h + n everywhere. D's loss: gan_w (calc_dis_loss(x_ba, x_a) + calc_dis_loss(x_ab, x_b)) on fakes
  of a fresh forward pass with their own random codes (``dis_update``);
* one step: the D update, then the G update (``train.py``: ``dis_update`` then ``gen_update``), the codes drawn from
  torch's CPU RNG in the authors' order (``torch.randn(...).cuda()``), which the trainer re-seeds per step. Adam (0.5,
  0.999) with ``weight_decay`` 1e-4 for G and D, the lr halved every ``step_size`` iterations (``get_scheduler``'s
  ``StepLR``, stepped before each iteration: iteration i, from 0, runs at lr * gamma ** ((i + 1) // step_size)).
  Here the D update's generator pass runs without gradients and D is frozen during G's update (theirs computes and
  then discards those gradients: the same updates);
* initialisation (``weights_init``): every Conv2d / Linear weight of G ``init`` (kaiming: normal, fan_in, a=0), of D
  gaussian N(0, 0.02), biases 0 (the LayerNorm ``gamma`` keeps its U[0, 1) draw).

Not in the authors' code, for the minis only (config ``residual``, off in ``paper``), so that minutes of CPU training
beat the identity baseline (docs/munit.md): the decoders' last conv starts at zero and MUNIT's decoder adds its
output to the pre-tanh value of the image the code was encoded from (cyclegan's residual generator), while UNIT's
cross-domain decoding is that image plus the difference of the two decoders' renderings of the latent (the MUNIT form
left UNIT at the identity: ``UNITModel.across``); both start as the identity mapping.

Translation A -> B (``test.py --a2b 1``): gen_b decodes gen_a's content code; MUNIT with a style z ~ N(0, I)
drawn from the sample's seed (``multimodal``: other seeds give other images, the same seed the same one), UNIT from
the encoder's mean (``test.py`` decodes the hiddens without noise: deterministic). The A images are the task's
``source``, the B images its target-domain ``image``. Not in the authors' code: a size that is not a multiple of
2 ** n_downsample is reflection-padded to one and cropped back (theirs would resize). Generated one sample at a time.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, per_sample_noise, register_method
from reference_models.common import GANModel, image_to_float, strict_load
from reference_models.cyclegan import RESIDUAL_CLAMP, CycleGAN, translate
from reference_models.losses import gan_loss

STYLE_DOWNSAMPLE = 4  # StyleEncoder(4, ...) in AdaINGen
MLP_BLOCKS = 3        # MLP(..., 3, ...) in AdaINGen
GAN_TYPES = {"lsgan": "lsgan", "nsgan": "vanilla"}  # the authors' gan_type -> reference_models.losses mode
INITS = ("gaussian", "kaiming", "xavier", "orthogonal", "default")


# ----------------------------------------------------------------------------- building blocks

class LayerNorm(nn.Module):
    """The authors' LayerNorm: per sample over all of C, H, W, (x - mean) / (unbiased std + eps), then per channel
    ``gamma`` and ``beta``."""

    def __init__(self, num_features: int, eps: float = 1e-5, affine: bool = True) -> None:
        super().__init__()
        self.num_features, self.eps, self.affine = num_features, eps, affine
        if affine:
            self.gamma = nn.Parameter(torch.empty(num_features).uniform_())
            self.beta = nn.Parameter(torch.zeros(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (x.dim() - 1)
        flat = x.reshape(x.shape[0], -1)
        x = (x - flat.mean(1).view(shape)) / (flat.std(1).view(shape) + self.eps)
        if self.affine:
            cshape = (1, -1) + (1,) * (x.dim() - 2)
            x = x * self.gamma.view(cshape) + self.beta.view(cshape)
        return x


class AdaptiveInstanceNorm2d(nn.Module):
    """Instance norm with a per-sample scale ``weight`` and shift ``bias`` ([B, C] each) assigned before each use
    (``AdaINGen.decode``). The two buffers are unused: the authors' layer has them, so their files hold them."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight: torch.Tensor | None = None
        self.bias: torch.Tensor | None = None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.weight is None or self.bias is None:
            raise RuntimeError("AdaIN: assign the style's weight and bias (AdaINGen.decode) before the forward pass")
        b, c = x.shape[:2]
        return (F.instance_norm(x, eps=self.eps) * self.weight.reshape(b, c, 1, 1)
                + self.bias.reshape(b, c, 1, 1))

    def extra_repr(self) -> str:
        return str(self.num_features)


def _norm(norm: str, dim: int, one_d: bool = False) -> nn.Module | None:
    if norm == "none":
        return None
    if norm == "bn":
        return nn.BatchNorm1d(dim) if one_d else nn.BatchNorm2d(dim)
    if norm == "in":
        return nn.InstanceNorm1d(dim) if one_d else nn.InstanceNorm2d(dim)  # affine-free, no running statistics
    if norm == "ln":
        return LayerNorm(dim)
    if norm == "adain" and not one_d:
        return AdaptiveInstanceNorm2d(dim)
    raise ValueError(f"unsupported normalization {norm!r} (known: none, bn, in, ln{', adain' if not one_d else ''})")


def _activation(name: str) -> nn.Module | None:
    acts = {"relu": lambda: nn.ReLU(inplace=True), "lrelu": lambda: nn.LeakyReLU(0.2, inplace=True),
            "prelu": nn.PReLU, "selu": lambda: nn.SELU(inplace=True), "tanh": nn.Tanh, "none": lambda: None}
    if name not in acts:
        raise ValueError(f"unsupported activation {name!r} (known: {', '.join(acts)})")
    return acts[name]()


def _norm_activation(block: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A block's optional ``norm``, then its optional ``activation``."""
    if block.norm is not None:
        x = block.norm(x)
    if block.activation is not None:
        x = block.activation(x)
    return x


class Conv2dBlock(nn.Module):
    """pad -> conv (with bias) -> [norm] -> [activation], attributes in the authors' order (``pad``, ``norm``,
    ``activation``, ``conv``)."""

    def __init__(self, input_dim: int, output_dim: int, kernel_size: int, stride: int, padding: int = 0,
                 norm: str = "none", activation: str = "relu", pad_type: str = "zero") -> None:
        super().__init__()
        pads = {"reflect": nn.ReflectionPad2d, "replicate": nn.ReplicationPad2d, "zero": nn.ZeroPad2d}
        if pad_type not in pads:
            raise ValueError(f"unsupported padding type {pad_type!r} (known: {', '.join(pads)})")
        self.pad = pads[pad_type](padding)
        self.norm = _norm(norm, output_dim)
        self.activation = _activation(activation)
        self.conv = nn.Conv2d(input_dim, output_dim, kernel_size, stride, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _norm_activation(self, self.conv(self.pad(x)))


class LinearBlock(nn.Module):
    """fc (with bias) -> [norm] -> [activation] (attributes ``fc``, ``norm``, ``activation``)."""

    def __init__(self, input_dim: int, output_dim: int, norm: str = "none", activation: str = "relu") -> None:
        super().__init__()
        self.fc = nn.Linear(input_dim, output_dim, bias=True)
        self.norm = _norm(norm, output_dim, one_d=True)
        self.activation = _activation(activation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _norm_activation(self, self.fc(x))


class ResBlock(nn.Module):
    """x + [3x3 Conv2dBlock with activation, 3x3 Conv2dBlock without] (``model``)."""

    def __init__(self, dim: int, norm: str = "in", activation: str = "relu", pad_type: str = "zero") -> None:
        super().__init__()
        self.model = nn.Sequential(Conv2dBlock(dim, dim, 3, 1, 1, norm=norm, activation=activation, pad_type=pad_type),
                                   Conv2dBlock(dim, dim, 3, 1, 1, norm=norm, activation="none", pad_type=pad_type))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) + x


class ResBlocks(nn.Module):
    def __init__(self, num_blocks: int, dim: int, norm: str = "in", activation: str = "relu",
                 pad_type: str = "zero") -> None:
        super().__init__()
        self.model = nn.Sequential(*[ResBlock(dim, norm, activation, pad_type) for _ in range(num_blocks)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class MLP(nn.Module):
    def __init__(self, input_dim: int, output_dim: int, dim: int, n_blk: int, norm: str = "none",
                 activ: str = "relu") -> None:
        super().__init__()
        layers = [LinearBlock(input_dim, dim, norm=norm, activation=activ)]
        layers += [LinearBlock(dim, dim, norm=norm, activation=activ) for _ in range(n_blk - 2)]
        layers.append(LinearBlock(dim, output_dim, norm="none", activation="none"))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x.reshape(x.shape[0], -1))


# ----------------------------------------------------------------------------- encoders, decoder, generators

class StyleEncoder(nn.Module):
    def __init__(self, n_downsample: int, input_dim: int, dim: int, style_dim: int, norm: str, activ: str,
                 pad_type: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dBlock(input_dim, dim, 7, 1, 3, norm=norm, activation=activ,
                                               pad_type=pad_type)]
        for _ in range(2):
            layers.append(Conv2dBlock(dim, 2 * dim, 4, 2, 1, norm=norm, activation=activ, pad_type=pad_type))
            dim *= 2
        layers += [Conv2dBlock(dim, dim, 4, 2, 1, norm=norm, activation=activ, pad_type=pad_type)
                   for _ in range(n_downsample - 2)]
        layers += [nn.AdaptiveAvgPool2d(1), nn.Conv2d(dim, style_dim, 1, 1, 0)]
        self.model = nn.Sequential(*layers)
        self.output_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class ContentEncoder(nn.Module):
    def __init__(self, n_downsample: int, n_res: int, input_dim: int, dim: int, norm: str, activ: str,
                 pad_type: str) -> None:
        super().__init__()
        layers: list[nn.Module] = [Conv2dBlock(input_dim, dim, 7, 1, 3, norm=norm, activation=activ,
                                               pad_type=pad_type)]
        for _ in range(n_downsample):
            layers.append(Conv2dBlock(dim, 2 * dim, 4, 2, 1, norm=norm, activation=activ, pad_type=pad_type))
            dim *= 2
        layers.append(ResBlocks(n_res, dim, norm=norm, activation=activ, pad_type=pad_type))
        self.model = nn.Sequential(*layers)
        self.output_dim = dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class Decoder(nn.Module):
    def __init__(self, n_upsample: int, n_res: int, dim: int, output_dim: int, res_norm: str = "adain",
                 activ: str = "relu", pad_type: str = "zero") -> None:
        super().__init__()
        layers: list[nn.Module] = [ResBlocks(n_res, dim, res_norm, activ, pad_type=pad_type)]
        for _ in range(n_upsample):
            layers += [nn.Upsample(scale_factor=2),
                       Conv2dBlock(dim, dim // 2, 5, 1, 2, norm="ln", activation=activ, pad_type=pad_type)]
            dim //= 2
        layers.append(Conv2dBlock(dim, output_dim, 7, 1, 3, norm="none", activation="tanh", pad_type=pad_type))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if skip is None:
            return self.model(x)
        # not in the authors' code (MUNIT's config ``residual``, its mini): the last conv's output is added to the
        # pre-tanh value of ``skip`` (the image the code came from); with that conv at zero, decoding is the identity
        return torch.tanh(self.pre_tanh(x) + atanh(skip))

    def pre_tanh(self, x: torch.Tensor) -> torch.Tensor:
        """The last conv's output, before the tanh."""
        last = self.model[-1]
        return last.conv(last.pad(self.model[:-1](x)))


def atanh(x: torch.Tensor) -> torch.Tensor:
    """atanh of an image in [-1, 1], clamped (cyclegan's residual generator): uint8 0 and 255 map to -/+3.0."""
    return torch.atanh(x.clamp(-RESIDUAL_CLAMP, RESIDUAL_CLAMP))


def adain_layers(model: nn.Module) -> list[AdaptiveInstanceNorm2d]:
    return [m for m in model.modules() if isinstance(m, AdaptiveInstanceNorm2d)]


def assign_adain_params(adain_params: torch.Tensor, model: nn.Module) -> None:
    """[B, 2 * sum(num_features)] -> each AdaIN layer of ``model`` in module order: its shift (``bias``), then its
    scale (``weight``)."""
    offset = 0
    for m in adain_layers(model):
        n = m.num_features
        m.bias = adain_params[:, offset:offset + n]
        m.weight = adain_params[:, offset + n:offset + 2 * n]
        offset += 2 * n
    if offset != adain_params.shape[1]:
        raise ValueError(f"{adain_params.shape[1]} AdaIN parameters for layers that take {offset}")


class AdaINGen(nn.Module):
    """MUNIT's auto-encoder of one domain: ``encode`` -> (content [B, dim * 2**n_downsample, H/2**n, W/2**n], style
    [B, style_dim, 1, 1]); ``decode(content, style)``."""

    def __init__(self, input_dim: int, dim: int = 64, style_dim: int = 8, n_downsample: int = 2, n_res: int = 4,
                 activ: str = "relu", pad_type: str = "reflect", mlp_dim: int = 256) -> None:
        super().__init__()
        self.enc_style = StyleEncoder(STYLE_DOWNSAMPLE, input_dim, dim, style_dim, norm="none", activ=activ,
                                      pad_type=pad_type)
        self.enc_content = ContentEncoder(n_downsample, n_res, input_dim, dim, "in", activ, pad_type=pad_type)
        self.dec = Decoder(n_downsample, n_res, self.enc_content.output_dim, input_dim, res_norm="adain",
                           activ=activ, pad_type=pad_type)
        n_adain = sum(2 * m.num_features for m in adain_layers(self.dec))
        self.mlp = MLP(style_dim, n_adain, mlp_dim, MLP_BLOCKS, norm="none", activ=activ)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        content, style = self.encode(images)
        return self.decode(content, style)

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.enc_content(images), self.enc_style(images)

    def decode(self, content: torch.Tensor, style: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        assign_adain_params(self.mlp(style), self.dec)
        return self.dec(content, skip)


def _cpu_randn(shape: Any, like: torch.Tensor) -> torch.Tensor:
    """N(0, I) from torch's CPU RNG, then moved: the authors' ``torch.randn(...).cuda()`` (the same draws on any
    device)."""
    return torch.randn(tuple(shape)).to(device=like.device, dtype=like.dtype)


class VAEGen(nn.Module):
    """UNIT's auto-encoder of one domain: ``encode`` -> (hiddens, unit-variance noise), ``decode(hiddens)``."""

    def __init__(self, input_dim: int, dim: int = 64, n_downsample: int = 2, n_res: int = 4, activ: str = "relu",
                 pad_type: str = "reflect") -> None:
        super().__init__()
        self.enc = ContentEncoder(n_downsample, n_res, input_dim, dim, "in", activ, pad_type=pad_type)
        self.dec = Decoder(n_downsample, n_res, self.enc.output_dim, input_dim, res_norm="in", activ=activ,
                           pad_type=pad_type)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hiddens, noise = self.encode(images)
        return self.decode(hiddens + noise if self.training else hiddens), hiddens

    def encode(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hiddens = self.enc(images)
        return hiddens, _cpu_randn(hiddens.shape, hiddens)

    def decode(self, hiddens: torch.Tensor) -> torch.Tensor:
        return self.dec(hiddens)


class MsImageDis(nn.Module):
    """The multi-scale discriminator: a list of ``num_scales`` outputs [B, 1, h_i, w_i]."""

    def __init__(self, input_dim: int, dim: int = 64, n_layer: int = 4, norm: str = "none", activ: str = "lrelu",
                 num_scales: int = 3, pad_type: str = "reflect", gan_type: str = "lsgan") -> None:
        super().__init__()
        if gan_type not in GAN_TYPES:
            raise ValueError(f"gan_type must be one of {', '.join(GAN_TYPES)}, not {gan_type!r}")
        self.gan_type = gan_type
        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)
        self.cnns = nn.ModuleList()
        for _ in range(num_scales):
            d = dim
            layers: list[nn.Module] = [Conv2dBlock(input_dim, d, 4, 2, 1, norm="none", activation=activ,
                                                   pad_type=pad_type)]
            for _ in range(n_layer - 1):
                layers.append(Conv2dBlock(d, d * 2, 4, 2, 1, norm=norm, activation=activ, pad_type=pad_type))
                d *= 2
            layers.append(nn.Conv2d(d, 1, 1, 1, 0))
            self.cnns.append(nn.Sequential(*layers))

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        outputs = []
        for model in self.cnns:
            outputs.append(model(x))
            x = self.downsample(x)
        return outputs

    def calc_dis_loss(self, input_fake: torch.Tensor, input_real: torch.Tensor) -> torch.Tensor:
        mode = GAN_TYPES[self.gan_type]
        return (gan_loss(self(input_fake), False, mode, reduce="sum")
                + gan_loss(self(input_real), True, mode, reduce="sum"))

    def calc_gen_loss(self, input_fake: torch.Tensor) -> torch.Tensor:
        return gan_loss(self(input_fake), True, GAN_TYPES[self.gan_type], for_discriminator=False, reduce="sum")


def weights_init(net: nn.Module, init_type: str) -> None:
    """The authors' ``weights_init``: every Conv2d / Linear weight drawn as ``init_type``, its bias 0."""
    if init_type not in INITS:
        raise ValueError(f"init must be one of {', '.join(INITS)}, not {init_type!r}")
    for m in net.modules():
        if not isinstance(m, (nn.Conv2d, nn.Linear)):
            continue
        if init_type == "gaussian":
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif init_type == "xavier":
            nn.init.xavier_normal_(m.weight, gain=math.sqrt(2))
        elif init_type == "kaiming":
            nn.init.kaiming_normal_(m.weight, a=0, mode="fan_in")
        elif init_type == "orthogonal":
            nn.init.orthogonal_(m.weight, gain=math.sqrt(2))
        if m.bias is not None:  # also for "default" (theirs zeroes every bias)
            nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------- the models

def _l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.mean(torch.abs(a.float() - b.float()))  # the authors' recon_criterion


def _kl(mu: torch.Tensor) -> torch.Tensor:
    """``UNIT_Trainer.__compute_kl``: mean(mu^2), the KL divergence of N(mu, I) from N(0, I) up to scale."""
    return torch.mean(mu.float() ** 2)


class TwoDomainModel(GANModel):
    """gen_a, gen_b, dis_a (judges A), dis_b (judges B), as the authors' trainers; the trainer saves all four,
    ``generator_module`` is the pair {gen_a, gen_b} (a released ``gen_*.pt`` file's content)."""

    semantic_nc = 3  # input channels (recorded in the checkpoint's meta)
    method = ""

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        if float(cfg.vgg_w):
            raise ValueError(f"{self.method}: the domain-invariant VGG loss (vgg_w) is not implemented; set it to 0")
        if cfg.lr_policy not in ("step", "constant"):
            raise ValueError(f"{self.method} lr_policy must be step or constant, not {cfg.lr_policy!r}")
        self.gen_a, self.gen_b = self.make_gen(cfg), self.make_gen(cfg)
        d = dict(dim=int(cfg.dis_dim), n_layer=int(cfg.n_layer), norm=cfg.dis_norm, activ=cfg.dis_activ,
                 num_scales=int(cfg.num_scales), pad_type=cfg.dis_pad_type, gan_type=cfg.gan_type)
        self.dis_a, self.dis_b = MsImageDis(3, **d), MsImageDis(3, **d)
        for gen in (self.gen_a, self.gen_b):
            weights_init(gen, cfg.init)
        for dis in (self.dis_a, self.dis_b):
            weights_init(dis, "gaussian")
        self.residual = bool(cfg.residual)
        if self.residual:  # residual decoders start as the identity mapping: their last conv is zero
            for gen in (self.gen_a, self.gen_b):
                nn.init.zeros_(gen.dec.model[-1].conv.weight)
                nn.init.zeros_(gen.dec.model[-1].conv.bias)

    def make_gen(self, cfg: Any) -> nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def generator_module(self) -> nn.Module:
        return nn.ModuleDict({"gen_a": self.gen_a, "gen_b": self.gen_b})

    def input_keys(self) -> list[str]:
        return []  # the input is an RGB image: no label-channel count to report

    # -- training
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        cfg = self.cfg
        kw = dict(betas=(cfg.beta1, cfg.beta2), weight_decay=float(cfg.weight_decay))
        gen = list(self.gen_a.parameters()) + list(self.gen_b.parameters())
        dis = list(self.dis_a.parameters()) + list(self.dis_b.parameters())
        return {"G": torch.optim.Adam(gen, lr=cfg.lr_g, **kw), "D": torch.optim.Adam(dis, lr=cfg.lr_d, **kw)}

    def lr_factor(self, step: int) -> float:
        """``get_scheduler``: StepLR stepped before every iteration (iteration ``step`` runs at epoch step + 1)."""
        if self.cfg.lr_policy == "constant":
            return 1.0
        return float(self.cfg.gamma) ** ((step + 1) // int(self.cfg.step_size))

    def schedule(self, step: int, total: int, opts: dict[str, torch.optim.Optimizer],
                 base_lr: dict[str, list[float]]) -> None:
        f = self.lr_factor(step)
        for k, o in opts.items():
            for g, lr in zip(o.param_groups, base_lr[k]):
                g["lr"] = lr * f

    def cross_fakes(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(x_ba, x_ab) of ``dis_update``, with their own random codes."""
        raise NotImplementedError  # pragma: no cover - abstract

    def generator_losses(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """The weighted terms of ``gen_update`` (their sum is the loss)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def discriminator_loss(self, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
        """``dis_update``'s loss on fresh fakes (the generators run without gradients: the fakes are detached)."""
        with torch.no_grad():
            x_ba, x_ab = self.cross_fakes(x_a, x_b)
        gw = float(self.cfg.gan_w)
        return gw * self.dis_a.calc_dis_loss(x_ba.detach(), x_a) + gw * self.dis_b.calc_dis_loss(x_ab.detach(), x_b)

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        x_a = image_to_float(batch["source"])  # domain A: the source images
        x_b = image_to_float(batch["image"])   # domain B: the target-domain images (unpaired)
        dis = (self.dis_a, self.dis_b)
        for d in dis:
            d.requires_grad_(True)
        with ctx.autocast():
            loss_d = self.discriminator_loss(x_a, x_b)
        ctx.step(opts["D"], loss_d, "D")
        for d in dis:  # the authors leave D's gradients to the next zero_grad; frozen here, the same update
            d.requires_grad_(False)
        with ctx.autocast():
            terms = self.generator_losses(x_a, x_b)
            loss_g = sum(terms.values())
        ctx.step(opts["G"], loss_g, "G")
        for d in dis:
            d.requires_grad_(True)
        logs = {k: float(v.detach()) for k, v in terms.items()}
        logs["D"] = float(loss_d.detach())
        return logs

    def padded(self, fn: Any, x: torch.Tensor) -> torch.Tensor:
        return translate(fn, x, 2 ** int(self.cfg.n_downsample))




class MUNITModel(TwoDomainModel):
    multimodal = True
    method = "munit"

    def skip(self, x: torch.Tensor) -> torch.Tensor | None:
        """The image a code was encoded from, for a residual decoder (config ``residual``); None otherwise."""
        return x if self.residual else None

    def make_gen(self, cfg: Any) -> nn.Module:
        return AdaINGen(3, dim=int(cfg.dim), style_dim=int(cfg.style_dim), n_downsample=int(cfg.n_downsample),
                        n_res=int(cfg.n_res), activ=cfg.activ, pad_type=cfg.pad_type, mlp_dim=int(cfg.mlp_dim))

    def random_styles(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        d = int(self.cfg.style_dim)
        return _cpu_randn((x_a.shape[0], d, 1, 1), x_a), _cpu_randn((x_b.shape[0], d, 1, 1), x_b)

    def cross_fakes(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        s_a, s_b = self.random_styles(x_a, x_b)
        c_a, _ = self.gen_a.encode(x_a)
        c_b, _ = self.gen_b.encode(x_b)
        return self.gen_a.decode(c_b, s_a, self.skip(x_b)), self.gen_b.decode(c_a, s_b, self.skip(x_a))

    def generator_losses(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        s_a, s_b = self.random_styles(x_a, x_b)
        c_a, s_a_prime = self.gen_a.encode(x_a)
        c_b, s_b_prime = self.gen_b.encode(x_b)
        x_a_recon = self.gen_a.decode(c_a, s_a_prime, self.skip(x_a))  # within domain
        x_b_recon = self.gen_b.decode(c_b, s_b_prime, self.skip(x_b))
        x_ba = self.gen_a.decode(c_b, s_a, self.skip(x_b))  # across domains
        x_ab = self.gen_b.decode(c_a, s_b, self.skip(x_a))
        c_b_recon, s_a_recon = self.gen_a.encode(x_ba)
        c_a_recon, s_b_recon = self.gen_b.encode(x_ab)
        gw, xw, sw, cw = float(cfg.gan_w), float(cfg.recon_x_w), float(cfg.recon_s_w), float(cfg.recon_c_w)
        out = {"adv_a": gw * self.dis_a.calc_gen_loss(x_ba), "adv_b": gw * self.dis_b.calc_gen_loss(x_ab),
               "recon_x_a": xw * _l1(x_a_recon, x_a), "recon_s_a": sw * _l1(s_a_recon, s_a),
               "recon_c_a": cw * _l1(c_a_recon, c_a), "recon_x_b": xw * _l1(x_b_recon, x_b),
               "recon_s_b": sw * _l1(s_b_recon, s_b), "recon_c_b": cw * _l1(c_b_recon, c_b)}
        cyc = float(cfg.recon_x_cyc_w)
        if cyc > 0:  # the explicit style-augmented cycle: decode the recovered content with the original style
            out["cycrecon_x_a"] = cyc * _l1(self.gen_a.decode(c_a_recon, s_a_prime, self.skip(x_ab)), x_a)
            out["cycrecon_x_b"] = cyc * _l1(self.gen_b.decode(c_b_recon, s_b_prime, self.skip(x_ba)), x_b)
        return out

    def style_code(self, seed: int, device: torch.device) -> torch.Tensor:
        """z ~ N(0, I) of one sample, [1, style_dim, 1, 1], from its seed alone."""
        return per_sample_noise([seed], (int(self.cfg.style_dim), 1, 1), device)

    def translate(self, source: torch.Tensor, seed: int = 0, style: torch.Tensor | None = None) -> torch.Tensor:
        """float [B,3,H,W] in [-1, 1] (domain A) -> gen_b.decode(gen_a's content, z), [-1, 1]; z: ``style``
        ([B, style_dim, 1, 1]) or drawn from ``seed``."""
        z = self.style_code(seed, source.device) if style is None else style
        return self.padded(lambda x: self.gen_b.decode(self.gen_a.enc_content(x), z.to(x.dtype), self.skip(x)),
                           source)


class UNITModel(TwoDomainModel):
    method = "unit"

    def across(self, latent: torch.Tensor, x_src: torch.Tensor, src: nn.Module, dst: nn.Module) -> torch.Tensor:
        """``dst``'s decoding of ``latent``, encoded from ``x_src`` by ``src``: ``dst.decode(latent)`` (the authors');
        with config ``residual`` (not in the authors' code; the mini) x_src plus the difference the two decoders make
        of the latent, in pre-tanh values: tanh(atanh(x_src) + dst(latent) - src(latent)), which is x_src while the
        two last convs are at zero and dst's decoding once src's reconstructs x_src exactly. (The MUNIT form,
        dst(latent) added to x_src, left UNIT at the identity: its decoders cannot tell the two domains' latents
        apart, and the reconstruction losses want no change on their own domain's.)"""
        if not self.residual:
            return dst.decode(latent)
        return torch.tanh(atanh(x_src) + dst.dec.pre_tanh(latent) - src.dec.pre_tanh(latent))

    def make_gen(self, cfg: Any) -> nn.Module:
        return VAEGen(3, dim=int(cfg.dim), n_downsample=int(cfg.n_downsample), n_res=int(cfg.n_res),
                      activ=cfg.activ, pad_type=cfg.pad_type)

    def cross_fakes(self, x_a: torch.Tensor, x_b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h_a, n_a = self.gen_a.encode(x_a)
        h_b, n_b = self.gen_b.encode(x_b)
        return self.across(h_b + n_b, x_b, self.gen_b, self.gen_a), self.across(h_a + n_a, x_a, self.gen_a, self.gen_b)

    def generator_losses(self, x_a: torch.Tensor, x_b: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.cfg
        h_a, n_a = self.gen_a.encode(x_a)
        h_b, n_b = self.gen_b.encode(x_b)
        x_a_recon = self.gen_a.decode(h_a + n_a)  # within domain
        x_b_recon = self.gen_b.decode(h_b + n_b)
        x_ba = self.across(h_b + n_b, x_b, self.gen_b, self.gen_a)  # across domains
        x_ab = self.across(h_a + n_a, x_a, self.gen_a, self.gen_b)
        h_b_recon, n_b_recon = self.gen_a.encode(x_ba)
        h_a_recon, n_a_recon = self.gen_b.encode(x_ab)
        gw, xw, kw = float(cfg.gan_w), float(cfg.recon_x_w), float(cfg.recon_kl_w)
        cyc, kcyc = float(cfg.recon_x_cyc_w), float(cfg.recon_kl_cyc_w)
        # the cycle images only with a cycle weight (the authors' UNIT_Trainer always needs one: 10 in every config)
        x_aba = self.across(h_a_recon + n_a_recon, x_ab, self.gen_b, self.gen_a) if cyc > 0 else None
        x_bab = self.across(h_b_recon + n_b_recon, x_ba, self.gen_a, self.gen_b) if cyc > 0 else None
        # in the order of the authors' sum (float addition is not associative)
        out = {"adv_a": gw * self.dis_a.calc_gen_loss(x_ba), "adv_b": gw * self.dis_b.calc_gen_loss(x_ab),
               "recon_x_a": xw * _l1(x_a_recon, x_a), "recon_kl_a": kw * _kl(h_a),
               "recon_x_b": xw * _l1(x_b_recon, x_b), "recon_kl_b": kw * _kl(h_b)}
        if x_aba is not None and x_bab is not None:
            out["cyc_x_a"] = cyc * _l1(x_aba, x_a)
        out["recon_kl_cyc_aba"] = kcyc * _kl(h_a_recon)
        if x_aba is not None and x_bab is not None:
            out["cyc_x_b"] = cyc * _l1(x_bab, x_b)
        out["recon_kl_cyc_bab"] = kcyc * _kl(h_b_recon)
        return out

    def translate(self, source: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """float [B,3,H,W] in [-1, 1] (domain A) -> gen_b.decode(gen_a's hiddens), no noise (``test.py``)."""
        return self.padded(lambda x: self.across(self.gen_a.enc(x), x, self.gen_a, self.gen_b), source)


# ----------------------------------------------------------------------------- releases and adapters

def official_to_ours(state: dict[str, Any]) -> dict[str, Any]:
    """A released ``gen_*.pt`` ({'a': gen_a's state dict, 'b': gen_b's}; or that flattened to ``a.*`` / ``b.*``
    keys) -> our generator pair's keys ``gen_a.*`` / ``gen_b.*``, names otherwise unchanged. ``bench.checkpoints.
    normalize_release`` (applied after this) drops the InstanceNorm running statistics that files of PyTorch < 0.4
    hold (the authors' ``pytorch03_to_pytorch04`` deletes them)."""
    out: dict[str, Any] = {}
    for k, v in state.items():
        if k in ("a", "b") and isinstance(v, dict):
            out.update({f"gen_{k}.{kk}": vv for kk, vv in v.items()})
        elif k.startswith(("a.", "b.")):
            out[f"gen_{k}"] = v
        else:
            out[k] = v
    return out


def read_release_pair(path: str) -> dict[str, torch.Tensor] | None:
    """The generators of a released file ({'a': {...}, 'b': {...}} of tensors), flattened to ``a.*`` / ``b.*``;
    None for any other file (left to the usual loader and its messages)."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - not ours to report: ReferenceGenerator.load says what is wrong
        return None
    if not (isinstance(obj, dict) and set(obj) == {"a", "b"}
            and all(isinstance(v, dict) and v and all(isinstance(t, torch.Tensor) for t in v.values())
                    for v in obj.values())):
        return None
    return {f"{d}.{k}": t for d in ("a", "b") for k, t in obj[d].items()}


class _TwoDomainAdapter(CycleGAN):
    """CycleGAN's adapter (unpaired training items, per-sample generation through ``model.translate``) plus the
    authors' two-generator release files."""

    def load(self, path: str) -> None:
        from reference_models import official_keys

        pair = read_release_pair(path)
        if pair is None:
            return super().load(path)
        module = self.model.generator_module()
        state = official_keys.to_ours(self.method_key, pair, module)
        strict_load(module, state, f"{self.method_key} checkpoint {path}", self.model.input_keys())
        self.model.after_load()


@register_method("munit")
class MUNIT(_TwoDomainAdapter):
    """MUNIT (Huang et al. 2018) for the unpaired task; configs ``paper`` (the authors' edges2shoes config) and
    ``mini``. Batch ``source`` uint8 [B,3,H,W] (domain A) -> gen_b.decode(content of A, z ~ N(0, I) from the
    sample's seed), uint8 [B,3,H,W] (domain B); multimodal, one sample at a time. Trains on items holding ``source``
    (domain A) and ``image`` (an unpaired domain-B image)."""

    method_key = "munit"

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return MUNITModel(cfg, info)


@register_method("unit")
class UNIT(_TwoDomainAdapter):
    """UNIT (Liu et al. 2017, the MUNIT code base's ``UNIT_Trainer``) for the unpaired task; configs ``paper`` (the
    authors' unit_edges2shoes config) and ``mini``. Batch ``source`` uint8 [B,3,H,W] (domain A) ->
    gen_b.decode(gen_a's hiddens), uint8 [B,3,H,W] (domain B); deterministic, one sample at a time."""

    method_key = "unit"

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return UNITModel(cfg, info)
