"""ADE20K: the one-hot our SPADE adapter hands its generator is the one the authors' releases were trained on.

The fixture was recorded by running NVlabs/SPADE's (and OASIS's) own dataset code on the shared sample files; see
tests/fixtures/ade20k_release_input/README.md. Both feed the stored ids unchanged: 0 ("other") = channel 0, class
k = channel k, 151 channels.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from bench.data import collate, get_dataset

from conftest import shared_samples  # noqa: E402 - the tests folder is on sys.path

ADE = shared_samples() / "ade20k-sceneparsing" / "sampleData"
FIXTURE = Path(__file__).parent / "fixtures" / "ade20k_release_input" / "ade20k_val_onehot.json"
ORACLE = json.loads(FIXTURE.read_text())["files"]


class _Captured(Exception):
    """Raised by the hook once the generator's input is captured: the paper-size forward pass is not needed."""


def generator_input(config: str, index: int) -> torch.Tensor:
    """The tensor SPADE's generator receives for sample ``index``, through ``bench run``'s own path (dataset ->
    DatasetInfo -> SPADEMethod.generate)."""
    from bench.adapter import dataset_info
    from reference_models.spade import SPADEMethod

    assert ADE.is_dir(), f"shared sample files missing: {ADE} (expected ../shared/samples next to the repo)"
    ds = get_dataset("ade20k", root=ADE, split="val", cache=False)  # the card's eval resolution, 256x256
    gen = SPADEMethod(dataset_info(ds), config=config)
    seen: list[torch.Tensor] = []

    def grab(_module: torch.nn.Module, args: tuple) -> None:
        seen.append(args[0].detach().clone())
        raise _Captured

    gen.model.G.register_forward_pre_hook(grab)
    with pytest.raises(_Captured):
        gen.generate(collate([ds[index]]), seeds=[0])
    assert ds.samples[index].key.endswith(sorted(ORACLE)[index])
    return seen[0]


@pytest.mark.parametrize("index", range(3))
def test_spade_paper_input_matches_the_authors_dataset_code(index):
    # "paper" on ade20k is the config the released ade20k_pretrained generator loads into
    x = generator_input("paper", index)[0]
    want = ORACLE[sorted(ORACLE)[index]]
    assert x.shape[0] == want["channels"] == 151 and list(x.shape[1:]) == want["shape"]
    assert bool((x.sum(0) == 1).all()), "not a one-hot: some pixel has no or several hot channels"
    amax = x.argmax(0).numpy().astype(np.uint8)
    hot = sorted(int(c) for c in np.unique(amax))
    assert hot == want["hot_channels"]
    counts = {str(c): int((amax == c).sum()) for c in hot}
    assert counts == want["pixels_per_channel"]
    assert hashlib.sha256(amax.tobytes()).hexdigest() == want["argmax_sha256"]


def test_fixture_is_for_the_shared_sample_files():
    for want in ORACLE.values():
        path = ADE.parent / want["label_file"]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == want["label_file_sha256"], path
