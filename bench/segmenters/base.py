"""The ``Segmenter`` interface: uint8 images -> label map in the card's segmenter label space.

A segmenter is a network plus a frozen ``SegmenterProtocol``: everything about running it that can change an mIoU
(weights sha256, input resolution, resize filter, channel order and normalisation, multi-scale inputs, whether
predictions are resized to the label map or the label map to the predictions). ``bench.evaluate`` only needs the
callable contract::

    seg = get_segmenter("drn-d-105-cityscapes")          # resolves and verifies the weights
    pred = seg(images)          # images uint8 [B,3,H,W] -> int64 [B,H,W] at the images' size (default)
    seg.num_classes, seg.weights_sha256, seg.protocol

torch is imported lazily (``import bench.segmenters`` stays cheap).
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from bench.checkpoints import OPTIONAL_BUFFERS, normalize_release, strict_load  # noqa: F401 (OPTIONAL_BUFFERS re-exported)
from bench.errors import BenchError, WeightsUnavailable
from bench.labels import resize_nearest

if TYPE_CHECKING:
    import torch

RESIZE_POLICIES = ("prediction-to-label", "label-to-prediction")
CHANNEL_ORDERS = ("RGB", "BGR")
IMAGE_FILTERS = ("bilinear", "bicubic", "nearest")


@dataclass(frozen=True)
class SegmenterProtocol:
    """Every choice that changes a segmentation score, as data (part of the evaluation protocol's fingerprint).

    Normalisation: ``x = (image[channel_order] * scale - mean) / std`` with ``image`` in 0..255 and ``mean``/``std``
    given in the network's channel order.
    """

    name: str  # registry name, e.g. "drn-d-105-cityscapes"
    label_space: str  # e.g. "cityscapes-trainIds": which card mapping the predictions live in
    num_classes: int
    ignore_index: int = 255
    # (H, W) the network sees; None: the images' own size (the generated resolution)
    input_size: tuple[int, int] | None = None
    image_resize: str = "bilinear"  # filter bringing images to input_size (torch, antialiased when shrinking)
    size_multiple: int = 1  # input H, W rounded up (by resizing) to a multiple of this, as the official test code
    channel_order: str = "RGB"
    scale: float = 1.0 / 255.0
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    # Extra input scales the network itself combines (DeepLab MSC: max over 1, 0.75, 0.5); informational
    multi_scale: tuple[float, ...] = ()
    # Short-side sizes whose softmax outputs are averaged (mit_semseg's multi-size test); () = single size
    test_sizes: tuple[int, ...] = ()
    # "prediction-to-label": logits are resized (bilinear) to the label map's size, then argmax.
    # "label-to-prediction": the label map is resized (nearest) to the prediction's size.
    resize: str = "prediction-to-label"
    weights: tuple[str, ...] = ()  # names in bench.weights.REGISTRY
    reference: str = ""  # code, release and the papers that used it
    version: int = 1

    def __post_init__(self) -> None:
        if self.resize not in RESIZE_POLICIES:
            raise BenchError(f"segmenter '{self.name}': resize must be one of {RESIZE_POLICIES}, got '{self.resize}'")
        if self.channel_order not in CHANNEL_ORDERS:
            raise BenchError(f"segmenter '{self.name}': channel_order must be RGB or BGR, got '{self.channel_order}'")
        if self.image_resize not in IMAGE_FILTERS:
            raise BenchError(f"segmenter '{self.name}': image_resize must be one of {IMAGE_FILTERS}")

    def as_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


# ----------------------------------------------------------------------------- weights


def resolve_weights(name: str, explicit: str | os.PathLike[str] | None = None) -> tuple[str, str]:
    """(path, sha256) of a registered weight file, through ``bench.weights.resolve``.

    Files whose sha256 is not published are registered with ``sha256=""``: any file of that name is accepted, its
    digest is returned (so every result records exactly which file scored it) and a warning says so once.
    """
    from bench import weights

    wf = weights.get(name)
    try:
        rw = weights.resolve(name, explicit)
    except WeightsUnavailable as exc:
        msg = str(exc).replace(f"sha256 {wf.sha256})", "sha256 unpublished)") if not wf.sha256 else str(exc)
        if not wf.urls and wf.description:
            msg += f". Source: {wf.description}"
        raise WeightsUnavailable(msg) from None
    if not wf.sha256:
        _warn_once(name, f"weights '{name}': no sha256 is published for {wf.filename}; using {rw.path} "
                         f"(sha256 {rw.sha256}), which is recorded with every result")
    return str(rw.path), rw.sha256


_warned: set[str] = set()


def _warn_once(key: str, msg: str) -> None:
    if key not in _warned:
        _warned.add(key)
        warnings.warn(msg, stacklevel=3)


def combined_sha256(digests: Sequence[str]) -> str:
    """One digest for a segmenter whose weights are several files (UPerNet encoder + decoder)."""
    import hashlib

    if len(digests) == 1:
        return digests[0]
    return hashlib.sha256("+".join(digests).encode()).hexdigest()


def load_state_dict_strict(module: "torch.nn.Module", state_dict: Mapping[str, Any], where: str) -> None:
    """Load a released file's state dict with the official key names and shapes, strictly: the tolerated
    differences are ``bench.checkpoints.normalize_release``'s (prefixes, bookkeeping buffers); anything else
    missing, unexpected or of another shape raises one ``BenchError``."""
    strict_load(module, normalize_release(module, state_dict), where)


def load_release(net: "torch.nn.Module", weights_name: str, explicit: str | None, where: str,
                 read: Any = None) -> tuple[str, str]:
    """Resolve the registered file ``weights_name`` (or ``explicit``), read it (``read``, default
    ``bench.checkpoints.load_state_dict``) and load it strictly into ``net``; returns (path, sha256)."""
    from bench.checkpoints import load_state_dict

    path, digest = resolve_weights(weights_name, explicit)
    load_state_dict_strict(net, (read or load_state_dict)(path), f"{where} ({path})")
    return path, digest


# ----------------------------------------------------------------------------- the segmenter


class Segmenter:
    """A network under a protocol. Subclasses build ``self.net`` and may override ``forward_logits``.

    ``__call__(images)``: uint8 [B,3,H,W] (a torch tensor or numpy array) -> int64 [B,H,W] predictions in
    ``protocol.label_space``, at the images' size unless ``out_size`` is given. Inference runs in batches of
    ``batch_size`` under ``torch.inference_mode`` on ``device``.
    """

    protocol: SegmenterProtocol
    weights_sha256: str | None = None  # None: random weights (tests only; never a score)
    weights_path: str | None = None  # where the weights were read (";"-joined for several files)

    def __init__(self, net: "torch.nn.Module", protocol: SegmenterProtocol, *, weights_sha256: str | None,
                 device: str = "cpu", batch_size: int = 8, weights_path: str | None = None) -> None:
        self.net = net.eval().to(device)
        self.weights_path = weights_path
        self.protocol = protocol
        self.weights_sha256 = weights_sha256
        self.device = device
        self.batch_size = int(batch_size)

    # evaluate.py reads these
    @property
    def name(self) -> str:
        return self.protocol.name

    @property
    def num_classes(self) -> int:
        return self.protocol.num_classes

    @property
    def ignore_index(self) -> int:
        return self.protocol.ignore_index

    @property
    def pretrained(self) -> bool:
        return self.weights_sha256 is not None

    def describe(self) -> dict[str, Any]:
        """Protocol fields plus the weights digest: what a result records about its segmenter."""
        d = self.protocol.as_dict()
        d["weights_sha256"] = self.weights_sha256
        return d

    # -- steps

    def input_size_for(self, h: int, w: int) -> tuple[int, int]:
        ih, iw = self.protocol.input_size or (h, w)
        m = self.protocol.size_multiple
        return (-(-ih // m) * m, -(-iw // m) * m)

    def preprocess(self, images: "torch.Tensor") -> "torch.Tensor":
        """uint8 [B,3,H,W] -> normalised float32 at the protocol's input size, in the network's channel order."""
        import torch
        import torch.nn.functional as F

        p = self.protocol
        x = images.to(self.device, torch.float32)
        size = self.input_size_for(x.shape[-2], x.shape[-1])
        if tuple(x.shape[-2:]) != size:
            mode = p.image_resize
            if mode == "nearest":
                x = F.interpolate(x, size=size, mode="nearest")
            else:
                shrink = size[0] < x.shape[-2] or size[1] < x.shape[-1]
                x = F.interpolate(x, size=size, mode=mode, align_corners=False, antialias=shrink)
                x = x.clamp_(0, 255)
        if p.channel_order == "BGR":
            x = x.flip(1)
        mean = torch.tensor(p.mean, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(p.std, dtype=torch.float32, device=x.device).view(1, 3, 1, 1)
        return (x * p.scale - mean) / std

    def forward_logits(self, x: "torch.Tensor") -> "torch.Tensor":
        """Normalised input -> class scores [B,C,h,w] (any h, w; resized afterwards)."""
        return self.net(x)

    def predict_logits(self, images: Any, out_size: tuple[int, int] | None = None) -> "torch.Tensor":
        """float32 scores [B,C,H,W] at ``out_size`` (default: the images' size), bilinear, align_corners=False."""
        import torch
        import torch.nn.functional as F

        images = _as_uint8_nchw(images)
        size = tuple(out_size) if out_size is not None else tuple(images.shape[-2:])
        outs = []
        with torch.inference_mode():
            for s in range(0, images.shape[0], self.batch_size):
                logits = self.forward_logits(self.preprocess(images[s:s + self.batch_size]))
                if tuple(logits.shape[-2:]) != size:
                    logits = F.interpolate(logits, size=size, mode="bilinear", align_corners=False)
                outs.append(logits.float().cpu())
        out = torch.cat(outs) if outs else torch.zeros(0, self.num_classes, *size)
        if out.shape[1] != self.num_classes:
            raise BenchError(f"segmenter '{self.name}' produced {out.shape[1]} channels, expected {self.num_classes}")
        return out

    def __call__(self, images: Any, out_size: tuple[int, int] | None = None) -> "torch.Tensor":
        import torch

        return self.predict_logits(images, out_size).argmax(1).to(torch.int64)

    def align(self, pred: Any, label: Any) -> tuple[Any, Any]:
        """Bring a prediction [H,W] and a label map [h,w] to one size by the protocol's resize policy.

        Under "label-to-prediction" the label map is resized (nearest) to the prediction; under
        "prediction-to-label" a size mismatch is an error: ask for predictions at the label size
        (``seg(images, out_size=label.shape)``) instead.
        """
        import numpy as np

        pred, label = np.asarray(pred), np.asarray(label)
        if pred.shape == label.shape:
            return pred, label
        if self.protocol.resize == "label-to-prediction":
            return pred, resize_nearest(label, pred.shape)
        raise BenchError(f"segmenter '{self.name}' predicts {pred.shape}, label map is {label.shape}: protocol "
                         "resizes predictions to the label map; call the segmenter with out_size=label size")

    def __repr__(self) -> str:
        w = self.weights_sha256[:12] if self.weights_sha256 else "random"
        return f"<{type(self).__name__} {self.name} weights={w} classes={self.num_classes}>"


def _as_uint8_nchw(images: Any) -> "torch.Tensor":
    import numpy as np
    import torch

    if isinstance(images, np.ndarray):
        images = torch.from_numpy(np.ascontiguousarray(images))
    if not isinstance(images, torch.Tensor):
        raise BenchError(f"segmenter input must be a uint8 tensor [B,3,H,W], got {type(images).__name__}")
    if images.ndim == 3:
        images = images.unsqueeze(0)
    if images.ndim != 4 or images.shape[1] != 3:
        raise BenchError(f"segmenter input must be [B,3,H,W], got shape {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        raise BenchError(f"segmenter input must be uint8 (0..255), got {images.dtype}")
    return images


@dataclass(frozen=True)
class LabelMapping:
    """A lookup table from a dataset's stored label values to a segmenter's label space.

    Every stored value the dataset defines is listed in ``table`` (values that are not evaluated map to
    ``ignore_index``); any other value is an error that names it, never a silent ignore.
    """

    name: str
    table: Mapping[int, int]
    ignore_index: int = 255

    def lut(self) -> Any:
        """int64 [256 or 65536]: stored value -> segmenter id, -1 where the dataset defines no such value."""
        import numpy as np

        size = 256 if max(self.table) < 256 else 65536
        lut = np.full(size, -1, dtype=np.int64)
        for k, v in self.table.items():
            lut[k] = v
        return lut

    def __call__(self, label: Any) -> Any:
        import numpy as np

        a = np.asarray(label).astype(np.int64)
        lut = self.lut()
        bad = (a < 0) | (a >= lut.size)
        if not bad.any():
            out = lut[a]
            bad = out < 0
            if not bad.any():
                return out
        raise BenchError(f"{self.name}: label value {int(a[bad].flat[0])} is not defined by this label space")
