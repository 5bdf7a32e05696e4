"""The metric registry and one shared tester over it (as torchmetrics' MetricTester): for every registered
built-in metric, on the same inputs, (1) parity with an independent implementation, (2) batch-size independence,
(3) two shards merged by sum give the one-process value. Networks are small deterministic stand-ins (the real
networks' parity is tested in test_fid_parity, test_kid_is, test_lpips_is_pipeline); what is checked here is each
metric's own math, pairing, grouping and state reduction, through the same views the evaluator builds.

Plus the README's plug-in example end to end: `bench ls`, `bench eval`, `bench run`, records, leaderboard.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from bench import images as imio
from bench.cli import main
from bench.evaluate import BatchView, EvalContext, EvalOptions, _pair
from bench.metrics import registry
from bench.metrics.diversity import ms_ssim_scales, sample_pairs
from conftest import smooth_images, write_folder
from test_paired_and_diversity import ms_ssim_numpy

K, CONDITIONS, DIM, CLASSES = 3, 8, 6, 4  # samples per condition, conditions, stand-in feature dim (< 8 reals: full-rank covariances), classes


# --- stand-in networks: deterministic functions of the pixels, so references can recompute them ------------------

_PROJ = np.random.default_rng(7).standard_normal((3 * 8 * 8, DIM))
_LOGIT_PROJ = np.random.default_rng(8).standard_normal((3 * 8 * 8, 10)) / 300


def _pooled(images_u8: np.ndarray) -> np.ndarray:
    """[B,H,W,3] uint8 -> [B, 192] float64: 8x8 average pooling."""
    b, h, w, _ = images_u8.shape
    x = images_u8.astype(np.float64).reshape(b, 8, h // 8, 8, w // 8, 3).mean((2, 4))
    return x.transpose(0, 3, 1, 2).reshape(b, -1) / 255 - 0.5  # centred, like real network features


class Featurizer:
    dim, what, weights = DIM, "stand-in features", {}
    cache_identity = {"extractor": "stand-in"}

    def prepare(self, images):
        return np.stack(images)

    def __call__(self, x):
        return torch.from_numpy(_pooled(x) @ _PROJ).float()


_SPACE_PROJ = {name: np.random.default_rng(seed).standard_normal((3 * 8 * 8, DIM))
               for name, seed in (("inception-pool3", 7), ("dinov2-vit-l-14", 9), ("clip-vit-b-32", 10))}
_SPACE_PROJ["inception-pool3"] = _PROJ


class SpaceFeaturizer(Featurizer):
    """The stand-in of another feature network (DINOv2, CLIP): the same pooling, another projection."""

    def __init__(self, name: str) -> None:
        self.proj = _SPACE_PROJ[name]

    def __call__(self, x):
        return torch.from_numpy(_pooled(x) @ self.proj).float()


class Logits:
    prepare, what, weights, cache_identity = None, "stand-in logits", {}, None

    def __call__(self, fake_u8):
        return torch.from_numpy(_pooled(fake_u8.permute(0, 2, 3, 1).numpy()) @ _LOGIT_PROJ)


def _stand_in_lpips(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).mean() / 255)


class Lpips:
    weights = {}

    def distance(self, a, b):
        return torch.tensor([_stand_in_lpips(x.numpy(), y.numpy()) for x, y in zip(a, b)], dtype=torch.float64)


def _segment(img_hwc: np.ndarray) -> np.ndarray:
    return np.clip(img_hwc[..., 0].astype(np.int64) * CLASSES // 256, 0, CLASSES - 1)


def _classify(images_u8: np.ndarray) -> np.ndarray:
    """[B,H,W,3] uint8 -> the stand-in classifier's class: the mean of the green channel in CLASSES bins."""
    return np.clip(images_u8[..., 1].reshape(len(images_u8), -1).mean(1).astype(np.int64) * CLASSES // 256, 0,
                   CLASSES - 1)


class Classifier:
    weights = {}

    def __call__(self, fake_u8):
        return torch.from_numpy(_classify(fake_u8.permute(0, 2, 3, 1).numpy()))


class Matcher:
    """Stand-in image-text matcher: an image is its mean colour, a caption the colour it states ("r g b")."""

    weights = {}

    def encode_images(self, fake_u8):
        return fake_u8.to(torch.float64).mean((2, 3)).numpy()

    def encode_texts(self, texts):
        return np.array([[float(v) for v in t.split()] for t in texts])


class ClipText:
    """Stand-in CLIP text tower: the hashing embedding of the caption in the stand-in feature dimension."""

    weights = {}

    def __call__(self, texts):
        from bench.text.hashing import embed_all

        return torch.from_numpy(embed_all(texts, DIM))


