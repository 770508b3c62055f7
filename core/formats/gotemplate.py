"""Go's text/template, the part of it Tracee's own templates use, with the Sprig functions they call.

    template = load("rawjson.tmpl")                 # GoTemplateError (file:line) if unsupported
    template.execute(finding_data(finding))         # tracee-rules --output-template
    template.execute(event_data(event))             # tracee-ebpf -o format:gotemplate=FILE

Supported: text and actions with `{{-`/`-}}` trimming and comments; fields, chains, variables
(`$x := ...`, `$x = ...`), literals, parentheses and pipes; `if`/`else if`/`else`, `range`
(with `$i, $v :=`, `else`, `break`, `continue`), `with`/`else`; the builtins and, or, not, len,
index, slice, print, printf, println, eq, ne, lt, le, gt, ge, html, urlquery; and Sprig's toJson,
toPrettyJson, toRawJson, now, date, dateInZone, upper, lower, trim, trimPrefix, trimSuffix,
replace, contains, hasPrefix, hasSuffix, join, quote, squote, default, toString. Anything else
(`define`, `template`, `block`, `call`, unknown functions) is refused when the file is loaded.

Why hand-written: Python has no implementation of Go's template language (Jinja2 and friends
have another syntax), and Tracee users' templates are Go templates. Values are Go values as
the templates see them: `GoStruct` for structs (trace.Event, detect.Finding ...), dicts for
maps, lists for slices; printing follows Go's fmt.
"""

from __future__ import annotations

import base64
import decimal
import html as _html
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

__all__ = ["FindingTemplate", "GoStruct", "GoTemplateError", "Template", "compile_template", "event_data",
           "finding_data", "go_quote", "go_value", "load", "sprint"]


class GoTemplateError(ValueError):
    """A template that cannot be loaded or run: `file:line:col: what`, one line."""


# -- values ----------------------------------------------------------------------------------------
class _NoValue:
    """A missing map key: Go prints `<no value>`."""

    def __repr__(self) -> str:
        return "<no value>"

    def __bool__(self) -> bool:
        return False


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class _Nil:
    """A nil map or slice: printed `map[]`/`[]`, empty, and `null` in JSON."""

    kind: str

    def __bool__(self) -> bool:
        return False

    def __len__(self) -> int:
        return 0


NIL_MAP, NIL_SLICE = _Nil("map"), _Nil("slice")


class GoStruct:
    """A Go struct value: `type_name` (as %T prints it), fields in declaration order (values, or
    callables for methods and lazily built fields), embedded structs whose fields are promoted,
    and its JSON form for toJson (a value, or a callable returning one)."""

    __slots__ = ("type_name", "_fields", "_embedded", "_json", "_json_keys", "_cache")

    def __init__(self, type_name: str, fields: Mapping[str, Any], *, json_value: Any = None,
                 json_keys: Mapping[str, str] | None = None, embedded: Sequence[str] = ()) -> None:
        self.type_name = type_name
        self._fields = dict(fields)
        self._embedded = tuple(embedded)
        self._json = json_value
        self._json_keys = json_keys or {}
        self._cache: dict[str, Any] = {}

    def field_names(self) -> list[str]:
        return list(self._fields)

    def get(self, name: str) -> Any:
        if name in self._cache:
            return self._cache[name]
        if name in self._fields:
            value = self._fields[name]
            if callable(value) and not isinstance(value, GoStruct):
                value = value()
            self._cache[name] = value
            return value
        for emb in self._embedded:
            inner = self.get(emb)
            if isinstance(inner, GoStruct) and inner.has(name):
                return inner.get(name)
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return name in self._fields or any(
            isinstance(self.get(e), GoStruct) and self.get(e).has(name) for e in self._embedded)

    def json(self) -> Any:
        """Its JSON form before encoding: a dict in field order (values may be GoStructs)."""
        value = self._json() if callable(self._json) else self._json
        if value is None:
            return {self._json_keys.get(name, name): self.get(name) for name in self._fields}
        return value

    def __repr__(self) -> str:
        return sprint(self)


def _jsonable(value: Any) -> Any:
    """A scalar's JSON form (GoStructs, maps and lists are converted by _dump_json)."""
    if isinstance(value, (_Nil, _NoValue)):
        return None
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime):
        return _format_time(value, "2006-01-02T15:04:05.999999999Z07:00")
    return value


