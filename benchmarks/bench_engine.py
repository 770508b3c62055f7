#!/usr/bin/env python3
"""Core benchmark: JSON decoding + dispatch of a generated mixed stream through N trivial signatures.

    python benchmarks/bench_engine.py [--events 300000] [--signatures 15] [--selected 0.2] [--metrics]

Prints events/s and µs/event for the file input (JSON lines → events) and engine together, as
`tracee run --input file:X` uses them, with most events matching no signature. `--metrics` runs
as `tracee run --metrics` does (rule timing on) while another thread collects the metrics ten
times a second, as no Prometheus would: the cost of being watched.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.api import InputContext
from tracee.engine import Engine
from tracee.inputs.file import FileInput

# Selected names (one per signature) and the noise that no signature selects.
SELECTED = ["ptrace", "security_file_open", "sched_process_exec", "execve", "close", "dup2",
            "security_socket_connect", "mem_prot_alert", "init_module", "magic_write",
            "security_sb_mount", "security_bprm_check", "process_vm_writev", "hooked_syscalls",
            "security_kernel_read_file"]
NOISE = ["openat", "read", "write", "mmap", "fstat", "lseek", "getdents64", "futex", "epoll_wait", "newfstatat"]


class Trivial(Signature):
    """Selects one event name and fires on a rare argument value."""

    def __init__(self, n: int, name: str) -> None:
        self.metadata = SignatureMetadata(id=f"BENCH-{n}", name=f"bench {name}")  # type: ignore[misc]
        self.selected_events = [EventSelector(name)]  # type: ignore[misc]

    def on_event(self, event):
        if event.get_arg("pathname") == "/never/seen":
            self.match(event)


def make_line(rng: random.Random, name: str) -> str:
    pid = rng.randint(100, 60000)
    return json.dumps({
        "timestamp": 1657292314817581101 + rng.randint(0, 10**9), "threadStartTime": 617395606682013,
        "processorId": rng.randint(0, 7), "processId": pid, "cgroupId": 1, "threadId": pid,
        "parentProcessId": 1, "hostProcessId": pid, "hostThreadId": pid, "hostParentProcessId": 1,
        "userId": 1000, "mountNamespace": 4026531840, "pidNamespace": 4026531836,
        "processName": rng.choice(["bash", "cat", "python3", "nginx"]), "hostName": "bench",
        "containerId": "", "containerImage": "", "containerName": "", "podName": "", "podNamespace": "",
        "podUID": "", "eventId": "257", "eventName": name, "argsNum": 4, "returnValue": 3,
        "stackAddresses": None, "contextFlags": {"containerStarted": False},
        "args": [{"name": "dirfd", "type": "int", "value": -100},
                 {"name": "pathname", "type": "const char*", "value": f"/usr/lib/x86_64-linux-gnu/lib{rng.randint(0, 999)}.so"},
                 {"name": "flags", "type": "string", "value": "O_RDONLY|O_CLOEXEC"},
                 {"name": "mode", "type": "mode_t", "value": 0}],
    }, separators=(",", ":"))


def scrape(engine: Engine, source: FileInput, stop: threading.Event) -> None:
    """What `/metrics` does, ten times a second, while the engine runs."""
    from tracee.metrics import RuleTimings, RunMetrics, families_text

    engine.time_rules(RuleTimings())
    metrics = RunMetrics()
    metrics.engine, metrics.input = engine, ("file", source)
    while not stop.wait(0.1):
        families_text(metrics)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000)
    ap.add_argument("--signatures", type=int, default=15)
    ap.add_argument("--selected", type=float, default=0.2, help="share of events some signature selects")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the best is reported")
    ap.add_argument("--metrics", action="store_true", help="time rules and scrape 10 times a second")
    opt = ap.parse_args()

    rng = random.Random(1)
    names = SELECTED[: opt.signatures] or ["ptrace"]
    sigs_names = [names[i % len(names)] for i in range(opt.signatures)]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for _ in range(opt.events):
            name = rng.choice(names) if rng.random() < opt.selected else rng.choice(NOISE)
            f.write(make_line(rng, name) + "\n")
        path = f.name
    size = os.path.getsize(path)
    print(f"stream: {opt.events:,} events ({size / 1e6:.0f} MB), {opt.selected:.0%} selected, "
          f"{opt.signatures} signatures", file=sys.stderr)
    best = None
    try:
        for _ in range(opt.repeat):
            sigs = [Trivial(i, n) for i, n in enumerate(sigs_names)]
            engine = Engine(sigs, lambda f: None)
            source = FileInput(InputContext(path, engine.event_names()))
            stop = threading.Event()
            if opt.metrics:
                scraper = threading.Thread(target=scrape, args=(engine, source, stop), daemon=True)
                scraper.start()
            t0 = time.perf_counter()
            engine.run(source.events())
            elapsed = time.perf_counter() - t0
            stop.set()
            source.close()
            best = elapsed if best is None else min(best, elapsed)
            stats = source.stats()
    finally:
        os.unlink(path)
    rate = opt.events / best
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"decoded {engine.stats.events:,}, skipped {stats['skipped']:,}, dropped {stats['dropped']}")
    watched = ", rule timing on and scraped 10/s" if opt.metrics else ""
    print(f"{rate:,.0f} events/s  {1e6 / rate:.2f} µs/event  (best of {opt.repeat}; max RSS {rss:.0f} MB{watched})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
