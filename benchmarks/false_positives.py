#!/usr/bin/env python3
"""False positives: `tracee run` with every installed signature, live, while ordinary work runs.

The work, in rounds until the time is up: package-manager queries (dpkg -l, dpkg -S, apt-cache
policy/show), compiling and running C with gcc, shell pipelines (sh, bash), Python scripts, tar,
cp/find/ps/grep, a small exec storm, and (with --test-suite) the project's core test suite. Every
finding that arrives is printed with its cause: signature, event, process, arguments.

    sudo .venv/bin/python benchmarks/false_positives.py                 # 10 minutes, whole machine
    sudo .venv/bin/python benchmarks/false_positives.py --duration 60 --scope workload --json

--scope machine (default) watches every process on the machine, as a deployment would;
--scope workload watches only the generated work (`--pid <it> --follow`), which is what CI
asserts on, since on a shared machine other people's real attacks-in-tests are not false positives.
Exit status: 0 when no finding arrived, 1 otherwise, 2 if tracee could not run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
C_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    char *buf = malloc(1 << 20);
    memset(buf, 'x', 1 << 20);
    unsigned long sum = 0;
    for (int i = 0; i < (1 << 20); i++) sum += buf[i];
    printf("%lu\n", sum);
    free(buf);
    return 0;
}
"""
PY_SCRIPT = ("import json, sqlite3, hashlib, tempfile, subprocess, pathlib\n"
             "db = sqlite3.connect(':memory:'); db.execute('create table t(x)');\n"
             "db.executemany('insert into t values (?)', [(i,) for i in range(1000)])\n"
             "d = pathlib.Path(tempfile.mkdtemp()); (d / 'a.json').write_text(json.dumps({'k': 1}))\n"
             "print(hashlib.sha256((d / 'a.json').read_bytes()).hexdigest())\n"
             "subprocess.run(['true'])\n")


def tracee_executable() -> str:
    beside = Path(sys.executable).with_name("tracee")
    return str(beside) if beside.exists() else (shutil.which("tracee") or "tracee")


# -- the work ------------------------------------------------------------------------------------------
def workload_commands(tmp: Path, test_suite: bool) -> list[tuple[str, list[str]]]:
    """(label, argv) of one round."""
    src = tmp / "prog.c"
    src.write_text(C_PROGRAM)
    py = tmp / "script.py"
    py.write_text(PY_SCRIPT)
    (tmp / "tree").mkdir(exist_ok=True)
    for i in range(20):
        (tmp / "tree" / f"f{i}.txt").write_text("line\n" * i)
    cmds: list[tuple[str, list[str]]] = [
        ("dpkg -l", ["dpkg", "-l"]),
        ("dpkg -S /bin/ls", ["dpkg", "-S", "/bin/ls"]),
        ("apt-cache policy", ["apt-cache", "policy", "python3", "gcc"]),
        ("apt-cache show", ["apt-cache", "show", "coreutils"]),
        ("gcc compile", ["gcc", "-O2", "-o", str(tmp / "prog"), str(src)]),
        ("run compiled program", [str(tmp / "prog")]),
        ("sh pipeline", ["sh", "-c", "for i in 1 2 3 4 5; do echo $i | grep -c 1 >/dev/null; done; "
                                     "ls /etc | sort | uniq | wc -l"]),
        ("bash script", ["bash", "-c", "set -e; x=$(date +%s); cd /tmp; for f in /usr/bin/*; do :; done; "
                                       "cat /etc/os-release | cut -d= -f1 >/dev/null; echo $x"]),
        ("python script", [sys.executable, str(py)]),
        ("python -m compileall", [sys.executable, "-m", "compileall", "-q", str(tmp / "tree")]),
        ("tar round trip", ["sh", "-c", f"tar czf {tmp}/t.tgz -C {tmp} tree && mkdir -p {tmp}/x && "
                                        f"tar xzf {tmp}/t.tgz -C {tmp}/x && rm -rf {tmp}/x {tmp}/t.tgz"]),
        ("cp/find/grep", ["sh", "-c", f"cp /bin/ls {tmp}/ls-copy && {tmp}/ls-copy {tmp} >/dev/null && "
                                      f"rm {tmp}/ls-copy && find /usr/share/doc -maxdepth 1 -name 'lib*' | "
                                      "head -20 >/dev/null && grep -r root /etc/passwd >/dev/null"]),
        ("ps/id/uname", ["sh", "-c", "ps aux >/dev/null; id; uname -a; df -h >/dev/null; mount >/dev/null"]),
        ("exec storm", ["sh", "-c", "i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done"]),
    ]
    if test_suite:
        cmds.append(("core test suite", [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                                         str(ROOT / "tests" / "core")]))
    return cmds


def workload_child(duration: float, test_suite: bool, pause: float) -> int:
    """Run rounds until `duration` has passed; one JSON line per command on stdout (pid, label)."""
    sys.stdin.readline()  # wait for "go": tracee is watching
    deadline = time.monotonic() + duration
    rounds = 0
    with tempfile.TemporaryDirectory(prefix="tracee-fp-") as tmp:
        cmds = workload_commands(Path(tmp), test_suite)
        while time.monotonic() < deadline:
            rounds += 1
            for label, argv in cmds:
                if time.monotonic() >= deadline:
                    break
                started = time.monotonic()
                proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        cwd=ROOT if label == "core test suite" else tmp)
                print(json.dumps({"pid": proc.pid, "label": label}), flush=True)
                rc = proc.wait()
                print(json.dumps({"done": label, "rc": rc, "seconds": round(time.monotonic() - started, 2)}),
                      flush=True)
                time.sleep(pause)
    print(json.dumps({"rounds": rounds}), flush=True)
    return 0


