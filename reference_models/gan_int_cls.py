"""GAN-INT-CLS (Reed, Akata, Yan, Logeswaran, Schiele, Lee, "Generative Adversarial Text to Image Synthesis", ICML
2016) for the ``text`` task, on the shared trainer; and what the text-to-image methods share (this module and
``reference_models.stackgan``): the training items, the loaders' augmentation, the adapter.

No PyTorch code of the authors exists: this is built from a reading of their Lua Torch code, reedscot/icml2016 at
commit db3f0c6d7c9ef3ef138cb15bf36592c7e19eb9a0 (``main_cls_int.lua``, ``data/donkey_folder_txt.lua``,
``txt2img_demo.lua``, ``scripts/train_{cub,flowers}.sh``; read, not copied). Parity is by construction; what was
checked against that reading (tests/test_reference_text2image.py):

* **G** (``netG``): the text embedding through ``fcG`` = Linear(txtSize, nt) + LeakyReLU(0.2), concatenated after the
  noise (nz, standard normal; their JoinTable of the [B, nz, 1, 1] noise and the [B, nt] features), then
  SpatialFullConvolution(nz + nt, 8 ngf, 4) + BatchNorm (no ReLU) -> a residual block (identity + [1x1 conv to
  2 ngf, BN, ReLU, 3x3 conv, BN, ReLU, 3x3 conv to 8 ngf, BN]) -> ReLU; 4x4 stride-2 full conv to 4 ngf + BN -> a
  residual block (1x1 to ngf ... back to 4 ngf) -> ReLU; full convs to 2 ngf, ngf (BN + ReLU each) and 3 channels,
  tanh: 4 -> 8 -> 16 -> 32 -> 64 pixels. Layer for layer, in our ``Sequential`` s; the shapes are tested.
* **D** (``netD``): 4x4 stride-2 convs 3 -> ndf (LeakyReLU 0.2, no BN) -> 2 ndf (BN, LeakyReLU) -> 4 ndf (BN, *no
  activation*) -> 8 ndf (BN, no activation), a residual block (1x1 to 2 ndf, BN, LeakyReLU, 3x3, BN, LeakyReLU, 3x3
  to 8 ndf, BN) and LeakyReLU: [B, 8 ndf, 4, 4]. The embedding through ``fcD`` = Linear(txtSize, nt) +
  BatchNormalization + LeakyReLU(0.2), replicated over the 4x4 positions and concatenated after the image features;
  1x1 conv to 8 ndf + BN + LeakyReLU; 4x4 conv to one value; sigmoid. The two missing activations are in their code
  (the paper's figure does not go to that detail): kept.
* **Biases**: their ``fDx`` / ``fGx`` zero the bias of every (full) convolution before each forward, so no
  convolution has one here (``bias=False``: the same outputs); the Linear layers keep theirs.
* **Initialisation** (``weights_init``): convolutions N(0, 0.02), BatchNorm gains N(1, 0.02) and biases 0; the
  Linear layers keep Torch's default, uniform +-1/sqrt(fan_in) for weights and biases, which is PyTorch's default.
* **Losses** (``fDx``, ``fGx``; BCECriterion = -mean(t log(p + 1e-12) + (1 - t) log(1 - p + 1e-12)), their eps):
  D: BCE(D(x, t), 1) + cls_weight BCE(D(x_wrong, t), 0) + (1 - cls_weight) BCE(D(G(z, t), t), 0), three separate
  forwards (BatchNorm statistics per forward), cls_weight 0.5 (``errD = errD_real + (errD_wrong + errD_fake) / 2``),
  the fakes made by G in training mode without gradient. The wrong image is another training image (theirs: a random
  image of another class; our sets have no classes), augmented as the real one. G (after D's Adam step): a batch of
  3B/2 -- the B captions t and B/2 interpolations (t_i + t_{i+B/2}) / 2 (``interp_type`` 1: beta 0.5), fresh noise
  -- judged by D with the same texts: mean over the 3B/2 of w_i * -log(D + 1e-12), w 1 for the B and
  ``interp_weight`` (1.0) for the interpolations (Torch's weighted BCECriterion divides by the element count, not by
  the weights' sum). The losses equal a hand computation (test).
* **Text** (``donkey_folder_txt.lua`` ``sample_no_repl``, ``replicate`` 0 in the training scripts): each image's text
  is the mean of ``num_captions`` (4) embeddings drawn uniformly, with replacement, from its captions, every step.
* **Data**: images scaled to 76x76 (our 64x64 images enlarged), a random 64x64 window, a random horizontal flip,
  [-1, 1] (``trainHook``); wrong images likewise.
* **Schedule**: Adam (beta1 0.5, their optim.adam's beta2 0.999 and eps 1e-8) at 2e-4 for both, batch 64, 600 epochs
  (``niter``), both rates multiplied by 0.5 at the start of every 100th epoch (1-based: epochs 100, 200, ...). One
  trainer step = one D update then one G update, as their loop. Torch's optim.adam adds eps to sqrt(v) before the
  bias correction (PyTorch: after), i.e. its eps is 1e-8 / sqrt(1 - 0.999^t): not reproduced (it matters only
  for gradients below ~1e-7).
* **Test time** (``txt2img_demo.lua``): ``net_gen:evaluate()``: BatchNorm on its running statistics; noise N(0, 1).
  Here the noise of sample i is ``per_sample_noise([seed_i], (nz,))`` and samples are generated one at a time.

Not theirs: the loader's sampling (images in shuffled epochs by the shared trainer instead of a random class then a
random file per sample), the wrong image's choice (no classes), the 76x76 enlargement of a 64x64 image (they scale
the photo), ``text_scale`` (the minis multiply the embeddings before G and D see them; 1 in ``paper``), and their
released networks (Torch7 ``.t7`` files) are not loadable. Only 64x64 (their fineSize).

Shared text-task conventions: items carry ``image`` uint8 [3,H,W], ``embeddings`` float32 [C,D] (every caption of
the image) and the evaluation caption ``embedding`` [D]; the adapter reads ``batch["embedding"]`` [B, D] (D: the
card's ``task_params.embedding_dim``), returns uint8 [B,3,H,W] at the dataset's resolution, sample i from its
embedding and ``seeds[i]`` only.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, per_sample_noise, register_method
from bench.checkpoints import load_state_dict
from bench.errors import BenchError
from reference_models import stackgan_config
from reference_models.common import GANModel, ReferenceGenerator, image_to_float, split_meta, to_uint8

stackgan_config.register()

TORCH7_BCE_EPS = 1e-12  # nn.BCECriterion's eps (log(p + eps), log(1 - p + eps))
JITTER_LOAD = 76 / 64   # both loaders: resize to 76/64 of the training size, then a random window of that size


# ----------------------------------------------------------------------------- shared by the text methods

def text_dim(cfg: Any, info: DatasetInfo, method: str) -> int:
    """D: the dataset's sentence-embedding size (``task_params.embedding_dim``); a set ``text_dim`` must agree."""
    try:
        d = int(info.param("embedding_dim"))
    except KeyError:
        raise BenchError(f"{method} needs a text dataset (task 'text', task_params 'embedding_dim'); "
                         f"'{info.name}' is a '{info.task}' dataset") from None
    if d <= 0:
        raise BenchError(f"{method}: dataset '{info.name}' has embedding_dim {d}")
    if cfg.text_dim is not None and int(cfg.text_dim) != d:
        raise BenchError(f"{method} config '{cfg.name}' has text_dim {cfg.text_dim}, the dataset '{info.name}' has "
                         f"{d}-dimensional sentence embeddings")
    return d