def _dump_json(value: Any, *, indent: int | None = None, escape_html: bool = True) -> str:
    """Go's json.Marshal: struct fields in order, map keys sorted, `<>&` escaped (unless raw)."""
    def convert(v: Any) -> Any:
        if isinstance(v, GoStruct):
            inner = v.json()
            return {k: convert(x) for k, x in inner.items()} if isinstance(inner, dict) else convert(inner)
        if isinstance(v, dict):
            return {str(k): convert(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
        if isinstance(v, (list, tuple)):
            return [convert(x) for x in v]
        return _jsonable(v)

    text = json.dumps(convert(value), ensure_ascii=False, indent=indent,
                      separators=(",", ":") if indent is None else (",", ": "), default=str)
    if escape_html:
        text = text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# -- printing like Go's fmt ------------------------------------------------------------------------
def _format_float(f: float) -> str:
    """%v of a float64 (strconv's 'g', shortest): the shortest digits that round-trip, in %e form
    when the decimal exponent is < -4 or >= 6 (1e+06, 1.23456789e+08, 100000, 1e-05)."""
    if f != f:
        return "NaN"
    if f in (float("inf"), float("-inf")):
        return "+Inf" if f > 0 else "-Inf"
    if f == 0:
        return "-0" if str(f).startswith("-") else "0"
    sign, digits, exp = decimal.Decimal(repr(f)).normalize().as_tuple()
    text = "".join(map(str, digits))
    point = len(text) + int(exp)  # the decimal point's position in `text`
    x = point - 1
    neg = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{neg}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if point <= 0:
        return f"{neg}0.{'0' * -point}{text}"
    if point >= len(text):
        return neg + text + "0" * (point - len(text))
    return f"{neg}{text[:point]}.{text[point:]}"


def sprint(value: Any, plus: bool = False) -> str:
    """A value as Go's fmt prints it with %v (`plus`: %+v, field names in structs)."""
    if isinstance(value, str):
        return value
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, _NoValue):
        return "<no value>"
    if isinstance(value, _Nil):
        return "map[]" if value.kind == "map" else "[]"
    if isinstance(value, GoStruct):
        names = value.field_names()
        return "{" + " ".join((f"{n}:" if plus else "") + sprint(value.get(n), plus) for n in names) + "}"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{sprint(k, plus)}:{sprint(value[k], plus)}"
                                 for k in sorted(value, key=_sort_key)) + "]"
    if isinstance(value, (bytes, bytearray)):
        return "[" + " ".join(str(b) for b in value) + "]"
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(sprint(v, plus) for v in value) + "]"
    if isinstance(value, datetime):
        return _format_time(value, "2006-01-02 15:04:05.999999999 -0700 MST")
    return str(value)


def _sort_key(k: Any) -> tuple:
    return (0, k) if isinstance(k, (int, float)) and not isinstance(k, bool) else (1, str(k))


def go_quote(text: str) -> str:
    """strconv.Quote: a double-quoted Go string literal."""
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif not ch.isprintable():
            out.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*)?)?([a-zA-Z%])")


def sprintf(fmt: str, *args: Any) -> str:
    """Go's fmt.Sprintf for the common verbs: v +v s q d x X o b c t f F e E g G and %%."""
    out, i, pos = [], 0, 0
    for m in _VERB.finditer(fmt):
        out.append(fmt[pos:m.start()])
        pos = m.end()
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            out.append("%")
            continue
        if width == "*":
            width, i = (str(args[i]) if i < len(args) else "0"), i + 1
        if prec == "*":
            prec, i = (str(args[i]) if i < len(args) else "0"), i + 1
        if i >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        arg = args[i]
        i += 1
        text = _verb(verb, arg, flags, prec)
        if width:
            w = int(width)
            if "-" in flags:
                text = text.ljust(w)
            elif "0" in flags and verb in "dxXobfFeEgG" and not isinstance(arg, str):
                sign = text[0] if text[:1] in "+-" else ""
                text = sign + text[len(sign):].rjust(w - len(sign), "0")
            else:
                text = text.rjust(w)
        out.append(text)
    out.append(fmt[pos:])
    if i < len(args):
        out.append("%!(EXTRA " + ", ".join(f"{_type_name(a)}={sprint(a)}" for a in args[i:]) + ")")
    return "".join(out)


