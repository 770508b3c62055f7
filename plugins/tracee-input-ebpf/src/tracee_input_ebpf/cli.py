"""`tracee-ebpf` (and `tracee trace`, the same command): Tracee v0.8.3's tracing command line.

    tracee-ebpf -t event=openat -t 'openat.pathname=/etc/*' -o format:table
    tracee-ebpf -o format:gob | tracee-rules --input-tracee file:stdin --input-tracee format:gob
    tracee-ebpf --output json --filter comm=bash --filter follow --output option:parse-arguments \\
        --filter event=$(tracee-rules --list-events) | tracee-rules --input-tracee format:json --input-tracee file:stdin

The flags are v0.8.3's (cmd/tracee-ebpf/main.go and flags/*.go there): --trace/-t (also
--filter, the seeds' name: one language, filters.py), --output/-o, --capture/-c, --cache/-a,
--containers/--crs, --perf-buffer-size/-b, --blob-perf-buffer-size, --install-path, --debug,
--metrics/--metrics-addr, and the operations flags of this project (--healthz, --listen-addr).
"""

from __future__ import annotations

import hashlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

import click

from tracee import Event

__all__ = ["CacheConfig", "OutputConfig", "main", "parse_cache", "parse_output", "tracee_ebpf_command"]

log = logging.getLogger("tracee.input.ebpf")

FORMATS = ("table", "table-verbose", "json", "gob")
OPTIONS = ("stack-addresses", "detect-syscall", "exec-env", "relative-time", "exec-hash", "parse-arguments",
           "parse-arguments-fds", "sort-events", "cache-events")
# Accepted options this input cannot honour yet: refused with one line, never silently ignored.
NOT_YET_OPTIONS = {"stack-addresses": "needs a BPF stack map in the kernel program (not there yet)"}

OUTPUT_HELP = """\
Control how and where output is printed (repeatable).
  [format:]table                      events as a table (the default)
  [format:]table-verbose              the table with more fields per event
  [format:]json                       one Tracee JSON object per line
  [format:]gob                        Go encoding/gob of trace.Event (for tracee-rules --input-tracee format:gob)
  [format:]gotemplate=/path/to/tmpl   each event through a Go template
  out-file:/path/to/file              write the events to this file (created or truncated; default stdout)
  err-file:/path/to/file              write the messages to this file (created or truncated; default stderr)
  none                                no events output
  option:{parse-arguments,parse-arguments-fds,exec-env,exec-hash,relative-time,sort-events,
          detect-syscall,cache-events,stack-addresses}
    parse-arguments       arguments as names (flags, modes, requests) rather than raw numbers
    parse-arguments-fds   parse-arguments (fd paths are not added here)
    exec-env              the environment of execve/execveat and sched_process_exec
    exec-hash             sched_process_exec gets the sha256 of the executed file
    relative-time         timestamps from boot rather than wall-clock time
    sort-events           events in time order (across CPUs, within each read)
    detect-syscall        (the events here come from syscalls already; accepted for Tracee's scripts)
    cache-events          the same as --cache cache-type=mem
    stack-addresses       not yet
Examples:
  --output json                                        | output as json
  --output gotemplate=/path/to/my.tmpl                 | output as the provided go template
  --output out-file:/my/out --output err-file:/my/err  | output to /my/out and errors to /my/err
  --output none                                        | ignore events output
"""

CACHE_HELP = """\
Event cache between the kernel buffers' reader and the output (repeatable).
  cache-type=mem           a memory queue: the reader keeps draining the kernel while the output is slow
  mem-cache-size=SIZE      its size in megabytes (default 512), at an estimated 1 KiB per event
Example: --cache cache-type=mem --cache mem-cache-size=1024
"""

CONTAINERS_HELP = """\
Container runtimes to read container and pod metadata from, with --containers (repeatable):
  docker:/var/run/docker.sock   containerd:/run/containerd/containerd.sock   none
Default: every socket found among Docker's, containerd's, k3s's and microk8s's.
"""


class OutputError(click.UsageError):
    """A bad --output value: one line, exit code 2."""