def _captions(reals):
    """Each condition's caption: its real image's mean colour, rounded (the samples are noisy copies of it)."""
    return {r.key: " ".join(str(int(v)) for v in imio.decode(r).reshape(-1, 3).mean(0).round()) for r in reals}


class Segmenter:
    num_classes, sha256, protocol, weights = CLASSES, None, None, {}
    prepare = None
    what = "stand-in segmentation"

    def __call__(self, fake_u8):
        return torch.from_numpy(np.stack([_segment(x) for x in fake_u8.permute(0, 2, 3, 1).numpy()]))


# --- inputs: real images, K samples per condition, label maps -------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("registry")
    reals = smooth_images(CONDITIONS, size=64, seed=0)
    real = write_folder(root / "real", reals)
    fake = root / "fake"
    rng = np.random.default_rng(1)
    for i, r in enumerate(reals):
        (fake / f"{i:04d}").mkdir(parents=True)
        for k in range(K):
            noisy = np.clip(r.astype(np.int64) + rng.integers(-40, 41, r.shape), 0, 255).astype(np.uint8)
            from PIL import Image

            Image.fromarray(noisy).save(fake / f"{i:04d}" / f"{k}.png")
    labels = root / "labels"
    labels.mkdir()
    from PIL import Image

    for i, r in enumerate(reals):
        label = _segment(r).astype(np.uint8)
        label[:4, :4] = 255  # some ignored pixels
        Image.fromarray(label).save(labels / f"{i:04d}.png")
    return real, fake, labels


def _context(inputs, wanted):
    real, fake, labels = inputs
    reals = imio.scan_folder(real, role="real")
    fakes = imio.scan_folder(fake, role="fake")
    pairs = _pair(fakes, reals)
    groups: dict = {}
    for p in pairs:
        groups.setdefault(p.group, []).append(p)
    opts = EvalOptions(kid_subsets=7, kid_subset_size=6, diversity_pairs=2, segmenter="stand-in", ignore_index=255,
                       classes=_classes(reals), classifier="stand-in", class_diversity_pairs=4, cas_steps=6,
                       cas_seeds=(0, 1), captions=_captions(reals), matcher="stand-in", r_precision_candidates=5)
    if any("masks" in registry.get(m).inputs for m in wanted):  # the in-hole metrics: an inpainting protocol
        from bench.protocol import Protocol

        opts.protocol_fields = {"task": Protocol.freeze({"name": "inpainting", **MASKS})}
    ctx = EvalContext(opts, reals, fakes, pairs, groups, (64, 64), labels, list(wanted))
    ctx.networks = {"inception-pool3": Featurizer(), "inception-logits": Logits(), "lpips-alex": Lpips(),
                    "segmenter": Segmenter(), "classifier": Classifier(), "matcher": Matcher(), "clip-text": ClipText(),
                    "dinov2-vit-l-14": SpaceFeaturizer("dinov2-vit-l-14"), "clip-vit-b-32": SpaceFeaturizer("clip-vit-b-32")}
    return ctx


def _classes(reals):
    """Condition i has class i % CLASSES: 2 real images and 2 * K samples per class."""
    return {r.key: i % CLASSES for i, r in enumerate(sorted(reals, key=lambda r: r.key))}


def _views(ctx, conditions_per_batch):
    """Views over whole conditions, as the evaluator builds them (paired real images of the same names)."""
    conds = sorted(ctx.groups)
    for s in range(0, len(conds), conditions_per_batch):
        items = [p for c in conds[s : s + conditions_per_batch] for p in ctx.groups[c]]
        fake_np = [imio.decode(p.file) for p in items]
        real_np = {p.partner.key: imio.decode(p.partner) for p in items}
        prepared = {name: Featurizer().prepare(fake_np) for name in _SPACE_PROJ}
        yield BatchView(ctx, items, {"fake_np": fake_np, "real_np": real_np, "prepared": prepared})


def _real_rows(ctx):
    images = np.stack([imio.decode(r) for r in ctx.reals])
    return {name: SpaceFeaturizer(name)(images).numpy() for name in _SPACE_PROJ}


def _run(spec, ctx, views):
    state = spec.make(ctx)
    for v in views:
        state.update_view(v)
    if "features" in spec.inputs:
        state.update_real(_real_rows(ctx))
    return state


def _values(state):
    out = dict(state.compute())
    out.pop("_details", None)
    return out


# --- independent references, from the files --------------------------------------------------------------------

def _all(ctx):
    fakes = [(p.group, imio.decode(p.file), imio.decode(p.partner)) for p in ctx.pairs]
    return fakes, np.stack([imio.decode(r) for r in ctx.reals])


