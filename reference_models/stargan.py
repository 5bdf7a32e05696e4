"""StarGAN (Choi, Choi, Kim, Ha, Kim, Choo, "StarGAN: Unified Generative Adversarial Networks for Multi-Domain
Image-to-Image Translation", CVPR 2018) for the ``attribute`` task, on the shared trainer.

Built as the authors' PyTorch code (yunjey/stargan at commit 94dd002, ``model.py``, ``solver.py``, ``main.py``; read,
not copied), with the same attribute names and nesting, so the released generators (``200000-G.ckpt`` of
``celeba-128x128-5attrs`` / ``celeba-256x256-5attrs``, plain ``Generator`` state dicts) load strictly:

* **G** (``model.py`` ``Generator``): the target attribute vector replicated over the pixels and concatenated to the
  image (3 + c_dim channels); one flat ``main`` Sequential: 7x7 conv to ``conv_dim`` (no bias), InstanceNorm, ReLU;
  two 4x4 stride-2 convs (doubling); ``repeat_num`` ``ResidualBlock`` s (``main``: 3x3 conv, IN, ReLU, 3x3 conv, IN;
  x + main(x)); two 4x4 stride-2 transposed convs (halving), each + IN + ReLU; 7x7 conv to 3 channels, tanh. Every
  conv is bias-free, zero-padded (the authors' comment: with reflection padding the constant label channels would
  reach nothing, as InstanceNorm removes the constant they add); every InstanceNorm is
  ``InstanceNorm2d(affine=True, track_running_stats=True)``.
* **Test time** (``solver.py`` ``test``): the solver never calls ``G.eval()``, so the released generators run in
  training mode: every InstanceNorm normalises with the image's own statistics (the running statistics stored in
  the checkpoint are updated, never used). Our :class:`InstanceNorm` does the same in eval mode -- per-instance
  statistics -- without updating the buffers (generation leaves the model unchanged); in training mode it is
  PyTorch's, running statistics updated as in the authors' training. So our generation equals the authors' ``test``
  on the same weights (``benchmarks/oracle_stargan.py``); PyTorch's eval mode (running statistics) would not.
* **D** (``model.py`` ``Discriminator``): ``main``: 4x4 stride-2 conv (with bias) + LeakyReLU(0.01), then
  ``repeat_num - 1`` more, doubling the width; ``conv1`` (3x3, 1 output, no bias): the PatchGAN realness map
  D_src; ``conv2`` (kernel = image size / 2**repeat_num, c_dim outputs, no bias): the auxiliary attribute
  classifier D_cls, one logit per attribute. Non-square images take (H >> repeat_num, W >> repeat_num) as kernel.
* **Losses** (``solver.py`` ``train``, CelebA): WGAN-GP: D: -mean D_src(x) + mean D_src(G(x, c')) + lambda_cls
  L_cls(D_cls(x), c) + lambda_gp GP, GP = mean((||grad D_src(x_hat)||_2 - 1)^2) at x_hat = a x + (1 - a) G(x, c'),
  a ~ U[0, 1] per sample (``gradient_penalty``: the sum of D_src's map differentiated, as their ``grad_outputs`` of
  ones; the norm as their square root of summed squares); G: -mean D_src(G(x, c')) + lambda_rec mean|x - G(G(x,
  c'), c)| + lambda_cls L_cls(D_cls(G(x, c')), c'); L_cls = binary cross-entropy with logits summed over
  attributes and samples, divided by the batch size
  (``classification_loss``). The targets c' are the batch's own attribute vectors in a random order
  (``label_trg = label_org[randperm]``). lambda_cls 1, lambda_rec 10, lambda_gp 10.
* **Schedule** (``solver.py`` / ``main.py``): one trainer step = one D update; G is updated after every
  ``n_critic``-th (5), so ``steps`` counts D iterations as their ``num_iters`` (200,000). Adam (0.5, 0.999), lr 1e-4
  for both, batch 16, random flips. The learning rate: after every ``lr_update_step``-th (1000) iteration of the
  last ``num_iters_decay`` (100,000), their solver subtracts lr0 / num_iters_decay (``lr_decay: code``, ``paper``):
  100 such steps take 1e-4 to 0.999e-4, i.e. the code's rate stays constant to 0.1 %; ``lr_decay: linear``
  subtracts lr0 * lr_update_step / num_iters_decay instead, reaching 0 at the end (the linear decay to 0 the paper's
  text describes). Both are exact here (``schedule``, the trainer's per-step hook; the subtractions repeated in
  float64 as their Python floats).
* **Initialisation**: their solver initialises nothing, so the networks keep PyTorch's default initialisation.

Not in the authors' code (off in ``paper``): ``residual`` (the ``mini``: G adds its last convolution's output to the
input's pre-tanh value, that convolution starting at zero, so G starts as the identity mapping; as cyclegan's mini)
and ``upsample: bilinear`` (off in both configs, a measured probe: bilinear resize + 3x3 conv instead of the
transposed convs; docs/stargan.md).

Input / output: images in [-1, 1]; attributes 0/1 float; a size that is not a multiple of 4 is padded to one and the
output cropped back (``cyclegan.translate``; the authors resize to ``image_size``). Deterministic: ``multimodal``
False; generated one sample at a time (InstanceNorm is per sample anyway).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from bench.checkpoints import load_state_dict
from bench.errors import BenchError
from reference_models.common import (META_PREFIX, GANModel, ReferenceGenerator, image_to_float, split_meta,
                                     str_tensor, to_uint8)
from reference_models.cyclegan import RESIDUAL_CLAMP, UPSAMPLE, _Unpaired, translate

LR_DECAYS = ("code", "linear")


# ----------------------------------------------------------------------------- networks

class InstanceNorm(nn.InstanceNorm2d):
    """``InstanceNorm2d(affine=True, track_running_stats=True)`` (the authors' layers, their state-dict entries), whose
    eval mode normalises with each image's own statistics, as the authors' ``test`` (the module left in training
    mode), and does not touch the running statistics; training mode is PyTorch's (running statistics updated)."""

    def __init__(self, num_features: int) -> None:
        super().__init__(num_features, affine=True, track_running_stats=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return super().forward(x)
        return F.instance_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)


class ResidualBlock(nn.Module):
    """x + main(x); ``main``: 3x3 conv, IN, ReLU, 3x3 conv, IN (no biases)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, bias=False), InstanceNorm(dim), nn.ReLU(True),
            nn.Conv2d(dim, dim, kernel_size=3, stride=1, padding=1, bias=False), InstanceNorm(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.main(x)


class Generator(nn.Module):
    """The authors' ``Generator(conv_dim, c_dim, repeat_num)``: ([B,3,H,W] in [-1, 1], [B, c_dim]) -> [B,3,H,W] in
    [-1, 1] for H, W multiples of 4."""

    def __init__(self, conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6, residual: bool = False,
                 upsample: str = "transpose", first_norm: bool = True) -> None:
        super().__init__()
        if c_dim < 1 or repeat_num < 0:
            raise ValueError("stargan: c_dim must be >= 1 and repeat_num >= 0")
        if upsample not in UPSAMPLE:
            raise ValueError(f"stargan upsample must be one of {', '.join(UPSAMPLE)}, not {upsample!r}")
        self.residual = bool(residual)
        # ``first_norm`` False (not in the authors' code; the mini): no InstanceNorm after the first conv. The label
        # channels are constant, so away from the zero-padded border the first conv adds a constant per channel,
        # which that InstanceNorm subtracts again: the target reaches the interior only as a per-channel affine
        # change of the norm's statistics, through the border pixels (tests/test_reference_stargan.py). Without the
        # norm the constant shifts the activations before the ReLU and so survives the later norms
        layers: list[nn.Module] = [nn.Conv2d(3 + c_dim, conv_dim, kernel_size=7, stride=1, padding=3, bias=False),
                                   InstanceNorm(conv_dim) if first_norm else nn.Identity(), nn.ReLU(True)]
        dim = conv_dim
        for _ in range(2):  # downsampling
            layers += [nn.Conv2d(dim, dim * 2, kernel_size=4, stride=2, padding=1, bias=False), InstanceNorm(dim * 2),
                       nn.ReLU(True)]
            dim *= 2
        layers += [ResidualBlock(dim) for _ in range(repeat_num)]  # bottleneck
        for _ in range(2):  # upsampling
            if upsample == "transpose":
                layers.append(nn.ConvTranspose2d(dim, dim // 2, kernel_size=4, stride=2, padding=1, bias=False))
            else:  # not in the authors' code (the mini): resize, then a 3x3 convolution (no checkerboard)
                layers += [nn.Upsample(scale_factor=2, mode="bilinear"),
                           nn.Conv2d(dim, dim // 2, kernel_size=3, stride=1, padding=1, bias=False)]
            layers += [InstanceNorm(dim // 2), nn.ReLU(True)]
            dim //= 2
        layers += [nn.Conv2d(dim, 3, kernel_size=7, stride=1, padding=3, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        c = c.to(x.dtype)[:, :, None, None].expand(-1, -1, *x.shape[2:])
        xc = torch.cat([x, c], 1)
        if not self.residual:
            return self.main(xc)
        # not in the authors' code (config ``residual``, the mini): the last conv's output is added to the input's
        # pre-tanh value; with that conv initialised to zero (``StarGANModel``) G starts as the identity mapping
        h = self.main[:-1](xc)
        return torch.tanh(h + torch.atanh(x.clamp(-RESIDUAL_CLAMP, RESIDUAL_CLAMP)))


class Discriminator(nn.Module):
    """The authors' ``Discriminator(image_size, conv_dim, c_dim, repeat_num)``: [B,3,H,W] -> (D_src [B,1,H/2^r,W/2^r],
    D_cls [B, c_dim]); ``image_size`` (H, W)."""

    def __init__(self, image_size: tuple[int, int], conv_dim: int = 64, c_dim: int = 5, repeat_num: int = 6) -> None:
        super().__init__()
        if repeat_num < 1:
            raise ValueError("stargan: d_repeat_num must be >= 1")
        kernel = (int(image_size[0]) >> repeat_num, int(image_size[1]) >> repeat_num)
        if min(kernel) < 1:
            raise ValueError(f"stargan: {image_size[0]}x{image_size[1]} images are too small for d_repeat_num "
                             f"{repeat_num} (need at least {2 ** repeat_num} pixels a side)")
        layers: list[nn.Module] = [nn.Conv2d(3, conv_dim, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.01)]
        dim = conv_dim
        for _ in range(1, repeat_num):
            layers += [nn.Conv2d(dim, dim * 2, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.01)]
            dim *= 2
        self.main = nn.Sequential(*layers)
        self.conv1 = nn.Conv2d(dim, 1, kernel_size=3, stride=1, padding=1, bias=False)
        self.conv2 = nn.Conv2d(dim, c_dim, kernel_size=kernel, bias=False)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.main(x)
        return self.conv1(h), self.conv2(h).flatten(1)


def attribute_count(cfg: Any, info: DatasetInfo) -> int:
    """c_dim: the dataset's attribute count (``task_params`` ``attributes``); a set ``c_dim`` must agree with it."""
    try:
        names = info.param("attributes")
    except KeyError:
        raise BenchError(f"stargan needs a dataset that names its attributes (task 'attribute', task_params "
                         f"'attributes'); '{info.name}' is a '{info.task}' dataset without them") from None
    n = len(names)
    if n < 1:
        raise BenchError(f"stargan: dataset '{info.name}' names no attributes")
    if cfg.c_dim is not None and int(cfg.c_dim) != n:
        raise BenchError(f"stargan config '{cfg.name}' has c_dim {cfg.c_dim}, the dataset '{info.name}' has {n} "
                         f"attributes ({', '.join(map(str, names))})")
    return n


