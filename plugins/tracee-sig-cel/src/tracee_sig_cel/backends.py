"""The two CEL engines behind one interface: cel-expr-python (Google's C++ CEL) and cel-python.

Both run the text `translate.py` produces, against the same variables: `input` (the event, a map
with a fixed set of keys), `__tracee_sargs` (string arguments by name) and `__tracee_saddrs`
(sockaddr arguments by name). The variables are built once per event by the rules' group
(`signature.CelGroup`) and shared by every expression that selects the event.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from typing import Any

from tracee import Event
from tracee.errors import FatalError

from . import schema
from .schema import SOCKADDR_ARGS, STRING_ARGS, UNSIGNED_SOCKADDR_FIELDS
from .translate import Translation, line_col

__all__ = ["AUTO", "BACKENDS", "Backend", "CompileError", "EvalError", "NotBooleanError", "choose_backend"]

AUTO = "auto"
FAST = "cel-expr-python"
PURE = "cel-python"
BACKENDS = (AUTO, PURE, FAST)
ENV_VAR = "TRACEE_CEL_BACKEND"


class CompileError(Exception):
    """A syntax or type error; `line`/`column` are 1-based in the compiled (translated) text."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


class EvalError(Exception):
    """An expression failed on one event (missing key, bad overload, non-boolean result...)."""


class NotBooleanError(EvalError):
    """The expression gave a value that is not a boolean (`type_name` says what it gave)."""

    def __init__(self, type_name: str) -> None:
        super().__init__(f"expected a boolean result, got {type_name}")
        self.type_name = type_name


class Backend:
    """Compiles translated expressions and evaluates them against per-event variables."""

    name = ""

    def __init__(self) -> None:
        # What the loaded rules read: only that is built per event (a fixed schema for them, no
        # cost for fields nobody reads). Set by note() while compiling, before any event.
        self.uses_sockaddr = False
        self.fields: frozenset[str] | None = frozenset()
        self.string_names: frozenset[str] = frozenset()
        self.sockaddr_names: frozenset[str] = frozenset()

    def note(self, translation: Translation) -> None:
        """Record what a compiled rule reads from the event."""
        self.uses_sockaddr |= translation.uses_sockaddr
        self.string_names |= translation.string_names
        self.sockaddr_names |= translation.sockaddr_names
        if self.fields is not None:
            self.fields = None if translation.fields is None else self.fields | translation.fields

    def compile(self, translation: Translation) -> Any:
        """A program for `translation.text`; raises CompileError."""
        raise NotImplementedError

    def declared_type(self, program: Any) -> str | None:
        """The result type known at compile time ("bool", "string"...), or None when dynamic."""
        return None

    def variables(self, event: Event) -> Any:
        """The variables of one event, for every expression."""
        return self.activation(self.plain(event))

    def activation(self, plain: dict[str, Any]) -> Any:
        """The variables in the backend's own form, from `plain` (which it may take over)."""
        raise NotImplementedError

    def evaluate(self, program: Any, variables: Any) -> bool:
        """True or False; raises EvalError for an error or a result that is not a boolean."""
        raise NotImplementedError

    def plain(self, event: Event) -> dict[str, Any]:
        """Everything an expression can read of `event`, as plain Python values: the `input`
        fields the loaded rules name, and every string and sockaddr argument."""
        return {"input": schema.input_fields(event, self.fields),
                STRING_ARGS: schema.string_args(event, self.string_names),
                SOCKADDR_ARGS: schema.sockaddr_args(event, self.sockaddr_names) if self.uses_sockaddr else {}}


# -- cel-expr-python ------------------------------------------------------------------------------------
_CEL_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")


