#!/usr/bin/env python3
"""tracee-sig-k8s benchmark: the pack's six rules (Rego, CEL, Python) on a generated container stream.

    python benchmarks/bench_k8s.py [--events 20000] [--attack 0.01] [--cel-backend auto]

Needs tracee, tracee-sig-rego, tracee-sig-cel and tracee-sig-k8s installed. The stream is what
the rules select, as a busy pod produces it: file opens (config, libraries, /proc), execs of
ordinary binaries, connects to services and Unix sockets, all from started containers, with a
share of attack events. Prints events/s and µs/event for the file input and engine together (as
`tracee run --input file:X`), for all rules and for each rule alone, plus the findings and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import time
from typing import Any

from tracee.api import InputContext
from tracee.log import counting
from tracee.engine import Engine
from tracee.inputs.file import FileInput
from tracee.plugins import PluginHost
from tracee.runner import load_signatures

RULES = ["K8S-1", "K8S-2", "K8S-3", "K8S-4", "K8S-5", "K8S-6"]
CID = "3b1f9a7c2d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4"


def _event(rng: random.Random, name: str, eid: int, args: list[tuple[str, str, Any]], comm: str) -> str:
    pid = rng.randint(2, 3000)
    return json.dumps({
        "timestamp": 1700000000000000000 + rng.randint(0, 10**12), "threadStartTime": 1699999990000000000,
        "processorId": rng.randint(0, 1), "processId": pid, "cgroupId": 6123, "threadId": pid,
        "parentProcessId": 1, "hostProcessId": 200000 + pid, "hostThreadId": 200000 + pid,
        "hostParentProcessId": 199990, "userId": 0, "mountNamespace": 4026532601, "pidNamespace": 4026532604,
        "processName": comm, "hostName": "web-5c7d8f9b6-qx2lp", "containerId": CID,
        "containerImage": "docker.io/library/python:3.12", "containerName": "app", "podName": "web-5c7d8f9b6-qx2lp",
        "podNamespace": "default", "podUID": "5f2c1a9e-0d3b-4c7a-9e21-6b8d4f3a2c10", "eventId": str(eid),
        "eventName": name, "argsNum": len(args), "returnValue": 0, "stackAddresses": None,
        "contextFlags": {"containerStarted": True},
        "args": [{"name": n, "type": t, "value": v} for n, t, v in args],
    }, separators=(",", ":"))


def make_line(rng: random.Random, attack: float) -> str:
    bad = rng.random() < attack
    kind = rng.choices(("open", "exec", "connect"), weights=(70, 10, 20))[0]
    if kind == "open":
        if bad:
            path, flags = rng.choice([("/etc/kubernetes/admin.conf", "O_RDONLY"),
                                      ("/proc/sys/kernel/core_pattern", "O_WRONLY|O_TRUNC")])
        else:
            path = rng.choice(["/etc/ld.so.cache", f"/usr/lib/python3.12/lib{rng.randint(0, 999)}.so",
                               "/proc/self/status", "/proc/sys/kernel/ngroups_max", "/app/config.yaml",
                               "/sys/kernel/mm/transparent_hugepage/enabled", "/root/.cache/pip/x"])
            flags = rng.choice(["O_RDONLY|O_CLOEXEC", "O_RDONLY|O_LARGEFILE", "O_WRONLY|O_CREAT|O_APPEND"])
            if path.startswith(("/proc/sys", "/sys/kernel")):
                flags = "O_RDONLY"
        return _event(rng, "security_file_open", 722, [
            ("pathname", "const char*", path), ("flags", "string", flags), ("dev", "dev_t", 2049),
            ("inode", "unsigned long", 1835230), ("ctime", "unsigned long", 1699990000123456789),
            ("syscall_pathname", "const char*", path), ("syscall", "int", "openat")], "python3")
    if kind == "exec":
        binary = rng.choice(["kubectl", "nsenter"]) if bad else rng.choice(["python3", "sh", "ls", "curl", "gunicorn"])
        path = f"/usr/bin/{binary}"
        return _event(rng, "sched_process_exec", 707, [
            ("cmdpath", "const char*", path), ("pathname", "const char*", path),
            ("argv", "const char**", [binary, "-c", "x" * rng.randint(0, 40)]), ("dev", "dev_t", 2049),
            ("inode", "unsigned long", 1835117), ("invoked_from_kernel", "int", 0),
            ("ctime", "unsigned long", 1699990000123456789), ("stdin_type", "string", "S_IFCHR"),
            ("inode_mode", "umode_t", 33261), ("interp", "const char*", path)], binary)
    if bad:
        addr = rng.choice([{"sa_family": "AF_INET", "sin_port": "80", "sin_addr": "169.254.169.254"},
                           {"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}])
    else:
        addr = rng.choice([{"sa_family": "AF_INET", "sin_port": "5432", "sin_addr": f"10.0.3.{rng.randint(1, 254)}"},
                           {"sa_family": "AF_INET6", "sin6_port": "443", "sin6_flowinfo": "0",
                            "sin6_addr": "2600:1f18::1", "sin6_scopeid": "0"},
                           {"sa_family": "AF_UNIX", "sun_path": "/var/run/nscd/socket"}])
    return _event(rng, "security_socket_connect", 726, [("sockfd", "int", 5), ("remote_addr", "struct sockaddr*", addr)],
                  "python3")


def run_once(path: str, rules: list[str], options: dict[str, Any]) -> tuple[float, int, int, int]:
    """(seconds, lines read, findings, errors) of one pass of the file through the input and engine."""
    with counting() as counter:
        host = PluginHost().load_entry_points()
        loaded = load_signatures(host, rules=rules, options=options)
        found = [0]

        def on_finding(_finding: Any) -> None:
            found[0] += 1

        engine = Engine([item.signature for item in loaded], on_finding)
        source = FileInput(InputContext(path, engine.event_names()))
        start = time.perf_counter()
        engine.run(source.events())
        elapsed = time.perf_counter() - start
        source.close()
    return elapsed, source.stats()["read"], found[0], counter.errors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--attack", type=float, default=0.01, help="share of events that should fire a rule")
    ap.add_argument("--cel-backend", default="auto", choices=("auto", "cel-python", "cel-expr-python"))
    ap.add_argument("--per-rule", action=argparse.BooleanOptionalAction, default=True,
                    help="also time each rule alone")
    ap.add_argument("--rules", action="append", choices=RULES, help="only these rules (repeatable)")
    opt = ap.parse_args()

    rng = random.Random(9)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for _ in range(opt.events):
            f.write(make_line(rng, opt.attack) + "\n")
        path = f.name
    options = {"cel_backend": opt.cel_backend}
    try:
        print(f"tracee-sig-k8s: {opt.events} container events (70% file open, 20% connect, 10% exec), "
              f"{opt.attack:.0%} attacks, CEL backend {opt.cel_backend}")
        run_once(path, opt.rules or RULES, options)  # warm-up: compiles the Rego groups and the CEL programs
        chosen = opt.rules or RULES
        label_all = "all six rules" if chosen == RULES else " ".join(chosen)
        for label, rules in [(label_all, chosen)] + ([(r, [r]) for r in chosen] if opt.per_rule else []):
            seconds, events, findings, errors = run_once(path, rules, options)
            print(f"  {label:14} {events / seconds:9,.0f} events/s  {seconds / events * 1e6:8.1f} µs/event  "
                  f"{findings} findings  {errors} errors")
        print(f"  peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    finally:
        os.unlink(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
