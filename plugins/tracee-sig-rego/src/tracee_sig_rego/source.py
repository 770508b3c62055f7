"""Reading Rego source text without a parser: Unicode spaces, and which `input` fields it uses."""

from __future__ import annotations

import re
from typing import Iterator

__all__ = ["input_fields", "plain_spaces"]

# Unicode spaces → ASCII spaces of the same UTF-8 length, so rego-cpp's byte offsets still point
# into the original text. Rules copied from web pages (the Docker-socket rule of Aqua's blog)
# are indented with no-break spaces, which Rego parsers reject.
_ODD_SPACES = {"\u00a0": "  ", "\u2007": "   ", "\u202f": "   ", "\u3000": "   ", "\ufeff": "   "}


def _segments(source: str) -> Iterator[tuple[str, str]]:
    """(kind, text) pieces of `source`: kind is "code", "string" (with its quotes) or "comment"."""
    i, n, start = 0, len(source), 0
    while i < n:
        c = source[i]
        if c in "\"`#":
            if i > start:
                yield "code", source[start:i]
            j = i + 1
            if c == "#":
                while j < n and source[j] != "\n":
                    j += 1
                yield "comment", source[i:j]
            elif c == "`":
                while j < n and source[j] != "`":
                    j += 1
                j += 1
                yield "string", source[i:j]
            else:
                while j < n and source[j] not in "\"\n":
                    j += 2 if source[j] == "\\" else 1
                j += 1
                yield "string", source[i:j]
            i = start = min(j, n)
            continue
        i += 1
    if start < n:
        yield "code", source[start:]


def plain_spaces(source: str) -> str:
    """`source` with Unicode spaces outside string literals replaced by ASCII spaces."""
    if not any(c in source for c in _ODD_SPACES):
        return source
    out = []
    for kind, text in _segments(source):
        if kind != "string":
            for odd, plain in _ODD_SPACES.items():
                text = text.replace(odd, plain)
        out.append(text)
    return "".join(out)


_INPUT_RE = re.compile(r"(?<![\w.])input\b(?:\s*\.\s*([A-Za-z_]\w*))?")


def input_fields(source: str) -> frozenset[str] | None:
    """Top-level `input` fields the module reads (`input.args` → "args"), or None when it uses
    `input` in any other way (`input[k]`, `x := input`, `with input as ...`): then it needs it all.

    Why: rego-cpp's cost of every `input` access grows with the size of the input document, so
    the runtime passes a group of rules only the fields its modules name (about 2x faster on
    Tracee events). Comments and strings are ignored; over-including a field is harmless.
    """
    fields: set[str] = set()
    for kind, text in _segments(source):
        if kind != "code":
            continue
        for found in _INPUT_RE.finditer(text):
            if found.group(1) is None:
                return None
            fields.add(found.group(1))
    return frozenset(fields)
