#!/usr/bin/env python3
"""Benchmark of what `tracee run` costs the traced machine: a fixed syscall workload timed alone,
under a minimal bpftrace program (the floor any sensor pays) and under `tracee run` with every rule.

Workloads (one C program, compiled with cc at run time; each times its own loop, wall clock):

  open/close  open() + close() of /etc/hostname N times (--opens, default 500,000; --flood 2000000)
  exec        fork() + execve("/bin/true") + wait, M times (--execs)
  connect     socket() + connect() to a closed TCP port on 127.0.0.1 (ECONNREFUSED) + close, K times
  walk        nftw() over /usr (--walk-root), every entry lstat()ed (warmed once first, untimed)

Each workload is timed under three sensors, in this order, each started for it and stopped after:
alone; under `bpftrace` counting, in the kernel, only the tracepoints the workloads cross (sys_exit
of openat, close, execve, socket, connect, newfstatat, getdents64, and sched_process_{fork,exec,exit};
one map each: no record reaches user space until the end); and under the repo's `tracee run
--output json` with default flags (every installed rule, the eBPF input), timed from its "Loaded N
signature(s)" banner (printed once the input's buffers are open). Under each sensor the workload runs
--repeat times (alone once more: the first run warms caches) and the fastest run counts; every run's
time is printed, since the machine is shared. Halfway through each loop the workload forks a child
that calls ptrace(PTRACE_TRACEME): the canary. Its TRC-2 finding on tracee's stdout while the loop
still runs is "live delivery"; its latency is printed.

Printed per workload: seconds alone / under bpftrace / under tracee, the ratios tracee/alone,
bpftrace/alone and tracee/bpftrace, the events bpftrace counted, the events tracee read (delivered to
user space) and lost (from its summary line), its findings by ID (the canaries' TRC-2 among them;
TRACEE-LOSS is the loss finding), and the canary's latency. Both sensors count the whole machine, over
all --repeat runs: other work on the machine shows up in the counts and findings (bpftrace's top
tracepoints are printed).

    sudo .venv/bin/python benchmarks/bench_overhead.py                    # ~2-3 min
    sudo .venv/bin/python benchmarks/bench_overhead.py --flood 2000000    # the issue's open/close flood
    sudo .venv/bin/python benchmarks/bench_overhead.py --opens 50000 --execs 200 --connects 5000 --only open,exec

Needs root and cc; bpftrace from Debian (`apt-get install -y bpftrace`): without it the bpftrace
column is left out and the rest still runs.

Targets (issue 19): the open/close flood under `tracee run` with every rule within 1.1x of
bpftrace's floor, 0 events lost, and live delivery (the canary's finding while the flood runs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

WORKLOAD_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);   /* the clock of Python's time.monotonic() */
    return t.tv_sec + t.tv_nsec / 1e9;
}
static void die(const char *what) { fprintf(stderr, "workload: %s: %s\n", what, strerror(errno)); exit(2); }

/* The canary: a child asks to be traced (TRC-2), the time printed for the bench's latency. */
static void canary(void) {
    double at = now();
    pid_t child = fork();
    if (child < 0) die("fork");
    if (child == 0) { ptrace(PTRACE_TRACEME, 0, NULL, NULL); _exit(0); }
    waitpid(child, NULL, 0);
    printf("canary pid=%d at=%.6f\n", child, at);
}

static long walked, canary_at;
static int visit(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)path; (void)st; (void)flag; (void)ftw;
    if (++walked == canary_at) canary();
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: workload open|exec|connect|walk N|DIR [PORT|CANARY-AT]\n"); return 64; }
    const char *mode = argv[1];
    long n = atol(argv[2]), done = 0;
    double start = now(), end;
    if (!strcmp(mode, "open")) {
        for (long i = 0; i < n; i++) {
            if (i == n / 2) canary();
            int fd = open("/etc/hostname", O_RDONLY);
            if (fd < 0) die("open /etc/hostname");
            close(fd);
        }
        done = n;
    } else if (!strcmp(mode, "exec")) {
        char *args[] = {"true", NULL}, *env[] = {NULL};
        for (long i = 0; i < n; i++) {
            if (i == n / 2) canary();
            pid_t child = fork();
            if (child < 0) die("fork");
            if (child == 0) { execve("/bin/true", args, env); _exit(127); }
            int status;
            if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) die("exec /bin/true");
        }
        done = n;
    } else if (!strcmp(mode, "connect")) {
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        for (long i = 0; i < n; i++) {
            if (i == n / 2) canary();
            int s = socket(AF_INET, SOCK_STREAM, 0);
            if (s < 0) die("socket");
            if (connect(s, (struct sockaddr *)&to, sizeof to) == 0 || errno != ECONNREFUSED) die("connect (expected ECONNREFUSED)");
            close(s);
        }
        done = n;
    } else if (!strcmp(mode, "walk")) {
        canary_at = argc > 3 ? atol(argv[3]) : 0;
        if (nftw(argv[2], visit, 64, FTW_PHYS) < 0) die("nftw");
        done = walked;
    } else { fprintf(stderr, "workload: unknown mode %s\n", mode); return 64; }
    end = now();
    printf("ops=%ld seconds=%.6f\n", done, end - start);
    return 0;
}
"""

