"""Drawing the library's progress calls (:mod:`auditor.progress`) on standard error.

On a terminal a line per stage is redrawn in place: the stage, how many done (of how many, when
known), the rate and an estimate of the time left. Standard output is never written, so pipes and
``--json`` see the same bytes with or without progress. Without a terminal nothing is drawn unless
the user asks with ``--progress``; then each stage's progress goes on lines of its own.
"""
from __future__ import annotations

import io
import os
import sys
import time
from typing import IO, Callable

import click

from auditor import untrusted


def progress_option(fn: Callable) -> Callable:
    """``--progress/--no-progress``: draw progress on standard error (default: only on a terminal)."""
    return click.option("--progress/--no-progress", "show_progress", default=None,
                        help="Show each stage's progress (done, rate, time left) on standard error. "
                             "Default: only when standard error is a terminal; never on standard output.")(fn)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Meter:
    """A progress callable that draws on ``stream``; use as a context manager so the last stage is
    finished with a line break."""

    def __init__(self, stream: IO[str] | None = None, *, interval: float | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        # A terminal redraws often; a log gets a line a second at most (and each stage's last state).
        self.interval = interval if interval is not None else (0.2 if self.live else 1.0)
        self.now = now
        self.width = 0  # characters a line may take on a terminal (0: no limit)
        if self.live:
            try:
                self.width = os.get_terminal_size(self.stream.fileno()).columns
            except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
                self.width = 80
        self.stage: str | None = None
        self.started = self.drawn_at = 0.0
        self.done, self.total = 0, None
        self.shown = False  # whether the current state is on screen

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        t = self.now()
        if stage != self.stage or done < self.done:  # a new stage, or one started again (the careful path after the fast)
            self._finish()
            self.stage, self.started, self.drawn_at = stage, t, -1e9
        self.done, self.total = done, total
        self.shown = False
        if t - self.drawn_at >= self.interval:
            self._draw(t)

    def line(self, t: float) -> str:
        """The text of the current state: ``stage: done / total (pct), rate/s, m:ss left, m:ss elapsed``."""
        elapsed = max(t - self.started, 1e-9)
        parts = []
        if self.total is not None:
            parts.append(f"{self.done:,} / {self.total:,} ({100 * self.done // max(self.total, 1)}%)")
        elif self.done:
            parts.append(f"{self.done:,}")
        rate = self.done / elapsed
        if self.done and elapsed >= 0.05:
            parts.append(f"{rate:,.0f}/s")
        if self.total is not None and self.done and elapsed >= 0.05 and self.done < self.total:
            parts.append(f"{_clock((self.total - self.done) / rate)} left")
        parts.append(f"{_clock(elapsed)} elapsed")
        stage, tail = untrusted.terminal(self.stage), ": " + ", ".join(parts)
        room = self.width - len(tail) - 1
        if self.width and len(stage) > room:  # a line that wraps cannot be redrawn in place: shorten the name
            stage = stage[:max(room - 1, 8)] + "…"
        return stage + tail

    def _draw(self, t: float) -> None:
        text = self.line(t)
        if self.live:
            self.stream.write("\r\x1b[K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.drawn_at, self.shown = t, True

    def _finish(self) -> None:
        if self.stage is None:
            return
        t = self.now()
        if self.live or not self.shown or t - self.drawn_at >= self.interval:  # the last state, with the stage's whole time
            self._draw(t)
        if self.live:
            self.stream.write("\n")
            self.stream.flush()
        self.stage = None

    def close(self) -> None:
        """Finish the last stage's line."""
        self._finish()

    def __enter__(self) -> "Meter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def meter_for(show: bool | None, *, quiet: bool = False) -> Meter | None:
    """The meter a command draws with, or None: ``show`` is the user's ``--progress/--no-progress``
    (None: only when standard error is a terminal); ``quiet`` (``--json``) turns the default off."""
    stream = sys.stderr  # (click's test runner swaps it too)
    if show is None:
        show = not quiet and stream.isatty()
    return Meter(stream) if show else None