# -- the watcher ----------------------------------------------------------------------------------------
def cause(finding: dict[str, Any], labels: dict[int, str]) -> str:
    ctx = finding.get("Context", {})
    meta = finding.get("SigMetadata", {})
    args = {a.get("name"): a.get("value") for a in ctx.get("args", [])}
    for noisy in ("envp", "env"):  # only the entries signatures look at
        if isinstance(args.get(noisy), list):
            args[noisy] = [e for e in args[noisy] if isinstance(e, str)
                           and e.startswith(("LD_", "KUBERNETES_SERVICE_HOST"))] + ["(others omitted)"]
    if isinstance(args.get("argv"), list) and len(args["argv"]) > 8:
        args["argv"] = args["argv"][:8] + ["..."]
    pid = ctx.get("hostProcessId")
    label = labels.get(pid) or labels.get(ctx.get("hostParentProcessId"))
    where = f"container {ctx.get('containerId', '')[:12]}" if ctx.get("containerId") else "host"
    return (f"{meta.get('ID')} ({meta.get('Name')}): event {ctx.get('eventName')} by "
            f"{ctx.get('processName')!r} pid {pid} (parent {ctx.get('hostParentProcessId')}, {where})"
            + (f", workload step {label!r}" if label else "")
            + f"; Data {json.dumps(finding.get('Data'))}; args {json.dumps(args, default=str)[:600]}")


def _without_pids(text: str) -> str:
    return re.sub(r"pid \d+ \(parent \d+", "pid * (parent *", text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of work (default 600)")
    parser.add_argument("--scope", choices=("machine", "workload"), default="machine")
    parser.add_argument("--no-exec-env", action="store_true",
                        help="do not capture exec environments (TRC-7's env rule and TRC-13 then cannot fire)")
    parser.add_argument("--test-suite", action="store_true", help="also run tests/core in each round")
    parser.add_argument("--pause", type=float, default=0.5,
                        help="seconds between commands (ordinary activity, not a CPU burner; default 0.5)")
    parser.add_argument("--json", action="store_true", help="print one JSON summary line at the end")
    parser.add_argument("--workload-child", action="store_true", help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.workload_child:
        return workload_child(opts.duration, opts.test_suite, opts.pause)
    if os.geteuid() != 0:
        print("false_positives: needs root (the eBPF input)", file=sys.stderr)
        return 2

    child_argv = [sys.executable, __file__, "--workload-child", "--duration", str(opts.duration),
                  "--pause", str(opts.pause)]
    if opts.test_suite:
        child_argv.append("--test-suite")
    work = subprocess.Popen(child_argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    tracee_argv = [tracee_executable(), "run", "--output", "json"]
    tracee_argv.append("--no-exec-env" if opts.no_exec_env else "--exec-env")
    if opts.scope == "workload":
        tracee_argv += ["--pid", str(work.pid), "--follow"]
    tracee = subprocess.Popen(tracee_argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL, start_new_session=True)
    findings: list[dict[str, Any]] = []
    stderr: list[str] = []
    ready = threading.Event()

    def read_out() -> None:
        for line in tracee.stdout:  # type: ignore[union-attr]
            if line.strip():
                findings.append(json.loads(line))
                print("finding: " + cause(findings[-1], labels), file=sys.stderr, flush=True)

    def read_err() -> None:
        for line in tracee.stderr:  # type: ignore[union-attr]
            stderr.append(line.rstrip())
            if "Loaded " in line and "signature(s)" in line:
                ready.set()
        ready.set()

    labels: dict[int, str] = {}  # workload pid -> step
    threads = [threading.Thread(target=read_out, daemon=True), threading.Thread(target=read_err, daemon=True)]
    for t in threads:
        t.start()
    started = time.monotonic()
    if not ready.wait(180) or tracee.poll() is not None:
        work.kill()
        print("false_positives: tracee run did not start:\n" + "\n".join(stderr), file=sys.stderr)
        return 2
    startup = time.monotonic() - started
    print(f"tracee ready after {startup:.1f}s: {' '.join(tracee_argv[1:])}", file=sys.stderr, flush=True)
    assert work.stdin is not None and work.stdout is not None
    work.stdin.write("go\n")
    work.stdin.flush()
    steps: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    rounds = 0
    for line in work.stdout:
        item = json.loads(line)
        if "pid" in item:
            labels[item["pid"]] = item["label"]
        elif "done" in item:
            steps[item["done"]] += 1
            if item["rc"] != 0:
                failed[item["done"]] += 1
        elif "rounds" in item:
            rounds = item["rounds"]
    work.wait()
    time.sleep(1.0)  # the last events through the pipeline
    tracee.send_signal(signal.SIGINT)
    try:
        tracee.wait(30)
    except subprocess.TimeoutExpired:
        tracee.kill()
    for t in threads:
        t.join(5)
    summary = next((l for l in reversed(stderr) if "summary:" in l), "(no summary)")
    print(f"\n{opts.duration:.0f}s of work, {rounds} round(s), {sum(steps.values())} commands "
          f"({', '.join(f'{k} x{v}' for k, v in steps.items())})")
    if failed:
        print(f"commands that exited non-zero (still activity): {dict(failed)}")
    print(f"scope: {opts.scope}; {summary}")
    print(f"findings: {len(findings)}")
    # Grouped by cause (the same signature, event, program and arguments), with a count.
    groups: Counter[str] = Counter(_without_pids(cause(f, labels)) for f in findings)
    for text, count in groups.most_common():
        print(f"  {count} x {text}")
    if opts.json:
        print(json.dumps({"duration": opts.duration, "scope": opts.scope, "rounds": rounds,
                          "commands": sum(steps.values()), "findings": len(findings),
                          "causes": [cause(f, labels) for f in findings], "summary": summary}))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
