"""Opening the files a user names: regular files only, and small files read with a size cap.

A FIFO, a terminal or a character device (``/dev/zero``, ``/dev/stdin``) given as a store, a release,
a key or a column map would block the tool forever or feed it bytes without end. Every file the
tool opens on a user's say-so goes through :func:`require_regular` (which never opens the path: a
``stat`` does not block on a FIFO), and the small ones (keys, column maps, worksheets) are read
with :func:`read_small`, which refuses a file past its cap instead of growing memory with it.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

from auditor.errors import InputError

# Caps for the small files a user hands over: far above any real one, far below harm.
KEY_CAP = 4096
MAP_CAP = 1 << 20
SHEET_CAP = 64 << 20


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "not a regular file"


def require_regular(path: str | Path, what: str, *, missing_ok: bool = False) -> bool:
    """Refuse (InputError) a path that exists and is not a regular file; False when it is missing
    and ``missing_ok``. The check follows symlinks, so a link to a FIFO is refused too."""
    p = Path(path)
    try:
        mode = os.stat(p).st_mode
    except FileNotFoundError:
        if missing_ok:
            return False
        raise InputError(f"{p}: no such {what}") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read {what}: {e.strerror}") from None
    if not stat.S_ISREG(mode):
        raise InputError(f"{p}: is {_kind(mode)}, not a {what} (give a regular file)")
    return True


def read_small(path: str | Path, what: str, cap: int) -> bytes:
    """A regular file's bytes, refused (InputError) when the file is larger than ``cap`` bytes.

    Opened without blocking and checked again on the open descriptor, so a path swapped for a FIFO
    between the check and the open is refused too; at most ``cap + 1`` bytes are ever read.
    """
    p = Path(path)
    require_regular(p, what)
    try:
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as e:
        raise InputError(f"{p}: cannot read {what}: {e.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            raise InputError(f"{p}: not a {what} (give a regular file)")
        data = fh.read(cap + 1)
    if len(data) > cap:
        raise InputError(f"{p}: too large for a {what} (over {cap:,} bytes)")
    return data
