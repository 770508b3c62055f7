"""File input: JSON lines as `tracee-ebpf --output json` writes them, from a file or stdin."""

from __future__ import annotations

import os
import select
import stat
import sys
from itertools import islice
from typing import Callable, Iterable, Iterator

from ..api import InputContext, InputSpec
from ..event import Event, EventDecodeError
from ..errors import UsageError
from ..hookspecs import hookimpl
from ..log import limit

# A line whose event no signature selects is counted and skipped without being decoded: finding
# the name costs ~0.3 us, decoding the line 3-10 us. The peek is trusted only where it cannot
# disagree with the parser (see `_peek_trusted`); other lines are decoded in full.
_BARE_KEY = b'"eventName"'
_BOM = b"\xef\xbb\xbf"
# Bad lines are reported this many times each run, then only counted.
MAX_LINE_REPORTS = 20
#: Longest line read (bytes); the rest of a longer line is skipped and counted, never held in
#: memory. tracee-ebpf's longest events (exec with argv and env) stay far below it.
DEFAULT_MAX_LINE = 4 << 20
_CHUNK = 1 << 16


class FileInput:
    """Reads events from `path` (`-` or `stdin` for standard input).

    Reads fixed-size chunks and splits them into lines itself, so memory stays bounded whatever
    the input (`--input file:/dev/zero` holds at most one line limit), and `close()`, called from
    a signal handler, ends the loop at the next chunk even while a pipe has nothing to read.
    """

    def __init__(self, context: InputContext) -> None:
        self.path = context.argument or "-"
        self.event_names = context.event_names
        self.log = context.log
        self.max_line = int(context.options.get("max_line_bytes") or DEFAULT_MAX_LINE)
        if self.max_line < 64:
            raise UsageError(f"--max-line-bytes {self.max_line}: at least 64")
        self.read = self.skipped = self.dropped = self.too_long = 0
        # The names the pre-filter lets through, shared with the reading loop so that a reload can
        # change them in place (`update_events`); None lets every line through.
        self._names: set[bytes] | None = None if self.event_names is None else {n.encode() for n in self.event_names}
        self._decode_all = False  # set by a reload to a signature that selects every event
        self._stop = False
        self._own_fd = False
        self._stream: Iterable[bytes] | None = None
        if self.path in ("-", "stdin"):
            self.label = "stdin"
            try:
                self._fd = sys.stdin.fileno()
            except (AttributeError, ValueError, OSError):  # a stream object standing in (tests, benchmarks)
                self._fd, self._stream = -1, sys.stdin.buffer
        else:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError as exc:
                raise UsageError(f"--input file:{self.path}: {exc.strerror}") from None
            self._own_fd = True
            self.label = self.path
            if stat.S_ISDIR(os.fstat(self._fd).st_mode):
                os.close(self._fd)
                raise UsageError(f"--input file:{self.path}: is a directory")
        # A regular file is always readable; anything else (a pipe, a terminal, /dev/zero) is
        # waited on with select, beside a pipe that close() writes to.
        self._regular = self._fd < 0 or stat.S_ISREG(os.fstat(self._fd).st_mode)
        #: A regular file ends when it is read: that is its normal end, not the input dying.
        self.finite = self._fd >= 0 and self._regular
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)

    # -- reading --------------------------------------------------------------------------------
    def _chunks(self) -> Iterator[bytes]:
        fd, wake = self._fd, self._wake_r
        first = True
        while not self._stop:
            if not self._regular:
                ready, _, _ = select.select([fd, wake], [], [])
                if wake in ready:
                    return
            try:
                chunk = os.read(fd, _CHUNK)
            except OSError as exc:
                self.log.error(f"{self.label}: read failed: {exc.strerror or exc}; input ends here")
                return
            if not chunk:
                return
            if first:
                first = False
                if chunk.startswith(_BOM):  # a UTF-8 byte order mark some editors write
                    chunk = chunk[3:]
            yield chunk

    def _stream_chunks(self, stream: Iterable[bytes]) -> Iterator[bytes]:
        """Chunks of a stream object standing in for stdin (lines or blocks), a few hundred
        pieces joined at a time: the splitting loop then runs on chunks of the usual size."""
        pieces = iter(stream)
        first = True
        while not self._stop:
            chunk = b"".join(islice(pieces, 256))
            if not chunk:
                return
            if first:
                first = False
                if chunk.startswith(_BOM):
                    chunk = chunk[3:]
            yield chunk

    def events(self) -> Iterator[Event]:
        names = self._names
        from_json = Event.from_json
        limit_ = self.max_line
        check_each = limit_ < _CHUNK
        lineno = 0
        pending: list[bytes] = []  # the start of a line that continues in the next chunk
        pending_len = 0
        skipping = False  # inside a line over the limit: drop bytes up to its newline
        skipped = 0  # of this chunk (added to self.skipped after it)
        chunks = self._chunks() if self._stream is None else self._stream_chunks(self._stream)
        try:
            for chunk in chunks:
                lines = chunk.split(b"\n")
                tail = lines.pop()
                if lines and (pending or skipping):
                    if skipping:  # lines[0] ends the over-long line, already counted
                        lineno += 1
                        skipping = False
                        del lines[0]
                    elif pending_len + len(lines[0]) > limit_:
                        lineno += 1
                        self.read += 1
                        self._too_long(lineno)
                        del lines[0]
                    else:
                        pending.append(lines[0])
                        lines[0] = b"".join(pending)
                    pending, pending_len = [], 0
                # Counted read as soon as split off: lines a stop leaves undispatched show as such.
                self.read += len(lines)
                for line in lines:
                    lineno += 1
                    if len(line) < 8 and not line.strip():  # blank; every event is longer
                        self.read -= 1
                        continue
                    if check_each and len(line) > limit_:
                        self._too_long(lineno)
                        continue
                    if names is not None:
                        # The last exact key: the one the parser keeps when a line repeats it.
                        at = line.rfind(_BARE_KEY)
                        if at > 0 and line.startswith(b':"', at + 11):
                            end = line.find(b'"', at + 13)
                            # _peek_trusted, inlined: this is the path of most lines
                            if (line[at + 13:end] not in names and line[at - 1] in (44, 123)
                                    and line.find(b"{", 1, at) < 0 and line.find(b"\\", at) < 0):
                                if not self._decode_all:
                                    skipped += 1
                                    continue
                                names = None
                    try:
                        event = from_json(line)
                    except EventDecodeError as exc:
                        self._bad(lineno, str(exc))
                        continue
                    yield event
                self.skipped += skipped
                skipped = 0
                if skipping or not tail:
                    continue
                pending.append(tail)
                pending_len += len(tail)
                if pending_len > limit_:
                    self.read += 1
                    self._too_long(lineno + 1)
                    pending, pending_len, skipping = [], 0, True
            if pending and not self._stop:  # a last line without a newline
                line = b"".join(pending)
                lineno += 1
                if line.strip():
                    self.read += 1
                    try:
                        yield from_json(line)
                    except EventDecodeError as exc:
                        self._bad(lineno, str(exc))
            elif skipping:
                lineno += 1
        finally:
            self.skipped += skipped
            self._release()

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

    def _bad(self, lineno: int, why: str) -> None:
        self.dropped += 1
        if len(why) > 300:
            why = why[:300] + "..."
        self.log.error(f"{self.label}:{lineno}: {why}; line skipped",
                       extra=limit("file:bad-line", MAX_LINE_REPORTS, more="further bad lines are only counted"))

    def _too_long(self, lineno: int) -> None:
        self.too_long += 1
        self._bad(lineno, f"line longer than {self.max_line} bytes (--max-line-bytes); the rest of it was "
                          f"skipped unread")

    # -- the input contract -------------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        return {"read": self.read, "skipped": self.skipped, "dropped": self.dropped}

    def close(self) -> None:
        """Stop reading (safe from a signal handler: the reading loop ends at its next step and
        releases the file itself)."""
        self._stop = True
        try:
            os.write(self._wake_w, b"x")
        except OSError:  # already released, or the wake pipe is full: the loop is ending anyway
            pass

    def _release(self) -> None:
        for fd in (self._wake_r, self._wake_w) + ((self._fd,) if self._own_fd else ()):
            try:
                os.close(fd)
            except OSError:
                pass
        self._own_fd = False
        self._wake_r = self._wake_w = -1

    def __del__(self) -> None:
        if getattr(self, "_wake_r", -1) >= 0:
            self._release()


