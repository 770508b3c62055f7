"""The loaded rules' predicates (`tracee.predicates`) compiled into the kernel program's filter maps.

The engine tells the input, per event name, the (origin, predicates) of every selector naming it
(`InputContext.conditions`). For two kinds of events this module turns their union into what the
kernel side (program.c, syscalls.bpf.c) checks before an event leaves the kernel:

- **security_file_open** (the open floods): each selector becomes a row of `open_rules`: origin
  container (mount namespace other than the host's), open flags `bits` (`flags & mask` in a set),
  `context.process_name` in / not in a set of comms (`open_comms`: comm -> rows), and pathname
  `in` / `prefix` / `suffix` values (`open_paths`: (kind, length, bytes) -> predicate bits, one
  hash lookup per distinct length a surviving row needs). The cheap checks run first; the path is
  walked only when a row survives them.
- **close, dup, dup2, dup3** selected only for fds in the `inet_socket_fd` state (TRC-1): the
  kernel keeps that state (`inet_fds`: (tgid, fd) of sockets connect()ed to AF_INET/AF_INET6 and
  their dups, until closed or overwritten) and lets only calls on those fds out.

Soundness: a row only holds conditions that are *necessary* for its selector's predicates; any
predicate the kernel cannot check (`contains`, another field, a value too long, too many rows or
values) is left out of the row, which keeps more events, never fewer. An event whose selectors
include one without any kernel-checkable condition is not filtered at all. The rules stay the
judges in user space. Importable without BCC.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from tracee.predicates import Predicate

__all__ = ["FD_STATE", "FD_STATE_EVENTS", "KernelFilter", "OpenRow", "compile_conditions",
           "MAX_OPEN_ROWS", "MAX_PATTERN", "MAX_LENGTHS", "MAX_PATH_BITS"]

#: The kernel state TRC-1's selectors name, and the fd arguments of the events it filters.
FD_STATE = "inet_socket_fd"
FD_STATE_EVENTS: dict[str, tuple[str, ...]] = {"close": ("fd",), "dup": ("oldfd",),
                                               "dup2": ("oldfd", "newfd"), "dup3": ("oldfd", "newfd")}
OPEN = "security_file_open"

MAX_OPEN_ROWS = 64     # rows are bits of a u64 (more selectors: the event is not filtered)
MAX_PATH_BITS = 64     # compiled pathname predicates, bits of a u64 (more: left out)
MAX_PATTERN = 127      # bytes of one pathname value the kernel compares (longer: left out)
MAX_LENGTHS = 16       # distinct prefix (and suffix) lengths (more: those predicates left out)
MAX_COMMS = 256        # entries of open_comms
MAX_PATH_LEN = 0xFFFF  # "no upper bound" for a path length (the kernel's paths are < 4096 bytes)
COMM_LEN = 15          # a comm is at most 15 bytes: a longer value can equal none

# pathname value kinds in open_paths keys
PATH_EQ, PATH_PREFIX, PATH_SUFFIX = 1, 2, 3
_PATH_KINDS = {"in": PATH_EQ, "prefix": PATH_PREFIX, "suffix": PATH_SUFFIX}
COMM_IN, COMM_NOT_IN = 1, 2

Conditions = Mapping[str, Sequence[tuple[str, Sequence[Predicate]]]]


@dataclass
class OpenRow:
    """One security_file_open selector, as the kernel checks it."""

    container_only: bool = False
    flags_mask: int = 0          # 0: no flags check
    flags_allowed: int = 0       # bitmap over the values of flags & mask (mask < 64)
    comm_mode: int = 0           # 0, COMM_IN, COMM_NOT_IN (the row's bit in open_comms)
    path_bits: int = 0           # the pathname predicates that must all hold
    eq: bool = False             # needs the equality lookup
    described: list[str] = field(default_factory=list)  # what the kernel checks, for the log


@dataclass
class KernelFilter:
    """What to write into the kernel program's filter maps (empty: nothing filtered there)."""

    open_rows: list[OpenRow] = field(default_factory=list)
    open_paths: dict[tuple[int, bytes], int] = field(default_factory=dict)  # (kind, value) -> bits
    prefix_lengths: dict[int, int] = field(default_factory=dict)            # length -> rows mask
    suffix_lengths: dict[int, int] = field(default_factory=dict)
    open_comms: dict[bytes, int] = field(default_factory=dict)              # comm -> rows mask
    bit_lengths: dict[int, tuple[int, int]] = field(default_factory=dict)   # bit -> path lengths that can meet it
    fd_state_events: frozenset[str] = frozenset()
    notes: list[str] = field(default_factory=list)  # why something was not filtered

    @property
    def filters_open(self) -> bool:
        return bool(self.open_rows)

    def describe(self) -> list[str]:
        """One phrase per filtered event, for the start-up line."""
        out = []
        if self.open_rows:
            out.append(f"{OPEN} by {len(self.open_rows)} rule selector(s)")
        if self.fd_state_events:
            out.append(f"{'/'.join(sorted(self.fd_state_events))} by the {FD_STATE} state")
        return out


