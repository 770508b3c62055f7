"""Thin, fast access to rego-cpp through regopy: compiling, event input, entrypoint queries, errors.

regopy's public `Interpreter` is used to add modules and build bundles. The per-event path calls
the ctypes functions of `regopy.rego_shared` directly: regopy's `set_input(dict)` spends ~230 us
and `set_input_term(json)` ~500 us per Tracee event on these machines, the builder below ~120 us
(measured in NOTES.md's setting; see benchmarks/bench_rego.py). Those functions are why the
dependency is pinned to regopy 1.5.x.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import math
import os
import re
import sys
import tempfile
from typing import Any, Iterator



def _mapped(name: str) -> bool:
    """Whether a shared object whose file name contains `name` is loaded in this process."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            return any(name in line for line in maps)
    except OSError:
        return True  # cannot tell: assume the worst


# rego-cpp's library brings its own operator new/delete (snmalloc) and is loaded RTLD_LOCAL. The C++
# runtime (libstdc++), loaded with it, then allocates with snmalloc while another C++ extension
# loaded later (cel-expr-python) frees with the system allocator, or the reverse when that one came
# first: measured 5.6 KB more RSS per CEL evaluation with regopy loaded (benchmarks/bench_rules.py,
# NOTES in tracee_sig_cel.loader). Promoted to RTLD_GLOBAL before any other C++ library, its
# new/delete are everyone's, and both stay flat. Only possible while libstdc++ is not yet loaded.
_CXX_FIRST = not _mapped("librego_shared") and _mapped("libstdc++")

from regopy import Bundle, Interpreter, LogLevel, RegoError  # noqa: E402
from regopy import rego_shared as _rs  # noqa: E402


def _share_allocator() -> bool:
    if _CXX_FIRST:
        return False
    try:
        ctypes.CDLL(_rs.rego._name, mode=ctypes.RTLD_GLOBAL)
    except (OSError, AttributeError):
        return False
    return True


#: True when rego-cpp's allocator serves the whole process, so another C++ rule engine
#: (cel-expr-python) may share it without growing its memory.
SHARED_ALLOCATOR = _share_allocator()

__all__ = ["Bundle", "Interpreter", "LogLevel", "SHARED_ALLOCATOR", "new_interpreter", "captured_stdout", "printed_error", "RegoError", "QueryError", "Runner",
           "line_col", "parse_errors"]

_lib = _rs.rego
_new_input = _lib.regoNewInput
_free_input = _lib.regoFreeInput
_in_int = _lib.regoInputInt
_in_float = _lib.regoInputFloat
_in_str = _lib.regoInputString
_in_bool = _lib.regoInputBoolean
_in_null = _lib.regoInputNull
_in_item = _lib.regoInputObjectItem
_in_object = _lib.regoInputObject
_in_array = _lib.regoInputArray
_set_input = _lib.regoSetInput
_set_input_term = _lib.regoSetInputTerm
_query_entrypoint = _lib.regoBundleQueryEntrypoint
_output_ok = _lib.regoOutputOk
_output_json_size = _lib.regoOutputJSONSize
_output_json = _lib.regoOutputJSON
_output_node = _lib.regoOutputNode
_free_output = _lib.regoFreeOutput

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
_ERROR_MESSAGE = int(_rs.NodeKind.ErrorMessage)
_OK = 0


class QueryError(Exception):
    """rego-cpp reported an error while evaluating (conflict, unknown function, ...)."""


class _NeedsTerm(Exception):
    """The value holds an integer outside int64, which regopy's input API would wrap."""


def _build_input(value: Any) -> int:
    """A rego-cpp input object for a JSON-like value (dict/list/str/int/float/bool/None)."""
    p = _new_input()

    def add(v: Any) -> None:
        t = type(v)
        if t is str:
            _in_str(p, v.encode("utf-8", "surrogatepass"))
        elif t is int:
            if v < _INT64_MIN or v > _INT64_MAX:
                raise _NeedsTerm
            _in_int(p, v)
        elif t is dict:
            for k, x in v.items():
                _in_str(p, str(k).encode("utf-8", "surrogatepass"))
                add(x)
                _in_item(p)
            _in_object(p, len(v))
        elif t is list or t is tuple:
            for x in v:
                add(x)
            _in_array(p, len(v))
        elif t is bool:
            _in_bool(p, v)
        elif v is None:
            _in_null(p)
        elif t is float:
            if math.isfinite(v):
                _in_float(p, v)
            else:  # Go's JSON encoder cannot write NaN/Inf either; rego-cpp chokes on them
                _in_null(p)
        elif isinstance(v, int):  # bool handled above; IntEnum and friends
            add(int(v))
        elif isinstance(v, (bytes, bytearray)):  # as Go's JSON encoder writes []byte
            add(base64.b64encode(v).decode("ascii"))
        else:
            add(str(v))

    try:
        add(value)
    except BaseException:
        _free_input(p)
        raise
    return p


def new_interpreter(log_level: LogLevel = LogLevel.NONE) -> Interpreter:
    """An interpreter that prints nothing unless asked to.

    At its default log level rego-cpp prints every compile error to the process's stdout (file
    descriptor 1), which would land in the middle of the findings stream. Some errors exist only
    in that printout (see `printed_error`): the loader raises the level inside `captured_stdout`.
    """
    interpreter = Interpreter()
    interpreter.log_level = log_level
    return interpreter


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    return str(value)


