"""StackGAN (Zhang, Xu, Li, Zhang, Wang, Huang, Metaxas, "StackGAN: Text to Photo-realistic Image Synthesis with
Stacked Generative Adversarial Networks", ICCV 2017) for the ``text`` task, on the shared trainer.

Built as the authors' PyTorch port, hanzhanggit/StackGAN-Pytorch at commit e72ef88446e7bcd84a7b88060053edad72fecf6a
(``code/model.py``, ``code/trainer.py``, ``code/miscc/utils.py``, ``code/miscc/config.py``, ``code/miscc/datasets.py``,
``code/main.py``, ``code/cfg/coco_*.yml``; MIT; read, not copied). The classes keep their names, attribute names and
nesting (their ``cfg`` values become constructor arguments), so their generator files (``netG_epoch_*.pth``: plain
``STAGE1_G`` / ``STAGE2_G`` state dicts; the released COCO Stage-II generator ``netG_epoch_90.pth`` of
``coco_eval.yml``) load strictly; our Stage-II generator holds its Stage-I generator as ``STAGE1_G``, as theirs.

* **Conditioning augmentation** (``CA_NET``): fc (TEXT.DIMENSION -> 2 CONDITION_DIM, bias) + ReLU; mu = the first
  half, logvar = the second; c = mu + exp(logvar / 2) eps, eps ~ N(0, I) -- drawn in training *and* at test time
  (their ``reparametrize`` does not look at the mode).
* **Stage-I G** (``STAGE1_G``): [z, c] -> fc (no bias) to GF_DIM * 8 * 16 + BatchNorm1d + ReLU -> 4x4; four
  ``upBlock`` s (nearest x2, 3x3 conv without bias, BN, ReLU) halving the width; 3x3 conv to RGB, tanh: 64x64.
  Returns (None, image, mu, logvar).
* **Stage-II G** (``STAGE2_G``): the (frozen: ``requires_grad`` False) Stage-I G's image, detached; ``encoder``
  (3x3 conv, ReLU, two 4x4 stride-2 convs with BN + ReLU) to 4 GF_DIM x 16 x 16; its own ``ca_net``'s c replicated
  16x16 and concatenated; ``hr_joint`` (3x3 conv, BN, ReLU); R_NUM ``ResBlock`` s; four ``upBlock`` s; 3x3 conv,
  tanh: 256x256. Returns (Stage-I image, image, mu, logvar) with Stage-II's mu / logvar.
* **D** (``STAGE1_D``, ``STAGE2_D``): ``encode_img`` (4x4 stride-2 convs, LeakyReLU 0.2, BN from the second; Stage-II:
  six of them to 32 DF_DIM at 4x4, then two 3x3 convs back to 8 DF_DIM); ``get_cond_logits`` (``D_GET_LOGITS``: c
  replicated 4x4 and concatenated, 3x3 conv, BN, LeakyReLU, 4x4 stride-4 conv (with bias), sigmoid);
  Stage-II also ``get_uncond_logits`` (the 4x4 conv and sigmoid on the image code alone).
* **Losses** (``miscc/utils.py``): BCE on the sigmoid outputs. D is conditioned on mu (detached), not on c. D: real
  pairs -> 1, wrong pairs (real image i with the text of i+1: ``real_features[:B-1]`` with ``cond[1:]``) -> 0, fake
  pairs -> 0; errD = real + (fake + wrong) / 2 (Stage-I) or (real + uncond real) / 2 + (fake + wrong + uncond fake)
  / 3 (Stage-II). G: BCE(D(G(z, t), mu), 1) (+ the unconditional term in Stage-II) + 2.0 KL_loss(mu, logvar), KL_loss
  = mean over elements of -(1 + logvar - mu^2 - exp(logvar)) / 2. D's image codes are computed once per image batch
  (real, fake), the three conditional heads run in the order real, wrong, fake (BatchNorm statistics per run).
* **Training** (``trainer.py`` ``train``): per iteration, noise N(0, I); one G forward (training mode) whose fakes
  serve D's update (detached) and then G's (after D's Adam step); Adam (0.5, 0.999), 2e-4 for both, halved every
  LR_DECAY_EPOCH epochs (``if epoch % lr_decay_step == 0 and epoch > 0``); G's optimiser holds only the trainable
  weights (Stage-II: not Stage-I's). In Stage-II the whole G is in training mode, so the frozen Stage-I G's
  BatchNorm running statistics move with the Stage-II batches, as in theirs. Every iteration uses one caption per
  image, drawn uniformly (``TextDataset.__getitem__``); images resized to 76/64 of the size (bilinear), a random
  window and a random horizontal flip (``main.py``'s transform). Initialisation (``weights_init``): conv weights
  N(0, 0.02) (the logits conv's bias keeps PyTorch's default), BN gains N(1, 0.02) and biases 0, Linear N(0, 0.02)
  with zero biases; G built and initialised before D, as theirs.
* **Test time** (``trainer.py`` ``sample``): ``netG.eval()`` -- BatchNorm on its running statistics (Stage-I's too) --
  with the conditioning noise still drawn. Here sample i takes its z from ``per_sample_noise([seed_i], (z_dim,))``
  and its conditioning noise from seeds derived from seed_i (Stage-I's CA, then Stage-II's), one sample at a time, so
  it depends on its own seed only.

``benchmarks/oracle_stackgan.py`` runs their code on the same weights and compares (docs/stackgan.md).

Not theirs: the shared trainer's shuffled epochs (theirs: a DataLoader with ``shuffle=True``, ``drop_last``), the
76/64 enlargement of our 64x64 images (they resize the photo), ``text_scale`` (the mini multiplies the embeddings
before G and D see them; 1 in the paper configs; the mini's KL weight is 0.2, see the configs), and generation at
64x64 (Stage-I) or 256x256 (Stage-II) only: other dataset resolutions are refused.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, derive_seed, per_sample_noise, register_method
from bench.checkpoints import normalize_release, strict_load
from bench.errors import BenchError
from reference_models import stackgan_config
from reference_models.common import GANModel
from reference_models.gan_int_cls import TextGANModel, TextReferenceGenerator, draw_captions, require_resolution

stackgan_config.register()


# ----------------------------------------------------------------------------- networks (their model.py)

def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3x3 convolution with padding, no bias."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def upBlock(in_planes: int, out_planes: int) -> nn.Sequential:  # noqa: N802 - their name
    """x2 nearest-neighbour upsampling, 3x3 conv, BN, ReLU."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(in_planes, out_planes),
                         nn.BatchNorm2d(out_planes), nn.ReLU(True))