def _rows(ctx, network="inception-pool3"):
    """(fake rows, real rows) of a stand-in feature network, recomputed from the files (float32, as the networks)."""
    fakes, reals = _all(ctx)
    a = _pooled(np.stack([f for _, f, _ in fakes])) @ _SPACE_PROJ[network]
    b = _pooled(reals) @ _SPACE_PROJ[network]
    return a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)


def _ref_fid(ctx, network="inception-pool3", key="fid"):
    a, b = _rows(ctx, network)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr (S1 S2)^1/2 = tr (S1^1/2 S2 S1^1/2)^1/2: scipy's sqrtm of S1 and the eigenvalues of a symmetric PSD matrix,
    # independent of our SVD of S1^1/2 S2^1/2 (a non-symmetric sqrtm(S1 S2) returns ~1e-8 imaginary parts here)
    r1 = scipy.linalg.sqrtm(s1).real
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh(r1 @ s2 @ r1), 0, None)).sum()
    return {key: float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * tr_covmean)}


def _ref_kid(ctx, network="inception-pool3", key="kid"):
    a, b = _rows(ctx, network)
    rng, m, out = np.random.RandomState(0), 6, []
    for _ in range(7):
        x, y = a[rng.choice(len(a), m, replace=False)], b[rng.choice(len(b), m, replace=False)]
        kxx, kyy, kxy = [(p @ q.T / DIM + 1) ** 3 for p, q in ((x, x), (y, y), (x, y))]
        out.append((kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean())
    return {key: float(np.mean(out))}


def _ref_is(ctx):
    fakes, _ = _all(ctx)
    logits = _pooled(np.stack([f for _, f, _ in fakes])) @ _LOGIT_PROJ
    logits = logits[np.random.RandomState(2020).permutation(len(logits))]
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    scores = []
    for i in range(10):
        c = p[i * len(p) // 10 : (i + 1) * len(p) // 10]
        scores.append(np.exp((c * (np.log(c) - np.log(c.mean(0)))).sum(1).mean()))
    return {"is": float(np.mean(scores))}


def _ref_miou(ctx):
    cm = np.zeros((CLASSES, CLASSES), dtype=np.int64)
    for p in ctx.pairs:
        pred = _segment(imio.decode(p.file))
        label = imio.decode_label(ctx.labels_dir / f"{p.group}.png")
        keep = label != 255
        for t, q in zip(label[keep], pred[keep]):
            cm[t, q] += 1
    iou = [cm[c, c] / (cm[c].sum() + cm[:, c].sum() - cm[c, c]) for c in range(CLASSES)
           if cm[c].sum() + cm[:, c].sum() > 0]
    return {"miou": float(np.mean(iou)), "pixel_acc": float(np.trace(cm) / cm.sum())}


def _ref_psnr(ctx):
    fakes, _ = _all(ctx)
    return {"psnr": float(np.mean([peak_signal_noise_ratio(r, f, data_range=255) for _, f, r in fakes]))}


def _ref_ssim(ctx):
    # skimage pads ('reflect'), piq uses the valid region: compare on a crop where both see whole windows
    fakes, _ = _all(ctx)
    return {"ssim": float(np.mean([structural_similarity(r, f, gaussian_weights=True, sigma=1.5, data_range=255,
                                                         use_sample_covariance=False, channel_axis=2)
                                   for _, f, r in fakes]))}


def _ref_y(ctx, fn):
    # scikit-image's rgb2ycbcr (BT.601, Y in 16..235) and its metrics on the 0..255 Y planes; no task: crop 0
    from skimage.color import rgb2ycbcr

    fakes, _ = _all(ctx)
    return float(np.mean([fn(rgb2ycbcr(r)[..., 0], rgb2ycbcr(f)[..., 0]) for _, f, r in fakes]))


def _ref_psnr_y(ctx):
    return {"psnr_y": _ref_y(ctx, lambda r, f: peak_signal_noise_ratio(r, f, data_range=255))}


def _ref_ssim_y(ctx):
    # skimage filters with reflect padding, then averages only pixels 5 from the border: BasicSR's 'valid' windows
    return {"ssim_y": _ref_y(ctx, lambda r, f: structural_similarity(r, f, gaussian_weights=True, sigma=1.5,
                                                                     data_range=255, use_sample_covariance=False))}


MASKS = {"mask": "free-form", "band": [0.2, 0.3], "seed": 5}  # the in-hole metrics' protocol in this tester


def _ref_pixel_errors(ctx):
    # numpy on the 0..1 scale, every pixel and channel (context encoders' mean L1 / L2)
    fakes, _ = _all(ctx)
    d = [f.astype(np.float64) / 255 - r.astype(np.float64) / 255 for _, f, r in fakes]
    return {"l1": float(np.mean([np.abs(x).mean() for x in d])), "l2": float(np.mean([(x ** 2).mean() for x in d]))}


def _ref_hole(ctx):
    # the holes as the inpainting task's batch gives them to a method (its make_batch), the errors in numpy and
    # scikit-image's PSNR over the hole's pixels (N x 3 arrays)
    from bench.tasks import get_task

    task = get_task("inpainting")
    fakes, _ = _all(ctx)
    psnr, l1, l2 = [], [], []
    for g, f, r in fakes:
        image = torch.from_numpy(np.array(r)).permute(2, 0, 1)[None]
        hole = task.make_batch({"image": image, "path": [g]}, MASKS, [g])["mask"][0, 0].numpy()
        fh, rh = f[hole].astype(np.float64), r[hole].astype(np.float64)
        psnr.append(peak_signal_noise_ratio(rh, fh, data_range=255))
        l1.append(np.abs(fh / 255 - rh / 255).mean())
        l2.append(((fh / 255 - rh / 255) ** 2).mean())
    return {"hole_psnr": float(np.mean(psnr)), "hole_l1": float(np.mean(l1)), "hole_l2": float(np.mean(l2))}


def _diversity_pairs(ctx):
    for g in sorted(ctx.groups):
        members = ctx.groups[g]
        rng = np.random.default_rng([ctx.opts.diversity_seed, zlib.crc32(g.encode())])
        for i, j in sample_pairs(len(members), ctx.opts.diversity_pairs, rng):
            yield imio.decode(members[i].file), imio.decode(members[j].file)


def _ref_msssim_diversity(ctx):
    scales = ms_ssim_scales(64, 64)
    return {"msssim_diversity": float(np.mean([ms_ssim_numpy(a, b, scales) for a, b in _diversity_pairs(ctx)]))}


def _ref_lpips(ctx):
    fakes, _ = _all(ctx)
    return {"lpips": float(np.mean([_stand_in_lpips(f.transpose(2, 0, 1), r.transpose(2, 0, 1)) for _, f, r in fakes]))}


def _ref_lpips_diversity(ctx):
    return {"lpips_diversity": float(np.mean([_stand_in_lpips(a, b) for a, b in _diversity_pairs(ctx)]))}


def _class_rows(ctx):
    """(fake rows, real rows) of the stand-in features for each class, from the files."""
    fakes, reals = _all(ctx)
    cls = ctx.opts.classes
    a = (_pooled(np.stack([f for _, f, _ in fakes])) @ _PROJ).astype(np.float32).astype(np.float64)
    b = (_pooled(reals) @ _PROJ).astype(np.float32).astype(np.float64)
    fake_c = np.array([cls[g] for g, _, _ in fakes])
    real_c = np.array([cls[r.key] for r in ctx.reals])
    return [(a[fake_c == c], b[real_c == c]) for c in range(CLASSES)]


def _ref_fid_intra(ctx):
    # per class, a 50-digit Frechet distance of the rows (each class has 2 reals: rank-1 covariances, where float64
    # eigendecompositions are off by ~1e-8 of the value); ours: singular values of the centred rows' product
    from mp_frechet import frechet_distance_mp

    return {"fid_intra": float(np.mean([frechet_distance_mp(x, y) for x, y in _class_rows(ctx)]))}


def _ref_kid_intra(ctx):
    # per class, every kernel entry summed in a loop (the unbiased estimator for unequal sizes, written out)
    k = lambda u, v: (u @ v / DIM + 1) ** 3  # noqa: E731
    out = []
    for x, y in _class_rows(ctx):
        n, m = len(x), len(y)
        xx = sum(k(x[i], x[j]) for i in range(n) for j in range(n) if i != j) / (n * (n - 1))
        yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
        xy = sum(k(x[i], y[j]) for i in range(n) for j in range(m)) / (n * m)
        out.append(xx + yy - 2 * xy)
    return {"kid_intra": float(np.mean(out))}


def _ref_class_acc(ctx):
    fakes, _ = _all(ctx)
    pred = _classify(np.stack([f for _, f, _ in fakes]))
    return {"class_acc": float(np.mean(pred == np.array([ctx.opts.classes[g] for g, _, _ in fakes])))}


def _ref_r_precision(ctx):
    # every sample ranked by hand: its own caption and 4 mismatched ones (the documented draw), cosine in python
    # floats, the top shared among ties
    keys = sorted(ctx.opts.captions)
    texts = {k: np.array([float(v) for v in ctx.opts.captions[k].split()]) for k in keys}
    credits = []
    for p in ctx.pairs:
        own = keys.index(p.group)
        sample = int(p.file.path.stem)
        rng = np.random.default_rng([0, own, sample])
        others = [i for i in range(len(keys)) if i != own]
        cands = [own, *rng.choice(np.array(others), size=4, replace=False).tolist()]
        img = imio.decode(p.file).reshape(-1, 3).astype(np.float64).mean(0)
        sims = [float(img @ texts[keys[c]] / (np.linalg.norm(img) * np.linalg.norm(texts[keys[c]]))) for c in cands]
        credits.append(0.0 if sims[0] < max(sims) else 1.0 / sum(s == sims[0] for s in sims))
    return {"r_precision": float(np.mean(credits))}


def _ref_clip_score(ctx):
    from bench.text.hashing import embed

    fake_rows, _ = _rows(ctx, "clip-vit-b-32")
    scores = []
    for row, p in zip(fake_rows, ctx.pairs):
        t = embed(ctx.opts.captions[p.group], DIM).astype(np.float64)
        scores.append(100 * max(float(row @ t / (np.linalg.norm(row) * np.linalg.norm(t))), 0.0))
    return {"clip_score": float(np.mean(scores))}


def _ref_cas(ctx):
    # the samples read from the files in name order, labelled from the classes, one classifier per seed trained by
    # the recipe (pinned against a hand-written loop in test_class_metrics), tested on the real files
    from bench.classifiers import cnn

    order = sorted(ctx.pairs, key=lambda p: p.file.rel)
    x = torch.from_numpy(np.stack([imio.decode(p.file) for p in order])).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([ctx.opts.classes[p.group] for p in order])
    xr = torch.from_numpy(np.stack([imio.decode(r) for r in ctx.reals])).permute(0, 3, 1, 2).contiguous()
    yr = torch.tensor([ctx.opts.classes[r.key] for r in ctx.reals])
    accs = [float((cnn.predict(cnn.train(x, y, CLASSES, cnn.TrainOptions(steps=6), s), xr) == yr).double().mean())
            for s in (0, 1)]
    return {"cas": float(np.mean(accs)), "cas_std": float(np.std(accs))}


def _ref_msssim_class(ctx):
    scales = ms_ssim_scales(64, 64)
    cls = ctx.opts.classes
    fake_by, real_by = {}, {}
    for p in sorted(ctx.pairs, key=lambda p: p.file.rel):
        fake_by.setdefault(cls[p.group], []).append(imio.decode(p.file))
    for r in sorted(ctx.reals, key=lambda r: r.key):
        real_by.setdefault(cls[r.key], []).append(imio.decode(r))
    fake_v, real_v = [], []
    for c in range(CLASSES):
        for side, by, out in ((0, fake_by, fake_v), (1, real_by, real_v)):
            pairs = sample_pairs(len(by[c]), 4, np.random.default_rng([0, c, side]))
            out.append(np.mean([ms_ssim_numpy(by[c][i], by[c][j], scales) for i, j in pairs]))
    return {"msssim_class": float(np.mean(fake_v)), "msssim_class_real": float(np.mean(real_v)),
            "msssim_class_less_diverse": float(np.mean(np.array(fake_v) > np.array(real_v)))}


def _ref_precision_recall(ctx):
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    a, b = _rows(ctx)
    p, r = calculate_precision_recall_full(torch.from_numpy(a), torch.from_numpy(b), neighborhood=3)
    return {"precision": p, "recall": r}


def _ref_density_coverage(ctx):
    from prdc import compute_prdc

    a, b = _rows(ctx)
    out = compute_prdc(real_features=b, fake_features=a, nearest_k=5)
    return {"density": out["density"], "coverage": out["coverage"]}


def _authors_fit(sizes, values):
    """score_infinity.py's fit: sklearn's LinearRegression of the values on 1/N, predicted at 0."""
    from sklearn.linear_model import LinearRegression

    reg = LinearRegression().fit(1 / np.asarray(sizes).reshape(-1, 1), np.asarray(values).reshape(-1, 1))
    return float(reg.predict(np.array([[0.0]]))[0, 0])


def _subsets(n, dim):
    """The subsets: N_i = np.linspace(max(N // 10, dim), N, 15) as int32, each the head of a fresh seeded
    permutation."""
    sizes = np.linspace(max(n // 10, dim), n, 15).astype("int32")
    rng = np.random.default_rng(0)
    return sizes, [rng.permutation(n)[:s] for s in sizes]


def _ref_fid_inf(ctx):
    from cleanfid.fid import frechet_distance

    a, b = _rows(ctx)
    sizes, subsets = _subsets(len(a), a.shape[1])
    values = [frechet_distance(a[i].mean(0), np.cov(a[i], rowvar=False), b.mean(0), np.cov(b, rowvar=False))
              for i in subsets]
    return {"fid_inf": _authors_fit(sizes, values)}


def _ref_is_inf(ctx):
    fakes, _ = _all(ctx)
    logits = _pooled(np.stack([f for _, f, _ in fakes])) @ _LOGIT_PROJ
    pred = np.exp(logits - logits.max(1, keepdims=True))
    pred /= pred.sum(1, keepdims=True)
    sizes, subsets = _subsets(len(pred), pred.shape[1])
    values = []
    for i in subsets:  # score_infinity.py's calculate_inception_score, one split
        chunk = pred[i]
        values.append(np.exp(np.mean(np.sum(chunk * (np.log(chunk) - np.log(chunk.mean(0, keepdims=True))), 1))))
    return {"is_inf": _authors_fit(sizes, values)}


def _ref_bootstrap_ci(ctx):
    # each resample written out as rows (repeats included), clean-fid's Frechet distance (scipy sqrtm) and the
    # unbiased MMD^2 by position; the interval from numpy's quantiles of the bias-shifted replicates
    from cleanfid.fid import frechet_distance

    a, b = _rows(ctx)
    rng = np.random.default_rng(0)
    draws = [rng.integers(0, len(a), len(a)) for _ in range(100)]

    def fid(x):
        return frechet_distance(x.mean(0), np.cov(x, rowvar=False), b.mean(0), np.cov(b, rowvar=False))

    def kid(x):
        n, m = len(x), len(b)
        kxx, kyy, kxy = [(p @ q.T / DIM + 1) ** 3 for p, q in ((x, x), (b, b), (x, b))]
        return (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()

    out = {}
    for key, f in (("fid", fid), ("kid", kid)):
        reps = np.array([f(a[np.sort(i)]) for i in draws])
        bias = reps.mean() - f(a)
        out[f"{key}_ci_low"], out[f"{key}_ci_high"] = np.quantile(reps - bias, [0.025, 0.975])
        out[f"{key}_boot_std"], out[f"{key}_boot_bias"] = reps.std(ddof=1), bias
    out["fid_ci_low"] = max(0.0, out["fid_ci_low"])  # a Frechet distance is >= 0 (here the shifted interval is not)
    return out


# metric -> (independent reference, relative tolerance and why)
REFERENCES = {
    "fid": (_ref_fid, 1e-9),
    "kid": (_ref_kid, 1e-9),
    "is": (_ref_is, 1e-9),
    "miou": (_ref_miou, 1e-12),
    "psnr": (_ref_psnr, 1e-6),  # piq adds eps 1e-8 to the [0,1]-scaled MSE: ~2.5e-7 relative here
    "ssim": (_ref_ssim, 2e-2),  # skimage reflect-pads 64x64 borders, piq does not (exact parity: test_paired_and_diversity)
    "psnr_y": (_ref_psnr_y, 1e-12),
    "ssim_y": (_ref_ssim_y, 1e-12),  # the same valid windows (BasicSR parity: test_sr_conventions)
    "l1": (lambda ctx: {"l1": _ref_pixel_errors(ctx)["l1"]}, 1e-12),
    "l2": (lambda ctx: {"l2": _ref_pixel_errors(ctx)["l2"]}, 1e-12),
    # piq's eps 1e-8 on the MSE, as psnr
    "hole_psnr": (lambda ctx: {"hole_psnr": _ref_hole(ctx)["hole_psnr"]}, 1e-6),
    "hole_l1": (lambda ctx: {"hole_l1": _ref_hole(ctx)["hole_l1"]}, 1e-12),
    "hole_l2": (lambda ctx: {"hole_l2": _ref_hole(ctx)["hole_l2"]}, 1e-12),
    "lpips": (_ref_lpips, 1e-9),
    "msssim_diversity": (_ref_msssim_diversity, 1e-6),
    "lpips_diversity": (_ref_lpips_diversity, 1e-9),
    "fid_intra": (_ref_fid_intra, 1e-12),
    "kid_intra": (_ref_kid_intra, 1e-9),
    "class_acc": (_ref_class_acc, 1e-12),
    "cas": (_ref_cas, 1e-12),
    "msssim_class": (_ref_msssim_class, 1e-6),  # the numpy MS-SSIM of test_paired_and_diversity (as msssim_diversity)
    "precision_recall": (_ref_precision_recall, 1e-7),  # torch-fidelity returns float32 .item()s of the shares
    "density_coverage": (_ref_density_coverage, 1e-12),
    # scipy's sqrtm on covariances of 6..24 rows in 6 dims
    "fid_inf": (_ref_fid_inf, 1e-6),
    "is_inf": (_ref_is_inf, 1e-9),
    "bootstrap_ci": (_ref_bootstrap_ci, 1e-6),  # scipy's sqrtm, as fid_inf
    "fd_dinov2": (lambda ctx: _ref_fid(ctx, "dinov2-vit-l-14", "fd_dinov2"), 1e-9),
    "kid_dinov2": (lambda ctx: _ref_kid(ctx, "dinov2-vit-l-14", "kid_dinov2"), 1e-9),
    "fd_clip": (lambda ctx: _ref_fid(ctx, "clip-vit-b-32", "fd_clip"), 1e-9),
    "kid_clip": (lambda ctx: _ref_kid(ctx, "clip-vit-b-32", "kid_clip"), 1e-9),
    "r_precision": (_ref_r_precision, 1e-12),
    "clip_score": (_ref_clip_score, 1e-9),
}
BUILTIN = [s.name for s in registry.specs() if s.builtin]


def test_every_builtin_metric_has_a_reference_and_a_complete_spec():
    from bench.metrics.networks import NETWORKS
    from bench.protocol import Protocol

    assert set(BUILTIN) == set(REFERENCES), "a new metric needs an independent reference in this tester"
    fields = set(Protocol.__dataclass_fields__)
    ctx = _context_for_protocol()
    for spec in registry.specs():
        keys = [c.key for c in spec.leaderboard_columns]
        assert spec.name in keys or len(keys) > 1 or not spec.leaderboard, spec.name
        assert all(n in NETWORKS for n in spec.networks), spec.name
        assert set(spec.protocol(ctx) if spec.protocol else {}) <= fields, spec.name
    per_class = {s.name for s in registry.specs() if "classes" in s.inputs}
    assert per_class == {"fid_intra", "kid_intra", "class_acc", "cas", "msssim_class"}
    masked = {s.name for s in registry.specs() if "masks" in s.inputs}
    assert masked == {"hole_psnr", "hole_l1", "hole_l2"}
    # without classes the per-class metrics stay out of the fingerprint (protocols before them keep theirs); the
    # in-hole metrics enter only evaluations of an inpainting protocol
    text_only = {s.name for s in registry.specs() if "captions" in s.inputs}
    assert text_only == {"r_precision", "clip_score"}
    # no evaluation below is given captions but one, so r_precision stays out of their fingerprints
    assert dict(registry.metric_versions()) == {m: "1" for m in BUILTIN if m not in per_class | masked | text_only}
    with_classes = _context_for_protocol()
    with_classes.opts.classes = {"a": 0}
    assert dict(registry.metric_versions(with_classes)) == {m: "1" for m in BUILTIN if m not in masked | text_only}
    from bench.protocol import Protocol

    with_classes.opts.protocol_fields = {"task": Protocol.freeze({"name": "inpainting", **MASKS})}
    sr_only = {s.name for s in registry.specs() if s.tasks == ("super-resolution",)}
    assert sr_only == {"psnr_y", "ssim_y"}
    assert dict(registry.metric_versions(with_classes)) == {m: "1" for m in BUILTIN if m not in sr_only | text_only}
    with_classes.opts.captions = {"a": "a caption"}  # captions given: r_precision joins a text run, not an inpainting one
    assert "r_precision" not in dict(registry.metric_versions(with_classes))
    with_classes.opts.protocol_fields = {"task": Protocol.freeze({"name": "text", "embedding_dim": 8})}
    assert "r_precision" in dict(registry.metric_versions(with_classes))
    with_classes.opts.captions = None
    assert "r_precision" not in dict(registry.metric_versions(with_classes))
    with_classes.opts.protocol_fields = {"task": Protocol.freeze({"name": "inpainting", **MASKS})}
    # a track's own metrics stay out of other tracks' runs: a semantic run (it names its dataset, no task field)
    # keeps the fingerprint it had before the restoration metrics existed
    inpainting_only = {s.name for s in registry.specs() if s.tasks == ("inpainting",)}
    assert inpainting_only == {"l1", "l2"} | masked
    semantic = _context_for_protocol()
    semantic.opts.protocol_fields = {"dataset": "synthetic-streets@1"}
    assert dict(registry.metric_versions(semantic)) == {
        m: "1" for m in BUILTIN if m not in per_class | inpainting_only | sr_only | text_only}
    sr = _context_for_protocol()
    sr.opts.protocol_fields = {"dataset": "photos-sr@1", "task": Protocol.freeze({"name": "super-resolution", "scale": 4})}
    assert dict(registry.metric_versions(sr)) == {m: "1" for m in BUILTIN
                                                  if m not in per_class | inpainting_only | text_only}


def _context_for_protocol():
    return EvalContext(EvalOptions(), [], [], [], {}, (64, 64), None, ["msssim_diversity"])


@pytest.mark.parametrize("name", BUILTIN)
def test_metric_matches_its_reference(inputs, name):
    ctx = _context(inputs, [name])
    spec = registry.get(name)
    got = _values(_run(spec, ctx, _views(ctx, 3)))
    ref, rel = REFERENCES[name]
    for key, want in ref(ctx).items():
        assert got[key] == pytest.approx(want, rel=rel), key


@pytest.mark.parametrize("name", BUILTIN)
def test_metric_is_batch_size_independent_and_reduces_by_sum(inputs, name):
    ctx = _context(inputs, [name])
    spec = registry.get(name)
    whole = _values(_run(spec, ctx, _views(ctx, CONDITIONS)))
    assert _values(_run(spec, ctx, _views(ctx, 1))) == pytest.approx(whole, rel=1e-12)
    views = list(_views(ctx, 2))
    a, b = spec.make(ctx), spec.make(ctx)
    for i, v in enumerate(views):
        (a if i < len(views) // 2 else b).update_view(v)
    if "features" in spec.inputs:  # the real rows are the same on every rank; one shard carries them
        a.update_real(_real_rows(ctx))
    merged = _values(a.merge(b))
    for key, value in whole.items():
        assert merged[key] == pytest.approx(value, rel=1e-9 if "kid" not in name else 1e-6), key


# --- the README's plug-in example ------------------------------------------------------------------------------

@pytest.fixture
def brightness_plugin(tmp_path, monkeypatch):
    """The README's metric file as a package, registered through a real `bench.metrics` entry point."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = readme.split("# mypkg/brightness.py\n")[1].split("```")[0]
    site = tmp_path / "site"
    (site / "readme_metric_pkg").mkdir(parents=True)
    (site / "readme_metric_pkg" / "__init__.py").write_text("")
    (site / "readme_metric_pkg" / "brightness.py").write_text(code)
    dist = site / "readme_metric_pkg-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: readme-metric-pkg\nVersion: 0.1\n")
    entry = readme.split('[project.entry-points."bench.metrics"]\n')[1].split("\n")[0]
    assert entry.startswith("brightness_gap = ")
    name, value = (part.strip().strip('"') for part in entry.split("="))  # TOML quotes; entry_points.txt has none
    (dist / "entry_points.txt").write_text(f"[bench.metrics]\n{name} = {value.replace('mypkg.', 'readme_metric_pkg.')}\n")
    monkeypatch.syspath_prepend(str(site))
    saved = dict(registry.METRICS._items)
    monkeypatch.setattr(registry.METRICS, "_fill", registry._discover_plugins)  # read the entry points again
    yield
    registry.METRICS._items.clear()
    registry.METRICS._items.update(saved)
    sys.modules.pop("readme_metric_pkg.brightness", None)


def test_the_readme_metric_plugin_reaches_eval_records_and_the_leaderboard(brightness_plugin, tmp_path, capsys,
                                                                           folders):
    assert main(["ls"]) == 0
    assert "brightness_gap" in capsys.readouterr().out
    real, fake = folders
    out = tmp_path / "r.json"
    assert main(["eval", "--real", str(real), "--fake", str(fake), "--metrics", "psnr,brightness_gap",
                 "--out", str(out)]) == 0
    rec = json.loads(out.read_text())
    want = np.mean([abs(np.asarray(imio.decode(f)).mean() - np.asarray(imio.decode(r)).mean())
                    for f, r in zip(imio.scan_folder(fake, role="f"), imio.scan_folder(real, role="r"))])
    assert rec["metrics"]["brightness_gap"] == pytest.approx(want, rel=1e-12)
    assert rec["metric_protocols"]["brightness_gap"] == {"version": "1", "channels": "rgb-mean"}
    capsys.readouterr()
    # bench run: the default metric set includes installed plug-ins; the leaderboard gets its column and arrow
    lb = tmp_path / "lb"
    lb.mkdir()
    (lb / "reported.csv").write_text((Path(__file__).parents[1] / "leaderboard" / "reported.csv").read_text())
    assert main(["run", "--method", "label-colouring", "--limit", "3", "--metrics", "psnr,brightness_gap",
                 "--results", str(lb), "--out", str(tmp_path / "run")]) == 0
    assert "brightness_gap" in capsys.readouterr().out
    assert main(["leaderboard", "--dir", str(lb)]) == 0
    md = (lb / "synthetic-streets.md").read_text()
    assert "| brightness gap ↓ |" in md


def test_a_plugin_without_the_fingerprint_fields_keeps_the_builtin_fingerprint(brightness_plugin, folders, tmp_path):
    from bench.evaluate import evaluate_folders

    real, fake = folders
    with_plugin = evaluate_folders(real, fake, opts=EvalOptions(metrics=("psnr", "brightness_gap"), progress=False))
    without = evaluate_folders(real, fake, opts=EvalOptions(metrics=("psnr",), progress=False))
    assert with_plugin["fingerprint"] == without["fingerprint"]
    assert with_plugin["metrics"]["psnr"] == without["metrics"]["psnr"]
