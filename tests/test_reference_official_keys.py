"""The authors' released generators load strictly into ours: every key used, every shape equal.

The fixtures list the keys and shapes of the authors' generators (see each file's "source"; SPADE and pix2pixHD
were listed by instantiating the authors' classes from their repositories). Models are built on the meta device,
so the paper-size networks cost no memory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bench.adapter import DatasetInfo
from bench.errors import BenchError
from reference_models import official_keys
from reference_models.common import strict_load
from reference_models.configs import get_config
from reference_models.pix2pix import Pix2PixModel
from reference_models.pix2pixhd import Pix2PixHDModel
from reference_models.spade import SPADEModel

FIXTURES = Path(__file__).parent / "fixtures" / "reference_models"
FACADES_PALETTE = tuple((i * 20, 255 - i * 20, 128) for i in range(12))

CASES = {
    # fixture: (method, model class, config, dataset info)
    "spade_cityscapes_G": ("spade", SPADEModel, "paper", DatasetInfo("cityscapes", 35, (256, 512), True, 255)),
    "spade_ade20k_G": ("spade", SPADEModel, "paper", DatasetInfo("ade20k", 151, (256, 256), False, 255)),
    "spade_coco_G": ("spade", SPADEModel, "paper", DatasetInfo("coco-stuff", 183, (256, 256), True, 255)),
    "pix2pixhd_cityscapes_1024p_G": ("pix2pixhd", Pix2PixHDModel, "paper",
                                     DatasetInfo("cityscapes", 35, (1024, 2048), True, 255)),
    "pix2pixhd_cityscapes_512p_G": ("pix2pixhd", Pix2PixHDModel, "paper-cityscapes-512",
                                    DatasetInfo("cityscapes", 35, (512, 1024), True, 255)),
    "pix2pix_facades_G": ("pix2pix", Pix2PixModel, "paper",
                          DatasetInfo("facades", 12, (256, 256), False, 255, FACADES_PALETTE)),
}


def fixture_state(name: str) -> dict[str, torch.Tensor]:
    keys = json.loads((FIXTURES / f"{name}.json").read_text())["keys"]
    return {k: torch.empty(shape, device="meta") for k, shape in keys.items()}


def build_meta(cls, method, config, info):
    with torch.device("meta"):
        return cls(get_config(method, config, info), info)


def test_every_fixture_has_a_case():
    assert {p.stem for p in FIXTURES.glob("*.json")} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_official_keys_load_strictly(name):
    method, cls, config, info = CASES[name]
    model = build_meta(cls, method, config, info)
    G = model.generator_module()
    state = fixture_state(name)
    mapped = official_keys.to_ours(method, state, G)
    assert set(mapped) == set(G.state_dict())  # every key used
    strict_load(G, mapped, name, model.input_keys())  # every shape equal


@pytest.mark.parametrize("name", ["pix2pix_facades_G", "spade_ade20k_G"])
def test_old_pytorch_and_dataparallel_files(name):
    """Files from PyTorch < 0.4.1 lack num_batches_tracked; DataParallel files have 'module.' prefixes."""
    method, cls, config, info = CASES[name]
    G = build_meta(cls, method, config, info).generator_module()
    state = {"module." + k: v for k, v in fixture_state(name).items() if not k.endswith("num_batches_tracked")}
    strict_load(G, official_keys.to_ours(method, state, G), name)


def test_mismatch_is_one_line():
    method, cls, config, info = CASES["spade_cityscapes_G"]
    model = build_meta(cls, method, config, DatasetInfo("cityscapes", 34, (256, 512), True, 255))
    with pytest.raises(BenchError) as e:
        strict_load(model.G, official_keys.to_ours(method, fixture_state("spade_cityscapes_G"), model.G), "x",
                    model.input_keys())
    assert "label channels" in str(e.value) and "\n" not in str(e.value)
    state = fixture_state("spade_cityscapes_G")
    state.pop("conv_img.weight")
    G = build_meta(cls, method, config, info).G
    with pytest.raises(BenchError, match="1 missing keys"):
        strict_load(G, state, "x")


@pytest.mark.slow
def test_adapter_loads_official_style_file(tmp_path):
    """End to end with real tensors: an authors'-style file (no _meta) through the adapter's checkpoint loading."""
    from reference_models.spade import SPADEMethod

    info = CASES["spade_ade20k_G"][3]
    torch.manual_seed(0)
    state = {k: (torch.randn(v.shape) * 0.02 if v.dtype.is_floating_point else torch.zeros(v.shape, dtype=torch.long))
             for k, v in fixture_state("spade_ade20k_G").items()}
    for k in state:
        if k.endswith("running_var"):
            state[k] = torch.ones_like(state[k])
    p = tmp_path / "latest_net_G.pth"
    torch.save(state, p)
    gen = SPADEMethod(info, config="paper", checkpoint=str(p))
    batch = {"label": torch.zeros((1, 1, 256, 256), dtype=torch.long), "instance": torch.zeros((1, 1, 256, 256)),
             "path": ["a"]}
    assert gen.generate(batch, seeds=[0]).shape == (1, 3, 256, 256)
