"""mmsegmentation backend: any mmseg 1.x config + checkpoint as a segmenter (``pip install cgan-bench[mmseg]``).

    seg = get_segmenter("mmseg", config="segformer_mit-b0_8xb2-160k_ade20k-512x512.py", checkpoint="ckpt.pth")
    seg = MMSegSegmenter("mmseg::segformer/segformer_mit-b0_8xb2-160k_ade20k-512x512.py", checkpoint=None)  # random

The protocol is read from the model: normalisation from its ``data_preprocessor`` (mean, std, ``bgr_to_rgb``),
classes from its decode head, inference mode (whole / slide) from its ``test_cfg``. The input size defaults to the
images' own size (``input_size=(H, W)`` to resize first); scores are resized (bilinear) to the label map.

mmseg 1.2.2 asserts ``mmcv>=2.0.0rc4,<2.2.0``. On CPU the extra installs ``mmcv-lite`` (no compiled ops, installs
in seconds); mmseg imports ``mmcv.ops`` at module level in four places (``point_sample``, ``sigmoid_focal_loss``)
and fails without ``mmcv._ext``. With ``ops="auto"`` (default) and no compiled ops, this module registers a
stand-in ``mmcv.ops`` providing a pure-torch ``point_sample`` and raising, for every other op, an ImportError that
names the op and how to install full mmcv; configs that use no compiled op at inference (FCN, PSPNet, DeepLab-v3,
UPerNet, SegFormer, ...) then run. ``ops="require"`` raises at once instead.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import types
import warnings
from pathlib import Path
from typing import Any

from bench.errors import BenchError
from bench.fileio import sha256_file
from bench.segmenters.base import Segmenter, SegmenterProtocol

INSTALL_HINT = ("pip install 'cgan-bench[mmseg]' (mmsegmentation 1.2.2, mmcv-lite 2.1.0, mmengine); for mmcv's "
                "compiled ops build full mmcv==2.1.0 from source (see docs/segmenters.md)")
FULL_MMCV_HINT = ("build full mmcv==2.1.0: pip install 'setuptools<70' && pip download --no-deps --no-binary :all: "
                  "mmcv==2.1.0, raise -std=c++14/17 to -std=c++20 in its setup.py, then pip install "
                  "--no-build-isolation <dir> (about 9 minutes on 2 cores; see docs/segmenters.md)")


def compiled_ops_available() -> bool:
    """True when mmcv's compiled extension ``mmcv._ext`` is importable (full mmcv, not mmcv-lite)."""
    try:
        return importlib.util.find_spec("mmcv._ext") is not None
    except (ImportError, ValueError):
        return False


def _point_sample(input: Any, points: Any, align_corners: bool = False, **kwargs: Any) -> Any:
    """Features at normalised [0, 1] point coordinates (bilinear ``grid_sample``); same contract as mmcv's."""
    import torch.nn.functional as F

    add_dim = points.dim() == 3
    if add_dim:
        points = points.unsqueeze(2)
    out = F.grid_sample(input, 2.0 * points - 1.0, align_corners=align_corners, **kwargs)
    return out.squeeze(3) if add_dim else out


def install_ops_standin() -> None:
    """Register a pure-Python ``mmcv.ops`` when the compiled one cannot load (idempotent)."""
    existing = sys.modules.get("mmcv.ops")
    if existing is not None:
        return
    mod = types.ModuleType("mmcv.ops")
    mod.__doc__ = "cgan-bench stand-in for mmcv.ops without compiled ops (mmcv-lite)"
    mod.__bench_standin__ = True  # type: ignore[attr-defined]
    mod.point_sample = _point_sample  # type: ignore[attr-defined]

    def sigmoid_focal_loss(*args: Any, **kwargs: Any) -> Any:
        raise BenchError(f"mmcv op 'sigmoid_focal_loss' needs mmcv's compiled ops (mmcv._ext is missing: "
                         f"mmcv-lite is installed); it is a training loss, not needed to score. {FULL_MMCV_HINT}")

    mod.sigmoid_focal_loss = sigmoid_focal_loss  # type: ignore[attr-defined]

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # ModuleNotFoundError, as a missing mmcv._ext gives: mmseg's own `try: from mmcv.ops import X except
        # ModuleNotFoundError` paths (cc_head, point_head, psa_head) then fall back as designed
        raise ModuleNotFoundError(f"mmcv op '{name}' needs mmcv's compiled ops, but mmcv._ext is missing (mmcv-lite is "
                          f"installed); this config cannot run without them. {FULL_MMCV_HINT}")

    mod.__getattr__ = __getattr__  # type: ignore[attr-defined]
    import mmcv

    sys.modules["mmcv.ops"] = mod
    mmcv.ops = mod  # type: ignore[attr-defined]


