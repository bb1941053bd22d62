"""What a simulation will cost before it starts: rows, disk and memory, refused when they do not fit.

`simulate --scale 1e9` used to start and grow by tens of megabytes a second until killed (a day's
reads are drawn in one call, so their list grows with the scale), and `--scale 1e308` overflowed
deep in the generator. The estimate is made in floating point from the scenario's own rates, so
any finite scale gives a finite answer, and the run is refused with the estimate when the store
would not fit on the disk it goes to or the run would not fit in memory.

Per-row sizes were measured on el_cajon at scale 0.2 (211,700 reads and 21,726 searches in a
25.8 MB store: about 77 bytes per read with its index, 440 per search with its owners, truth and
indexes); the estimate rounds them up.
"""
from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import InputError
from simulator.scenario import Scenario
from simulator.searches import estimate_searches
from simulator.world import build_world

BYTES_PER_READ = 80
BYTES_PER_SEARCH = 450
# The Python process, the world and SQLite's page caches, measured at about 100 MB for el_cajon.
BASE_MEMORY = 150 * 2**20
# What one resident (a plate string in a list) and one drawn read kind (a list slot) hold.
BYTES_PER_RESIDENT = 120
BYTES_PER_DAY_DRAW = 8
# Bounds on what a user may ask for, whatever the machine: a scale beyond these is a typo.
MAX_SCALE = 10_000.0


@dataclass(frozen=True)
class Estimate:
    """Rows, bytes on disk and peak bytes in memory a run would need (floats: may be huge)."""

    reads: float
    searches: float
    disk_bytes: float
    memory_bytes: float

    def describe(self) -> str:
        return (f"about {_count(self.reads)} reads and {_count(self.searches)} searches, a store of about "
                f"{_bytes(self.disk_bytes)} and about {_bytes(self.memory_bytes)} of memory")


def check_scale(scale: float, option: str = "--scale") -> None:
    """A scale must be a finite number above 0 and at most MAX_SCALE."""
    if not isinstance(scale, (int, float)) or not math.isfinite(scale) or scale <= 0 or scale > MAX_SCALE:
        raise InputError(f"{option} must be a finite number above 0 and at most {MAX_SCALE:g}, got {scale!r}")


def estimate(scenario: Scenario, scale: float, seed: int) -> Estimate:
    """The size of what ``simulate(scenario, scale=scale)`` would generate."""
    check_scale(scale)
    reads = sum(float(t["reads_per_day"]) * scale for t in scenario.traffic) * scenario.days
    try:
        searches = float(estimate_searches(scenario, build_world(scenario, seed), scale))
    except OverflowError:
        searches = math.inf
    per_day = max((float(t["reads_per_day"]) * scale for t in scenario.traffic), default=0.0)
    residents = sum(float(t["residents"]) * min(scale, 1.0) for t in scenario.traffic)
    return Estimate(
        reads=reads,
        searches=searches,
        disk_bytes=reads * BYTES_PER_READ + searches * BYTES_PER_SEARCH,
        memory_bytes=BASE_MEMORY + per_day * BYTES_PER_DAY_DRAW + residents * BYTES_PER_RESIDENT,
    )


def available_memory() -> float:
    """Memory the machine can give this run now (MemAvailable), or its physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def check_fits(est: Estimate, out: Path, *, scale: float) -> None:
    """Refuse, with the estimate, a run whose store would not fit on disk or whose peak memory would
    not fit in what the machine has available."""
    folder = out.parent if str(out.parent) else Path(".")
    try:
        free = float(shutil.disk_usage(folder if folder.exists() else Path(".")).free)
    except OSError:
        free = math.inf
    memory = available_memory()
    if est.disk_bytes > free:
        raise InputError(f"--scale {scale:g} would write {est.describe()}; {folder} has {_bytes(free)} free. "
                         "Choose a smaller --scale")
    if est.memory_bytes > memory:
        raise InputError(f"--scale {scale:g} would need {est.describe()}; the machine has {_bytes(memory)} "
                         "available. Choose a smaller --scale")


def _count(n: float) -> str:
    return f"{n:,.0f}" if n < 1e12 else f"{n:.2g}"


def _bytes(n: float) -> str:
    if not math.isfinite(n):
        return "an unbounded amount"
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1024 or unit == "PB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}" if n < 1e6 else f"{n:.2g} {unit}"
        n /= 1024
    return f"{n:.2g} PB"
