"""gob input: trace.Event values in Go's gob encoding, as `tracee-ebpf -o format:gob` writes them."""

from __future__ import annotations

import sys
from typing import BinaryIO, Iterator

from ..api import InputContext, InputSpec
from ..errors import UsageError
from ..event import Event
from ..formats.gob import GobDecoder, GobError
from ..hookspecs import hookimpl
from ..log import limit
from .file import MAX_LINE_REPORTS


class GobInput:
    """Reads events from a gob stream at `path` (`-` or `stdin` for standard input).

    Events no signature selects are counted as skipped without being built. A bad message is
    reported with its byte offset, counted as dropped, and skipped; a stream that cannot be
    resynchronised ends the input with a one-line reason.
    """

    def __init__(self, context: InputContext) -> None:
        self.path = context.argument or "-"
        self.log = context.log
        self._stream: BinaryIO
        if self.path in ("-", "stdin"):
            self._stream = sys.stdin.buffer
            self.label = "stdin"
        else:
            try:
                self._stream = open(self.path, "rb")
            except OSError as exc:
                raise UsageError(f"--input gob:{self.path}: {exc.strerror}") from None
            self.label = self.path
        self.decoder = GobDecoder(self._stream, event_names=context.event_names, on_error=self._bad)

    def _bad(self, err: GobError) -> None:
        self.log.error(f"{self.label}: {err}; message skipped",
                       extra=limit("gob:bad-message", MAX_LINE_REPORTS, more="further bad messages are only counted"))

    def events(self) -> Iterator[Event]:
        yield from self.decoder.events()
        if self.decoder.stopped:
            self.log.error(f"{self.label}: gob: {self.decoder.stopped}")

    def stats(self) -> dict[str, int]:
        d = self.decoder
        return {"read": d.events_read + d.skipped, "skipped": d.skipped, "dropped": d.errors}

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()


@hookimpl
def tracee_register_inputs(register):
    register(InputSpec("gob", GobInput, "trace.Event values in Go's gob encoding (tracee-ebpf -o "
                                        "format:gob), from a file or '-' for stdin"))
