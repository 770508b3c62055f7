"""CEL functions cel-python lacks: the strings extension, and CEL's numeric comparisons across types.

They make the pure-Python backend accept and answer what cel-expr-python does. They are plain
module-level functions because celpy's CompiledRunner writes Python code that calls each function
by its `module.qualname` (a closure cannot be named that way, and the rule would fall back to
celpy's 3x slower tree interpreter). Only imported by the cel-python backend.
"""

from __future__ import annotations

from typing import Any, Callable

from celpy.celtypes import (BoolType, DoubleType, IntType, ListType, MapType, StringType, UintType)
from celpy.evaluation import CELEvalError, base_functions

__all__ = ["FUNCTIONS"]

_NUMBERS = (IntType, UintType, DoubleType)
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


# -- comparisons: `1 == 1u`, `2 > 1.5` and `1 == 'a'` (false), as cel-spec and the C++ runtime say;
# celpy 0.5 raises "no such overload" for all three, so a rule would differ between backends.
def _is_number(v: Any) -> bool:
    return isinstance(v, _NUMBERS) and not isinstance(v, BoolType)


def _plain(v: Any) -> int | float:
    return float(v) if isinstance(v, DoubleType) else int(v)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        return _plain(a) == _plain(b)
    if isinstance(a, ListType) and isinstance(b, ListType):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, MapType) and isinstance(b, MapType):
        return len(a) == len(b) and all(k in b and _equal(v, b[k]) for k, v in a.items())
    if not (isinstance(a, type(b)) or isinstance(b, type(a))):
        return False
    try:
        return bool(a == b)
    except TypeError:
        return False


def cel_eq(a: Any, b: Any) -> Any:
    if isinstance(a, CELEvalError):
        return a
    if isinstance(b, CELEvalError):
        return b
    return BoolType(_equal(a, b))


def cel_ne(a: Any, b: Any) -> Any:
    result = cel_eq(a, b)
    return result if isinstance(result, CELEvalError) else BoolType(not result)


def _mixed_numbers(a: Any, b: Any) -> bool:
    return _is_number(a) and _is_number(b) and type(a) is not type(b)


_LT, _LE, _GT, _GE = (base_functions[n] for n in ("_<_", "_<=_", "_>_", "_>=_"))


def cel_lt(a: Any, b: Any) -> Any:
    return BoolType(_plain(a) < _plain(b)) if _mixed_numbers(a, b) else _LT(a, b)


def cel_le(a: Any, b: Any) -> Any:
    return BoolType(_plain(a) <= _plain(b)) if _mixed_numbers(a, b) else _LE(a, b)


def cel_gt(a: Any, b: Any) -> Any:
    return BoolType(_plain(a) > _plain(b)) if _mixed_numbers(a, b) else _GT(a, b)


def cel_ge(a: Any, b: Any) -> Any:
    return BoolType(_plain(a) >= _plain(b)) if _mixed_numbers(a, b) else _GE(a, b)


# -- the strings extension (cel-expr-python's ext_strings) -------------------------------------------
def lower_ascii(s: str) -> StringType:
    return StringType(s.translate(_LOWER))


def upper_ascii(s: str) -> StringType:
    return StringType(s.translate(_UPPER))


def char_at(s: str, i: int) -> StringType:
    if not 0 <= i <= len(s):
        raise ValueError(f"charAt: index {i} out of range")
    return StringType(s[i:i + 1])


def index_of(s: str, sub: str, start: int = 0) -> IntType:
    if not 0 <= start <= len(s):
        raise ValueError(f"indexOf: index {start} out of range")
    return IntType(s.find(sub, start))


def last_index_of(s: str, sub: str, end: int | None = None) -> IntType:
    if end is None:
        return IntType(s.rfind(sub))
    if not 0 <= end <= len(s):
        raise ValueError(f"lastIndexOf: index {end} out of range")
    return IntType(s.rfind(sub, 0, end + len(sub)))


def replace(s: str, old: str, new: str, n: int = -1) -> StringType:
    return StringType(s.replace(old, new, n if n >= 0 else -1))


def split(s: str, sep: str, n: int = -1) -> ListType:
    if n == 0:
        return ListType([])
    if sep == "":
        parts = list(s)
        if n > 0 and len(parts) > n:
            parts = parts[:n - 1] + ["".join(parts[n - 1:])]
    else:
        parts = s.split(sep, n - 1 if n > 0 else -1)
    return ListType([StringType(p) for p in parts])


def substring(s: str, start: int, end: int | None = None) -> StringType:
    end = len(s) if end is None else end
    if not 0 <= start <= end <= len(s):
        raise ValueError(f"substring: range [{start}, {end}) out of range")
    return StringType(s[start:end])


def trim(s: str) -> StringType:
    return StringType(s.strip())


def join(items: list, sep: str = "") -> StringType:
    return StringType(sep.join(str(i) for i in items))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "_==_": cel_eq, "_!=_": cel_ne, "_<_": cel_lt, "_<=_": cel_le, "_>_": cel_gt, "_>=_": cel_ge,
    "lowerAscii": lower_ascii, "upperAscii": upper_ascii, "charAt": char_at, "indexOf": index_of,
    "lastIndexOf": last_index_of, "replace": replace, "split": split, "substring": substring,
    "trim": trim, "join": join,
}
