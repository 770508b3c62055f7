"""Messages of the core and plugins: `tracee.<plugin>` loggers, one rate limit, and a counter for the summary.

Every part of the run reports through the standard `logging` module, on loggers under `tracee`
(`tracee.engine`, `tracee.ebpf`, `tracee.webhook`, `tracee.signature.TRC-1`, ...). `setup()`
(called by the command line and by `tracee.runner.run`) sends them to stderr as one line each,
`tracee: error: ...`, `tracee: warning: ...`, `tracee: ...` (or one JSON object per line).

A message that can repeat (a rule failing on every event, a bad input line, a dead webhook)
carries a rate limit in `extra=limit(key, ...)`: the first `times` messages of that key are
printed, the last of them saying the rest are only counted, and/or at most one per `every`
seconds. Limited messages are still counted: the `Counter` handler of a run counts every record
by level, before any limit applies, and the run's summary prints its error count.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from .redact import redact_text

__all__ = ["FORMATS", "ROOT", "Counter", "RateLimit", "counting", "get_logger", "limit", "quiet", "setup"]

ROOT = "tracee"
_LIMIT = "tracee_limit"  # the record attribute `limit()` sets
_NOTE = "tracee_note"    # what RateLimit adds to the message: "(further ones are only counted)"


def message(record: logging.LogRecord) -> str:
    """The record's message with its rate-limit note, credentials in URLs masked (`redact_text`):
    whatever a plugin puts in a message, a webhook password never reaches stderr."""
    return redact_text(record.getMessage() + getattr(record, _NOTE, ""))


def get_logger(name: str) -> logging.Logger:
    """The logger `tracee.<name>` (a plugin passes its own short name: "ebpf", "webhook", ...)."""
    return logging.getLogger(f"{ROOT}.{name}" if name else ROOT)


def limit(key: str, times: int | None = 1, every: float | None = None,
          more: str = "further ones are only counted") -> dict[str, Any]:
    """`extra=` for a message that may repeat: print the first `times` of `key` (None: no cap),
    at most one per `every` seconds; the last one printed ends with `(more)`, and one printed
    after others were held back by `every` says how many."""
    return {_LIMIT: (key, times, every, more)}


class RateLimit(logging.Filter):
    """Drops repeats of rate-limited records (see `limit`); other records pass."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._seen: dict[str, list[float]] = {}  # key -> [printed, time of the last one, held back]

    def filter(self, record: logging.LogRecord) -> bool:
        spec = getattr(record, _LIMIT, None)
        if spec is None:
            return True
        key, times, every, more = spec
        now = time.monotonic()
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = [0, float("-inf"), 0]
            if times is not None and seen[0] >= times:
                return False
            if every is not None and now - seen[1] < every:
                seen[2] += 1
                return False
            held, seen[2] = seen[2], 0
            seen[0] += 1
            seen[1] = now
            last = times is not None and seen[0] == times and times > 1 and more
        notes = [f"and {held:.0f} more since the last report"] if held else []
        if last:
            notes.append(more)
        # Set for the handler about to format the record (each handler filters for itself).
        setattr(record, _NOTE, f" ({'; '.join(notes)})" if notes else "")
        return True

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()


class Counter(logging.Handler):
    """Counts records by level name (`counts["ERROR"]`) and errors by logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.counts: dict[str, int] = {}
        self.errors_by_logger: dict[str, int] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[record.levelname] = self.counts.get(record.levelname, 0) + 1
        if record.levelno >= logging.ERROR:
            self.errors_by_logger[record.name] = self.errors_by_logger.get(record.name, 0) + 1

    @property
    def errors(self) -> int:
        return sum(n for level, n in self.counts.items() if level in ("ERROR", "CRITICAL"))

    @property
    def warnings(self) -> int:
        return self.counts.get("WARNING", 0)


class _Stderr(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is when a record is emitted (tests swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


class TextFormatter(logging.Formatter):
    """`tracee: error: message` (warning likewise; info as `tracee: message`)."""

    PREFIX = {logging.ERROR: "error: ", logging.CRITICAL: "error: ", logging.WARNING: "warning: "}

    def format(self, record: logging.LogRecord) -> str:
        return f"tracee: {self.PREFIX.get(record.levelno, '')}{message(record)}"


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time (RFC 3339, UTC), level, logger, message."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        return json.dumps({"time": f"{stamp}.{int(record.msecs):03d}Z", "level": record.levelname.lower(),
                           "logger": record.name, "message": message(record)}, ensure_ascii=False)


_FORMATS = {"text": TextFormatter, "json": JSONFormatter}
FORMATS = tuple(_FORMATS)
_handler: _Stderr | None = None
_format = "text"
_rate_limit = RateLimit()


def setup(fmt: str | None = None, level: int = logging.INFO) -> None:
    """Send `tracee.*` records to stderr in `fmt` ("text" or "json"; None keeps the format chosen
    before, text at first); calling it again only changes the format and level."""
    global _handler, _format
    root = logging.getLogger(ROOT)
    if _handler is None:
        _handler = _Stderr()
        _handler.addFilter(_rate_limit)
        root.addHandler(_handler)
        root.propagate = False
    if fmt is not None and fmt not in _FORMATS:
        raise ValueError(f"log format {fmt!r}: expected one of {', '.join(_FORMATS)}")
    _format = fmt or _format
    _handler.setFormatter(_FORMATS[_format]())
    root.setLevel(level)


def quiet() -> None:
    """Only warnings and errors from now on (listing commands: their output is the listing)."""
    logging.getLogger(ROOT).setLevel(logging.WARNING)


@contextmanager
def counting() -> Iterator[Counter]:
    """Count every `tracee.*` record while the block runs (rate limits start afresh)."""
    counter = Counter()
    root = logging.getLogger(ROOT)
    # First of the handlers: a message is counted before it is printed, so whoever has read it on
    # stderr (a test, the summary on another thread) finds it in the count.
    root.handlers = [counter, *root.handlers]  # one assignment: a logging thread sees either list
    _rate_limit.reset()
    try:
        yield counter
    finally:
        root.removeHandler(counter)


# Messages reach stderr as soon as tracee is imported, in any program that uses it (the command
# line, a test, a benchmark), in the format TRACEE_LOG_FORMAT names; `setup()` later changes only
# the format and level.
_env_format = os.environ.get("TRACEE_LOG_FORMAT", "").strip().lower()
setup(_env_format if _env_format in _FORMATS else None)
