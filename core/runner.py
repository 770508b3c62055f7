"""Puts a run together: plugins → signatures (filtered, configured) → input → engine → outputs."""

from __future__ import annotations

import logging
import os
import signal
import stat
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import log as logs
from . import server
from . import rulecache, workers
from .api import EnricherContext, InputContext, Output, OutputContext, RuleLoadContext
from .config import Config, load_config
from .engine import Engine, selected_conditions
from .errors import FatalError, UsageError
from .plugins import PluginHost, PluginInfo
from .reload import Reloader
from .loss import LossWatcher, alert_every
from .signals import Shutdown
from .signature import Finding, Signature, SignatureError

log = logging.getLogger("tracee")

__all__ = ["LoadedSignature", "RunOptions", "load_signatures", "run"]


@dataclass
class LoadedSignature:
    signature: Signature
    provider: str  # plugin name, or the rule file's path


@dataclass
class RunOptions:
    inputs: Sequence[str] = ()
    outputs: Sequence[str] = ("stdout",)
    rules: Sequence[str] = ()
    rules_dirs: Sequence[str] = ()
    config: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    command: str = "tracee run"  # as /metrics names it (tracee_info)


def _split(spec: str) -> tuple[str, str]:
    name, _, arg = spec.partition(":")
    return name.strip(), arg


#: Set to 1 to read rule files that are symbolic links (to regular files).
FOLLOW_SYMLINKS_ENV = "TRACEE_RULES_FOLLOW_SYMLINKS"


def _rule_files(root: Path, suffixes: set[str]) -> list[Path]:
    """The rule files under `root`: regular files inside it, found without following links.

    Rule directories are read as root on every node, so a link planted in one (to a root-only
    file, a FIFO, /dev/zero) must not make tracee read or quote what it points to: links are
    refused with a message unless TRACEE_RULES_FOLLOW_SYMLINKS=1, and then only to regular files.
    """
    if root.is_file():
        return [root]
    follow = os.environ.get(FOLLOW_SYMLINKS_ENV, "") in ("1", "true", "yes")
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames:
            if os.path.islink(os.path.join(dirpath, name)):
                log.warning(f"rules dir {root}: {os.path.join(dirpath, name)} is a symbolic link to a "
                            f"directory; not read")
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if path.suffix.lower() not in suffixes:
                continue
            try:
                st = os.lstat(path)
                if stat.S_ISLNK(st.st_mode):
                    if not follow:
                        log.warning(f"rules dir {root}: {path} is a symbolic link; not read "
                                    f"({FOLLOW_SYMLINKS_ENV}=1 reads links to regular files)")
                        continue
                    st = os.stat(path)
            except OSError as exc:
                log.warning(f"rules dir {root}: {path}: {exc.strerror}; not read")
                continue
            if not stat.S_ISREG(st.st_mode):
                log.warning(f"rules dir {root}: {path} is not a regular file; not read")
                continue
            found.append(path)
    return sorted(found)