@dataclass
class OutputConfig:
    kind: str = "table"               # table, table-verbose, json, gob, gotemplate, none
    template: str | None = None
    out_path: str | None = None
    err_path: str | None = None
    options: set[str] = field(default_factory=set)

    @property
    def parse_arguments(self) -> bool:
        return self.kind in ("table", "table-verbose") or bool({"parse-arguments", "parse-arguments-fds"}
                                                                & self.options)


def parse_output(values: Sequence[str]) -> OutputConfig:
    """--output values as v0.8.3's PrepareOutput reads them; OutputError names the bad one."""
    out = OutputConfig()
    for value in values:
        key, sep, arg = value.partition(":")
        if not sep and key != "none":
            key, arg = "format", key
        if key == "none":
            out.kind = "none"
        elif key == "format":
            if arg in FORMATS:
                out.kind = arg
            elif arg.startswith("gotemplate="):
                out.kind, out.template = "gotemplate", arg[len("gotemplate="):]
                if not out.template:
                    raise OutputError("format:gotemplate= needs a template file: --output gotemplate=/path/to/tmpl")
            else:
                raise OutputError(f"unrecognized output format: {arg}. Valid format values: 'table', "
                                  "'table-verbose', 'json', 'gob' or 'gotemplate='. Use '--output help' for more info")
        elif key in ("out-file", "err-file"):
            if not arg:
                raise OutputError(f"--output {key}: needs a path ({key}:/path/to/file)")
            if Path(arg).is_dir():
                raise OutputError(f"--output {value}: cannot use a path of existing directory {arg}")
            setattr(out, "out_path" if key == "out-file" else "err_path", arg)
        elif key == "option":
            if arg not in OPTIONS:
                raise OutputError(f"invalid output option: {arg}, use '--output help' for more info")
            if arg in NOT_YET_OPTIONS:
                raise OutputError(f"--output option:{arg}: not yet: {NOT_YET_OPTIONS[arg]}")
            out.options.add(arg)
        else:
            raise OutputError(f"invalid output value: {value}, use '--output help' for more info")
    return out


@dataclass(frozen=True)
class CacheConfig:
    events: int  # the queue's capacity in events


def parse_cache(values: Sequence[str], *, cache_events: bool = False) -> CacheConfig | None:
    kind, size = ("mem" if cache_events else "none"), 512
    for value in values:
        key, sep, arg = value.partition("=")
        if key == "none" and not sep:
            kind = "none"
        elif key == "cache-type" and arg in ("mem", "none"):
            kind = arg
        elif key == "mem-cache-size":
            try:
                size = int(arg)
                if size <= 0:
                    raise ValueError
            except ValueError:
                raise click.UsageError(f"--cache {value}: the size must be a positive number of megabytes") from None
        else:
            raise click.UsageError(f"--cache {value}: unrecognized cache option (cache-type=mem, "
                                   "mem-cache-size=SIZE); use '--cache help' for more info")
    return CacheConfig(size * 1024) if kind == "mem" else None