def _peek_trusted(line: bytes, at: int) -> bool:
    """Whether the name of the `"eventName":"` key at `at` (the line's last `"eventName"`) is the
    one the JSON parser gives the event, so the line may be skipped undecoded. The parser takes the
    top-level `eventName`, the last if repeated (a key in another case or escaped only when the
    exact one is absent). So the key must be at the top level (no `{` before it but the object's
    own: a line that does not start with it is not trusted either; and preceded by `{` or `,`, so
    it is not the tail of an escaped key), and no escape may
    follow it (in its value, or spelling a later key as `"event\\u004eame"`). Two memchr scans of
    the line in all. An invalid line that passes is counted as skipped, not reported as malformed."""
    return line[at - 1] in (44, 123) and line.find(b"{", 1, at) < 0 and line.find(b"\\", at) < 0


def _max_line_option() -> object:
    import click

    return click.Option(["--max-line-bytes", "max_line_bytes"], type=click.IntRange(min=64), metavar="BYTES",
                        help=f"file input: longest event line read; the rest of a longer line is skipped and "
                             f"counted. Default: {DEFAULT_MAX_LINE}.")


@hookimpl
def tracee_register_inputs(register):
    register(InputSpec("file", FileInput, "Tracee JSON lines from a file, or '-' for stdin"))


@hookimpl
def tracee_cli_options(command: str, register: Callable[..., None]) -> None:
    if command == "tracee run":
        register(_max_line_option())
