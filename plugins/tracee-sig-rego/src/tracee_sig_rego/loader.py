"""Turns Tracee-format `.rego` files into signatures; each file is compiled and checked on its own,
so a broken one is reported (`file:line:col: message`) and skipped while the others load."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from tracee import Event, EventSelector, Signature, SignatureMetadata
from tracee import rulecache
from tracee.api import RuleLoadContext
from tracee.predicates import parse as parse_predicate

from .regocpp import (LogLevel, QueryError, RegoError, Runner, captured_stdout, line_col, new_interpreter,
                      parse_errors, printed_error)
from .runtime import AGGREGATE_PACKAGE, BUILTIN_HELPERS_NAME, RegoRuntime, rego_input
from .signature import RegoSignature
from .source import compilable, sandbox_problems

__all__ = ["BUILTIN_HELPERS_NAME", "builtin_helpers", "load_rules"]

_T = TypeVar("_T")

_META_PACKAGE = "tracee_sig_rego.meta"
_META_ENTRIES = ["tracee_sig_rego/meta/metadoc", "tracee_sig_rego/meta/sel_keys",
                 "tracee_sig_rego/meta/sel_values", "tracee_sig_rego/meta/match"]
_PACKAGE_RE = re.compile(r"^[ \t]*package[ \t]+([^\s#]+)", re.MULTILINE)
_DOTTED_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
_MATCH_RE = re.compile(r"^[ \t]*(default[ \t]+)?tracee_match\b", re.MULTILINE)


class RuleError(Exception):
    """A rule file that cannot become a signature; the message names the file (and line)."""

    def __init__(self, message: str, *, located: bool = True) -> None:
        super().__init__(message)
        #: False when rego-cpp gave no position: its printed report may have a better message.
        self.located = located


# rego-cpp 1.5 rejects a wildcard reference used directly as a call argument, which OPA accepts.
_HINTS = {"Invalid bracket argument": " (rego-cpp cannot take `xs[_]` directly as a function argument: "
                                      "bind it first, `x := xs[_]; f(x)`)"}


def builtin_helpers() -> str:
    return resources.files(__package__).joinpath("helpers.rego").read_text(encoding="utf-8")


def load_rules(files: Sequence[Path], context: RuleLoadContext) -> list[Signature]:
    """Signatures for the rule files among `files`, helper modules loaded as Tracee does."""
    helpers = [(BUILTIN_HELPERS_NAME, builtin_helpers())]
    rule_files: list[Path] = []
    # Pass 1, as tracee-rules: extra helper modules (`*helpers.rego`) first, for every rule.
    for path in files:
        name = path.name
        if name == "helpers.rego":
            continue  # Tracee's own helper library: the plugin compiles its equivalent in
        if name.endswith("_test.rego"):
            continue  # `opa test` files that sit next to rules; they are not rules
        if not name.endswith("helpers.rego"):
            rule_files.append(path)
            continue
        context.reading(path)
        try:
            source = _read(path)
            _check_sandbox(path, source, context)
            _check_helper(helpers, path, source)
        except RuleError as exc:
            context.fail(f"{exc}; helper module skipped")
            continue
        helpers.append((str(path), source))

    runtime = RegoRuntime([(n, compilable(t)) for n, t in helpers], cache=rulecache.enabled(context.options))
    packages: dict[str, Path] = {}
    signatures: list[Signature] = []
    for path in rule_files:
        context.reading(path)
        try:
            source = _read(path)
            _check_sandbox(path, source, context)
            sig = _compile_rule(runtime, len(runtime.sources), path, source, packages)
        except RuleError as exc:
            context.fail(f"{exc}; rule skipped")
            continue
        runtime.add(sig, str(path), compilable(source))
        packages[sig.package] = path
        signatures.append(sig)
    return signatures


def _check_sandbox(path: Path, source: str, context: RuleLoadContext) -> None:
    """Rules get no network, files, environment or process information (README: Sandbox)."""
    error, warning = sandbox_problems(source)
    if error:
        raise RuleError(f"{path}: {error}")
    if warning:
        if not context.isolated:  # here opa.runtime() would return the detector's environment
            raise RuleError(f"{path}: uses opa.runtime(), which would show this process's environment; "
                            f"allowed only in rule workers (on unless --rule-workers off or TRACEE_RULE_WORKERS=0)")
        context.log.warning(f"{path}: {warning}")


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RuleError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise RuleError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _compile_error(exc: RegoError, sources: dict[str, str], path: Path) -> RuleError:
    """`file:line:col: message` for the first error rego-cpp reports (byte offsets → line:col)."""
    errors = parse_errors(str(exc))
    if not errors:
        lines = [line for line in str(exc).splitlines() if line.strip()]
        return RuleError(f"{path}: {lines[0] if lines else 'compile error'}", located=False)
    file, offset, message = errors[0]
    where = file or str(path)
    if file in sources and offset is not None:
        line, col = line_col(sources[file], offset)
        where = f"{file}:{line}:{col}"
    more = f" (and {len(errors) - 1} more error(s))" if len(errors) > 1 else ""
    hint = _HINTS.get(message, "")
    return RuleError(f"{where}: {message}{hint}{more}", located=offset is not None)


def _check_helper(helpers: list[tuple[str, str]], path: Path, source: str) -> None:
    _located(lambda: _check_helper_inner(helpers, path, source))


def _check_helper_inner(helpers: list[tuple[str, str]], path: Path, source: str) -> None:
    interpreter = new_interpreter(LogLevel.ERROR)
    sources = dict(helpers) | {str(path): source}
    try:
        for name, text in [*helpers, (str(path), source)]:
            interpreter.add_module(name, compilable(text))
        interpreter.add_module("tracee_sig_rego/meta.rego", f"package {_META_PACKAGE}\nok := true\n")
        interpreter.build(None, ["tracee_sig_rego/meta/ok"])
    except RegoError as exc:
        raise _compile_error(exc, sources, path) from None


def _package(path: Path, source: str, packages: dict[str, Path]) -> str:
    found = _PACKAGE_RE.search(source)
    if found is None:
        raise RuleError(f"{path}: no package declaration (Tracee rules start with `package tracee.<NAME>`)")
    package = found.group(1)
    line = source.count("\n", 0, found.start()) + 1
    if not _DOTTED_RE.fullmatch(package):
        raise RuleError(f"{path}:{line}: package {package}: use a dotted name such as tracee.MY_RULE")
    if package == "tracee.helpers" or package.split(".")[0] == AGGREGATE_PACKAGE.split(".")[0]:
        raise RuleError(f"{path}:{line}: package {package} is reserved for helper modules "
                        f"(name the file *helpers.rego to load it as one)")
    for other, other_path in packages.items():
        if package == other or package.startswith(other + ".") or other.startswith(package + "."):
            raise RuleError(f"{path}:{line}: package {package} overlaps package {other} of {other_path}; "
                            f"each rule needs its own package")
    return package


def _located(run: Callable[[], _T]) -> _T:
    """Run a compile step with rego-cpp's error printout captured (never shown raw); a RuleError
    without a position takes the located message from that printout when there is one."""
    error: RuleError | None = None
    with captured_stdout() as printed:
        try:
            return run()
        except RuleError as exc:
            error = exc
    assert error is not None
    better = printed_error(printed[0]) if printed and not error.located else None
    if better:
        hint = next((h for k, h in _HINTS.items() if k in better), "")
        raise RuleError(better + hint) from None
    raise error


def _compile_rule(runtime: RegoRuntime, key: int, path: Path, source: str,
                  packages: dict[str, Path]) -> RegoSignature:
    return _located(lambda: _compile_rule_inner(runtime, key, path, source, packages))


def _compile_rule_inner(runtime: RegoRuntime, key: int, path: Path, source: str,
                        packages: dict[str, Path]) -> RegoSignature:
    interpreter = new_interpreter(LogLevel.ERROR)
    sources = dict(runtime.helpers) | {str(path): source}
    try:
        for name, text in runtime.helpers:
            interpreter.add_module(name, compilable(text))
        interpreter.add_module(str(path), compilable(source))  # syntax errors surface here
    except RegoError as exc:
        raise _compile_error(exc, sources, path) from None
    package = _package(path, source, packages)
    if _MATCH_RE.search(source) is None:
        raise RuleError(f"{path}: no tracee_match rule")
    # Selectors are read through comprehensions: rego-cpp returns a v0 partial set
    # (`tracee_selected_events[s] { ... }`) as an object {s: true} (NOTES.md), and an array or
    # set literal gives its elements as values.
    meta = (f"package {_META_PACKAGE}\n"
            f"metadoc := data.{package}.__rego_metadoc__\n"
            f"sel_keys := [s | data.{package}.tracee_selected_events[s]]\n"
            f"sel_values := [s | s := data.{package}.tracee_selected_events[_]]\n"
            f"match := data.{package}.tracee_match\n")
    try:
        interpreter.add_module("tracee_sig_rego/meta.rego", meta)
        bundle = interpreter.build(None, _META_ENTRIES)
    except RegoError as exc:
        raise _compile_error(exc, sources, path) from None

    runner = Runner(interpreter)
    try:
        runner.set_input({})
        metadoc = runner.query(bundle, _META_ENTRIES[0].encode())
        keys = runner.query(bundle, _META_ENTRIES[1].encode())
        values = runner.query(bundle, _META_ENTRIES[2].encode())
    except QueryError as exc:
        raise RuleError(f"{path}: cannot read __rego_metadoc__ / tracee_selected_events: {exc}",
                        located=False) from None
    metadata = _metadata(path, metadoc)
    selectors = _selectors(path, keys, values)

    # rego-cpp's build accepts unknown functions, wrong arities and recursion and fails only when
    # evaluation reaches them: evaluate once per selected event, on an event with no arguments.
    for name in sorted({s.name for s in selectors if s.name not in ("", "*")} or {"*"}):
        try:
            runner.set_input(rego_input(Event(name).to_dict()))
            runner.query(bundle, _META_ENTRIES[3].encode())
        except QueryError as exc:
            raise RuleError(f"{path}: tracee_match fails to evaluate (tried on event {name} "
                            f"with no arguments): {exc}", located=False) from None
    return RegoSignature(runtime, key, metadata, selectors, path, package)


def _metadata(path: Path, doc: Any) -> SignatureMetadata:
    where = f"{path}: __rego_metadoc__"
    if doc is None:
        raise RuleError(f"{where} is not defined")
    if type(doc) is not dict:
        raise RuleError(f"{where} must be an object, got {type(doc).__name__}")
    sid = doc.get("id")
    if not isinstance(sid, str) or not sid.strip():
        raise RuleError(f'{where}: "id" must be a non-empty string')
    for key in ("name", "version", "description"):
        if not isinstance(doc.get(key, ""), str):
            raise RuleError(f'{where}: "{key}" must be a string')
    tags = doc.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise RuleError(f'{where}: "tags" must be a list of strings')
    properties = doc.get("properties") or {}
    if not isinstance(properties, dict):
        raise RuleError(f'{where}: "properties" must be an object')
    # Missing fields stay empty, as Tracee's JSON decoding of the metadoc leaves them.
    return SignatureMetadata(id=sid, name=doc.get("name", ""), version=doc.get("version", ""),
                             description=doc.get("description", ""), tags=tuple(tags),
                             properties=properties)


def _selectors(path: Path, keys: Any, values: Any) -> list[EventSelector]:
    where = f"{path}: tracee_selected_events"
    items = keys if keys and all(type(k) is dict for k in keys) else values
    if not items:
        raise RuleError(f"{where} is empty or not defined: the rule would receive no events")
    selectors = []
    for item in items:
        if type(item) is not dict:
            raise RuleError(f'{where}: each selector must be an object like {{"source": "tracee", '
                            f'"name": "execve"}}, got {item!r}')
        fields = {k: item.get(k, "") for k in ("source", "name", "origin")}
        bad = [k for k, v in fields.items() if not isinstance(v, str)]
        if bad:
            raise RuleError(f'{where}: selector "{bad[0]}" must be a string, got {item!r}')
        # Not in Tracee's format: "filters", necessary conditions of a match (tracee.predicates),
        # so events no rule can match are dropped early. Rules without them get every event.
        filters = item.get("filters") or []
        if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
            raise RuleError(f'{where}: "filters" must be a list of data filters such as "pathname=/etc/*"')
        try:
            predicates = tuple(parse_predicate(f) for f in filters)
        except ValueError as exc:
            raise RuleError(f"{where}: {exc}") from None
        selectors.append(EventSelector(name=fields["name"], origin=fields["origin"], source=fields["source"],
                                       where=predicates))
    return selectors