def compile_conditions(conditions: Conditions | None, events: Iterable[str]) -> KernelFilter:
    """The kernel filter for the selectors in `conditions` (None: unknown, filter nothing)."""
    kf = KernelFilter()
    if conditions is None:
        return kf
    events = frozenset(events)
    if OPEN in events:
        _compile_open(kf, conditions.get(OPEN, ()))
    state_events = set()
    for name, args in FD_STATE_EVENTS.items():
        selectors = conditions.get(name, ())
        if name in events and selectors and all(_tracks_fd_state(where, args) for _, where in selectors):
            state_events.add(name)
    kf.fd_state_events = frozenset(state_events)
    return kf


def _tracks_fd_state(where: Sequence[Predicate], args: tuple[str, ...]) -> bool:
    """The selector needs one of the event's fd arguments to be in the state."""
    return any(p.op == "state" and p.values == (FD_STATE,) and not p.context and p.field in args for p in where)


def _compile_open(kf: KernelFilter, selectors: Sequence[tuple[str, Sequence[Predicate]]]) -> None:
    if not selectors:
        return
    if len(selectors) > MAX_OPEN_ROWS:
        kf.notes.append(f"{OPEN}: {len(selectors)} selectors, more than the kernel's {MAX_OPEN_ROWS}: not filtered")
        return
    rows: list[OpenRow] = []
    path_preds: list[tuple[int, Predicate]] = []  # (row, predicate) to give bits to
    for i, (origin, where) in enumerate(selectors):
        row = OpenRow(container_only=origin == "container")
        if row.container_only:
            row.described.append("origin container")
        for p in where:
            if not p.context and p.field == "flags" and p.op == "bits" and row.flags_mask == 0:
                mask, allowed = p.values[0], p.values[1:]
                if 0 < mask < 64:
                    row.flags_mask = mask
                    for v in allowed:
                        if 0 <= v < 64 and v & mask == v:
                            row.flags_allowed |= 1 << v
                    row.described.append(f"flags&{mask} in {sorted(allowed)}")
            elif p.context and p.field == "process_name" and p.op in ("in", "not_in") and row.comm_mode == 0:
                comms = [c.encode() for c in p.values if type(c) is str]
                if len(comms) != len(p.values):
                    continue  # a number compared as a comm: left to user space
                short = [c for c in comms if len(c) <= COMM_LEN]
                if len(kf.open_comms) + len(short) > MAX_COMMS:
                    continue
                row.comm_mode = COMM_IN if p.op == "in" else COMM_NOT_IN
                for c in short:  # longer values can equal no comm: "in" them fails, "not in" holds
                    kf.open_comms[c] = kf.open_comms.get(c, 0) | (1 << i)
                row.described.append(f"comm {p.op} {len(p.values)} value(s)")
            elif not p.context and p.field == "pathname" and p.op in _PATH_KINDS and _kernel_strings(p.values):
                path_preds.append((i, p))
        rows.append(row)
    prefix_lengths: dict[int, int] = {}
    suffix_lengths: dict[int, int] = {}
    bit = 0
    for i, p in path_preds:
        kind = _PATH_KINDS[p.op]
        values = [v.encode() for v in p.values]
        lengths = {len(v) for v in values}
        table = prefix_lengths if kind == PATH_PREFIX else suffix_lengths if kind == PATH_SUFFIX else None
        if table is not None and len(set(table) | lengths) > MAX_LENGTHS:
            continue  # left to user space: the row keeps more
        if bit >= MAX_PATH_BITS:
            break
        for v in values:
            kf.open_paths[(kind, v)] = kf.open_paths.get((kind, v), 0) | (1 << bit)
        # equal: one of the values' lengths; prefix/suffix: at least the shortest value's
        kf.bit_lengths[bit] = (min(lengths), max(lengths) if kind == PATH_EQ else MAX_PATH_LEN)
        if table is not None:
            for n in lengths:
                table[n] = table.get(n, 0) | (1 << i)
        else:
            rows[i].eq = True
        rows[i].path_bits |= 1 << bit
        rows[i].described.append(f"pathname {p.op} {len(values)} value(s)")
        bit += 1
    if not all(r.container_only or r.flags_mask or r.comm_mode or r.path_bits for r in rows):
        unchecked = sum(1 for r in rows if not (r.container_only or r.flags_mask or r.comm_mode or r.path_bits))
        kf.notes.append(f"{OPEN}: {unchecked} selector(s) with nothing the kernel can check: not filtered")
        kf.open_comms.clear()
        return
    kf.open_rows, kf.prefix_lengths, kf.suffix_lengths = rows, prefix_lengths, suffix_lengths


def _kernel_strings(values: tuple[Any, ...]) -> bool:
    """Values the kernel can compare byte for byte with the path the user-space event carries:
    strings of 1..MAX_PATTERN bytes of valid UTF-8 without U+FFFD (the decoder's replacement for
    bytes that are not UTF-8, so a raw comparison decides as the decoded one does)."""
    return all(type(v) is str and 0 < len(v.encode()) <= MAX_PATTERN and "\ufffd" not in v for v in values)
