"""ECGAN (Tang et al., "Edge Guided GANs with Contrastive Learning for Semantic Image Synthesis", ICLR 2023,
arXiv 2003.13898): a SPADE generator whose last features feed an edge branch and an image branch joined by the
attention guided edge transfer, a semantic preserving module producing the final image, a multi-modality
discriminator judging (label, image), (label, final image) and (label, edge) pairs, plus the paper's similarity
loss (a frozen segmentation network on the generated image) and pixel-wise / class-wise contrastive losses.

Written from the authors' released code (Ha0Tang/ECGAN, commit 4fcb0cc "initial submission"; its ``models/`` were
deleted in e5e6edb) and the paper; nothing of theirs is copied (CC BY-NC-SA). The generator has the attribute
names and nesting of their ``SPADEGenerator`` (``models/networks/generator.py``), so its state dict loads strictly
(``tests/fixtures/reference_models/ecgan/``, ``benchmarks/oracle_ecgan.py``):

* ``fc``, ``head_0``, ``G_middle_0/1``, ``up_0..3`` (``up_4``): SPADE's trunk (``reference_models.spade``); its
  output ``x`` (ngf channels at full resolution) is the features every branch reads;
* edge branch ``conv_edge1..4`` (ngf -> 32 -> 16 -> 8 -> 3, 3x3, each after a LeakyReLU 0.2): edge map
  ``tanh(e4)``; image branch ``conv_img1..4`` (same widths);
* attention guided edge transfer: after each of the first three image convolutions ``f_i <- f_i * sigmoid(e_i) +
  f_i`` with ``e_i`` the edge branch's output at the same depth; the intermediate image is ``t * sigmoid(edge) +
  t`` with ``t = tanh(img4)`` (so it spans [-2, 2], as in the code);
* semantic preserving module: ``c = conv_comb1(lrelu([x, image, edge, onehot]))`` with one channel per class (the
  authors' ``label_nc``), ``c <- c + c * sigmoid(avgpool(c))``, ``conv_comb2`` back to the concatenation's width,
  ``conv_comb`` to 3 channels, tanh: the final image (what ``generate`` returns, the authors' ``synthesized_image2``).
  ``fc1`` (a ``label_nc x label_nc`` Linear) exists in their module but is never called: it is kept (unused) so
  their files load.

Training, as their ``pix2pix_model.py``: hinge GAN terms of the image, the edge and the final image (weights 1, 1,
2; ``branch_weights``), feature matching (10) and VGG (10) with the same weights, the edge target being the
Canny edge map of the real photo (``canny_edges``: their ``scripts/canny.m``, deterministic), the discriminator
(SPADE's two-scale PatchGAN, spectral instance norm) shared by the three pairs, TTUR Adam (G 1e-4, D 4e-4,
betas (0, 0.9)). Added from the paper (the released code has neither): ``lambda_sim`` times the cross-entropy of a
frozen segmenter (``seg_net``, a bench segmenter) on the final image against the input label, and
``lambda_contrast`` / ``lambda_contrast_class`` times the pixel-wise / class-wise InfoNCE losses of the trunk's
L2-normalised pixel embeddings (``pixel_contrastive_loss`` / ``class_contrastive_loss``; optionally through a 1x1
projection head ``P``, config ``contrast_head``, trained with G and kept out of the generator file). See
docs/ecgan.md for every code-vs-paper difference.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from bench.adapter import DatasetInfo, register_method
from reference_models.common import GANModel, ReferenceGenerator, image_to_float
from reference_models.discriminators import MultiscaleDiscriminatorSPADE
from reference_models.losses import feature_matching, gan_loss
from reference_models.spade import _init_xavier, add_trunk_blocks, latent_size, trunk_forward


# ----------------------------------------------------------------------------- the edge target (scripts/canny.m)

_GAUSS = ((2, 4, 5, 4, 2), (4, 9, 12, 9, 4), (5, 12, 15, 12, 5), (4, 9, 12, 9, 4), (2, 4, 5, 4, 2))
_SOBEL_X = ((-1, 0, 1), (-2, 0, 2), (-1, 0, 1))
_SOBEL_Y = ((1, 2, 1), (0, 0, 0), (-1, -2, -1))
RGB2GRAY = (0.298936021293775, 0.587043074451121, 0.114020904255103)  # MATLAB rgb2gray
T_LOW, T_HIGH = 0.075, 0.175


def _conv2_same(x: torch.Tensor, kernel: tuple[tuple[float, ...], ...], scale: float = 1.0) -> torch.Tensor:
    """MATLAB ``conv2(x, k, 'same')`` of [B, H, W] maps: a true convolution (kernel flipped), zero padding, summed
    in a fixed order (bit-identical from run to run)."""
    kh, kw = len(kernel), len(kernel[0])
    ph, pw = kh // 2, kw // 2
    h, w = x.shape[-2:]
    xp = F.pad(x, (pw, pw, ph, ph))
    out = torch.zeros_like(x)
    for a in range(kh):
        for b in range(kw):
            k = kernel[kh - 1 - a][kw - 1 - b] * scale
            if k:
                out = out + k * xp[..., a:a + h, b:b + w]
    return out


def canny_edges(image: torch.Tensor) -> torch.Tensor:
    """The authors' edge maps (``scripts/canny.m`` of the release): uint8 RGB [B, 3, H, W] -> float {0, 1} [B, 1, H, W].

    Grey (rgb2gray, rounded to uint8), 5x5 Gaussian (/159), Sobel x / y (``conv2 'same'``: zero padding), gradient
    direction rounded to 0 / 45 / 90 / 135 degrees, non-maximum suppression on the interior pixels (a pixel is kept
    when it equals the maximum of itself and its two neighbours along the direction), then a single-pass hysteresis:
    above 0.175 * max -> edge; between 0.075 * max and 0.175 * max -> edge when one of its 8 neighbours is above
    0.175 * max. Float64, fixed summation order: deterministic. A flat image (max 0, where the script would index
    outside the image) has no edges. The script's final ``imresize`` to 256x512 is a dataset-resolution step and is
    not applied: edges are computed at the training resolution.
    """
    if image.dim() != 4 or image.shape[1] != 3:
        raise ValueError(f"canny_edges expects uint8 [B, 3, H, W], got {tuple(image.shape)}")
    x = image.to(torch.float64)
    grey = torch.floor(RGB2GRAY[0] * x[:, 0] + RGB2GRAY[1] * x[:, 1] + RGB2GRAY[2] * x[:, 2] + 0.5)
    a = _conv2_same(grey, _GAUSS, 1.0 / 159.0)
    gx = _conv2_same(a, _SOBEL_X)
    gy = _conv2_same(a, _SOBEL_Y)
    ang = torch.rad2deg(torch.atan2(gy, gx))
    ang = torch.where(ang < 0, ang + 360.0, ang)

    def within(lo: float, hi: float) -> torch.Tensor:
        return (ang >= lo) & (ang < hi)

    d0 = within(0, 22.5) | within(157.5, 202.5) | ((ang >= 337.5) & (ang <= 360))
    d45 = within(22.5, 67.5) | within(202.5, 247.5)
    d90 = within(67.5, 112.5) | within(247.5, 292.5)
    d135 = within(112.5, 157.5) | within(292.5, 337.5)
    mag = torch.sqrt(gx * gx + gy * gy)
    b, h, w = mag.shape
    bw = torch.zeros_like(mag)
    if h >= 3 and w >= 3:
        c = mag[:, 1:-1, 1:-1]

        def nb(di: int, dj: int) -> torch.Tensor:  # the neighbour (i + di, j + dj) of every interior pixel
            return mag[:, 1 + di:h - 1 + di, 1 + dj:w - 1 + dj]

        keep = torch.zeros_like(c, dtype=torch.bool)
        for mask, (p, q) in ((d0, ((0, 1), (0, -1))), (d45, ((1, -1), (-1, 1))), (d90, ((1, 0), (-1, 0))),
                             (d135, ((1, 1), (-1, -1)))):
            peak = c == torch.maximum(c, torch.maximum(nb(*p), nb(*q)))
            keep |= mask[:, 1:-1, 1:-1] & peak
        bw[:, 1:-1, 1:-1] = torch.where(keep, c, torch.zeros_like(c))
    top = bw.flatten(1).max(1).values.view(b, 1, 1)
    lo, hi = T_LOW * top, T_HIGH * top
    strong = bw > hi
    near_strong = F.max_pool2d(strong.to(torch.float32).unsqueeze(1), 3, stride=1, padding=1).squeeze(1) > 0
    # a pixel's own value is not above hi in the middle band, so the 3x3 max is the 8-neighbourhood's
    edge = strong | ((bw >= lo) & near_strong)
    edge &= top > 0
    return edge.to(torch.float32).unsqueeze(1)


def edge_target(image: torch.Tensor) -> torch.Tensor:
    """The edge generator's target: the Canny map as the authors load it (PNG 0/255 -> RGB -> [-1, 1]), [B, 3, H, W]."""
    return (canny_edges(image) * 2 - 1).expand(-1, 3, -1, -1).contiguous()


