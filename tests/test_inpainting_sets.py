"""Inpainting sets as distributed (Paris StreetView, Places2, CelebA-HQ): layouts, resizing, the card's mask
protocol, and `bench run` on a stand-in copy (the real sets cannot be downloaded here: small photographs that
scikit-image ships, saved under the distributed file names). The in-hole PSNR of the run is recomputed from the
written samples, the exported real images and the card's mask, pixel by pixel in numpy."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def _photos(n: int, h: int, w: int) -> list[np.ndarray]:
    from skimage import data

    srcs = [data.astronaut(), data.chelsea(), data.coffee(), data.rocket()]
    out = []
    for i in range(n):
        s = srcs[i % len(srcs)]
        y, x = (17 * i) % (s.shape[0] - h + 1), (29 * i) % (s.shape[1] - w + 1)
        out.append(np.ascontiguousarray(s[y : y + h, x : x + w]))
    return out


def _save(path: Path, a: np.ndarray, **kw) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(a).save(path, **kw)


def test_paris_streetview_run_scores_the_centre_hole(tmp_path):
    from bench import masks
    from bench.data import get_dataset
    from bench.runner import RunSpec, run

    root = tmp_path / "paris"
    for i, im in enumerate(_photos(100, 90, 120)):  # the authors' eval images are larger; any size is resized
        _save(root / "paris_eval_gt" / f"{i + 1:03d}_im.png", im)
    ds = get_dataset("paris-streetview", root=root)
    assert len(ds) == 100 and ds.samples[0].key == "001" and tuple(ds[0]["image"].shape) == (3, 128, 128)
    rec = run(RunSpec(method="blur-fill", dataset="paris-streetview", root=str(root), out=str(tmp_path / "run"),
                      results=str(tmp_path / "results"), progress=False, metrics=("psnr", "hole_psnr", "l1")))
    mask = masks.mask_for(ds.task_params, "001", (128, 128))
    assert mask.sum() == 64 * 64 and mask[32:96, 32:96].all()  # the context encoders' centre hole
    import json

    real_dir = Path(json.loads((tmp_path / "run" / "evaluation.json").read_text())["inputs"]["real"]["dir"])
    values = []
    for s in ds.samples:
        fake = np.asarray(Image.open(tmp_path / "run" / "fake" / f"{s.key}.png")).astype(np.float64) / 255
        real = np.asarray(Image.open(real_dir / f"{s.key}.png")).astype(np.float64) / 255
        m = masks.mask_for(ds.task_params, s.key, (128, 128))
        assert (fake[~m] == real[~m]).all()  # blur-fill keeps every known pixel
        values.append(-10 * np.log10(((fake[m] - real[m]) ** 2).mean() + 1e-8))  # piq's epsilon, as psnr
    assert rec["metrics"]["hole_psnr"] == pytest.approx(np.mean(values), rel=1e-9)
    assert 8 < rec["metrics"]["hole_psnr"] < 30


@pytest.mark.parametrize("name,folder,fmt,n", [("places2", "val_256", "Places365_val_{:08d}.jpg", 3),
                                                ("celeba-hq", "CelebA-HQ-img", "{}.jpg", 3)])
def test_places2_and_celeba_hq_layouts(tmp_path, name, folder, fmt, n):
    from bench import masks
    from bench.data import get_dataset

    for i, im in enumerate(_photos(n, 280, 280)):
        _save(tmp_path / folder / fmt.format(i + 1), im, quality=95)
    ds = get_dataset(name, root=tmp_path)
    assert len(ds) == n and tuple(ds[0]["image"].shape) == (3, 256, 256)
    ratios = [masks.hole_ratio(masks.mask_for(ds.task_params, s.key, (256, 256))) for s in ds.samples]
    assert all(0.2 <= r <= 0.3 for r in ratios), ratios  # the card's free-form band
