"""TRC-9: an executable (ELF) file written inside a running container: a binary dropped at runtime."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from tracee import Event, EventSelector, Signature

from ._common import arg, has_arg, metadata


def looks_like_elf(data: Any) -> bool:
    """Tracee's is_elf_file: bytes 1..3 of the data, lower-cased, are "elf" (byte 0 is not checked).

    `data` is magic_write's `bytes`: base64 text (JSON input), bytes, or a list of byte values.
    """
    if type(data) is str:
        try:  # 8 base64 characters hold the first 6 bytes: all the test needs
            head = base64.b64decode(data[:8], validate=True)
        except (binascii.Error, ValueError):
            return False  # not base64: Rego's base64.decode fails, the rule is undefined
    elif isinstance(data, (bytes, bytearray)):
        head = bytes(data[:4])
    elif type(data) is list and all(type(b) is int and 0 <= b < 256 for b in data[:4]):
        head = bytes(data[:4])
    else:
        return False
    return head[1:4].lower() == b"elf"


class DroppedExecutable(Signature):
    """magic_write in a container whose first bytes look like ELF; Data {"file path"}."""

    metadata = metadata(
        "TRC-9", "New Executable Was Dropped During Runtime",
        "An Executable file was dropped in your system during runtime. Usually container images are built "
        "with all binaries needed inside, a dropped binary may indicate an adversary infiltrated into "
        "your container.",
        2, "Defense Evasion: Masquerading")
    selected_events = [EventSelector("magic_write", origin="container")]

    def on_event(self, event: Event) -> None:
        if event.event_name != "magic_write":
            return
        if looks_like_elf(arg(event, "bytes")) and has_arg(event, "pathname"):
            self.match(event, {"file path": arg(event, "pathname")})
