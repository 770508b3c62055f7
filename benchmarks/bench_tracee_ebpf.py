#!/usr/bin/env python3
"""Benchmark of the `tracee-ebpf` command: what a filter costs where it runs, and what each output
format costs, measured on the real command line (a subprocess, output to /dev/null).

A producer (bench_ebpf.py's: comm `tracee-bench`, close(-1) at a fixed rate) runs beside
`tracee-ebpf -t event=close ...`. Each case prints the events tracee-ebpf read from the kernel,
wrote, lost, and its CPU (user+sys / wall; 100% = one core), with the ratio to the first case of
its group:

  filters  `comm=nobody-here` (a kernel map: the producer's events never reach user space)
           vs `comm=nobody-her*` (a wildcard: decoded, then dropped by the Matcher in user space)
  formats  `comm=tracee-bench` with -o json, gob, table, gotemplate: every event written
  cache    json at 2.5 times the rate, without and with --cache cache-type=mem

    sudo python benchmarks/bench_tracee_ebpf.py                     # ~1 min: 50k events/s, 6 s a case
    sudo python benchmarks/bench_tracee_ebpf.py --rate 20000 --seconds 4
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_ebpf import producer_command  # noqa: E402 - the shared producer

TRACEE_EBPF = str(Path(sys.executable).with_name("tracee-ebpf"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_of(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def run_case(args: list[str], producer: list[str], rate: int, seconds: float) -> dict[str, float]:
    proc = subprocess.Popen([TRACEE_EBPF, "-t", "event=close", *args, "-o", "out-file:/dev/null"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "tracing " in line:
            break
    else:
        raise SystemExit(f"tracee-ebpf did not start: {args}")
    cpu0, t0 = cpu_of(proc.pid), time.monotonic()
    made = int(subprocess.run([*producer, str(rate), str(seconds)], capture_output=True, text=True,
                              check=True).stdout.strip())
    time.sleep(0.3)  # the last reads
    cpu, wall = cpu_of(proc.pid) - cpu0, time.monotonic() - t0
    proc.send_signal(signal.SIGINT)
    err = proc.stderr.read()
    proc.wait(30)
    m = re.search(r"(\d+) events read, (\d+) skipped, (\d+) written, (\d+) lost", err)
    if not m:
        raise SystemExit(f"no summary from tracee-ebpf {args}:\n{err}")
    read, skipped, written, lost = map(int, m.groups())
    return {"made": made, "read": read, "written": written, "lost": lost, "cpu": 100 * cpu / wall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=50_000, help="close() calls per second")
    parser.add_argument("--seconds", type=float, default=6.0)
    a = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (BPF)", file=sys.stderr)
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-tracee-ebpf-"))
    producer = producer_command(work)
    template = work / "event.tmpl"
    template.write_text("{{ .Timestamp }} {{ .ProcessName }} {{ .EventName }} {{ range .Args }}{{ .Name }}={{ .Value }} "
                        "{{ end }}\n")
    groups = {
        "filters": [("kernel map   comm=nobody-here", ["-t", "comm=nobody-here", "-o", "json"]),
                    ("user space   comm=nobody-her*", ["-t", "comm=nobody-her*", "-o", "json"])],
        "formats": [("json", ["-t", "comm=tracee-bench", "-o", "json"]),
                    ("gob", ["-t", "comm=tracee-bench", "-o", "gob"]),
                    ("table", ["-t", "comm=tracee-bench", "-o", "table"]),
                    ("gotemplate", ["-t", "comm=tracee-bench", "-o", f"gotemplate={template}"])],
        "cache (json, at 2.5x the rate)": [
            ("no cache", ["-t", "comm=tracee-bench", "-o", "json"]),
            ("--cache cache-type=mem", ["-t", "comm=tracee-bench", "-o", "json", "--cache", "cache-type=mem"])],
    }
    print(f"producer: close(-1) at {a.rate}/s for {a.seconds:g}s per case; tracee-ebpf output to /dev/null")
    for group, cases in groups.items():
        print(f"\n{group}:")
        print(f"  {'case':<32} {'made':>8} {'read':>8} {'written':>8} {'lost':>7} {'CPU %':>6} {'CPU ratio':>9}")
        base = None
        rate = int(a.rate * 2.5) if group.startswith("cache") else a.rate
        for label, args in cases:
            r = run_case(args, producer, rate, a.seconds)
            base = base or r["cpu"] or 1.0
            print(f"  {label:<32} {r['made']:>8} {r['read']:>8} {r['written']:>8} {r['lost']:>7} "
                  f"{r['cpu']:>6.1f} {r['cpu'] / base:>8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
