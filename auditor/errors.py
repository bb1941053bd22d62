"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""


class InputError(Exception):
    """Bad input: a missing or malformed file, an unknown format, a store without the schema."""
