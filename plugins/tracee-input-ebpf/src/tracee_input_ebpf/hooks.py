"""hooked_syscalls: find syscall-table entries that point outside the kernel's text.

The table's address comes from /proc/kallsyms (`sys_call_table`); kernels built without
CONFIG_KALLSYMS_ALL list no data symbols, so the table is then found by its contents: the first
four entries are the addresses of __x64_sys_read/write/open/close, searched for in the kernel's
read-only data (from `__start_rodata`). Kernel memory is read by a BPF program (program.c,
`bpf_probe_read_kernel`) that runs when this process calls getpgid(). Root sees real addresses in
/proc/kallsyms; others see zeros and the check reports it cannot run.

An entry is hooked when its address is outside [_stext, _etext); its owner is the module whose
symbols surround the address, else "hidden" (as Tracee reports it). Note: since Linux 6.9 x86_64
dispatches syscalls through a switch (x64_sys_call) rather than this table, so a rootkit that
patches the table no longer changes behaviour there; the check still reports the patch.
"""

from __future__ import annotations

import bisect
import ctypes as ct
import os
import struct
from dataclasses import dataclass
from typing import Callable, Sequence

from tracee.events import decoders

__all__ = ["HookCheckError", "KernelSymbols", "find_hooked", "syscall_names", "SyscallTableChecker"]

# Entries 0..450 exist in every x86_64 table this code can meet (450 = set_mempolicy_home_node, 6.0).
TABLE_ENTRIES = 451


class HookCheckError(RuntimeError):
    """The check cannot run here; the message says why."""


def syscall_names(count: int = TABLE_ENTRIES) -> list[str]:
    return [decoders.syscall_name(i) for i in range(count)]


def find_hooked(table: Sequence[int], names: Sequence[str], text: tuple[int, int],
                owner: Callable[[int], str]) -> list[dict[str, str]]:
    """Entries of `table` outside the kernel text range, as Tracee's HookedSymbolData
    ({"SymbolName": syscall name, "ModuleOwner": module or "hidden"}). Pure: tests give a table."""
    start, end = text
    hooked = []
    for nr, address in enumerate(table):
        if start <= address < end:
            continue
        name = names[nr] if nr < len(names) else str(nr)
        hooked.append({"SymbolName": name, "ModuleOwner": owner(address)})
    return hooked


@dataclass
class KernelSymbols:
    """What the check needs from /proc/kallsyms."""

    text: tuple[int, int]
    symbols: dict[str, int]
    module_ranges: list[tuple[int, str]]  # sorted (address, module) of module symbols

    @classmethod
    def read(cls, path: str = "/proc/kallsyms") -> "KernelSymbols":
        wanted = {"_stext", "_etext", "sys_call_table", "__start_rodata", "__end_rodata",
                  "__start___ex_table", "__x64_sys_read", "__x64_sys_write", "__x64_sys_open",
                  "__x64_sys_close"}
        symbols: dict[str, int] = {}
        modules: list[tuple[int, str]] = []
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 3:
                    continue
                if len(parts) >= 4 and parts[3].startswith("["):
                    modules.append((int(parts[0], 16), parts[3].strip("[]")))
                elif parts[2] in wanted:
                    symbols.setdefault(parts[2], int(parts[0], 16))
        if not symbols.get("_stext"):
            raise HookCheckError("/proc/kallsyms shows no addresses (needs root, kptr_restrict)")
        if "_etext" not in symbols:
            raise HookCheckError("/proc/kallsyms has no _etext")
        modules.sort()
        return cls((symbols["_stext"], symbols["_etext"]), symbols, modules)

    def owner(self, address: int) -> str:
        i = bisect.bisect_right(self.module_ranges, (address, "\uffff")) - 1
        # A module symbol just below, within 1 MiB: the address is in that module's memory.
        if i >= 0 and address - self.module_ranges[i][0] < (1 << 20):
            return self.module_ranges[i][1]
        return "hidden"


class SyscallTableChecker:
    """Reads the live table through the loaded BPF program's kernel-memory reader."""

    CHUNK = 4096

    def __init__(self, bpf: object) -> None:
        self.bpf = bpf
        self.symbols = KernelSymbols.read()
        self.table_address: int | None = None
        self.checks = 0

    def read(self, address: int, length: int) -> bytes:
        req = self.bpf[b"kread_req_map"]  # type: ignore[index]
        res = self.bpf[b"kread_res_map"]  # type: ignore[index]
        out = bytearray()
        key = ct.c_int(0)
        while len(out) < length:
            value = req.Leaf()
            value.addr = address + len(out)
            value.pid = os.getpid()
            req[key] = value
            os.getpgid(0)  # runs the reader (sys_enter_getpgid) in this process
            result = res[key]
            if result.err != 0:
                raise HookCheckError(f"cannot read kernel memory at {address + len(out):#x} "
                                     f"(bpf_probe_read_kernel: {result.err})")
            out += bytes(result.data)
        return bytes(out[:length])

    def locate_table(self) -> int:
        if self.table_address is not None:
            return self.table_address
        sym = self.symbols.symbols
        if sym.get("sys_call_table"):
            self.table_address = sym["sys_call_table"]
            return self.table_address
        first = [sym.get(n) for n in ("__x64_sys_read", "__x64_sys_write", "__x64_sys_open", "__x64_sys_close")]
        start = sym.get("__start_rodata")
        if not start or not all(first):
            raise HookCheckError("sys_call_table is not in /proc/kallsyms and cannot be searched for "
                                 "(no __start_rodata or __x64_sys_* symbols)")
        end = sym.get("__end_rodata") or sym.get("__start___ex_table") or start + (32 << 20)
        pattern = struct.pack("<4Q", *first)  # type: ignore[arg-type]
        tail = b""
        address = start
        while address < end:
            chunk = self.read(address, self.CHUNK)
            data = tail + chunk
            i = data.find(pattern)
            while i >= 0 and (address - len(tail) + i) % 8:
                i = data.find(pattern, i + 1)
            if i >= 0:
                self.table_address = address - len(tail) + i
                return self.table_address
            tail = data[-(len(pattern) - 1):]
            address += self.CHUNK
        raise HookCheckError("sys_call_table not found in the kernel's read-only data")

    def check(self) -> list[dict[str, str]]:
        """The hooked entries now (empty list: none)."""
        self.checks += 1
        raw = self.read(self.locate_table(), TABLE_ENTRIES * 8)
        table = struct.unpack(f"<{TABLE_ENTRIES}Q", raw)
        return find_hooked(table, syscall_names(), self.symbols.text, self.symbols.owner)
