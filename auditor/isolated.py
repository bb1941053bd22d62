"""Running the columnar stages in a child process, so two copies of SQLite never share a process.

The columnar path reads and writes the store through adbc-driver-sqlite, which carries its own
copy of SQLite. Two copies of SQLite in one process must never hold the same file open at once:
POSIX locks belong to the process, so one copy closing the file drops the other's locks, and the
last to close deletes a WAL the other still uses (https://www.sqlite.org/howtocorrupt.html, section
2.2.1). Between processes the locking protocol holds. So the caller commits, keeps its sqlite3
connection idle, and the columnar stage runs in a fresh interpreter (spawn, not fork: pyarrow
runs threads); its result or its exception comes back here.
"""
from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Callable, TypeVar

T = TypeVar("T")


def _die_with_parent() -> None:
    """A child whose parent is killed must not finish a write the parent no longer waits for."""
    import ctypes
    import os
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's kill leaves the child to finish
        return
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(1)


def _guarded(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` in the child; an exception that cannot cross back (an ADBC error does not unpickle,
    which showed as a BrokenProcessPool traceback) comes back as the sqlite3 or plain error it means."""
    import pickle
    import sqlite3

    try:
        return fn(*args, **kwargs)
    except Exception as e:
        try:
            pickle.loads(pickle.dumps(e))
            crosses = True
        except Exception:
            crosses = False
        if crosses:
            raise
        text = f"{type(e).__name__}: {e}".splitlines()[0]
        if "locked" in text or "busy" in text:
            raise sqlite3.OperationalError(f"database is locked ({text})") from None
        raise RuntimeError(text) from None


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a child process; ``fn`` must be a module-level function."""
    import os
    import sys

    # A spawned child re-runs the parent's main script; a main read from standard input
    # (`python - < script`) has no file to re-run, so the child is told there is none.
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hidden = isinstance(path, str) and not os.path.exists(path)
    if hidden:
        del main.__file__
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_die_with_parent) as pool:
            return pool.submit(_guarded, fn, *args, **kwargs).result()
    finally:
        if hidden:
            main.__file__ = path