def import_mmseg(ops: str = "auto") -> Any:
    """Import mmseg, with a clear message when it or mmcv's compiled ops are missing."""
    if ops not in ("auto", "require"):
        raise BenchError(f"mmseg backend: ops must be 'auto' or 'require', got '{ops}'")
    try:
        import mmcv  # noqa: F401
        import mmengine  # noqa: F401
    except ImportError as exc:
        raise BenchError(f"the mmseg backend needs mmsegmentation, mmcv and mmengine ({exc.name} is missing): "
                         f"{INSTALL_HINT}") from None
    if not compiled_ops_available():
        if ops == "require":
            raise BenchError(f"mmcv's compiled ops are missing (mmcv._ext not found; mmcv-lite is installed): "
                             f"{FULL_MMCV_HINT}")
        if "mmcv.ops" not in sys.modules:
            warnings.warn("mmcv's compiled ops are missing (mmcv-lite): using cgan-bench's pure-torch stand-in for "
                          "mmcv.ops; configs whose inference needs a compiled op fail naming it", stacklevel=3)
        install_ops_standin()
    try:
        import mmseg
        from mmseg.apis import init_model  # noqa: F401
    except ImportError as exc:
        raise BenchError(f"cannot import mmseg ({exc}): {INSTALL_HINT}") from None
    return mmseg


def resolve_config(config: Any) -> Any:
    """A Config from a path, a ``mmseg::<path>`` reference to the configs shipped in the mmseg wheel, a dict or a
    Config."""
    from mmengine.config import Config

    if isinstance(config, Config):
        return config
    if isinstance(config, dict):
        return Config(config)
    spec = os.fspath(config)
    if spec.startswith("mmseg::"):
        import mmseg

        path = Path(mmseg.__file__).parent / ".mim" / "configs" / spec[len("mmseg::"):]
    else:
        path = Path(spec)
    if not path.is_file():
        raise BenchError(f"mmseg config {path} does not exist")
    return Config.fromfile(str(path))


def _ops_error(exc: BaseException, where: str) -> BaseException:
    """A BenchError naming the op and the fix when ``exc`` comes from missing compiled ops; else ``exc``."""
    if "mmcv" in str(exc) and not compiled_ops_available():
        return BenchError(f"{where}: {exc} (mmcv's compiled ops are missing: mmcv-lite is installed). "
                          f"{FULL_MMCV_HINT}")
    return exc


class MMSegSegmenter(Segmenter):
    """An mmseg segmentor as a ``Segmenter``.

    ``config``: path, ``mmseg::<relative path>`` (configs shipped with mmseg), dict or Config. ``checkpoint``: path
    (None: random weights, for tests). ``label_space``: the card label space its classes live in (default
    ``mmseg:<dataset_type>``). ``input_size``: (H, W) to resize images to before the network (default: as given).
    """

    def __init__(self, config: Any, checkpoint: str | os.PathLike[str] | None = None, *,
                 label_space: str | None = None, input_size: tuple[int, int] | None = None,
                 name: str | None = None, ops: str = "auto", device: str = "cpu", batch_size: int = 4) -> None:
        import_mmseg(ops)
        from mmseg.apis import init_model

        cfg = resolve_config(config)
        if checkpoint is not None and not Path(checkpoint).is_file():
            raise BenchError(f"mmseg checkpoint {checkpoint} does not exist")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                model = init_model(cfg, str(checkpoint) if checkpoint is not None else None, device=device)
        except RuntimeError as exc:  # e.g. PSAHead: "Please install mmcv-full for PSAMask ops"
            raise _ops_error(exc, name or str(config)) from None
        head = model.decode_head
        num_classes = int(getattr(head, "num_classes", None) or getattr(head, "out_channels"))
        dp = model.data_preprocessor
        mean = tuple(float(v) for v in dp.mean.flatten()) if getattr(dp, "_enable_normalize", False) else (0.0,) * 3
        std = tuple(float(v) for v in dp.std.flatten()) if getattr(dp, "_enable_normalize", False) else (1.0,) * 3
        # mmseg loads images BGR (cv2); bgr_to_rgb=True means the network expects RGB
        order = "RGB" if getattr(dp, "channel_conversion", False) else "BGR"
        cfg_text = cfg.pretty_text if hasattr(cfg, "pretty_text") else str(cfg)
        cfg_sha = hashlib.sha256(cfg_text.encode()).hexdigest()
        digest = sha256_file(checkpoint) if checkpoint is not None else None
        stem = Path(os.fspath(config)).stem if isinstance(config, (str, os.PathLike)) else f"config-{cfg_sha[:8]}"
        protocol = SegmenterProtocol(
            name=name or f"mmseg:{stem}",
            label_space=label_space or f"mmseg:{cfg.get('dataset_type', 'unknown')}",
            num_classes=num_classes,
            ignore_index=int(getattr(head, "ignore_index", 255)),
            input_size=tuple(input_size) if input_size else None,  # type: ignore[arg-type]
            image_resize="bilinear",
            channel_order=order,
            scale=1.0,
            mean=mean,  # type: ignore[arg-type]
            std=std,  # type: ignore[arg-type]
            resize="prediction-to-label",
            weights=(),
            reference=f"mmsegmentation {importlib.import_module('mmseg').__version__}; config sha256 {cfg_sha}; "
                      f"test_cfg {dict(model.test_cfg) if model.test_cfg else {}}",
        )
        self.config = cfg
        self.config_sha256 = cfg_sha
        super().__init__(model, protocol, weights_sha256=digest, device=device, batch_size=batch_size,
                         weights_path=str(checkpoint) if checkpoint is not None else None)

    def forward_logits(self, x: Any) -> Any:
        h, w = x.shape[-2:]
        metas = [dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w), padding_size=[0, 0, 0, 0])
                 for _ in range(x.shape[0])]
        try:
            return self.net.inference(x, metas)
        except RuntimeError as exc:  # mmseg's heads say "Please install mmcv-full for <Op> ops"
            raise _ops_error(exc, self.name) from None