def load_signatures(host: PluginHost, *, rules_dirs: Sequence[str] = (), rules: Sequence[str] = (),
                    config: Config | None = None, options: Mapping[str, Any] | None = None,
                    problems: list[str] | None = None, report: bool = True) -> list[LoadedSignature]:
    """Every signature the installed plugins and the rule directories provide, after `--rules`
    selection and the config's disable lists, configured with the config's settings.

    Broken rule files and signatures are reported (unless `report` is False) and skipped; each
    such problem is also appended to `problems` when given."""
    config = config or Config()
    found: list[LoadedSignature] = [LoadedSignature(sig, info.name) for info, sig in host.signatures()]

    loaders = host.rule_loaders()
    by_suffix = {s.lower(): loader for _, loader in loaders for s in loader.suffixes}
    roots: list[tuple[str, Path]] = []
    for d in rules_dirs:
        path = Path(d)
        if not path.exists():
            raise UsageError(f"--rules-dir {d}: no such directory")
        roots.append((str(path), path))
    for info, p in host.rule_paths():
        path = Path(p)
        if not path.exists():
            log.error(f"plugin {info.name!r} registered rule path {p} which does not exist")
            continue
        roots.append((info.name, path))
    files_by_loader: dict[str, list[Path]] = {}
    providers: dict[Path, str] = {}
    for provider, root in roots:
        for f in _rule_files(root, set(by_suffix)):
            loader = by_suffix.get(f.suffix.lower())
            if loader is None:
                continue
            files_by_loader.setdefault(loader.name, []).append(f)
            providers[f] = provider if provider in host.plugins else str(f)
    # Resolved here: a rule worker's environment is empty, it sees only the options.
    options = {**(options or {}), "rule_cache": rulecache.setting(options or {})}
    context = RuleLoadContext(strict=host.strict, options=options,
                              active_loaders=frozenset(files_by_loader),
                              problems=problems if problems is not None else [], report=report)
    isolate = workers.enabled(options or {})
    # Every rule worker starts and compiles at once (each takes a few hundred ms), then each is read.
    started: dict[str, workers.WorkerGroup] = {}
    for _, loader in loaders:
        files = files_by_loader.get(loader.name)
        if files and loader.isolate and isolate:
            group = started[loader.name] = workers.WorkerGroup(loader, [str(f) for f in files], context,
                                                               workers.budget_ms(options or {}))
            group.begin()
    for _, loader in loaders:
        files = files_by_loader.get(loader.name)
        if not files:
            continue
        try:
            if loader.isolate and isolate:
                sigs = workers.load_isolated(loader, files, context, group=started[loader.name])
            else:
                sigs = loader.load(files, context)
        except FatalError:
            raise
        except Exception as exc:  # noqa: BLE001 - a broken loader must not take the others down
            context.fail(f"rule loader {loader.name} failed: {type(exc).__name__}: {exc}")
            continue
        for sig in sigs:
            origin = getattr(sig, "path", None)
            found.append(LoadedSignature(sig, providers.get(Path(origin), loader.name) if origin else loader.name))

    # Metadata must be readable, IDs unique (the first provider wins, the clash is an error).
    loaded: dict[str, LoadedSignature] = {}
    for item in found:
        try:
            meta = item.signature.get_metadata()
            item.signature.get_selected_events()
        except Exception as exc:  # noqa: BLE001
            context.fail(f"signature from {item.provider}: cannot read its metadata: {exc}")
            continue
        if meta.id in loaded:
            context.fail(f"signature ID {meta.id} is provided twice: by {loaded[meta.id].provider} "
                         f"and by {item.provider}; keeping the first")
            continue
        loaded[meta.id] = item

    if rules:
        unknown = [r for r in rules if r not in loaded]
        if unknown:
            raise UsageError(f"--rules: unknown signature ID {unknown[0]} (see 'tracee list')")
        wanted = set(rules)
        loaded = {k: v for k, v in loaded.items() if k in wanted}
    result = []
    for sid, item in loaded.items():
        meta = item.signature.get_metadata()
        if sid in config.disabled_ids or config.disabled_tags & set(meta.tags or ()):
            continue
        try:
            item.signature.configure(dict(config.settings.get(sid, {})))
        except (SignatureError, ValueError, TypeError) as exc:
            raise UsageError(f"config {config.path}: signatures.{sid}: {exc}") from None
        result.append(item)
    for sid in config.settings:
        if sid not in loaded:
            log.warning(f"config {config.path}: settings for {sid}, which is not loaded")
    return result


def build_outputs(host: PluginHost, specs: Sequence[str], options: Mapping[str, Any]) -> list[Output]:
    available = host.outputs()
    outputs: list[Output] = []
    for spec in specs:
        name, arg = _split(spec)
        if name not in available:
            names = ", ".join(sorted(available)) or "none installed"
            raise UsageError(f"--output {spec}: unknown output {name!r} (available: {names})")
        try:
            outputs.append(available[name][1].factory(
                OutputContext(arg, options, log=logging.getLogger(f"tracee.output.{name}"))))
        except (FatalError, UsageError):
            raise
        except (ValueError, OSError) as exc:
            raise UsageError(f"--output {spec}: {exc}") from None
    return outputs


def choose_input(host: PluginHost, specs: Sequence[str]) -> tuple[Any, str]:
    available = host.inputs()
    if len(specs) > 1:
        raise UsageError("--input: only one input per run")
    if specs:
        name, arg = _split(specs[0])
        if name not in available:
            names = ", ".join(sorted(available)) or "none installed"
            raise UsageError(f"--input {specs[0]}: unknown input {name!r} (available: {names})")
        spec = available[name][1]
        why = spec.available()
        if why:
            raise FatalError(f"--input {name}: {why}")
        return spec, arg
    defaults = [spec for _, spec in available.values() if spec.default]
    if not defaults:
        raise UsageError("no --input given and no live input is installed "
                         "(pip install tracee-input-ebpf, or use --input file:PATH)")
    why = defaults[0].available()
    if why:
        raise FatalError(f"live input {defaults[0].name}: {why}")
    return defaults[0], ""