def require_resolution(method: str, cfg: Any, info: DatasetInfo, size: int, what: str) -> None:
    """A one-line refusal when the dataset is not at ``size`` x ``size`` (these generators have one output size)."""
    res = tuple(info.resolution) if info.resolution is not None else None
    if res != (size, size):
        at = f"{res[0]}x{res[1]}" if res else "each image's own size"
        raise BenchError(f"{method} config '{cfg.name}' ({what}) generates {size}x{size} images; dataset "
                         f"'{info.name}' is at {at} here (pass --resolution {size})")


def jitter(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B,3,H,W] -> float [-1, 1], as the authors' loaders: resized (bilinear) to 76/64 of the size, a random
    H x W window, a random horizontal flip; every draw from the global RNG (the trainer seeds it per step)."""
    x = image_to_float(images)
    b, _, h, w = x.shape
    lh, lw = round(h * JITTER_LOAD), round(w * JITTER_LOAD)
    big = F.interpolate(x, size=(lh, lw), mode="bilinear", align_corners=False)
    ys = torch.randint(0, lh - h + 1, (b,)).tolist()
    xs = torch.randint(0, lw - w + 1, (b,)).tolist()
    flip = (torch.rand(b) < 0.5).tolist()
    out = []
    for i in range(b):
        crop = big[i, :, ys[i]:ys[i] + h, xs[i]:xs[i] + w]
        out.append(crop.flip(-1) if flip[i] else crop)
    return torch.stack(out)


def draw_captions(embeddings: torch.Tensor, counts: torch.Tensor | None, k: int) -> torch.Tensor:
    """[B, C, D] -> [B, D]: the mean of ``k`` captions of each image drawn uniformly with replacement (global RNG);
    ``counts`` [B]: how many of the C rows are real captions (the rest padding)."""
    b, c, _ = embeddings.shape
    n = counts.to(embeddings.device) if counts is not None else torch.full((b,), c, device=embeddings.device)
    idx = (torch.rand((b, k)).to(embeddings.device) * n[:, None]).long().clamp(max=c - 1)
    picked = torch.gather(embeddings, 1, idx[:, :, None].expand(-1, -1, embeddings.shape[2]))
    return picked.mean(1)


class Captioned:
    """A text set's items as the shared trainer collates them: ``image``, ``embeddings`` [C_max, D] (zero-padded;
    ``caption_count`` says how many are real), ``embedding`` (the evaluation caption, for the sample grid),
    ``index``, ``path`` and the label / instance maps (zeros when the set has none; the trainer's sample grid shows
    them). Small sets are held in memory (decoded once)."""

    MEMORY_LIMIT = 2 << 30  # bytes of images held in memory at most

    def __init__(self, dataset: Any) -> None:
        self.dataset = dataset
        for k in ("num_classes", "has_instances", "palette", "card", "split", "resolution"):
            if hasattr(dataset, k):
                setattr(self, k, getattr(dataset, k))
        self.n = len(dataset)
        first = self._check(dataset[0]) if self.n else None
        self.items: list[dict[str, Any]] | None = None
        if first is not None and self.n * first["image"].numel() <= self.MEMORY_LIMIT:
            self.items = [first] + [self._check(dataset[i]) for i in range(1, self.n)]
            self.max_captions = max(int(it["embeddings"].shape[0]) for it in self.items)
        else:
            self.max_captions = int(first["embeddings"].shape[0]) if first is not None else 1

    @staticmethod
    def _check(item: dict[str, Any]) -> dict[str, Any]:
        missing = [k for k in ("image", "embeddings") if k not in item]
        if missing:
            raise BenchError(f"the text methods train on items holding 'image' and 'embeddings' (every caption's "
                             f"embedding); this dataset's items hold {', '.join(sorted(item))}")
        emb = torch.as_tensor(item["embeddings"], dtype=torch.float32)
        if emb.ndim != 2 or emb.shape[0] < 1:
            raise BenchError(f"an item's 'embeddings' must be [C, D] with C >= 1 captions, got {list(emb.shape)}")
        return {**item, "embeddings": emb}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, Any]:
        item = self.items[i] if self.items is not None else self._check(self.dataset[i])
        emb = item["embeddings"]
        c = int(emb.shape[0])
        if c > self.max_captions:
            raise BenchError(f"item {i} has {c} captions, the first item {self.max_captions}: a set held on disk "
                             "must have the same caption count for every image")
        if c < self.max_captions:
            emb = torch.cat([emb, emb.new_zeros((self.max_captions - c, emb.shape[1]))])
        image = item["image"]
        zeros = torch.zeros((1, *image.shape[-2:]), dtype=torch.int64)
        return {"image": image, "embeddings": emb, "caption_count": torch.tensor(c),
                "embedding": torch.as_tensor(item.get("embedding", item["embeddings"][0]), dtype=torch.float32),
                "index": torch.tensor(i), "label": item.get("label", zeros), "instance": item.get("instance", zeros),
                "path": item.get("path", str(i))}


class TextGANModel(GANModel):
    """What the text models share: the dataset's embedding size, the training pool (for wrong images), the step
    decay of both learning rates by epochs (set in ``train_step``, where the trainer's epoch length is known)."""

    multimodal = True

    def __init__(self, cfg: Any, info: DatasetInfo, method: str) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.text_dim = text_dim(cfg, info, method)
        self.semantic_nc = self.text_dim  # recorded in the checkpoint's meta
        self.pool: Any = None  # the training items (``Captioned``), set by the adapter's ``train``

    def text_key(self) -> str:
        """The generator weight whose second dimension is the embedding size."""
        raise NotImplementedError

    def scale_text(self, emb: torch.Tensor) -> torch.Tensor:
        """The embeddings as G and D see them: times ``text_scale`` (1 in the papers' configs; see the configs)."""
        scale = float(self.cfg.text_scale)
        return emb if scale == 1.0 else emb * scale

    def lr_factor(self, epoch: int) -> float:
        raise NotImplementedError

    def schedule(self, step: int, total: int, opts: dict[str, torch.optim.Optimizer],
                 base_lr: dict[str, list[float]]) -> None:
        """The trainer's hook: nothing (its linear decay is not these methods'); ``set_lr`` in ``train_step``."""

    def set_lr(self, opts: dict[str, torch.optim.Optimizer], ctx: Any) -> None:
        epoch = int(getattr(ctx, "global_step", 0)) // max(1, int(getattr(ctx, "steps_per_epoch", 1)))
        factor = self.lr_factor(epoch)
        for k, o in opts.items():
            base = self.cfg.lr_g if k == "G" else self.cfg.lr_d
            for g in o.param_groups:
                g["lr"] = base * factor

    def real_images(self, batch: dict[str, Any]) -> torch.Tensor:
        return jitter(batch["image"]).to(batch["image"].device) if self.cfg.jitter else image_to_float(batch["image"])


class TextReferenceGenerator(ReferenceGenerator):
    """The adapter of the text methods: batch ``embedding`` float32 [B, D] -> uint8 [B,3,H,W]; sample i from
    ``embedding[i]`` and ``seeds[i]`` only, generated one at a time in eval mode. Trains on text items
    (``Captioned``)."""

    tasks = ("text",)
    multimodal = True
    meta_num_classes = False

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        raise BenchError(f"{cls.method_key} (config '{config or cls.default_config}') has no released weights for "
                         f"'{dataset}': pass --checkpoint FILE or --train")

    def load(self, path: str) -> None:
        """As every reference model, plus a one-line refusal of weights made for another embedding size."""
        state, meta = split_meta(load_state_dict(path, expect=self.method_key))
        key, d = self.model.text_key(), self.model.text_dim
        have = meta.get("semantic_nc") if meta else None
        if have is None:
            w = state.get(key, state.get("module." + key))
            have = int(w.shape[1]) if w is not None and w.dim() == 2 else None
        if have is not None and int(have) != d:
            raise BenchError(f"{self.method_key} checkpoint {path} was trained on {have}-dimensional sentence "
                             f"embeddings; the dataset '{self.info.name}' has {d}-dimensional ones")
        super().load(path)

    def train(self, dataset: Any, *, out_dir: str, seed: int, steps: int | None = None) -> str:
        data = dataset if isinstance(dataset, Captioned) else Captioned(dataset)
        if len(data) < 2:
            raise BenchError(f"{self.method_key} needs at least 2 training images (got {len(data)})")
        self.model.pool = data
        return super().train(data, out_dir=out_dir, seed=seed, steps=steps)

    @torch.no_grad()
    def generate(self, batch: dict[str, Any], *, seeds: Sequence[int]) -> torch.Tensor:
        if "embedding" not in batch:
            raise BenchError(f"{self.method_key}: the batch has no 'embedding' (keys: {', '.join(sorted(batch))})")
        emb = torch.as_tensor(batch["embedding"], dtype=torch.float32)
        d = self.model.text_dim
        if emb.ndim != 2 or emb.shape[1] != d or emb.shape[0] != len(seeds):
            raise BenchError(f"{self.method_key}: 'embedding' of shape {list(emb.shape)}, expected "
                             f"{[len(seeds), d]} (one {d}-d sentence embedding per sample)")
        outs = self._per_sample(seeds, lambda i, seed: to_uint8(self.model.generate_one(
            emb[i:i + 1].to(self.device), seed)))
        res = tuple(self.info.resolution)
        out = torch.cat(outs) if outs else torch.zeros((0, 3, *res), dtype=torch.uint8)
        if tuple(out.shape[-2:]) != res:
            raise BenchError(f"{self.method_key}: generated {list(out.shape[-2:])}, expected {list(res)}")
        return out


def torch7_bce(p: torch.Tensor, target: float, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Torch7's ``nn.BCECriterion`` (size-averaged, optionally weighted): -mean(w (t log(p + eps) + (1 - t)
    log(1 - p + eps))), eps 1e-12, divided by the element count (not by the weights' sum)."""
    p = p.float()
    loss = -(target * torch.log(p + TORCH7_BCE_EPS) + (1 - target) * torch.log(1 - p + TORCH7_BCE_EPS))
    if weights is not None:
        loss = loss * weights
    return loss.mean()


# ----------------------------------------------------------------------------- networks

class Residual(nn.Module):
    """Their ConcatTable(Identity, conv) + CAddTable: x + block(x); ``block``: 1x1 conv to ``mid``, BN, act, 3x3 conv,
    BN, act, 3x3 conv back to ``dim``, BN (no biases). The activation after the sum is the caller's next layer."""

    def __init__(self, dim: int, mid: int, act: type[nn.Module], slope: float | None = None) -> None:
        super().__init__()

        def a() -> nn.Module:
            return act(slope, True) if slope is not None else act(True)

        self.block = nn.Sequential(
            nn.Conv2d(dim, mid, 1, 1, 0, bias=False), nn.BatchNorm2d(mid), a(),
            nn.Conv2d(mid, mid, 3, 1, 1, bias=False), nn.BatchNorm2d(mid), a(),
            nn.Conv2d(mid, dim, 3, 1, 1, bias=False), nn.BatchNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class Generator(nn.Module):
    """Their ``netG``: (z [B, nz], t [B, txt]) -> [B, 3, 64, 64] in [-1, 1]."""

    def __init__(self, text_dim: int = 1024, nt: int = 128, nz: int = 100, ngf: int = 128) -> None:
        super().__init__()
        self.fc = nn.Sequential(nn.Linear(text_dim, nt), nn.LeakyReLU(0.2, True))  # their fcG
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz + nt, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8),  # 4x4
            Residual(ngf * 8, ngf * 2, nn.ReLU), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4),  # 8x8
            Residual(ngf * 4, ngf, nn.ReLU), nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),  # 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),  # 32
            nn.ConvTranspose2d(ngf, 3, 4, 2, 1, bias=False), nn.Tanh())  # 64x64

    def forward(self, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = torch.cat([z, self.fc(t)], 1)  # their JoinTable(2): noise first
        return self.main(h[:, :, None, None])


class Discriminator(nn.Module):
    """Their ``netD``: ([B, 3, 64, 64], t [B, txt]) -> the probability [B] that the image is real and matches t."""

    def __init__(self, text_dim: int = 1024, nt: int = 128, ndf: int = 64) -> None:
        super().__init__()
        self.nt = nt
        self.conv = nn.Sequential(  # their convD
            nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),  # 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),  # 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4),  # 8 (no activation: theirs)
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8),  # 4
            Residual(ndf * 8, ndf * 2, nn.LeakyReLU, 0.2), nn.LeakyReLU(0.2, True))
        self.fc = nn.Sequential(nn.Linear(text_dim, nt), nn.BatchNorm1d(nt), nn.LeakyReLU(0.2, True))  # their fcD
        self.out = nn.Sequential(
            nn.Conv2d(ndf * 8 + nt, ndf * 8, 1, 1, 0, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid())

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        h = self.conv(x)
        e = self.fc(t)[:, :, None, None].expand(-1, -1, *h.shape[-2:])  # their Replicate(4, 3), Replicate(4, 4)
        return self.out(torch.cat([h, e], 1)).view(-1)


def weights_init(module: nn.Module) -> None:
    """Their ``weights_init``: (full) convolutions N(0, 0.02); BatchNorm gains N(1, 0.02), biases 0; Linear layers
    keep the default (Torch's and PyTorch's: uniform +-1/sqrt(fan_in))."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


# ----------------------------------------------------------------------------- the model

class GANINTCLSModel(TextGANModel):
    """G and D (the trainer saves both; ``generator_module`` is G)."""

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info, "gan-int-cls")
        require_resolution("gan-int-cls", cfg, info, 64, "their fineSize")
        if int(cfg.batch_size) % 2:
            raise BenchError(f"gan-int-cls config '{cfg.name}': batch_size must be even (G's interpolations pair "
                             f"the batch's halves), got {cfg.batch_size}")
        if not 0.0 <= float(cfg.cls_weight) <= 1.0:
            raise ValueError("gan-int-cls: cls_weight must be in [0, 1]")
        if int(cfg.num_captions) < 1 or int(cfg.decay_every) < 1:
            raise ValueError("gan-int-cls: num_captions and decay_every must be >= 1")
        self.G = Generator(self.text_dim, int(cfg.nt), int(cfg.nz), int(cfg.ngf))
        weights_init(self.G)
        self.D = Discriminator(self.text_dim, int(cfg.nt), int(cfg.ndf))
        weights_init(self.D)

    def text_key(self) -> str:
        return "fc.0.weight"

    def lr_factor(self, epoch: int) -> float:
        """Their loop: ``if epoch % decay_every == 0`` (1-based epochs) multiply by lr_decay, before the epoch."""
        return float(self.cfg.lr_decay) ** ((epoch + 1) // int(self.cfg.decay_every))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        return {"G": torch.optim.Adam(self.G.parameters(), lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    @staticmethod
    def interpolate(t: torch.Tensor) -> torch.Tensor:
        """[B, D] -> [3B/2, D]: the captions, then (t_i + t_{i+B/2}) / 2 for the first half (``interp_type`` 1)."""
        h = t.shape[0] // 2
        return torch.cat([t, (t[:h] + t[h:2 * h]) * 0.5])

    def discriminator_losses(self, real: torch.Tensor, wrong: torch.Tensor, fake: torch.Tensor,
                             t: torch.Tensor, ctx: Any) -> dict[str, torch.Tensor]:
        """``D_real``, ``D_wrong`` and ``D_fake``, each weighted as in ``fDx`` (their sum is D's loss)."""
        w = float(self.cfg.cls_weight)
        with ctx.autocast():
            p_real = self.D(real, t)
            p_wrong = self.D(wrong, t) if w > 0 else None
            p_fake = self.D(fake.detach(), t)
        terms = {"D_real": torch7_bce(p_real, 1.0), "D_fake": (1 - w) * torch7_bce(p_fake, 0.0)}
        terms["D_wrong"] = w * torch7_bce(p_wrong, 0.0) if p_wrong is not None else p_real.new_zeros(())
        return terms

    def generator_loss(self, t_interp: torch.Tensor, b: int, ctx: Any) -> torch.Tensor:
        """``fGx``: fresh noise for the 3B/2 texts, D's verdict with the same texts, weighted BCE towards real."""
        z = torch.randn((t_interp.shape[0], int(self.cfg.nz)), device=t_interp.device)
        with ctx.autocast():
            p = self.D(self.G(z, t_interp), t_interp)
        w = torch.ones(t_interp.shape[0], device=p.device)
        w[b:] = float(self.cfg.interp_weight)
        return torch7_bce(p, 1.0, w)

    def wrong_images(self, batch: dict[str, Any]) -> torch.Tensor:
        """uint8 images of other training items than the batch's (one each, drawn uniformly), or the batch's own
        ``wrong_image`` when it brings them (tests)."""
        if "wrong_image" in batch:
            return batch["wrong_image"]
        if self.pool is None or "index" not in batch:
            raise BenchError("gan-int-cls trains through its adapter's train() (the wrong images are drawn from the "
                             "training set it holds)")
        n = len(self.pool)
        idx = batch["index"].cpu().long()
        other = (idx + torch.randint(1, n, idx.shape)) % n
        return torch.stack([self.pool[int(j)]["image"] for j in other]).to(batch["image"].device)

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        cfg = self.cfg
        self.set_lr(opts, ctx)
        real = self.real_images(batch)
        wrong_u8 = self.wrong_images(batch)
        wrong = jitter(wrong_u8).to(real.device) if cfg.jitter else image_to_float(wrong_u8)
        t = draw_captions(batch["embeddings"].float(), batch.get("caption_count"), int(cfg.num_captions))
        return self.step_on(real, wrong, self.scale_text(t.to(real.device)), opts, ctx)

    def step_on(self, real: torch.Tensor, wrong: torch.Tensor, t: torch.Tensor,
                opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        """One iteration of their loop on prepared images ([-1, 1]) and texts: ``fDx`` + Adam, ``fGx`` + Adam."""
        b = real.shape[0]
        if b % 2:
            raise BenchError(f"gan-int-cls: a batch of {b} (must be even)")
        self.D.requires_grad_(True)
        with torch.no_grad(), ctx.autocast():  # G in training mode (its statistics move), no gradient
            fake = self.G(torch.randn((b, int(self.cfg.nz)), device=real.device), t)
        d = self.discriminator_losses(real, wrong, fake.float(), t, ctx)
        ctx.step(opts["D"], d["D_real"] + d["D_wrong"] + d["D_fake"], "D")
        self.D.requires_grad_(False)  # only G's weights step; D still runs in training mode, as theirs
        loss_g = self.generator_loss(self.interpolate(t), b, ctx)
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        logs = {k: float(v.detach()) for k, v in d.items()}
        logs["G"] = float(loss_g.detach())
        return logs

    def generate_one(self, emb: torch.Tensor, seed: int) -> torch.Tensor:
        z = per_sample_noise([seed], (int(self.cfg.nz),), emb.device)
        return self.G(z, self.scale_text(emb))


@register_method("gan-int-cls")
class GANINTCLS(TextReferenceGenerator):
    """GAN-INT-CLS (Reed et al. 2016) for the text task: configs ``paper`` (their CUB / Oxford-102 training runs)
    and ``mini``. Batch ``embedding`` float32 [B, D] -> uint8 [B,3,64,64]; multimodal (noise from the seeds)."""

    method_key = "gan-int-cls"

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return GANINTCLSModel(cfg, info)