# ----------------------------------------------------------------------------- contrastive losses

def pixel_contrastive_loss(emb: torch.Tensor, labels: torch.Tensor, tau: float) -> torch.Tensor:
    """Supervised pixel-wise InfoNCE over a set of L2-normalised embeddings [M, D] with classes [M]: for anchor a,
    positives P_a (the other embeddings of its class) and negatives N_a (every other class),

        L_a = 1/|P_a| sum_{p in P_a} -log( exp(a.p/tau) / (exp(a.p/tau) + sum_{n in N_a} exp(a.n/tau)) ),

    averaged over the anchors having at least one positive and one negative (0 when there is none)."""
    sim = emb @ emb.t() / tau
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=emb.device)
    pos = same & ~eye
    neg = ~same
    valid = pos.any(1) & neg.any(1)
    if not bool(valid.any()):
        return emb.sum() * 0.0
    sim, pos, neg = sim[valid], pos[valid], neg[valid]
    lse_neg = torch.logsumexp(sim.masked_fill(~neg, float("-inf")), dim=1, keepdim=True)
    terms = torch.logaddexp(sim, lse_neg) - sim  # -log(e^s / (e^s + sum_n e^s_n)) for every (anchor, candidate)
    per_anchor = (terms * pos).sum(1) / pos.sum(1)
    return per_anchor.mean()


