"""Configs of the text-to-image methods ``gan-int-cls`` and ``stackgan`` (merged into ``reference_models.configs`` by
:func:`register`, which both method modules call when imported): defaults, named configs, and the datasets whose
published setup ``paper`` resolves to (none: no text dataset of the benchmark is one of the papers').

Sources (read, not copied):

* GAN-INT-CLS: reedscot/icml2016 at commit db3f0c6 (Lua Torch), ``main_cls_int.lua`` (the ``opt`` table: nz 100, nt
  128, txtSize 1024, ngf 128, ndf 64, lr 2e-4, beta1 0.5, lr_decay 0.5 every ``decay_every`` 100 epochs, batch 64,
  fineSize 64 from loadSize 76) and ``scripts/train_{cub,flowers}.sh`` (the runs of the paper: cls_weight 0.5,
  interp_weight 1.0, interp_type 1, numCaption 4 with replicate 0, niter 600 epochs, ngf 128, ndf 64). Option names
  are theirs (``nt``, ``nz``, ``ngf``, ``ndf``, ``cls_weight``, ``interp_weight``, ``num_captions`` = numCaption,
  ``decay_every``, ``lr_decay``); their ``niter`` is our ``epochs``.
* StackGAN: hanzhanggit/StackGAN-Pytorch at commit e72ef88, ``code/miscc/config.py`` (the defaults: Z_DIM 100,
  TEXT.DIMENSION 1024, GAN.CONDITION_DIM 128, GAN.DF_DIM 64, GAN.GF_DIM 128, GAN.R_NUM 4, TRAIN.BATCH_SIZE 64,
  MAX_EPOCH 600, COEFF.KL 2.0, both learning rates 2e-4; LR_DECAY_EPOCH 600 there, i.e. no decay in 600 epochs) and
  ``code/cfg/coco_{s1,s2,eval}.yml`` (the only configs of the port: DF_DIM 96, GF_DIM 192, R_NUM 2, batch 128 / 40,
  120 / 100 epochs, LR_DECAY_EPOCH 20). ``paper`` takes the paper's decay, halved every 100 epochs (Zhang et al.
  2017, sec. 4 "Implementation details"; the TensorFlow code's birds configs, hanzhanggit/StackGAN
  ``stage{I,II}/cfg/birds.yml``, say 50 for Stage-I and 100 for Stage-II). Option names follow their cfg
  (``z_dim`` = Z_DIM, ``text_dim`` = TEXT.DIMENSION, ``condition_dim`` = GAN.CONDITION_DIM, ``gf_dim``,
  ``df_dim``, ``r_num``, ``coeff_kl`` = TRAIN.COEFF.KL, ``lr_decay_epoch`` = TRAIN.LR_DECAY_EPOCH, ``stage`` =
  STAGE, ``stage1_g`` = STAGE1_G); their MAX_EPOCH is our ``epochs``, GENERATOR_LR / DISCRIMINATOR_LR our ``lr_g``
  / ``lr_d``.

Both methods' data loaders resize each training image to 76/64 of the training size, cut a random window of that
size and flip half of them (``jitter``; our 64x64 images are enlarged to 76x76 for it): the trainer's own ``flip``
is therefore off.
"""

from __future__ import annotations

from typing import Any

from reference_models.configs import COMMON, MINI_COMMON

TEXT_COMMON = {
    **COMMON,
    "text_dim": None,       # None: the dataset's task_params embedding_dim (a set value must agree with it)
    # not in the papers (1.0 in every paper config): the embeddings are multiplied by this before G and D see them.
    # The minis' hashing embeddings are unit-norm and sparse (~40 of 1024 entries): through the authors'
    # initialisations (N(0, 0.02) / +-1/sqrt(1024) weights) they reach G ~50x weaker than the noise
    "text_scale": 1.0,
    "jitter": True,         # resize by 76/64, random crop back, random horizontal flip (both authors' loaders)
    "flip": False,          # flips are part of ``jitter``
    "decay_from": 1.0,      # unused: the methods' own step decay
    "batch_size": 64, "epochs": 600, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999,
}