# The floor: the tracepoints the workloads cross, each counted in the kernel into its own map
# (no key to hash), nothing sent to user space until the maps are printed at the end.
FLOOR_TRACEPOINTS = ("syscalls:sys_exit_openat", "syscalls:sys_exit_close", "syscalls:sys_exit_execve",
                     "syscalls:sys_exit_socket", "syscalls:sys_exit_connect", "syscalls:sys_exit_newfstatat", "syscalls:sys_exit_getdents64",
                     "sched:sched_process_fork", "sched:sched_process_exec", "sched:sched_process_exit")
BPFTRACE_PROGRAM = 'BEGIN { printf("ready\\n"); }\n' + "".join(
    f"tracepoint:{tp} {{ @{tp.split(':')[1]} = count(); }}\n" for tp in FLOOR_TRACEPOINTS)

# What the workload runs with: no LD_PRELOAD or LD_LIBRARY_PATH from the caller (a TRC-7 finding).
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
TRACEE = str(Path(sys.executable).with_name("tracee"))
READY_TIMEOUT = 180.0  # tracee compiles its BPF program at start (seconds on an idle machine)


@dataclass
class Timed:
    """One workload run: its own figures, and the sensor's."""

    seconds: float
    ops: int
    canary_pid: int = 0
    canary_at: float = 0.0
    ended_at: float = 0.0
    events: int | None = None        # bpftrace: counted in the kernel; tracee: read by user space
    lost: int | None = None
    findings: dict[str, int] = field(default_factory=dict)
    # tracee, one per run: seconds from the canary to its finding on stdout (None: no finding), and
    # whether it arrived while that run's loop still ran
    canaries: list[tuple[float | None, bool]] = field(default_factory=list)
    summary: str = ""
    all_seconds: list[float] = field(default_factory=list)  # every run under this sensor
    breakdown: dict[str, int] = field(default_factory=dict)  # bpftrace: per tracepoint


def compile_workload(work: Path) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        raise SystemExit("bench_overhead: no C compiler (apt-get install gcc libc6-dev): the workloads are C")
    src, exe = work / "workload.c", work / "workload"
    src.write_text(WORKLOAD_C)
    built = subprocess.run([cc, "-O2", "-Wall", "-o", str(exe), str(src)], capture_output=True, text=True)
    if built.returncode:
        raise SystemExit(f"bench_overhead: compiling the workload failed:\n{built.stderr}")
    return exe


def run_workload(argv: list[str]) -> Timed:
    done = subprocess.run(argv, capture_output=True, text=True, env=CLEAN_ENV, stdin=subprocess.DEVNULL)
    ended = time.monotonic()
    if done.returncode:
        raise SystemExit(f"bench_overhead: workload {' '.join(argv[1:])} failed ({done.returncode}): {done.stderr}")
    m = re.search(r"ops=(\d+) seconds=([\d.]+)", done.stdout)
    c = re.search(r"canary pid=(\d+) at=([\d.]+)", done.stdout)
    assert m, done.stdout
    return Timed(float(m.group(2)), int(m.group(1)), int(c.group(1)) if c else 0, float(c.group(2)) if c else 0.0,
                 ended)