def _verb(verb: str, arg: Any, flags: str, prec: str | None) -> str:
    plus = "+" in flags
    if verb == "v":
        return sprint(arg, plus)
    if verb == "s":
        text = sprint(arg)
        return text[:int(prec)] if prec is not None else text
    if verb == "q":
        return go_quote(arg if isinstance(arg, str) else sprint(arg))
    if verb == "t":
        return sprint(arg) if isinstance(arg, bool) else f"%!t({_type_name(arg)}={sprint(arg)})"
    if isinstance(arg, bool) or not isinstance(arg, (int, float)):
        if verb in "xX" and isinstance(arg, str):
            text = arg.encode().hex()
            return text.upper() if verb == "X" else text
        return f"%!{verb}({_type_name(arg)}={sprint(arg)})"
    if verb in "dxXobc":
        if not isinstance(arg, int):
            return f"%!{verb}(float64={sprint(arg)})"
        if verb == "c":
            return chr(arg)
        base = {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[verb]
        text = format(abs(arg), base)
        if "#" in flags and verb in "xX":
            text = ("0x" if verb == "x" else "0X") + text
        sign = "-" if arg < 0 else ("+" if plus else "")
        return sign + text
    p = 6 if prec is None else int(prec)
    f = float(arg)
    if verb in "fF":
        text = f"{f:.{p}f}"
    elif verb in "eE":
        text = f"{f:.{p}e}"
        if verb == "E":
            text = text.upper()
    else:
        text = _format_float(f) if prec is None else f"{f:.{p}g}"
    return ("+" + text) if plus and f >= 0 else text


def _type_name(value: Any) -> str:
    if isinstance(value, GoStruct):
        return value.type_name
    if value is None:
        return "<nil>"
    return {bool: "bool", int: "int", float: "float64", str: "string", dict: "map[string]interface {}",
            list: "[]interface {}", bytes: "[]uint8"}.get(type(value), type(value).__name__)


# -- Go time layouts (Sprig's date, dateInZone) ----------------------------------------------------
_LAYOUT = re.compile(r"January|Jan|Monday|Mon|MST|2006|Z07:00|Z0700|Z07|-07:00|-0700|-07|"
                     r"[.,][09]+|__2|_2|002|01|02|03|04|05|06|15|PM|pm|1|2|3|4|5")
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _format_time(t: datetime, layout: str) -> str:
    def offset(sep: str, zulu: bool, short: bool = False) -> str:
        off = t.utcoffset() or timedelta(0)
        if zulu and off == timedelta(0):
            return "Z"
        minutes = int(off.total_seconds() // 60)
        sign = "-" if minutes < 0 else "+"
        hh, mm = divmod(abs(minutes), 60)
        return f"{sign}{hh:02d}" if short else f"{sign}{hh:02d}{sep}{mm:02d}"

    def token(m: re.Match) -> str:
        tok = m.group(0)
        if tok[0] in ".," and len(tok) > 1:
            digits = f"{t.microsecond * 1000 + getattr(t, 'nanosecond', 0):09d}"[:len(tok) - 1]
            if tok[1] == "9":
                digits = digits.rstrip("0")
                return (tok[0] + digits) if digits else ""
            return tok[0] + digits
        return {
            "January": _MONTHS[t.month - 1], "Jan": _MONTHS[t.month - 1][:3], "Monday": _DAYS[t.weekday()],
            "Mon": _DAYS[t.weekday()][:3], "MST": t.tzname() or "UTC", "2006": f"{t.year:04d}",
            "06": f"{t.year % 100:02d}", "01": f"{t.month:02d}", "1": str(t.month), "02": f"{t.day:02d}",
            "2": str(t.day), "_2": f"{t.day:>2}", "__2": f"{t.timetuple().tm_yday:>3}",
            "002": f"{t.timetuple().tm_yday:03d}", "15": f"{t.hour:02d}",
            "03": f"{(t.hour % 12) or 12:02d}", "3": str((t.hour % 12) or 12), "04": f"{t.minute:02d}",
            "4": str(t.minute), "05": f"{t.second:02d}", "5": str(t.second),
            "PM": "PM" if t.hour >= 12 else "AM", "pm": "pm" if t.hour >= 12 else "am",
            "Z07:00": offset(":", True), "Z0700": offset("", True), "Z07": offset("", True, True),
            "-07:00": offset(":", False), "-0700": offset("", False), "-07": offset("", False, True),
        }[tok]

    return _LAYOUT.sub(token, layout)


def _as_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=timezone.utc)  # Sprig: an int is Unix seconds
    raise TypeError(f"cannot use {_type_name(value)} as a time")


def _zone(name: str) -> Any:
    if name in ("UTC", ""):
        return timezone.utc
    if name == "Local":
        return datetime.now().astimezone().tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


# -- the language ----------------------------------------------------------------------------------
@dataclass
class _Node:
    line: int
    col: int


@dataclass
class _Text(_Node):
    text: str


@dataclass
class _Term(_Node):
    kind: str            # field, var, dot, const, func, pipe
    value: Any = None    # field/var: names; const: the value; func: name; pipe: _Pipe
    chain: tuple[str, ...] = ()
    source: str = ""


@dataclass
class _Command(_Node):
    terms: list[_Term]


@dataclass
class _Pipe(_Node):
    commands: list[_Command]
    decl: tuple[str, ...] = ()
    assign: bool = False  # `=` rather than `:=`


@dataclass
class _Action(_Node):
    pipe: _Pipe


@dataclass
class _Branch(_Node):
    kind: str  # if, range, with
    pipe: _Pipe
    body: list[_Node]
    orelse: list[_Node] = field(default_factory=list)


@dataclass
class _Control(_Node):
    kind: str  # break, continue


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_KEYWORDS = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}
_UNSUPPORTED = {"define", "template", "block"}
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<declare>:=)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<char>'(?:[^'\\\n]|\\.)+')
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][-+]?\d+)?))
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<var>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<dot>\.)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<lparen>\()
  | (?P<rparen>\)(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<pipe>\|)
  | (?P<assign>=)
  | (?P<comma>,)
