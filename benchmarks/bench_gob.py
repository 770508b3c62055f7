#!/usr/bin/env python3
"""gob micro-benchmark: encode and decode events/s, against JSON encode/decode of the same events.

    python benchmarks/bench_gob.py [--events 50000] [--repeat 3]

The events are realistic tracee-ebpf events (openat, security_file_open, execve with argv,
connect with a sockaddr, ptrace ...). Both formats are measured in the same run, over the same
events; the best of --repeat runs is kept. Decoding goes through the two inputs of `tracee run`
(--input gob:X, --input file:X), in full and with one event name of seven selected.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time

from tracee import Event
from tracee.api import InputContext
from tracee.formats.gob import GobEncoder
from tracee.inputs.file import FileInput
from tracee.inputs.gob import GobInput

NAMES = ["openat", "security_file_open", "execve", "security_socket_connect", "ptrace", "close", "read"]


def make_event(rng: random.Random) -> Event:
    name = rng.choice(NAMES)
    pid = rng.randint(100, 60000)
    if name == "execve":
        args = [{"name": "pathname", "type": "const char*", "value": "/usr/bin/ls"},
                {"name": "argv", "type": "const char**", "value": ["ls", "-la", "/tmp"]}]
    elif name == "security_socket_connect":
        args = [{"name": "sockfd", "type": "int", "value": 3},
                {"name": "remote_addr", "type": "struct sockaddr*",
                 "value": {"sa_family": "AF_INET", "sin_port": "53", "sin_addr": "10.225.0.2"}}]
    elif name == "ptrace":
        args = [{"name": "request", "type": "string", "value": "PTRACE_TRACEME"},
                {"name": "pid", "type": "pid_t", "value": 0},
                {"name": "addr", "type": "void*", "value": "0x0"}, {"name": "data", "type": "void*", "value": "0x0"}]
    elif name in ("close", "read"):
        args = [{"name": "fd", "type": "int", "value": rng.randint(0, 100)}]
    else:
        args = [{"name": "pathname", "type": "const char*", "value": f"/proc/{pid}/stat"},
                {"name": "flags", "type": "string", "value": "O_RDONLY|O_LARGEFILE"},
                {"name": "dev", "type": "dev_t", "value": 5}, {"name": "inode", "type": "unsigned long", "value": 4026532025}]
    return Event(name, args, event_id=257, timestamp=1657292314817581101 + rng.randint(0, 10**9),
                 thread_start_time=617395606682013, processor_id=rng.randint(0, 7), process_id=pid,
                 cgroup_id=1, thread_id=pid, parent_process_id=1, host_process_id=pid, host_thread_id=pid,
                 host_parent_process_id=1, user_id=1000, mount_namespace=4026531840,
                 pid_namespace=4026531836, process_name="bash", host_name="fujitsu", return_value=0)


def best(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(1)
    events = [make_event(rng) for _ in range(args.events)]
    n = len(events)

    def gob_encode() -> bytes:
        enc = GobEncoder()
        return b"".join([enc.encode(e) for e in events])

    def json_encode() -> bytes:
        return "".join([e.to_json() + "\n" for e in events]).encode()

    gob_data, json_data = gob_encode(), json_encode()

    # Decoding through the two real inputs (`--input gob:X` and `--input file:X`), which both
    # skip events no signature selects: the JSON one by a peek at the name, gob after its field.
    tmp = tempfile.mkdtemp()
    gob_path, json_path = os.path.join(tmp, "e.gob"), os.path.join(tmp, "e.jsonl")
    with open(gob_path, "wb") as f:
        f.write(gob_data)
    with open(json_path, "wb") as f:
        f.write(json_data)

    def read(factory, path, names=None) -> int:
        source = factory(InputContext(argument=path, event_names=names))
        count = sum(1 for _ in source.events())
        source.close()
        return count

    assert read(GobInput, gob_path) == read(FileInput, json_path) == n
    selected = frozenset({"ptrace"})  # 1 name of 7
    results = [
        ("encode", best(args.repeat, gob_encode), best(args.repeat, json_encode)),
        ("decode (every event built)", best(args.repeat, lambda: read(GobInput, gob_path)),
         best(args.repeat, lambda: read(FileInput, json_path))),
        ("decode, 1 name of 7 selected", best(args.repeat, lambda: read(GobInput, gob_path, selected)),
         best(args.repeat, lambda: read(FileInput, json_path, selected))),
    ]
    print(f"{n} events; gob {len(gob_data) / n:.0f} B/event, JSON {len(json_data) / n:.0f} B/event; "
          f"load {os.getloadavg()[0]:.2f}")
    print(f"{'':32} {'gob events/s':>14} {'JSON events/s':>14} {'gob/JSON':>9}")
    for label, g, j in results:
        print(f"{label:32} {n / g:>14,.0f} {n / j:>14,.0f} {j / g:>8.2f}x")


if __name__ == "__main__":
    main()
