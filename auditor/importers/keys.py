"""The fallback key of a search, hashed the same way row by row and column by column.

A row without a UUID is linked to a search an earlier release listed when its searcher, second,
networks and time frame (plus the reason, when the file has neither networks nor a frame) agree.
The store keeps a 64-bit hash of those fields (`searches.dedup_key`) so the candidates of a batch
are found through one integer index; equal hashes are only candidates, the loader compares the
fields before it links (see :mod:`auditor.importers.searches`).

The hash is a splitmix64 chain over the fields as integers (times as epoch seconds), so the
columnar loader computes it with numpy over a whole batch and the careful loader per row, with the
same result: :func:`fallback_hash` and :func:`fallback_hashes` must agree bit for bit (tested).
"""
from __future__ import annotations

import calendar

import numpy as np

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
NO_TIME = -(1 << 62)  # a blank time-frame bound (no real epoch second is this small)
NO_COUNT = -1  # a blank searcher, networks or reason id
NOT_PART = -2  # the reason when networks or a frame are present: not part of the key


def epoch(text: str | None) -> int:
    """Epoch seconds of a store time (`2025-06-18T00:02:04Z`); :data:`NO_TIME` for None."""
    if text is None:
        return NO_TIME
    return calendar.timegm((int(text[0:4]), int(text[5:7]), int(text[8:10]),
                            int(text[11:13]), int(text[14:16]), int(text[17:19]), 0, 0, 0))


def _mix(h: int, v: int) -> int:
    x = ((h ^ (v & _M64)) + _GOLDEN) & _M64
    x = ((x ^ (x >> 30)) * _C1) & _M64
    x = ((x ^ (x >> 27)) * _C2) & _M64
    return x ^ (x >> 31)


def fallback_hash(searcher_id: int | None, time: str, networks: int | None, start: str | None, end: str | None,
                  reason_id: int | None) -> int:
    """The stored form of a search's fallback key: a signed 64-bit hash of its fields."""
    reason = (NO_COUNT if reason_id is None else reason_id) if networks is None and start is None else NOT_PART
    h = 0
    for v in (NO_COUNT if searcher_id is None else searcher_id, epoch(time),
              NO_COUNT if networks is None else networks, epoch(start), epoch(end), reason):
        h = _mix(h, v)
    return h - (1 << 64) if h >= 1 << 63 else h


def _mix_np(h: np.ndarray, v: np.ndarray) -> np.ndarray:
    x = (h ^ v.astype(np.uint64)) + np.uint64(_GOLDEN)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(_C1)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(_C2)
    return x ^ (x >> np.uint64(31))


def fallback_hashes(searcher_id: np.ndarray, time: np.ndarray, networks: np.ndarray, start: np.ndarray,
                    end: np.ndarray, reason_id: np.ndarray) -> np.ndarray:
    """:func:`fallback_hash` over int64 columns already encoded (blanks as NO_COUNT / NO_TIME)."""
    reason = np.where((networks == NO_COUNT) & (start == NO_TIME), reason_id, NOT_PART)
    with np.errstate(over="ignore"):
        h = np.zeros(len(time), dtype=np.uint64)
        for v in (searcher_id, time, networks, start, end, reason):
            h = _mix_np(h, v.astype(np.int64).view(np.uint64))
    return h.view(np.int64)
