"""CycleGAN (Zhu et al., ICCV 2017) for the ``unpaired`` task, on the shared trainer.

Built as the authors' PyTorch code (junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``,
``models/cycle_gan_model.py``, ``util/image_pool.py``; read, not copied), with the same attribute names and nesting,
so the released generators (``latest_net_G.pth``) load strictly:

* generators ``G_A`` (A -> B: the evaluated direction, source -> target) and ``G_B`` (B -> A): ``ResnetGenerator``,
  one flat ``model`` Sequential: reflection pad 3, 7x7 conv ngf, norm, ReLU; two 3x3 stride-2 convs (2ngf, 4ngf);
  ``n_blocks`` residual blocks (``conv_block``: reflection pad, 3x3 conv, norm, ReLU, [dropout], reflection pad, 3x3
  conv, norm; x + block(x)); two 3x3 stride-2 transposed convs (output padding 1) back to ngf; reflection pad 3,
  7x7 conv to 3 channels, tanh. Convolutions before an InstanceNorm carry a bias (the authors' ``use_bias``), the
  InstanceNorm is affine-free without running statistics, so no buffer depends on the data;
* discriminators ``D_A`` (judges domain B) and ``D_B`` (judges A): the 70x70 PatchGAN of pix2pix
  (``discriminators.PatchDiscriminator``, the authors' ``NLayerDiscriminator``) with the same norm as G;
* losses: LSGAN (MSE to 1 / 0 on every patch); G: GAN(D_A(G_A(A))) + GAN(D_B(G_B(B))) + lambda_A |G_B(G_A(A)) - A|_1 +
  lambda_B |G_A(G_B(B)) - B|_1 + lambda_idt (lambda_B |G_A(B) - B|_1 + lambda_A |G_B(A) - A|_1) (mean absolute
  errors); each D: (GAN(real, 1) + GAN(fake from the pool, 0)) / 2. One step: G_A and G_B together (D frozen), then
  D_A and D_B together on the fakes of that step's forward pass, each through its image pool, as
  ``optimize_parameters``;
* the image pool (``ImagePool``): up to ``pool_size`` generated images per direction; while it is not full every
  fake is stored and shown; then each fake is shown with probability 1/2, else it replaces a uniformly chosen stored
  image, which is shown instead. The draws come from torch's global RNG, which the trainer re-seeds from (seed,
  step) before every step; the stored images are buffers of the model, so they are saved with every checkpoint and
  a resumed run continues bit for bit.

Not in the authors' code, for the ``mini`` only (off in ``paper``): ``residual`` (G adds its last convolution's
output to the input's pre-tanh value, that convolution starting at zero, so G starts as the identity mapping) and
``upsample: bilinear`` (bilinear resize + reflection pad + 3x3 conv instead of the transposed convs: the authors'
docs/qa.md remedy for checkerboard artifacts). The mini also turns the identity loss off (``lambda_identity`` 0).

Input / output: images in [-1, 1]; a size that is not a multiple of 4 is reflection-padded to one and the output
cropped back (the authors resize such images to a multiple of 4 instead). Deterministic (no dropout, no noise):
``multimodal`` False; generated one sample at a time (InstanceNorm is per sample anyway).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from bench.errors import BenchError
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, to_uint8
from reference_models.discriminators import PatchDiscriminator, norm_2d
from reference_models.losses import gan_loss
from reference_models.pix2pix import _init_normal

N_DOWNSAMPLING = 2  # fixed in the authors' ResnetGenerator: inputs should be multiples of 4
UPSAMPLE = ("transpose", "bilinear")
RESIDUAL_CLAMP = 0.995  # |x| bound before atanh in a residual generator (uint8 0 and 255 map to -/+3.0)


# ----------------------------------------------------------------------------- networks

class ResnetBlock(nn.Module):
    """x + conv_block(x); ``conv_block``: pad, 3x3 conv, norm, ReLU, [dropout 0.5], pad, 3x3 conv, norm."""

    def __init__(self, dim: int, norm: str, dropout: bool, use_bias: bool, padding: str = "reflect") -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for second in (False, True):
            p = 0
            if padding == "reflect":
                layers.append(nn.ReflectionPad2d(1))
            elif padding == "replicate":
                layers.append(nn.ReplicationPad2d(1))
            elif padding == "zero":
                p = 1
            else:
                raise ValueError(f"padding must be reflect, replicate or zero, not {padding!r}")
            layers += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_2d(norm, dim)]
            if not second:
                layers.append(nn.ReLU(True))
                if dropout:
                    layers.append(nn.Dropout(0.5))
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The authors' ``ResnetGenerator`` (``resnet_9blocks`` / ``resnet_6blocks``): [B, input_nc, H, W] in [-1, 1] ->
    [B, output_nc, H, W] in [-1, 1] for H, W multiples of 4."""

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, n_blocks: int = 9,
                 norm: str = "instance", dropout: bool = False, residual: bool = False,
                 upsample: str = "transpose") -> None:
        super().__init__()
        if residual and input_nc != output_nc:
            raise ValueError("a residual generator needs as many output channels as input channels")
        self.residual = bool(residual)
        if n_blocks < 0:
            raise ValueError("n_blocks must be >= 0")
        use_bias = norm == "instance"  # the authors': a bias only before InstanceNorm (BatchNorm has its own shift)
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0,
                                                                    bias=use_bias),
                                   norm_2d(norm, ngf), nn.ReLU(True)]
        for i in range(N_DOWNSAMPLING):
            c = ngf * 2 ** i
            layers += [nn.Conv2d(c, c * 2, kernel_size=3, stride=2, padding=1, bias=use_bias), norm_2d(norm, c * 2),
                       nn.ReLU(True)]
        width = ngf * 2 ** N_DOWNSAMPLING
        layers += [ResnetBlock(width, norm, dropout, use_bias) for _ in range(n_blocks)]
        if upsample not in UPSAMPLE:
            raise ValueError(f"upsample must be one of {', '.join(UPSAMPLE)}, not {upsample!r}")
        for i in range(N_DOWNSAMPLING):
            c = ngf * 2 ** (N_DOWNSAMPLING - i)
            if upsample == "transpose":
                layers.append(nn.ConvTranspose2d(c, c // 2, kernel_size=3, stride=2, padding=1, output_padding=1,
                                                 bias=use_bias))
            else:  # the authors' docs/qa.md remedy for checkerboard artifacts: resize, then a 3x3 convolution
                layers += [nn.Upsample(scale_factor=2, mode="bilinear"), nn.ReflectionPad2d(1),
                           nn.Conv2d(c, c // 2, kernel_size=3, padding=0)]
            layers += [norm_2d(norm, c // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.residual:
            return self.model(x)
        # not in the authors' code (config ``residual``, the mini): the last conv's output is added to the input's
        # pre-tanh value; with that conv initialised to zero (``CycleGANModel``) G starts as the identity mapping
        h = self.model[:-1](x)
        return torch.tanh(h + torch.atanh(x.clamp(-RESIDUAL_CLAMP, RESIDUAL_CLAMP)))


def translate(net: Any, x: torch.Tensor, multiple: int = 2 ** N_DOWNSAMPLING) -> torch.Tensor:
    """``net(x)`` for any size: reflection-padded (bottom / right) to a multiple of ``multiple`` (4: the two
    halvings of the ResnetGenerator) and cropped back."""
    h, w = x.shape[-2:]
    m = int(multiple)
    ph, pw = (-h) % m, (-w) % m
    if not (ph or pw):
        return net(x)
    mode = "reflect" if ph < h and pw < w else "replicate"
    return net(F.pad(x, (0, pw, 0, ph), mode=mode))[..., :h, :w]


class ImagePool(nn.Module):
    """The authors' image buffer with its state in buffers: ``images`` [size, C, H, W] (allocated at the first
    query; the slots from ``count`` on are still empty) and ``count`` (how many are stored). ``query(images)`` returns as many images as given,
    see the module doc; random draws from torch's global RNG: per image, once the pool is full, ``torch.rand(())``
    (swap when > 0.5) and then, when swapping, ``torch.randint(0, size, ())`` (the slot)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = int(size)
        self.register_buffer("images", torch.zeros(0))
        self.register_buffer("count", torch.zeros((), dtype=torch.int64))

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):  # type: ignore[no-untyped-def]
        key = prefix + "images"
        if key in state_dict:  # the stored images define the buffer's shape (empty in a fresh model)
            self.images = torch.empty(state_dict[key].shape, dtype=self.images.dtype, device=self.images.device)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size <= 0:
            return images
        images = images.detach()
        if self.images.numel() == 0:
            self.images = torch.zeros((self.size, *images.shape[1:]), dtype=images.dtype, device=images.device)
        elif tuple(self.images.shape[1:]) != tuple(images.shape[1:]):
            raise BenchError(f"image pool holds {list(self.images.shape[1:])} images, got {list(images.shape[1:])}")
        out = []
        for img in images:
            n = int(self.count)
            if n < self.size:
                self.images[n] = img
                self.count += 1
                out.append(img.clone())
            elif float(torch.rand(())) > 0.5:
                j = int(torch.randint(0, self.size, ()))
                out.append(self.images[j].clone())
                self.images[j] = img
            else:
                out.append(img.clone())
        return torch.stack(out)


# ----------------------------------------------------------------------------- the model

class CycleGANModel(GANModel):
    """G_A, G_B, D_A, D_B and the two image pools (the trainer saves all of them; ``generator_module`` is G_A)."""

    semantic_nc = 3  # input channels (recorded in the checkpoint's meta)

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        if cfg.gan_mode not in ("lsgan", "vanilla"):
            raise ValueError(f"cyclegan gan_mode must be lsgan or vanilla, not {cfg.gan_mode!r}")
        if cfg.norm not in ("instance", "batch"):
            raise ValueError(f"cyclegan norm must be instance or batch, not {cfg.norm!r}")
        g = dict(ngf=int(cfg.ngf), n_blocks=int(cfg.n_blocks), norm=cfg.norm, dropout=bool(cfg.dropout),
                 residual=bool(cfg.residual), upsample=cfg.upsample)
        self.G_A = ResnetGenerator(3, 3, **g)
        self.G_B = ResnetGenerator(3, 3, **g)
        self.D_A = PatchDiscriminator(3, int(cfg.ndf), int(cfg.n_layers_d), cfg.norm)
        self.D_B = PatchDiscriminator(3, int(cfg.ndf), int(cfg.n_layers_d), cfg.norm)
        for net in (self.G_A, self.G_B, self.D_A, self.D_B):  # the authors' init_weights('normal', init_gain)
            _init_normal(net, float(cfg.init_gain))
        if cfg.residual:  # a residual G starts as the identity mapping: its last conv is zero
            for net in (self.G_A, self.G_B):
                nn.init.zeros_(net.model[-2].weight)
                nn.init.zeros_(net.model[-2].bias)
        self.fake_A_pool = ImagePool(int(cfg.pool_size))
        self.fake_B_pool = ImagePool(int(cfg.pool_size))

    def generator_module(self) -> nn.Module:
        return self.G_A

    def input_keys(self) -> list[str]:
        return []  # the input is an RGB image: no label-channel count to report

    # -- training
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        g_params = list(self.G_A.parameters()) + list(self.G_B.parameters())
        d_params = list(self.D_A.parameters()) + list(self.D_B.parameters())
        return {"G": torch.optim.Adam(g_params, lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(d_params, lr=self.cfg.lr_d, betas=betas)}

    def generator_losses(self, real_a: torch.Tensor, real_b: torch.Tensor, fake_b: torch.Tensor,
                         fake_a: torch.Tensor, rec_a: torch.Tensor, rec_b: torch.Tensor,
                         idt_a: torch.Tensor | None, idt_b: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The generators' loss terms (``backward_G``); ``idt_a`` = G_A(real_b), ``idt_b`` = G_B(real_a)."""
        cfg = self.cfg
        la, lb, lid = float(cfg.lambda_a), float(cfg.lambda_b), float(cfg.lambda_identity)
        out = {
            "G_A": gan_loss(self.D_A(fake_b), True, cfg.gan_mode, for_discriminator=False),
            "G_B": gan_loss(self.D_B(fake_a), True, cfg.gan_mode, for_discriminator=False),
            "cycle_A": F.l1_loss(rec_a.float(), real_a) * la,
            "cycle_B": F.l1_loss(rec_b.float(), real_b) * lb,
        }
        if lid > 0 and idt_a is not None and idt_b is not None:
            out["idt_A"] = F.l1_loss(idt_a.float(), real_b) * lb * lid
            out["idt_B"] = F.l1_loss(idt_b.float(), real_a) * la * lid
        return out

    def discriminator_loss(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """(GAN(D(real), real) + GAN(D(fake), fake)) / 2 (``backward_D_basic``); ``fake`` is detached here."""
        loss_real = gan_loss(D(real), True, self.cfg.gan_mode)
        loss_fake = gan_loss(D(fake.detach()), False, self.cfg.gan_mode)
        return (loss_real + loss_fake) * 0.5

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        real_a = image_to_float(batch["source"])  # domain A: the source images
        real_b = image_to_float(batch["image"])   # domain B: the target-domain images (unpaired)
        use_idt = float(self.cfg.lambda_identity) > 0
        # forward(), then G_A and G_B with D_A, D_B frozen
        self.D_A.requires_grad_(False)
        self.D_B.requires_grad_(False)
        with ctx.autocast():
            fake_b = self.G_A(real_a)
            rec_a = self.G_B(fake_b)
            fake_a = self.G_B(real_b)
            rec_b = self.G_A(fake_a)
            idt_a = self.G_A(real_b) if use_idt else None
            idt_b = self.G_B(real_a) if use_idt else None
            g_terms = self.generator_losses(real_a, real_b, fake_b, fake_a, rec_a, rec_b, idt_a, idt_b)
            loss_g = sum(g_terms.values())
        ctx.step(opts["G"], loss_g, "G")
        # D_A and D_B on this step's fakes, through the pools
        self.D_A.requires_grad_(True)
        self.D_B.requires_grad_(True)
        pooled_b = self.fake_B_pool.query(fake_b.detach().float())
        pooled_a = self.fake_A_pool.query(fake_a.detach().float())
        with ctx.autocast():
            d_a = self.discriminator_loss(self.D_A, real_b, pooled_b)
            d_b = self.discriminator_loss(self.D_B, real_a, pooled_a)
        ctx.step(opts["D"], d_a + d_b, "D")
        logs = {k: float(v.detach()) for k, v in g_terms.items()}
        logs.update({"D_A": float(d_a.detach()), "D_B": float(d_b.detach())})
        return logs

    # -- inference
    def translate(self, source: torch.Tensor, seed: int = 0) -> torch.Tensor:
        """float [B,3,H,W] in [-1, 1] (domain A) -> G_A's image (domain B), [-1, 1] (deterministic: ``seed`` is
        unused; the multimodal subclasses' models draw their codes from it)."""
        return translate(self.G_A, source)


def official_to_ours(state: dict[str, Any]) -> dict[str, Any]:
    """The authors' ``latest_net_G.pth`` (a ``ResnetGenerator`` state dict) keeps its names here: identity (the
    InstanceNorm running statistics that files of PyTorch < 0.4 hold, ``num_batches_tracked`` and DataParallel's
    ``module.`` prefixes are handled by ``bench.checkpoints.normalize_release``, applied after this)."""
    return dict(state)


@register_method("cyclegan")
class CycleGAN(ReferenceGenerator):
    """CycleGAN (Zhu et al. 2017) for the unpaired task; configs ``paper`` (resnet_9blocks), ``paper-128``
    (resnet_6blocks) and ``mini``. Batch ``source`` uint8 [B,3,H,W] (domain A) -> G_A's translation, uint8
    [B,3,H,W] (domain B); deterministic, one sample at a time. Trains on items holding ``source`` (domain A) and
    ``image`` (an unpaired domain-B image)."""

    method_key = "cyclegan"
    tasks = ("unpaired",)
    meta_num_classes = False

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return CycleGANModel(cfg, info)

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        return super().train(_Unpaired(dataset), out_dir=out_dir, seed=seed, steps=steps)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        if "source" not in batch:
            raise BenchError(f"{self.method_key}: the batch has no 'source' images (keys: {', '.join(sorted(batch))})")
        source = batch["source"]
        outs = self._per_sample(seeds, lambda i, seed: to_uint8(self.model.translate(
            image_to_float(source[i : i + 1].to(self.device)), seed)))
        res = self.info.resolution
        out = torch.cat(outs) if outs else torch.zeros((0, 3, *(res or source.shape[-2:])), dtype=torch.uint8)
        if res is not None and tuple(out.shape[-2:]) != tuple(res):
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected {list(res)} (the source "
                             "images are not at the dataset's resolution)")
        return out


class _Unpaired:
    """A translation set's items as the shared trainer collates them: ``source`` (domain A), ``image`` (domain B),
    ``path``, and zero label / instance maps when the set has none. Forwards ``resolution`` / ``at_resolution``
    (the random-crop augmentation reloads the set larger)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset

    def __getattr__(self, name: str) -> Any:
        if name == "dataset":
            raise AttributeError(name)
        return getattr(self.dataset, name)

    def at_resolution(self, resolution: tuple[int, int]) -> "_Unpaired":
        return _Unpaired(self.dataset.at_resolution(resolution))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.dataset[i]
        if "source" not in item or "image" not in item:
            raise BenchError("unpaired training (cyclegan, munit, unit) needs items holding 'source' (domain A) and "
                             f"'image' (domain B); this dataset's items hold {', '.join(sorted(item))}")
        zeros = torch.zeros((1, *item["image"].shape[-2:]), dtype=torch.int64)
        return {"source": item["source"], "image": item["image"], "label": item.get("label", zeros),
                "instance": item.get("instance", zeros), "path": item.get("path", "")}
