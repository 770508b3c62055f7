"""Errors that end a run with a one-line message and a non-zero exit (never a traceback)."""


class FatalError(Exception):
    """A problem the user must fix; the CLI prints `tracee: error: <message>` and exits 1."""


class UsageError(FatalError):
    """A bad command line or config file; the CLI exits 2."""