""", re.X)


@dataclass
class _Tok:
    kind: str
    text: str
    line: int
    col: int


class _Parser:
    def __init__(self, source: str, name: str, functions: Mapping[str, Any]) -> None:
        self.source, self.name, self.functions = source, name, functions

    def fail(self, line: int, col: int, message: str) -> GoTemplateError:
        return GoTemplateError(f"{self.name}:{line}:{col}: {message}")

    def _where(self, offset: int) -> tuple[int, int]:
        line = self.source.count("\n", 0, offset) + 1
        return line, offset - (self.source.rfind("\n", 0, offset) + 1) + 1

    # lexing: text and actions
    def _pieces(self) -> Iterator[tuple[str, Any, int]]:
        """("text", str, offset) and ("action", [tokens], offset), trim markers applied."""
        src, pos = self.source, 0
        pieces: list[list[Any]] = []
        while True:
            start = src.find("{{", pos)
            if start < 0:
                pieces.append(["text", src[pos:], pos])
                break
            pieces.append(["text", src[pos:start], pos])
            inner = start + 2
            trim_left = src.startswith("- ", inner) or (src[inner:inner + 1] == "-" and src[inner + 1:inner + 2] in "\t\r\n")
            if trim_left:
                inner += 1
                pieces[-1][1] = pieces[-1][1].rstrip(" \t\r\n")
            tokens, end, trim_right = self._lex_action(inner, start)
            pieces.append(["action", tokens, start])
            pos = end
            if trim_right:
                while pos < len(src) and src[pos] in " \t\r\n":
                    pos += 1
        for kind, value, offset in pieces:
            if kind == "text" and not value:
                continue
            yield kind, value, offset

    def _lex_action(self, pos: int, start: int) -> tuple[list[_Tok], int, bool]:
        src = self.source
        comment = re.compile(r"\s*/\*.*?\*/\s*", re.S).match(src, pos)
        if comment:
            end = comment.end()
            if src.startswith("-}}", end) and src[end - 1:end].isspace():
                return [], end + 3, True
            if src.startswith("}}", end):
                return [], end + 2, False
            raise self.fail(*self._where(start), "comment ends before closing delimiter")
        tokens: list[_Tok] = []
        while True:
            if pos >= len(src):
                raise self.fail(*self._where(start), "unclosed action")
            if src.startswith("}}", pos):
                return tokens, pos + 2, False
            if src.startswith("-}}", pos) and pos > 0 and src[pos - 1] in " \t\r\n":
                return tokens, pos + 3, True
            m = _TOKEN.match(src, pos)
            if m is None:
                raise self.fail(*self._where(pos), f"unexpected {src[pos]!r} in action")
            kind = m.lastgroup or ""
            if kind != "space":
                tokens.append(_Tok(kind, m.group(0), *self._where(pos)))
            pos = m.end()

    # parsing
    def parse(self) -> list[_Node]:
        self.stack: list[tuple[_Branch | None, list[_Node]]] = [(None, [])]
        for kind, value, offset in self._pieces():
            line, col = self._where(offset)
            if kind == "text":
                self.stack[-1][1].append(_Text(line, col, value))
            elif value:
                self._action(value, line, col)
        if len(self.stack) > 1:
            branch = self.stack[-1][0]
            raise self.fail(branch.line, branch.col, f"unexpected EOF: {{{{{branch.kind}}}}} has no {{{{end}}}}")  # type: ignore[union-attr]
        return self.stack[0][1]

    def _action(self, toks: list[_Tok], line: int, col: int) -> None:
        first = toks[0]
        word = first.text if first.kind == "ident" else ""
        if word in _UNSUPPORTED:
            raise self.fail(line, col, f"{{{{{word}}}}} is not supported here (only one template per file)")
        if word in ("if", "range", "with"):
            branch = _Branch(line, col, word, self._pipe(toks[1:], line, col, allow_decl=True), [])
            self.stack[-1][1].append(branch)
            self.stack.append((branch, branch.body))
        elif word == "else":
            branch = self.stack[-1][0]
            if branch is None or branch.orelse is self.stack[-1][1]:
                raise self.fail(line, col, "unexpected {{else}}")
            self.stack.pop()
            self.stack.append((branch, branch.orelse))
            if len(toks) > 1:  # else if / else with: a nested branch that shares the {{end}}
                sub = toks[1].text if toks[1].kind == "ident" else ""
                if sub not in ("if", "with"):
                    raise self.fail(line, col, "{{else}} takes nothing, 'if' or 'with'")
                nested = _Branch(line, col, sub, self._pipe(toks[2:], line, col, allow_decl=True), [])
                branch.orelse.append(nested)
                self.stack.append((nested, nested.body))
                nested.kind = sub + "+"  # closed by the outer {{end}}
        elif word == "end":
            if len(toks) > 1:
                raise self.fail(line, col, "unexpected input after {{end}}")
            while True:
                branch = self.stack[-1][0]
                if branch is None:
                    raise self.fail(line, col, "unexpected {{end}}")
                self.stack.pop()
                if not branch.kind.endswith("+"):
                    break
                branch.kind = branch.kind[:-1]
        elif word in ("break", "continue"):
            if not any(b is not None and b.kind.rstrip("+") == "range" for b, _ in self.stack):
                raise self.fail(line, col, f"{{{{{word}}}}} outside {{{{range}}}}")
            self.stack[-1][1].append(_Control(line, col, word))
        else:
            self.stack[-1][1].append(_Action(line, col, self._pipe(toks, line, col, allow_decl=True)))

    def _pipe(self, toks: list[_Tok], line: int, col: int, allow_decl: bool = False) -> _Pipe:
        decl: tuple[str, ...] = ()
        assign = False
        for i, tok in enumerate(toks):
            if tok.kind in ("declare", "assign"):
                names = [t for t in toks[:i] if t.kind != "comma"]
                if not allow_decl or not names or any(t.kind != "var" or "." in t.text for t in names):
                    raise self.fail(tok.line, tok.col, f"unexpected {tok.text!r}")
                decl, assign, toks = tuple(t.text for t in names), tok.kind == "assign", toks[i + 1:]
                break
        if not toks:
            raise self.fail(line, col, "missing value for command")
        commands, current, depth = [], [], 0
        for tok in toks:
            if tok.kind == "lparen":
                depth += 1
            elif tok.kind == "rparen":
                depth -= 1
                if depth < 0:
                    raise self.fail(tok.line, tok.col, "unexpected right paren")
            if tok.kind == "pipe" and depth == 0:
                if not current:
                    raise self.fail(tok.line, tok.col, "missing command before '|'")
                commands.append(current)
                current = []
            else:
                current.append(tok)
        if depth:
            raise self.fail(line, col, "unclosed left paren")
        if not current:
            raise self.fail(line, col, "missing command after '|'")
        commands.append(current)
        return _Pipe(line, col, [self._command(c) for c in commands], decl, assign)

    def _command(self, toks: list[_Tok]) -> _Command:
        terms: list[_Term] = []
        i = 0
        while i < len(toks):
            tok = toks[i]
            if tok.kind == "lparen":
                depth, j = 1, i + 1
                while depth:
                    depth += {"lparen": 1, "rparen": -1}.get(toks[j].kind, 0)
                    j += 1
                closing = toks[j - 1].text
                inner = self._pipe(toks[i + 1:j - 1], tok.line, tok.col)
                chain = tuple(p for p in closing[1:].split(".") if p)
                terms.append(_Term(tok.line, tok.col, "pipe", inner, chain, "(...)" + closing[1:]))
                i = j
                continue
            terms.append(self._term(tok))
            i += 1
        if terms[0].kind != "func" and len(terms) > 1:
            t = terms[1]
            raise self.fail(t.line, t.col, f"can't give argument to non-function {terms[0].source}")
        return _Command(toks[0].line, toks[0].col, terms)

    def _term(self, tok: _Tok) -> _Term:
        k, text = tok.kind, tok.text
        if k == "field":
            return _Term(tok.line, tok.col, "field", None, tuple(text[1:].split(".")), text)
        if k == "var":
            name, *chain = text.split(".")
            return _Term(tok.line, tok.col, "var", name, tuple(chain), text)
        if k == "dot":
            return _Term(tok.line, tok.col, "dot", None, (), ".")
        if k in ("string", "raw", "char"):
            return _Term(tok.line, tok.col, "const", self._literal(tok), (), text)
        if k == "number":
            return _Term(tok.line, tok.col, "const", self._number(tok), (), text)
        if k == "ident":
            name = text.split(".")[0]
            if text in ("true", "false"):
                return _Term(tok.line, tok.col, "const", text == "true", (), text)
            if text == "nil":
                return _Term(tok.line, tok.col, "const", None, (), text)
            if "." in text:
                raise self.fail(tok.line, tok.col, f"unexpected {text!r}: a function has no fields")
            if name in _KEYWORDS:
                raise self.fail(tok.line, tok.col, f"unexpected {{{{{name}}}}} inside an action")
            if name not in self.functions:
                raise self.fail(tok.line, tok.col, f'function "{name}" not defined')
            return _Term(tok.line, tok.col, "func", name, (), text)
        raise self.fail(tok.line, tok.col, f"unexpected {text!r} in command")

    def _literal(self, tok: _Tok) -> Any:
        text = tok.text
        if tok.kind == "raw":
            return text[1:-1]
        try:
            body = text[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape")
            body = body.encode("latin-1").decode("utf-8") if tok.kind != "char" else body
        except (UnicodeDecodeError, UnicodeEncodeError):
            body = json.loads('"' + text[1:-1] + '"') if tok.kind == "string" else text[1:-1]
        if tok.kind == "char":
            if len(body) != 1:
                raise self.fail(tok.line, tok.col, f"malformed character constant: {text}")
            return ord(body)
        return body

    def _number(self, tok: _Tok) -> int | float:
        text = tok.text.replace("_", "")
        try:
            if re.fullmatch(r"[-+]?0[xXoObB][0-9a-fA-F]+", text):
                return int(text, 0)
            if re.fullmatch(r"[-+]?\d+", text):
                return int(text, 10)
            return float(text)
        except ValueError:
            raise self.fail(tok.line, tok.col, f"bad number syntax: {tok.text!r}") from None


# -- execution -------------------------------------------------------------------------------------
class _Exec:
    def __init__(self, template: "Template", data: Any, now: datetime | None) -> None:
        self.t, self.now = template, now
        self.vars: list[dict[str, Any]] = [{"$": data}]
        self.out: list[str] = []

    def fail(self, node: _Node, at: str, message: str) -> GoTemplateError:
        where = f" at <{at}>" if at else ""
        return GoTemplateError(f"{self.t.name}:{node.line}:{node.col}: executing{where}: {message}")

    def run(self, nodes: list[_Node], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, _Text):
                self.out.append(node.text)
            elif isinstance(node, _Action):
                value = self.pipe(node.pipe, dot)
                if not node.pipe.decl:
                    self.out.append(sprint(value))
            elif isinstance(node, _Branch):
                self.branch(node, dot)
            elif isinstance(node, _Control):
                raise _Break() if node.kind == "break" else _Continue()

    def branch(self, node: _Branch, dot: Any) -> None:
        self.vars.append({})
        try:
            if node.kind == "range":
                self.range(node, dot)
                return
            value = self.pipe(node.pipe, dot, declare=node.kind != "range")
            if _truth(value):
                self.run(node.body, value if node.kind == "with" else dot)
            else:
                self.run(node.orelse, dot)
        finally:
            self.vars.pop()

    def range(self, node: _Branch, dot: Any) -> None:
        pipe = node.pipe
        value = self.pipe(_Pipe(pipe.line, pipe.col, pipe.commands), dot)
        if isinstance(value, dict):
            items = [(k, value[k]) for k in sorted(value, key=_sort_key)]
        elif isinstance(value, (list, tuple, bytes, bytearray)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        elif value is None or isinstance(value, (_Nil, _NoValue)):
            items = []
        else:
            raise self.fail(node, "", f"range can't iterate over {sprint(value)}")
        if not items:
            self.run(node.orelse, dot)
            return
        for key, elem in items:
            if len(pipe.decl) == 1:
                self.vars[-1][pipe.decl[0]] = elem
            elif len(pipe.decl) == 2:
                self.vars[-1][pipe.decl[0]], self.vars[-1][pipe.decl[1]] = key, elem
            try:
                self.run(node.body, elem)
            except _Break:
                break
            except _Continue:
                continue

    def pipe(self, pipe: _Pipe, dot: Any, declare: bool = True) -> Any:
        value: Any = NO_VALUE
        first = True
        for command in pipe.commands:
            value = self.command(command, dot, None if first else value)
            first = False
        if pipe.decl and declare:
            name = pipe.decl[0]
            if pipe.assign:
                for scope in reversed(self.vars):
                    if name in scope:
                        scope[name] = value
                        break
                else:
                    raise self.fail(pipe, name, f"undefined variable: {name}")
            else:
                self.vars[-1][name] = value
        return value

    def command(self, command: _Command, dot: Any, piped: Any) -> Any:
        head = command.terms[0]
        if head.kind == "func":
            name = head.value
            if name in ("and", "or"):
                return self.and_or(name, command.terms[1:], dot, piped, head)
            args = [self.term(t, dot) for t in command.terms[1:]]
            if piped is not None:
                args.append(piped)
            try:
                return self.t.functions[name](self, *args)
            except GoTemplateError:
                raise
            except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
                raise self.fail(head, name, f"error calling {name}: {exc}") from None
        if piped is not None:
            raise self.fail(head, head.source, f"can't give argument to non-function {head.source}")
        return self.term(head, dot)

    def and_or(self, name: str, terms: list[_Term], dot: Any, piped: Any, head: _Term) -> Any:
        args: list[Any] = [lambda t=t: self.term(t, dot) for t in terms]
        if piped is not None:
            args.append(lambda: piped)
        if not args:
            raise self.fail(head, name, f"wrong number of args for {name}: want at least 1 got 0")
        value = None
        for arg in args:
            value = arg()
            if _truth(value) == (name == "or"):
                return value
        return value

    def term(self, term: _Term, dot: Any) -> Any:
        kind = term.kind
        if kind == "const":
            return term.value
        if kind == "dot":
            return dot
        if kind == "field":
            return self.chain(term, dot, term.chain)
        if kind == "var":
            for scope in reversed(self.vars):
                if term.value in scope:
                    return self.chain(term, scope[term.value], term.chain)
            raise self.fail(term, term.source, f"undefined variable: {term.value}")
        if kind == "pipe":
            return self.chain(term, self.pipe(term.value, dot), term.chain)
        if kind == "func":  # a function used as an argument: called with no arguments
            return self.command(_Command(term.line, term.col, [term]), dot, None)
        raise self.fail(term, term.source, f"cannot evaluate {term.source}")  # pragma: no cover

    def chain(self, term: _Term, value: Any, names: tuple[str, ...]) -> Any:
        for name in names:
            if isinstance(value, GoStruct):
                try:
                    value = value.get(name)
                except KeyError:
                    raise self.fail(term, term.source,
                                    f"can't evaluate field {name} in type {value.type_name}") from None
            elif isinstance(value, dict):
                value = value.get(name, NO_VALUE)
            elif isinstance(value, _Nil) and value.kind == "map":
                value = NO_VALUE
            elif value is None or isinstance(value, _NoValue):
                raise self.fail(term, term.source, f"nil pointer evaluating interface {{}}.{name}")
            else:
                raise self.fail(term, term.source, f"can't evaluate field {name} in type {_type_name(value)}")
        return value


def _truth(value: Any) -> bool:
    if isinstance(value, GoStruct):
        return True
    if isinstance(value, (_Nil, _NoValue)) or value is None:
        return False
    try:
        return bool(value)
    except TypeError:  # pragma: no cover
        return True


# -- functions ---------------------------------------------------------------------------------------
def _len(_: _Exec, v: Any) -> int:
    if isinstance(v, str):
        return len(v.encode())  # Go's len of a string counts bytes
    if isinstance(v, (list, tuple, dict, bytes, bytearray, _Nil)):
        return len(v)
    raise TypeError(f"len of type {_type_name(v)}")


def _index(_: _Exec, v: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(v, dict):
            v = v.get(key)
        elif isinstance(v, (list, tuple, str, bytes)):
            if not isinstance(key, int) or not 0 <= key < len(v):
                raise IndexError(f"index out of range: {key}")
            v = v[key] if not isinstance(v, str) else v.encode()[key]
        elif isinstance(v, (_Nil, _NoValue)) or v is None:
            if isinstance(v, _Nil) and v.kind == "map":
                v = None
                continue
            raise IndexError("index of untyped nil")
        else:
            raise TypeError(f"can't index item of type {_type_name(v)}")
    return v


def _slice(_: _Exec, v: Any, *bounds: int) -> Any:
    if not isinstance(v, (list, tuple, str, bytes)) or len(bounds) > 3:
        raise TypeError(f"can't slice item of type {_type_name(v)}")
    start = bounds[0] if bounds else 0
    end = bounds[1] if len(bounds) > 1 else len(v)
    if not 0 <= start <= end <= len(v):
        raise IndexError(f"slice index out of range: {start}:{end}")
    return v[start:end]


def _sprint_args(args: Sequence[Any]) -> str:
    # fmt.Sprint: spaces between operands when neither side is a string
    out = []
    for i, a in enumerate(args):
        if i and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint(a))
    return "".join(out)


def _basic(v: Any) -> Any:
    if isinstance(v, (_NoValue, _Nil)) or v is None:
        return None
    if isinstance(v, (GoStruct, dict, list, tuple)):
        raise TypeError(f"non-comparable type {_type_name(v)}")
    return v


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _eq(_: _Exec, a: Any, *others: Any) -> bool:
    """eq a b c...: a equals any of the others."""
    if not others:
        raise TypeError("missing argument for comparison")
    a = _basic(a)
    return any(_equal(a, _basic(b)) for b in others)


def _order(op: str) -> Callable[..., bool]:
    def fn(_: _Exec, a: Any, b: Any) -> bool:
        a, b = _basic(a), _basic(b)
        if op == "ne":
            return not _equal(a, b)
        numbers = isinstance(a, (int, float)) and isinstance(b, (int, float))
        if not numbers and (type(a) is not type(b) or a is None):
            raise TypeError("incompatible types for comparison")
        return {"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[op]

    return fn


def _default(_: _Exec, default: Any, *given: Any) -> Any:
    value = given[0] if given else None
    return value if _truth(value) else default


def _join(_: _Exec, sep: str, items: Any) -> str:
    return sep.join(sprint(i) for i in (items or []))


def _date(e: _Exec, layout: str, when: Any) -> str:
    return _format_time(_as_time(when).astimezone(), layout)


def _date_in_zone(e: _Exec, layout: str, when: Any, zone: str) -> str:
    return _format_time(_as_time(when).astimezone(_zone(zone)), layout)


def _now(e: _Exec) -> datetime:
    return e.now or datetime.now(timezone.utc)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    # text/template's builtins
    "and": lambda e, *a: None, "or": lambda e, *a: None,  # short-circuited in _Exec.and_or
    "not": lambda e, v: not _truth(v),
    "len": _len, "index": _index, "slice": _slice,
    "print": lambda e, *a: _sprint_args(a),
    "printf": lambda e, fmt, *a: sprintf(fmt, *a),
    "println": lambda e, *a: " ".join(sprint(x) for x in a) + "\n",
    "eq": _eq, "ne": _order("ne"), "lt": _order("lt"), "le": _order("le"), "gt": _order("gt"),
    "ge": _order("ge"),
    "html": lambda e, *a: _html.escape(_sprint_args(a), quote=True).replace("&#x27;", "&#39;"),
    "urlquery": lambda e, *a: urllib.parse.quote_plus(_sprint_args(a)),
    # Sprig's, as Tracee's templates use them
    "toJson": lambda e, v: _dump_json(v),
    "toPrettyJson": lambda e, v: _dump_json(v, indent=2),
    "toRawJson": lambda e, v: _dump_json(v, escape_html=False),
    "now": _now, "date": _date, "dateInZone": _date_in_zone,
    "upper": lambda e, s: sprint(s).upper(), "lower": lambda e, s: sprint(s).lower(),
    "trim": lambda e, s: sprint(s).strip(), "trimPrefix": lambda e, p, s: sprint(s).removeprefix(p),
    "trimSuffix": lambda e, x, s: sprint(s).removesuffix(x),
    "replace": lambda e, old, new, s: sprint(s).replace(old, new),
    "contains": lambda e, sub, s: sub in sprint(s), "hasPrefix": lambda e, p, s: sprint(s).startswith(p),
    "hasSuffix": lambda e, x, s: sprint(s).endswith(x),
    "join": _join, "quote": lambda e, *a: " ".join(go_quote(sprint(x)) for x in a if x is not None),
    "squote": lambda e, *a: " ".join(f"'{sprint(x)}'" for x in a if x is not None),
    "default": _default, "toString": lambda e, v: sprint(v),
}


class Template:
    """A compiled template; `execute(data)` renders it (GoTemplateError names file:line:col)."""

    def __init__(self, source: str, name: str = "template",
                 functions: Mapping[str, Callable[..., Any]] | None = None) -> None:
        self.name = name
        self.functions = dict(FUNCTIONS, **(functions or {}))
        self.nodes = _Parser(source, name, self.functions).parse()

    def execute(self, data: Any, *, now: datetime | None = None) -> str:
        run = _Exec(self, data, now)
        try:
            run.run(self.nodes, data)
        except RecursionError:
            raise GoTemplateError(f"{self.name}: executing: too deeply nested") from None
        return "".join(run.out)


def compile_template(source: str, name: str = "template") -> Template:
    return Template(source, name)


class FindingTemplate(Template):
    """A Go template for findings (tracee-rules --output-template), with the `render` of the
    Jinja2 templates core/formatting.py compiles: it takes template_context(finding)."""

    def render(self, context: Mapping[str, Any]) -> str:
        return self.execute(finding_data(context["finding"]))


def load(path: str | Path) -> Template:
    """The template in file `path`; a file that cannot be read or parsed raises GoTemplateError."""
    try:
        source = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise GoTemplateError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    return Template(source, str(path))


# -- the data Tracee's templates see -----------------------------------------------------------------
def go_value(decl: str, value: Any) -> Any:
    """An argument value as the Go value tracee-ebpf holds for its declared type `decl` (GoStruct
    for SlimCred, PktMeta, HookedSymbolData ...), so that sprint() prints it as Go's %v does."""
    from .gob import REGISTERED, GobEncodeError, concrete_type

    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    try:
        go = REGISTERED[concrete_type(decl, value)]
    except (GobEncodeError, KeyError):
        return value
    return _view(go, value)


