"""Errors a user can act on. The CLI prints them as one line and exits with code 2."""


class InputError(Exception):
    """Bad input: a missing or malformed file, an unknown format, a store without the schema."""


class ResourceError(InputError):
    """The machine refused a resource a stage needed (memory, a thread, a child process): said in
    one line, like bad input, because the user acts on it the same way (a smaller input, more memory)."""
