"""Benchmark of tracee-sig-cel: time per selected event per expression, and memory over many evaluations.

    python benchmarks/bench_cel.py            # the backends installed, under a minute
    python benchmarks/bench_cel.py --long     # also a million cel-python evaluations (~10 minutes)

Rules are loaded through the real loader, and events go through the real engine: each event is a
new object (its per-event cache is cleared), so the time includes building the CEL input once
per event and evaluating every rule that selects it.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tracee.api import RuleLoadContext
from tracee.log import counting
from tracee.engine import Engine
from tracee.event import Event

RULES = """\
kind: SignaturesConfig
apiVersion: tracee.aquasecurity.github.io/v1alpha1
signatures:
  - metadata: {id: CEL-2, name: Anti-Debugging}
    eventSelectors: [{source: tracee, name: security_bprm_check}]
    expression: input.eventName == 'ptrace' && input.stringArg('request') == 'PTRACE_TRACEME'
  - metadata: {id: CEL-5, name: Shell executed}
    eventSelectors: [{source: tracee, name: security_bprm_check}]
    expression: |-
      ['/ash', '/bash', '/csh', '/dash', '/ksh', '/sh', '/tcsh', '/zsh'].exists(e,
        input.stringArg('pathname').endsWith(e))
  - metadata: {id: CEL-6, name: Container shell}
    eventSelectors: [{source: tracee, name: security_bprm_check}]
    expression: |-
      input.containerID != '' && input.contextFlags.containerStarted &&
        input.stringArg('pathname').endsWith('sh') && !(input.processName in ['bash', 'sh'])
  - metadata: {id: CEL-7, name: Binary in /tmp}
    eventSelectors: [{source: tracee, name: security_bprm_check}]
    expression: |-
      input.stringArg('pathname').startsWith('/tmp/') || input.stringArg('pathname').startsWith('/dev/shm/')
