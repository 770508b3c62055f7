"""File input: JSON lines as `tracee-ebpf --output json` writes them, from a file or stdin."""

from __future__ import annotations

import os
import stat
import sys
from typing import BinaryIO, Iterator

from ..api import InputContext, InputSpec
from ..event import Event, EventDecodeError
from ..errors import UsageError
from ..hookspecs import hookimpl
from ..log import limit

# A line whose event no signature selects is counted and skipped without being decoded: finding
# the name costs ~0.3 us, decoding the line 3-10 us. Lines without this exact key (other key case,
# spaces) are decoded in full.
_NAME_KEY = b'"eventName":"'
# Bad lines are reported this many times each run, then only counted.
MAX_LINE_REPORTS = 20


class FileInput:
    """Reads events from `path` (`-` or `stdin` for standard input)."""

    def __init__(self, context: InputContext) -> None:
        self.path = context.argument or "-"
        self.event_names = context.event_names
        self.log = context.log
        self.read = self.skipped = self.dropped = 0
        # The names the pre-filter lets through, shared with the reading loop so that a reload can
        # change them in place (`update_events`); None lets every line through.
        self._names: set[bytes] | None = None if self.event_names is None else {n.encode() for n in self.event_names}
        self._decode_all = False  # set by a reload to a signature that selects every event
        self._stream: BinaryIO | None = None
        if self.path in ("-", "stdin"):
            self._stream = sys.stdin.buffer
            self.label = "stdin"
        else:
            try:
                self._stream = open(self.path, "rb")
            except OSError as exc:
                raise UsageError(f"--input file:{self.path}: {exc.strerror}") from None
            self.label = self.path
        try:
            #: A regular file ends when it is read: that is its normal end, not the input dying.
            self.finite = stat.S_ISREG(os.fstat(self._stream.fileno()).st_mode)
        except (OSError, ValueError, AttributeError):
            self.finite = False

    def events(self) -> Iterator[Event]:
        assert self._stream is not None
        names = self._names
        from_json = Event.from_json
        lineno = 0
        for line in self._stream:
            lineno += 1
            if len(line) < 8 and not line.strip():  # blank; every event is longer
                continue
            self.read += 1
            if names is not None:
                at = line.find(_NAME_KEY)
                if at >= 0:
                    start = at + len(_NAME_KEY)
                    end = line.find(b'"', start)
                    if line[start:end] not in names:
                        if not self._decode_all:
                            self.skipped += 1
                            continue
                        names = None
            try:
                event = from_json(line)
            except EventDecodeError as exc:
                self.dropped += 1
                self.log.error(f"{self.label}:{lineno}: {exc}; line skipped",
                               extra=limit("file:bad-line", MAX_LINE_REPORTS,
                                           more="further bad lines are only counted"))
                continue
            yield event

    def update_events(self, event_names: frozenset[str] | None) -> None:
        """The loaded signatures changed (a reload, from another thread): let their events through.

        The set is changed in place, names added before others are taken away, so a line the old or
        the new signatures select is never skipped while it changes."""
        if event_names is None:
            self._decode_all = True
            return
        if self._names is None:
            return  # already decoding every line: correct, only slower than needed
        wanted = {n.encode() for n in event_names}
        self._names |= wanted
        self._names &= wanted

    def stats(self) -> dict[str, int]:
        return {"read": self.read, "skipped": self.skipped, "dropped": self.dropped}

    def close(self) -> None:
        if self._stream is not None and self._stream is not sys.stdin.buffer:
            self._stream.close()


@hookimpl
def tracee_register_inputs(register):
    register(InputSpec("file", FileInput, "Tracee JSON lines from a file, or '-' for stdin"))
