"""Benchmark of tracee-sig-builtin: a realistic mixed event stream through the real pipeline.

Tracee JSON lines (mostly benign openat, security_file_open, sched_process_exec, execve, close;
some sockets, dups, exits; a few attacks) are generated on the fly and fed to `tracee.runner.run`
exactly as `tracee run --input file:- --output json` would get them: file input (line filter and
JSON decoding) -> engine -> all fifteen signatures -> rawjson output to /dev/null. Prints events/s,
µs/event and the process RSS at intervals (it must stay flat on long runs).

    python benchmarks/bench_builtin.py                      # ~3M events, about 30 s
    python benchmarks/bench_builtin.py --events 10000000    # the long, memory-flat run
    python benchmarks/bench_builtin.py --profile            # cProfile of the hot path
    python benchmarks/bench_builtin.py --events 500000 --write /tmp/mix.jsonl   # for the CLI:
        time tracee run --input file:/tmp/mix.jsonl --output json > /dev/null

Needs tracee, tracee-output-stdout and tracee-sig-builtin installed.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import sys
import time
from typing import Iterator

from tracee.events import catalog

# State stress: on a real node exits are rarely lost and containers live longer; here TRC-1 and
# TRC-13 reach their default caps (65536 sockets, 16384 containers) within ~3M events, so a long
# run shows memory staying flat once the caps are reached.
CONTAINER_EVERY = 6       # processes per container id (one in three processes is in a container)
LOST_EXIT_EVERY = 4       # one process in 4 "loses" its exit event and keeps its 2 sockets
ATTACK_EVERY = 5000       # one process in 5000 does something a signature reports

_BASE = ('{{"timestamp":1660656000000000000,"threadStartTime":1660655990000000000,"processorId":1,'
         '"processId":%d,"cgroupId":{cgroup},"threadId":%d,"parentProcessId":1200,"hostProcessId":%d,'
         '"hostThreadId":%d,"hostParentProcessId":1200,"userId":0,"mountNamespace":{mntns},'
         '"pidNamespace":{pidns},"processName":"{comm}","hostName":"ip-10-0-1-17","containerId":"%s",'
         '"containerImage":"","containerName":"","podName":"","podNamespace":"","podUID":"","eventId":"{eid}",'
         '"eventName":"{name}","argsNum":{argc},"returnValue":{ret},"stackAddresses":null,'
         '"contextFlags":{{"containerStarted":%s}},"args":{args}}}\n')


def _args(*triples: tuple[str, str, object]) -> str:
    return json.dumps([{"name": n, "type": t, "value": v} for n, t, v in triples], separators=(",", ":"))


def _template(name: str, args: list[tuple[str, str, object]], comm: str = "bash", ret: int = 0) -> tuple:
    """An event without its process context: rendered per host/container by `_render`."""
    return (name, _args(*args).replace("%", "%%"), comm, ret)


def _sfo(path: str, flags: str) -> list[tuple[str, str, object]]:
    return [("pathname", "const char*", path), ("flags", "string", flags), ("dev", "dev_t", 271581185),
            ("inode", "unsigned long", 2493759), ("ctime", "unsigned long", 1653730234432691496),
            ("syscall_pathname", "const char*", path), ("syscall", "int", "openat")]


def _openat(path: str, flags: int) -> list[tuple[str, str, object]]:
    return [("dirfd", "int", -100), ("pathname", "const char*", path), ("flags", "int", flags), ("mode", "mode_t", 0)]


def _exec(path: str, argv: list[str]) -> list[tuple[str, str, object]]:
    return [("cmdpath", "const char*", path), ("pathname", "const char*", path), ("argv", "const char**", argv),
            ("dev", "dev_t", 271581185), ("inode", "unsigned long", 2752590), ("invoked_from_kernel", "int", 0),
            ("ctime", "unsigned long", 1653730234432691496), ("stdin_type", "string", "S_IFCHR"),
            ("inode_mode", "umode_t", 33261), ("interp", "const char*", path),
            ("interpreter_pathname", "const char*", "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            ("interpreter_dev", "dev_t", 271581185), ("interpreter_inode", "unsigned long", 2752590)]


def _inet(ip: str, port: int) -> dict[str, str]:
    return {"sa_family": "AF_INET", "sin_port": str(port), "sin_addr": ip}


ENV = ["PATH=/usr/local/bin:/usr/bin:/bin", "HOSTNAME=web-1", "KUBERNETES_SERVICE_HOST=10.96.0.1",
       "KUBERNETES_SERVICE_PORT=443", "HOME=/root"]
LIBS = ["/etc/ld.so.cache", "/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libtinfo.so.6",
        "/usr/lib/locale/locale-archive", "/etc/nsswitch.conf", "/etc/passwd"]

# A benign process's life: exec, library and config opens (openat + LSM open + close), a socket
# (DNS), exit. About 23 events, like a short-lived command.
BENIGN = [
    _template("execve", [("pathname", "const char*", "/usr/bin/curl"), ("argv", "const char**", ["curl", "-s", "x"]),
                         ("envp", "const char**", ENV)]),
    _template("sched_process_exec", _exec("/usr/bin/curl", ["curl", "-s", "x"]), comm="curl"),
    _template("security_file_open", _sfo("/etc/ld.so.preload", "O_RDONLY|O_LARGEFILE"), comm="curl"),
    *[t for path in LIBS for t in (
        _template("openat", _openat(path, 524288), comm="curl", ret=3),
        _template("security_file_open", _sfo(path, "O_RDONLY|O_LARGEFILE"), comm="curl"),
        _template("close", [("fd", "int", 3)], comm="curl"))],
]
CONNECT = [
    _template("security_socket_connect", [("sockfd", "int", 4), ("remote_addr", "struct sockaddr*",
                                                                 _inet("10.96.0.10", 53))], comm="curl"),
    _template("dup2", [("oldfd", "int", 4), ("newfd", "int", 9)], comm="curl", ret=9),
]
EXIT = _template("sched_process_exit", [("exit_code", "long", 0), ("process_group_exit", "bool", True)], comm="curl")
ATTACKS = [
    [_template("security_socket_connect", [("sockfd", "int", 3), ("remote_addr", "struct sockaddr*",
                                                                  _inet("10.0.0.5", 4444))]),
     _template("dup2", [("oldfd", "int", 3), ("newfd", "int", 0)], ret=0)],                         # TRC-1
    [_template("ptrace", [("request", "string", "PTRACE_TRACEME"), ("pid", "pid_t", 0),
                          ("addr", "void*", "0x0"), ("data", "void*", "0x0")], comm="strace")],     # TRC-2
    [_template("security_file_open", _sfo("/proc/self/mem", "O_RDWR|O_LARGEFILE"), comm="python3")],  # TRC-3
    [_template("magic_write", [("pathname", "const char*", "/tmp/x"), ("bytes", "bytes",
               base64.b64encode(b"\x7fELF\x02\x01\x01").decode()), ("dev", "dev_t", 2049),
               ("inode", "unsigned long", 12)], comm="cp")],                                          # TRC-9
]


def _render(template: tuple, container: bool) -> bytes:
    """A %-template of one line; fill with (pid, pid, host pid, host pid, container id, started)."""
    name, args, comm, ret = template
    ns = (5291, 4026532560, 4026532563) if container else (1, 4026531840, 4026531836)
    return _BASE.format(cgroup=ns[0], mntns=ns[1], pidns=ns[2], comm=comm, eid=catalog.by_name(name).id, name=name,
                        argc=args.count('"name":'), ret=ret, args=args).encode()


def stream(total: int) -> Iterator[bytes]:
    """`total` JSON lines: processes with rising pids (so state keeps meeting new keys)."""
    benign = {c: [_render(t, c) for t in BENIGN] for c in (False, True)}
    connect = {c: [_render(t, c) for t in CONNECT] for c in (False, True)}
    exit_ = {c: _render(EXIT, c) for c in (False, True)}
    attacks = [[_render(t, False) for t in lines] for lines in ATTACKS]
    sent = 0
    proc = 0
    while sent < total:
        proc += 1
        pid = 10_000 + proc
        in_container = proc % 3 == 0
        cid = b"%064x" % (proc // CONTAINER_EVERY) if in_container else b""
        started = b"true" if in_container else b"false"
        hpid = pid + 3_000_000 if in_container else pid
        fill = (pid, pid, hpid, hpid, cid, started)
        lines = list(benign[in_container])
        lines += connect[in_container]
        if proc % LOST_EXIT_EVERY:
            lines.append(exit_[in_container])
        if proc % ATTACK_EVERY == 0:
            lines += attacks[(proc // ATTACK_EVERY) % len(attacks)]
        for template in lines:
            yield template % fill
            sent += 1
            if sent >= total:
                return


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Metered:
    """The line source, printing throughput and RSS every `every` lines."""

    def __init__(self, lines: Iterator[bytes], every: int, out: io.TextIOBase) -> None:
        self.lines, self.every, self.out = lines, every, out
        self.count = 0
        self.last = time.perf_counter()
        self.last_cpu = time.process_time()
        self.samples: list[float] = []

    def __iter__(self) -> Iterator[bytes]:
        every, count = self.every, 0
        for line in self.lines:
            yield line
            count += 1
            if count % every == 0:
                now, cpu = time.perf_counter(), time.process_time()
                rate, cpu_rate = every / (now - self.last), every / max(cpu - self.last_cpu, 1e-9)
                self.last, self.last_cpu = now, cpu
                rss = rss_mb()
                self.samples.append(rss)
                print(f"  {count:>11,} events  {rate:>9,.0f} ev/s wall  {cpu_rate:>9,.0f} ev/s CPU  "
                      f"RSS {rss:7.1f} MB", file=self.out, flush=True)
        self.count = count


def run_pipeline(total: int, every: int, out: io.TextIOBase) -> tuple[float, float, Metered]:
    from tracee.plugins import PluginHost
    from tracee.runner import RunOptions, run

    source = Metered(stream(total), every, out)
    host = PluginHost().load_entry_points()
    saved = sys.stdin, sys.stdout
    sys.stdin = type("Stdin", (), {"buffer": iter(source)})()  # what FileInput reads for `file:-`
    sys.stdout = open(os.devnull, "w")  # the json output's sink
    try:
        start, start_cpu = time.perf_counter(), time.process_time()
        # Only the fifteen of this pack, whatever else is installed in the environment.
        code = run(host, RunOptions(inputs=["file:-"], outputs=["json"], rules=[f"TRC-{n}" for n in range(1, 16)]))
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    finally:
        sys.stdout.close()
        sys.stdin, sys.stdout = saved
    if code != 0:
        raise SystemExit(f"tracee run exited {code}")
    return elapsed, cpu, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3_000_000, help="events to replay (default: 3,000,000)")
    parser.add_argument("--every", type=int, default=0, help="print rate and RSS every N events (default: 10 samples)")
    parser.add_argument("--profile", action="store_true", help="run under cProfile and print the top functions")
    parser.add_argument("--write", metavar="FILE", help="only write the stream to FILE (for timing the CLI)")
    args = parser.parse_args()
    out = sys.stdout
    if args.write:
        with open(args.write, "wb") as f:
            f.writelines(stream(args.events))
        print(f"wrote {args.events:,} events to {args.write}")
        return
    every = args.every or max(args.events // 10, 1)

    start = time.process_time()
    generated = sum(1 for _ in stream(min(args.events, 500_000)))
    gen_us = (time.process_time() - start) / generated * 1e6

    print(f"replaying {args.events:,} events through tracee run (file input -> engine -> 15 signatures -> json)")
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        elapsed, cpu, source = run_pipeline(args.events, every, out)
        profiler.disable()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    else:
        elapsed, cpu, source = run_pipeline(args.events, every, out)
    n = args.events
    print(f"\n{n:,} events in {elapsed:.1f} s wall, {cpu:.1f} s CPU")
    print(f"  end to end: {n / elapsed:,.0f} events/s wall ({elapsed / n * 1e6:.2f} µs/event); "
          f"{n / cpu:,.0f} events/s per CPU second ({cpu / n * 1e6:.2f} µs/event)")
    net = cpu / n * 1e6 - gen_us  # the generator runs in this process: take its cost out
    print(f"  generating the lines costs {gen_us:.2f} µs/event; without it: {1e6 / net:,.0f} events/s "
          f"({net:.2f} µs/event)")
    print("  (wall figures suffer when other jobs share the CPUs; the CPU figures much less)")
    if len(source.samples) >= 2:
        print(f"  RSS: first sample {source.samples[0]:.1f} MB, last {source.samples[-1]:.1f} MB, "
              f"max {max(source.samples):.1f} MB")


if __name__ == "__main__":
    main()
