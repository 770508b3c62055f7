"""TRC-15 (syscall table hooking) cannot be triggered without a rootkit. Instead:

1. the eBPF input's check reads the REAL table: more than 300 of its entries are the addresses
   /proc/kallsyms gives for `__x64_sys_*` functions, all inside kernel text, none reported hooked;
2. `tracee run --rules TRC-15` runs that check at start and again on SIGUSR1 and reports nothing
   on this clean kernel;
3. the comparison, given the real table with one entry redirected outside kernel text, reports
   that syscall, and TRC-15 turns it into a finding through `tracee run`.
"""

from __future__ import annotations

import json
import signal
import struct
import subprocess
import time
from pathlib import Path

import pytest

from e2e_harness import TraceeRun, describe, sig_id, tracee_executable

from tracee.events import catalog, decoders


def _kallsyms() -> dict[str, int]:
    """name -> address of the text symbols we compare with (read independently of the input)."""
    out: dict[str, int] = {}
    with open("/proc/kallsyms") as f:
        for line in f:
            addr, kind, name = line.split()[:3]
            if name in ("_stext", "_etext") or name.startswith("__x64_sys_"):
                out.setdefault(name, int(addr, 16))
    return out


@pytest.fixture(scope="module")
def live_table():
    """(raw table entries as the input reads them, the input's checker result)."""
    from tracee_input_ebpf import environment, hooks, program

    bcc = environment.ensure_ready()
    loaded = program.load(bcc, {"hooked_syscalls"}, program.Filters())
    try:
        checker = hooks.SyscallTableChecker(loaded.bpf)
        raw = checker.read(checker.locate_table(), hooks.TABLE_ENTRIES * 8)
        table = struct.unpack(f"<{hooks.TABLE_ENTRIES}Q", raw)
        hooked = checker.check()
        return table, hooked, checker.symbols
    finally:
        loaded.close()


def test_trc15_check_reads_the_real_table(live_table, report):
    table, hooked, _ = live_table
    syms = _kallsyms()
    assert syms.get("_stext"), "/proc/kallsyms shows no addresses (not root?)"
    by_address: dict[int, list[str]] = {}
    for name, address in syms.items():
        by_address.setdefault(address, []).append(name)
    named = sum(1 for address in table if any(n.startswith("__x64_sys_") for n in by_address.get(address, ())))
    # Entry n is the handler of syscall n: read, write, open, close head the x86_64 table.
    assert table[:4] == tuple(syms[f"__x64_sys_{n}"] for n in ("read", "write", "open", "close"))
    # Several numbers name the same handler, and unimplemented ones point to __x64_sys_ni_syscall.
    assert table[decoders_nr("getdents64")] == syms["__x64_sys_getdents64"]
    assert len(table) > 300 and named > 300, f"only {named} of {len(table)} entries are syscall handlers"
    text = (syms["_stext"], syms["_etext"])
    assert all(text[0] <= a < text[1] for a in table)
    assert hooked == []
    report("syscall table check (TRC-15)", f"read {len(table)} sys_call_table entries through BPF; {named} are "
           f"__x64_sys_* handlers per /proc/kallsyms, all inside kernel text; hooked: {hooked} (clean kernel)")


def decoders_nr(name: str) -> int:
    return next(nr for nr in range(512) if decoders.syscall_name(nr) == name)


def _catches(pid: int, sig: int) -> bool:
    with open(f"/proc/{pid}/status") as f:
        mask = next(int(line.split()[1], 16) for line in f if line.startswith("SigCgt:"))
    return bool(mask & (1 << (sig - 1)))


def test_trc15_live_run_reports_nothing_on_a_clean_kernel(report):
    with TraceeRun(["TRC-15"]) as run:
        run.wait_ready()
        # The input installs its SIGUSR1 handler once reading starts; before that SIGUSR1 would
        # kill the run, so wait until the process catches it.
        deadline = time.monotonic() + 30
        while not _catches(run.proc.pid, signal.SIGUSR1) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _catches(run.proc.pid, signal.SIGUSR1), "tracee run never installed its SIGUSR1 handler"
        run.proc.send_signal(signal.SIGUSR1)  # an on-demand re-check
        time.sleep(1.5)
        findings = run.snapshot()
    assert findings == [], "\n".join(describe(f) for f in findings)
    assert "check skipped" not in run.stderr_text(), run.stderr_text()
    summary = run.summary()
    # both checks (start, SIGUSR1) reached the signature: "per signature: TRC-15=2"
    assert "TRC-15=2" in summary, run.stderr_text()
    report("syscall table check (TRC-15)", f"tracee run --rules TRC-15: checks at start and on SIGUSR1, "
           f"no finding; {summary}")


def test_trc15_comparison_with_a_table_that_differs(live_table, report, tmp_path: Path):
    from tracee import Event
    from tracee_input_ebpf import hooks

    table, _, symbols = live_table
    forged = list(table)
    nr = decoders_nr("getdents64")  # what rootkits hide files with
    forged[nr] = symbols.text[1] + 0x1000_0000  # past the end of kernel text (module space)
    hooked = hooks.find_hooked(forged, hooks.syscall_names(), symbols.text, symbols.owner)
    assert hooked == [{"SymbolName": "getdents64", "ModuleOwner": "hidden"}]
    assert hooks.find_hooked(list(table), hooks.syscall_names(), symbols.text, symbols.owner) == []

    # The event the input would emit for that table, through the real CLI and TRC-15.
    event = Event("hooked_syscalls", [{"name": "hooked_syscalls", "type": "[]trace.HookedSymbolData",
                                       "value": hooked}], event_id=catalog.by_name("hooked_syscalls").id,
                  process_id=1, host_process_id=1, process_name="tracee")
    events = tmp_path / "hooked.jsonl"
    events.write_text(json.dumps(event.to_dict()) + "\n")
    out = subprocess.run([tracee_executable(), "run", "--input", f"file:{events}", "--output", "json",
                          "--rules", "TRC-15"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    findings = [json.loads(line) for line in out.stdout.splitlines() if line.strip()]
    assert [sig_id(f) for f in findings] == ["TRC-15"]
    assert findings[0]["Data"] == {"hooked syscall": hooked}
    report("syscall table check (TRC-15)", f"real table with entry {nr} (getdents64) redirected outside "
           f"kernel text -> find_hooked {hooked} -> finding {describe(findings[0])}")