def run(host: PluginHost, opts: RunOptions, *, banner: bool = True) -> int:
    """Run detection until the input ends (or SIGINT/SIGTERM for a live input).

    Returns the exit code: 0, or 128 + the signal's number when a signal stopped the run."""
    logs.setup()
    with logs.counting() as counter:
        service = server.start(opts.options, command=opts.command)  # --metrics / --healthz
        try:
            return _run(host, opts, counter, banner, service)
        finally:
            if service is not None:
                service.close()


def _run(host: PluginHost, opts: RunOptions, counter: logs.Counter, banner: bool,
         service: server.Service | None = None) -> int:
    config = load_config(opts.config)
    input_spec, input_arg = choose_input(host, opts.inputs)
    input_spec.prepare()  # before rule files: see InputSpec.prepare
    problems: list[str] = []
    loaded = load_signatures(host, rules_dirs=opts.rules_dirs, rules=opts.rules, config=config,
                             options=opts.options, problems=problems)
    if not loaded:
        raise FatalError("no signatures loaded (install a rule pack such as tracee-sig-builtin, "
                         "or pass --rules-dir)")
    outputs = build_outputs(host, opts.outputs, opts.options)

    # Held by a reload while rule loaders run: a loader may redirect file descriptor 1 meanwhile
    # (tracee-sig-rego captures rego-cpp's printout), so findings wait instead of going there.
    outputs_hold = threading.Lock()

    def on_finding(finding: Finding) -> None:
        with outputs_hold:
            for output in outputs:
                output.write(finding)

    enrichers = [e for _, e in host.enrichers()]
    engine = Engine([item.signature for item in loaded], on_finding, enrichers=enrichers,
                    budget_ms=workers.budget_ms(opts.options))
    reloader = Reloader(host, opts, loaded, problems, config, engine, None, input_name=input_spec.name,
                        input_events=engine.event_names(), outputs_hold=outputs_hold)
    reloader.install()  # SIGHUP, as soon as there is a set to reload
    for enricher in enrichers:
        try:
            enricher.start(EnricherContext(opts.options, logging.getLogger(f"tracee.enricher.{enricher.name}")))
        except (FatalError, UsageError):
            reloader.close()
            raise
        except Exception as exc:  # noqa: BLE001 - events still flow, without this enricher's fields
            log.error(f"enricher {enricher.name} failed to start: {type(exc).__name__}: {exc}")
    context = InputContext(input_arg, engine.event_names(), opts.options,
                           log=logging.getLogger(f"tracee.input.{input_spec.name}"),
                           conditions=selected_conditions([item.signature for item in loaded]))
    try:
        source = input_spec.factory(context)
    except BaseException:
        reloader.close()
        raise
    reloader.source = source
    if banner:
        ids = [item.signature.get_metadata().id for item in loaded]
        log.info(f"Loaded {len(ids)} signature(s): [{' '.join(ids)}]")
    if service is not None:
        service.watch_run(engine, [(_split(spec)[0], out) for spec, out in zip(opts.outputs, outputs)],
                          engine.enrichers, counter)
        service.metrics.sources.append(reloader.metrics)
        service.watch_input(input_spec.name, source, busy_codes=Engine.dispatch_codes())
    ended = "input ended"

    def interrupt_outputs() -> None:  # a second signal: stop draining outputs and rule workers
        engine.interrupt()
        for output in outputs:
            interrupt = getattr(output, "interrupt", None)
            if interrupt is not None:
                interrupt()

    # Loss is a finding too (tracee.loss): the people reading findings learn the sensor was blinded.
    watcher = LossWatcher(source.stats, on_finding, every=alert_every(opts.options)).start()

    # The first SIGINT/SIGTERM stops the input and lets outputs drain; see tracee.signals.
    shutdown = Shutdown(on_first=source.close, on_second=interrupt_outputs)
    shutdown.__enter__()
    try:
        engine.run(source.events())
    except KeyboardInterrupt:  # Python's own handler (not the main thread): the run was interrupted
        shutdown.signum = shutdown.signum or signal.SIGINT
        log.warning("interrupted")
        engine.finish()
    except BaseException as exc:
        ended = f"input failed: {type(exc).__name__}: {exc}"
        raise
    finally:
        reloader.close()
        if service is not None:
            service.input_ended("stopping" if shutdown.signum else ended)
        source.close()
        watcher.close()  # before the outputs close: the last loss finding goes out with the rest
        out_stats = close_outputs(outputs)
        enr_stats: dict[str, int] = {}
        for enricher in enrichers:
            try:
                enricher.close()
                enr_stats.update({f"{enricher.name} {k}": v for k, v in (enricher.stats() or {}).items()})
            except Exception as exc:  # noqa: BLE001
                log.error(f"enricher {enricher.name} failed to close: {type(exc).__name__}: {exc}")
        log.info(summary_line(engine, source.stats(), out_stats, counter.errors, enr_stats, engine.group_stats(),
                              watcher.alerts))
        shutdown.__exit__(None, None, None)  # after the drain: a signal during it still gets the summary
    if service is not None and service.serve_health and not shutdown.signum and not getattr(source, "finite", False):
        # A live input (stdin, a FIFO, the kernel) that ends has died: say so to the orchestrator.
        return service.wait_for_stop(f"input {input_spec.name} ended")
    return shutdown.exit_code


