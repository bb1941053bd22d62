"""Shared CLI plumbing: one-line errors with exit code 2, store options, safe printing, bounded numbers."""
from __future__ import annotations

import math
import sqlite3
from typing import Any

import click

from auditor import untrusted
from auditor.errors import InputError

# SQLite integers are signed 64-bit: a larger number given by a user must be refused, not passed on.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class InputFailure(click.ClickException):
    """A bad-input error as click shows it: `Error: <one line>`, exit code 2."""

    exit_code = 2

    def format_message(self) -> str:
        return untrusted.terminal(" ".join(self.message.split()))


class AuditGroup(click.Group):
    """A group whose commands turn InputError (and unexpected SQLite errors) into one-line exits."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except InputError as e:
            raise InputFailure(str(e)) from None
        except sqlite3.DatabaseError as e:
            raise InputFailure(f"store error: {e}") from None
        except MemoryError:
            raise InputFailure("out of memory (MemoryError): the machine or its limit (ulimit -v) left this "
                               "command too little memory") from None
        except BaseException as e:
            # A native library's panic (polars: a worker thread that could not start) is one line too.
            if type(e).__name__ != "PanicException":
                raise
            raise InputFailure(f"a columnar library failed: {' '.join(str(e).split())[:300]} "
                               "(out of memory or threads? try again with more memory)") from None


def echo(text: str = "", **kwargs: Any) -> None:
    """``click.echo`` for text that may hold log values: control characters (ESC sequences, C1,
    bidi overrides, carriage returns) are printed as visible escapes, never sent to the terminal."""
    click.echo(untrusted.terminal(text), **kwargs)


def echo_json(value: Any, **kwargs: Any) -> None:
    """Print a value as indented JSON with no raw control character in it."""
    click.echo(untrusted.json_dumps(value, indent=2, **kwargs))


class BoundedInt(click.ParamType):
    """An integer within [low, high] (by default what SQLite can store): a larger one is a one-line
    usage error, never an OverflowError deep in a query."""

    name = "integer"

    def __init__(self, low: int = INT64_MIN, high: int = INT64_MAX) -> None:
        self.low, self.high = low, high

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            try:
                if "_" in text:  # Python reads `1_000`; a user's number has no underscores
                    raise ValueError(text)
                number = int(text, 10)
            except ValueError:
                _refuse(f"{_short(value)!r} is not a whole number", param, ctx)
        if not self.low <= number <= self.high:
            _refuse(f"{_short(value)} is not between {self.low:,} and {self.high:,}", param, ctx)
        return number


class FiniteFloat(click.ParamType):
    """A finite number within [low, high]: `nan`, `inf` and numbers past the bounds are refused."""

    name = "number"

    def __init__(self, low: float, high: float, *, low_open: bool = False) -> None:
        self.low, self.high, self.low_open = low, high, low_open

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        try:
            if isinstance(value, str) and "_" in value:  # Python reads `1_0` as 10; a user's number has no underscores
                raise ValueError(value)
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            _refuse(f"{_short(value)!r} is not a number", param, ctx)
        if not math.isfinite(number):
            _refuse(f"{_short(value)} is not a finite number", param, ctx)
        above_low = number > self.low if self.low_open else number >= self.low
        if not above_low or number > self.high:
            bound = f"above {self.low:g}" if self.low_open else f"at least {self.low:g}"
            _refuse(f"{_short(value)} must be {bound} and at most {self.high:g}", param, ctx)
        return number


def _refuse(message: str, param: click.Parameter | None, ctx: click.Context | None) -> None:
    """A bad number is one line and exit code 2, like every other bad input (not click's usage page)."""
    if param is None:
        raise InputFailure(message)
    name = param.opts[0] if getattr(param, "opts", None) and param.param_type_name == "option" else param.human_readable_name
    raise InputFailure(f"{name}: {message}")


def _short(value: Any) -> str:
    text = untrusted.visible(str(value))
    return text if len(text) <= 40 else text[:37] + "..."


db_option = click.option(
    "--db",
    "db_path",
    required=True,
    type=click.Path(dir_okay=False),
    help="The proxytrace store (SQLite) to read or write.",
)


def pseudonym_options(command: Any) -> Any:
    """`--pseudonymize` and `--key-file` on a command that writes output."""
    command = click.option(
        "--key-file", type=click.Path(dir_okay=False),
        help="File holding the pseudonymization key (at least 16 bytes); implies --pseudonymize. "
             "Without it the key is read from $PROXYTRACE_PSEUDONYM_KEY.")(command)
    return click.option(
        "--pseudonymize", is_flag=True,
        help="Replace plates, officer names and case numbers with keyed tokens (HMAC-SHA256): the same "
             "value gets the same token, so counts and repeat-target findings still read.")(command)


def pseudonymizer_for(db: Any, pseudonymize: bool, key_file: str | None) -> Any:
    """The pseudonymizer the options ask for (knowing the store's values), or None."""
    if not pseudonymize and key_file is None:
        return None
    from auditor.pseudonym import Pseudonymizer, load_key

    return Pseudonymizer.from_store(db, load_key(key_file))
