"""Configs of the reference models: one table of defaults per method (the published hyper-parameters) and named
overrides. Unknown keys raise; defaults live only here.

Names:
  ``paper``             the published architecture and training settings; for a dataset with a published setup
                        (``PAPER_DATASETS``), that dataset's (label channels, upsampling layers, generator width)
  ``paper-<dataset>``   the same, forcing one dataset's setup
  ``authors-scripts``   (spade) the training the authors' repository runs for the dataset where it differs materially
                        from the paper (``authors-scripts-<dataset>``; docs/reference_models.md, "Training recipes")
  ``mini``              small widths, 64x64, trains on 2 CPU cores in a few minutes on ``synthetic-streets``
  ``mini-vae`` (spade)  ``mini`` with the VAE style encoder (multimodal)
  ``mini-feat`` (pix2pixhd) ``mini`` with the instance-wise feature encoder (multimodal)
  ``paper-psnr`` / ``mini-psnr`` (esrgan) the PSNR-oriented RRDBNet (L1 only); ``paper-gan`` (esrgan) the GAN
                        stage started from the released PSNR-oriented generator

Sources (read in the authors' code): pix2pix ``options/{base,train}_options.py`` and ``models/pix2pix_model.py``
(junyanz/pytorch-CycleGAN-and-pix2pix); pix2pixHD ``options/*.py``, ``scripts/train_*.sh``; SPADE
``options/*.py``, ``data/{cityscapes,ade20k,coco}_dataset.py``, ``models/networks/*.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.errors import BenchError
from bench.registry import did_you_mean

# Trainer keys every method has.
COMMON = {
    "batch_size": 1,
    "lr_g": 2e-4,
    "lr_d": 2e-4,
    "beta1": 0.5,
    "beta2": 0.999,
    "steps": None,          # total optimisation steps (None: from epochs)
    "epochs": 200,          # used when steps is None: epochs * ceil(N / batch_size)
    "decay_from": 0.5,      # fraction of the steps after which the lr decays linearly to 0 (1.0: no decay)
    "flip": True,           # random horizontal flips
    "save_every": 1000,     # checkpoint every N steps (and at the end)
    "keep_last": 2,         # checkpoints kept
    "sample_every": 500,    # sample grid every N steps (0: never)
    "log_every": 10,
    "amp": True,            # mixed precision on CUDA (ignored on CPU)
    "channels_last": True,  # channels-last on CUDA (ignored on CPU)
    "num_workers": 0,
    "vgg_weights": None,    # explicit path of vgg19-dcbe5be5.pth (default: the weight resolver)
    # one extra "don't care" input channel for ids outside 0..num_classes-1. Off: our dataset cards already count
    # SPADE's don't-care class in num_classes (ADE20K 151: "other" = channel 0, the stored ids as the authors feed
    # them; COCO-Stuff 183: 255 -> 182); ignore-index pixels get a zero vector.
    "dontcare": False,
    # (H, W) the authors' released weights of this config were trained at; `bench run` refuses another evaluation
    # resolution for them unless asked (--any-resolution). None: no release, any resolution.
    "native_resolution": None,
}

# The semantic methods' training augmentation besides flips: ``resize_and_crop`` of pix2pix (every dataset) and SPADE
# (ADE20K, COCO-Stuff): each training image is resized to load_size x load_size and a random crop_size window is cut
# (286 -> 256). Here the training set is loaded at resolution * load_size / crop_size and cut back to the
# resolution (reference_models.trainer.crop_training_set). None: off (the minis; SPADE's Cityscapes, 'fixed').
AUGMENT = {"load_size": None, "crop_size": 256}

DEFAULTS: dict[str, dict[str, Any]] = {
    # Isola et al. 2017: U-Net 256 with dropout, 70x70 PatchGAN, vanilla GAN + 100 L1, Adam 2e-4 (0.5, 0.999),
    # batch 1, 100 + 100 epochs (linear decay); BatchNorm with test-batch statistics and dropout at test time.
    "pix2pix": {**COMMON, **AUGMENT,
                "input": "onehot",      # "onehot" (semantic maps) or "rgb" (the label map in the card's colours,
                                        # the 3-channel input of the authors' facades / cityscapes releases)
                "instance": False,
                "ngf": 64, "ndf": 64, "num_downs": 8, "norm": "batch", "norm_d": "batch", "dropout": True,
                "n_layers_d": 3, "gan_mode": "vanilla", "lambda_l1": 100.0, "test_mode": "paper",
                "epochs": 200, "decay_from": 0.5,
                "load_size": 286},  # random jitter: resize to 286, random 256 crop (paper sec. 6.1; preprocess)
    # Wang et al. 2018: global generator (4 downsamplings, 9 blocks) [+ local enhancer], 3-scale D (3 layers),
    # LSGAN, feature matching 10, VGG 10, Adam 2e-4 (0.5, 0.999), batch 1, 100 + 100 epochs.
    "pix2pixhd": {**COMMON, **AUGMENT,
                  "instance": True, "netG": "global", "ngf": 64, "n_downsample_global": 4, "n_blocks_global": 9,
                  "n_local_enhancers": 1, "n_blocks_local": 3, "norm": "instance",
                  "ndf": 64, "n_layers_d": 3, "num_d": 3, "gan_mode": "lsgan", "lambda_feat": 10.0,
                  "lambda_vgg": 10.0, "vgg": True, "features": False, "feat_num": 3, "nef": 16,
                  "n_downsample_e": 4, "epochs": 200, "decay_from": 0.5,
                  "upsample": "transpose",  # G upsampling: "transpose" (authors) or "nearest" (resize + conv)
                  "lambda_l1": 0.0,         # pixel L1 weight (not in the paper; 0 = off)
                  # the 1024p recipe (scripts/train_1024p_24G.sh): the local enhancer's global part starts from a
                  # trained global generator (--load_pretrain; "run:<config>" = our run of that config beside this
                  # one, or a checkpoint path / registered weight file), and for the first fix_global_epochs only
                  # the outermost enhancer trains (--niter_fix_global)
                  "init_global": None, "fix_global_epochs": 0},
    # Park et al. 2019: SPADE residual generator (spectral norm, SPADE(sync)batch 3x3), 2-scale D (4 layers,
    # spectral instance norm), hinge, feature matching 10, VGG 10, TTUR Adam (G 1e-4, D 4e-4, betas (0, 0.9) as in
    # the code; the paper states 0.999), 200 epochs with decay from 100 (Cityscapes/ADE20K), VAE optional (KL 0.05).
    "spade": {**COMMON, **AUGMENT,
              "instance": True, "ngf": 64, "nhidden": 128, "num_upsampling_layers": "normal", "norm_g": "spectralspadebatch3x3",
              "ndf": 64, "n_layers_d": 4, "num_d": 2, "norm_d": "spectralinstance", "gan_mode": "hinge",
              "lambda_feat": 10.0, "lambda_vgg": 10.0, "vgg": True, "use_vae": False, "z_dim": 256,
              "lambda_kld": 0.05, "norm_e": "spectralinstance", "batch_size": 32,
              "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9, "epochs": 200, "decay_from": 0.5,
              "lambda_l1": 0.0},  # pixel L1 weight (not in the paper; 0 = off)
}

# Keys of the class-conditional models (``class_common``); ``flip`` is off: a mirrored digit is not a digit, and
# none of the three papers' code flips.
CLASS_COMMON = {**COMMON,
                "flip": False, "decay_from": 1.0, "batch_size": 64, "epochs": 100,
                "image_channels": 3,    # 1: G outputs one grey channel (replicated to RGB), D reads the channel mean
                "z_dim": 100, "z_dist": "normal",  # per-sample noise ("uniform": on [0, 1]^z_dim)
                "gan_mode": "vanilla",  # vanilla (BCE, non-saturating G), hinge, lsgan, wgan-gp
                "n_critic": 1,          # discriminator updates per generator update (one trainer step = one D update)
                "lambda_gp": 10.0,      # WGAN-GP gradient penalty weight (Gulrajani et al. 2017), gan_mode wgan-gp
                "optimizer": "adam",    # adam or sgd
                "momentum": 0.0, "momentum_final": None, "momentum_ramp_steps": 0,  # sgd (momentum ramp)
                "lr_decay": "linear",   # linear (from decay_from) or exponential (lr / lr_decay_factor**step)
                "lr_decay_factor": 1.0, "lr_min": 0.0,
                # n: G's output is projected onto the bicubic upscalings of n x n images (a fixed output layer, no
                # weights; the minis: digits are 8x8 scans upscaled to 32x32). None: off (every paper config)
                "g_project_from": None}

DEFAULTS.update({
    # Mirza & Osindero 2014, section 4.1 (MNIST): z 100-d uniform; G: z -> 200 ReLU, y -> 1000 ReLU, joint 1200 ReLU
    # -> image; D: x -> maxout 240x5, y -> maxout 50x5, joint maxout 240x4 -> sigmoid; dropout 0.5 in G and D;
    # SGD, batch 100, lr 0.1 decayed by 1.00004 per update down to 1e-6, momentum 0.5 increased up to 0.7. The paper
    # gives neither the momentum schedule nor the epochs: momentum ramps linearly over 250 MNIST epochs of 600
    # updates (the saturation epoch of the pylearn2 MNIST setup of the GAN paper, Goodfellow et al. 2014, whose
    # code cGAN builds on), and 250 epochs are trained. MNIST is grey: one image channel.
    "cgan": {**CLASS_COMMON,
             "image_channels": 1, "z_dim": 100, "z_dist": "uniform",
             "g_z_hidden": 200, "g_y_hidden": 1000, "g_hidden": 1200, "g_dropout": 0.5,
             "d_x_hidden": 240, "d_y_hidden": 50, "d_hidden": 240, "d_pieces": 5, "d_joint_pieces": 4,
             "d_dropout": 0.5, "act": "relu", "g_norm": "none",
             "optimizer": "sgd", "lr_g": 0.1, "lr_d": 0.1, "momentum": 0.5, "momentum_final": 0.7,
             "momentum_ramp_steps": 250 * 600, "lr_decay": "exponential", "lr_decay_factor": 1.00004, "lr_min": 1e-6,
             "batch_size": 100, "epochs": 250},
    # Odena et al. 2017, appendix (CIFAR-10 model): G input 110 = 100-d noise + 10-way one-hot (concatenated), linear
    # to 384 maps of 4x4, 5x5 stride-2 transposed convs 192, 96, 3 (BN + ReLU, tanh); D 3x3 convs 16, 32, 64, 128, 256,
    # 512 (strides 2, 1, 2, 1, 2, 1; BN but on the first; LeakyReLU 0.2; dropout 0.5), source + class heads; Adam 2e-4
    # (0.5, 0.999), batch 100, 50,000 iterations, weights N(0, 0.02).
    "acgan": {**CLASS_COMMON,
              "z_dim": 100, "embed": "concat", "ngf": 384, "ndf": 16, "norm_d": "batch", "d_dropout": 0.5,
              "lambda_cls": 1.0, "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999, "batch_size": 100,
              "steps": 50000, "decay_from": 1.0},
    # Miyato & Koyama 2018, CIFAR-10 (pfnet-research/sngan_projection configs/sn_cifar10.yml): ResNet G (ch 256, z 128,
    # bottom 4x4, 3 up blocks, CBN), SN ResNet projection D (ch 128), hinge, Adam 2e-4 (0, 0.9), n_dis 5, batch 64,
    # 50,000 generator iterations (= 250,000 D updates, our steps), lr decaying linearly to 0 from the start. The
    # authors' G update uses 128 samples (n_gen_samples); here G uses the batch size.
    "sngan-proj": {**CLASS_COMMON,
                   "z_dim": 128, "ngf": 256, "ndf": 128, "gan_mode": "hinge", "n_critic": 5,
                   "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.0, "beta2": 0.9, "batch_size": 64, "steps": 250000,
                   "decay_from": 0.0},
})

# ``mini`` budgets: up to about 5 minutes each on one free CPU core (measured at batch 8, 64x64, torch 2.14, 1 thread:
# pix2pix ~65, pix2pixHD mini ~45, SPADE mini (ngf 16) ~13 training images/s; 2-3x slower on a busy machine).
MINI_COMMON = {"decay_from": 0.7, "save_every": 200, "sample_every": 200, "log_every": 20, "batch_size": 8}
# Offline the VGG19 weights are unavailable, so the perceptual loss of pix2pixHD / SPADE is off; trained for minutes
# with GAN + feature matching only, both minis stay noisy (pix2pixHD) or blurry and gridded (SPADE) and lose to the
# label-colouring baseline on FID. The minis therefore add a pixel L1 term (``lambda_l1``, pix2pix's reconstruction
# loss; 0 in every ``paper`` config: 10 for SPADE, 100 for pix2pixHD) and pix2pixHD mini upsamples by
# nearest-neighbour resize + conv (``upsample: nearest``) instead of the authors' checkerboard-prone transposed
# convolutions.

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "pix2pix": {
        "paper": {},
        "paper-facades": {"input": "rgb", "instance": False, "native_resolution": (256, 256)},
        "paper-cityscapes": {"input": "rgb", "instance": False, "native_resolution": (256, 256)},
        # the paper's appendix (6.1): edges -> shoes, 50k UT Zappos50K pairs, 15 epochs, batch 4 (the 7.5 + 7.5
        # constant / decaying split is ours: the paper gives no schedule for it)
        "paper-edges2shoes": {"epochs": 15, "batch_size": 4},
        "mini": {**MINI_COMMON, "steps": 1200, "ngf": 16, "ndf": 16, "num_downs": 6, "norm": "instance", "norm_d": "instance",
                 "lr_g": 2e-4, "lr_d": 2e-4, "load_size": None},
    },
    "pix2pixhd": {
        "paper": {},
        # the released label2city_1024p: local enhancer, ngf 32 (test.py --netG local --ngf 32)
        # training: train_1024p_24G.sh, 50 + 50 epochs at full size, 3 D scales, the 512p global G (trained first,
        # ``paper-cityscapes-512``) loaded, 10 epochs with the global part fixed
        "paper-cityscapes": {"netG": "local", "ngf": 32, "instance": True, "native_resolution": (1024, 2048),
                             "num_d": 3, "epochs": 100, "decay_from": 0.5, "init_global": "run:paper-cityscapes-512",
                             "fix_global_epochs": 10},
        "paper-cityscapes-512": {"netG": "global", "ngf": 64, "instance": True, "native_resolution": (512, 1024)},
        # one downsampling (32x32 residual blocks: same FLOPs as 2-3 at ngf 16, sharper layouts), 2 D scales,
        # pixel L1 100 as pix2pix: see MINI_COMMON's note and docs/reference_models.md for the variants measured
        "mini": {**MINI_COMMON, "steps": 1000, "ngf": 16, "n_downsample_global": 1, "n_blocks_global": 3, "ndf": 16,
                 "num_d": 2, "n_layers_d": 3, "upsample": "nearest", "lambda_l1": 100.0},
        "mini-feat": {**MINI_COMMON, "steps": 600, "ngf": 16, "n_downsample_global": 3, "n_blocks_global": 3, "ndf": 16,
                      "num_d": 3, "n_layers_d": 3, "features": True, "nef": 8, "n_downsample_e": 3},
    },
    "spade": {
        "paper": {},
        "paper-cityscapes": {"instance": True, "num_upsampling_layers": "more", "batch_size": 16,
                             "native_resolution": (256, 512)},
        # data/{ade20k,coco}_dataset.py: preprocess_mode resize_and_crop, load_size 286, crop_size 256
        "paper-ade20k": {"instance": False, "native_resolution": (256, 256), "load_size": 286},
        "paper-coco-stuff": {"instance": True, "epochs": 100, "decay_from": 1.0, "native_resolution": (256, 256),
                             "load_size": 286},
        # NVlabs/SPADE's options as its README's training commands run them (no epoch or batch flags): niter 50,
        # niter_decay 0 (50 epochs at a constant lr, not the paper's 200 with decay), batchSize 1 except Cityscapes
        # (16, set by data/cityscapes_dataset.py); the README trains on 8 V100s and the paper states batch 32
        "authors-scripts-cityscapes": {"instance": True, "num_upsampling_layers": "more", "batch_size": 16,
                                       "epochs": 50, "decay_from": 1.0},
        "authors-scripts-ade20k": {"instance": False, "batch_size": 1, "epochs": 50, "decay_from": 1.0,
                                   "load_size": 286},
        "authors-scripts-coco-stuff": {"instance": True, "batch_size": 1, "epochs": 50, "decay_from": 1.0,
                                       "load_size": 286},
        # ngf 16 (8 was too narrow); betas (0, 0.9) as the authors' code; TTUR G 2e-4 / D 4e-4 (the paper's G 1e-4
        # learned too slowly in 500 steps)
        "mini": {**MINI_COMMON, "steps": 500, "ngf": 16, "nhidden": 32, "ndf": 16, "n_layers_d": 3, "num_d": 2,
                 "lr_g": 2e-4, "lr_d": 4e-4, "lambda_l1": 10.0},
        "mini-vae": {**MINI_COMMON, "steps": 400, "ngf": 8, "nhidden": 32, "ndf": 16, "n_layers_d": 3, "num_d": 2,
                     "lr_g": 2e-4, "lr_d": 4e-4, "use_vae": True, "z_dim": 64},
    },
}

# The class-conditional minis: digits (grey, 32x32), 2 CPU cores, a few minutes; see docs/reference_models.md.
# ``g_project_from: 8``: digits are 8x8 scans upscaled bicubically; at 32x32 the minis' outputs kept a fine grain
# (transposed convs, MLP pixels) that Inception features punish: AC-GAN mini FID 273 raw, 56 with its fakes
# reduced to 8x8 and upscaled again (measured). The fixed projection onto bicubic upscalings of 8x8 images
# removes it (no weights; real digits are its fixed points to rounding).
CLASS_MINI = {"save_every": 200, "sample_every": 200, "log_every": 20, "image_channels": 1, "g_project_from": 8}
NAMED.update({
    "cgan": {
        "paper": {},
        # the one-hot vector concatenated to z and to the flattened image, G 256-512-1024 with BatchNorm, D 512-256,
        # LeakyReLU 0.2, dropout 0.3 in D only, normal z, Adam: the paper's branches + maxout D + SGD (``paper``)
        # collapsed to one image for every class and z within 400 steps here (measured), this common variant
        # (e.g. PyTorch-GAN's cgan) draws digits in minutes
        "mini": {**CLASS_MINI, "z_dist": "normal", "g_z_hidden": 0, "g_y_hidden": 0, "g_hidden": [256, 512, 1024],
                 "g_norm": "batch", "g_dropout": 0.0, "d_x_hidden": 0, "d_y_hidden": 0, "d_hidden": [512, 256],
                 "d_pieces": 1, "d_joint_pieces": 1, "d_dropout": 0.3, "act": "lrelu",
                 "optimizer": "adam", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999,
                 "lr_decay": "linear", "decay_from": 0.7, "batch_size": 64, "steps": 3000,
                 "gan_mode": "lsgan"},  # with BCE the class was ignored (10 % accuracy at 1500 steps, measured)
    },
    "acgan": {
        "paper": {},
        # no dropout in D (it cost 40 % of a step and slowed learning), ngf 128: sharper digits in the same minutes
        "mini": {**CLASS_MINI, "ngf": 128, "ndf": 8, "d_dropout": 0.0, "batch_size": 64, "steps": 1000,
                 "decay_from": 0.7},
        # WGAN-GP (Gulrajani et al. 2017: penalty 10, 5 critic updates per G update, Adam (0, 0.9)); layer norm in
        # the critic instead of BatchNorm (the penalty is per sample), no dropout
        "mini-wgangp": {**CLASS_MINI, "ngf": 64, "ndf": 8, "batch_size": 64, "steps": 1500, "decay_from": 0.7,
                        "gan_mode": "wgan-gp", "n_critic": 5, "lambda_gp": 10.0, "norm_d": "layer", "d_dropout": 0.0,
                        "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.0, "beta2": 0.9},
    },
    "sngan-proj": {
        "paper": {},
        # widths 16, batch 32, n_critic 1, Adam (0.5, 0.999) with TTUR (D 8e-4, G 4e-4): the widths-32 / n_critic 2
        # mini took 520 s and learned no class in it (measured); the class is still learned only in part
        "mini": {**CLASS_MINI, "ngf": 16, "ndf": 16, "n_critic": 1, "batch_size": 32, "steps": 900,
                 "lr_g": 4e-4, "lr_d": 8e-4, "beta1": 0.5, "beta2": 0.999, "decay_from": 0.7},
    },
})

# Context encoders (Pathak et al. 2016), inpainting (reference_models/context_encoder.py): the released code's
# inpaintCenter training command (pathak22/context-encoder README + train.lua): nef = ngf = ndf 64, a 4000-unit
# bottleneck, overlapPred 4 with the overlap's L2 weighted 10x, wtl2 0.999, Adam beta1 0.5 with G at 10x D's lr 2e-4
# (train.lua's optimStateG when 0 < wtl2 < 1), batch 64, 500 epochs (niter), no decay, random flips.
DEFAULTS["context-encoder"] = {
    **COMMON,
    "nef": 64, "ngf": 64, "ndf": 64,
    "bottleneck": "fc",        # fc: the released 4000-d bottleneck; channelwise: the paper's channel-wise FC layer
    "n_bottleneck": 4000,      # units of the fc bottleneck
    "output": "auto",          # center: the square around a center hole; full: the whole image; auto: by mask kind
    "overlap": 4,              # predicted pixels of known context around the hole (overlapPred)
    "overlap_weight": 10.0,    # their L2 weight relative to the hole's (overlapL2Weight)
    "wtl2": 0.999,             # G loss = wtl2 * L2 + (1 - wtl2) * adversarial
    "mask_input": False,       # the mask as a 4th input channel (not in the authors' code)
    "lr_g": 2e-3, "lr_d": 2e-4, "beta1": 0.5, "beta2": 0.999,
    "batch_size": 64, "epochs": 500, "decay_from": 1.0, "flip": True,
    "sample_every": 0,         # the trainer's grid shows label colours; inpainting has none worth showing
}
NAMED["context-encoder"] = {
    "paper": {},
    # 64x64 box holes on synthetic-streets-inpainting in minutes on CPU (~0.3 s per step of 16 on one busy core):
    # widths 16, the paper's channel-wise bottleneck (33k weights on the 4x4x128 map instead of 2 x 8M for the
    # 4000-unit fc one), the mask as an input channel (the box moves from image to image). After 450 steps it
    # already filled the val holes better than blur-fill (hole PSNR 16.1 vs 15.7 dB on the 100 val images; measured)
    "mini": {"save_every": 200, "log_every": 20, "nef": 16, "ngf": 16, "ndf": 16, "bottleneck": "channelwise",
             "mask_input": True, "batch_size": 16, "steps": 1000, "decay_from": 0.7},
}

# Super-resolution (reference_models/srgan.py, esrgan.py). One run holds both stages of the GAN methods: the first
# ``pretrain_steps`` train G alone with the pixel loss (SRResNet-MSE / RRDB_PSNR), then G and D alternate. Learning
# rates step down by ``pretrain_gamma`` at ``pretrain_milestones`` (absolute steps) and by ``lr_gamma`` at
# ``milestones`` (steps into the GAN stage); ``decay_from`` is unused.
SR_COMMON = {**COMMON,
             "scale": None,              # None: the dataset's task_params scale (a set value must agree with it)
             "patch_size": 96,           # HR training patch (its LR partner: patch_size / scale)
             "batch_size": 16, "flip": False,
             "rot90": False,             # random vertical flips + transposes (with flip: all 8 rotations/reflections)
             "adversarial": False, "pretrain_steps": 0,
             "pixel_loss": "mse",        # mse or l1; weight 1 in the pixel stage, lambda_pixel in the GAN stage
             "lambda_pixel": 0.0,
             "perceptual_layer": "relu5_4", "perceptual_criterion": "mse", "perceptual_scale": 1.0,
             "lambda_perceptual": 0.0,   # VGG19 content loss (GAN stage; off with a warning without the weights)
             "gan_mode": "vanilla",      # vanilla (BCE, non-saturating G) or ragan (relativistic average)
             "lambda_adv": 1e-3,
             "lr_pretrain": 1e-4, "pretrain_milestones": (), "pretrain_gamma": 0.5,
             "lr_g": 1e-4, "lr_d": 1e-4, "milestones": (), "lr_gamma": 0.5, "beta1": 0.9, "beta2": 0.999,
             "decay_from": 1.0,
             "global_skip": "none",      # bicubic: G adds the bicubic upsampling of its input (minis; no paper)
             "init_g": None,             # G's start for a fresh run: a checkpoint path or a registered weight file
             "ndf": 64, "d_dense": 1024}

DEFAULTS.update({
    # Ledig et al. 2017 sec. 3.2: 16 residual blocks, 64 channels, batch 16 of 96x96 HR patches, Adam beta1 0.9, lr
    # 1e-4, 10^6 updates, pixel MSE on [-1, 1] images.
    "srresnet": {**SR_COMMON, "nf": 64, "n_blocks": 16, "steps": 1_000_000},
    # SRGAN: G from SRResNet-MSE (the first 10^6 steps here), then 10^5 updates at 1e-4 and 10^5 at 1e-5 with VGG54
    # (relu5_4 features / 12.75, MSE) + 1e-3 adversarial; D 64..512, dense 1024.
    "srgan": {**SR_COMMON, "nf": 64, "n_blocks": 16, "adversarial": True, "pretrain_steps": 1_000_000,
              "steps": 1_200_000, "lambda_perceptual": 1.0, "perceptual_scale": 1 / 12.75, "lambda_adv": 1e-3,
              "milestones": (100_000,), "lr_gamma": 0.1},
    # Wang et al. 2018 + BasicSR options/train/ESRGAN/*.yml (the first author's): RRDBNet 64 channels, 23 RRDBs,
    # growth 32; batch 16 of 128x128 HR patches, flips + rotations, Adam (0.9, 0.999); PSNR stage L1, lr 2e-4 halved
    # every 2x10^5 (10^6 steps: BasicSR's length); GAN stage perceptual (conv5_4, L1) + 5e-3 RaGAN + 1e-2 L1, lr 1e-4
    # halved at 50k/100k/200k/300k, 4x10^5 steps; VGG128 D (64, linear 100).
    "esrgan": {**SR_COMMON, "nf": 64, "n_blocks": 23, "gc": 32, "patch_size": 128, "flip": True, "rot90": True,
               "adversarial": True, "pretrain_steps": 1_000_000, "steps": 1_400_000,
               "pixel_loss": "l1", "lambda_pixel": 1e-2, "perceptual_layer": "conv5_4", "perceptual_criterion": "l1",
               "lambda_perceptual": 1.0, "gan_mode": "ragan", "lambda_adv": 5e-3,
               "lr_pretrain": 2e-4, "pretrain_milestones": (200_000, 400_000, 600_000, 800_000),
               "lr_g": 1e-4, "lr_d": 1e-4, "milestones": (50_000, 100_000, 200_000, 300_000), "d_dense": 100},
})
# The SR minis: widths and depths cut to train in minutes on CPU, batch 4 of 64x64 HR patches (16x16 LR at x4:
# random patches of synthetic-streets-sr's 256x256 photos or photos-sr's 72x72 squares; batch 16 of 32x32 patches,
# the same pixels per step, scored 0.3 dB lower Y-PSNR after 300 SRResNet steps, measured), flips + rotations, G
# learning the residual over bicubic (``global_skip``: untrained, a mini is the pil-bicubic baseline). Offline there
# are no VGG19 weights, so the GAN minis keep the pixel loss at weight 1 in the GAN stage (SRGAN's "SRGAN-MSE" variant;
# ESRGAN's 1e-2 L1 alone would leave the adversarial term in charge).
SR_MINI = {"save_every": 200, "sample_every": 200, "log_every": 20, "patch_size": 64, "batch_size": 4,
           "flip": True, "rot90": True, "global_skip": "bicubic"}
NAMED.update({
    "srresnet": {
        "paper": {},
        "mini": {**SR_MINI, "nf": 32, "n_blocks": 4, "steps": 1500, "lr_pretrain": 2e-4,
                 "pretrain_milestones": (1000,)},
    },
    "srgan": {
        "paper": {},
        "mini": {**SR_MINI, "nf": 32, "n_blocks": 4, "pretrain_steps": 900, "steps": 1500, "lr_pretrain": 2e-4,
                 "pretrain_milestones": (600,), "lambda_pixel": 1.0, "ndf": 16, "d_dense": 128,
                 "milestones": (400,), "lr_gamma": 0.5},
    },
    "esrgan": {
        "paper": {},
        "paper-psnr": {"adversarial": False, "steps": 1_000_000},
        # the GAN stage from the released PSNR-oriented generator (BasicSR's copy, ``bench weights``)
        "paper-gan": {"pretrain_steps": 0, "steps": 400_000, "init_g": "basicsr-esrgan-psnr-x4"},
        # RaGAN weight 1e-3, not 5e-3: without the perceptual term, 300 pixel + 300 GAN steps ended at 24.48 dB Y-PSNR
        # with 5e-3, below bicubic's 26.52, and at 27.26 with 1e-3 (300 pixel steps alone: 27.29; seed 0, 24 val
        # images of synthetic-streets-sr, measured)
        "mini": {**SR_MINI, "nf": 32, "n_blocks": 2, "gc": 16, "pretrain_steps": 700, "steps": 1200,
                 "lr_pretrain": 2e-4, "pretrain_milestones": (500,), "lambda_pixel": 1.0, "lambda_adv": 1e-3,
                 "ndf": 16, "milestones": (300,)},
        "mini-psnr": {**SR_MINI, "nf": 32, "n_blocks": 2, "gc": 16, "adversarial": False, "steps": 1200,
                      "lr_pretrain": 2e-4, "pretrain_milestones": (850,)},
    },
})

# "paper" resolves to "paper-<dataset>" for these datasets.
PAPER_DATASETS = {
    "context-encoder": {},  # Paris StreetView / ImageNet setups: ``paper`` itself
    "pix2pix": {"facades": "paper-facades", "cityscapes": "paper-cityscapes", "edges2shoes": "paper-edges2shoes"},
    "pix2pixhd": {"cityscapes": "paper-cityscapes"},
    "spade": {"cityscapes": "paper-cityscapes", "ade20k": "paper-ade20k", "coco-stuff": "paper-coco-stuff"},
    "cgan": {}, "acgan": {}, "sngan-proj": {},  # MNIST / CIFAR-10 setups: ``paper`` itself
    "srresnet": {}, "srgan": {}, "esrgan": {},  # one setup for every SR test set: ``paper`` itself
}

# Semantic synthesis II (issue 15) and translation (issue 14): these methods' tables live beside their models, in
# ``<method>_config.py`` (imported here, after COMMON / MINI_COMMON exist, which they extend).
from reference_models import (cyclegan_config, dsgan_config, ecgan_config, oasis_config,  # noqa: E402
                              pix2pix_seg_clip_config, stargan_config)

from reference_models import munit_config  # noqa: E402  (munit and unit)

for _mod in (oasis_config, ecgan_config, pix2pix_seg_clip_config, cyclegan_config, dsgan_config, stargan_config,
             munit_config):
    DEFAULTS.update(_mod.DEFAULTS)
    NAMED.update(_mod.NAMED)
    PAPER_DATASETS.update(_mod.PAPER_DATASETS)


@dataclass(frozen=True)
class Config:
    method: str
    name: str
    values: dict[str, Any] = field(repr=False)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(f"{self.__dict__.get('method')} config has no key '{key}'") from None

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "name": self.name, **self.values}

    def replace(self, **overrides: Any) -> "Config":
        return make_config(self.method, self.name, {**self.values, **overrides}, check_base=False)


def make_config(method: str, name: str, values: dict[str, Any], *, check_base: bool = True) -> Config:
    base = DEFAULTS[method]
    unknown = sorted(set(values) - set(base))
    if unknown:
        raise BenchError(f"{method} config '{name}': unknown key '{unknown[0]}'{did_you_mean(unknown[0], base)}")
    return Config(method, name, {**base, **values})


def config_names(method: str) -> list[str]:
    if method not in NAMED:
        raise BenchError(f"unknown reference method '{method}' (known: {', '.join(sorted(NAMED))})")
    return sorted(NAMED[method])


def get_config(method: str, name: str | None = None, info: Any = None, **overrides: Any) -> Config:
    """The config ``name`` of ``method`` (default ``mini``); ``paper`` picks the dataset's published setup."""
    names = config_names(method)
    name = name or "mini"
    if name == "paper" and info is not None:
        name = PAPER_DATASETS[method].get(getattr(info, "name", ""), "paper")
    elif name == "authors-scripts" and info is not None:  # the authors' own training commands for this dataset
        scripted = f"authors-scripts-{getattr(info, 'name', '')}"
        if scripted not in NAMED[method]:
            raise BenchError(f"{method}: no 'authors-scripts' config for dataset '{getattr(info, 'name', '')}' "
                             f"(known: {', '.join(n for n in names if n.startswith('authors-scripts-')) or 'none'})")
        name = scripted
    if name not in NAMED[method]:
        raise BenchError(f"{method}: unknown config '{name}'{did_you_mean(name, names)} (known: {', '.join(names)})")
    return make_config(method, name, {**NAMED[method][name], **overrides})
