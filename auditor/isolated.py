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

import os
import pickle
import subprocess
import sys
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


def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in a child process; ``fn`` must be a module-level function.

    The child is a plain interpreter started with :mod:`subprocess`; the call goes to it pickled on
    its standard input and the result (or the exception) comes back pickled on a pipe of its own.
    No multiprocessing pool: its queues hold named semaphores that a parent stopped by a signal
    leaves to the resource tracker, which then prints "leaked semaphore objects" warnings.
    """
    payload = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
    read_end, write_end = os.pipe()
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", f"from auditor.isolated import _serve; _serve({write_end})"],
            stdin=subprocess.PIPE, pass_fds=(write_end,))
    except BaseException:
        os.close(read_end)
        raise
    finally:
        os.close(write_end)
    try:
        with os.fdopen(read_end, "rb") as answer:
            try:
                child.stdin.write(payload)
                child.stdin.close()
            except BrokenPipeError:
                pass  # the child died at once: its exit code says so below
            data = answer.read()
        code = child.wait()
    except BaseException:
        child.kill()  # interrupted: the child must not finish a write nobody waits for
        child.wait()
        raise
    if not data:
        raise RuntimeError(f"the columnar child process ended without an answer (exit code {code})")
    try:
        ok, value = pickle.loads(data)
    except Exception as e:  # an exception whose class cannot be rebuilt here (an ADBC error)
        raise RuntimeError(f"the columnar child's answer could not be read: {type(e).__name__}: {e}") from None
    if ok:
        return value
    raise value


def _serve(fd: int) -> None:
    """The child's side of :func:`call`: read the call on standard input, answer on ``fd``."""
    _die_with_parent()
    fn, args, kwargs = pickle.loads(sys.stdin.buffer.read())
    try:
        answer = (True, fn(*args, **kwargs))
    except BaseException as e:  # handed back to the parent, which raises it
        answer = (False, e)
    try:
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # an exception (or result) that cannot be pickled comes back as its text
        data = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
    with os.fdopen(fd, "wb") as out:
        out.write(data)
