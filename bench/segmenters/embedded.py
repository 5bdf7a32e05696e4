"""The embedded segmenter of ``synthetic-streets``: a small network trained by this project, weights in the package.

Its mIoU on the real ``synthetic-streets`` val images is the "oracle" row of the synthetic leaderboard: what a
generator whose images were indistinguishable from the dataset's would score. Works offline (no download).

Training (``scripts/train_embedded_segmenter.py``; ``train()`` below): the 400 train label maps at 64x64, each
with its dataset photo plus ``renders`` extra photos drawn by ``bench.data.synthetic.render`` (new photo seeds, the
same label maps: the dataset's own photo distribution), horizontal flips, Adam with a one-cycle schedule,
class-weighted cross-entropy, a fixed thread count and deterministic algorithms, so a re-run with the same seed
gives the same bytes. Weights are stored as float32 safetensors (written here, byte-deterministic) with a JSON
sidecar holding the training command, seed, val mIoU, torch version and CPU capability.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from bench import weights
from bench.safetensors_io import load_safetensors, save_safetensors  # noqa: F401 (the script and tests use E.*)
from bench.segmenters.base import Segmenter, SegmenterProtocol, load_release

WEIGHTS_DIR = Path(__file__).parent / "weights"
WEIGHTS_FILENAME = "embedded-synthetic-streets.safetensors"
META_FILENAME = "embedded-synthetic-streets.json"
NUM_CLASSES = 8
WIDTHS = (12, 24, 48, 64)  # channels at 64, 32, 16, 8 pixels
TRAIN_DEFAULTS = {"epochs": 20, "renders": 1, "batch_size": 32, "lr": 4e-3, "threads": 2}


def _meta() -> dict[str, Any]:
    p = WEIGHTS_DIR / META_FILENAME
    return json.loads(p.read_text()) if p.is_file() else {}


WEIGHTS = weights.register(weights.WeightFile(
    name="embedded-synthetic-streets",
    filename=WEIGHTS_FILENAME,
    sha256=_meta().get("sha256", "0" * 64),  # the committed file's digest (see the sidecar JSON)
    carriers=(("bench", f"segmenters/weights/{WEIGHTS_FILENAME}"),),
    license="MIT (cgan-bench)",
    description="cgan-bench's embedded synthetic-streets segmenter (scripts/train_embedded_segmenter.py)",
))

PROTOCOL = SegmenterProtocol(
    name="embedded-synthetic-streets",
    label_space="synthetic-streets",
    num_classes=NUM_CLASSES,
    ignore_index=255,
    input_size=(64, 64),
    image_resize="bilinear",
    channel_order="RGB",
    scale=1.0 / 255.0,
    mean=(0.5, 0.5, 0.5),
    std=(0.25, 0.25, 0.25),
    resize="label-to-prediction",
    weights=("embedded-synthetic-streets",),
    reference="cgan-bench scripts/train_embedded_segmenter.py on synthetic-streets train (64x64)",
)


def build_net(num_classes: int = NUM_CLASSES, widths: tuple[int, ...] = WIDTHS) -> Any:
    """A small U-Net: two 3x3 conv-BN-ReLU per level down, max-pool, bilinear up + skip concatenation + one conv."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    def cbr(cin: int, cout: int, dilation: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False), nn.BatchNorm2d(cout),
                nn.ReLU(inplace=True)]

    def block(cin: int, cout: int, dilation: int = 1) -> nn.Sequential:
        return nn.Sequential(*cbr(cin, cout), *cbr(cout, cout, dilation))

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            w = widths
            self.down = nn.ModuleList([block(3, w[0])] + [block(w[i - 1], w[i]) for i in range(1, len(w) - 1)]
                                      + [block(w[-2], w[-1], dilation=2)])
            self.up = nn.ModuleList(nn.Sequential(*cbr(w[i + 1] + w[i], w[i])) for i in range(len(w) - 1))
            self.head = nn.Conv2d(w[0], num_classes, 1)

        def forward(self, x):
            skips = []
            for i, layer in enumerate(self.down):
                if i:
                    x = F.max_pool2d(x, 2)
                x = layer(x)
                skips.append(x)
            for i in reversed(range(len(self.up))):
                x = F.interpolate(x, size=skips[i].shape[-2:], mode="bilinear", align_corners=False)
                x = self.up[i](torch.cat([x, skips[i]], 1))
            return self.head(x)

    return UNet()


# ----------------------------------------------------------------------------- the segmenter


class EmbeddedSegmenter(Segmenter):
    """``embedded-synthetic-streets``: loads the committed weights (sha256-verified through the resolver)."""

    def __init__(self, weights: str | None = None, *, pretrained: bool = True, device: str = "cpu",
                 batch_size: int = 64) -> None:
        net = build_net()
        path, digest = load_release(net, WEIGHTS.name, weights, PROTOCOL.name, load_safetensors) if pretrained else (None, None)
        super().__init__(net, PROTOCOL, weights_sha256=digest, device=device, batch_size=batch_size,
                         weights_path=path)


