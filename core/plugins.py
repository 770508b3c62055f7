"""Plugin discovery: entry points of group `tracee`, loaded one at a time, with provenance."""

from __future__ import annotations

import difflib
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import importlib_metadata
import pluggy

from . import hookspecs
from .api import Enricher, InputSpec, OutputSpec, RuleLoader
from .errors import FatalError
from .signature import Signature

__all__ = ["ENTRY_POINT_GROUP", "PluginHost", "PluginInfo"]

ENTRY_POINT_GROUP = "tracee"
log = logging.getLogger("tracee.plugins")


@dataclass
class PluginInfo:
    """One entry point: where it comes from, what it provided, or why it failed."""

    name: str
    distribution: str
    version: str
    module: str
    hooks: list[str] = field(default_factory=list)
    provides: dict[str, list[str]] = field(default_factory=dict)
    error: str | None = None

    def add(self, kind: str, what: str) -> None:
        self.provides.setdefault(kind, []).append(what)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "distribution": self.distribution,
                               "version": self.version, "module": self.module, "hooks": self.hooks,
                               "provides": self.provides}
        if self.error:
            out["error"] = self.error
        return out


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


class PluginHost:
    """Loads plugins and collects what they register, recording which plugin provided what.

    A plugin that fails to import, uses an unknown hook name, or raises in a hook is reported
    (entry point, distribution, version, error) and skipped; with `strict` it is fatal.
    """

    def __init__(self, *, strict: bool | None = None, disabled: Iterable[str] | None = None) -> None:
        self.strict = _env_flag("TRACEE_STRICT_PLUGINS") if strict is None else strict
        env_disabled = os.environ.get("TRACEE_DISABLE_PLUGINS", "")
        self.disabled = {d.strip() for d in env_disabled.split(",") if d.strip()} | set(disabled or ())
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.failed: list[PluginInfo] = []

    # -- loading ----------------------------------------------------------------------------------
    def load_entry_points(self) -> "PluginHost":
        for ep in sorted(importlib_metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            info = PluginInfo(ep.name, dist.name if dist else "?", dist.version if dist else "?", ep.value)
            if ep.name in self.disabled or info.distribution in self.disabled:
                continue
            if ep.name in self.plugins:
                continue  # the same distribution seen twice on sys.path
            try:
                plugin = ep.load()
            except BaseException as exc:  # noqa: BLE001 - any import failure, even SystemExit
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(info, f"{type(exc).__name__}: {exc}")
                continue
            self.register(plugin, info)
        return self

    def register(self, plugin: Any, info: PluginInfo) -> bool:
        """Register one plugin object; rejects it if it implements a hook that does not exist."""
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy validation errors (bad signature of a known hook, ...)
            self._fail(info, f"{type(exc).__name__}: {exc}")
            return False
        known = {name for name in dir(hookspecs) if name.startswith("tracee_")}
        unknown = []
        for caller in self.pm.get_hookcallers(plugin) or []:
            if not caller.has_spec():
                unknown.append(caller.name)
        if unknown:
            self.pm.unregister(plugin)
            hints = []
            for name in unknown:
                close = difflib.get_close_matches(name, sorted(known), n=1)
                hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
            self._fail(info, "unknown hook " + ", ".join(hints))
            return False
        info.hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        self.plugins[info.name] = info
        return True

    def _fail(self, info: PluginInfo, error: str) -> None:
        info.error = error
        self.failed.append(info)
        message = (f"plugin {info.name!r} ({info.distribution} {info.version}, {info.module}) "
                   f"failed to load: {error}")
        if self.strict:
            raise FatalError(message + " [--strict-plugins]")
        log.error(message + "; skipped")

    # -- calling hooks ----------------------------------------------------------------------------
    def _each(self, hook_name: str) -> Iterable[tuple[PluginInfo, Callable[..., Any]]]:
        caller = getattr(self.pm.hook, hook_name)
        for impl in caller.get_hookimpls():  # registration order
            info = self.plugins.get(impl.plugin_name)
            if info is not None and info.error is None:
                yield info, impl.function

    def _call(self, info: PluginInfo, hook_name: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except FatalError:
            raise
        except Exception as exc:  # noqa: BLE001
            message = f"plugin {info.name!r} ({info.distribution} {info.version}): {hook_name} raised {type(exc).__name__}: {exc}"
            if self.strict:
                raise FatalError(message + " [--strict-plugins]") from exc
            log.error(message + "; skipped")
            return None

    def _collect(self, hook_name: str, kind: str, label: Callable[[Any], str]) -> list[tuple[PluginInfo, Any]]:
        found: list[tuple[PluginInfo, Any]] = []
        for info, fn in self._each(hook_name):
            mine: list[Any] = []
            self._call(info, hook_name, fn, register=mine.append)
            for item in mine:
                found.append((info, item))
                info.add(kind, label(item))
        return found

    def signatures(self) -> list[tuple[PluginInfo, Signature]]:
        """Python signatures, with their providers (duplicates are resolved by the catalog)."""
        return self._collect("tracee_register_signatures", "signatures", _sig_id)

    def rule_paths(self) -> list[tuple[PluginInfo, str]]:
        return self._collect("tracee_register_rule_paths", "rule_paths", str)

    def rule_loaders(self) -> list[tuple[PluginInfo, RuleLoader]]:
        loaders = self._collect("tracee_register_rule_loaders", "rule_loaders", lambda r: r.name)
        seen: dict[str, tuple[PluginInfo, RuleLoader]] = {}
        for info, loader in loaders:
            for suffix in loader.suffixes:
                if suffix in seen and seen[suffix][1] is not loader:
                    raise FatalError(f"rule loaders {seen[suffix][1].name!r} (plugin {seen[suffix][0].name}) "
                                     f"and {loader.name!r} (plugin {info.name}) both claim '{suffix}' files")
                seen[suffix] = (info, loader)
        return loaders

    def inputs(self) -> dict[str, tuple[PluginInfo, InputSpec]]:
        return self._by_name("tracee_register_inputs", "inputs", "input")

    def outputs(self) -> dict[str, tuple[PluginInfo, OutputSpec]]:
        return self._by_name("tracee_register_outputs", "outputs", "output")

    def enrichers(self) -> list[tuple[PluginInfo, Enricher]]:
        return self._collect("tracee_register_enrichers", "enrichers", lambda e: e.name)

    def _by_name(self, hook: str, kind: str, what: str) -> dict[str, tuple[PluginInfo, Any]]:
        out: dict[str, tuple[PluginInfo, Any]] = {}
        for info, spec in self._collect(hook, kind, lambda s: s.name):
            if spec.name in out:
                raise FatalError(f"{what} {spec.name!r} is registered by both plugin "
                                 f"{out[spec.name][0].name!r} and plugin {info.name!r}")
            out[spec.name] = (info, spec)
        return out

    def cli_options(self) -> list[tuple[PluginInfo, Any]]:
        found = []
        for info, fn in self._each("tracee_cli_options"):
            for option in self._call(info, "tracee_cli_options", fn) or []:
                found.append((info, option))
                info.add("cli_options", "/".join(option.opts))
        return found

    def add_commands(self, cli: Any) -> None:
        for info, fn in self._each("tracee_register_commands"):
            before = set(cli.commands)
            self._call(info, "tracee_register_commands", fn, cli=cli)
            for name in sorted(set(cli.commands) - before):
                info.add("commands", name)


def _sig_id(sig: Signature) -> str:
    try:
        return sig.get_metadata().id
    except Exception:  # noqa: BLE001 - reported when the signature is loaded
        return "?"