DEFAULTS: dict[str, dict[str, Any]] = {
    "gan-int-cls": {
        **TEXT_COMMON,
        "nt": 128,              # text features: Linear(text_dim, nt) + LeakyReLU(0.2) in G (+ BatchNorm in D)
        "nz": 100,              # noise dimensions (standard normal)
        "ngf": 128, "ndf": 64,
        "cls_weight": 0.5,      # D: real + cls_weight * wrong + (1 - cls_weight) * fake (0: GAN-INT without CLS)
        "interp_weight": 1.0,   # G: weight of the B/2 interpolated captions (0: GAN-CLS without INT)
        "num_captions": 4,      # captions drawn per image and averaged (their numCaption, replicate 0)
        "decay_every": 100,     # epochs; the lr is multiplied by lr_decay at the start of every such epoch
        "lr_decay": 0.5,
    },
    "stackgan": {
        **TEXT_COMMON,
        "stage": 1,             # 1: 64x64 (STAGE1_G / STAGE1_D); 2: 256x256 from the Stage-I output (STAGE2_*)
        "z_dim": 100, "condition_dim": 128,
        "gf_dim": 128,          # Stage-I: G's first map has gf_dim * 8 channels; Stage-II: its encoder's width
        "df_dim": 64,
        "r_num": 4,             # Stage-II residual blocks
        "coeff_kl": 2.0,        # weight of KL(N(mu, sigma) || N(0, I)) of the conditioning augmentation in G's loss
        "lr_decay_epoch": 100,  # both learning rates halved every lr_decay_epoch epochs
        # Stage-II: the Stage-I generator it is built on (frozen): "run:<config>" (generator.pth of our run of that
        # config on the same dataset and seed, beside this run's folder; train it with --resolution 64), a path
        # (ours, or the authors' Stage-I netG_epoch_*.pth), or None (only for loading a whole Stage-II generator)
        "stage1_g": None,
    },
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "gan-int-cls": {
        # the CUB / Oxford-102 runs of scripts/train_{cub,flowers}.sh (main_cls_int.lua)
        "paper": {},
        # 64x64 synthetic-streets-captions on CPU in minutes: widths 32 / 32, text features 64, batch 16, 2000 steps,
        # text_scale 32 (not the paper's; see the configs' TEXT_COMMON). With D at width 16 no road had formed
        # after 3000 steps; at 32 it had by 2000. 6000 steps (lr halved every 100 epochs) scored no better on
        # R-precision in 3.6x the time (docs/stackgan.md)
        "mini": {**MINI_COMMON, "ngf": 32, "ndf": 32, "nt": 64, "batch_size": 16, "steps": 2000,
                 "decay_every": 50, "text_scale": 32.0},
    },
    "stackgan": {
        # Stage-I with config.py's defaults (GF_DIM 128, DF_DIM 64), the paper's schedule; ``paper`` is this one on
        # datasets without a setup of their own (the 64x64 ones)
        "paper": {"stage": 1},
        "paper-stage1": {"stage": 1},
        # Stage-II on top of it (R_NUM 4), 600 more epochs (the CUB / Oxford-102 sets are evaluated at 256x256:
        # ``paper`` there; their Stage-I is ``paper-stage1`` at --resolution 64)
        "paper-stage2": {"stage": 2, "stage1_g": "run:paper-stage1"},
        # code/cfg/coco_s1.yml and coco_s2.yml: the port's COCO runs; the released COCO generator
        # (netG_epoch_90.pth, code/cfg/coco_eval.yml) is a coco-stage2 generator
        "coco-stage1": {"stage": 1, "gf_dim": 192, "df_dim": 96, "batch_size": 128, "epochs": 120,
                        "lr_decay_epoch": 20},
        "coco-stage2": {"stage": 2, "gf_dim": 192, "df_dim": 96, "r_num": 2, "batch_size": 40, "epochs": 100,
                        "lr_decay_epoch": 20, "stage1_g": "run:coco-stage1", "native_resolution": (256, 256)},
        # 64x64 synthetic-streets-captions on CPU in minutes (Stage-I only): gf_dim 16 (128 channels at 4x4),
        # df_dim 16, batch 16, 12000 steps (480 epochs of the 400 scenes, the lr halved every 100 as the paper's),
        # text_scale 32 and the KL weight 0.2 instead of 2.0 (both not the paper's): at 2.0 mu stayed ~0.16 against
        # the CA noise's sigma ~1 and the samples followed their captions' trees / road no better than chance (33 / 32
        # of 100 val scenes; 44 / 40 at 0.2; docs/stackgan.md)
        "mini": {**MINI_COMMON, "stage": 1, "gf_dim": 16, "df_dim": 16, "batch_size": 16, "steps": 12000,
                 "lr_decay_epoch": 100, "text_scale": 32.0, "coeff_kl": 0.2},
    },
}

# ``paper`` on the papers' datasets (their cards evaluate at 256x256: StackGAN's Stage-II; GAN-INT-CLS generates
# 64x64 only, so it runs there at --resolution 64 with ``paper`` itself)
PAPER_DATASETS: dict[str, dict[str, str]] = {
    "gan-int-cls": {},
    "stackgan": {"coco-captions": "coco-stage2", "cub-200-2011": "paper-stage2", "oxford-102": "paper-stage2"},
}


def register() -> None:
    """Merge these tables into ``reference_models.configs`` (idempotent): ``configs.py`` does not import this module,
    so the method modules call this when imported, before any of their configs is looked up."""
    from reference_models import configs

    for method in DEFAULTS:
        configs.DEFAULTS.setdefault(method, DEFAULTS[method])
        configs.NAMED.setdefault(method, NAMED[method])
        configs.PAPER_DATASETS.setdefault(method, PAPER_DATASETS[method])
