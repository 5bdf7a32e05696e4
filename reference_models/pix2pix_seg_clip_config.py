"""Configs of pix2pix-seg-clip (merged into ``reference_models.configs``): defaults, named configs, and the
datasets whose published setup ``paper`` resolves to."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, dict[str, Any]] = {}
NAMED: dict[str, dict[str, dict[str, Any]]] = {}
PAPER_DATASETS: dict[str, dict[str, str]] = {}
