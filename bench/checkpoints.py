"""Reading checkpoints and loading them strictly: one place for the reference generators, the segmenters and
adapters (``bench.adapter`` re-exports ``load_state_dict``).

* ``load_state_dict``: a file -> a dict of tensors, ``weights_only=True`` (never arbitrary pickles), one line for
  every failure.
* ``normalize_release``: the tolerated differences of the authors' released files (DataParallel ``module.``
  prefixes, BatchNorm bookkeeping buffers, InstanceNorm running statistics written by old PyTorch).
* ``strict_load``: every key used, every shape equal, else one line naming the first problem.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from bench.errors import BenchError

if TYPE_CHECKING:
    import torch

# BatchNorm bookkeeping that carries no weight used at inference: torch < 0.4.1 did not save num_batches_tracked;
# mit_semseg's synchronized BatchNorm adds three training-only running sums
OPTIONAL_BUFFERS = ("num_batches_tracked", "_tmp_running_mean", "_tmp_running_var", "_running_iter")


def load_state_dict(path: str | os.PathLike[str], *, expect: str = "") -> dict[str, Any]:
    """Load a checkpoint as plain tensors (``weights_only=True``); one clear line for every failure.

    A checkpoint that pickles Python objects, is truncated, or is not a dict of tensors is refused. A dict
    with a ``state_dict`` / ``model`` / ``generator`` / ``net`` entry of tensors is accepted (the usual trainer
    layouts).
    """
    import pickle
    import zipfile

    import torch

    p = os.fspath(path)
    if not os.path.isfile(p):
        raise BenchError(f"checkpoint {p} does not exist")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"checkpoint {p} is not a plain state dict (refusing to unpickle Python objects: {first})") from exc
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchError(f"checkpoint {p} is truncated or not a torch file ({first})") from exc
    if isinstance(obj, dict):
        for key in ("state_dict", "model", "generator", "net"):
            if key in obj and isinstance(obj[key], dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise BenchError(f"checkpoint {p} does not hold a state dict of tensors{(' for ' + expect) if expect else ''}")
    return obj


def normalize_release(module: "torch.nn.Module", state: Mapping[str, Any]) -> dict[str, Any]:
    """An authors' state dict made comparable with ``module``'s, changing nothing that holds a weight: ``module.``
    prefixes (``nn.DataParallel`` files) removed; bookkeeping buffers (``OPTIONAL_BUFFERS``) and InstanceNorm running
    statistics (old PyTorch wrote them; the authors' pix2pix loader deletes them) dropped when the model has no
    such buffer; bookkeeping buffers the file lacks taken from the model."""
    import torch.nn as nn

    sd = {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}
    own = module.state_dict()
    instance_norms = {name for name, m in module.named_modules() if isinstance(m, nn.InstanceNorm2d)}
    for k in list(sd):
        prefix, _, leaf = k.rpartition(".")
        if k not in own and (k.endswith(OPTIONAL_BUFFERS) or (
                prefix in instance_norms and leaf in ("running_mean", "running_var"))):
            del sd[k]
    for k, v in own.items():
        if k.endswith(OPTIONAL_BUFFERS) and k not in sd:
            sd[k] = v.clone()
    return sd


def _examples(keys: Sequence[str], n: int = 3) -> str:
    keys = sorted(keys)
    return ", ".join(keys[:n]) + (f", ... ({len(keys)} in all)" if len(keys) > n else "")


def strict_load(module: "torch.nn.Module", state: Mapping[str, Any], what: str,
                input_keys: Sequence[str] = ()) -> None:
    """Load ``state`` into ``module`` requiring every key used and every shape equal; one line otherwise.

    ``input_keys`` are the weights whose second dimension is the number of label channels: a mismatch there is
    reported as a label-count mismatch rather than a shape list.
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing keys ({_examples(missing)})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys ({_examples(unexpected)})")
        raise BenchError(f"{what}: checkpoint does not match the architecture: " + "; ".join(parts))
    for k in input_keys:
        a, b = own.get(k), state.get(k)
        if (a is not None and b is not None and a.dim() == 4 and b.dim() == 4 and a.shape[0] == b.shape[0]
                and a.shape[2:] == b.shape[2:] and a.shape[1] != b.shape[1]):
            raise BenchError(f"{what}: checkpoint expects {b.shape[1]} label channels, the model has "
                             f"{a.shape[1]} (wrong label count or instance/don't-care setting for this dataset)")
    bad = [(k, tuple(state[k].shape), tuple(v.shape)) for k, v in own.items() if tuple(state[k].shape) != tuple(v.shape)]
    if bad:
        k, got, want = bad[0]
        raise BenchError(f"{what}: {len(bad)} shape mismatches, first {k}: checkpoint {list(got)} vs model "
                         f"{list(want)} (a different config or resolution?)")
    nonfinite = [k for k, v in state.items()  # meta tensors (shape-only fixtures) hold no values to check
                 if v.is_floating_point() and v.device.type != "meta" and not bool(v.isfinite().all())]
    if nonfinite:  # NaN weights give NaN images, which uint8 conversion would turn into black ones
        raise BenchError(f"{what}: {len(nonfinite)} tensor(s) hold NaN or Inf values, first {nonfinite[0]}: "
                         "a diverged or damaged checkpoint")
    module.load_state_dict(state, strict=True)
