"""Turns a go-cel expression into plain CEL both backends run the same way, and checks its names.

go-cel declared `input` as a proto message with two member functions implemented in Go. Here
`input` is a map with a fixed set of keys, and the functions become CEL over maps flattened once
per event (no Python callback per call: cel-expr-python leaks ~4.6 KB on each):

    input.stringArg('name')  ->  __tracee_sargs['name']      (the name is in every event's map)
    input.stringArg(X)       ->  ((X) in __tracee_sargs ? __tracee_sargs[X] : '')
    input.sockaddrArg(X)     ->  the same over __tracee_saddrs, the empty sockaddr by default
    wrapper.sa_family_t.AF_INET              ->  'AF_INET'
    wrapper.sockaddr{sa_family: ..., ...}    ->  {'sa_family': ..., <the other fields, zero>}
    input.processId (Tracee's JSON name)     ->  input.processID

The rewrite works on tokens, not a full parse: syntax errors are left for the backend's parser,
and every position in the rewritten text maps back to the user's text for error messages.
Unknown `input` fields, methods and functions are reported here, with their position, so both
backends reject the same rules at load instead of failing on each event.
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass, field

from .schema import (ALIASES, FIELDS, SA_FAMILIES, SOCKADDR_ARGS, SOCKADDR_FIELDS, STRING_ARGS,
                     UNSIGNED_SOCKADDR_FIELDS)

__all__ = ["FUNCTIONS", "Translation", "TranslateError", "translate"]

# Functions and macros a rule may call, in both backends: CEL's standard library and the strings
# extension (cel-expr-python's ext_strings; reimplemented for cel-python in backends.py).
STANDARD_FUNCTIONS = frozenset("""
    has all exists exists_one map filter size int uint double string bytes bool type dyn duration
    timestamp matches contains startsWith endsWith getDate getDayOfMonth getDayOfWeek getDayOfYear
    getFullYear getHours getMilliseconds getMinutes getMonth getSeconds
""".split())
STRING_EXTENSION_FUNCTIONS = frozenset("""
    charAt indexOf lastIndexOf lowerAscii upperAscii replace split substring trim join
""".split())
FUNCTIONS = STANDARD_FUNCTIONS | STRING_EXTENSION_FUNCTIONS
INPUT_METHODS = ("stringArg", "sockaddrArg")
RESERVED_PREFIX = "__tracee"

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<comment>//[^\n]*)
  | (?P<string>(?:[bB][rR]?|[rR][bB]?)?(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''))
  | (?P<rawstring>(?:[bB]?[rR]|[rR][bB])(?:"[^"\n]*"|'[^'\n]*'))
  | (?P<string2>[bB]?(?:"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<number>0[xX][0-9a-fA-F]+[uU]?|\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+[uU]?)
  | (?P<ident>[_a-zA-Z][_a-zA-Z0-9]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%<>!?:.,()\[\]{}])
  | (?P<other>.)
""", re.VERBOSE)

_OPEN = {"(": ")", "[": "]", "{": "}"}


class TranslateError(Exception):
    """A name the rule may not use, at `offset` in the expression."""

    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    start: int
    end: int


@dataclass
class Translation:
    """The rewritten text and how to find the user's position from a position in it."""

    source: str
    text: str
    uses_sockaddr: bool = False
    #: The `input` fields the expression reads, or None when it uses `input` as a whole.
    fields: frozenset[str] | None = frozenset()
    #: Argument names given as literals to stringArg / sockaddrArg: always present in the maps.
    string_names: frozenset[str] = frozenset()
    sockaddr_names: frozenset[str] = frozenset()
    _new_starts: list[int] = field(default_factory=list)
    _orig_starts: list[int] = field(default_factory=list)
    _verbatim: list[bool] = field(default_factory=list)

    def original_offset(self, offset: int) -> int:
        """The offset in `source` that produced `offset` in `text`."""
        i = bisect.bisect_right(self._new_starts, offset) - 1
        if i < 0:
            return 0
        orig = self._orig_starts[i]
        return orig + (offset - self._new_starts[i]) if self._verbatim[i] else orig

    def original_position(self, line: int, column: int) -> tuple[int, int]:
        """(line, column), 1-based, in `source` for a 1-based position in `text`."""
        return line_col(self.source, self.original_offset(offset_of(self.text, line, column)))


def offset_of(text: str, line: int, column: int) -> int:
    starts = [0] + [m.end() for m in re.finditer("\n", text)]
    line = min(max(line, 1), len(starts))
    return min(starts[line - 1] + max(column, 1) - 1, len(text))


