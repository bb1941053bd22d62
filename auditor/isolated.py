"""Running the columnar stages in a child process, so two copies of SQLite never share a process.

The columnar path reads and writes the store through adbc-driver-sqlite, which carries its own
copy of SQLite. Two copies of SQLite in one process must never hold the same file open at once:
POSIX locks belong to the process, so one copy closing the file drops the other's locks, and the
last to close deletes a WAL the other still uses (https://www.sqlite.org/howtocorrupt.html, section
2.2.1). Between processes the locking protocol holds. So the caller commits, keeps its sqlite3
connection idle, and the columnar stage runs in a child interpreter (spawn, not fork: pyarrow
runs threads), started once and reused; its result or its exception comes back here. Small stores
need no child at all: the scan's key pass reads them through the caller's sqlite3
(``auditor.scan.LOCAL_KEY_PASS_MAX``), and the importer's fast path only takes files of 4 MB or more.
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


_pool: ProcessPoolExecutor | None = None


def _worker() -> ProcessPoolExecutor:
    """The one child process, started on first use and reused by every later call.

    Starting an interpreter with pyarrow, polars and ADBC costs 0.5-1 s; a command that imports
    several files, or a test session, pays it once. Reuse is safe: each call opens and closes its
    own ADBC connections, so the child holds no store open between calls.
    """
    import atexit
    import os
    import sys

    global _pool
    if _pool is not None:
        return _pool
    # A spawned child re-runs the parent's main script; a main read from standard input
    # (`python - < script`) has no file to re-run, so the child is told there is none.
    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    hidden = isinstance(path, str) and not os.path.exists(path)
    if hidden:
        del main.__file__
    try:
        _pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                    initializer=_die_with_parent)
        _pool.submit(int).result()  # start it now, while __main__ is as the child must see it
    finally:
        if hidden:
            main.__file__ = path
    atexit.register(shutdown)
    return _pool


def shutdown() -> None:
    """Stop the child process, if one was started."""
    global _pool
    if _pool is not None:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool = None


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the child process; ``fn`` must be a module-level function."""
    from concurrent.futures.process import BrokenProcessPool

    try:
        return _worker().submit(fn, *args, **kwargs).result()
    except BrokenProcessPool:
        shutdown()  # the child died (killed, out of memory): the next call starts a fresh one
        raise
