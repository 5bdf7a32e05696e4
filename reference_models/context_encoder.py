"""Context encoders (Pathak et al. 2016, arXiv 1604.07379) for the ``inpainting`` task, on the shared trainer.

Architecture (the inpainting networks of the authors' released Torch code, pathak22/context-encoder ``train.lua``
/ ``train_random.lua``, read, not copied; layer for layer, widths from the config):

* encoder: 4x4 stride-2 convolutions (padding 1) until the map is about 4x4 (128x128: five, widths nef, nef,
  2nef, 4nef, 8nef, as the 128 variant; 64x64: four), BatchNorm on all but the first, LeakyReLU 0.2;
* bottleneck, config ``bottleneck``:
  ``fc``: a convolution over the whole 4x4 map to ``n_bottleneck`` x 1 x 1 (the released inpainting code: 4000
  units, ``nBottleneck=4000`` in its README's training command; the paper's section 5.1 likewise describes the
  inpainting network as a DCGAN-like encoder / decoder with a 4000-unit bottleneck), then BatchNorm and LeakyReLU,
  and a transposed convolution back to 4x4;
  ``channelwise``: the paper's channel-wise fully-connected layer (section 3.1: each of the m feature maps of n x n
  fully connected to itself, m n^4 weights, no weights across maps), followed by a stride-1 (1x1) convolution that
  mixes the channels, BatchNorm and ReLU. The paper introduces it for its AlexNet-based feature-learning encoder
  (pool5, 6x6x256) so that information crosses the whole map without a 100M-weight fully-connected layer; the
  released inpainting code does not use it. ``paper`` uses ``fc`` (what produced the released inpainting models);
  the ``mini`` uses ``channelwise``: on its 4x4x128 map it costs 33k weights instead of the 2 x 8M of a 4000-unit
  ``fc`` bottleneck, and it keeps the 4x4 layout the decoder starts from;
* decoder: 4x4 stride-2 transposed convolutions (BatchNorm, ReLU; Tanh last) up to the predicted region;
* discriminator: the DCGAN discriminator of ``train.lua`` (not conditioned on the context, as the paper's
  section 3.2 explains) on the predicted region, sigmoid / binary cross-entropy.

Every convolution is bias-free: the released code zeroes every convolution bias before each update.

What is predicted (config ``output``; ``auto`` picks by the card's mask kind):
``center`` (the ``center`` mask): the square around the hole, widened by ``overlap`` pixels on each side (the
authors' ``overlapPred`` 4). The authors hide a 56x56 square and predict the 64x64 around it; the benchmark's
centre protocol hides the whole 64x64 (the paper's setting), so here the prediction is the 72x72 around it: the
same 4-pixel band of known context, where the L2 loss weighs 10x (``overlapL2Weight``). The discriminator sees
this predicted square, as in ``train.lua``.
``full`` (every other mask): the whole image, as ``train_random.lua``; L2 on the hole and, 10x, on the known
pixels within ``overlap`` pixels of it (the paper's eq. 1 masks the loss to the hole; the band is the code's
overlap term). The discriminator sees the completed image (known pixels + prediction in the hole): the authors fit
the known pixels too (L2 over the whole output) and show D the raw output; here nothing fits them, so D is shown
what the benchmark scores.

Joint loss (``train.lua`` with ``0 < wtl2 < 1``): G minimises ``wtl2 * L2 + (1 - wtl2) * adversarial`` with wtl2
0.999, L2 the weighted squared error averaged over the predicted region's values; D minimises BCE(real) +
BCE(fake). Adam (beta1 0.5); the released code gives G ten times D's learning rate when 0 < wtl2 < 1 (lr 2e-4:
G 2e-3, D 2e-4), which ``paper`` keeps.

Input: the masked image in [-1, 1] with the hole filled with the authors' mean colour (117, 104, 123)/255 (their
``real_ctx[...] = 2*117.0/255.0 - 1.0`` ...), plus the mask as a 4th channel when ``mask_input`` (off in
``paper``, as the authors'; on in the ``mini``, whose box moves from image to image). Training masks are drawn
from the card's own mask protocol with a fresh seed per sample and step (from the trainer's per-step RNG, so a
resumed run draws the same masks).

Output: the known pixels of the input, unchanged, and the prediction (rounded to uint8) inside the hole.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from bench.errors import BenchError
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, to_uint8
from reference_models.losses import gan_loss

MEAN_FILL = (117.0, 104.0, 123.0)  # train.lua's hole colour (0..255)
OUTPUTS = ("auto", "center", "full")
BOTTLENECKS = ("fc", "channelwise")


def halvings(size: tuple[int, int]) -> tuple[int, list[tuple[int, int]]]:
    """How many 4x4 / stride 2 / padding 1 convolutions bring ``size`` down to about 4 (each maps n to n // 2,
    stopping before the shorter side drops below 4), and the sizes along the way (input first)."""
    sizes = [tuple(size)]
    while min(sizes[-1]) // 2 >= 4:
        h, w = sizes[-1]
        sizes.append((h // 2, w // 2))
    return len(sizes) - 1, sizes


def _widths(base: int, k: int) -> list[int]:
    """Widths of k stride-2 layers of a DCGAN-style stack ending at 8 x base: (.., base, base, 2base, 4base, 8base)."""
    return ([base] * max(0, k - 4) + [base, base * 2, base * 4, base * 8])[-k:] if k else []


def init_weights(module: nn.Module) -> None:
    """train.lua's ``weights_init``: convolutions N(0, 0.02), BatchNorm gains N(1, 0.02) and biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, ChannelwiseFC):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def _down(in_ch: int, widths: list[int]) -> tuple[list[nn.Module], int]:
    """train.lua's downsampling stack, shared by the encoder and netD: 4x4 stride-2 convolutions, BatchNorm on all
    but the first, LeakyReLU 0.2; the layers and the last width."""
    layers: list[nn.Module] = []
    prev = in_ch
    for i, width in enumerate(widths):
        layers.append(nn.Conv2d(prev, width, 4, 2, 1, bias=False))
        if i:
            layers.append(nn.BatchNorm2d(width))
        layers.append(nn.LeakyReLU(0.2, True))
        prev = width
    return layers, prev


