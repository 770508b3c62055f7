"""The live input: loads the BPF program, reads its perf buffer in batches, yields tracee.Events."""

from __future__ import annotations

import ctypes as ct
import logging
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from tracee import Event
from tracee.events import catalog
from tracee.log import limit

from . import environment, layout
from .containers import ContainerTracker
from .decode import Decoder
from .filters import FilterSpec, Matcher
from .kernel_filter import Conditions, compile_conditions
from .lifecycle import LIFECYCLE, ContainerLifecycle
from .program import SUPPORTED_EVENTS, Filters, LoadedProgram, load
from .sources import unavailable_reason

__all__ = ["DEFAULT_PAGES", "EbpfSource", "SourceOptions", "options_from_mapping", "reads_environment"]

#: Perf buffer pages per CPU: Tracee's default (4 MiB with 4 KiB pages), for `tracee run` as for tracee-ebpf.
DEFAULT_PAGES = 1024


@dataclass
class SourceOptions:
    events: frozenset[str]
    filters: Filters
    buffer_pages: int = DEFAULT_PAGES
    wakeup_events: int = 64          # records per wakeup: batching, the Python side is the bottleneck
    poll_ms: int = 50                # also the longest a lone event waits before it is read
    hooks_interval: float = 0.0      # seconds between hooked_syscalls checks (0: start + SIGUSR1)
    include_self: bool = False       # tests trace their own process
    parse_arguments: bool = True     # arguments as Tracee's parse-arguments prints them (else raw)
    # What the kernel's maps cannot say (selection.plan_filters): checked on each decoded event.
    user_filter: FilterSpec | None = None


def _parse_events(spec: str | None) -> frozenset[str]:
    """`a,b` of event names or Tracee event sets (e.g. `fs`, `proc`, `lsm_hooks`); none: Tracee's
    default set (what tracee-ebpf traces when given no events)."""
    if not spec:
        return catalog.DEFAULT_SET & SUPPORTED_EVENTS
    names: set[str] = set()
    for item in (x.strip() for x in spec.split(",")):
        if not item:
            continue
        if item in SUPPORTED_EVENTS:
            names.add(item)
            continue
        members = set(catalog.names_in_set(item)) & SUPPORTED_EVENTS
        if members:
            names |= members
        elif catalog.by_name(item) is not None:
            raise ValueError(f"--events: {item} is not produced on this kernel: {unavailable_reason(item)}")
        else:
            raise ValueError(f"--events: unknown event or set {item!r}")
    return frozenset(names)


def reads_environment(events: frozenset[str]) -> bool:
    """Whether an event selected carries an exec's environment (execve/execveat `envp`,
    sched_process_exec `env`): the loaded rules then get it captured with no flag. A rule's reads
    are not declared (a Rego or CEL rule may read any argument), so selecting is reading."""
    return any(arg.name in ENV_ARGS for name in events if (e := catalog.by_name(name)) is not None
               for arg in e.args)


#: The argument names that hold an exec's environment in Tracee's events.
ENV_ARGS = frozenset({"envp", "env"})


def options_from_mapping(opts: Mapping[str, Any], events: frozenset[str],
                         conditions: Conditions | None = None) -> SourceOptions:
    """Build SourceOptions from the click options (param names `ebpf_*`); `conditions`, the
    loaded rules' selectors (InputContext.conditions), become the kernel's rule filter."""
    container = opts.get("ebpf_container")
    ids: tuple[str, ...] = ()
    if container and container != "all":
        ids = (str(container),)
    filters = Filters(
        pids=tuple(int(p) for p in opts.get("ebpf_pid") or ()),
        comms=tuple(opts.get("ebpf_comm") or ()),
        uids=tuple(int(u) for u in opts.get("ebpf_uid") or ()),
        container=bool(container),
        container_ids=ids,
        follow=bool(opts.get("ebpf_follow")),
        exec_env=reads_environment(events) if opts.get("ebpf_exec_env") is None else bool(opts["ebpf_exec_env"]),
        rules=compile_conditions(conditions, events),
    )
    pages = int(opts.get("ebpf_buffer_pages") or DEFAULT_PAGES)
    if pages <= 0 or pages & (pages - 1):
        raise ValueError(f"--ebpf-buffer-pages {pages}: must be a power of two")
    return SourceOptions(events=events, filters=filters, buffer_pages=pages,
                         hooks_interval=float(opts.get("ebpf_hooks_interval") or 0))


