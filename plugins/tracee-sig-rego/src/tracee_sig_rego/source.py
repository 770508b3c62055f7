"""Reading Rego source text without a parser: Unicode spaces, and which `input` fields it uses."""

from __future__ import annotations

import json
import re
from typing import Iterator

__all__ = ["argument_names", "compilable", "input_fields", "plain_spaces", "pure", "sandbox_problems"]

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


_ARG_CALL = re.compile(r"\bget_tracee_argument\b")
_OPEN_CALL = re.compile(r"\s*\(\s*\Z")
_CLOSE_CALL = re.compile(r"\A\s*\)")


def argument_names(source: str) -> frozenset[str] | None:
    """The argument names the module passes to `get_tracee_argument` (`get_tracee_argument("flags")`
    → "flags"), or None when it names the function any other way (a name computed at run time, an
    import alias, its own definition): then it may read any argument.

    Why: the runtime passes a group only the arguments its modules ask for by name, so the input
    is smaller (each `input` access costs more the larger it is) and repeats more often (the result
    cache is keyed on it). Comments are ignored; a name in a string elsewhere is not a call.
    """
    names: set[str] = set()
    segments = list(_segments(source))
    for i, (kind, text) in enumerate(segments):
        if kind != "code":
            continue
        for found in _ARG_CALL.finditer(text):
            literal = segments[i + 1] if i + 1 < len(segments) else ("", "")
            after = segments[i + 2] if i + 2 < len(segments) else ("", "")
            if not (_OPEN_CALL.match(text, found.end()) and literal[0] == "string" and after[0] == "code"
                    and _CLOSE_CALL.match(after[1])):
                return None
            name = _string_value(literal[1])
            if name is None:
                return None
            names.add(name)
    return frozenset(names)


def _string_value(literal: str) -> str | None:
    if literal.startswith("`"):
        return literal[1:-1] if len(literal) >= 2 and literal.endswith("`") else None
    try:
        value = json.loads(literal)  # Rego's string escapes are JSON's
    except ValueError:
        return None
    return value if type(value) is str else None


# Builtins whose answer is not a function of `input` and data (the clock, random numbers, the
# runtime, the network) or that print: a group whose modules name one caches nothing. Matched
# loosely (any use of the namespace), so a false alarm costs only the cache.
_IMPURE = re.compile(r"\b(?:time|rand|uuid|opa|http|net)\s*(?:\.|\[)|\bio\s*\.\s*jwt\b|\bcrypto\s*\.\s*x509\b"
                     r"|\b(?:trace|print)\s*\(")


def pure(source: str) -> bool:
    """Whether the module's rules are functions of `input` (and static data) only."""
    return not any(kind == "code" and _IMPURE.search(text) for kind, text in _segments(source))


# `x with input as input` replaces input by itself: the identity, which OPA compiles away. rego-cpp
# 1.5 instead throws an uncaught C++ exception (SIGABRT) when the `with` target is a rule that
# calls a builtin, as Tracee's own v0.8.3 disk_mount.rego does (`not runc_process with input as
# input`). Not followed by `.` or `[`: `with input as input.x` is a real replacement.
_IDENTITY_WITH = re.compile(r"\s+with\s+input\s+as\s+input\b(?!\s*[.\[])")


def _blank(text: str) -> str:
    """Spaces of the same UTF-8 length, newlines kept: rego-cpp's byte offsets and our line
    numbers stay right after a rewrite."""
    return "".join("\n" if c == "\n" else " " * len(c.encode("utf-8", "surrogatepass")) for c in text)


def compilable(source: str) -> str:
    """`source` as the plugin compiles it: Unicode spaces made ASCII, identity `with input as input`
    dropped (both outside strings and comments)."""
    text = plain_spaces(source)
    if "with" not in text:
        return text
    out = []
    for kind, segment in _segments(text):
        if kind == "code":
            segment = _IDENTITY_WITH.sub(lambda m: _blank(m.group(0)), segment)
        out.append(segment)
    return "".join(out)


# Builtins that reach outside the rule: the network, DNS, the process. rego-cpp leaves the
# network ones unimplemented (a call is silently undefined, so the rule never matches); a rule
# worker has an empty environment, so opa.runtime() finds nothing there. Refs are matched loosely
# (`opa["runtime"]` is a call too).
_NETWORK = re.compile(r"\b(http|net)\s*(\.\s*|\[\s*\")(send|lookup_ip_addr)\b")
_RUNTIME = re.compile(r"\bopa\s*(\.|\[)")


def sandbox_problems(source: str) -> tuple[str | None, str | None]:
    """(error, warning) about builtins the Rego sandbox withholds, for a rule's source."""
    error = warning = None
    for kind, text in _segments(source):
        if kind != "code":
            continue
        found = _NETWORK.search(text)
        if found and error is None:
            error = (f"{found.group(1)}.{found.group(3)} is not available to tracee rules (no network in "
                     f"the Rego sandbox)")
        if _RUNTIME.search(text) and warning is None:
            warning = "opa.runtime() gives rules no environment in tracee (its \"env\" is empty)"
    return error, warning