class ChannelwiseFC(nn.Module):
    """The paper's channel-wise fully-connected layer: channel c of the output map (``out_size``) is a linear map
    of channel c of the input map (``in_size``) only; weights [C, in_h*in_w, out_h*out_w], no bias."""

    def __init__(self, channels: int, in_size: tuple[int, int], out_size: tuple[int, int]) -> None:
        super().__init__()
        self.out_size = tuple(out_size)
        self.weight = nn.Parameter(torch.empty(channels, in_size[0] * in_size[1], out_size[0] * out_size[1]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c = x.shape[:2]
        y = torch.einsum("bci,cio->bco", x.reshape(b, c, -1), self.weight)
        return y.reshape(b, c, *self.out_size)


class EncoderDecoder(nn.Module):
    """Encoder -> bottleneck -> decoder: [B, in_ch, H, W] in [-1, 1] -> [B, 3, *out_size] in [-1, 1]."""

    def __init__(self, in_ch: int, in_size: tuple[int, int], out_size: tuple[int, int], nef: int, ngf: int,
                 bottleneck: str, n_bottleneck: int) -> None:
        super().__init__()
        k_enc, enc_sizes = halvings(in_size)
        k_dec, dec_sizes = halvings(out_size)
        if k_enc < 1 or k_dec < 1:
            raise ValueError(f"context encoder: {in_size} -> {out_size} is too small (each side needs >= 8 pixels)")
        layers, prev = _down(in_ch, _widths(nef, k_enc))
        self.encoder = nn.Sequential(*layers)
        enc_out, start = enc_sizes[-1], dec_sizes[-1]
        mids = ([ngf * 4, ngf * 2, ngf] + [ngf] * max(0, k_dec - 4))[: k_dec - 1]
        if bottleneck == "fc":
            top = ngf * 8
            self.bottleneck = nn.Sequential(
                nn.Conv2d(prev, n_bottleneck, enc_out, bias=False), nn.BatchNorm2d(n_bottleneck),
                nn.LeakyReLU(0.2, True),
                nn.ConvTranspose2d(n_bottleneck, top, start, bias=False), nn.BatchNorm2d(top), nn.ReLU(True))
        elif bottleneck == "channelwise":
            top = prev
            self.bottleneck = nn.Sequential(ChannelwiseFC(prev, enc_out, start), nn.Conv2d(prev, prev, 1, bias=False),
                                            nn.BatchNorm2d(prev), nn.ReLU(True))
        else:
            raise ValueError(f"bottleneck must be one of {', '.join(BOTTLENECKS)}, not {bottleneck!r}")
        # up-convolutions retrace the halvings of the output size (n -> 2n, or 2n + 1 for odd sizes)
        self.up = nn.ModuleList()
        prev = top
        targets = list(reversed(dec_sizes[:-1]))
        for i, size in enumerate(targets):
            last = i == len(targets) - 1
            width = 3 if last else mids[i]
            self.up.append(nn.ConvTranspose2d(prev, width, 4, 2, 1, bias=False))
            prev = width
        self.norms = nn.ModuleList(nn.BatchNorm2d(w) for w in mids)
        self.targets = targets

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bottleneck(self.encoder(x))
        for i, (up, size) in enumerate(zip(self.up, self.targets)):
            y = up(y, output_size=list(size))
            y = torch.tanh(y) if i == len(self.up) - 1 else F.relu(self.norms[i](y))
        return y


class Discriminator(nn.Module):
    """train.lua's netD (context-free): 4x4 stride-2 convolutions (BatchNorm but on the first, LeakyReLU 0.2) down
    to about 4x4, then one convolution over the whole map to a logit."""

    def __init__(self, size: tuple[int, int], ndf: int) -> None:
        super().__init__()
        k, sizes = halvings(size)
        layers, prev = _down(3, _widths(ndf, k))
        layers.append(nn.Conv2d(prev, 1, sizes[-1], bias=False))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x).reshape(-1)


def mask_params(info: DatasetInfo) -> dict[str, Any]:
    """The dataset's mask protocol (``box`` 0.5 when the info names none, e.g. a bare DatasetInfo in a test)."""
    from bench.tasks import get_task

    given = dict(info.task_params) if info.task == "inpainting" else {}
    return get_task("inpainting").resolve_params(given or None, f"dataset '{info.name}'", tuple(info.resolution))


class ContextEncoderModel(GANModel):
    """G (encoder-decoder) and D of one dataset's geometry: the predicted region follows from its mask protocol."""

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.masks = mask_params(info)
        h, w = (int(s) for s in info.resolution)
        output = cfg.output
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, not {output!r}")
        if output == "auto":
            output = "center" if self.masks["mask"] == "center" else "full"
        if output == "center" and self.masks["mask"] != "center":
            raise BenchError(f"context-encoder: output 'center' needs the center mask; {info.name} uses "
                             f"'{self.masks['mask']}' (use output 'full' or 'auto')")
        self.output = output
        if output == "center":
            from bench.masks import center_box

            top, left, bh, bw = center_box((h, w), self.masks["hole"])
            o = int(cfg.overlap)
            t, lft = max(0, top - o), max(0, left - o)
            self.region = (t, lft, min(h, top + bh + o) - t, min(w, left + bw + o) - lft)
        else:
            self.region = (0, 0, h, w)
        self.semantic_nc = 3 + int(bool(cfg.mask_input))  # input channels (recorded in the checkpoint's meta)
        out_size = self.region[2:]
        self.G = EncoderDecoder(self.semantic_nc, (h, w), out_size, int(cfg.nef), int(cfg.ngf), cfg.bottleneck,
                           int(cfg.n_bottleneck))
        self.D = Discriminator(out_size, int(cfg.ndf))
        init_weights(self.G)
        init_weights(self.D)

    def input_keys(self) -> list[str]:
        return ["encoder.0.weight"]

    # -- inputs and outputs
    def context(self, image: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """The network input: image [B,3,H,W] in [-1, 1], hole bool [B,1,H,W] -> the hole in the mean colour (+ the
        mask channel)."""
        fill = torch.tensor([2 * c / 255.0 - 1.0 for c in MEAN_FILL], device=image.device).view(1, 3, 1, 1)
        x = torch.where(hole, fill, image)
        if self.cfg.mask_input:
            x = torch.cat([x, hole.to(x.dtype)], 1)
        return x

    def crop(self, x: torch.Tensor) -> torch.Tensor:
        t, left, rh, rw = self.region
        return x[..., t : t + rh, left : left + rw]

    def paste(self, pred: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """The predicted region placed in an image of ``like``'s size (zeros elsewhere)."""
        if self.output == "full":
            return pred
        out = torch.zeros_like(like)
        t, left, rh, rw = self.region
        out[..., t : t + rh, left : left + rw] = pred
        return out

    def loss_weights(self, hole: torch.Tensor) -> torch.Tensor:
        """[B,1,h,w] L2 weights over the predicted region: 1 in the hole, ``overlap_weight`` on the known pixels
        within ``overlap`` pixels of it (Chebyshev distance), 0 elsewhere."""
        o = int(self.cfg.overlap)
        holef = hole.to(torch.float32)
        near = F.max_pool2d(holef, 2 * o + 1, 1, o) if o > 0 else holef
        w = holef + (near - holef) * float(self.cfg.overlap_weight)
        return self.crop(w)

    def train_masks(self, b: int, size: tuple[int, int], device: torch.device) -> torch.Tensor:
        """Masks of the card's protocol for one training batch, each from a seed drawn from the global RNG."""
        from bench.masks import mask_for

        params = dict(self.masks)
        rows = []
        for i in range(b):
            if "seed" in params:
                params["seed"] = int(torch.randint(0, 2**32 - 1, (1,)))
            rows.append(torch.from_numpy(mask_for(params, f"train-{i}", size).copy()))
        return torch.stack(rows)[:, None].to(device)

    # -- training
    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        real = image_to_float(batch["image"])
        hole = self.train_masks(real.shape[0], tuple(real.shape[-2:]), real.device)
        wtl2 = float(self.cfg.wtl2)
        with ctx.autocast():
            pred = self.G(self.context(real, hole))
        real_region = self.crop(real)

        def shown(p: torch.Tensor) -> torch.Tensor:  # what D judges (see the module doc)
            return torch.where(hole, p, real) if self.output == "full" else p

        self.D.requires_grad_(True)
        with ctx.autocast():
            d_real = gan_loss(self.D(real_region).float(), True, "vanilla")
            d_fake = gan_loss(self.D(shown(pred.detach())).float(), False, "vanilla")
            loss_d = d_real + d_fake
        ctx.step(opts["D"], loss_d, "D")
        self.D.requires_grad_(False)
        with ctx.autocast():
            g_adv = gan_loss(self.D(shown(pred)).float(), True, "vanilla", for_discriminator=False)
            g_l2 = (self.loss_weights(hole) * (pred.float() - real_region) ** 2).mean()
            loss_g = wtl2 * g_l2 + (1.0 - wtl2) * g_adv
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        return {"G_L2": float(g_l2.detach()), "G_GAN": float(g_adv.detach()), "D_real": float(d_real.detach()),
                "D_fake": float(d_fake.detach())}

    # -- inference
    def complete(self, masked_u8: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
        """uint8 [B,3,H,W] with the hole zeroed, bool [B,1,H,W] -> uint8: known pixels unchanged, the prediction in
        the hole."""
        if self.output == "center":
            t, left, rh, rw = self.region
            inside = torch.zeros_like(hole)
            inside[..., t : t + rh, left : left + rw] = True
            if bool((hole & ~inside).any()):
                raise BenchError("context-encoder: this checkpoint predicts the centre square only, and a mask reaches "
                                 "outside it (was it trained for another mask protocol?)")
        pred = self.G(self.context(image_to_float(masked_u8), hole))
        full = to_uint8(self.paste(pred, image_to_float(masked_u8)))
        return torch.where(hole.cpu(), full, masked_u8.cpu())


@register_method("context-encoder")
class ContextEncoder(ReferenceGenerator):
    """Context encoders (Pathak et al. 2016) for the inpainting task; configs ``paper`` and ``mini``. Batch
    ``masked_image`` uint8 [B,3,H,W] + ``mask`` bool [B,1,H,W] -> uint8 [B,3,H,W]; deterministic (no noise, as the
    paper found best), generated one sample at a time in eval mode (BatchNorm on its running statistics)."""

    method_key = "context-encoder"
    tasks = ("inpainting",)
    meta_num_classes = False

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return ContextEncoderModel(cfg, info)

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        # the authors' release (paris_inpaintCenter.t7, imagenet_inpaintCenter.t7) is a Torch7 file: not loadable
        raise BenchError(f"{cls.method_key} (config '{config or cls.default_config}') has no loadable released "
                         "weights (the authors' are Torch7 .t7 files): pass --checkpoint FILE or --train")

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        return super().train(_Images(dataset), out_dir=out_dir, seed=seed, steps=steps)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        if "masked_image" not in batch:  # the trainer's sample grid passes dataset batches: pose the task on them
            batch = self._task_batch(batch)
        masked, hole = batch["masked_image"], batch["mask"].to(torch.bool)
        outs = self._per_sample(seeds, lambda i, seed: self.model.complete(masked[i : i + 1].to(self.device),
                                                                         hole[i : i + 1].to(self.device)))
        out = torch.cat(outs) if outs else torch.zeros((0, 3, *self.info.resolution), dtype=torch.uint8)
        if tuple(out.shape[-2:]) != tuple(self.info.resolution):
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected "
                             f"{list(self.info.resolution)}")
        return out

    def _task_batch(self, batch: dict[str, Any]) -> dict[str, Any]:
        from pathlib import PurePath

        from bench.tasks.inpainting import make_batch

        keys = [PurePath(p).stem for p in batch["path"]]
        return make_batch(batch, self.model.masks, keys)


class _Images:
    """A dataset's items as the shared trainer collates them: image and path, and zero label / instance maps when
    the dataset has none (an inpainting card need not have label maps)."""

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        for k in ("num_classes", "has_instances", "palette", "card"):
            if hasattr(dataset, k):
                setattr(self, k, getattr(dataset, k))

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.dataset[i]
        zeros = torch.zeros((1, *item["image"].shape[-2:]), dtype=torch.int64)
        return {"image": item["image"], "label": item.get("label", zeros), "instance": item.get("instance", zeros),
                "path": item.get("path", "")}


__all__ = ["ChannelwiseFC", "ContextEncoder", "ContextEncoderModel", "Discriminator", "EncoderDecoder", "halvings"]