class Runner:
    """One interpreter that evaluates compiled bundles against one event at a time.

    rego-cpp interpreters are not thread-safe (a shared one gave wrong results in NOTES.md):
    use one Runner per thread.
    """

    def __init__(self, interpreter: Interpreter | None = None) -> None:
        self.interpreter = interpreter or new_interpreter()
        self._impl = self.interpreter._impl
        #: How many inputs went through the slower JSON-term path (big integers).
        self.term_inputs = 0

    def set_input(self, value: dict[str, Any]) -> None:
        """Make `value` the `input` document of the next queries."""
        try:
            p = _build_input(value)
        except _NeedsTerm:
            # An integer >= 2^63 (kernel address, u64 argument): regopy's input API takes int64
            # and would silently wrap it. rego-cpp parses JSON text exactly, at ~4x the cost.
            self.term_inputs += 1
            text = json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))
            if _set_input_term(self._impl, text.encode("utf-8")) != _OK:
                raise QueryError(f"cannot set input: {_rs.rego_get_error(self._impl)}") from None
            return
        try:
            if _set_input(self._impl, p) != _OK:
                raise QueryError(f"cannot set input: {_rs.rego_get_error(self._impl)}")
        finally:
            _free_input(p)

    def query(self, bundle: Bundle, entrypoint: bytes) -> Any:
        """The value of `entrypoint` (None when undefined); QueryError on an evaluation error."""
        out = _query_entrypoint(self._impl, bundle._impl, entrypoint)
        if not out:
            raise QueryError(_rs.rego_get_error(self._impl) or "query failed")
        try:
            size = _output_json_size(out)
            buf = ctypes.create_string_buffer(size)
            _output_json(out, buf, size)
            text = buf.value
            if not _output_ok(out) or text.startswith(b"(error"):
                raise QueryError(_output_error(out, text))
            if text == b"undefined":
                return None
            return json.loads(text)["expressions"][0]
        finally:
            _free_output(out)


def _output_error(out: int, text: bytes) -> str:
    """The messages of an error output ("complete rules must not produce multiple outputs"...)."""
    messages: list[str] = []

    def walk(node: int, depth: int) -> None:
        if not node or depth > 8:
            return
        if _lib.regoNodeType(node) == _ERROR_MESSAGE:
            with contextlib.suppress(Exception):
                messages.append(_rs.rego_node_value(node))
            return
        for k in range(_rs.rego_node_size(node)):
            walk(_rs.rego_node_get(node, k), depth + 1)

    walk(_output_node(out), 0)
    if not messages:
        messages = [m for _, _, m in parse_errors(text.decode("utf-8", "replace"))]
    return "; ".join(dict.fromkeys(messages)) or "evaluation error"


# -- compile errors ---------------------------------------------------------------------------------
_ERROR_RE = re.compile(rb"\(error(?: (\d+):)?")
_MSG_RE = re.compile(rb"\(errormsg (\d+):")


def parse_errors(text: str) -> list[tuple[str | None, int | None, str]]:
    """(file, byte offset, message) for each error in rego-cpp's error-sequence text.

    The text looks like `(error 18:/dir/bad.rego|78|2 (errormsg 24:Invalid boolean operator) ...)`,
    where `N:` prefixes a string of N bytes; errors raised without a location omit the file part.
    """
    data = text.encode("utf-8", "surrogatepass")
    found: list[tuple[str | None, int | None, str]] = []
    pos = 0
    while True:
        m = _ERROR_RE.search(data, pos)
        if m is None:
            break
        pos = m.end()
        file: str | None = None
        offset: int | None = None
        if m.group(1) is not None:
            n = int(m.group(1))
            file = data[pos:pos + n].decode("utf-8", "replace")
            pos += n
            loc = re.match(rb"\|(\d+)\|(\d+)", data[pos:])
            if loc:
                offset = int(loc.group(1))
                pos += loc.end()
        mm = _MSG_RE.search(data, pos)
        if mm is None:
            break
        n = int(mm.group(1))
        message = data[mm.end():mm.end() + n].decode("utf-8", "replace")
        pos = mm.end() + n
        found.append((file or None, offset, message))
    return found


def line_col(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a byte offset into `source`."""
    data = source.encode("utf-8", "surrogatepass")[:offset]
    line = data.count(b"\n") + 1
    start = data.rfind(b"\n") + 1
    return line, len(data[start:].decode("utf-8", "replace")) + 1


_PRINTED_RE = re.compile(r"^Errors:\n(?P<message>(?:(?!-- ).*\n)+?)-- (?P<where>.+:\d+:\d+)$", re.MULTILINE)


def printed_error(text: str) -> str | None:
    """`file:line:col: message` of the first error in rego-cpp's printed report, if any.

    Some compile passes run lazily at the first query; their errors come back only as
    "shape `rego-errorseq` has no field `rego-data`", while the located message is printed.
    """
    found = _PRINTED_RE.search(text)
    if found is None:
        return None
    message = " ".join(line.strip() for line in found.group("message").splitlines() if line.strip())
    return f"{found.group('where')}: {message}"


@contextlib.contextmanager
def captured_stdout() -> Iterator[list[str]]:
    """Collect what rego-cpp prints on file descriptor 1; the list holds the text after the block.

    Used only while rule files load (before any finding is written), never per event.
    """
    captured: list[str] = []
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError):  # no usable fd 1: nothing to protect
        yield captured
        return
    with tempfile.TemporaryFile() as tmp:
        os.dup2(tmp.fileno(), 1)
        try:
            yield captured
        finally:
            _fflush()
            os.dup2(saved, 1)
            os.close(saved)
            tmp.seek(0)
            captured.append(tmp.read().decode("utf-8", "replace"))


def _fflush() -> None:
    # rego-cpp prints through C stdio (std::cout is synced with it): flush into the capture file
    # before fd 1 goes back to the real stdout.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).fflush(None)
