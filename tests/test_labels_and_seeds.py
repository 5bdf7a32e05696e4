"""The helpers that exist once: nearest label resize, instance edges, derived seeds, DatasetInfo, did-you-mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from bench.labels import instance_edges, resize_nearest


@pytest.mark.parametrize("src, dst", [((7, 13), (3, 5)), ((5, 5), (12, 9)), ((256, 512), (64, 128)), ((3, 1), (7, 7))])
def test_resize_nearest_is_pils_nearest(src, dst):
    a = np.random.default_rng(0).integers(0, 200, src, dtype=np.uint8)
    want = np.asarray(Image.fromarray(a).resize(dst[::-1], Image.NEAREST))
    assert np.array_equal(resize_nearest(a, dst), want)
    assert np.array_equal(resize_nearest(a.astype(np.int64) * 300, dst), want.astype(np.int64) * 300)  # ids > 255


def test_instance_edges_numpy_and_torch_agree_with_spade_get_edges():
    inst = np.random.default_rng(1).integers(0, 3, (2, 1, 9, 11)).astype(np.int64)
    t = torch.from_numpy(inst)
    # SPADE's get_edges (models/pix2pix_model.py), written out
    edge = torch.zeros(t.size(), dtype=torch.bool)
    edge[:, :, :, 1:] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, :, :-1] |= t[:, :, :, 1:] != t[:, :, :, :-1]
    edge[:, :, 1:, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    edge[:, :, :-1, :] |= t[:, :, 1:, :] != t[:, :, :-1, :]
    got_t = instance_edges(t)
    assert got_t.dtype == torch.bool and torch.equal(got_t, edge)
    got_np = instance_edges(inst[0, 0])
    assert got_np.dtype == bool and np.array_equal(got_np, edge[0, 0].numpy())
    assert not instance_edges(np.zeros((4, 4), dtype=np.int64)).any()


def test_derived_seeds_are_the_published_ones():
    """sample_seed (every recorded sample's seed) and the trainer's seeds keep their values: one hash, derive_seed."""
    from bench.adapter import derive_seed, sample_seed

    assert sample_seed(0, "val/0003", 1) == 4079131782025648338
    assert sample_seed(7, "frankfurt/x", 0) == 3310484040274795380
    assert derive_seed(5, 1234) == 5500166751357429470 and derive_seed(3, 10, 11) == 43636494506995848
    assert derive_seed(np.int64(5), 1234) == derive_seed(5, 1234)


def test_dataset_info_is_built_in_one_place():
    from bench.adapter import DatasetInfo, dataset_info
    from bench.data import get_dataset

    ds = get_dataset("synthetic-streets")
    info = dataset_info(ds)
    assert isinstance(info, DatasetInfo)
    assert (info.name, info.num_classes, info.resolution, info.has_instances, info.ignore_index) == (
        "synthetic-streets", ds.num_classes, (64, 64), True, ds.ignore_index)
    assert len(info.palette) == ds.num_classes and all(type(c) is int for rgb in info.palette for c in rgb)


def test_did_you_mean():
    from bench.registry import did_you_mean

    assert did_you_mean("oracel", ["oracle", "spade"]) == "; did you mean 'oracle'?"
    assert did_you_mean("vgg19", ["torchvision-vgg19", "torchvision-alexnet"]) == "; did you mean 'torchvision-vgg19'?"
    assert did_you_mean("zzz", ["oracle"]) == "" and did_you_mean("", ["oracle"]) == ""