# -- printers ----------------------------------------------------------------------------------------
class Printer:
    """Writes events in one --output format; `close` prints what the format prints at the end."""

    def __init__(self, config: OutputConfig, stream: IO[bytes], *, container_mode: bool) -> None:
        from . import formats

        self.config = config
        self.stream = stream
        self.container_mode = container_mode
        self.errors = 0
        kind = config.kind
        verbose = kind == "table-verbose"
        relative = "relative-time" in config.options
        self._render: Callable[[Event], bytes] | None
        if kind in ("table", "table-verbose"):
            self._render = lambda e: formats.table_row(e, verbose=verbose, container_mode=container_mode,
                                                       relative_time=relative).encode()
        elif kind == "json":
            self._render = lambda e: formats.json_line(e).encode()
        elif kind == "gob":
            from tracee.formats.gob import GobEncoder

            encoder = GobEncoder()
            self._render = encoder.encode
        elif kind == "gotemplate":
            try:
                template = formats.EventTemplate(config.template or "")
            except (formats.GoTemplateError, OSError) as exc:
                raise click.UsageError(f"--output gotemplate={config.template}: {exc}") from None
            self._render = lambda e: template.render(e).encode()
        else:
            self._render = None

    def preamble(self) -> None:
        from . import formats

        if self.config.kind in ("table", "table-verbose"):
            self.stream.write(formats.table_header(verbose=self.config.kind == "table-verbose",
                                                   container_mode=self.container_mode).encode())
            self.stream.flush()

    def write(self, events: Iterable[Event]) -> int:
        render = self._render
        if render is None:
            return 0
        chunks = []
        for event in events:
            try:
                chunks.append(render(event))
            except Exception as exc:  # noqa: BLE001 - one event that cannot be printed is counted, not fatal
                self.errors += 1
                from tracee.log import limit

                log.warning(f"output: event {event.event_name} not written: {exc}",
                            extra=limit("ebpf:output-error", None, every=5.0))
        if chunks:
            self.stream.write(b"".join(chunks))
            self.stream.flush()  # a reader at the other end of a pipe sees each batch at once
        return len(chunks)

    def epilogue(self, stats: dict[str, int]) -> None:
        from . import formats

        if self.config.kind in ("table", "table-verbose"):
            self.stream.write(formats.epilogue(stats).encode())
            self.stream.flush()


class ExecHasher:
    """-o option:exec-hash: the sha256 of the file a sched_process_exec executed, cached per file
    identity (device, inode, ctime)."""

    def __call__(self, event: Event) -> None:
        if event.event_name != "sched_process_exec":
            return
        key = (event.get_arg("dev"), event.get_arg("inode"), event.get_arg("ctime"))
        digest = self.cache.get(key)
        if digest is None:
            digest = self._hash(event)
            if digest:
                self.cache.put(key, digest)
        event.set_arg("sha256", digest or "", "const char*")

    def __init__(self, max_entries: int = 4096) -> None:
        from tracee.state import BoundedMap

        self.cache = BoundedMap(max_entries)
        try:
            self.own_mnt_ns = os.stat("/proc/self/ns/mnt").st_ino
        except OSError:
            self.own_mnt_ns = 0

    def _hash(self, event: Event) -> str:
        """Through the process while it lives; after it exited, the path itself when the process
        saw our mount namespace. The file's inode must be the one executed (not a replacement)."""
        pid = event.host_process_id
        path = event.get_arg("pathname")
        candidates = [f"/proc/{pid}/exe"]
        if isinstance(path, str) and path.startswith("/"):
            candidates.append(f"/proc/{pid}/root{path}")
            if event.mount_namespace == self.own_mnt_ns:
                candidates.append(path)
        inode = event.get_arg("inode")
        for candidate in candidates:
            try:
                with open(candidate, "rb") as f:
                    if isinstance(inode, int) and inode and os.fstat(f.fileno()).st_ino != inode:
                        continue
                    return hashlib.file_digest(f, "sha256").hexdigest()
            except OSError:
                continue
        return ""


# -- the command -------------------------------------------------------------------------------------
def _help_requested(values: Sequence[str]) -> bool:
    return len(values) == 1 and values[0] == "help"


def _list_events() -> str:
    """-l: the events this input produces, as v0.8.3 lists them (name, sets, arguments)."""
    from tracee.events import catalog

    from .program import SUPPORTED_EVENTS

    def group(title: str, events: list[Any]) -> list[str]:
        lines = [f"{title:<23}Sets:{'':36}Arguments:", f"{'____________':<23}{'____ ':<41}_________", ""]
        for e in events:
            sets = "[" + " ".join(e.sets) + "]"
            params = "(" + ", ".join(f"{a.type} {a.name}" for a in e.args) + ")"
            lines.append(f"{e.name:<22} {sets:<40} {params}")  # Tracee's columns, never run together
        return lines

    from .sources import unavailable_reason

    selectable = [e for e in catalog.EVENTS if not getattr(e, "internal", False)]
    produced = sorted((e for e in selectable if e.name in SUPPORTED_EVENTS), key=lambda e: e.id)
    syscalls = [e for e in produced if getattr(e, "syscall", False)]
    others = [e for e in produced if not getattr(e, "syscall", False)]
    missing = sorted(e.name for e in selectable if e.name not in SUPPORTED_EVENTS)
    lines = group("System Calls:", syscalls) + ["", ""] + group("Other Events:", others)
    if missing:  # what Tracee lists and this kernel cannot give, and why (--list-sources: how each is made)
        lines += ["", "", f"{'Not produced here:':<23}Why:", f"{'____________':<23}____", ""]
        lines += [f"{name:<22} {unavailable_reason(name)}" for name in missing]
    return "\n".join(lines)