def _view(go: Any, value: Any) -> Any:
    from .gob.wire import K_MAP, K_SLICE, K_STRUCT

    if go.kind == K_STRUCT and isinstance(value, dict):
        return GoStruct(f"trace.{go.name}", {name: _view(ft, value.get(key or name, value.get(name)))
                                             for name, ft, key in go.fields},
                        json_keys={name: key or name for name, _, key in go.fields})
    if go.kind == K_SLICE and isinstance(value, list) and go.elem is not None and go.elem.kind == K_STRUCT:
        return [_view(go.elem, v) for v in value]
    if go.kind == K_MAP and isinstance(value, dict) and go.elem is not None and go.elem.kind == K_STRUCT:
        return {k: _view(go.elem, v) for k, v in value.items()}
    if value is None:
        return 0 if go.builtin and go.kind in (2, 3) else "" if go.builtin and go.kind == 6 else value
    return value


def _argument(arg: dict) -> GoStruct:
    meta = GoStruct("trace.ArgMeta", {"Name": arg.get("name", ""), "Type": arg.get("type", "")})
    value = lambda: go_value(arg.get("type") or "", arg.get("value"))  # noqa: E731
    return GoStruct("trace.Argument", {"ArgMeta": meta, "Value": value}, embedded=("ArgMeta",),
                    json_value=lambda: {"name": arg.get("name", ""), "type": arg.get("type", ""), "value": value()})


