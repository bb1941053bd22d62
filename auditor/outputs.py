"""Where a command may write: never over its inputs, never over a file it did not make.

A report's ``--out`` that names the store (through a symlink, a hard link or a relative path), the
store's journal, or a file the user keeps (a release, notes, another application's data) must be
refused before anything is written. Files are compared by resolved path and by identity (device and
inode), so two spellings of one file are one file.

An existing file is replaced only when it is recognizably an output of the same kind (a proxytrace
report over a proxytrace report). The new content is written to a fresh temporary file beside the
target and renamed over it at the end, so an interrupted write leaves the old file whole.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Callable, Iterable, TextIO, TypeVar

from auditor.errors import InputError

T = TypeVar("T")
# A SQLite store is its file and, while it is open, these companions.
_STORE_COMPANIONS = ("", "-wal", "-shm", "-journal")


def store_files(store: str | Path) -> list[Path]:
    """The store's file and the journal files SQLite keeps beside it."""
    p = Path(store)
    return [p.with_name(p.name + suffix) for suffix in _STORE_COMPANIONS]


def same_file(a: Path, b: Path) -> bool:
    """True when two paths name one file: the same resolved path, or the same device and inode."""
    try:
        if a.resolve() == b.resolve():
            return True
    except (OSError, RuntimeError):  # a symlink loop resolves to nothing we could write anyway
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_target(target: Path, *, inputs: Iterable[Path], what: str,
                 replaceable: Callable[[Path], bool] | None = None) -> None:
    """Refuse (InputError) to write ``target`` when it is one of ``inputs`` or an existing file that
    ``replaceable`` does not recognize as an earlier output of this kind."""
    for source in inputs:
        if same_file(target, source):
            raise InputError(f"{target}: is an input of this command ({source}); write the {what} elsewhere")
    if target.is_dir():
        raise InputError(f"{target}: is a folder; give a file name for the {what}")
    if target.exists() or target.is_symlink():
        if not target.is_file():
            raise InputError(f"{target}: is not a regular file; give another name for the {what}")
        if replaceable is None or not replaceable(target):
            raise InputError(f"{target}: already exists and is not a proxytrace {what}; "
                             "remove it or choose another name (only a file this command wrote is replaced)")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{target}: cannot write the {what}: folder {parent} does not exist")


def head(path: Path, size: int = 4096) -> bytes:
    """The first bytes of a file (empty when it cannot be read)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(size)
    except OSError:
        return b""


def _mode_for(target: Path) -> int:
    """The replaced file's permissions, or what a plain `open` would give (mkstemp makes 0600)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_beside(target: Path, write: Callable[[TextIO], T], *, what: str, newline: str | None = None) -> T:
    """Write through ``write`` into a new temporary file beside ``target``, then rename it over the
    target. On any failure the temporary file is removed and the target is left as it was."""
    parent = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=parent)
    except OSError as e:
        raise InputError(f"{target}: cannot write the {what}: {e.strerror or e}") from None
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline=newline) as out:
            result = write(out)
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{target}: cannot write the {what}: {e.strerror or e}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return result
