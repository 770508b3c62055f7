"""Plugin discovery: entry points of group `tracee`, loaded one at a time, with provenance."""

from __future__ import annotations

import difflib
import logging
import os
import re
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable, Iterator

import click
import pluggy

from . import hookspecs
from .api import Enricher, InputSpec, OutputSpec, RuleLoader
from .errors import FatalError
from .signature import Signature

__all__ = ["CORE_DISTRIBUTION", "ENTRY_POINT_GROUP", "CliOption", "PluginHost", "PluginInfo"]

ENTRY_POINT_GROUP = "tracee"
log = logging.getLogger("tracee.plugins")
CORE_DISTRIBUTION = "tracee"  # its own entry points (the file input) load whatever TRACEE_LOAD_PLUGINS says

# The commands `tracee_cli_options` adds options to, and the `provides` key each one is shown under.
CLI_COMMANDS = {"tracee run": "cli_options", "tracee-rules": "tracee_rules_options"}


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


@dataclass(frozen=True)
class CliOption:
    """A click option a plugin registered through `tracee_cli_options`, and what to do with its value."""

    option: click.Option
    apply: Callable[[Any, Any], None] | None = None


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _canonical(name: str) -> str:
    """PEP 503 normalization, so `tracee_sig_example` and `Tracee-Sig-Example` name one distribution."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _names(value: str | Iterable[str] | None) -> set[str] | None:
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else value
    return {_canonical(v.strip()) for v in items if v.strip()}


class PluginHost:
    """Loads plugins and collects what they register, recording which plugin provided what.

    A plugin that fails to import, uses an unknown hook name, implements a hook as a wrapper, or
    raises in a hook is reported (entry point, distribution, version, error) and skipped; with
    `strict` it is fatal.

    `load` (default: `TRACEE_LOAD_PLUGINS`, comma-separated; unset means all, empty means none)
    keeps only the plugins named by entry point or distribution; the core's own entry points always
    load. `disabled` (added to `TRACEE_DISABLE_PLUGINS`) skips plugins by the same names.
    """

    def __init__(self, *, strict: bool | None = None, disabled: Iterable[str] | None = None,
                 load: Iterable[str] | None = None) -> None:
        self.strict = _env_flag("TRACEE_STRICT_PLUGINS") if strict is None else strict
        self.disabled = (_names(os.environ.get("TRACEE_DISABLE_PLUGINS", "")) or set()) | (_names(disabled) or set())
        self.load_only = _names(os.environ.get("TRACEE_LOAD_PLUGINS") if load is None else load)
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.failed: list[PluginInfo] = []

    # -- loading ----------------------------------------------------------------------------------
    def load_entry_points(self) -> "PluginHost":
        """Import the selected entry points in name order, then register them in reverse: pluggy
        calls the most recently registered plugin first, so plugins of equal priority (no
        tryfirst/trylast) run in entry-point name order, the order `tracee plugins` lists."""
        seen: set[str] = set()
        loaded: list[tuple[Any, PluginInfo]] = []
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            dist = ep.dist
            info = PluginInfo(ep.name, dist.name if dist else "?", dist.version if dist else "?", ep.value)
            seen |= {_canonical(ep.name), _canonical(info.distribution)}
            if not self._selected(info) or ep.name in self.plugins or any(i.name == ep.name for _, i in loaded):
                continue  # not chosen, or the same entry point seen twice on sys.path
            try:
                plugin = ep.load()
            except BaseException as exc:  # noqa: BLE001 - any import failure, even SystemExit
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(info, f"{type(exc).__name__}: {exc}")
                continue
            loaded.append((plugin, info))
        for plugin, info in reversed(loaded):
            self.register(plugin, info)
        for name in sorted((self.load_only or set()) - seen):
            log.warning(f"TRACEE_LOAD_PLUGINS: no installed plugin is named {name!r} "
                        "(entry point or distribution; see 'tracee plugins')")
        return self

    def _selected(self, info: PluginInfo) -> bool:
        names = {_canonical(info.name), _canonical(info.distribution)}
        if names & self.disabled:
            return False
        return (self.load_only is None or bool(names & self.load_only)
                or _canonical(info.distribution) == CORE_DISTRIBUTION)

    def register(self, plugin: Any, info: PluginInfo) -> bool:
        """Register one plugin object; rejects it if it implements a hook that does not exist, or
        implements one as a wrapper."""
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy validation errors (bad signature of a known hook, ...)
            self._fail(info, f"{type(exc).__name__}: {exc}")
            return False
        problem = self._check(plugin)
        if problem:
            self.pm.unregister(plugin)
            self._fail(info, problem)
            return False
        info.hooks = sorted(c.name for c in self.pm.get_hookcallers(plugin) or [])
        self.plugins[info.name] = info
        return True

    def _check(self, plugin: Any) -> str | None:
        """Why this registered plugin must not be used, or None."""
        unknown: list[str] = []
        for caller in self.pm.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is not plugin:
                    continue
                if not caller.has_spec() and not impl.optionalhook:
                    unknown.append(caller.name)
                elif impl.wrapper or impl.hookwrapper:
                    # Each hook hands every plugin its own `register` and returns nothing, so a
                    # wrapper would have no result to see or change, and could not see what the
                    # others register; pluggy's exception handling around it would also undo the
                    # per-plugin isolation. Refused rather than run and silently useless.
                    kind = "wrapper=True" if impl.wrapper else "hookwrapper=True"
                    return (f"{caller.name} is a hook wrapper ({kind}), which tracee does not run: its "
                            "hooks register things and return nothing to wrap; order it with "
                            "tryfirst=True or trylast=True instead")
        if not unknown:
            return None
        known = sorted(name for name in dir(hookspecs) if name.startswith("tracee_"))
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, known, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        return "unknown hook " + ", ".join(hints)

    def _fail(self, info: PluginInfo, error: str) -> None:
        info.error = error
        self.failed.append(info)
        message = (f"plugin {info.name!r} ({info.distribution} {info.version}, {info.module}) "
                   f"failed to load: {error}")
        if self.strict:
            raise FatalError(message + " [--strict-plugins]")
        log.error(message + "; skipped")

    # -- calling hooks ----------------------------------------------------------------------------
    def _each(self, hook_name: str) -> Iterator[tuple[PluginInfo, pluggy.HookImpl]]:
        """The implementations of a hook in the order pluggy calls them: pluggy's `_multicall` walks
        `get_hookimpls()` from the end, which puts tryfirst ones first, trylast ones last, and
        within each group the most recently registered first."""
        caller = getattr(self.pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            info = self.plugins.get(impl.plugin_name)
            if info is not None and info.error is None:
                yield info, impl

    def _call(self, info: PluginInfo, hook_name: str, impl: pluggy.HookImpl, **kwargs: Any) -> None:
        """One implementation, on its own: it gets only the arguments it names (as pluggy does),
        and an exception is reported with its plugin and skipped."""
        try:
            result = impl.function(*[kwargs[name] for name in impl.argnames])
        except FatalError:
            raise
        except Exception as exc:  # noqa: BLE001
            self._hook_error(info, hook_name, f"raised {type(exc).__name__}: {exc}", exc)
            return
        if result is not None:  # e.g. a plugin written for the old list-returning tracee_cli_options
            self._hook_error(info, hook_name, f"returned a {type(result).__name__}, which is ignored: tracee "
                                              "hooks return nothing (register each item with register(...))")

    def _hook_error(self, info: PluginInfo, hook_name: str, problem: str, exc: Exception | None = None) -> None:
        message = f"plugin {info.name!r} ({info.distribution} {info.version}): {hook_name} {problem}"
        if self.strict:
            raise FatalError(message + " [--strict-plugins]") from exc
        log.error(message + "; skipped")

    def _forget(self, kind: str) -> None:
        # A hook collected again (`tracee plugins`, then a run, in one process) replaces what the
        # previous call recorded instead of listing everything twice.
        for info in self.plugins.values():
            info.provides.pop(kind, None)

    def _collect(self, hook_name: str, kind: str, label: Callable[[Any], str],
                 make: Callable[..., Any] | None = None, **kwargs: Any) -> list[tuple[PluginInfo, Any]]:
        """Call a registration hook; each plugin's `register` records what it gives, with the plugin.
        `make` turns register's arguments into the record (default: the single argument)."""
        self._forget(kind)
        found: list[tuple[PluginInfo, Any]] = []
        for info, impl in self._each(hook_name):
            mine: list[Any] = []
            register = mine.append if make is None else _recorder(mine, make)
            self._call(info, hook_name, impl, register=register, **kwargs)
            for item in mine:
                try:
                    what = label(item)
                except Exception:  # noqa: BLE001 - a plugin registered something of the wrong kind
                    self._hook_error(info, hook_name, f"registered a {type(item).__name__}, which is not "
                                                      f"one of its {kind}")
                    continue
                found.append((info, item))
                info.add(kind, what)
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

    def cli_options(self, command: str = "tracee run") -> list[tuple[PluginInfo, CliOption]]:
        """The options plugins add to `command`: "tracee run" or "tracee-rules"."""
        if command not in CLI_COMMANDS:
            raise ValueError(f"cli_options: unknown command {command!r} (one of {', '.join(CLI_COMMANDS)})")
        return self._collect("tracee_cli_options", CLI_COMMANDS[command], lambda o: "/".join(o.option.opts),
                             make=_cli_option, command=command)

    def add_commands(self, cli: click.Group) -> None:
        self._forget("commands")
        for info, impl in self._each("tracee_register_commands"):
            before = dict(cli.commands)
            self._call(info, "tracee_register_commands", impl, cli=cli)
            for name, command in before.items():
                if cli.commands.get(name) is not command:
                    cli.commands[name] = command
                    self._hook_error(info, "tracee_register_commands", f"replaced the command {name!r}, "
                                                                       "which is kept as it was")
            for name in sorted(set(cli.commands) - set(before)):
                info.add("commands", name)

def _recorder(into: list[Any], make: Callable[..., Any]) -> Callable[..., None]:
    return lambda *args, **kwargs: into.append(make(*args, **kwargs))


def _cli_option(option: click.Option, apply: Callable[[Any, Any], None] | None = None) -> CliOption:
    if not isinstance(option, click.Option):
        raise TypeError(f"register() takes a click.Option, not {type(option).__name__}")
    if apply is not None and not callable(apply):
        raise TypeError(f"register(option, apply=...): apply must be callable, not {type(apply).__name__}")
    return CliOption(option, apply)


def _sig_id(sig: Signature) -> str:
    try:
        return sig.get_metadata().id
    except Exception:  # noqa: BLE001 - reported when the signature is loaded
        return "?"