def line_col(text: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of `offset` in `text`."""
    before = text[:offset]
    line = before.count("\n") + 1
    return line, offset - (before.rfind("\n") + 1) + 1


def _tokenize(text: str) -> list[_Tok]:
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        if kind in ("ws", "comment"):
            continue
        if kind in ("string2", "rawstring"):
            kind = "string"
        tokens.append(_Tok(kind, m.group(), m.start(), m.end()))
    return tokens


def _suggest(name: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_Piece = tuple[str, int, bool]  # (text, offset in the source it comes from, copied verbatim?)


class _Rewriter:
    def __init__(self, source: str) -> None:
        self.source = source
        self.toks = _tokenize(source)
        self.uses_sockaddr = False
        self.fields: set[str] | None = set()
        self.string_names: set[str] = set()
        self.sockaddr_names: set[str] = set()

    # -- token helpers ------------------------------------------------------------------------------
    def _is(self, i: int, text: str, hi: int) -> bool:
        return i < hi and self.toks[i].text == text and self.toks[i].kind in ("op", "ident")

    def _ident(self, i: int, hi: int) -> bool:
        return i < hi and self.toks[i].kind == "ident"

    def _after_dot(self, i: int) -> bool:
        return i > 0 and self.toks[i - 1].text == "." and self.toks[i - 1].kind == "op"

    def _closing(self, i: int, hi: int) -> int | None:
        """Index of the bracket closing the one at `i`, or None if unbalanced (a syntax error the
        backend's parser will report)."""
        stack = []
        for j in range(i, hi):
            tok = self.toks[j]
            if tok.kind != "op":
                continue
            if tok.text in _OPEN:
                stack.append(_OPEN[tok.text])
            elif tok.text in (")", "]", "}"):
                if not stack or stack.pop() != tok.text:
                    return None
                if not stack:
                    return j
        return None

    def _split_commas(self, lo: int, hi: int) -> list[tuple[int, int]]:
        """Token ranges of the comma-separated items in [lo, hi) at bracket depth 0."""
        if lo >= hi:
            return []
        parts, depth, start = [], 0, lo
        for j in range(lo, hi):
            tok = self.toks[j]
            if tok.kind != "op":
                continue
            if tok.text in _OPEN:
                depth += 1
            elif tok.text in (")", "]", "}"):
                depth -= 1
            elif tok.text == "," and depth == 0:
                parts.append((start, j))
                start = j + 1
        parts.append((start, hi))
        return parts

    # -- the rewrite --------------------------------------------------------------------------------
    def emit(self, lo: int, hi: int, start: int, end: int) -> list[_Piece]:
        """Rewrite tokens [lo, hi), which span source[start:end]."""
        out: list[_Piece] = []
        cursor = start
        toks = self.toks

        def flush(upto: int) -> None:
            nonlocal cursor
            if upto > cursor:
                out.append((self.source[cursor:upto], cursor, True))
            cursor = upto

        i = lo
        while i < hi:
            tok = toks[i]
            if tok.kind == "ident" and tok.text.startswith(RESERVED_PREFIX):
                raise TranslateError(tok.start, f"{tok.text!r} is a reserved name")
            if tok.kind == "ident" and not self._after_dot(i):
                if tok.text == "input" and self._is(i + 1, ".", hi) and self._ident(i + 2, hi):
                    name = toks[i + 2]
                    if self._is(i + 3, "(", hi):
                        close = self._closing(i + 3, hi)
                        if close is None:
                            i += 1
                            continue
                        if name.text not in INPUT_METHODS:
                            raise TranslateError(name.start, f"input has no method {name.text!r}"
                                                 f"{_suggest(name.text, list(INPUT_METHODS))}; it has "
                                                 "stringArg(name) and sockaddrArg(name)")
                        args = self._split_commas(i + 4, close)
                        if len(args) != 1 or args[0][0] == args[0][1]:
                            raise TranslateError(name.start, f"input.{name.text} takes one argument "
                                                 f"(the argument's name), got {len(args)}")
                        a_lo, a_hi = args[0]
                        arg = self.emit(a_lo, a_hi, toks[a_lo].start, toks[a_hi - 1].end)
                        flush(tok.start)
                        at = tok.start
                        if name.text == "stringArg":
                            var, default, names = STRING_ARGS, "''", self.string_names
                        else:
                            var, default, names = SOCKADDR_ARGS, _sockaddr_literal({}), self.sockaddr_names
                            self.uses_sockaddr = True
                        end_at = toks[close].start  # errors just after the argument point at its ')'
                        literal = _plain_string(toks[a_lo]) if a_hi == a_lo + 1 else None
                        if literal is not None:
                            # A name known at load: the backend puts it in every event's map (with
                            # the default when absent), so one lookup does: 2x faster than `in` + [].
                            names.add(literal)
                            out.append((f"{var}[", at, False))
                            out.extend(arg)
                            out.append(("]", end_at, False))
                            cursor = toks[close].end
                            i = close + 1
                            continue
                        out.append(("((", at, False))
                        out.extend(arg)
                        out.append((f") in {var} ? {var}[", end_at, False))
                        out.extend(arg)
                        out.append((f"] : {default})", end_at, False))
                        cursor = toks[close].end
                        i = close + 1
                        continue
                    if name.text in ALIASES:
                        flush(name.start)
                        out.append((ALIASES[name.text], name.start, False))
                        cursor = name.end
                    elif name.text not in FIELDS:
                        raise TranslateError(name.start, f"input has no field {name.text!r}"
                                             f"{_suggest(name.text, [*FIELDS, *ALIASES])}")
                    if self.fields is not None:
                        self.fields.add(ALIASES.get(name.text, name.text))
                    i += 3
                    continue
                if tok.text == "input":
                    self.fields = None  # `input[...]`, `input == ...`: every field may be read
                if tok.text == "wrapper" and self._is(i + 1, ".", hi) and self._ident(i + 2, hi):
                    i = self._wrapper(i, hi, out, flush)
                    cursor = toks[i - 1].end
                    continue
            if tok.kind == "ident" and self._is(i + 1, "(", hi) and tok.text not in FUNCTIONS:
                raise TranslateError(tok.start, f"unknown function {tok.text!r}"
                                     f"{_suggest(tok.text, sorted(FUNCTIONS))}")
            i += 1
        flush(end)
        return out

    def _wrapper(self, i: int, hi: int, out: list[_Piece], flush) -> int:
        """`wrapper.sa_family_t.X` or `wrapper.sockaddr{...}` at token i; returns the next index."""
        toks = self.toks
        what = toks[i + 2]
        if what.text == "sa_family_t" and self._is(i + 3, ".", hi) and self._ident(i + 4, hi):
            member = toks[i + 4]
            if member.text not in SA_FAMILIES:
                raise TranslateError(member.start, f"wrapper.sa_family_t has no value {member.text!r}"
                                     f"{_suggest(member.text, list(SA_FAMILIES))}")
            flush(toks[i].start)
            out.append((repr(SA_FAMILIES[member.text]), toks[i].start, False))
            return i + 5
        if what.text == "sockaddr" and self._is(i + 3, "{", hi):
            close = self._closing(i + 3, hi)
            if close is None:
                raise TranslateError(toks[i + 3].start, "unbalanced '{' in wrapper.sockaddr{...}")
            given: dict[str, list[_Piece]] = {}
            for lo, end in self._split_commas(i + 4, close):
                if lo == end:
                    continue
                key = toks[lo]
                if key.kind != "ident" or not self._is(lo + 1, ":", end) or lo + 2 >= end:
                    raise TranslateError(key.start, "expected 'field: value' in wrapper.sockaddr{...}")
                if key.text not in SOCKADDR_FIELDS:
                    raise TranslateError(key.start, f"wrapper.sockaddr has no field {key.text!r}"
                                         f"{_suggest(key.text, list(SOCKADDR_FIELDS))}")
                given[key.text] = self.emit(lo + 2, end, toks[lo + 2].start, toks[end - 1].end)
            flush(toks[i].start)
            at = toks[i].start
            out.append(("{", at, False))
            for n, name in enumerate(SOCKADDR_FIELDS):
                out.append((("" if n == 0 else ", ") + f"'{name}': ", at, False))
                if name in given:
                    out.extend(given[name])
                else:
                    out.append((_zero(name), at, False))
            out.append(("}", at, False))
            return close + 1
        raise TranslateError(what.start, f"unknown name wrapper.{what.text} (known: "
                             "wrapper.sockaddr{...}, wrapper.sa_family_t.AF_INET/AF_INET6/AF_UNIX/"
                             "SA_FAMILY_T_UNSPEC)")


def _plain_string(tok: _Tok) -> str | None:
    """The value of a quoted string token without escapes or prefixes, else None."""
    text = tok.text
    if tok.kind == "string" and len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0] \
            and "\\" not in text and text[0] not in text[1:-1]:
        return text[1:-1]
    return None


def _zero(name: str) -> str:
    if name == "sa_family":
        return "'AF_UNSPEC'"
    return "0u" if name in UNSIGNED_SOCKADDR_FIELDS else "''"


def _sockaddr_literal(values: dict[str, str]) -> str:
    return "{" + ", ".join(f"'{k}': {values.get(k, _zero(k))}" for k in SOCKADDR_FIELDS) + "}"


def translate(source: str) -> Translation:
    """Rewrite a go-cel expression; raises TranslateError for names no backend would accept."""
    rw = _Rewriter(source)
    pieces = rw.emit(0, len(rw.toks), 0, len(source))
    result = Translation(source, "", rw.uses_sockaddr,
                         frozenset(rw.fields) if rw.fields is not None else None,
                         frozenset(rw.string_names), frozenset(rw.sockaddr_names))
    parts, pos = [], 0
    for text, orig, verbatim in pieces:
        result._new_starts.append(pos)
        result._orig_starts.append(orig)
        result._verbatim.append(verbatim)
        parts.append(text)
        pos += len(text)
    result.text = "".join(parts)
    return result
