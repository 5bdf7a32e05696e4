"""Progress of long work (hashing, exporting, generating, evaluating): a tqdm bar on a terminal, plain lines on a
log.

A job whose stderr is a file or a pipe (Slurm, `nohup`, CI, `bench sweep`) gets one line per tenth of the work
(or per ``BENCH_PROGRESS_EVERY`` items; nothing for work done within a second) instead of a bar's carriage
returns or nothing: a five-minute evaluation is never silent. Under torch.distributed only rank 0 reports, and
says which share of the work it is.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any, TextIO


QUIET_S = 1.0  # work that takes less than this prints no lines (hashing a small split is not news)


def _rank_text() -> str:
    from bench.distributed import rank_and_world

    rank, world = rank_and_world()
    return f" [rank {rank}/{world}]" if world > 1 else ""


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


class Progress:
    """``update(n)`` / ``close()`` over ``total`` items.

    ``enabled``: True shows progress (a bar on a terminal, lines otherwise), False nothing, None (default) a bar on a
    terminal and lines otherwise. Ranks other than 0 of a distributed job show nothing."""

    def __init__(self, total: int, desc: str, unit: str = "img", enabled: bool | None = None,
                 stream: TextIO | None = None, every: int | None = None) -> None:
        from bench.distributed import rank_and_world

        self.total, self.desc, self.unit = int(total), desc, unit
        self.stream = stream if stream is not None else sys.stderr
        self.done = 0
        self.t0 = time.perf_counter()
        self.bar: Any = None
        self.lines = False
        self.printed = 0
        if enabled is False or rank_and_world()[0] != 0 or self.total <= 0:
            return
        if _isatty(self.stream):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=self.total, desc=desc + _rank_text(), unit=unit, file=self.stream, leave=False)
            return
        self.lines = True
        env = os.environ.get("BENCH_PROGRESS_EVERY")
        step = every if every is not None else (int(env) if env and env.isdigit() and int(env) > 0 else None)
        self.step = step or max(1, -(-self.total // 10))  # a line per tenth of the work
        self.next = self.step

    def update(self, n: int = 1) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.lines and (self.done >= self.next or self.done >= self.total):
            while self.next <= self.done:
                self.next += self.step
            if time.perf_counter() - self.t0 >= QUIET_S:
                self._line()

    def _line(self) -> None:
        elapsed = time.perf_counter() - self.t0
        rate = self.done / elapsed if elapsed > 0 else 0.0
        eta = (self.total - self.done) / rate if rate > 0 and self.done < self.total else 0.0
        pct = 100.0 * self.done / self.total
        self.printed = self.done
        print(f"{self.desc}{_rank_text()}: {self.done}/{self.total} {self.unit} ({pct:.0f}%), {rate:.2f} {self.unit}/s, "
              f"elapsed {_clock(elapsed)}, eta {_clock(eta)}", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.lines and self.done != self.printed and time.perf_counter() - self.t0 >= QUIET_S:
            self._line()  # stopped between two lines (an error, or fewer items than announced): say how far it got
        self.bar, self.lines = None, False

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iterate(items: Any, desc: str, unit: str = "img", enabled: bool | None = None):
    """Yield ``items`` with progress (their count must be known: a list or a range)."""
    with Progress(len(items), desc, unit, enabled) as bar:
        for item in items:
            yield item
            bar.update(1)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