class CelExprBackend(Backend):
    """Google's C++ CEL runtime: type-checked at compile, a few µs per evaluation.

    No Python callbacks: they leak ~4.6 KB per call in cel-expr-python 0.1.x; everything a rule
    needs is in the variables. Ports in sockaddr maps are ints here (the C++ runtime compares
    `80 == 80u` as true); cel-python gets uints.
    """

    name = FAST

    def __init__(self) -> None:
        super().__init__()
        from cel_expr_python import cel
        from cel_expr_python.ext import ext_strings

        self._cel = cel
        t = cel.Type
        self._env = cel.NewEnv(
            variables={"input": t.Map(t.STRING, t.DYN), STRING_ARGS: t.Map(t.STRING, t.STRING),
                       SOCKADDR_ARGS: t.Map(t.STRING, t.Map(t.STRING, t.DYN))},
            extensions=[ext_strings.ExtStrings()])
        self._bool = t.BOOL
        self._dyn = t.DYN
        self._error = t.ERROR

    def compile(self, translation: Translation) -> Any:
        try:
            return self._env.compile(translation.text)
        except Exception as exc:  # noqa: BLE001 - the binding raises RuntimeError with the checker's text
            text = str(exc)
            found = _CEL_ERROR.search(text)
            if not found:
                raise CompileError(text.strip().splitlines()[0] if text.strip() else type(exc).__name__) from None
            message = _shorten(found.group(3).strip())
            more = len(_CEL_ERROR.findall(text)) - 1
            if more > 0:
                message += f" (and {more} more error(s))"
            raise CompileError(message, int(found.group(1)), int(found.group(2))) from None

    def declared_type(self, program: Any) -> str | None:
        rtype = program.return_type()
        if rtype == self._dyn:
            return None
        return "bool" if rtype == self._bool else rtype.name().lower()

    def activation(self, plain: dict[str, Any]) -> Any:
        for arg in plain["input"].get("args", ()):
            if type(arg["value"]) is bytes:
                # cel-expr-python 0.1.3 cuts `bytes` at the first NUL; `bytearray` arrives whole.
                arg["value"] = bytearray(arg["value"])
        return self._env.Activation(plain)

    def evaluate(self, program: Any, variables: Any) -> bool:
        try:
            result = program.eval(variables)
        except Exception as exc:  # noqa: BLE001 - RuntimeError "Iteration budget exceeded", ...
            raise EvalError(str(exc).strip() or type(exc).__name__) from None
        value = result.value()
        if value is True or value is False:
            return value
        if result.type() == self._error:
            raise EvalError(str(value))
        raise NotBooleanError(result.type().name().lower())


def _shorten(message: str) -> str:
    # ANTLR lists every token it expected; the first few say enough.
    m = re.search(r"expecting \{([^}]*)\}", message)
    if m and len(m.group(1)) > 60:
        message = message[:m.start()] + "expecting one of {" + m.group(1)[:60].rsplit(",", 1)[0] + ", ...}"
    return message


# -- cel-python -------------------------------------------------------------------------------------------
class CelPythonBackend(Backend):
    """The pure-Python interpreter: always installable, ~20x slower.

    celpy's CompiledRunner (Python code generated per expression) is 3x faster than its tree
    interpreter but keeps its state in module globals, so evaluations are serialised by a lock.
    """

    name = PURE

    def __init__(self) -> None:
        super().__init__()
        import celpy
        import celpy.evaluation
        from celpy import celtypes

        import tracee_sig_cel
        from .celpy_functions import FUNCTIONS

        # celpy logs every evaluation error at ERROR level; we count and report them ourselves.
        logging.getLogger("celpy").setLevel(logging.CRITICAL)
        # Transpiled rules run in celpy.evaluation's globals and call our functions by their
        # dotted path (tracee_sig_cel.celpy_functions.cel_eq): make the package name resolvable.
        vars(celpy.evaluation).setdefault("tracee_sig_cel", tracee_sig_cel)
        self._celpy = celpy
        self._t = celtypes
        self._functions = FUNCTIONS
        self._compiled = celpy.Environment(runner_class=celpy.CompiledRunner)
        self._interpreted = celpy.Environment()
        self._lock = threading.Lock()
        self.interpreted = 0  # rules the transpiler could not handle, run by the slower interpreter

    def compile(self, translation: Translation) -> Any:
        celpy = self._celpy
        try:
            ast = self._compiled.compile(translation.text)
        except celpy.CELParseError:
            raise _parse_error(translation.text) from None
        try:
            return self._compiled.program(ast, functions=self._functions)
        except Exception:  # noqa: BLE001 - a construct the transpiler cannot handle: interpret it
            self.interpreted += 1
            return self._interpreted.program(self._interpreted.compile(translation.text),
                                             functions=self._functions)

    def activation(self, plain: dict[str, Any]) -> Any:
        t = self._t
        to_cel = self._to_cel
        saddrs = {}
        for name, addr in plain[SOCKADDR_ARGS].items():
            saddrs[t.StringType(name)] = t.MapType({
                t.StringType(k): (t.UintType(v) if k in UNSIGNED_SOCKADDR_FIELDS else t.StringType(v))
                for k, v in addr.items()})
        return {"input": to_cel(plain["input"]),
                STRING_ARGS: t.MapType({t.StringType(k): t.StringType(v) for k, v in plain[STRING_ARGS].items()}),
                SOCKADDR_ARGS: t.MapType(saddrs)}

    def _to_cel(self, value: Any) -> Any:
        """Python → celtypes. celpy's json_to_cel rejects bytes and ints ≥ 2^63, both common in
        events (kernel addresses, cgroup ids), so this one maps them to bytes and uint."""
        t = self._t
        kind = type(value)
        if kind is str:
            return t.StringType(value)
        if kind is bool:
            return t.BoolType(value)
        if kind is int:
            if -(1 << 63) <= value < (1 << 63):
                return t.IntType(value)
            if 0 <= value < (1 << 64):
                return t.UintType(value)
            return t.DoubleType(value)
        if kind is dict:
            return t.MapType({t.StringType(str(k)): self._to_cel(v) for k, v in value.items()})
        if kind is list or kind is tuple:
            return t.ListType([self._to_cel(v) for v in value])
        if kind is float:
            return t.DoubleType(value)
        if kind is bytes or kind is bytearray:
            return t.BytesType(bytes(value))
        if value is None:
            return None
        return t.StringType(str(value))

    def evaluate(self, program: Any, variables: Any) -> bool:
        try:
            with self._lock:
                value = program.evaluate(variables)
        except self._celpy.CELEvalError as exc:
            raise EvalError(_eval_message(exc)) from None
        except Exception as exc:  # noqa: BLE001 - celpy raises plain Python errors from some paths
            raise EvalError(f"{type(exc).__name__}: {exc}") from None
        if isinstance(value, self._t.BoolType) or type(value) is bool:
            return bool(value)
        raise NotBooleanError(_cel_type_name(value))