def event_data(event: Any) -> GoStruct:
    """A tracee.Event as Go templates see trace.Event (v0.8.3 field names; `.Origin` is its method)."""
    from .gob import EVENT

    wire = event.to_dict()
    fields: dict[str, Any] = {}
    for go_name, _, key in EVENT.fields:
        if key == "eventId":
            fields[go_name] = event.event_id
        elif key == "stackAddresses":
            fields[go_name] = wire["stackAddresses"] if wire["stackAddresses"] is not None else NIL_SLICE
        elif key == "contextFlags":
            fields[go_name] = GoStruct("trace.ContextFlags", {"ContainerStarted": event.container_started},
                                       json_value={"containerStarted": event.container_started})
        elif key == "args":
            fields[go_name] = (lambda: [_argument(a) for a in event.args]) if event.args else NIL_SLICE
        else:
            fields[go_name] = wire[key]
    fields["Origin"] = event.origin

    def as_json() -> dict:
        out = dict(wire)  # Tracee's JSON (field order, eventId as a string), arguments as Go values
        if event.args:
            out["args"] = fields["Args"]() if callable(fields["Args"]) else fields["Args"]
        return out

    return GoStruct("trace.Event", fields, json_value=as_json)


def finding_data(finding: Any) -> GoStruct:
    """A finding as tracee-rules v0.8.3 templates see detect.Finding: .Data, .Event (.Headers,
    .Payload: the trace.Event), .SigMetadata; and v0.6's .Context (the event) for older templates."""
    event = event_data(finding.event)
    meta = finding.metadata.to_dict()
    sig = GoStruct("detect.SignatureMetadata", {
        "ID": meta.get("ID", ""), "Version": meta.get("Version", ""), "Name": meta.get("Name", ""),
        "Description": meta.get("Description", ""), "Tags": meta.get("Tags") or NIL_SLICE,
        "Properties": meta.get("Properties") or NIL_MAP})
    selector = GoStruct("protocol.Selector", {"Name": finding.event.event_name, "Origin": finding.event.origin,
                                              "Source": "tracee"})
    proto = GoStruct("protocol.Event", {"Headers": GoStruct("protocol.EventHeaders", {"Selector": selector}),
                                        "Payload": event})
    data = finding.data if finding.data is not None else NIL_MAP
    return GoStruct("detect.Finding", {"Data": data, "Event": proto, "SigMetadata": sig, "Context": event},
                    json_value=lambda: {"Data": data, "Event": proto, "SigMetadata": sig})
