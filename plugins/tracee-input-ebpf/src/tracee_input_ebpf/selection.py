"""Which part of a --trace/--filter spec the kernel program enforces (its BPF maps) and which the
input evaluates in user space, so that the kernel only ever drops what the spec drops.

    plan = plan_filters(spec, exec_env=True)
    plan.kernel        # program.Filters: pid/uid/comm maps, host-or-container, follow
    plan.user          # the FilterSpec the Matcher still checks after decoding (None: nothing left)
    plan.events        # what this input produces of spec.events; plan.missing: what it cannot

The kernel program (program.c, `is_traced` and `start`) has hash maps for exact pids, uids,
comms, mount and pid namespaces (ORed within a kind, ANDed across kinds), a host/container switch
by mount namespace and a `follow` lineage by pid/comm. A filter goes there only when the map says
exactly what the filter says (`pid=510,1709`, `uid=0`, `comm=bash`, `mntns=4026531840`); ranges,
`!=`, wildcards and everything else stay in user space. `container`, `container=ID` and `container=new` also switch the kernel's mount namespace
check on, a cheap superset (a container's processes are never in the host's mount namespace);
the Matcher then decides by container id. Importable without BCC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable

from .filters import FilterSpec, NumericFilter, StringFilter
from .program import Filters, SUPPORTED_EVENTS

__all__ = ["FilterPlan", "header_filter", "plan_filters"]

FORK = "sched_process_fork"


@dataclass(frozen=True)
class FilterPlan:
    kernel: Filters
    user: FilterSpec | None
    events: frozenset[str]
    missing: frozenset[str]
    in_kernel: tuple[str, ...]  # the filters the kernel enforces, for the start-up line


def _exact_numbers(f: NumericFilter | None) -> tuple[int, ...] | None:
    return tuple(sorted(f.equal)) if f is not None and f.only_equal else None


def _exact_strings(f: StringFilter | None) -> tuple[str, ...] | None:
    if f is None or not f.exact_only or f.has_negative or not f.equal:
        return None
    return tuple(sorted(f.equal))


def plan_filters(spec: FilterSpec, *, exec_env: bool = False) -> FilterPlan:
    pids = _exact_numbers(spec.pid)
    uids = _exact_numbers(spec.uid)
    comms = _exact_strings(spec.comm)
    follow = spec.follow
    # Namespace inums are 32 bits in the kernel (ns.inum); a larger value can match nothing there.
    mntns = _exact_numbers(spec.mntns)
    pidns = _exact_numbers(spec.pidns)
    mntns = mntns if mntns and max(mntns) <= 0xFFFFFFFF else None
    pidns = pidns if pidns and max(pidns) <= 0xFFFFFFFF else None
    # The kernel checks uid and namespaces before its follow lineage: with follow, a child under
    # another uid would be dropped there, while Tracee follows it. Only pid and comm lineage go
    # to the kernel then.
    if follow:
        uids = mntns = pidns = None
    # Other scope filters left in user space make the kernel's follow lineage (pid/comm only)
    # wider than Tracee's (all filters): still a superset, the Matcher narrows it.
    kernel_follow = follow and bool(pids or comms)
    container = bool(spec.container) or spec.container_ids is not None and bool(spec.container_ids.ids) \
        or spec.new_container is True
    kernel = Filters(pids=pids or (), comms=comms or (), uids=uids or (), mntns=mntns or (), pidns=pidns or (),
                     container=container, follow=kernel_follow, exec_env=exec_env)
    done = [name for name, on in (("pid", pids), ("uid", uids), ("comm", comms), ("mntns", mntns),
                                  ("pidns", pidns)) if on]
    replaced: dict[str, object] = {}
    if kernel_follow and not any(getattr(spec, f) is not None for f in
                                 ("uid", "mntns", "pidns", "uts", "container", "container_ids",
                                  "new_container", "new_pid", "tree")):
        # The kernel does the whole scope and its follow: user space must not second-guess a
        # followed child (it may never have seen the parent, whose events were not selected).
        replaced = {"pid": None, "comm": None, "follow": False}
        done.append("follow")
    user = dataclasses.replace(spec, **replaced) if replaced else spec
    events = spec.events & SUPPORTED_EVENTS
    needs_user = user.has_scope or user.follow or bool(user.args) or bool(user.retvals)
    if needs_user and (user.follow or user.tree is not None) and FORK in SUPPORTED_EVENTS:
        # The Matcher learns parents and children from the forks (it drops them unless selected):
        # without them, a child whose parent emitted no selected event since the start is missed.
        events |= {FORK}
    return FilterPlan(kernel=kernel, user=user if needs_user else None, events=events,
                      missing=spec.events - SUPPORTED_EVENTS, in_kernel=tuple(done))


def header_filter(spec: FilterSpec | None) -> Callable[[bytes], bool] | None:
    """A check of a raw record's header (decode.HDR) for the scope filters that need nothing but
    the header (uid, pid, mntns, pidns, comm), run before the record is decoded: the same checks
    the Matcher makes, so it only saves the decoding of records the Matcher would drop. None when
    there is nothing to check this way, or when `follow`/`tree` need to see every event (state)."""
    from .decode import HDR

    if spec is None or spec.follow or spec.tree is not None:
        return None
    checks = [(i, f) for i, f in ((11, spec.uid), (6, spec.pid), (12, spec.mntns), (13, spec.pidns))
              if f is not None]
    comm = spec.comm
    if not checks and comm is None:
        return None
    unpack = HDR.unpack_from
    numeric = [(i, f.matches) for i, f in checks]
    comms: dict[bytes, bool] = {}

    size = HDR.size

    def passes(record: bytes) -> bool:
        if len(record) < size:
            return True  # the decoder counts it as malformed
        h = unpack(record, 0)
        for i, matches in numeric:
            if not matches(h[i]):
                return False
        if comm is not None:
            raw = h[17]
            ok = comms.get(raw)
            if ok is None:
                if len(comms) > 4096:
                    comms.clear()
                ok = comms[raw] = comm.matches(raw.split(b"\0", 1)[0].decode("utf-8", "replace"))
            return ok
        return True
    return passes
