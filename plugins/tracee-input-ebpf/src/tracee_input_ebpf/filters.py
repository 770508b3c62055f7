"""tracee-ebpf's --trace/--filter language (v0.8.3): expressions to a typed spec, and the reference
evaluator of a spec over events in user space.

    spec = parse(["event=openat", "openat.pathname=/etc/*", "uid!=0", "comm=bash", "follow"])
    matcher = Matcher(spec)
    matcher.matches(event)  # -> bool

`FilterSpec` is what a kernel filter compiler consumes: scope filters (uid, pid, mntns, pidns,
uts, comm, container, tree, new pids and containers, follow) that can live in BPF maps, the
events to trace, and argument and return value filters that may have to stay in user space.
`Matcher` evaluates all of it with Tracee's semantics; it keeps the state `follow`, `tree`,
`pid=new` and `container=new` need, so it should see every event, selected or not.

Importable without BCC: it needs only the event catalog.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from tracee.events import catalog
from tracee.events.decoders import syscall_name
from tracee.state import BoundedMap

__all__ = ["HELP", "ArgFilter", "FilterError", "FilterSpec", "Matcher", "NumericFilter", "ProcessTreeFilter",
           "StringFilter", "parse", "proc_parent"]

HELP_HINT = "use '{flag} help' for more info"

HELP = """\
Filter expressions choose the events to trace and the processes to trace them from. Every
expression must hold (they are ANDed); the values of one '=' expression are ORed.

  numbers   uid, pid, mntns, pidns       = != < > <= >=   uid>0  pid=510,1709  'pid<1000'
  text      comm, uts                    = !=             comm=bash  uts!=ab356bc4dd554
  events    event (e), set (s)           = (event: !=)    event=open*  s=fs  e!=open,openat
  container container (c), !container                    only containers / only the host
            container=ID[,ID], container!=ID              by id, short ids allowed
            container=new, container!=new                 containers started after tracing began
  processes pid=new, pid!=new                             processes started after tracing began
            tree=PID[,PID], tree!=PID                     a process and its descendants
            follow                                        also the descendants of matching processes
  arguments EVENT.ARG=VALUE, EVENT.ARG!=VALUE             openat.pathname=/etc/*  close.fd=5
  return    EVENT.retval with = != < >                    'openat.retval<0'
  network   net=IFACE[,IFACE]                             interfaces for network events

Text values may end with '*' (prefix), start with '*' (suffix) or both (contains). Without
event= or set=, the default set is traced. Quote expressions holding < or > in the shell.
"""
COMM_MAX = 15  # TASK_COMM_LEN - 1: the kernel never reports a longer comm
U32, U64, I64 = (1 << 32) - 1, (1 << 64) - 1, 1 << 63


class FilterError(ValueError):
    """A bad filter expression; the message is one line, worded as Tracee words it."""


# -- the spec ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class NumericFilter:
    """`=`, `!=`, `<`, `>` (and `<=`, `>=`) over an integer, with Tracee's semantics: a value in
    `not_equal` never matches and one in `equal` always does; when only `=` values were given
    nothing else matches; otherwise a value matches when it is above `greater` and below `less`
    (several `>` or `<` are ANDed: the tightest bound is kept)."""

    equal: frozenset[int] = frozenset()
    not_equal: frozenset[int] = frozenset()
    greater: int | None = None  # matches values > greater
    less: int | None = None     # matches values < less

    @property
    def only_equal(self) -> bool:
        return bool(self.equal) and not self.not_equal and self.greater is None and self.less is None

    def matches(self, value: int) -> bool:
        if value in self.not_equal:
            return False
        if value in self.equal:
            return True
        if self.only_equal:
            return False
        return (self.greater is None or value > self.greater) and (self.less is None or value < self.less)


@dataclass(frozen=True)
class StringFilter:
    """`=` and `!=` over text, `*` at the end (prefix), start (suffix) or both (contains). Tracee's
    semantics: a positive match wins; then a negative one loses; then a value matches only when
    some negative was given (`comm!=ls` lets everything else through, `comm=bash` does not)."""

    equal: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    not_equal: frozenset[str] = frozenset()
    not_prefixes: tuple[str, ...] = ()
    not_suffixes: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()

    @property
    def has_negative(self) -> bool:
        return bool(self.not_equal or self.not_prefixes or self.not_suffixes or self.not_contains)

    @property
    def exact_only(self) -> bool:
        """Only whole values (`=`/`!=`, no wildcards): what a BPF hash map can hold."""
        return not (self.prefixes or self.suffixes or self.contains or self.not_prefixes
                    or self.not_suffixes or self.not_contains)

    def matches(self, value: str) -> bool:
        if value in self.equal or _wild(value, self.prefixes, self.suffixes, self.contains):
            return True
        if not self.has_negative:
            return False
        return value not in self.not_equal and not _wild(value, self.not_prefixes, self.not_suffixes,
                                                         self.not_contains)


def _wild(value: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...], contains: tuple[str, ...]) -> bool:
    return bool((prefixes and value.startswith(prefixes)) or (suffixes and value.endswith(suffixes))
                or any(c in value for c in contains))


@dataclass(frozen=True)
class ContainerIdFilter:
    """`container=ID[,ID]` / `container!=ID`: IDs may be short (a prefix of the 64-hex id), as Tracee resolves them."""

    ids: tuple[str, ...] = ()
    not_ids: tuple[str, ...] = ()

    def matches(self, container_id: str) -> bool:
        if self.not_ids and container_id and container_id.startswith(self.not_ids):
            return False
        if self.ids:
            return bool(container_id) and container_id.startswith(self.ids)
        return True


@dataclass(frozen=True)
class ProcessTreeFilter:
    """`tree=PID` / `tree!=PID`: a process and its descendants are traced (True) or not (False).
    A process under none of the given pids is traced only when some `!=` was given."""

    pids: Mapping[int, bool] = field(default_factory=dict)

    @property
    def default(self) -> bool:
        return not all(self.pids.values())


@dataclass(frozen=True)
class ArgFilter:
    """`EVENT.ARG=value` (or `EVENT.args.ARG`): Tracee compares the value's text (Go's %v)."""

    event: str
    arg: str
    filter: StringFilter


@dataclass(frozen=True)
class FilterSpec:
    """Everything a list of --trace/--filter expressions says, resolved against the event catalog."""

    events: frozenset[str]                 # the events to trace (Tracee's default set if none chosen)
    uid: NumericFilter | None = None
    pid: NumericFilter | None = None       # host pid
    mntns: NumericFilter | None = None
    pidns: NumericFilter | None = None
    uts: StringFilter | None = None        # the UTS name (hostName)
    comm: StringFilter | None = None
    container: bool | None = None          # True: containers only; False: the host only
    container_ids: ContainerIdFilter | None = None
    new_container: bool | None = None      # True: containers started after tracing began
    new_pid: bool | None = None            # True: processes started after tracing began
    tree: ProcessTreeFilter | None = None
    follow: bool = False                   # also trace the descendants of matching processes
    args: tuple[ArgFilter, ...] = ()
    retvals: Mapping[str, NumericFilter] = field(default_factory=dict)
    net: tuple[str, ...] = ()              # interfaces for network events
    expressions: tuple[str, ...] = ()

    @property
    def has_scope(self) -> bool:
        """Whether any process/container filter is set (follow applies to those)."""
        return any(f is not None for f in (self.uid, self.pid, self.mntns, self.pidns, self.uts, self.comm,
                                           self.container, self.container_ids, self.new_container,
                                           self.new_pid, self.tree))

    def args_for(self, event_name: str) -> tuple[ArgFilter, ...]:
        return tuple(f for f in self.args if f.event == event_name)


# -- parsing -----------------------------------------------------------------------------------------
class _Numeric:
    def __init__(self, bits: int, signed: bool = False) -> None:
        self.equal: set[int] = set()
        self.not_equal: set[int] = set()
        self.greater: int | None = None
        self.less: int | None = None
        self.bits, self.signed = bits, signed

    def add(self, ops: str, expr: str) -> None:
        op = ops[:2] if ops[:2] in ("!=", ">=", "<=") else ops[:1]
        values = ops[len(op):]
        if not values:
            raise FilterError(f"invalid filter expression: {expr}")
        if op not in ("=", "!=", ">", "<", ">=", "<="):
            raise FilterError(f"invalid filter operator: {op}")
        for text in values.split(","):
            value = _integer(text, self.bits, self.signed)
            if op == "=":
                self.equal.add(value)
            elif op == "!=":
                self.not_equal.add(value)
            elif op in (">", ">="):
                bound = value if op == ">" else value - 1
                self.greater = bound if self.greater is None else max(self.greater, bound)
            elif op in ("<", "<="):
                bound = value if op == "<" else value + 1
                self.less = bound if self.less is None else min(self.less, bound)

    def build(self) -> NumericFilter:
        return NumericFilter(frozenset(self.equal), frozenset(self.not_equal), self.greater, self.less)


def _integer(text: str, bits: int, signed: bool) -> int:
    try:
        value = int(text, 10)
    except ValueError:
        raise FilterError(f"invalid filter value {text}") from None
    if text.strip() != text or text.startswith("+") or (not signed and value < 0):
        raise FilterError(f"invalid filter value {text}")
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if not low <= value <= high:
        raise FilterError(f"invalid filter value {text}")
    return value


class _Strings:
    def __init__(self, max_length: int | None = None) -> None:
        self.parts: dict[str, list[str]] = {k: [] for k in ("equal", "prefixes", "suffixes", "contains",
                                                            "not_equal", "not_prefixes", "not_suffixes",
                                                            "not_contains")}
        self.max_length = max_length

    def add(self, ops: str, expr: str) -> None:
        op = "!=" if ops.startswith("!=") else ops[:1]
        if op and op not in ("=", "!="):
            raise FilterError(f"failed to add filter: unsupported operator {op}")
        values = ops[len(op):]
        if not values:
            raise FilterError(f"invalid filter expression: {expr}")
        neg = "not_" if op == "!=" else ""
        for value in values.split(","):
            if value in ("", "*", "**"):
                raise FilterError(f"invalid filter value {value}")
            starts, ends = value.startswith("*"), value.endswith("*")
            core = value[1 if starts else 0:len(value) - 1 if ends else len(value)]
            if self.max_length is not None and len(core) > self.max_length:
                raise FilterError(f"invalid filter value {value} exceeds max length {self.max_length}")
            kind = "contains" if starts and ends else "suffixes" if starts else "prefixes" if ends else None
            self.parts[neg + (kind or "equal")].append(core)

    @property
    def values(self) -> list[str]:
        return self.parts["equal"] + [p + "*" for p in self.parts["prefixes"]] + \
            ["*" + s for s in self.parts["suffixes"]] + ["*" + c + "*" for c in self.parts["contains"]]

    @property
    def not_values(self) -> list[str]:
        return self.parts["not_equal"] + [p + "*" for p in self.parts["not_prefixes"]] + \
            ["*" + s for s in self.parts["not_suffixes"]] + ["*" + c + "*" for c in self.parts["not_contains"]]

    def build(self) -> StringFilter:
        p = self.parts
        return StringFilter(frozenset(p["equal"]), tuple(p["prefixes"]), tuple(p["suffixes"]), tuple(p["contains"]),
                            frozenset(p["not_equal"]), tuple(p["not_prefixes"]), tuple(p["not_suffixes"]),
                            tuple(p["not_contains"]))


def _is_prefix(short: str, name: str) -> bool:
    """Tracee lets the common filters be abbreviated: `p` is pid, `e` is event, `c` is container."""
    return bool(short) and name.startswith(short)


def _user_events() -> dict[str, Any]:
    return {e.name: e for e in catalog.EVENTS if not getattr(e, "internal", False)}


def _matching(pattern: str, names: Iterable[str]) -> list[str]:
    starts, ends = pattern.startswith("*") and len(pattern) > 1, pattern.endswith("*")
    core = pattern[1 if starts else 0:len(pattern) - 1 if ends else len(pattern)]
    if starts and ends:
        return [n for n in names if core in n]
    if ends:
        return [n for n in names if n.startswith(core)]
    if starts:
        return [n for n in names if n.endswith(core)]
    return [n for n in names if n == pattern]


def parse(expressions: Iterable[str], *, flag: str = "--filter") -> FilterSpec:
    """The spec of tracee-ebpf expressions (each flag's value); FilterError names the first bad one.
    `flag` is the option the user typed (`--trace`/`-t` or `--filter`), for the error hint."""
    expressions = tuple(expressions)
    events = _user_events()
    numeric = {"uid": _Numeric(32), "pid": _Numeric(32), "mntns": _Numeric(64), "pidns": _Numeric(64)}
    strings = {"comm": _Strings(COMM_MAX), "uts": _Strings(), "event": _Strings(), "set": _Strings()}
    used: set[str] = set()
    container: set[bool] = set()
    container_ids: tuple[list[str], list[str]] = ([], [])
    new_container: bool | None = None
    new_pid: bool | None = None
    tree: dict[int, bool] = {}
    follow = False
    args: dict[tuple[str, str], _Strings] = {}
    retvals: dict[str, _Numeric] = {}
    net: list[str] = []

    for expr in expressions:
        at = min((i for i in (expr.find(c) for c in "=!<>") if i >= 0), default=-1)
        name, ops = (expr[:at], expr[at:]) if at > 0 else (expr, "")
        if len(ops) == 1 or ops in ("!=", "<=", ">="):
            raise FilterError(f"invalid filter expression: {expr}")
        if ".retval" in expr:
            event = name[:-len(".retval")] if name.endswith(".retval") else ""
            if event not in events:
                raise FilterError(f"invalid retval filter event name: {event or name}")
            retvals.setdefault(event, _Numeric(64, signed=True)).add(ops, expr)
        elif "." in expr:
            parts = name.split(".")
            if len(parts) == 3 and parts[1] == "args":
                parts = [parts[0], parts[2]]
            if len(parts) != 2 or not all(parts) or not ops:
                raise FilterError(f"invalid filter expression: {expr}")
            event, arg = parts
            if event not in events:
                raise FilterError(f"invalid event name in filter: {event}")
            if arg not in {a.name for a in events[event].args}:
                raise FilterError(f"invalid filter event argument: {arg}")
            parser = args.setdefault((event, arg), _Strings())
            parser.add(ops, expr)
            if arg == "syscall":
                for value in parser.values + parser.not_values:
                    if "*" not in value and value not in events:
                        raise FilterError(f"invalid filter value {value}")
        elif name == "comm":
            strings["comm"].add(ops, expr)
            used.add("comm")
        elif expr and ("container".startswith(expr) or ("!container".startswith(expr) and len(expr) > 1)):
            container.add(not expr.startswith("!"))
        elif _is_prefix(name, "container"):
            if ops == "=new":
                new_container = True
            elif ops == "!=new":
                container.add(True)
                new_container = False
            else:
                ids = _Strings()
                ids.add(ops, expr)
                if ids.parts["suffixes"] or ids.parts["contains"] or ids.parts["not_suffixes"] or \
                        ids.parts["not_contains"]:
                    raise FilterError(f"invalid filter value {ops.lstrip('!=')} (container ids match by prefix)")
                container_ids[0].extend(ids.parts["equal"] + ids.parts["prefixes"])
                container_ids[1].extend(ids.parts["not_equal"] + ids.parts["not_prefixes"])
        elif _is_prefix(name, "event"):
            strings["event"].add(ops, expr)
            used.add("event")
        elif name.startswith("net"):
            values = ops[1:] if ops.startswith("=") else ""
            if not values or any(not v for v in values.split(",")):
                raise FilterError(f"invalid filter expression: {expr}")
            net.extend(values.split(","))
        elif name in ("mntns", "pidns"):
            numeric[name].add(ops, expr)
            used.add(name)
        elif name == "tree":
            if ops.startswith("="):
                traced, values = True, ops[1:]
            elif ops.startswith("!="):
                traced, values = False, ops[2:]
            else:
                raise FilterError(f"invalid filter expression: {ops}")
            if not values:
                raise FilterError("no value passed with operator in process tree filter")
            for text in values.split(","):
                try:
                    tree[_integer(text, 32, False)] = traced
                except FilterError:
                    raise FilterError(f"invalid PID given to filter: {values}") from None
        elif _is_prefix(name, "pid"):
            if ops == "=new":
                new_pid = True
            elif ops == "!=new":
                new_pid = False
            else:
                numeric["pid"].add(ops, expr)
                used.add("pid")
        elif _is_prefix(name, "set"):
            if ops.startswith("!"):
                raise FilterError(f"invalid filter expression: {expr} (sets are chosen with '=')")
            strings["set"].add(ops, expr)
        elif name == "uts":
            strings["uts"].add(ops, expr)
            used.add("uts")
        elif _is_prefix(name, "uid"):
            numeric["uid"].add(ops, expr)
            used.add("uid")
        elif _is_prefix(expr, "follow"):
            follow = True
        else:
            raise FilterError(f"invalid filter option specified ({expr}), {HELP_HINT.format(flag=flag)}")

    return FilterSpec(
        events=_events_to_trace(strings["event"], strings["set"], events),
        **{k: numeric[k].build() if k in used else None for k in numeric},  # type: ignore[arg-type]
        uts=strings["uts"].build() if "uts" in used else None,
        comm=strings["comm"].build() if "comm" in used else None,
        container=next(iter(container)) if len(container) == 1 else None,
        container_ids=ContainerIdFilter(tuple(container_ids[0]), tuple(container_ids[1]))
        if container_ids[0] or container_ids[1] else None,
        new_container=new_container, new_pid=new_pid,
        tree=ProcessTreeFilter(tree) if tree else None, follow=follow,
        args=tuple(ArgFilter(e, a, p.build()) for (e, a), p in args.items()),
        retvals={e: p.build() for e, p in retvals.items()}, net=tuple(net), expressions=expressions)


def _events_to_trace(chosen: _Strings, sets: _Strings, events: Mapping[str, Any]) -> frozenset[str]:
    """Tracee's rule: the events named, plus the events of the sets named (the default set when
    neither is given) minus the excluded ones; an exclusion never removes an event named."""
    names = sorted(events)
    excluded: set[str] = set()
    for pattern in chosen.not_values:
        found = _matching(pattern, names)
        if not found:
            raise FilterError(f"invalid event to exclude: {pattern}")
        excluded.update(found)
    out: set[str] = set()
    for pattern in chosen.values:
        found = _matching(pattern, names)
        if not found:
            raise FilterError(f"invalid event to trace: {pattern}")
        out.update(found)
    set_names = sets.values or ([] if chosen.values else ["default"])
    known_sets = {s for e in events.values() for s in e.sets}
    for set_name in set_names:
        if set_name not in known_sets:
            raise FilterError(f"invalid set to trace: {set_name}")
        out.update(n for n in events if set_name in events[n].sets and n not in excluded)
    return frozenset(out)


# -- evaluating --------------------------------------------------------------------------------------
def proc_parent(pid: int, root: str = "/proc") -> int | None:
    """The parent pid of `pid` from `<root>/<pid>/stat`, or None."""
    try:
        with open(os.path.join(root, str(pid), "stat"), "rb") as f:
            stat = f.read(4096)
    except OSError:
        return None
    # the command is in parentheses and may hold spaces and ')': the fields follow the last ')'
    fields = stat[stat.rfind(b")") + 2:].split()
    try:
        return int(fields[1])
    except (IndexError, ValueError):
        return None


def _text(value: Any) -> str:
    """A value as Go's %v prints it, which is what Tracee's argument filters compare."""
    from tracee.formatting import go_repr

    if value is None:
        return "<nil>"
    if isinstance(value, (dict, list, tuple, bytes, bool)):
        return go_repr(value)
    return str(value)


class Matcher:
    """Evaluates a FilterSpec over events, in user space, with Tracee's semantics.

    State (bounded): the processes `follow` added, the parent of each process seen (for `tree`,
    from hostParentProcessId and sched_process_fork; with `proc_root`, unknown parents are read
    from /proc), the processes forked after the start (`pid=new`) and the containers seen (for
    `container=new`: a container is new when it is not in `existing_containers`, or, when that is
    not given, when its first event is from before its entry point ran).
    """

    def __init__(self, spec: FilterSpec, *, started_ns: int | None = None,
                 existing_containers: Iterable[str] | None = None, proc_root: str | None = None,
                 max_processes: int = 65536) -> None:
        self.spec = spec
        self.started_ns = time.monotonic_ns() if started_ns is None else started_ns
        self.existing = None if existing_containers is None else frozenset(existing_containers)
        self.proc_root = proc_root
        self.followed = BoundedMap(max_processes)
        self.parents = BoundedMap(max_processes)
        self.forked = BoundedMap(max_processes)
        self.containers = BoundedMap(4096)  # id -> new?
        self._args: dict[str, tuple[ArgFilter, ...]] = {}
        for f in spec.args:
            self._args[f.event] = self._args.get(f.event, ()) + (f,)

    # -- state --
    def _observe(self, event: Any) -> None:
        pid, ppid = event.host_process_id, event.host_parent_process_id
        if pid and ppid:
            self.parents.put(pid, ppid)
        name = event.event_name
        if name == "sched_process_fork":
            child = event.get_arg("child_pid")
            if isinstance(child, int) and child > 0:
                self.parents.put(child, event.get_arg("parent_pid") or pid)
                self.forked.put(child, True)
                if self.spec.follow and pid in self.followed:
                    self.followed.put(child, True)
        elif name == "sched_process_exit" and event.get_arg("process_group_exit") is not False:
            self.followed.pop(pid, None)
        cid = event.container_id
        if cid and cid not in self.containers:
            if self.existing is not None:
                new = cid not in self.existing
            else:
                new = not event.container_started  # seen before its entry point ran: it started after us
            self.containers.put(cid, new)

    def _parent(self, pid: int) -> int | None:
        parent = self.parents.get(pid)
        if parent is None and self.proc_root is not None:
            parent = proc_parent(pid, self.proc_root)
            if parent is not None:
                self.parents.put(pid, parent)
        return parent

    def _in_tree(self, pid: int) -> bool:
        pids = self.spec.tree.pids  # type: ignore[union-attr]
        seen = 0
        while pid and seen < 256:  # a bounded walk: the ancestry comes from the events
            if pid in pids:
                return pids[pid]
            pid = self._parent(pid) or 0
            seen += 1
        return self.spec.tree.default  # type: ignore[union-attr]

    # -- the filters --
    def _scope(self, event: Any) -> bool:
        s = self.spec
        if s.uid is not None and not s.uid.matches(event.user_id):
            return False
        if s.pid is not None and not s.pid.matches(event.host_process_id):
            return False
        if s.mntns is not None and not s.mntns.matches(event.mount_namespace):
            return False
        if s.pidns is not None and not s.pidns.matches(event.pid_namespace):
            return False
        if s.uts is not None and not s.uts.matches(event.host_name):
            return False
        if s.comm is not None and not s.comm.matches(event.process_name):
            return False
        cid = event.container_id
        if s.container is not None and bool(cid) != s.container:
            return False
        if s.container_ids is not None and not s.container_ids.matches(cid):
            return False
        if s.new_container is not None:
            if not cid or self.containers.get(cid, False) != s.new_container:
                return False
        if s.new_pid is not None:
            start = event.thread_start_time
            new = bool(self.forked.get(event.host_process_id)) or (bool(start) and start >= self.started_ns)
            if new != s.new_pid:
                return False
        if s.tree is not None and not self._in_tree(event.host_process_id):
            return False
        return True

    def scope_matches(self, event: Any) -> bool:
        """The process and container filters, with `follow` (updates the state)."""
        self._observe(event)
        if not self.spec.has_scope:
            return True
        pid = event.host_process_id
        if self._scope(event):
            if self.spec.follow:
                self.followed.put(pid, True)
            return True
        if self.spec.follow and (pid in self.followed or event.host_parent_process_id in self.followed):
            self.followed.put(pid, True)
            return True
        return False

    def matches(self, event: Any) -> bool:
        """Whether `event` passes every filter of the spec (and the event selection)."""
        if not self.scope_matches(event):
            return False
        name = event.event_name
        if name not in self.spec.events:
            return False
        for f in self._args.get(name, ()):
            if not event.has_arg(f.arg):
                return False  # Tracee drops an event that lacks a filtered argument
            value = event.get_arg(f.arg)
            if f.arg == "syscall" and isinstance(value, int):
                value = syscall_name(value)
            if not f.filter.matches(_text(value)):
                return False
        ret = self.spec.retvals.get(name)
        return ret is None or ret.matches(event.return_value)