"""


def make_events(n: int) -> list[Event]:
    paths = ["/usr/bin/bash", "/usr/bin/ls", "/tmp/x", "/usr/bin/python3", "/bin/sh", "/usr/sbin/nginx"]
    events = []
    for i in range(n):
        events.append(Event.from_dict({
            "timestamp": 1_700_000_000_000_000_000 + i, "processId": 1, "threadId": 1, "hostProcessId": 4000 + i,
            "hostThreadId": 4000 + i, "hostParentProcessId": 1, "cgroupId": (1 << 63) + 5, "userId": 0,
            "mountNamespace": 4026532400, "pidNamespace": 4026532401, "processName": "runc:[2:INIT]",
            "hostName": "web-7d9f", "containerId": "3f1b" * 16, "containerImage": "nginx:1.25",
            "containerName": "web", "podName": "web-7d9f", "podNamespace": "prod", "podUID": "0c1d",
            "eventId": "1027", "eventName": "security_bprm_check", "argsNum": 3, "returnValue": 0,
            "contextFlags": {"containerStarted": True},
            "args": [{"name": "pathname", "type": "const char*", "value": paths[i % len(paths)]},
                     {"name": "dev", "type": "dev_t", "value": 2049},
                     {"name": "inode", "type": "unsigned long", "value": 131 + i}]}))
    return events


def load(backend: str):
    from tracee_sig_cel.loader import load_rules

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.yaml"
        path.write_text(RULES)
        sigs = load_rules([path], RuleLoadContext(strict=True, options={"cel_backend": backend}))
    return sigs


# CPU time of this process: on a shared machine, wall time would count the other jobs' turns too.
clock = time.process_time


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def time_backend(backend: str, n_events: int, rounds: int) -> dict[str, float]:
    sigs = load(backend)
    findings = []
    with counting() as counter:
        engine = Engine(sigs, findings.append)
        engine.start()
        events = make_events(n_events)
        per_expr = []
        for _ in range(rounds):
            t0 = clock()
            for e in events:
                engine.dispatch(e)
            per_expr.append((clock() - t0) / (len(events) * len(sigs)) * 1e6)
        # The parts: building the input once per event, and one evaluation on a built input.
        be = sigs[0].group.backend
        t0 = clock()
        built = [be.variables(e) for e in events]
        build = (clock() - t0) / len(events) * 1e6
        t0 = clock()
        for variables in built:
            for s in sigs:
                be.evaluate(s.program, variables)
        evaluate = (clock() - t0) / (len(events) * len(sigs)) * 1e6
    assert counter.errors == 0, "evaluation errors during the benchmark"
    return {"per_event_per_expr": statistics.median(per_expr), "build": build, "eval": evaluate,
            "rules": len(sigs), "findings": len(findings)}


def memory_backend(backend: str, evaluations: int) -> list[tuple[int, int]]:
    """RSS (KiB) after every quarter of `evaluations`, dispatching through the engine."""
    sigs = load(backend)
    engine = Engine(sigs, lambda f: None)
    engine.start()
    events = make_events(1000)
    per_pass = len(events) * len(sigs)
    passes = max(1, evaluations // per_pass)
    marks = {passes * q // 4 for q in range(1, 5)}
    warmup = max(1, passes // 10)
    for _ in range(warmup):  # let allocators and caches settle before the first reading
        for e in events:
            engine.dispatch(e)
    gc.collect()
    readings = [(0, rss_kib())]
    for p in range(1, passes + 1):
        for e in events:
            engine.dispatch(e)
        if p in marks:
            gc.collect()
            readings.append((p * per_pass, rss_kib()))
    return readings


def available(backend: str) -> bool:
    from tracee.errors import FatalError
    from tracee_sig_cel.backends import choose_backend

    try:
        choose_backend(backend)
    except FatalError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=5000, help="events per timing round (default 5000)")
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds; the median is printed")
    parser.add_argument("--evaluations", type=int, default=1_000_000,
                        help="evaluations for the memory run of cel-expr-python (default 1,000,000)")
    parser.add_argument("--long", action="store_true",
                        help="also run the million-evaluation memory test on cel-python (several minutes)")
    parser.add_argument("--memory-run", nargs=2, metavar=("BACKEND", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run:
        memory_main(args.memory_run[0], int(args.memory_run[1]))
        return

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpu(s); 4 rules all selecting "
          "security_bprm_check; times are medians of CPU time")
    target = 30.0
    for backend in ("cel-expr-python", "cel-python"):
        if not available(backend):
            print(f"{backend}: not installed, skipped")
            continue
        n = args.events if backend == "cel-expr-python" else max(200, args.events // 10)
        r = time_backend(backend, n, args.rounds)
        verdict = ""
        if backend == "cel-expr-python":
            verdict = f"  (target < {target:.0f} µs: {'met' if r['per_event_per_expr'] < target else 'MISSED'})"
        print(f"{backend:16} {r['per_event_per_expr']:8.1f} µs per selected event per expression{verdict}")
        print(f"{'':16} input built once per event {r['build']:8.1f} µs; one evaluation {r['eval']:8.1f} µs"
              f"  ({n} events x {r['rules']} rules, {r['findings'] // args.rounds} findings per round)")

    for backend in ("cel-expr-python", "cel-python"):
        if not available(backend):
            continue
        evaluations = args.evaluations
        if backend == "cel-python" and not args.long:
            evaluations = 20_000
        # A fresh process per backend, so one's allocations do not hide the other's growth.
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, __file__, "--memory-run", backend, str(evaluations)],
                             capture_output=True, text=True, check=True).stdout
        took = time.perf_counter() - t0
        readings = json.loads(out)
        start = readings[0][1]
        steps = ", ".join(f"{n:,}: {kib / 1024:.1f}" for n, kib in readings)
        growth = readings[-1][1] - start
        per_eval = growth * 1024 / max(1, readings[-1][0])
        print(f"memory {backend}: RSS MiB after N evaluations -> {steps}; growth {growth:+,} KiB "
              f"({per_eval:.3f} bytes/evaluation) in {took:.0f} s")


def memory_main(backend: str, evaluations: int) -> None:
    print(json.dumps(memory_backend(backend, evaluations)))


if __name__ == "__main__":
    main()
