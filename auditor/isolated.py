"""Running the columnar stages in a child process, so two copies of SQLite never share a process.

The columnar path reads and writes the store through adbc-driver-sqlite, which carries its own
copy of SQLite. Two copies of SQLite in one process must never hold the same file open at once:
POSIX locks belong to the process, so one copy closing the file drops the other's locks, and the
last to close deletes a WAL the other still uses (https://www.sqlite.org/howtocorrupt.html, section
2.2.1). Between processes the locking protocol holds. So the caller commits, keeps its sqlite3
connection idle, and the columnar stage runs in a child interpreter (a fresh one, not a fork:
pyarrow runs threads); its result or its exception comes back here.

The child is started once and serves every later call of the process: an interpreter with pyarrow,
polars and ADBC costs 0.5-1 s to start, which a command importing several files, or a test
session, then pays once. Reuse is safe because each call opens and closes its own ADBC
connections, so the child holds no store open between calls. Small stores need no child at all:
the scan's key pass reads them through the caller's sqlite3 (``auditor.scan.LOCAL_KEY_PASS_MAX``),
and the importer's fast path only takes files of 4 MB or more.
"""
from __future__ import annotations

import atexit
import os
import pickle
import sqlite3
import struct
import subprocess
import sys
from typing import IO, Any, Callable, TypeVar

from auditor.errors import InputError, ResourceError
from auditor.progress import Progress

T = TypeVar("T")
_HEADER = struct.Struct("!Q")  # each message: its length, then the pickle


def _die_with_parent() -> None:
    """A child whose parent is killed must not finish a write the parent no longer waits for."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the parent's kill leaves the child to finish
        return
    if os.getppid() == 1:  # the parent died before the line above
        os._exit(1)


class _Child:
    """The child interpreter: calls go pickled on its standard input, answers come back on a pipe.

    No multiprocessing pool: its queues hold named semaphores that a parent stopped by a signal
    leaves to the resource tracker, which then prints "leaked semaphore objects" warnings.
    """

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", f"from auditor.isolated import _serve; _serve({write_end})"],
                stdin=subprocess.PIPE, pass_fds=(write_end,), env=_child_env())
        except BaseException:
            os.close(read_end)
            raise
        finally:
            os.close(write_end)
        self.answers: IO[bytes] = os.fdopen(read_end, "rb")

    def call(self, payload: bytes) -> bytes | None:
        """Send one call; its answer, or None when the child died."""
        try:
            self.process.stdin.write(_HEADER.pack(len(payload)) + payload)
            self.process.stdin.flush()
        except BrokenPipeError:
            return None
        return _read_message(self.answers)

    def stop(self, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        else:
            try:
                self.process.stdin.close()  # the child's loop ends at the end of its input
            except OSError:
                pass
        self.process.wait()
        self.answers.close()


_child: _Child | None = None

def _child_env() -> dict[str, str]:
    """The child's environment: the thread caps set in auditor/__init__.py (inherited), and glibc
    held to two malloc arenas, each of which reserves 64 MB of address space."""
    return {"MALLOC_ARENA_MAX": "2", **os.environ}


def _failure(what: str) -> ResourceError:
    """A failure in the child as one line (never its traceback): the stage, and what refused it."""
    line = " ".join(what.split())[:300]
    return ResourceError(f"the columnar stage failed in its child process: {line} "
                         "(out of memory or threads? try again with more memory, or a smaller store)")


def _read_message(stream: IO[bytes]) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    data = stream.read(size)
    return data if len(data) == size else None


def shutdown() -> None:
    """Stop the child process, if one was started (at exit, or to start afresh)."""
    global _child
    if _child is not None:
        child, _child = _child, None
        child.stop()


atexit.register(shutdown)


def call(fn: Callable[..., T], *args: Any, progress: Progress | None = None, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` in the child process; ``fn`` must be a module-level function.

    With ``progress``, ``fn`` is called with a ``progress`` keyword too: the child's progress calls
    come back over the answer pipe ahead of the answer, and are made here as they arrive.
    """
    global _child
    payload = pickle.dumps((fn, args, kwargs, progress is not None), protocol=pickle.HIGHEST_PROTOCOL)
    if _child is None:
        _child = _Child()
    child = _child
    try:
        data = child.call(payload)
        while data is not None and (answer := _loads(data))[0] is None:
            if progress is not None:
                progress(*answer[1])  # (stage, done, total), sent at one of the child's batch boundaries
            data = _read_message(child.answers)
    except BaseException:
        _child = None
        child.stop(kill=True)  # interrupted: the child must not finish a write nobody waits for
        raise
    if data is None:
        _child = None
        child.stop(kill=True)
        raise _failure(f"it ended without an answer (exit code {child.process.returncode})")
    ok, value = answer
    if ok is _UNREADABLE:
        raise _failure(f"its answer could not be read: {value}") from None
    if ok:
        return value
    if isinstance(value, (InputError, sqlite3.DatabaseError, KeyboardInterrupt)):
        raise value  # said in one line by the CLI already (auditor.cli.common)
    # Anything else (MemoryError, a thread that could not start, a library panic) is one line too.
    raise _failure(f"{type(value).__name__}: {value}") from None


_UNREADABLE = "unreadable"


def _loads(data: bytes) -> tuple[Any, Any]:
    """One message from the child: (True, result), (False, exception) or (None, progress); or
    (_UNREADABLE, why) for an answer that cannot be rebuilt here (an ADBC error's class)."""
    try:
        return pickle.loads(data)
    except Exception as e:
        return _UNREADABLE, f"{type(e).__name__}: {e}"


def _serve(fd: int) -> None:
    """The child's side of :func:`call`: read calls on standard input until it ends, answer each on
    ``fd`` (after any progress messages, whose first item is None where an answer's is True or False)."""
    _die_with_parent()
    with os.fdopen(fd, "wb") as out:

        def forward(stage: str, done: int, total: int | None) -> None:
            data = pickle.dumps((None, (stage, done, total)), protocol=pickle.HIGHEST_PROTOCOL)
            out.write(_HEADER.pack(len(data)) + data)
            out.flush()

        while (message := _read_message(sys.stdin.buffer)) is not None:
            fn, args, kwargs, wants_progress = pickle.loads(message)
            if wants_progress:
                kwargs["progress"] = forward
            try:
                answer = (True, fn(*args, **kwargs))
            except BaseException as e:  # handed back to the parent, which raises it
                answer = (False, e)
            try:
                data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an exception (or result) that cannot be pickled comes back as its text
                data = pickle.dumps((False, RuntimeError(f"{type(answer[1]).__name__}: {answer[1]}")))
            out.write(_HEADER.pack(len(data)) + data)
            out.flush()