def close_outputs(outputs: Sequence[Output]) -> dict[str, int]:
    """Close (drain) every output; their counters added up by name."""
    out_stats: dict[str, int] = {}
    for output in outputs:
        try:
            output.close()
        except Exception as exc:  # noqa: BLE001
            log.error(f"output failed to close: {type(exc).__name__}: {exc}")
        for key, value in (output.stats() or {}).items():
            out_stats[key] = out_stats.get(key, 0) + value
    return out_stats


#: Output counters of findings that did not reach their destination (webhook_failed, ...).
UNDELIVERED = ("_failed", "_dropped", "_unsent")


def summary_line(engine: Engine, in_stats: dict[str, int], out_stats: dict[str, int], errors: int,
                 enr_stats: dict[str, int] | None = None, group_stats: Mapping[str, int] | None = None,
                 loss_alerts: int = 0) -> str:
    """The end-of-run line. Input events add up: read = skipped + dropped + decoded (+ the ones
    read but not dispatched when a signal ended the run); lost events were never read."""
    s = engine.stats
    read = in_stats.get("read", s.events)
    parts = [f"{read} events read"]
    accounted = s.events
    for key in ("skipped", "dropped"):
        if key in in_stats:
            parts.append(f"{in_stats[key]} {key}")
            accounted += in_stats[key]
    parts.append(f"{s.events} decoded")
    if read > accounted:
        parts.append(f"{read - accounted} not dispatched (run stopped)")
    if "lost" in in_stats:
        parts.append(f"{in_stats['lost']} lost")
    for key, value in in_stats.items():  # an input's other counters (lost in the kernel, ...)
        if key not in ("read", "skipped", "dropped", "lost") and value:
            parts.append(f"{value} {key.replace('_', ' ')}")
    parts.append(f"{s.findings} finding(s)")
    if loss_alerts:
        parts.append(f"{loss_alerts} loss finding(s) (TRACEE-LOSS)")
    undelivered = sum(v for k, v in out_stats.items() if k.endswith(UNDELIVERED))
    if undelivered:
        parts.append(f"{undelivered} finding(s) not delivered")
    parts.append(f"{errors} error(s)")
    for key, value in (group_stats or {}).items():
        if value:
            parts.append(f"{value} {key.replace('_', ' ')}")  # rule workers: "2 rule worker restart(s)"
    for key, value in out_stats.items():
        parts.append(f"output {key} {value}")
    for key, value in (enr_stats or {}).items():
        parts.append(f"{key} {value}")  # "containers cache_hits 12"
    per_sig = " ".join(f"{sid}={n}" for sid, n in s.dispatched.items())
    line = "summary: " + ", ".join(parts) + (f"; per signature: {per_sig}" if per_sig else "")
    if s.signature_errors:
        line += "; signature errors: " + " ".join(f"{k}={v}" for k, v in s.signature_errors.items())
    return line


def plugin_table(host: PluginHost) -> list[PluginInfo]:
    return sorted([*host.plugins.values(), *host.failed], key=lambda p: (p.distribution, p.name))


def is_root() -> bool:
    return os.geteuid() == 0
