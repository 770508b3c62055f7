"""Detection under an open/close flood: `tracee run` with every rule sees the attacks and loses nothing.

A C loop opens and closes one file 2,000,000 times (compiled with cc here) while `tracee run
--output json` runs with default flags (every installed rule, the eBPF input). While the flood runs,
the TRC-7 triggers (an exec with LD_PRELOAD in its environment; a write-open of /etc/ld.so.preload,
nothing written, restored) and the TRC-2 one (ptrace(PTRACE_TRACEME)) run beside it; the flood is
checked to be still running after them. Once the flood is over, the run's summary must report no
lost event and no TRACEE-LOSS finding, and each trigger's finding must have arrived (loss is asserted
first: in a run that lost events, a missed detection is the loss's doing, and is named with it).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from e2e_harness import CLEAN_ENV, TraceeRun, describe, run_trigger, sig_id
from test_triggers import ld_so_preload  # noqa: F401 - the fixture restoring /etc/ld.so.preload

FLOOD_OPENS = 2_000_000
FINDING_TIMEOUT = 30.0   # a finding behind a flood's backlog may take a while; it must not be lost
FLOOD_TIMEOUT = 600.0    # 2M open+close: seconds alone, more under the sensor on a busy 2-core box

FLOOD_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    long n = atol(argv[1]);
    printf("fact: pid=%d\n", getpid());   /* the loop starts now */
    fflush(stdout);
    for (long i = 0; i < n; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        if (fd < 0) { perror("open /etc/hostname"); return 2; }
        close(fd);
    }
    printf("fact: opens=%ld\n", n);
    return 0;
}
"""


@pytest.fixture(scope="module")
def flood_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cc = shutil.which("cc") or shutil.which("gcc")
    if not cc:
        pytest.skip("no C compiler (cc): the flood is a C loop compiled at test time (apt-get install gcc)")
    work = tmp_path_factory.mktemp("flood")
    (work / "flood.c").write_text(FLOOD_C)
    built = subprocess.run([cc, "-O2", "-Wall", "-o", str(work / "flood"), str(work / "flood.c")],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    return work / "flood"


def summary_counts(line: str) -> dict[str, int]:
    """'summary: 12 events read, ..., 3 lost, 1 finding(s), ...' -> {'events read': 12, 'lost': 3, ...}."""
    head = line.split("summary:", 1)[-1].split(";", 1)[0]
    return {m.group(2): int(m.group(1)) for m in re.finditer(r"(\d+) ([^,]+)", head)}


def test_detection_during_open_close_flood(programs, flood_program, report, ld_so_preload):  # noqa: F811
    trigger = f"open/close flood x{FLOOD_OPENS:,} with TRC-7 (env, file) and TRC-2 beside it"
    ld_preload, anti_debugging = programs["ld_preload"], programs["anti_debugging"]
    attacks = [("TRC-7", "ld_preload env", [ld_preload, "attack", "env"]),
               ("TRC-7", "ld_preload file", [ld_preload, "attack", "file"]),
               ("TRC-2", "anti_debugging", [anti_debugging, "attack"])]
    with TraceeRun() as run:   # no --rules: every installed signature, default flags
        run.wait_ready()
        report(trigger, f"tracee run {' '.join(run.argv[2:])}: ready after {run.ready_after:.1f}s")
        flood = subprocess.Popen([str(flood_program), str(FLOOD_OPENS)], stdout=subprocess.PIPE, text=True,
                                 env=CLEAN_ENV, stdin=subprocess.DEVNULL)
        try:
            assert flood.stdout is not None
            assert flood.stdout.readline().startswith("fact: pid="), "the flood did not start"
            started = time.monotonic()
            time.sleep(0.5)  # well into the loop
            done = [(sig, name, run_trigger(argv).check()) for sig, name, argv in attacks]
            assert flood.poll() is None, (f"the flood ended {time.monotonic() - started:.1f}s after it started, "
                                          "before the triggers were done: not concurrent")
            report(trigger, f"triggers done {time.monotonic() - started:.1f}s into the flood, which still runs")
            got, deadline = {}, time.monotonic() + FINDING_TIMEOUT
            for sig, name, result in done:
                got[name] = run.wait_for(lambda f, r=result, s=sig: r.owns(f) and sig_id(f) == s, 1,
                                         max(0.0, deadline - time.monotonic()))
            out, _ = flood.communicate(timeout=FLOOD_TIMEOUT)
        finally:
            if flood.poll() is None:
                flood.kill()
                flood.wait()
        assert flood.returncode == 0 and f"opens={FLOOD_OPENS}" in out, f"the flood failed: {out}"
        flood_seconds = time.monotonic() - started
        time.sleep(1.0)  # the flood's last records read
        run.stop()
        findings = run.snapshot()
    report(trigger, f"flood of {FLOOD_OPENS:,} open+close done in {flood_seconds:.1f}s")
    missed = [f"{name} ({sig})" for sig, name, _ in done if not got[name]]
    for sig, name, result in done:
        report(trigger, f"{name} `{result.command}`: "
                        + (describe(got[name][0]) if got[name] else f"no {sig} finding in {FINDING_TIMEOUT:.0f}s"))
    summary = run.summary()
    report(trigger, summary)
    assert summary, f"tracee run printed no summary:\n{run.stderr_text()}"

    # Loss first: a detection missed in a run that lost events was missed because of the loss.
    counts = summary_counts(summary)
    lost = {k: v for k, v in counts.items() if k.startswith("lost") and v}
    loss_findings = [f for f in findings if sig_id(f) == "TRACEE-LOSS"]
    assert not lost and not loss_findings, (
        f"tracee run lost events during the flood: {lost} of {counts.get('events read')} read; "
        f"{len(loss_findings)} TRACEE-LOSS finding(s); detections missed meanwhile: {missed or 'none'}\n{summary}")
    for sig, name, result in done:
        assert got[name], (f"{name}: no {sig} finding within {FINDING_TIMEOUT:.0f}s of the triggers, though "
                           f"nothing was lost (facts {result.facts});\ntracee stderr:\n{run.stderr_text()}")
        mine = [f for f in findings if result.owns(f)]
        assert {sig_id(f) for f in mine} == {sig}, f"{name}: findings {[describe(f) for f in mine]}"
