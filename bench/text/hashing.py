"""The embedded sentence encoder: a fixed hashing embedding of words and word pairs (no weights, no training).

Why hashing and not a trained encoder: the embedded captions are generated from scene parameters with a vocabulary
of a few dozen words, so a bag of words and word pairs already holds everything they say; a hashing embedding needs
no training data, no weight file and no randomness, gives every machine the same vector bit for bit (sha256 and
float64 arithmetic), and encodes any sentence (a word never seen gets its own direction, as a new caption would).
It is the "feature hashing" of Weinberger et al. 2009 (signed hashing, so collisions cancel in expectation),
written here because it is twenty lines; no kept library exposes exactly this fixed function.

    embed("a red car on a street")   # float32 [1024], unit norm

Tokens: lower-case runs of letters and digits. Features: each token (weight 1) and each pair of consecutive tokens,
with sentence start / end markers (weight 1): word order matters a little ("red car" vs "car red"). Each feature
adds ±weight to one of ``DIM`` coordinates, both drawn from the sha256 of the feature's text; the vector is divided
by its Euclidean norm (float64, then float32). An empty sentence is the zero vector.
"""

from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from typing import Iterable

import numpy as np

DIM = 1024  # the char-CNN-RNN embeddings' size, so that the paper configs of StackGAN / GAN-INT-CLS apply unchanged
VERSION = 1  # bump with any change to tokens, features or hashing (it is in the embedded card's fingerprint)
NAME = f"hashing-v{VERSION}-{DIM}"

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(sentence: str) -> list[str]:
    return _TOKEN.findall(sentence.lower())


def features(sentence: str) -> list[str]:
    """The hashed features of a sentence: its tokens and its consecutive token pairs (with <s> / </s>)."""
    toks = tokens(sentence)
    if not toks:
        return []
    padded = ["<s>", *toks, "</s>"]
    return toks + [f"{a} {b}" for a, b in zip(padded, padded[1:])]


@lru_cache(maxsize=65536)
def _slot(feature: str, dim: int) -> tuple[int, float]:
    digest = hashlib.sha256(feature.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") % dim, (1.0 if digest[8] & 1 else -1.0)


def embed(sentence: str, dim: int = DIM) -> np.ndarray:
    """float32 [dim]: the unit-norm hashing embedding of one sentence (zeros for a sentence without words)."""
    v = np.zeros(dim, dtype=np.float64)
    for f in features(sentence):
        i, sign = _slot(f, dim)
        v[i] += sign
    norm = float(np.sqrt(np.dot(v, v)))
    return (v / norm if norm > 0 else v).astype(np.float32)


def embed_all(sentences: Iterable[str], dim: int = DIM) -> np.ndarray:
    """float32 [N, dim]: :func:`embed` of each sentence."""
    rows = [embed(s, dim) for s in sentences]
    return np.stack(rows) if rows else np.zeros((0, dim), dtype=np.float32)
