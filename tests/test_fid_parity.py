"""FID of `bench eval` vs clean-fid (mode "clean") on the same folders with the same Inception weights."""

import json
import warnings

import pytest
import torch

from bench.cli import main
from bench.evaluate import EvalOptions, evaluate_folders
from conftest import perturb, smooth_images, write_folder


@pytest.fixture(scope="module")
def cleanfid_model(tmp_path_factory):
    """clean-fid's own InceptionV3W wrapper, loading the file our resolver finds (re-saved as clean-fid names it)."""
    from cleanfid.inception_torchscript import InceptionV3W

    from bench import weights

    path = weights.resolve(weights.INCEPTION_FID.name, download=False).path
    folder = tmp_path_factory.mktemp("cleanfid")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.load(str(path)).net, str(folder / "inception-2015-12-05.pt"))
        return InceptionV3W(str(folder), download=False).eval()


def cleanfid_fid(real, fake, model):
    from cleanfid import fid

    return fid.compute_fid(str(fake), str(real), mode="clean", custom_feat_extractor=model, num_workers=0,
                           batch_size=16, device=torch.device("cpu"), verbose=False)


def test_fid_matches_cleanfid(tmp_path, cleanfid_model):
    real = write_folder(tmp_path / "real", smooth_images(24, size=64, seed=3))
    fake = write_folder(tmp_path / "fake", perturb(smooth_images(24, size=64, seed=4), seed=5, amount=20))
    ours = evaluate_folders(real, fake, opts=EvalOptions(metrics=("fid",), progress=False))["metrics"]["fid"]
    ref = cleanfid_fid(real, fake, cleanfid_model)
    assert ref > 1.0
    assert abs(ours - ref) <= 1e-5 * ref, (ours, ref)


def test_fid_of_a_folder_with_itself_is_zero(folders):
    real, _ = folders
    fid = evaluate_folders(real, real, opts=EvalOptions(metrics=("fid",), progress=False))["metrics"]["fid"]
    assert abs(fid) <= 1e-6


def test_fid_is_batch_size_independent(folders):
    real, fake = folders
    values = [
        evaluate_folders(real, fake, opts=EvalOptions(metrics=("fid",), batch_size=bs, cache=False, progress=False))
        ["metrics"]["fid"]
        for bs in (1, 64)
    ]
    assert abs(values[0] - values[1]) <= 1e-6 * abs(values[1]), values


def test_cached_real_features_give_the_same_fid_and_are_reused(folders, tmp_path):
    real, fake = folders
    out1, out2 = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fid", "--out", str(out1)]) == 0
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "fid", "--out", str(out2)]) == 0
    r1, r2 = json.loads(out1.read_text()), json.loads(out2.read_text())
    assert (r1["real_feature_cache"], r2["real_feature_cache"]) == ("miss", "hit")
    assert r2["metrics"]["fid"] == pytest.approx(r1["metrics"]["fid"], rel=1e-12)
    assert r1["fingerprint"] == r2["fingerprint"]
    # provenance: the weights actually used, with their sha256, and package versions
    w = r1["weights"]["inception-v3-2015-12-05-fid"]
    assert w["sha256"].startswith("7ff4a85c") and r1["versions"]["torch"]
