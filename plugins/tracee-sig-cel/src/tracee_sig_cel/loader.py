"""Reads Tracee's go-cel `SignaturesConfig` YAML files and turns each rule into a CelSignature.

A broken rule is reported as `FILE: signature ID: LINE:COL: message` (the position in the YAML
file) and skipped; the other rules of the file still load. With --strict-plugins it is fatal.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from tracee import EventSelector, Signature, SignatureMetadata, rulecache
from tracee.api import RuleLoadContext
from tracee.errors import FatalError
from tracee.predicates import parse as parse_predicate

from . import schema
from .backends import AUTO, ENV_VAR, FAST, PURE, Backend, CompileError, EvalError, NotBooleanError, choose_backend
from .signature import CelGroup, CelSignature
from .translate import TranslateError, Translation, line_col, translate

__all__ = ["API_VERSION", "KIND", "load_rules"]

KIND = "SignaturesConfig"
API_VERSION = "tracee.aquasecurity.github.io/v1alpha1"
_SIGNATURE_KEYS = ("metadata", "eventSelectors", "expression")
_METADATA_KEYS = ("id", "version", "name", "description", "tags", "properties")
_SELECTOR_KEYS = ("source", "name", "origin")
# Not in go-cel: necessary conditions of a match (tracee.predicates), so events no rule can match
# are dropped early (in the kernel with the eBPF input). Rules without them get every event.
_FILTERS_KEY = "filters"
_ORIGINS = ("", "*", "container", "container-init", "host")
#: The backend notices printed so far (a reload that keeps the backend says nothing new).
_ANNOUNCED: set[tuple[str, str]] = set()


@dataclass
class _Rule:
    path: Path
    sid: str
    metadata: SignatureMetadata
    selectors: list[EventSelector]
    expression: str
    node: yaml.ScalarNode  # the expression's YAML node, to map positions into the file
    lines: list[str]


class _Skip(Exception):
    """This rule (or document) is not loaded; the message has already been built."""


def share_process_with_rego(requested: str, context: RuleLoadContext) -> tuple[str, str]:
    """The backend to use when Rego rules (regopy) run in this process too, and why (or "").

    regopy's and cel-expr-python's native libraries disagree on the C++ allocator: whichever loads
    second grows by ~5.6 KB per evaluation (measured: 10,000 CEL evaluations, +56 MB). tracee-sig-rego
    makes rego-cpp's allocator the whole process's when it is loaded before any other C++ library
    (`tracee_sig_rego.regocpp.SHARED_ALLOCATOR`): then both stay flat and `auto` is cel-expr-python.
    Otherwise (something loaded a C++ library first) regopy loaded first with cel-python stays
    flat, so `auto` means cel-python.
    """
    try:
        from tracee_sig_rego.regocpp import SHARED_ALLOCATOR  # loads regopy now, before cel-expr-python
    except Exception:  # noqa: BLE001 - tracee-sig-rego reports an unusable regopy itself
        SHARED_ALLOCATOR = False
        try:
            import regopy  # noqa: F401
        except Exception:  # noqa: BLE001
            return requested, ""
    if SHARED_ALLOCATOR:
        return requested, ""
    if requested == AUTO:
        return PURE, (f"Rego rules share this process and a C++ library was loaded before regopy: {FAST} "
                      f"would grow by several KB per evaluation; run CEL rules in a process of their own "
                      f"for {FAST}")
    if requested == FAST:
        context.log.warning(f"--cel-backend {FAST} with Rego rules in the same process: memory grows "
                            f"by several KB per evaluation (a C++ library was loaded before regopy)")
    return requested, ""


def load_rules(files: Sequence[Path], context: RuleLoadContext) -> list[Signature]:
    """The loader registered for `.yaml`, `.yml` and `.cel` files."""
    requested = context.options.get("cel_backend") or os.environ.get(ENV_VAR) or AUTO
    why = ""
    if "rego" in context.active_loaders:
        requested, why = share_process_with_rego(requested, context)
    try:
        backend = choose_backend(requested)
    except FatalError as exc:
        if requested != AUTO:
            raise  # the user named a backend that is not there: stop, as for any bad option
        context.fail(f"{exc}; {len(files)} CEL rule file(s) not loaded")  # the other rules still run
        return []
    rules: list[_Rule] = []
    for path in files:
        context.reading(Path(path))
        rules.extend(_read_file(Path(path), context))

    compiled: list[tuple[_Rule, Translation, Any]] = []
    for rule in rules:
        context.reading(rule.path)
        try:
            translation = translate(rule.expression)
        except TranslateError as exc:
            line, col = line_col(rule.expression, exc.offset)
            context.fail(_where(rule, line, col, exc.message))
            continue
        try:
            program = backend.compile(translation)
        except CompileError as exc:
            if exc.line is None:
                context.fail(_where(rule, 1, 1, exc.message))
            else:
                line, col = translation.original_position(exc.line, exc.column or 1)
                context.fail(_where(rule, line, col, exc.message))
            continue
        backend.note(translation)
        compiled.append((rule, translation, program))

    signatures: list[Signature] = []
    group = CelGroup(backend, cache=rulecache.enabled(context.options))
    for rule, _translation, program in compiled:
        context.reading(rule.path)
        if not _check_boolean(rule, program, backend, context):
            continue
        signatures.append(CelSignature(rule.metadata, rule.selectors, rule.expression, program, group,
                                       str(rule.path)))
    notice = (backend.name, why)
    if signatures and notice not in _ANNOUNCED:  # once per process (reloads), and only with CEL rules
        _ANNOUNCED.add(notice)
        context.log.info(f"CEL: {len(signatures)} of {len(rules)} rule(s) from {len(files)} file(s) "
                         f"loaded, backend {backend.name}" + (f" ({why})" if why else ""))
    return signatures


def _check_boolean(rule: _Rule, program: Any, backend: Backend, context: RuleLoadContext) -> bool:
    """go-cel rejected non-boolean expressions: check the declared type, then a trial evaluation on
    a representative event of the first selected kind."""
    declared = backend.declared_type(program)
    if declared not in (None, "bool"):
        context.fail(_where(rule, 1, 1, f"the expression must be boolean; it gives a {declared}"))
        return False
    sample_name = next((s.name for s in rule.selectors if s.name and s.name != "*"), "")
    sample = schema.sample_event(sample_name)
    try:
        backend.evaluate(program, backend.variables(sample))
    except NotBooleanError as exc:
        context.fail(_where(rule, 1, 1, f"the expression must be boolean; on a sample "
                                        f"{sample_name or 'empty'} event it gives a {exc.type_name}"))
        return False
    except EvalError as exc:
        # Often data-dependent (int() of an empty string...): keep the rule, say what happened.
        context.log.warning(_where(rule, 1, 1, f"evaluating on a sample {sample_name or 'empty'} event "
                                        f"failed: {exc}; the rule is loaded and such errors count as no match"))
    return True


# -- positions ------------------------------------------------------------------------------------------
def _where(rule: _Rule, line: int, col: int, message: str) -> str:
    """`FILE: signature ID: LINE:COL: message`, LINE:COL in the file when the YAML style allows."""
    node = rule.node
    start_line, start_col = node.start_mark.line, node.start_mark.column
    if node.style == "|":
        first = start_line + 1  # a literal block starts on the line after its `|` indicator
        indent = 0
        for text in rule.lines[first:]:
            if text.strip():
                indent = len(text) - len(text.lstrip(" "))
                break
        return f"{rule.path}: signature {rule.sid}: {first + line}:{indent + col}: {message}"
    if node.style in (None, "'", '"') and node.end_mark.line == start_line:
        quote = 0 if node.style is None else 1
        return f"{rule.path}: signature {rule.sid}: {start_line + 1}:{start_col + quote + col}: {message}"
    # Folded or multi-line flow scalars reflow the text: name the expression's own position.
    return (f"{rule.path}: signature {rule.sid}: {start_line + 1}:{start_col + 1}: "
            f"{message} (at line {line}, column {col} of the expression)")


def _mark(node: yaml.Node) -> str:
    return f"{node.start_mark.line + 1}:{node.start_mark.column + 1}"


# -- reading files --------------------------------------------------------------------------------------
def _read_file(path: Path, context: RuleLoadContext) -> list[_Rule]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        context.fail(f"{path}: cannot read: {exc}")
        return []
    try:
        documents = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{mark.line + 1}:{mark.column + 1}: " if mark else ""
        context.fail(f"{path}: {where}invalid YAML: {exc.problem or exc.context}")
        return []
    except yaml.YAMLError as exc:
        context.fail(f"{path}: invalid YAML: {exc}")
        return []
    lines = text.splitlines()
    rules: list[_Rule] = []
    for doc in documents:
        if doc is None:
            continue
        try:
            signatures = _document(path, doc, context)
        except _Skip:
            continue
        for n, node in enumerate(signatures.value, 1):
            try:
                rules.append(_rule(path, n, node, lines, context))
            except _Skip as exc:
                context.fail(str(exc))
    if not documents or all(d is None for d in documents):
        context.log.warning(f"{path}: empty file, no CEL signatures")
    return rules


def _document(path: Path, doc: yaml.Node, context: RuleLoadContext) -> yaml.SequenceNode:
    """The `signatures` sequence of a SignaturesConfig document."""
    fields = _mapping(doc)
    kind = _construct(fields["kind"][1]) if "kind" in fields else None
    api = _construct(fields["apiVersion"][1]) if "apiVersion" in fields else None
    if kind != KIND:
        # Other plugins' YAML may share a rules directory; a near miss of ours is an error.
        near = isinstance(kind, str) and difflib.get_close_matches(kind, [KIND], cutoff=0.8)
        if near or api == API_VERSION:
            context.fail(f"{path}: {_mark(fields['kind'][1]) if 'kind' in fields else _mark(doc)}: "
                         f"kind must be {KIND!r}, not {kind!r}")
        else:
            context.log.warning(f"{path}: {_mark(doc)}: not a CEL {KIND} "
                                     f"(kind: {kind if kind is not None else 'none'}); file skipped")
        raise _Skip
    if api != API_VERSION:
        at = _mark(fields["apiVersion"][1]) if "apiVersion" in fields else _mark(doc)
        context.fail(f"{path}: {at}: apiVersion must be {API_VERSION!r}, not {api!r}")
        raise _Skip
    for key, (knode, _) in fields.items():
        if key not in ("kind", "apiVersion", "signatures"):
            context.log.warning(f"{path}: {_mark(knode)}: unknown key {key!r} ignored")
    if "signatures" not in fields:
        context.log.warning(f"{path}: {_mark(doc)}: no 'signatures' list")
        raise _Skip
    node = fields["signatures"][1]
    if not isinstance(node, yaml.SequenceNode):
        context.fail(f"{path}: {_mark(node)}: 'signatures' must be a list")
        raise _Skip
    return node


def _rule(path: Path, n: int, node: yaml.Node, lines: list[str], context: RuleLoadContext) -> _Rule:
    label = f"#{n}"

    def bad(at: yaml.Node, message: str) -> _Skip:
        return _Skip(f"{path}: signature {label}: {_mark(at)}: {message}")

    if not isinstance(node, yaml.MappingNode):
        raise bad(node, "each signature must be a mapping with metadata, eventSelectors, expression")
    fields = _mapping(node)
    if "metadata" not in fields:
        raise bad(node, "missing 'metadata'")
    meta_node = fields["metadata"][1]
    if not isinstance(meta_node, yaml.MappingNode):
        raise bad(meta_node, "'metadata' must be a mapping")
    meta_fields = _mapping(meta_node)
    sid = _construct(meta_fields["id"][1]) if "id" in meta_fields else None
    if not isinstance(sid, (str, int)) or str(sid).strip() == "":
        raise bad(meta_node, "metadata.id must be a non-empty string")
    sid = str(sid)
    if any(c.isspace() for c in sid):
        raise bad(meta_fields["id"][1], f"metadata.id {sid!r} must not contain spaces")
    label = sid
    for key, (knode, _) in fields.items():
        if key not in _SIGNATURE_KEYS:
            context.log.warning(f"{path}: signature {sid}: {_mark(knode)}: unknown key {key!r} ignored"
                                     f"{_did_you_mean(key, _SIGNATURE_KEYS)}")
    for key, (knode, _) in meta_fields.items():
        if key not in _METADATA_KEYS:
            context.log.warning(f"{path}: signature {sid}: {_mark(knode)}: unknown metadata key {key!r} "
                                     f"ignored{_did_you_mean(key, _METADATA_KEYS)}")
    meta = {k: _construct(v) for k, (_, v) in meta_fields.items() if k in _METADATA_KEYS}
    for key in ("name", "version", "description"):
        if key in meta and not isinstance(meta[key], (str, int, float)):
            raise bad(meta_fields[key][1], f"metadata.{key} must be a string")
    tags = meta.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad(meta_fields["tags"][1], "metadata.tags must be a list of strings")
    properties = meta.get("properties") or {}
    if not isinstance(properties, dict):
        raise bad(meta_fields["properties"][1], "metadata.properties must be a mapping")
    severity = properties.get("Severity")
    if severity is not None and (isinstance(severity, bool) or not isinstance(severity, int)
                                 or not 0 <= severity <= 4):
        raise bad(meta_fields["properties"][1], f"metadata.properties.Severity must be 0-4, not {severity!r}")
    metadata = SignatureMetadata(id=sid, name=str(meta.get("name") or sid),
                                 version=str(meta.get("version") or "0.1.0"),
                                 description=str(meta.get("description") or ""),
                                 tags=tuple(tags), properties=dict(properties))

    if "eventSelectors" not in fields:
        raise bad(node, "missing 'eventSelectors' (the events the rule receives)")
    sel_node = fields["eventSelectors"][1]
    if not isinstance(sel_node, yaml.SequenceNode) or not sel_node.value:
        raise bad(sel_node, "'eventSelectors' must be a non-empty list")
    selectors = []
    for item in sel_node.value:
        value = _construct(item)
        if not isinstance(value, dict) or not all(isinstance(value.get(k, ""), str) for k in _SELECTOR_KEYS):
            raise bad(item, "each event selector must be a mapping of source, name, origin (strings)")
        filters = value.get(_FILTERS_KEY) or []
        if not isinstance(filters, list) or not all(isinstance(f, str) for f in filters):
            raise bad(item, f"'{_FILTERS_KEY}' must be a list of data filters such as \"pathname=/etc/*\"")
        try:
            where = tuple(parse_predicate(f) for f in filters)
        except ValueError as exc:
            raise bad(item, str(exc)) from None
        for key in value:
            if key not in _SELECTOR_KEYS and key != _FILTERS_KEY:
                context.log.warning(f"{path}: signature {sid}: {_mark(item)}: unknown selector key "
                                         f"{key!r} ignored{_did_you_mean(str(key), _SELECTOR_KEYS)}")
        if value.get("origin", "") not in _ORIGINS:
            raise bad(item, f"event selector origin {value['origin']!r} is not one of "
                            "container, container-init, host, *")
        selectors.append(EventSelector(name=value.get("name", ""), origin=value.get("origin", ""),
                                       source=value.get("source", ""), where=where))

    if "expression" not in fields:
        raise bad(node, "missing 'expression'")
    expr_node = fields["expression"][1]
    expression = _construct(expr_node)
    if not isinstance(expr_node, yaml.ScalarNode) or not isinstance(expression, str) or not expression.strip():
        raise bad(expr_node, "'expression' must be a non-empty string")
    return _Rule(path, sid, metadata, selectors, expression, expr_node, lines)


def _did_you_mean(key: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _mapping(node: yaml.Node) -> dict[str, tuple[yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {str(k.value): (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _construct(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()