def closed_port() -> int:
    """A loopback TCP port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- sensors ----------------------------------------------------------------------------------------------
class Bpftrace:
    """The floor: bpftrace counting the workloads' tracepoints, a map each, printed at SIGINT."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["bpftrace", "-e", BPFTRACE_PROGRAM], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        seen = []
        for line in self.proc.stdout:   # BEGIN runs once every probe is attached
            seen.append(line)
            if line.strip() == "ready":
                return
        self.proc.wait()
        raise RuntimeError(f"bpftrace did not start (exit {self.proc.returncode}):\n{''.join(seen)}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        self.counts = {name: int(n) for name, n in re.findall(r"^@(\w+): (\d+)$", out, re.M)}
        return sum(self.counts.values())


class TraceeRun:
    """`tracee run --output json` (default flags: every installed rule, the eBPF input); findings
    read from stdout as they come (with their arrival time), the summary line from stderr."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([TRACEE, "run", "--output", "json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                     start_new_session=True)
        self.findings: list[tuple[float, dict]] = []
        self.stderr: list[str] = []
        self.bad_lines = 0
        ready = threading.Event()

        def read_out() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                try:
                    self.findings.append((time.monotonic(), json.loads(line)))
                except ValueError:
                    self.bad_lines += 1

        def read_err() -> None:
            assert self.proc.stderr is not None
            for line in self.proc.stderr:
                self.stderr.append(line.rstrip("\n"))
                if "Loaded " in line and "signature(s)" in line:
                    ready.set()
            ready.set()

        self.threads = [threading.Thread(target=f, daemon=True) for f in (read_out, read_err)]
        for t in self.threads:
            t.start()
        if not ready.wait(READY_TIMEOUT) or self.proc.poll() is not None:
            self.stop()
            raise SystemExit("bench_overhead: tracee run did not get ready:\n" + "\n".join(self.stderr[-20:]))

    def stop(self, settle: float = 1.0) -> str:
        """SIGINT after `settle` s (the last records read), then its summary line."""
        time.sleep(settle)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self.threads:
            t.join(10)
        return next((l for l in reversed(self.stderr) if "summary:" in l), "")


def summary_counts(line: str) -> dict[str, int]:
    """'summary: 12 events read, 0 skipped, ..., 3 lost, 1 finding(s), ...' -> {'events read': 12, ...}."""
    head = line.split("summary:", 1)[-1].split(";", 1)[0]
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"(\d+) ([^,]+)", head)}


def measure(sensor: str, argv: list[str], repeat: int) -> Timed:
    """The workload `repeat` times under one sensor started for it; the fastest run, with the
    sensor's counts over all of them."""
    bt = Bpftrace() if sensor == "bpftrace" else None
    tr = TraceeRun() if sensor == "tracee" else None
    # alone, once more: the first run of a workload also warms caches (exec: /bin/true's pages)
    runs = [run_workload(argv) for _ in range(repeat + (sensor == "alone"))]
    best = min(runs, key=lambda r: r.seconds)
    best.all_seconds = [r.seconds for r in runs]
    if bt is not None:
        best.events = bt.stop()
        best.breakdown = bt.counts
    if tr is not None:
        best.summary = tr.stop()
        counts = summary_counts(best.summary)
        best.events = counts.get("events read")
        best.lost = counts.get("lost")
        for _, f in tr.findings:
            sid = f.get("SigMetadata", {}).get("ID", "?")
            best.findings[sid] = best.findings.get(sid, 0) + 1
        arrivals = {f.get("Context", {}).get("hostProcessId"): arrived for arrived, f in tr.findings
                    if f.get("SigMetadata", {}).get("ID") == "TRC-2"}
        for r in runs:
            arrived = arrivals.get(r.canary_pid)
            best.canaries.append((None, False) if arrived is None else (arrived - r.canary_at, arrived <= r.ended_at))
        if tr.bad_lines:
            print(f"  tracee run wrote {tr.bad_lines} stdout line(s) that are not JSON findings", file=sys.stderr)
        if not best.summary:
            print("  tracee run printed no summary line:\n  " + "\n  ".join(tr.stderr[-10:]), file=sys.stderr)
    return best


def canary_cell(canaries: list[tuple[float | None, bool]]) -> str:
    found = [(late, live) for late, live in canaries if late is not None]
    if not found:
        return "none"
    cell = f"{max(late for late, _ in found):.2f}" + ("" if all(live for _, live in found) else "!")
    return cell if len(found) == len(canaries) else f"{cell} {len(found)}/{len(canaries)}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opens", type=int, default=500_000, help="open+close of /etc/hostname")
    ap.add_argument("--flood", type=int, metavar="N", help="the open/close flood: same as --opens N")
    ap.add_argument("--execs", type=int, default=2_000, help="fork+exec of /bin/true")
    ap.add_argument("--connects", type=int, default=100_000, help="connect() to a closed loopback port")
    ap.add_argument("--walk-root", default="/usr", help="the tree nftw() walks")
    ap.add_argument("--only", default="open,exec,connect,walk", help="workloads to run, comma-separated")
    ap.add_argument("--repeat", type=int, default=2,
                    help="runs per workload under each sensor, one sensor start (the fastest counts; alone: +1)")
    ap.add_argument("--no-bpftrace", action="store_true", help="leave the bpftrace floor out")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("bench_overhead: needs root (BPF): run with sudo", file=sys.stderr)
        return 1
    if not Path(TRACEE).exists():
        print(f"bench_overhead: {TRACEE} not found: run with the repo's .venv/bin/python (./scripts/quickstart)",
              file=sys.stderr)
        return 1
    sensors = ["alone", "bpftrace", "tracee"]
    if a.no_bpftrace:
        sensors.remove("bpftrace")
    elif not shutil.which("bpftrace"):
        print("bench_overhead: bpftrace not found: the floor column is left out "
              "(install it: apt-get install -y bpftrace)", file=sys.stderr)
        sensors.remove("bpftrace")

    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    exe = str(compile_workload(work))
    warm = run_workload([exe, "walk", a.walk_root])  # the tree into the dentry cache; its size
    opens = a.flood or a.opens
    workloads = {
        "open": (f"open/close x{opens:,}", [exe, "open", str(opens)]),
        "exec": (f"fork+exec x{a.execs:,}", [exe, "exec", str(a.execs)]),
        "connect": (f"connect x{a.connects:,}", [exe, "connect", str(a.connects), str(closed_port())]),
        "walk": (f"nftw {a.walk_root} ({warm.ops:,})", [exe, "walk", a.walk_root, str(warm.ops // 2)]),
    }
    chosen = [w.strip() for w in a.only.split(",") if w.strip()]
    unknown = [w for w in chosen if w not in workloads]
    if unknown:
        print(f"bench_overhead: unknown workload(s) {unknown}; choose from {list(workloads)}", file=sys.stderr)
        return 2
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; sensors: {', '.join(sensors)}; "
          f"tracee: {TRACEE} run --output json (every installed rule)", flush=True)

    results: dict[str, dict[str, Timed]] = {}
    for key in chosen:
        label, argv = workloads[key]
        results[key] = {}
        for sensor in list(sensors):
            try:
                t = measure(sensor, argv, a.repeat)
            except RuntimeError as exc:   # bpftrace refused the program: the other columns go on
                print(f"bench_overhead: {exc}the bpftrace column is left out", file=sys.stderr)
                sensors.remove(sensor)
                continue
            results[key][sensor] = t
            extra = ""
            if sensor == "bpftrace":
                top = ", ".join(f"{k} {v:,}" for k, v in sorted(t.breakdown.items(), key=lambda kv: -kv[1])[:3])
                extra = f"; {t.events:,} events counted in the kernel ({top}, ...)"
            elif sensor == "tracee":
                canary = " ".join("MISSING" if late is None else f"{late:.2f}s{'' if live else ' (after the loop)'}"
                                  for late, live in t.canaries)
                extra = f"; {t.summary.split('tracee: ', 1)[-1].split('; per signature')[0]}; canary findings: {canary}"
            runs = " ".join(f"{x:.3f}" for x in t.all_seconds)
            print(f"  {label:<26} {sensor:<8} best {t.seconds:7.3f}s of [{runs}]{extra}", flush=True)

    print(f"\n{'workload':<28} {'alone s':>8} {'bpftr s':>8} {'tracee s':>8} {'tr/alone':>9} {'bt/alone':>9} "
          f"{'tr/bt':>7} {'bt events':>10} {'delivered':>10} {'lost':>9} {'canary s':>11}  findings")
    for key, by in results.items():
        alone, bt, tr = by["alone"], by.get("bpftrace"), by["tracee"]
        canary = canary_cell(tr.canaries)
        found = " ".join(f"{k}={v}" for k, v in sorted(tr.findings.items())) or "none"
        print(f"{workloads[key][0]:<28} {alone.seconds:8.3f} {f'{bt.seconds:.3f}' if bt else '-':>8} "
              f"{tr.seconds:8.3f} {ratio(tr.seconds, alone.seconds):>9} "
              f"{ratio(bt.seconds, alone.seconds) if bt else '-':>9} {ratio(tr.seconds, bt.seconds) if bt else '-':>7} "
              f"{f'{bt.events:,}' if bt and bt.events is not None else '-':>10} {tr.events or 0:>10,} {tr.lost or 0:>9,} {canary:>11}  {found}")
    print("canary s: the slowest of the runs' canaries, from ptrace(PTRACE_TRACEME) to its TRC-2 finding on "
          "tracee's stdout (! = after its loop ended: not live; k/R = only k of R canaries found)")

    if "open" in results:
        by = results["open"]
        tr, bt = by["tracee"], by.get("bpftrace")
        floor = tr.seconds / bt.seconds if bt else None
        marks = {True: "met", False: "MISSED"}
        print(f"\ntarget, open/close x{opens:,} under tracee run with every rule:")
        if floor is not None:
            print(f"  within 1.1x of bpftrace's floor: {floor:.2f}x  {marks[floor <= 1.1]}")
        else:
            print("  within 1.1x of bpftrace's floor: not measured (no bpftrace)")
        print(f"  0 events lost: {tr.lost or 0:,} lost of {tr.events or 0:,} read  {marks[not tr.lost]}")
        live = bool(tr.canaries) and all(ok for _, ok in tr.canaries)
        print(f"  live delivery (every canary's finding while the flood runs): {canary_cell(tr.canaries)}  "
              f"{marks[live]}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