def lr_at(step: int, total: int, base: float, decay_iters: int, update_step: int, mode: str) -> float:
    """The learning rate of iteration ``step`` (0-based) of ``total``: ``base`` lowered after every
    ``update_step``-th iteration among the last ``decay_iters``, by base / decay_iters (``code``: the authors'
    solver) or base * update_step / decay_iters (``linear``: to 0 at the end), subtracted one at a time in float64."""
    if mode not in LR_DECAYS:
        raise ValueError(f"stargan lr_decay must be one of {', '.join(LR_DECAYS)}, not {mode!r}")
    decay_iters, update_step = int(decay_iters), max(1, int(update_step))
    if decay_iters <= 0:
        return base
    # decays applied before this step: after iterations m (1-based) with m % update_step == 0, total - decay < m <= step
    n = max(0, step // update_step - max(total - decay_iters, 0) // update_step)
    delta = base / float(decay_iters) * (1 if mode == "code" else update_step)
    lr = base
    for _ in range(n):
        lr -= delta
    return max(lr, 0.0)


# ----------------------------------------------------------------------------- the model

class StarGANModel(GANModel):
    """G and D (the trainer saves both; ``generator_module`` is G)."""

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.c_dim = attribute_count(cfg, info)
        self.semantic_nc = 3 + self.c_dim  # G's input channels (recorded in the checkpoint's meta)
        if info.resolution is None:
            raise BenchError("stargan needs a dataset at a fixed resolution (its discriminator's classifier kernel "
                             "is the image size / 2**d_repeat_num)")
        if int(cfg.n_critic) < 1:
            raise ValueError("stargan: n_critic must be >= 1")
        lr_at(0, 1, 1.0, 0, 1, cfg.lr_decay)  # validates lr_decay
        self.G = Generator(int(cfg.g_conv_dim), self.c_dim, int(cfg.g_repeat_num), residual=bool(cfg.residual),
                           upsample=cfg.upsample, first_norm=bool(cfg.first_norm))
        self.D = Discriminator(tuple(info.resolution), int(cfg.d_conv_dim), self.c_dim, int(cfg.d_repeat_num))
        # PyTorch's default initialisation (the authors' solver calls no init); a residual G starts as the identity
        if cfg.residual:
            nn.init.zeros_(self.G.main[-2].weight)

    def input_keys(self) -> list[str]:
        return ["main.0.weight"]  # 3 + c_dim input channels: a wrong attribute count is reported as such

    # -- training
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def schedule(self, step: int, total: int, opts: dict[str, torch.optim.Optimizer],
                 base_lr: dict[str, list[float]]) -> None:
        """The trainer's hook before each step: the authors' stepped decay (``lr_at``)."""
        cfg = self.cfg
        for k, o in opts.items():
            for g, lr in zip(o.param_groups, base_lr[k]):
                g["lr"] = lr_at(step, total, lr, cfg.num_iters_decay, cfg.lr_update_step, cfg.lr_decay)

    @staticmethod
    def classification_loss(logit: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Binary cross-entropy with logits, summed over attributes and samples, over the batch size."""
        return F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / logit.shape[0]

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """mean((||grad_x sum D_src(x_hat)||_2 - 1)^2), x_hat = a real + (1 - a) fake, a ~ U[0, 1] per sample (one
        ``torch.rand((B, 1, 1, 1))`` draw from the global RNG, as theirs). The norm is the square root of the summed
        squares, as theirs: ``losses.gradient_penalty``'s ``norm()`` rounds differently, which Adam turned into
        weights 3e-4 apart after 12 iterations of ``benchmarks/oracle_stargan.py``; this way they are identical."""
        a = torch.rand((real.shape[0], 1, 1, 1), device=real.device, dtype=real.dtype)
        x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(self.D(x_hat)[0].sum(), x_hat, create_graph=True)
        return ((grad.flatten(1).pow(2).sum(1).sqrt() - 1) ** 2).mean()

    def discriminator_losses(self, real: torch.Tensor, fake: torch.Tensor,
                             label_org: torch.Tensor, ctx: Any) -> dict[str, torch.Tensor]:
        """D's terms (unweighted): ``D_real`` -mean D_src(real), ``D_fake`` mean D_src(fake), ``D_cls``
        L_cls(D_cls(real), label_org), ``D_gp`` the gradient penalty (float32, outside autocast)."""
        with ctx.autocast():
            src_real, cls_real = self.D(real)
            src_fake, _ = self.D(fake.detach())
        terms = {"D_real": -src_real.float().mean(), "D_fake": src_fake.float().mean(),
                 "D_cls": self.classification_loss(cls_real.float(), label_org)}
        terms["D_gp"] = self.gradient_penalty(real, fake.detach().float())
        return terms

    def generator_losses(self, real: torch.Tensor, label_org: torch.Tensor, label_trg: torch.Tensor,
                         ctx: Any) -> dict[str, torch.Tensor]:
        """G's terms (unweighted): ``G_fake`` -mean D_src(G(x, c')), ``G_rec`` mean|x - G(G(x, c'), c)|, ``G_cls``
        L_cls(D_cls(G(x, c')), c')."""
        with ctx.autocast():
            fake = self.G(real, label_trg)
            src, cls = self.D(fake)
            rec = self.G(fake, label_org)
        return {"G_fake": -src.float().mean(), "G_rec": (real - rec.float()).abs().mean(),
                "G_cls": self.classification_loss(cls.float(), label_trg)}

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        real = image_to_float(batch["source"])
        label_org = batch["source_attributes"].to(real.device, torch.float32)
        if tuple(label_org.shape) != (real.shape[0], self.c_dim):
            raise BenchError(f"stargan: source_attributes of shape {list(label_org.shape)}, expected "
                             f"{[real.shape[0], self.c_dim]}")
        label_trg = label_org[torch.randperm(label_org.shape[0]).to(real.device)]  # their targets: a shuffle
        # D (every step), on G(x, c') computed in training mode (G's running statistics move as in theirs)
        self.D.requires_grad_(True)
        with torch.no_grad(), ctx.autocast():
            fake = self.G(real, label_trg)
        d = self.discriminator_losses(real, fake, label_org, ctx)
        loss_d = d["D_real"] + d["D_fake"] + cfg.lambda_cls * d["D_cls"] + cfg.lambda_gp * d["D_gp"]
        ctx.step(opts["D"], loss_d, "D")
        logs = {k: float(v.detach()) for k, v in d.items()}
        # G after every n_critic-th D update, D frozen
        if (int(getattr(ctx, "global_step", 0)) + 1) % int(cfg.n_critic) == 0:
            self.D.requires_grad_(False)
            g = self.generator_losses(real, label_org, label_trg, ctx)
            loss_g = g["G_fake"] + cfg.lambda_rec * g["G_rec"] + cfg.lambda_cls * g["G_cls"]
            ctx.step(opts["G"], loss_g, "G")
            self.D.requires_grad_(True)
            logs.update({k: float(v.detach()) for k, v in g.items()})
        return logs

    # -- inference
    def translate(self, source: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
        """float [B,3,H,W] in [-1, 1] and target attributes [B, c_dim] -> G's image, [-1, 1] (any size)."""
        return translate(lambda x: self.G(x, attributes), source)


def official_to_ours(state: dict[str, Any]) -> dict[str, Any]:
    """The authors' ``{iters}-G.ckpt`` (a ``Generator`` state dict) keeps its names here: identity (the
    ``num_batches_tracked`` entries that files of PyTorch 0.4.0 lack and DataParallel's ``module.`` prefixes are
    handled by ``bench.checkpoints.normalize_release``, applied after this)."""
    return dict(state)


@register_method("stargan")
class StarGAN(ReferenceGenerator):
    """StarGAN (Choi et al. 2018) for the attribute task; configs ``paper`` (CelebA 128x128, the released
    ``celeba-128x128-5attrs`` network at c_dim 5) and ``mini``. Batch ``source`` uint8 [B,3,H,W] and ``attributes``
    float [B, A] (the target attributes, 0/1) -> uint8 [B,3,H,W]; deterministic, one sample at a time. Trains on items
    holding ``source`` and its own attributes ``source_attributes``."""

    method_key = "stargan"
    tasks = ("attribute",)
    meta_num_classes = False

    def _attribute_names(self) -> str:
        return ",".join(str(a) for a in self.info.param("attributes"))

    def generator_state(self) -> dict[str, torch.Tensor]:
        """Ours + the dataset's attribute names in order: a generator is only meaningful for the attributes (and the
        order) it was trained on."""
        state = super().generator_state()
        state[META_PREFIX + "attributes"] = str_tensor(self._attribute_names())
        return state

    def load(self, path: str) -> None:
        """As every reference model, plus: a checkpoint of ours trained on other attributes (or another order) is
        refused in one line (the authors' releases carry no names: their order is the CelebA card's)."""
        _, meta = split_meta(load_state_dict(path, expect=self.method_key))
        have = meta.get("attributes")
        if have is not None and have != self._attribute_names():
            raise BenchError(f"stargan checkpoint {path} was trained on the attributes {have.replace(',', ', ')}; "
                             f"the dataset '{self.info.name}' has {self._attribute_names().replace(',', ', ')}")
        super().load(path)

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return StarGANModel(cfg, info)

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        return super().train(_Attributed(dataset), out_dir=out_dir, seed=seed, steps=steps)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        missing = [k for k in ("source", "attributes") if k not in batch]
        if missing:
            raise BenchError(f"{self.method_key}: the batch has no '{missing[0]}' (keys: {', '.join(sorted(batch))})")
        source, target = batch["source"], torch.as_tensor(batch["attributes"], dtype=torch.float32)
        c_dim = self.model.c_dim
        if tuple(target.shape) != (source.shape[0], c_dim):
            raise BenchError(f"{self.method_key}: 'attributes' of shape {list(target.shape)}, expected "
                             f"{[source.shape[0], c_dim]} (one 0/1 value per attribute of the dataset)")
        outs = self._per_sample(seeds, lambda i, seed: to_uint8(self.model.translate(
            image_to_float(source[i : i + 1].to(self.device)), target[i : i + 1].to(self.device))))
        out = torch.cat(outs) if outs else torch.zeros((0, 3, *source.shape[-2:]), dtype=torch.uint8)
        res = self.info.resolution
        if tuple(out.shape[-2:]) != tuple(res):
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected {list(res)} (the source "
                             "images are not at the dataset's resolution)")
        return out


class _Attributed(_Unpaired):
    """An attribute set's items as the shared trainer collates them: ``source`` (the real image, also as ``image``),
    ``source_attributes`` (its own attributes, float32), ``attributes`` (every attribute reversed: the target the
    trainer's sample grid shows; training draws its own), ``path``, and zero label / instance maps when the set has
    none. Forwards ``resolution`` / ``at_resolution``."""

    def at_resolution(self, resolution: tuple[int, int]) -> "_Attributed":
        return _Attributed(self.dataset.at_resolution(resolution))

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.dataset[i]
        if "source" not in item or "source_attributes" not in item:
            raise BenchError("stargan trains on items holding 'source' (an image) and 'source_attributes' (its own "
                             f"attributes); this dataset's items hold {', '.join(sorted(item))}")
        attrs = torch.as_tensor(item["source_attributes"], dtype=torch.float32)
        zeros = torch.zeros((1, *item["source"].shape[-2:]), dtype=torch.int64)
        return {"source": item["source"], "image": item["source"], "source_attributes": attrs,
                "attributes": 1.0 - attrs, "label": item.get("label", zeros), "instance": item.get("instance", zeros),
                "path": item.get("path", "")}
