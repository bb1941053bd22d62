"""Progress of long work, as plain calls the library makes and the CLI draws.

The library never prints (STYLE.md). A long stage takes an optional ``progress`` callable and calls
it at batch boundaries, never per row: ``progress(stage, done, total)`` says that ``done`` rows (or
keys, or reasons: the stage's name says which) of ``stage`` are finished, out of ``total`` when the
total is known, else None. A total may be an estimate that moves (an import's rows estimated from
bytes read against the file's size). ``done`` only grows within a stage; a new stage name starts
the count again. What to draw, and whether to draw at all, is the caller's affair
(:mod:`auditor.cli.progress`).
"""
from __future__ import annotations

from typing import Callable, Optional

Progress = Callable[[str, int, Optional[int]], None]


def quiet(stage: str, done: int, total: int | None) -> None:
    """The progress callable that reports nothing (the default everywhere)."""


def estimate_total(done: int, bytes_read: int, size: int) -> int | None:
    """Rows a file will give in all, from ``done`` rows in its first ``bytes_read`` of ``size`` bytes;
    None before anything was read. Exact once the whole file is read."""
    if done <= 0 or bytes_read <= 0 or size <= 0:
        return None
    if bytes_read >= size:
        return done
    return max(done, round(done * size / bytes_read))
