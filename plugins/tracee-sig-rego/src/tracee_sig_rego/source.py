"""Reading Rego source text without a parser: Unicode spaces, and which `input` fields it uses."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterator

__all__ = ["Condition", "argument_names", "argument_names_of", "compilable", "necessary_condition", "input_fields", "plain_spaces", "pure", "sandbox_problems"]

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
_LITERAL_CALL = re.compile(r"\s*\(\s*\x01(\d+)\x01\s*\)")
_IDENT_CALL = re.compile(r"\s*\(\s*([A-Za-z_]\w*)\s*\)")
_FUNCTION_HEAD = re.compile(r"([A-Za-z_]\w*)[ \t]*\([ \t]*([A-Za-z_]\w*)[ \t]*\)")


def _bodies(code: str) -> list[tuple[int, int, int]]:
    """(start, end, rule start) of each top-level `{...}` group: the rule start is where the
    statement it belongs to begins (the first character of a line at depth 0)."""
    out: list[tuple[int, int, int]] = []
    depth, rule, line_start, opened = 0, 0, True, -1
    for i, c in enumerate(code):
        if depth == 0:
            if c == "\n":
                line_start = True
                continue
            if line_start and not c.isspace():
                rule, line_start = i, False
        if c in _OPEN:
            if depth == 0 and c == "{":
                opened = i
            depth += 1
        elif c in _CLOSE:
            depth = max(depth - 1, 0)
            if depth == 0 and c == "}" and opened >= 0:
                out.append((opened, i, rule))
                opened = -1
    return out


def _masked(source: str) -> tuple[str, list[str]]:
    """`source` with comments blanked and each string literal replaced by `\x01N\x01` (N indexes
    the returned literals), so that patterns never match inside them."""
    strings: list[str] = []
    parts = []
    for kind, text in _segments(source):
        if kind == "string":
            strings.append(text)
            parts.append(f"\x01{len(strings) - 1}\x01")
        elif kind == "comment":
            parts.append(" " * len(text))
        else:
            parts.append(text)
    return "".join(parts), strings


def argument_names(source: str) -> frozenset[str] | None:
    """`argument_names_of([source])`."""
    return argument_names_of([source])


def argument_names_of(sources: list[str]) -> frozenset[str] | None:
    """The argument names the modules pass to `get_tracee_argument`, or None when they name the
    function any other way (a name computed at run time, an import alias, its own definition):
    then they may read any argument.

    A name is a string literal (`get_tracee_argument("flags")`), or the parameter of a
    one-parameter function of the modules that passes it on (`arg(n) = v { v :=
    helpers.get_tracee_argument(n) }`) when every call of that function in the modules gives a
    literal (`arg("pathname")`).

    Why: the runtime passes a group only the arguments its modules ask for by name, so the input
    is smaller (each `input` access costs more the larger it is) and repeats more often (the result
    cache is keyed on it). Comments are ignored; a name in a string elsewhere is not a call.
    """
    names: set[str] = set()
    forwarding: set[str] = set()
    masked = [_masked(source) for source in sources]
    for code, strings in masked:
        bodies = _bodies(code)
        for found in _ARG_CALL.finditer(code):
            literal = _LITERAL_CALL.match(code, found.end())
            if literal:
                name = _string_value(strings[int(literal.group(1))])
                if name is None:
                    return None
                names.add(name)
                continue
            ident = _IDENT_CALL.match(code, found.end())
            # the rule whose body holds this call: a one-parameter function passing its parameter on
            body = next(((start, end, r) for start, end, r in bodies if start < found.start() < end), None)
            head = _FUNCTION_HEAD.match(code, body[2]) if body is not None else None
            if ident is None or head is None or head.group(2) != ident.group(1):
                return None
            param = re.escape(head.group(2))
            # Nothing in the body may bind the name anew (a local, an iteration, a comprehension).
            if re.search(rf"\bsome\b|\bevery\b|\||\b{param}\s*(?::=|=(?!=)|\bin\b)", code[body[0]:body[1]]):
                return None
            forwarding.add(head.group(1))
    for function in forwarding:
        call = re.compile(rf"\b{function}\b")
        for code, strings in masked:
            defined = {r for _, _, r in _bodies(code) if _FUNCTION_HEAD.match(code, r) is not None
                       and _FUNCTION_HEAD.match(code, r).group(1) == function}  # type: ignore[union-attr]
            for found in call.finditer(code):
                if found.start() in defined:
                    continue  # one of its own heads
                literal = _LITERAL_CALL.match(code, found.end())
                if literal is None:
                    return None
                name = _string_value(strings[int(literal.group(1))])
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


# -- necessary conditions of a match ---------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """A necessary condition of a module's `tracee_match`, read from its literal comparisons: one
    conjunction per `tracee_match` body, each test `("event", name)` (input.eventName == name) or
    `("arg", argument, value)` (helpers.get_tracee_argument(argument) == value, a string). When no
    body's tests all hold the rule cannot match; when one does, Rego still decides."""

    bodies: tuple[tuple[tuple[str, ...], ...], ...]

    def may_match(self, event: Any) -> bool:
        for tests in self.bodies:
            for test in tests:
                if test[0] == "event":
                    if event.event_name != test[1]:
                        break
                elif not _arg_may_equal(event.args, test[1], test[2]):
                    break
            else:
                return True
        return False


