#!/usr/bin/env python3
"""Rule workers: what evaluating Rego and CEL rules out of process costs, and memory over a long run.

    python benchmarks/bench_workers.py [--events 20000] [--batches 1,8,64,256]
    python benchmarks/bench_workers.py --memory 1000000      # RSS of detector and workers over 1M events

Runs the tracee-sig-k8s pack's Rego and CEL rules (K8S-1/2/3/4/6) on bench_k8s.py's container
stream through the file input and the engine, in one run:
- in the detector's process (TRACEE_RULE_WORKERS=0; `auto` CEL then means cel-python, since
  regopy shares the process), and with cel-expr-python forced there;
- in rule workers, for each batch size (events per message).
Prints events/s, µs per event, the detector's own CPU per event (what the worker takes off the
decoding core), and the ratios against in-process measured in the same run.
Needs tracee, tracee-sig-rego, tracee-sig-cel (with cel-expr-python) and tracee-sig-k8s installed.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_k8s import make_line  # noqa: E402

from tracee import Event  # noqa: E402
from tracee.api import InputContext  # noqa: E402
from tracee.engine import Engine  # noqa: E402
from tracee.inputs.file import FileInput  # noqa: E402
from tracee.log import counting  # noqa: E402
from tracee.plugins import PluginHost  # noqa: E402
from tracee.runner import load_signatures  # noqa: E402
from tracee.workers import group as worker_group  # noqa: E402

RULES = ["K8S-1", "K8S-2", "K8S-3", "K8S-4", "K8S-6"]  # the pack's Rego and CEL rules


def load(workers: bool, backend: str | None = None) -> list[Any]:
    os.environ["TRACEE_RULE_WORKERS"] = "on" if workers else "off"
    options = {"cel_backend": backend} if backend else {}
    host = PluginHost().load_entry_points()
    return [item.signature for item in load_signatures(host, rules=RULES, options=options)]


def run_once(path: str, workers: bool, backend: str | None = None) -> tuple[float, float, int]:
    """(wall seconds, detector CPU seconds, findings) of one pass through input and engine."""
    with counting():
        sigs = load(workers, backend)
        found = [0]
        engine = Engine(sigs, lambda _f: found.__setitem__(0, found[0] + 1))
        source = FileInput(InputContext(path, engine.event_names()))
        cpu0, wall0 = time.process_time(), time.perf_counter()
        engine.run(source.events())  # includes flushing the workers: every finding is in
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return wall, cpu, found[0]


def throughput(opt: argparse.Namespace) -> None:
    rng = random.Random(7)
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as f:
        for _ in range(opt.events):
            f.write(make_line(rng, 0.01) + "\n")
        path = f.name
    try:
        n = opt.events
        rows: list[tuple[str, float, float, int]] = []
        base = run_once(path, workers=False)
        rows.append(("in-process, auto (cel-python beside regopy)", *base))
        fast = run_once(path, workers=False, backend="cel-expr-python")
        rows.append(("in-process, cel-expr-python forced", *fast))
        for batch in opt.batches:
            worker_group.BATCH = batch
            worker_group.MAX_QUEUE = 16 * batch
            rows.append((f"workers, batch {batch}", *run_once(path, workers=True)))
        print(f"{n:,} events, rules {' '.join(RULES)}, load {os.getloadavg()[0]:.2f}")
        print(f"{'mode':46} {'events/s':>10} {'µs/event':>9} {'detector CPU µs/event':>22} {'vs in-process':>14} "
              f"{'vs fast in-process':>19} findings")
        for name, wall, cpu, found in rows:
            print(f"{name:46} {n / wall:10,.0f} {wall / n * 1e6:9.1f} {cpu / n * 1e6:22.1f} "
                  f"{base[0] / wall:13.2f}x {fast[0] / wall:18.2f}x {found}")
        if len({r[3] for r in rows}) != 1:
            print("WARNING: the modes found different numbers of findings")
    finally:
        os.unlink(path)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(opt: argparse.Namespace) -> None:
    """RSS of the detector and of each worker over `--memory` events (lines decoded afresh each time)."""
    rng = random.Random(11)
    pool = [make_line(rng, 0.01).encode() for _ in range(20_000)]
    with counting():
        sigs = load(workers=True)
        groups = list({id(s.group): s.group for s in sigs if s.group is not None}.values())
        found = [0]
        engine = Engine(sigs, lambda _f: found.__setitem__(0, found[0] + 1))
        every = max(opt.memory // 10, 1)

        def events() -> Iterator[Event]:
            for i in range(opt.memory):
                if i % every == 0:
                    sample(i)
                yield Event.from_json(pool[i % len(pool)])

        def sample(i: int) -> None:
            workers = {g.name: rss_kb(g._proc.proc.pid) if g._proc else 0 for g in groups}
            print(f"{i:>10,} events  detector RSS {rss_kb(os.getpid()) / 1024:6.1f} MB  " +
                  "  ".join(f"{name} worker {kb / 1024:6.1f} MB" for name, kb in workers.items()), flush=True)

        began = time.perf_counter()
        engine.start()
        for event in events():
            engine.dispatch(event)
        for g in groups:
            g.flush()
        sample(opt.memory)
        engine.finish()
        took = time.perf_counter() - began
    print(f"{opt.memory:,} events in {took:.1f} s ({opt.memory / took:,.0f}/s), {found[0]} findings; "
          f"max RSS of the detector {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f} MB")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--batches", default="1,8,64,256", help="batch sizes to measure (comma-separated)")
    ap.add_argument("--memory", type=int, default=0, metavar="N", help="only the memory run, over N events")
    opt = ap.parse_args()
    opt.batches = [int(b) for b in opt.batches.split(",") if b]
    if opt.memory:
        memory(opt)
    else:
        throughput(opt)
    return 0


if __name__ == "__main__":
    sys.exit(main())
