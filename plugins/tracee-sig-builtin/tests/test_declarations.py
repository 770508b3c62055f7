"""The predicates TRC-1..15 declare in their selectors are sound: they hide no match."""

from __future__ import annotations

import itertools
from pathlib import Path

from tracee import Event
from tracee.testing import assert_declarations_sound, make_event
from tracee_sig_builtin.plugin import SIGNATURES

DATA = Path(__file__).parent / "data"

PATHS = ["/etc/ld.so.preload", "/etc/passwd", "/proc/self/mem", "/proc/12/mem", "/proc/1/mem", "/x/release_agent",
         "/sys/fs/cgroup/release_agent", "/etc/kubernetes/pki/ca.key", "/etc/kubernetes/admin.conf",
         "/var/run/secrets/kubernetes.io/serviceaccount/token", "/tmp/token", "memfd:x", "/dev/shm/x", "/bin/bash",
         "/usr/bin/sh", "/bin/fish"]
FLAGS = ["O_RDONLY", "O_WRONLY|O_CREAT", "O_RDWR", 0, 1, 2, 0o101, 3]
ADDRESSES = [{"sa_family": "AF_INET", "sin_addr": "10.0.0.1", "sin_port": "443"},
             {"sa_family": "AF_INET6", "sin6_addr": "::1", "sin6_port": "80"},
             {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}, "bogus"]


def fresh():
    return [cls() for cls in SIGNATURES]


def grid() -> list[Event]:
    """Arguments raw and parsed, every origin, processes that rules allow or watch."""
    events = []
    origins = [False, True, "init"]
    comms = ["nginx", "bash", "coredns", "kubelet"]
    for path, flags, origin, comm in itertools.product(PATHS, FLAGS, origins, comms[:2]):
        events.append(make_event("security_file_open", pathname=path, flags=flags, container=origin,
                                 context={"process_name": comm}))
    for path, comm, origin in itertools.product(PATHS, comms, origins):
        events.append(make_event("security_bprm_check", pathname=path, container=origin, context={"process_name": comm}))
        events.append(make_event("sched_process_exec", pathname=path, cmdpath=path, argv=[path], container=origin))
    for request in ["PTRACE_TRACEME", "PTRACE_POKETEXT", "PTRACE_ATTACH", 0, 4, 16]:
        events.append(make_event("ptrace", request=request, pid=5))
    pid = 100
    for fd, address, origin in itertools.product([0, 1, 3, 7], ADDRESSES, origins):
        pid += 1
        ctx = {"process_id": pid, "host_process_id": pid}
        events.append(make_event("security_socket_connect", sockfd=fd, remote_addr=address, container=origin, context=ctx))
        for name, args in [("dup2", {"oldfd": fd, "newfd": 0}), ("dup3", {"oldfd": 9, "newfd": fd, "flags": 0}),
                           ("dup", {"oldfd": fd}), ("close", {"fd": fd})]:
            events.append(make_event(name, container=origin, context={**ctx, "return_value": 0}, **args))
    for alert in [1, 2, 3, 4, "Protection changed from W+E to E!"]:
        events.append(make_event("mem_prot_alert", alert=alert))
    for kind in ["kernel-module", "firmware", 2, 1]:
        events.append(make_event("security_kernel_read_file", pathname="/m.ko", type=kind))
    for device in ["/dev/sda1", "proc", "/home/x"]:
        events.append(make_event("security_sb_mount", dev_name=device, path="/mnt", type="ext4", flags=0, container=True))
    return events


def test_declarations_hide_no_finding_on_the_packs_streams():
    events = [Event.from_json(line) for path in sorted(DATA.glob("*.jsonl"))
              for line in path.read_text().splitlines() if line.strip()]
    assert_declarations_sound(fresh, events)


def test_declarations_hide_no_finding_on_raw_and_parsed_variants():
    saved = assert_declarations_sound(fresh, grid())
    assert saved > 1000  # and they do spare the rules most of these events


def test_configured_allow_lists_narrow_the_declarations():
    sigs = {s.metadata.id: s for s in fresh()}
    sigs["TRC-10"].configure({"allowed_processes": ["rotator"]})
    (selector,) = sigs["TRC-10"].get_selected_events()
    allowed = next(p for p in selector.where if p.context)
    assert allowed.op == "not_in" and "rotator" in allowed.values
    assert_declarations_sound(lambda: [_configured()], grid())


def _configured():
    from tracee_sig_builtin.illegitimate_shell import IllegitimateShell

    sig = IllegitimateShell()
    sig.configure({"shells": ["fish"], "web_servers": ["coredns"]})
    return sig
