"""Device names from the command line: checked before any work, resolved once."""

from __future__ import annotations

import re

from bench.errors import BenchError

_FORMS = "cpu, cuda, cuda:N, mps or auto"


def resolve_device(name: str, *, flag: str = "--device") -> str:
    """``auto`` -> ``cuda`` when there is a GPU, else ``cpu``; any other name must be one of the forms above and
    exist on this machine (torch's own error lists twenty backends we do not run)."""
    name = name.strip().lower()
    if name != "auto" and not re.fullmatch(r"cpu|cuda(:\d+)?|mps", name):
        raise BenchError(f"{flag} {name}: unknown device; use {_FORMS}")
    if name == "cpu":
        return name
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "mps":
        if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
            raise BenchError(f"{flag} mps: Apple MPS is not available on this machine")
        return name
    if not torch.cuda.is_available():
        raise BenchError(f"{flag} {name}: CUDA is not available on this machine")
    if ":" in name and int(name.split(":")[1]) >= torch.cuda.device_count():
        raise BenchError(f"{flag} {name}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return name