class ResBlock(nn.Module):
    """relu(x + block(x)); ``block``: 3x3 conv, BN, ReLU, 3x3 conv, BN."""

    def __init__(self, channel_num: int) -> None:
        super().__init__()
        self.block = nn.Sequential(conv3x3(channel_num, channel_num), nn.BatchNorm2d(channel_num), nn.ReLU(True),
                                   conv3x3(channel_num, channel_num), nn.BatchNorm2d(channel_num))
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.block(x) + x)


class CA_NET(nn.Module):  # noqa: N801 - their name
    """Conditioning augmentation: embedding -> (c, mu, logvar); c = mu + exp(logvar / 2) eps. ``eps`` None: drawn
    from the global RNG (theirs, every call); given: that noise (our generation, from the seeds)."""

    def __init__(self, t_dim: int = 1024, c_dim: int = 128) -> None:
        super().__init__()
        self.t_dim, self.c_dim = t_dim, c_dim
        self.fc = nn.Linear(t_dim, c_dim * 2, bias=True)
        self.relu = nn.ReLU()

    def encode(self, text_embedding: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.relu(self.fc(text_embedding))
        return x[:, :self.c_dim], x[:, self.c_dim:]

    def reparametrize(self, mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None) -> torch.Tensor:
        std = logvar.mul(0.5).exp()
        if eps is None:
            eps = torch.randn(std.shape, device=std.device, dtype=std.dtype)  # their FloatTensor(...).normal_()
        return eps.to(std.dtype) * std + mu

    def forward(self, text_embedding: torch.Tensor,
                eps: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(text_embedding)
        return self.reparametrize(mu, logvar, eps), mu, logvar


class D_GET_LOGITS(nn.Module):  # noqa: N801 - their name
    """The head of D: (image code [B, 8 ndf, 4, 4], c [B, nef]) -> probability [B]; ``bcondition`` False: the
    unconditional head (image code only)."""

    def __init__(self, ndf: int, nef: int, bcondition: bool = True) -> None:
        super().__init__()
        self.df_dim, self.ef_dim, self.bcondition = ndf, nef, bcondition
        if bcondition:
            self.outlogits = nn.Sequential(conv3x3(ndf * 8 + nef, ndf * 8), nn.BatchNorm2d(ndf * 8),
                                           nn.LeakyReLU(0.2, inplace=True),
                                           nn.Conv2d(ndf * 8, 1, kernel_size=4, stride=4), nn.Sigmoid())
        else:
            self.outlogits = nn.Sequential(nn.Conv2d(ndf * 8, 1, kernel_size=4, stride=4), nn.Sigmoid())

    def forward(self, h_code: torch.Tensor, c_code: torch.Tensor | None = None) -> torch.Tensor:
        if self.bcondition and c_code is not None:
            c_code = c_code.view(-1, self.ef_dim, 1, 1).repeat(1, 1, 4, 4)
            h_code = torch.cat((h_code, c_code), 1)
        return self.outlogits(h_code).view(-1)


class STAGE1_G(nn.Module):  # noqa: N801 - their name
    """(embedding [B, t_dim], noise [B, z_dim]) -> (None, [B, 3, 64, 64], mu, logvar)."""

    def __init__(self, gf_dim: int = 128, c_dim: int = 128, z_dim: int = 100, t_dim: int = 1024) -> None:
        super().__init__()
        self.gf_dim = gf_dim * 8  # their GAN.GF_DIM * 8
        self.ef_dim, self.z_dim = c_dim, z_dim
        ngf = self.gf_dim
        self.ca_net = CA_NET(t_dim, c_dim)
        self.fc = nn.Sequential(nn.Linear(z_dim + c_dim, ngf * 4 * 4, bias=False), nn.BatchNorm1d(ngf * 4 * 4),
                                nn.ReLU(True))
        self.upsample1 = upBlock(ngf, ngf // 2)         # 8x8
        self.upsample2 = upBlock(ngf // 2, ngf // 4)    # 16x16
        self.upsample3 = upBlock(ngf // 4, ngf // 8)    # 32x32
        self.upsample4 = upBlock(ngf // 8, ngf // 16)   # 64x64
        self.img = nn.Sequential(conv3x3(ngf // 16, 3), nn.Tanh())

    def forward(self, text_embedding: torch.Tensor, noise: torch.Tensor,
                eps: torch.Tensor | None = None) -> tuple[None, torch.Tensor, torch.Tensor, torch.Tensor]:
        c_code, mu, logvar = self.ca_net(text_embedding, eps)
        h_code = self.fc(torch.cat((noise, c_code), 1)).view(-1, self.gf_dim, 4, 4)
        h_code = self.upsample4(self.upsample3(self.upsample2(self.upsample1(h_code))))
        return None, self.img(h_code), mu, logvar


class STAGE1_D(nn.Module):  # noqa: N801 - their name
    """``encode_img``: [B, 3, 64, 64] -> [B, 8 ndf, 4, 4]; ``get_cond_logits``; no unconditional head."""

    def __init__(self, df_dim: int = 64, c_dim: int = 128) -> None:
        super().__init__()
        self.df_dim, self.ef_dim = df_dim, c_dim
        ndf = df_dim
        self.encode_img = nn.Sequential(
            nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True))
        self.get_cond_logits = D_GET_LOGITS(ndf, c_dim)
        self.get_uncond_logits = None

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.encode_img(image)


class STAGE2_G(nn.Module):  # noqa: N801 - their name
    """(embedding, noise) -> (Stage-I image [B,3,64,64], [B, 3, 256, 256], mu, logvar) on a frozen Stage-I G."""

    def __init__(self, STAGE1_G: STAGE1_G, gf_dim: int = 128, c_dim: int = 128, z_dim: int = 100,  # noqa: N803
                 t_dim: int = 1024, r_num: int = 4) -> None:
        super().__init__()
        self.gf_dim, self.ef_dim, self.z_dim = gf_dim, c_dim, z_dim
        self.STAGE1_G = STAGE1_G
        for param in self.STAGE1_G.parameters():  # their Stage-I is fixed
            param.requires_grad = False
        ngf = gf_dim
        self.ca_net = CA_NET(t_dim, c_dim)
        self.encoder = nn.Sequential(
            conv3x3(3, ngf), nn.ReLU(True),
            nn.Conv2d(ngf, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
            nn.Conv2d(ngf * 2, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True))
        self.hr_joint = nn.Sequential(conv3x3(c_dim + ngf * 4, ngf * 4), nn.BatchNorm2d(ngf * 4), nn.ReLU(True))
        self.residual = nn.Sequential(*[ResBlock(ngf * 4) for _ in range(r_num)])
        self.upsample1 = upBlock(ngf * 4, ngf * 2)      # 32x32
        self.upsample2 = upBlock(ngf * 2, ngf)          # 64x64
        self.upsample3 = upBlock(ngf, ngf // 2)         # 128x128
        self.upsample4 = upBlock(ngf // 2, ngf // 4)    # 256x256
        self.img = nn.Sequential(conv3x3(ngf // 4, 3), nn.Tanh())

    def forward(self, text_embedding: torch.Tensor, noise: torch.Tensor, eps1: torch.Tensor | None = None,
                eps2: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """``eps1`` / ``eps2``: the conditioning noise of Stage-I's / Stage-II's CA (None: drawn, in that order)."""
        _, stage1_img, _, _ = self.STAGE1_G(text_embedding, noise, eps1)
        stage1_img = stage1_img.detach()
        encoded_img = self.encoder(stage1_img)
        c_code, mu, logvar = self.ca_net(text_embedding, eps2)
        c_code = c_code.view(-1, self.ef_dim, 1, 1).repeat(1, 1, 16, 16)
        h_code = self.residual(self.hr_joint(torch.cat([encoded_img, c_code], 1)))
        h_code = self.upsample4(self.upsample3(self.upsample2(self.upsample1(h_code))))
        return stage1_img, self.img(h_code), mu, logvar


class STAGE2_D(nn.Module):  # noqa: N801 - their name
    """``encode_img``: [B, 3, 256, 256] -> [B, 8 ndf, 4, 4]; conditional and unconditional heads."""

    def __init__(self, df_dim: int = 64, c_dim: int = 128) -> None:
        super().__init__()
        self.df_dim, self.ef_dim = df_dim, c_dim
        ndf = df_dim
        layers: list[nn.Module] = [nn.Conv2d(3, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]  # 128
        for mult in (1, 2, 4, 8, 16):  # 64, 32, 16, 8, 4
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * mult * 2),
                       nn.LeakyReLU(0.2, inplace=True)]
        layers += [conv3x3(ndf * 32, ndf * 16), nn.BatchNorm2d(ndf * 16), nn.LeakyReLU(0.2, inplace=True),
                   conv3x3(ndf * 16, ndf * 8), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, inplace=True)]
        self.encode_img = nn.Sequential(*layers)
        self.get_cond_logits = D_GET_LOGITS(ndf, c_dim, bcondition=True)
        self.get_uncond_logits = D_GET_LOGITS(ndf, c_dim, bcondition=False)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.encode_img(image)


def weights_init(m: nn.Module) -> None:
    """Their ``weights_init`` (applied with ``Module.apply``), by class name as theirs."""
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find("BatchNorm") != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)
    elif classname.find("Linear") != -1:
        m.weight.data.normal_(0.0, 0.02)
        if m.bias is not None:
            m.bias.data.fill_(0.0)


# ----------------------------------------------------------------------------- losses (their miscc/utils.py)

def KL_loss(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:  # noqa: N802 - their name
    """mean over elements of -(1 + logvar - mu^2 - exp(logvar)) / 2, summed in their order (bit-equal)."""
    return ((-(mu.pow(2) + logvar.exp()) + 1) + logvar).mean() * -0.5


def compute_discriminator_loss(netD: nn.Module, real_imgs: torch.Tensor, fake_imgs: torch.Tensor,  # noqa: N803
                               conditions: torch.Tensor, ctx: Any = None) -> tuple[torch.Tensor, ...]:
    """(errD, errD_real, errD_wrong, errD_fake) as theirs (the last three as tensors, detached)."""
    b = real_imgs.shape[0]
    cond, fake = conditions.detach(), fake_imgs.detach()
    with _autocast(ctx):
        real_features = netD(real_imgs)
        fake_features = netD(fake)
        real_logits = netD.get_cond_logits(real_features, cond)
        wrong_logits = netD.get_cond_logits(real_features[:(b - 1)], cond[1:])
        fake_logits = netD.get_cond_logits(fake_features, cond)
        uncond = netD.get_uncond_logits is not None
        if uncond:
            u_real = netD.get_uncond_logits(real_features)
            u_fake = netD.get_uncond_logits(fake_features)
    ones, zeros = torch.ones(b, device=real_imgs.device), torch.zeros(b, device=real_imgs.device)
    err_real = F.binary_cross_entropy(real_logits.float(), ones)
    err_wrong = F.binary_cross_entropy(wrong_logits.float(), zeros[1:])
    err_fake = F.binary_cross_entropy(fake_logits.float(), zeros)
    if uncond:
        u_err_real = F.binary_cross_entropy(u_real.float(), ones)
        u_err_fake = F.binary_cross_entropy(u_fake.float(), zeros)
        err_d = (err_real + u_err_real) / 2. + (err_fake + err_wrong + u_err_fake) / 3.
        err_real, err_fake = (err_real + u_err_real) / 2., (err_fake + u_err_fake) / 2.
    else:
        err_d = err_real + (err_fake + err_wrong) * 0.5
    return err_d, err_real.detach(), err_wrong.detach(), err_fake.detach()


def compute_generator_loss(netD: nn.Module, fake_imgs: torch.Tensor, conditions: torch.Tensor,  # noqa: N803
                           ctx: Any = None) -> torch.Tensor:
    """BCE(D(fake, mu), 1) (+ the unconditional term)."""
    cond = conditions.detach()
    with _autocast(ctx):
        fake_features = netD(fake_imgs)
        fake_logits = netD.get_cond_logits(fake_features, cond)
        u_fake = netD.get_uncond_logits(fake_features) if netD.get_uncond_logits is not None else None
    ones = torch.ones(fake_imgs.shape[0], device=fake_imgs.device)
    err = F.binary_cross_entropy(fake_logits.float(), ones)
    if u_fake is not None:
        err = err + F.binary_cross_entropy(u_fake.float(), ones)
    return err


def _autocast(ctx: Any) -> Any:
    import contextlib

    return ctx.autocast() if ctx is not None else contextlib.nullcontext()


# ----------------------------------------------------------------------------- the model

STAGE_SIZE = {1: 64, 2: 256}


class StackGANModel(TextGANModel):
    """G (``STAGE1_G`` or ``STAGE2_G``) and D (``STAGE1_D`` or ``STAGE2_D``), built and initialised in that order."""

    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__(cfg, info, "stackgan")
        stage = int(cfg.stage)
        if stage not in STAGE_SIZE:
            raise ValueError(f"stackgan: stage must be 1 or 2, not {cfg.stage!r}")
        self.stage = stage
        require_resolution("stackgan", cfg, info, STAGE_SIZE[stage], f"stage {stage}")
        if int(cfg.batch_size) < 2:
            raise BenchError("stackgan: batch_size must be >= 2 (the wrong pairs are the batch's images with the "
                             "next image's text)")
        if int(cfg.lr_decay_epoch) < 1:
            raise ValueError("stackgan: lr_decay_epoch must be >= 1")
        dims = dict(c_dim=int(cfg.condition_dim), z_dim=int(cfg.z_dim), t_dim=self.text_dim)
        stage1 = STAGE1_G(int(cfg.gf_dim), **dims)
        if stage == 1:
            self.G: nn.Module = stage1
        else:
            self.G = STAGE2_G(stage1, int(cfg.gf_dim), r_num=int(cfg.r_num), **dims)
        self.G.apply(weights_init)
        self.D = (STAGE1_D if stage == 1 else STAGE2_D)(int(cfg.df_dim), int(cfg.condition_dim))
        self.D.apply(weights_init)

    def text_key(self) -> str:
        return "ca_net.fc.weight"

    def lr_factor(self, epoch: int) -> float:
        """Their loop: halved at the start of every epoch with ``epoch % LR_DECAY_EPOCH == 0 and epoch > 0``."""
        return 0.5 ** (epoch // int(self.cfg.lr_decay_epoch))

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        g_params = [p for p in self.G.parameters() if p.requires_grad]  # Stage-II: not the fixed Stage-I
        return {"G": torch.optim.Adam(g_params, lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        self.set_lr(opts, ctx)
        real = self.real_images(batch)
        emb = draw_captions(batch["embeddings"].float(), batch.get("caption_count"), 1)  # one caption per image
        return self.step_on(real, self.scale_text(emb.to(real.device)), opts, ctx)

    def step_on(self, real_imgs: torch.Tensor, txt_embedding: torch.Tensor, opts: dict[str, torch.optim.Optimizer],
                ctx: Any) -> dict[str, float]:
        """One iteration of their ``train`` loop on prepared images ([-1, 1]) and embeddings."""
        noise = torch.randn((real_imgs.shape[0], int(self.cfg.z_dim)), device=real_imgs.device)
        with ctx.autocast():
            _, fake_imgs, mu, logvar = self.G(txt_embedding, noise)
        # D
        self.D.requires_grad_(True)
        err_d, err_real, err_wrong, err_fake = compute_discriminator_loss(self.D, real_imgs, fake_imgs, mu, ctx)
        ctx.step(opts["D"], err_d, "D")
        # G, on the same fakes, through the updated D (D's weights get no gradient; it stays in training mode)
        self.D.requires_grad_(False)
        err_g = compute_generator_loss(self.D, fake_imgs, mu, ctx)
        kl = KL_loss(mu.float(), logvar.float())
        ctx.step(opts["G"], err_g + kl * float(self.cfg.coeff_kl), "G")
        self.D.requires_grad_(True)
        return {"D": float(err_d.detach()), "D_real": float(err_real), "D_wrong": float(err_wrong),
                "D_fake": float(err_fake), "G": float(err_g.detach()), "KL": float(kl.detach())}

    def generate_one(self, emb: torch.Tensor, seed: int) -> torch.Tensor:
        """Their ``sample`` (eval mode, CA noise drawn) with z and both CA noises from ``seed``."""
        c = int(self.cfg.condition_dim)
        emb = self.scale_text(emb)
        z = per_sample_noise([seed], (int(self.cfg.z_dim),), emb.device)
        eps1 = per_sample_noise([derive_seed(seed, "stackgan-ca", 1)], (c,), emb.device)
        if self.stage == 1:
            return self.G(emb, z, eps1)[1]
        eps2 = per_sample_noise([derive_seed(seed, "stackgan-ca", 2)], (c,), emb.device)
        return self.G(emb, z, eps1, eps2)[1]


def official_to_ours(state: dict[str, Any]) -> dict[str, Any]:
    """Their ``netG_epoch_*.pth`` (a ``STAGE1_G`` / ``STAGE2_G`` state dict) keeps its names here: identity (the
    ``num_batches_tracked`` entries their PyTorch of 2017 did not write and DataParallel's ``module.`` prefixes are
    handled by ``bench.checkpoints.normalize_release``, applied after this)."""
    return dict(state)


@register_method("stackgan")
class StackGAN(TextReferenceGenerator):
    """StackGAN (Zhang et al. 2017), the authors' PyTorch port, for the text task: configs ``paper`` / ``paper-stage1``
    (Stage-I, 64x64), ``paper-stage2`` (256x256 on a trained ``paper-stage1``; ``paper`` on CUB, Oxford-102),
    ``coco-stage1`` / ``coco-stage2`` (their COCO configs, ``paper`` on coco-captions; the
    released COCO generator is a ``coco-stage2`` one) and ``mini`` (Stage-I). Batch ``embedding`` float32 [B, D] ->
    uint8 [B,3,H,W]; multimodal (z and the conditioning noise from the seeds)."""

    method_key = "stackgan"

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return StackGANModel(cfg, info)

    @classmethod
    def default_checkpoint(cls, dataset: str, config: str | None) -> str | None:
        hint = ("; the authors' COCO Stage-II generator (hanzhanggit/StackGAN-Pytorch README, Google Drive: "
                "netG_epoch_90.pth) is a 'coco-stage2' generator for 1024-d char-CNN-RNN embeddings"
                if config == "coco-stage2" else "")
        raise BenchError(f"stackgan (config '{config or cls.default_config}') has no registered weights for "
                         f"'{dataset}': pass --checkpoint FILE or --train{hint}")

    _init_train_flags = " --resolution 64"

    def stage1_path(self) -> str | None:
        """The file ``stage1_g`` names (``init_weights_path``): a trained Stage-I run of ours, or a path."""
        init = self.cfg.stage1_g
        if not init:
            return None
        return self.init_weights_path(str(init), "stage1_g", "(Stage-II) is built on a trained Stage-I generator: the")

    def reinitialize(self, seed: int) -> None:
        """Initial weights from ``seed``; Stage-II then loads its Stage-I generator (``stage1_g``), every key
        required with its shape (their ``load_network_stageII``: ``netG.STAGE1_G.load_state_dict``)."""
        super().reinitialize(seed)
        if self.model.stage != 2:
            return
        path = self.stage1_path()
        if path is None:
            raise BenchError(f"stackgan config '{self.config}' trains Stage-II: set stage1_g to a Stage-I generator "
                             "(their 'Please give the Stage1_G path')")
        what = f"Stage-I generator {path}"
        state = self.load_part_state(path, what)
        part = self.model.G.STAGE1_G
        strict_load(part, normalize_release(part, official_to_ours(state)), what)
