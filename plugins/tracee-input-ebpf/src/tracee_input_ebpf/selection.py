"""Which part of a --trace/--filter spec the kernel program enforces (its BPF maps) and which the
input evaluates in user space, so that the kernel only ever drops what the spec drops.

    plan = plan_filters(spec, exec_env=True)
    plan.kernel        # program.Filters: pid/uid/comm maps, host-or-container, follow
    plan.user          # the FilterSpec the Matcher still checks after decoding (None: nothing left)
    plan.events        # what this input produces of spec.events; plan.missing: what it cannot

The kernel program (program.c, `should_trace`) has hash maps for exact pids, uids and comms (ORed
within a kind, ANDed across kinds), a host/container switch by mount namespace and a `follow`
lineage by pid/comm. A filter goes there only when the map says exactly what the filter says
(`pid=510,1709`, `uid=0`, `comm=bash`); ranges, `!=`, wildcards and everything else stay in user
space. `container`, `container=ID` and `container=new` also switch the kernel's mount namespace
check on, a cheap superset (a container's processes are never in the host's mount namespace);
the Matcher then decides by container id. Importable without BCC.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .filters import FilterSpec, NumericFilter, StringFilter
from .program import Filters, SUPPORTED_EVENTS

__all__ = ["FilterPlan", "plan_filters"]


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
    # The kernel checks uid before its follow lineage: with follow, a child under another uid
    # would be dropped there, while Tracee follows it. Only pid and comm lineage go to the kernel.
    if follow:
        uids = None
    # Other scope filters left in user space make the kernel's follow lineage (pid/comm only)
    # wider than Tracee's (all filters): still a superset, the Matcher narrows it.
    kernel_follow = follow and bool(pids or comms)
    container = bool(spec.container) or spec.container_ids is not None and bool(spec.container_ids.ids) \
        or spec.new_container is True
    kernel = Filters(pids=pids or (), comms=comms or (), uids=uids or (), container=container,
                     follow=kernel_follow, exec_env=exec_env)
    done = [name for name, on in (("pid", pids), ("uid", uids), ("comm", comms)) if on]
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
    return FilterPlan(kernel=kernel, user=user if needs_user else None, events=events,
                      missing=spec.events - SUPPORTED_EVENTS, in_kernel=tuple(done))