def _legacy_filters(options: dict[str, Any]) -> list[str]:
    """This project's earlier `tracee trace` flags (--comm, --pid, --uid, --container, --follow;
    --events is _events_expressions), as --trace expressions, so old scripts keep working."""
    out: list[str] = [f"comm={c}" for c in options.pop("ebpf_comm", ()) or ()]
    out += [f"pid={p}" for p in options.pop("ebpf_pid", ()) or ()]
    out += [f"uid={u}" for u in options.pop("ebpf_uid", ()) or ()]
    container = options.pop("ebpf_container", None)
    if container:
        out.append("container" if container == "all" else f"container={container}")
    if options.pop("ebpf_follow", False):
        out.append("follow")
    return out


def _events_expressions(spec: str | None) -> list[str]:
    """--events a,b (names or sets) → event=/set= expressions."""
    from tracee.events import catalog

    if not spec:
        return []
    out = []
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        out.append(f"event={item}" if catalog.by_name(item) is not None or "*" in item else f"set={item}")
    return out


def tracee_ebpf_command(name: str = "tracee-ebpf") -> click.Command:
    from tracee.cli import add_service_options

    @click.command(name, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
    @click.version_option(None, "--version", "-v", package_name="tracee-input-ebpf", prog_name="tracee-ebpf",
                          message="%(prog)s version %(version)s")
    @click.option("--list", "-l", "list_only", is_flag=True, help="Just list the traceable events.")
    @click.option("--list-sources", "list_sources", is_flag=True,
                  help="List every selectable event with the kernel source it comes from here, or why it cannot.")
    @click.option("--trace", "-t", "--filter", "trace", multiple=True, metavar="EXPR",
                  help="Select events and processes to trace (repeatable; ANDed). Run '--trace help' for more info.")
    @click.option("--output", "-o", "output", multiple=True, metavar="VALUE",
                  help="How and where output is printed (repeatable). Run '--output help' for more info. "
                       "[default: format:table]")
    @click.option("--capture", "-c", "capture", multiple=True, metavar="VALUE",
                  help="Capture artifacts (written, executed files...): not yet.")
    @click.option("--cache", "-a", "cache", multiple=True, metavar="VALUE",
                  help="Event cache between reader and output. Run '--cache help' for more info. [default: none]")
    @click.option("--containers/--no-containers", "containers", default=None,
                  help="Enrich events with container and pod metadata from the container runtimes. "
                       "Default: on when tracee-enrich-containers is installed; --containers=false turns it off.")
    @click.option("--crs", "--cri", "cri", multiple=True, metavar="RUNTIME:SOCKET",
                  help="Container runtimes to connect to (with --containers). Run '--crs help' for more info.")
    @click.option("--perf-buffer-size", "-b", "perf_buffer_size", type=int, default=1024, show_default=True,
                  metavar="PAGES", help="Size, in pages, of the per-CPU perf buffer events come through "
                                        "(a power of two).")
    @click.option("--blob-perf-buffer-size", "blob_perf_buffer_size", type=int, default=1024, show_default=True,
                  metavar="PAGES", help="Size, in pages, of the buffer for blobs (captures; unused until "
                                        "capture exists).")
    @click.option("--install-path", "install_path", default="/tmp/tracee", show_default=True, metavar="DIR",
                  help="Where tracee.pid is written once tracing has begun (what Tracee's scripts wait for).")
    @click.option("--debug", "debug", is_flag=True, help="Debug messages on stderr.")
    # this project's earlier `tracee trace` flags, kept for its scripts
    @click.option("--events", "-e", "events_spec", metavar="LIST", hidden=True)
    @click.option("--comm", "ebpf_comm", multiple=True, hidden=True)
    @click.option("--pid", "ebpf_pid", multiple=True, type=int, hidden=True)
    @click.option("--uid", "ebpf_uid", multiple=True, type=int, hidden=True)
    @click.option("--container", "ebpf_container", is_flag=False, flag_value="all", default=None, hidden=True)
    @click.option("--follow", "ebpf_follow", is_flag=True, hidden=True)
    @click.option("--exec-env", "ebpf_exec_env", is_flag=True, hidden=True)
    @click.option("--ebpf-buffer-pages", "ebpf_buffer_pages", type=int, hidden=True)
    @click.option("--ebpf-hooks-interval", "hooks_interval", type=float, default=0.0, metavar="SECONDS",
                  help="Re-check the syscall table for hooked_syscalls this often (0: at start and on SIGUSR1).")
    def command(list_only: bool, trace: tuple[str, ...], output: tuple[str, ...], capture: tuple[str, ...],
                cache: tuple[str, ...], containers: bool | None, cri: tuple[str, ...], perf_buffer_size: int,
                blob_perf_buffer_size: int, install_path: str, debug: bool, **options: Any) -> None:
        """Trace OS events and syscalls using eBPF (Tracee's tracee-ebpf).

        \b
        tracee-ebpf -t event=openat -t 'openat.pathname=/etc/*'
        tracee-ebpf -t container=new -o format:json --containers
        tracee-ebpf -o format:gob -o option:parse-arguments -t event=$(tracee-rules --list-events) \\
            | tracee-rules --input-tracee file:stdin --input-tracee format:gob
        """
        from .filters import HELP, FilterError, parse

        if list_only:
            click.echo(_list_events())
            return
        if options.pop("list_sources", False):
            from .sources import listing

            click.echo("\n".join(listing()))
            return
        for values, text in ((trace, HELP), (output, OUTPUT_HELP), (cache, CACHE_HELP), (cri, CONTAINERS_HELP)):
            if _help_requested(values):
                click.echo(text, nl=False)
                return
        if capture:
            raise click.UsageError(f"--capture {capture[0]}: not yet: capturing artifacts is not implemented "
                                   "(trace without --capture)")
        out = parse_output(output)
        cache_config = parse_cache(cache, cache_events="cache-events" in out.options)
        flag = "--filter" if any(a == "--filter" or a.startswith("--filter=") for a in sys.argv) else "--trace"
        expressions = [*_events_expressions(options.pop("events_spec", None)), *_legacy_filters(options), *trace]
        try:
            spec = parse(expressions, flag=flag)
        except FilterError as exc:
            raise click.UsageError(f"{flag}: {exc}") from None
        pages = options.pop("ebpf_buffer_pages", None) or perf_buffer_size
        if pages <= 0 or pages & (pages - 1):
            raise click.UsageError(f"--perf-buffer-size {pages}: must be a power of two")
        if blob_perf_buffer_size <= 0:
            raise click.UsageError(f"--blob-perf-buffer-size {blob_perf_buffer_size}: must be positive")
        exec_env = "exec-env" in out.options or bool(options.pop("ebpf_exec_env", False))
        _run(spec, out, cache_config, containers=containers, cri=cri, pages=pages, install_path=install_path,
             debug=debug, exec_env=exec_env, options=options)

    # --log-format, --metrics, --healthz, --listen-addr (and Tracee's --metrics-addr for it)
    add_service_options(command, stuck_after=False, addr_aliases=("--metrics-addr",))
    return command


def _open_output(path: str | None) -> IO[bytes]:
    if path is None:
        return sys.stdout.buffer
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        return open(path, "wb")
    except OSError as exc:
        raise click.UsageError(f"--output out-file:{path}: failed to create output path: {exc.strerror}") from None


def _redirect_errors(path: str) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    except OSError as exc:
        raise click.UsageError(f"--output err-file:{path}: failed to create output path: {exc.strerror}") from None
    sys.stderr.flush()
    os.dup2(fd, 2)
    os.close(fd)


def _container_metadata(cri: Sequence[str]) -> tuple[Callable[[Event], None], Callable[[Event], None],
                                                       Callable[[], None]] | None:
    """The containers enricher of the installed plugins (tracee-enrich-containers), started: its
    enrich function, a function that waits (up to a second) for a life-cycle event's container
    to be known, and its close. None when no such enricher is installed."""
    from tracee import EnricherContext
    from tracee.cli import make_host

    host = make_host([])
    for _info, enricher in host.enrichers():
        if enricher.name != "containers":
            continue
        enricher.start(EnricherContext(options={"cri": cri}, log=logging.getLogger("tracee.enricher.containers")))
        owner = getattr(enricher.enrich, "__self__", None)

        def settle(event: Event) -> None:
            cache = getattr(owner, "cache", None)
            cid = event.get_arg("container_id")
            if cache is None or not isinstance(cid, str) or event.event_name == "container_remove":
                return
            if cid not in cache.known:
                cache.refresh(cid)
                deadline = time.monotonic() + 1.0
                while cid not in cache.known and time.monotonic() < deadline:
                    time.sleep(0.01)
        return enricher.enrich, settle, enricher.close
    return None


def _run(spec: Any, out: OutputConfig, cache_config: CacheConfig | None, *, containers: bool | None, cri: Sequence[str],
         pages: int, install_path: str, debug: bool, exec_env: bool, options: dict[str, Any]) -> None:
    from tracee import log as logs
    from tracee import server
    from tracee.errors import FatalError

    from .environment import SetupError
    from .lifecycle import LIFECYCLE
    from .selection import plan_filters
    from .source import EbpfSource, SourceOptions

    if out.err_path:
        _redirect_errors(out.err_path)
    logs.setup(level=logging.DEBUG if debug else logging.INFO)
    plan = plan_filters(spec, exec_env=exec_env)
    container_mode = bool(spec.container) or spec.new_container is True or spec.container_ids is not None
    stream = _open_output(out.out_path)
    printer = Printer(out, stream, container_mode=container_mode)  # a bad template: refused before anything
    if plan.missing:
        shown = sorted(plan.missing)
        log.warning(f"{len(shown)} selected event(s) are not produced by this input: "
                    f"{', '.join(shown[:12])}{' ...' if len(shown) > 12 else ''}")
    if not plan.events:
        raise click.UsageError("none of the selected events is produced by this input (see 'tracee-ebpf --list')")
    if cri and containers is False:
        log.warning("--crs/--cri has no effect with --containers=false (container metadata is off)")
    # Metadata by default when the enricher is installed, as `tracee run` finds it (Tracee
    # v0.8 needed --containers; its later releases enrich by default).
    enrich = _container_metadata(cri) if containers is not False else None
    if containers and enrich is None:
        log.warning("--containers: no container enricher is installed (pip install tracee-enrich-containers)")
    service = server.start(options, command="tracee trace")  # --metrics / --healthz
    try:
        settings: dict[str, Any] = dict(events=plan.events, filters=plan.kernel, buffer_pages=pages,
                                        hooks_interval=float(options.get("hooks_interval") or 0),
                                        user_filter=plan.user)
        if "parse_arguments" in SourceOptions.__dataclass_fields__:  # a decoder with a raw mode
            settings["parse_arguments"] = out.parse_arguments
        source = EbpfSource(SourceOptions(**settings))
    except (SetupError, RuntimeError) as exc:
        if service:
            service.close()
        if enrich:
            enrich[2]()
        raise FatalError(f"tracee-ebpf: {exc}") from None
    if service:
        service.watch_input("ebpf", source)
    hasher = ExecHasher() if "exec-hash" in out.options else None
    stopping = threading.Event()

    def stop(*_: Any) -> None:
        if stopping.is_set():
            raise KeyboardInterrupt
        stopping.set()
        source.close()
    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    where = f"; in the kernel: {', '.join(plan.in_kernel)}" if plan.in_kernel else ""
    log.info(f"tracing {len(plan.events)} event(s){where} (Ctrl-C to stop)")
    _write_pid(install_path)
    written = 0
    printer.preamble()
    try:
        for batch in _cached(source.batches(), cache_config, source):
            if enrich is not None:
                for event in batch:
                    if event.event_name in LIFECYCLE:
                        enrich[1](event)
                    enrich[0](event)
            if hasher is not None:
                for event in batch:
                    hasher(event)
            written += printer.write(batch)
    except BrokenPipeError:
        source.close()
        raise
    except KeyboardInterrupt:
        pass
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        stats = source.stats()
        try:
            printer.epilogue({"EventCount": written, "ErrorCount": printer.errors, "LostEvCount": stats["lost"]})
        except BrokenPipeError:
            pass
        log.info(f"summary: {source.lost_summary()}"
                 + (f", {printer.errors} not written (output errors)" if printer.errors else ""))
        if service:
            service.close()
        if enrich is not None:
            enrich[2]()
        if stream is not sys.stdout.buffer:
            stream.close()


def _write_pid(install_path: str) -> None:
    try:
        Path(install_path).mkdir(parents=True, exist_ok=True)
        (Path(install_path) / "tracee.pid").write_text(f"{os.getpid()}\n")
    except OSError as exc:
        log.warning(f"--install-path {install_path}: cannot write tracee.pid: {exc.strerror}")


def _cached(batches: Iterator[list[Event]], config: CacheConfig | None, source: Any) -> Iterator[list[Event]]:
    """--cache cache-type=mem: the reader runs in its own thread and queues up to `config.events`
    events for the output, so a consumer that stalls for a while (tracee-rules behind a pipe) does
    not stop it draining the kernel's buffers; when the queue is full the reader waits (the kernel
    then counts losses). Both threads share the interpreter lock: it absorbs bursts, it adds no
    throughput (bench_tracee_ebpf.py)."""
    if config is None:
        yield from batches
        return
    q: queue.Queue[list[Event] | None] = queue.Queue()
    room = threading.Semaphore(max(1, config.events // 64))  # in batches of up to 64 events (a wakeup)
    failure: list[BaseException] = []

    def read() -> None:
        try:
            for batch in batches:
                for start in range(0, len(batch), 64):
                    room.acquire()
                    q.put(batch[start:start + 64])
        except BaseException as exc:  # noqa: BLE001 - handed to the writer, which re-raises it
            failure.append(exc)
        finally:
            q.put(None)
    reader = threading.Thread(target=read, name="tracee-ebpf-reader", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = q.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is None:
                break
            room.release()
            yield item
    finally:
        source.close()
        reader.join(timeout=5)
    if failure:
        raise failure[0]


def main(argv: Sequence[str] | None = None) -> None:
    """The `tracee-ebpf` console script: user mistakes are one line and exit code 2, never a traceback."""
    from tracee import log as logs
    from tracee.cli import run_script

    argv = _go_bools(list(sys.argv[1:] if argv is None else argv))
    logs.setup()
    run_script(tracee_ebpf_command, argv, "tracee-ebpf",
               unknown_flag=lambda name: f"flag provided but not defined: {name} (see 'tracee-ebpf --help')")


_BOOL_FLAGS = ("--metrics", "--healthz", "--list", "--containers", "--debug")
_NEGATABLE = {"--containers": "--no-containers"}  # false must say so: their default may be on


def _go_bools(argv: list[str]) -> list[str]:
    """Go's flag parsing accepts `--flag=true|false` for booleans (Tracee's scripts use it)."""
    out = []
    for a in argv:
        flag, eq, value = a.partition("=")
        if eq and flag in _BOOL_FLAGS and value.lower() in ("true", "false", "1", "0"):
            if value.lower() in ("true", "1"):
                out.append(flag)
            elif flag in _NEGATABLE:
                out.append(_NEGATABLE[flag])
            continue
        out.append(a)
    return out
