"""One writer per store: `audit run` and `audit import` hold a lock beside the store while they write.

SQLite lets two writers take turns, but an audit is many transactions (it drops and rebuilds the
finding tables, and its columnar stages run in child processes): two runs interleaved leave one of
them unfinished and the report refusing the store. So a command that writes takes an exclusive
``flock`` on ``STORE-lock`` (a sidecar like SQLite's own ``-wal`` and ``-shm``; the store file
itself is never flock'ed, so SQLite's POSIX locks on it are never disturbed), and a second one is
refused in one line naming the holder. `audit serve` takes the lock only while it copies its
snapshot. The kernel drops a lock when its holder dies, so a killed command never leaves one held.
"""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from auditor.errors import InputError


class StoreBusy(InputError):
    """Another command holds the store's lock."""


def lock_path(store: str | Path) -> Path:
    """The sidecar lock file of a store."""
    p = Path(store)
    return p.with_name(p.name + "-lock")


@contextmanager
def store_lock(store: str | Path, command: str) -> Iterator[None]:
    """Hold the store's writer lock for the block; StoreBusy (one line) when another command has it."""
    path = lock_path(store)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise InputError(f"{path}: cannot create the store's lock file: {e.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another command"
            raise StoreBusy(f"{store}: the store is busy: {holder} is writing it; try again when it has finished") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"`{command}` (pid {os.getpid()}, since {time.strftime('%H:%M:%S')})".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