def _cel_type_name(value: Any) -> str:
    name = type(value).__name__
    return {"StringType": "string", "IntType": "int", "UintType": "uint", "DoubleType": "double",
            "ListType": "list", "MapType": "map", "BytesType": "bytes", "NoneType": "null"}.get(name, name)


def _parse_error(text: str) -> CompileError:
    """A readable syntax error: celpy's CELParseError keeps only a caret picture, so parse again
    with its lark parser to learn which token was unexpected."""
    import lark.exceptions
    from celpy.celparser import CELParser

    try:
        CELParser.CEL_PARSER.parse(text)  # type: ignore[union-attr] - built by Environment()
    except lark.exceptions.UnexpectedToken as exc:
        if exc.token.type == "$END":
            line, col = line_col(text, len(text.rstrip()))
            return CompileError("syntax error: unexpected end of expression", line, col)
        return CompileError(f"syntax error: unexpected {str(exc.token)!r}", exc.line, exc.column)
    except lark.exceptions.UnexpectedCharacters as exc:
        return CompileError(f"syntax error: unexpected character {exc.char!r}", exc.line, exc.column)
    except Exception as exc:  # noqa: BLE001
        return CompileError(f"syntax error: {exc}")
    return CompileError("syntax error")


def _eval_message(exc: Exception) -> str:
    """The texts nested in a CELEvalError's (message, type, args) tuples, outermost first."""
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if value != "evaluation error" and not any(value in t for t in texts):
                texts[:] = [t for t in texts if t not in value] + [value]
        elif isinstance(value, BaseException):
            walk(value.args)
        elif isinstance(value, tuple):
            for item in value:
                walk(item)

    walk(exc.args)
    return ": ".join(texts) or type(exc).__name__


# -- choosing -------------------------------------------------------------------------------------------
def choose_backend(requested: str | None) -> Backend:
    """`auto` (or nothing) prefers cel-expr-python and falls back to cel-python.

    Raises FatalError when the backend asked for cannot be imported.
    """
    choice = (requested or os.environ.get(ENV_VAR) or AUTO).strip()
    if choice not in BACKENDS:
        raise FatalError(f"--cel-backend {choice}: unknown backend (choose from {', '.join(BACKENDS)})")
    if choice in (AUTO, FAST):
        try:
            return CelExprBackend()
        except ImportError as exc:
            if choice == FAST:
                raise FatalError(f"--cel-backend {FAST}: cannot import cel_expr_python ({exc}); "
                                 "install it with: pip install 'tracee-sig-cel[fast]'") from None
    try:
        return CelPythonBackend()
    except ImportError as exc:
        raise FatalError(f"CEL rules need cel-python, which cannot be imported ({exc}); "
                         "install it with: pip install cel-python") from None
