"""Configs of ecgan (merged into ``reference_models.configs``): defaults, named configs, and the
datasets whose published setup ``paper`` resolves to.

Sources: the authors' released code (Ha0Tang/ECGAN 4fcb0cc: ``options/{base,train}_options.py``,
``data/{cityscapes,ade20k,coco}_dataset.py``, ``models/pix2pix_model.py``, ``models/networks/*.py``), which is SPADE's
with the edge / semantic-preserving heads, and the paper (ICLR 2023) for the two losses the code lacks.
"""

from __future__ import annotations

from typing import Any

from reference_models.configs import COMMON, MINI_COMMON

DEFAULTS: dict[str, dict[str, Any]] = {
    # The released code: SPADE generator (ngf 64, spectral SPADE sync-batch 3x3, 128 hidden) + edge / image heads +
    # semantic preserving module; SPADE's 2-scale D (4 layers, spectral instance norm) shared by the (label, image),
    # (label, final image) and (label, edge) pairs; hinge; the image, edge and final-image terms weighted 1, 1, 2
    # (GAN, feature matching 10, VGG 10); TTUR Adam G 1e-4 / D 4e-4, betas (0, 0.9); Xavier init (gain 0.02).
    # Epochs: the options default to SPADE's (niter 50, no decay); the runs are taken as SPADE's published ones
    # (200 epochs, linear decay from 100; COCO-Stuff 100 without decay).
    "ecgan": {**COMMON,
              "instance": True, "ngf": 64, "nhidden": 128, "num_upsampling_layers": "normal",
              "norm_g": "spectralspadesyncbatch3x3",
              "ndf": 64, "n_layers_d": 4, "num_d": 2, "norm_d": "spectralinstance", "gan_mode": "hinge",
              "lambda_feat": 10.0, "lambda_vgg": 10.0, "vgg": True,
              "branch_weights": (1.0, 1.0, 2.0),  # (intermediate image, edge, final image) in every G / D term
              # the card's num_classes counts the class the authors add as contain_dontcare_label (ADE20K 151,
              # COCO-Stuff 183): their label_nc, the semantic preserving module's width, is one less
              "dontcare_in_classes": False,
              "output": "final",          # what generate returns: "final" (their synthesized_image2) or "image"
              # the paper's similarity loss (not in the released code): lambda_sim * cross-entropy of the frozen
              # bench segmenter ``seg_net`` on the final image against the input label (off, with one warning and
              # "G_Sim" absent from the logs, when the segmenter or its weights cannot be had)
              "lambda_sim": 1.0, "seg_net": None,
              # the paper's contrastive learning (not in the released code): pixel-wise and class-wise InfoNCE of
              # the trunk's L2-normalised pixel embeddings, across the batch; temperature tau; anchors per class
              "lambda_contrast": 1.0, "lambda_contrast_class": 1.0, "contrast_tau": 0.1, "contrast_per_class": 100,
              "contrast_head": 0,  # >0: a 1x1-conv projection head (ReLU) of this width before the losses
              "batch_size": 32, "lr_g": 1e-4, "lr_d": 4e-4, "beta1": 0.0, "beta2": 0.9,
              "epochs": 200, "decay_from": 0.5,
              "lambda_l1": 0.0},  # pixel L1 weight (not in the paper; 0 = off)
}

NAMED: dict[str, dict[str, dict[str, Any]]] = {
    "ecgan": {
        "paper": {},
        # the dataset options of the release (data/*_dataset.py): Cityscapes 256x512, 'more' upsampling, batch
        # 16, instance edges; ADE20K 256x256 without instances, don't-care label; COCO-Stuff 256x256 with
        # instances and the don't-care label. No trained ECGAN weights were released: native_resolution is the
        # paper's training resolution. The similarity loss's segmenter: the dataset's published evaluation network.
        "paper-cityscapes": {"instance": True, "num_upsampling_layers": "more", "batch_size": 16,
                             "seg_net": "drn-d-105-cityscapes", "native_resolution": (256, 512)},
        "paper-ade20k": {"instance": False, "dontcare_in_classes": True, "seg_net": "upernet101-ade20k",
                         "native_resolution": (256, 256)},
        "paper-coco-stuff": {"instance": True, "dontcare_in_classes": True, "epochs": 100, "decay_from": 1.0,
                             "seg_net": "deeplabv2-cocostuff164k", "native_resolution": (256, 256)},
        # ngf 12, 16 SPADE hidden channels, ndf 16, 3-layer D, TTUR 2e-4 / 4e-4 as SPADE mini; a pixel L1 (5, on
        # the three outputs weighted as VGG) since there are no VGG weights offline; the committed embedded
        # synthetic-streets segmenter for the similarity loss; 32 anchors per class; both contrastive losses at 0.1
        # (at the paper's 1 the mini lost to label colouring on FID). Measured on synthetic-streets val (seed 0,
        # one thread, 700 steps): contrastive weights 1: FID 246.6, mIoU 74.6 %;
        # 0.1: FID 228.3, mIoU 68.8 %; ngf 16 / 32 hidden / L1 10 with weights 1: FID 234.7, mIoU 80.5 % (label
        # colouring 243.8 / 44.9 %); 1000 steps at weights 1: FID 252.6 (blurrier). ~1 s a step on one free core
        "mini": {**MINI_COMMON, "steps": 700, "ngf": 12, "nhidden": 16, "ndf": 16, "n_layers_d": 3, "num_d": 2,
                 "lr_g": 2e-4, "lr_d": 4e-4, "lambda_l1": 5.0, "seg_net": "embedded-synthetic-streets",
                 "contrast_per_class": 32, "lambda_contrast": 0.1, "lambda_contrast_class": 0.1},
    },
}

# "paper" resolves to "paper-<dataset>" for these datasets.
PAPER_DATASETS: dict[str, dict[str, str]] = {
    "ecgan": {"cityscapes": "paper-cityscapes", "ade20k": "paper-ade20k", "coco-stuff": "paper-coco-stuff"},
}