# ----------------------------------------------------------------------------- training


def training_arrays(seed: int = 0, renders: int = 3, split: str = "train", limit: int | None = None) -> tuple[Any, Any]:
    """(images uint8 [N,3,64,64], labels int64 [N,64,64]): the split's samples plus ``renders`` extra photos each."""
    import numpy as np

    from bench.data import get_dataset
    from bench.data import synthetic as S

    ds = get_dataset("synthetic-streets", split=split, resolution=(64, 64))
    n = len(ds) if limit is None else min(limit, len(ds))
    images, labels = [], []
    for i in range(n):
        image, label, inst = ds.arrays(i)
        images.append(image)
        labels.append(label)
        for k in range(renders):  # a photo seed stream disjoint from the dataset's ([seed, split, i, 1])
            images.append(S.render(label, inst, [seed, S.SPLIT_CODE[split], i, 1000 + k]))
            labels.append(label)
    x = np.stack(images).transpose(0, 3, 1, 2).copy()
    y = np.stack(labels).astype(np.int64)
    return x, y


def train(seed: int = 0, epochs: int = TRAIN_DEFAULTS["epochs"], renders: int = TRAIN_DEFAULTS["renders"],
          batch_size: int = TRAIN_DEFAULTS["batch_size"], lr: float = TRAIN_DEFAULTS["lr"],
          threads: int = TRAIN_DEFAULTS["threads"], limit: int | None = None, max_steps: int | None = None,
          log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the embedded network; returns its state dict (float32 / int64 tensors). Deterministic for a seed."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    torch.use_deterministic_algorithms(True)
    prev_threads = torch.get_num_threads()
    torch.set_num_threads(threads)  # fixed: the work split (and float reduction order) must not follow the machine
    try:
        torch.manual_seed(seed)
        x, y = training_arrays(seed, renders, limit=limit)
        # class weights ~ 1/sqrt(frequency), mean 1: thin poles and small people would otherwise be ignored
        freq = np.bincount(y.ravel(), minlength=NUM_CLASSES).astype(np.float64) / y.size
        cw = 1.0 / np.sqrt(np.maximum(freq, 1e-6))
        class_weights = torch.tensor(cw / cw.mean(), dtype=torch.float32)
        net = build_net()
        net.train()
        opt = torch.optim.Adam(net.parameters(), lr=lr)
        steps_per_epoch = -(-len(x) // batch_size)
        total = epochs * steps_per_epoch if max_steps is None else min(max_steps, epochs * steps_per_epoch)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=max(total, 1), pct_start=0.15)
        pre = Segmenter(net, PROTOCOL, weights_sha256=None)  # for its preprocess()
        net.train()
        rng = np.random.default_rng(seed)
        step, t0 = 0, time.perf_counter()
        for epoch in range(epochs):
            order = rng.permutation(len(x))
            flips = rng.random(len(x)) < 0.5
            run = 0.0
            for s in range(0, len(x), batch_size):
                idx = order[s:s + batch_size]
                xb, yb = torch.from_numpy(x[idx]), torch.from_numpy(y[idx])
                f = torch.from_numpy(flips[idx])
                xb = torch.where(f[:, None, None, None], xb.flip(-1), xb)
                yb = torch.where(f[:, None, None], yb.flip(-1), yb)
                loss = F.cross_entropy(net(pre.preprocess(xb)), yb, weight=class_weights)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                run += loss.item() * len(idx)
                step += 1
                if step >= total:
                    break
            if log:
                log(f"epoch {epoch + 1}/{epochs} loss {run / len(x):.4f} ({time.perf_counter() - t0:.0f}s)")
            if step >= total:
                break
        net.eval()
        return {k: v.detach().clone() for k, v in net.state_dict().items()}
    finally:
        torch.set_num_threads(prev_threads)
        torch.use_deterministic_algorithms(False)


def evaluate_split(segmenter: Any, split: str = "val") -> dict[str, Any]:
    """mIoU / pixel accuracy of a segmenter on the real synthetic-streets images of ``split`` (64x64)."""
    import numpy as np

    from bench.data import get_dataset
    from bench.metrics.miou import confusion_matrix, scores_from_confusion

    ds = get_dataset("synthetic-streets", split=split, resolution=(64, 64))
    cm = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for batch in ds.loader(batch_size=50):
        pred = segmenter(batch["image"]).numpy()
        target = ds.to_segmenter(batch["label"][:, 0].numpy())
        cm += confusion_matrix(pred, target, NUM_CLASSES, ds.ignore_index)
    return scores_from_confusion(cm)