def _arg_may_equal(args: list[dict], name: str, literal: str) -> bool:
    """Whether the helper can give `literal` for `name`: some argument of that name (the helper
    searches them all when a name repeats) has it, or a value whose wire form is text (bytes)."""
    for arg in args:
        if arg.get("name") == name:
            value = arg.get("value")
            if value == literal and type(value) is str or type(value) in (bytes, bytearray):
                return True
    return False


_STRING_MARK = re.compile(r"\x01(\d+)\x01")
_HEAD = re.compile(r"^[ \t]*tracee_match\b", re.MULTILINE)
_DEFAULT = re.compile(r"^[ \t]*default[ \t]+tracee_match\b[ \t]*:?=[ \t]*(\S+)[ \t]*$", re.MULTILINE)
_ONE_GROUP_HEADER = re.compile(r"\s*(?::?=\s*[A-Za-z_]\w*|\[\s*[A-Za-z_]\w*\s*\])?\s*")
_EVENT_TEST = (re.compile(r"input\s*\.\s*eventName\s*==\s*\x01(\d+)\x01"),
               re.compile(r"\x01(\d+)\x01\s*==\s*input\s*\.\s*eventName"))
_ARG_CALL_TEXT = r"helpers\s*\.\s*get_tracee_argument\s*\(\s*\x01(\d+)\x01\s*\)"
_ARG_TEST = (re.compile(_ARG_CALL_TEXT + r"\s*==\s*\x01(\d+)\x01"),
             re.compile(r"\x01(\d+)\x01\s*==\s*" + _ARG_CALL_TEXT))
_OPEN, _CLOSE = "([{", ")]}"


def necessary_condition(source: str) -> Condition | None:
    """The module's `Condition`, or None when none can be read soundly: a `with` or `else`
    anywhere near a match, a default match other than false, a local `helpers`, a head of another
    form, or a body without a literal test (then every event may match)."""
    code, strings = _masked(source)
    if re.search(r"\bwith\b", code) or re.search(r"\bhelpers\s*(?::=|=(?!=))|^[ \t]*helpers\b(?!\s*\.)|\bsome\b[^\n]*\bhelpers\b", code, re.MULTILINE):
        return None
    for found in _DEFAULT.finditer(code):
        if found.group(1) != "false":
            return None
    heads = [m for m in _HEAD.finditer(code)]
    if not heads:
        return None
    bodies = []
    for head in heads:
        groups = _top_groups(code, head.end())
        if groups is None:
            return None
        if len(groups) == 1:
            start, end = groups[0]
            if not _ONE_GROUP_HEADER.fullmatch(code[head.end():start]):
                return None
        elif len(groups) == 2 and re.fullmatch(r"\s*:?=\s*", code[head.end():groups[0][0]]) \
                and not code[groups[0][1] + 1:groups[1][0]].strip():
            start, end = groups[1]
        else:
            return None
        tests = _literal_tests(code[start + 1:end], strings)
        if not tests:  # unreadable, or a body that any event may satisfy
            return None
        bodies.append(tests)
    return Condition(tuple(bodies))


def _top_groups(code: str, at: int) -> list[tuple[int, int]] | None:
    """The (start, end) offsets of the `{...}` groups of the rule whose head ends at `at`; None
    when an `else` follows or the braces do not balance."""
    groups: list[tuple[int, int]] = []
    depth, start, i, n = 0, -1, at, len(code)
    while i < n:
        c = code[i]
        if c in _OPEN:
            if depth == 0:
                if c != "{":
                    return None
                start = i
            depth += 1
        elif c in _CLOSE:
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                groups.append((start, i))
                rest = code[i + 1:]
                following = rest.lstrip()
                if following.startswith("else") or following.startswith("="):
                    return None
                if not following.startswith("{"):
                    return groups
        elif depth == 0 and c == "\n" and groups == [] and code[i + 1:i + 2] not in (" ", "\t", "{", ""):
            return groups  # a head without a body
        i += 1
    return None if depth else groups


def _literal_tests(body: str, strings: list[str]) -> tuple[tuple[str, ...], ...] | None:
    """The literal tests among the body's top-level statements (None: an unreadable literal)."""
    statements, depth, current = [], 0, []
    for c in body:
        if c in _OPEN:
            depth += 1
        elif c in _CLOSE:
            depth -= 1
        if depth == 0 and c in "\n;":
            statements.append("".join(current))
            current = []
        else:
            current.append(c)
    statements.append("".join(current))
    tests: list[tuple[str, ...]] = []
    for statement in (st.strip() for st in statements):
        for pattern in _EVENT_TEST:
            found = pattern.fullmatch(statement)
            if found:
                value = _string_value(strings[int(found.group(1))])
                if value is None:
                    return None
                tests.append(("event", value))
        for n, pattern in enumerate(_ARG_TEST):
            found = pattern.fullmatch(statement)
            if found:
                name, value = (found.group(1), found.group(2)) if n == 0 else (found.group(2), found.group(1))
                name_text, value_text = _string_value(strings[int(name)]), _string_value(strings[int(value)])
                if name_text is None or value_text is None:
                    return None
                tests.append(("arg", name_text, value_text))
    return tuple(tests)


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