class EbpfSource:
    """An `Input`: events() yields until close(); stats() counts read/lost/dropped."""

    def __init__(self, options: SourceOptions, *, log: logging.Logger = logging.getLogger("tracee.input.ebpf")
                 ) -> None:
        self.options = options
        self.log = log
        self._closed = threading.Event()
        self._wake_hooks = threading.Event()
        bcc = environment.ensure_ready(log.info)
        self._bcc = bcc
        started = time.monotonic()
        self.program: LoadedProgram = load(bcc, options.events, options.filters,
                                           self_pid=0 if options.include_self else os.getpid())
        log.info(f"ebpf: {len(self.program.probes)} probe(s) attached for {len(options.events)} event(s) "
             f"in {time.monotonic() - started:.1f}s")
        self._report_rules(self.program.filters.rules)
        uts = self.program.bpf[b"uts_names"]

        def hostname(inum: int) -> str:
            try:
                return uts[ct.c_uint32(inum)].name.decode("utf-8", "replace")
            except KeyError:
                return os.uname().nodename
        self.containers = ContainerTracker(self.program.cgroup_root, self.program.host_mnt_ns,
                                           self.program.cgroup_path)
        self.decoder = Decoder(hostname=hostname, containers=self.containers,
                               container_ids=options.filters.container_ids,
                               parsed=options.parse_arguments)
        self.lifecycle = ContainerLifecycle(self.containers, options.events, drain=self._drain_cgroups)
        self.matcher = None if options.user_filter is None else Matcher(
            options.user_filter, existing_containers=self.lifecycle.existing, proc_root="/proc")
        self.filtered_user = 0   # events the user-space filters dropped
        self.read = 0
        self.yielded = 0
        self.lost_per_cpu: dict[int, int] = {}
        self._pending: list[bytes] = []
        self._hooks = None
        self._opened = False
        self._open_buffers()  # before anyone is told we are ready: no record finds the buffer closed

    # -- reading --------------------------------------------------------------------------------------
    def _open_buffers(self) -> None:
        if self._opened:
            return
        self._opened = True
        pending = self._pending
        string_at = ct.string_at
        append = pending.append

        def on_record(cpu: int, data: Any, size: int) -> None:
            append(string_at(data, size))

        table = self.program.bpf[b"events"]
        for cpu in self._bcc.utils.get_online_cpus():
            def on_lost(count: int, cpu: int = cpu) -> None:
                self.lost_per_cpu[cpu] = self.lost_per_cpu.get(cpu, 0) + count
            table._open_perf_buffer(cpu, on_record, self.options.buffer_pages, on_lost,
                                    self.options.wakeup_events)
        self.program.set_ready()

    def batches(self) -> Iterator[list[Event]]:
        """Lists of events, one per read of the buffers (the `tracee trace` command flushes after each)."""
        self._open_buffers()
        bpf = self.program.bpf
        pending = self._pending
        decode = self.decoder.decode
        previous_usr1 = None
        if "hooked_syscalls" in self.options.events:
            first = self._check_hooks()
            if first is not None:
                self.read += 1
                yield [first]
            if threading.current_thread() is threading.main_thread():
                previous_usr1 = signal.signal(signal.SIGUSR1, lambda *_: self._wake_hooks.set())
        if "init_namespaces" in self.options.events:
            self.read += 1
            yield [self._init_namespaces()]
        next_hooks = time.monotonic() + self.options.hooks_interval if self.options.hooks_interval else None
        poll_ms = self.options.poll_ms
        lifecycle = self.lifecycle if self.lifecycle.wanted else None
        matches = self.matcher.matches if self.matcher is not None else None
        from .selection import header_filter

        precheck = header_filter(self.options.user_filter)
        exec_id = self.decoder.exec_id
        if lifecycle is not None:
            first = self._filtered(lifecycle.start_events(), matches)
            if first:
                yield first
        try:
            while True:
                # After close(), one last pass reads what the rings still hold: a backlog (the
                # output slower than the kernel) is written, not dropped unseen at the stop.
                closing = self._closed.is_set()
                if not closing:
                    bpf.perf_buffer_poll(timeout=poll_ms)
                # Rings below their wakeup threshold are not signalled: read them anyway, so a
                # lone event (a ptrace call) waits at most one poll interval.
                bpf.perf_buffer_consume()
                if pending:
                    raw = pending[:]
                    del pending[:]
                    # Each CPU has its own buffer: put the batch back in time order (the header's
                    # first u64), so a container's exec, which marks it started, is decoded before
                    # that container's later events recorded on another CPU.
                    raw.sort(key=_timestamp)
                    self.read += len(raw)
                    out = []
                    if precheck is not None:  # scope filters of the header: before decoding
                        kept = [r for r in raw if precheck(r) or _event_id(r) == exec_id]
                        self.filtered_user += len(raw) - len(kept)
                        raw = kept
                    for record in raw:
                        event = decode(record)
                        if event is not None:
                            out.append(event)
                    if matches is not None:
                        out = self._filtered(out, matches)
                    if out:
                        self.yielded += len(out)
                        yield out
                if closing:
                    break
                if lifecycle is not None:
                    changed = self._filtered(lifecycle.poll(), matches)
                    if changed:
                        self.yielded += len(changed)
                        yield changed
                if self.lost_per_cpu:
                    self._report_lost()
                if next_hooks is not None and time.monotonic() >= next_hooks:
                    next_hooks = time.monotonic() + self.options.hooks_interval
                    self._wake_hooks.set()
                if self._wake_hooks.is_set():
                    self._wake_hooks.clear()
                    event = self._check_hooks()
                    if event is not None:
                        self.read += 1
                        yield [event]
        finally:
            if previous_usr1 is not None:
                signal.signal(signal.SIGUSR1, previous_usr1)
            self.program.close()

    def _report_rules(self, rules: Any) -> None:
        for note in rules.notes:
            self.log.info(f"ebpf: {note}")
        if rules.describe():
            self.log.info(f"ebpf: in the kernel, what no loaded rule can match is dropped: {'; '.join(rules.describe())}")

    def update_conditions(self, conditions: Conditions | None) -> None:
        """A reload changed the rules: the kernel filter follows them (tracee.api.Input)."""
        rules = compile_conditions(conditions, self.options.events)
        self.program.set_rules(rules)
        self._report_rules(rules)

    def _filtered(self, events: list[Event], matches: Any) -> list[Event]:
        if matches is None:
            return events
        kept = [e for e in events if matches(e)]
        self.filtered_user += len(events) - len(kept)
        return kept

    def _drain_cgroups(self) -> list[tuple[int, str]]:
        """The cgroups the kernel saw made (id, path), taken out of its map (the tracker keeps them)."""
        try:
            table = self.program.bpf[b"cgroup_paths"]
            items = [(int(k.value), bytes(v.p).split(b"\0", 1)[0].decode("utf-8", "replace"))
                     for k, v in table.items()]
        except (KeyError, AttributeError):
            return []
        for cgroup_id, _ in items:
            try:
                del table[ct.c_uint64(cgroup_id)]
            except KeyError:
                pass
        return [(i, p if p.startswith("/") else p[p.find("/"):] if "/" in p else "") for i, p in items]

    def events(self) -> Iterator[Event]:
        for batch in self.batches():
            yield from batch

    def close(self) -> None:
        """Safe from a signal handler: events() returns within one poll interval."""
        self._closed.set()

    # -- counters ---------------------------------------------------------------------------------------
    @property
    def lost(self) -> int:
        return sum(self.lost_per_cpu.values())

    @property
    def events_read(self) -> int:
        """Event records read (the collector's own bookkeeping records are not events)."""
        return self.read - self.decoder.internal

    def stats(self) -> dict[str, int]:
        # read = skipped (container filter) + decoded; dropped/lost never reached the reader
        return {"read": self.events_read, "skipped": self.decoder.filtered + self.filtered_user,
                "skipped_in_kernel": self.program.filtered(), "lost": self.lost,
                "dropped_in_kernel": self.program.drops(), "dropped": self.decoder.malformed,
                "lost_unpaired_syscall": self.program.unpaired()}

    def metrics(self) -> Iterator[Any]:
        """/metrics (read on the server's thread): loss per CPU buffer, and Tracee's names."""
        from tracee.metrics import Metric

        for cpu, n in sorted(dict(self.lost_per_cpu).items()):
            yield Metric("tracee_ebpf_buffer_lost_events_total", n, labels={"cpu": str(cpu)},
                         help="Events lost because a CPU's perf buffer was full, per CPU")
        yield Metric("tracee_ebpf_lostevents_total", self.lost, help="Tracee's name: events lost in the submission buffer")
        yield Metric("tracee_ebpf_events_total", self.events_read, help="Tracee's name: events collected")
        yield Metric("tracee_ebpf_events_filtered", self.decoder.filtered + self.filtered_user, "gauge",
                     help="Tracee's name (a counter there): events filtered in user space")
        yield Metric("tracee_ebpf_truncated_total", self.decoder.truncated, help="Events with an argument cut short")
        yield Metric("tracee_ebpf_unpaired_syscalls_total", self.program.unpaired(),
                     help="Exits of wanted syscalls whose entry was not seen (started before, or evicted)")
        yield Metric("tracee_ebpf_malformed_records_total", self.decoder.malformed,
                     help="Kernel records too short or inconsistent for their layout (skipped)")

    def _report_lost(self) -> None:
        per_cpu = ", ".join(f"cpu{c}={n}" for c, n in sorted(self.lost_per_cpu.items()))
        self.log.warning(f"lost {self.lost} event(s) so far (perf buffer full: {per_cpu}); "
                         "filter more (--comm/--pid/--container) or raise --ebpf-buffer-pages",
                         extra=limit(f"ebpf:lost:{id(self)}", None, every=5.0))

    def lost_summary(self) -> str:
        per_cpu = " ".join(f"cpu{c}={n}" for c, n in sorted(self.lost_per_cpu.items())) or "none"
        return (f"{self.events_read} events read, {self.decoder.filtered + self.filtered_user} skipped, "
                f"{self.yielded} written, "
                f"{self.lost} lost "
                f"(per buffer: {per_cpu}), {self.program.drops()} dropped in kernel, "
                f"{self.decoder.truncated} truncated, {self.decoder.malformed} malformed, "
                f"{self.program.unpaired()} syscall exits without their entry")

    # -- hooked_syscalls ----------------------------------------------------------------------------
    def _check_hooks(self) -> Event | None:
        from .hooks import HookCheckError, SyscallTableChecker

        try:
            if self._hooks is None:
                self._hooks = SyscallTableChecker(self.program.bpf)
            hooked = self._hooks.check()
        except (HookCheckError, OSError) as exc:
            self.log.warning(f"hooked_syscalls: check skipped: {exc}")
            return None
        return self._self_event("hooked_syscalls", [{"name": "hooked_syscalls",
                                                     "type": "[]trace.HookedSymbolData", "value": hooked}])

    def _init_namespaces(self) -> Event:
        """init_namespaces: pid 1's namespace inodes (ours where pid 1's are not readable, as
        host_ns does; 0 where the kernel has no such namespace)."""
        definition = catalog.by_name("init_namespaces")
        assert definition is not None
        args = []
        for arg in definition.args:
            inum = 0
            for pid in ("1", "self"):
                try:
                    inum = os.stat(f"/proc/{pid}/ns/{arg.name}").st_ino
                    break
                except OSError:
                    continue
            args.append({"name": arg.name, "type": arg.type, "value": inum})
        return self._self_event("init_namespaces", args)

    def _self_event(self, name: str, args: list[dict]) -> Event:
        """A user-space event, in this process's context (as Tracee emits its own derived events)."""
        definition = catalog.by_name(name)
        pid = os.getpid()
        stat = os.stat
        return Event(name, args, timestamp=time.time_ns(), process_id=pid, thread_id=threading.get_native_id(),
                     host_process_id=pid, host_thread_id=threading.get_native_id(),
                     parent_process_id=os.getppid(), host_parent_process_id=os.getppid(),
                     user_id=os.getuid(), mount_namespace=stat("/proc/self/ns/mnt").st_ino,
                     pid_namespace=stat("/proc/self/ns/pid").st_ino,
                     process_name=_own_comm(), host_name=os.uname().nodename,
                     event_id=definition.id if definition else 0)


def _timestamp(record: bytes) -> int:
    return int.from_bytes(record[:8], "little")


_EVENT_ID_AT = layout.field_offset("event_id")


def _event_id(record: bytes) -> int:
    return int.from_bytes(record[_EVENT_ID_AT:_EVENT_ID_AT + 4], "little")


def _own_comm() -> str:
    try:
        with open("/proc/self/comm") as f:
            return f.read().strip()
    except OSError:
        return os.path.basename(sys.argv[0])[:15]