def class_centers(emb: torch.Tensor, labels: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(centers [K, D], classes [K]): the L2-normalised mean embedding of each class present (masked average
    pooling over every pixel of the batch), classes in increasing order."""
    onehot = F.one_hot(labels, num_classes).to(emb.dtype)  # [M, C]
    counts = onehot.sum(0)
    present = torch.nonzero(counts > 0).flatten()
    sums = onehot.t() @ emb  # [C, D]
    centers = sums[present] / counts[present, None]
    return F.normalize(centers, dim=1), present


def class_contrastive_loss(emb: torch.Tensor, labels: torch.Tensor, num_classes: int, tau: float,
                           anchors: torch.Tensor | None = None) -> torch.Tensor:
    """Class-wise InfoNCE: embeddings (L2-normalised, [M, D]; the rows ``anchors``, default all) against the centers
    of the classes present (``class_centers`` of all M rows), their own class's center the positive:
    L = mean_m -log( exp(z_m.c_{y_m}/tau) / sum_k exp(z_m.c_k/tau) ) (0 with a single class)."""
    centers, present = class_centers(emb, labels, num_classes)
    lut = torch.full((num_classes,), -1, dtype=torch.long, device=labels.device)
    lut[present] = torch.arange(len(present), device=labels.device)
    if anchors is not None:
        emb, labels = emb[anchors], labels[anchors]
    return F.cross_entropy(emb @ centers.t() / tau, lut[labels])


def contrastive_losses(feat: torch.Tensor, label: torch.Tensor, num_classes: int, per_class: int,
                       tau: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(pixel-wise, class-wise) losses of the features [B, D, H, W] under the label map [B, 1, H, W], across the
    whole batch (pixels of several layouts contrast with each other). The pixel-wise loss uses up to ``per_class``
    anchors of each class drawn uniformly (the global RNG: the trainer seeds it per step); the class-wise loss uses
    every labelled pixel (B*H*W x classes logits: 39M for 4 images of 256x256 with 150 classes). Pixels whose id is
    outside 0..num_classes-1 are left out."""
    b, d, h, w = feat.shape
    if tuple(label.shape[-2:]) != (h, w):
        label = F.interpolate(label.float(), size=(h, w), mode="nearest").long()
    emb = F.normalize(feat if feat.dtype == torch.float64 else feat.float(), dim=1).permute(0, 2, 3, 1).reshape(-1, d)
    lab = label.reshape(-1).long()
    ok = (lab >= 0) & (lab < num_classes)
    emb, lab = emb[ok], lab[ok]
    if lab.numel() == 0:
        zero = feat.sum() * 0.0
        return zero, zero
    picks = []
    for k in torch.unique(lab).tolist():
        idx = torch.nonzero(lab == k).flatten()
        if len(idx) > per_class:
            idx = idx[torch.randperm(len(idx), device=idx.device)[:per_class]]
        picks.append(idx)
    sel = torch.cat(picks)
    return pixel_contrastive_loss(emb[sel], lab[sel], tau), class_contrastive_loss(emb, lab, num_classes, tau)


# ----------------------------------------------------------------------------- the generator

class ECGANGenerator(nn.Module):
    """The authors' ``SPADEGenerator`` of ECGAN (without the VAE path, unused by ECGAN): forward(seg) ->
    (image, final image, edge), plus the trunk features with ``features=True``."""

    def __init__(self, semantic_nc: int, label_nc: int, resolution: tuple[int, int], ngf: int = 64,
                 norm_g: str = "spectralspadesyncbatch3x3", num_upsampling_layers: str = "normal",
                 nhidden: int = 128) -> None:
        super().__init__()
        nf = ngf
        self.mode = num_upsampling_layers
        self.sh, self.sw = latent_size(resolution, num_upsampling_layers, "ECGAN")
        self.fc = nn.Conv2d(semantic_nc, 16 * nf, 3, padding=1)
        self.final_nc = final_nc = add_trunk_blocks(self, semantic_nc, nf, norm_g, nhidden, num_upsampling_layers)
        conv = lambda i, o: nn.Conv2d(i, o, 3, padding=1)  # noqa: E731
        self.conv_img1, self.conv_img2, self.conv_img3, self.conv_img4 = (
            conv(final_nc, 32), conv(32, 16), conv(16, 8), conv(8, 3))
        self.conv_edge1, self.conv_edge2, self.conv_edge3, self.conv_edge4 = (
            conv(final_nc, 32), conv(32, 16), conv(16, 8), conv(8, 3))
        comb_nc = final_nc + 3 + 3 + semantic_nc
        self.conv_comb = conv(comb_nc, 3)
        self.conv_comb1 = conv(comb_nc, label_nc)
        self.conv_comb2 = conv(label_nc, comb_nc)
        self.fc1 = nn.Linear(label_nc, label_nc)  # created but never called by the authors' forward
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.up = nn.Upsample(scale_factor=2)

    def trunk(self, seg: torch.Tensor) -> torch.Tensor:
        return trunk_forward(self, self.fc(F.interpolate(seg, size=(self.sh, self.sw))), seg)

    def forward(self, seg: torch.Tensor, features: bool = False):
        x = self.trunk(seg)
        act = lambda t: F.leaky_relu(t, 0.2)  # noqa: E731
        # edge branch, and the image branch guided by its attention after each of the first three convolutions
        e1 = self.conv_edge1(act(x))
        e2 = self.conv_edge2(act(e1))
        e3 = self.conv_edge3(act(e2))
        i1 = self.conv_img1(act(x))
        i1 = i1 * torch.sigmoid(e1) + i1
        i2 = self.conv_img2(act(i1))
        i2 = i2 * torch.sigmoid(e2) + i2
        i3 = self.conv_img3(act(i2))
        i3 = i3 * torch.sigmoid(e3) + i3
        edge = torch.tanh(self.conv_edge4(act(e3)))
        image = torch.tanh(self.conv_img4(act(i3)))
        image = image * torch.sigmoid(edge) + image
        # semantic preserving module
        comb = torch.cat([x, image, edge, seg], 1)
        cls = self.conv_comb1(act(comb))
        gamma = torch.sigmoid(self.avg_pool(cls))
        cls = cls + cls * gamma
        final = torch.tanh(self.conv_comb(act(self.conv_comb2(act(cls)))))
        if features:
            return image, final, edge, x
        return image, final, edge


# ----------------------------------------------------------------------------- the similarity loss's segmenter

class _FrozenSegmenter:
    """A bench segmenter used as a frozen, differentiable function (kept out of the model's state dict)."""

    def __init__(self, name: str, dataset: str) -> None:
        import numpy as np

        from bench.data.cards import load_card
        from bench.segmenters import get_segmenter

        self.seg = get_segmenter(name)
        self.seg.net.eval()
        for p in self.seg.net.parameters():
            p.requires_grad_(False)
        card = load_card(dataset)
        self.lut = torch.from_numpy(np.asarray(card.segmenter_lut(), dtype=np.int64))
        self.ignore = int(card.ignore_index)
        if int(card.segmenter_num_classes) != int(self.seg.num_classes):
            raise ValueError(f"segmenter '{name}' predicts {self.seg.num_classes} classes, the card of '{dataset}' "
                             f"evaluates {card.segmenter_num_classes}")
        self.status = f"enabled: {name} (weights sha256 {str(self.seg.weights_sha256)[:16]}...)"

    def loss(self, image: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """Cross-entropy of the segmenter's logits on ``image`` ([-1, 1]) against the label map (generator ids)."""
        dev = image.device
        if next(self.seg.net.parameters()).device != dev:
            self.seg.net.to(dev)
            self.seg.device = dev
        x = self.seg.preprocess((image.float() + 1) * 127.5)
        logits = self.seg.forward_logits(x)
        if tuple(logits.shape[-2:]) != tuple(label.shape[-2:]):
            logits = F.interpolate(logits, size=label.shape[-2:], mode="bilinear", align_corners=False)
        lab = label[:, 0].long()
        valid = (lab >= 0) & (lab < len(self.lut))
        target = torch.where(valid, self.lut.to(dev)[lab.clamp(0, len(self.lut) - 1)],
                             torch.full_like(lab, self.ignore))
        if not bool((target != self.ignore).any()):
            return logits.sum() * 0.0
        return F.cross_entropy(logits.float(), target, ignore_index=self.ignore)


_warned: set[str] = set()


# ----------------------------------------------------------------------------- the model

class ECGANModel(GANModel):
    def __init__(self, cfg: Any, info: DatasetInfo) -> None:
        super().__init__()
        self.cfg, self.info = cfg, info
        self.use_instance = bool(cfg.instance and info.has_instances)
        self.dontcare = bool(cfg.dontcare)
        self.semantic_nc = info.num_classes + int(self.dontcare) + int(self.use_instance)
        # the authors' label_nc: their don't-care class is an extra channel, ours a class of the card
        self.label_nc = info.num_classes - int(bool(cfg.dontcare_in_classes))
        if cfg.output not in ("final", "image"):
            raise ValueError(f"ecgan: output must be 'final' or 'image', got {cfg.output!r}")
        self.G = ECGANGenerator(self.semantic_nc, self.label_nc, info.resolution, cfg.ngf, cfg.norm_g,
                                cfg.num_upsampling_layers, cfg.nhidden)
        self.D = MultiscaleDiscriminatorSPADE(self.semantic_nc + 3, cfg.ndf, cfg.n_layers_d, cfg.norm_d, cfg.num_d)
        nets: tuple[nn.Module, ...] = (self.G, self.D)
        if cfg.contrast_head:  # a projection head for the contrastive embeddings (trained with G, not in G's file)
            k = int(cfg.contrast_head)
            self.P = nn.Sequential(nn.Conv2d(self.G.final_nc, k, 1), nn.ReLU(), nn.Conv2d(k, k, 1))
            nets += (self.P,)
        for m in nets:
            _init_xavier(m)
        self._vgg = None
        self._seg: _FrozenSegmenter | None = None
        self._seg_status = "off (config)" if not cfg.lambda_sim else "not built"

    def input_keys(self) -> list[str]:
        return ["fc.weight", "head_0.norm_0.mlp_shared.0.weight"]

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        betas = (self.cfg.beta1, self.cfg.beta2)
        g_params = list(self.G.parameters()) + (list(self.P.parameters()) if self.cfg.contrast_head else [])
        return {"G": torch.optim.Adam(g_params, lr=self.cfg.lr_g, betas=betas),
                "D": torch.optim.Adam(self.D.parameters(), lr=self.cfg.lr_d, betas=betas)}

    # -- the similarity loss's segmenter (built on first use; off with one warning when it cannot be had)
    def segmenter(self) -> _FrozenSegmenter | None:
        if not self.cfg.lambda_sim or self._seg is not None or self._seg_status.startswith("disabled"):
            return self._seg
        name = self.cfg.seg_net
        why = None
        if not name:
            why = "no segmenter configured for this dataset (config seg_net)"
        else:
            try:  # its network's random init is overwritten: leave the training's RNG alone (exact resume)
                with torch.random.fork_rng(devices=[]):
                    self._seg = _FrozenSegmenter(name, self.info.name)
                self._seg_status = self._seg.status
            except Exception as exc:  # weights unavailable offline, unknown card, label-space mismatch
                why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if why is not None:
            self._seg_status = f"disabled: {why}"
            if why not in _warned:
                _warned.add(why)
                warnings.warn(f"ECGAN similarity loss disabled: {why}", stacklevel=2)
        return self._seg

    def similarity_status(self) -> str:
        return self._seg_status

    # -- losses (shared by train_step and benchmarks/oracle_ecgan.py)
    def _discriminate(self, seg: torch.Tensor, fake: torch.Tensor, real: torch.Tensor):
        preds = self.D(torch.cat([torch.cat([seg, fake], 1), torch.cat([seg, real], 1)], 0))
        b = seg.shape[0]
        return [[t[:b] for t in p] for p in preds], [[t[b:] for t in p] for p in preds]

    def _reconstruction(self, outs, targets, logs: dict[str, float]) -> torch.Tensor:
        """Pixel L1 (``lambda_l1``; not in the paper, minis only) and VGG (``lambda_vgg``) of the three outputs,
        weighted as the authors' VGG terms (``branch_weights``)."""
        cfg = self.cfg
        total = outs[0].new_zeros(())
        if cfg.lambda_l1:
            l1 = sum(wt * F.l1_loss(o.float(), t) for o, t, wt in zip(outs, targets, cfg.branch_weights))
            total = total + l1 * cfg.lambda_l1
            logs["G_L1"] = float(l1.detach()) * cfg.lambda_l1
        vgg = self.vgg(targets[0].device)
        if vgg is not None and vgg.enabled:
            g_vgg = sum(wt * vgg(o.float(), t) for o, t, wt in zip(outs, targets, cfg.branch_weights))
            total = total + g_vgg * cfg.lambda_vgg
            logs["G_VGG"] = float(g_vgg.detach()) * cfg.lambda_vgg
        return total

    def generator_losses(self, seg: torch.Tensor, label: torch.Tensor, real: torch.Tensor,
                         real_edge: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The generator's loss (and its logged terms) for one batch, D frozen by the caller."""
        cfg = self.cfg
        w_img, w_edge, w_fin = cfg.branch_weights
        image, final, edge, feat = self.G(seg, features=True)
        pf, pr = self._discriminate(seg, image, real)  # the authors' order: image, final image, edge
        pf2, pr2 = self._discriminate(seg, final, real)
        pfe, pre = self._discriminate(seg, edge, real_edge)
        mode = cfg.gan_mode
        g_gan = (w_img * gan_loss(pf, True, mode, for_discriminator=False)
                 + w_edge * gan_loss(pfe, True, mode, for_discriminator=False)
                 + w_fin * gan_loss(pf2, True, mode, for_discriminator=False))
        lam = cfg.lambda_feat
        g_feat = (w_img * feature_matching(pf, pr, lam) + w_fin * feature_matching(pf2, pr2, lam)
                  + w_edge * feature_matching(pfe, pre, lam))
        logs = {"G_GAN": float(g_gan.detach()), "G_Feat": float(g_feat.detach())}
        loss = g_gan + g_feat + self._reconstruction((image, edge, final), (real, real_edge, real), logs)
        if cfg.lambda_sim:
            segm = self.segmenter()
            if segm is not None:
                g_sim = segm.loss(final, label) * cfg.lambda_sim
                loss = loss + g_sim
                logs["G_Sim"] = float(g_sim.detach())
        if cfg.lambda_contrast or cfg.lambda_contrast_class:
            if self.cfg.contrast_head:
                feat = self.P(feat)
            l_pix, l_cls = contrastive_losses(feat, label, self.info.num_classes, int(cfg.contrast_per_class),
                                              float(cfg.contrast_tau))
            g_con = l_pix * cfg.lambda_contrast + l_cls * cfg.lambda_contrast_class
            loss = loss + g_con
            logs["G_Contrast"] = float(g_con.detach())
        return loss, logs

    def discriminator_losses(self, seg: torch.Tensor, real: torch.Tensor,
                             real_edge: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """The discriminator's loss on fresh fakes generated without gradient (the authors' D step)."""
        cfg = self.cfg
        w_img, w_edge, w_fin = cfg.branch_weights
        with torch.no_grad():
            image, final, edge = self.G(seg)
        pf, pr = self._discriminate(seg, image.detach(), real)
        pf2, pr2 = self._discriminate(seg, final.detach(), real)
        pfe, pre = self._discriminate(seg, edge.detach(), real_edge)
        mode = cfg.gan_mode
        d_fake = (w_img * gan_loss(pf, False, mode) + w_edge * gan_loss(pfe, False, mode)
                  + w_fin * gan_loss(pf2, False, mode))
        d_real = (w_img * gan_loss(pr, True, mode) + w_edge * gan_loss(pre, True, mode)
                  + w_fin * gan_loss(pr2, True, mode))
        return d_fake + d_real, {"D_fake": float(d_fake.detach()), "D_real": float(d_real.detach())}

    def train_step(self, batch: dict[str, Any], opts: dict[str, torch.optim.Optimizer], ctx: Any) -> dict[str, float]:
        seg = self.encode(batch["label"], batch["instance"])
        real = image_to_float(batch["image"])
        real_edge = edge_target(batch["image"]).to(real.dtype)
        self.D.requires_grad_(False)
        with ctx.autocast():
            loss_g, out = self.generator_losses(seg, batch["label"], real, real_edge)
        ctx.step(opts["G"], loss_g, "G")
        self.D.requires_grad_(True)
        with ctx.autocast():
            loss_d, d_logs = self.discriminator_losses(seg, real, real_edge)
        ctx.step(opts["D"], loss_d, "D")
        out.update(d_logs)
        return out

    def generate(self, label: torch.Tensor, inst: torch.Tensor, seed: int) -> torch.Tensor:
        image, final, _ = self.G(self.encode(label, inst))
        return final if self.cfg.output == "final" else image


def official_to_ours(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The authors' generator state dict (``latest_net_G.pth`` of their ``SPADEGenerator``) in our names: the same
    names (the modules are built with theirs), so nothing is renamed; ``official_keys`` then applies its shared
    normalisations (``module.`` prefixes, missing ``num_batches_tracked``)."""
    return dict(state)


@register_method("ecgan")
class ECGAN(ReferenceGenerator):
    """ECGAN (Tang et al., ICLR 2023) through the shared trainer; configs ``mini``, ``paper``, ``paper-cityscapes``,
    ``paper-ade20k``, ``paper-coco-stuff``."""

    method_key = "ecgan"
    needs_instance = True  # the instance-boundary channel (per config; zeros when the dataset has none)

    def build(self, cfg: Any, info: DatasetInfo) -> GANModel:
        return ECGANModel(cfg, info)


__all__ = ["ECGAN", "ECGANGenerator", "ECGANModel", "canny_edges", "class_centers", "class_contrastive_loss",
           "contrastive_losses", "edge_target", "official_to_ours", "pixel_contrastive_loss"]
