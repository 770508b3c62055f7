"""TRC-15: entries of the system call table point outside the kernel: syscalls hooked by a module."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature

from ._common import arg, metadata


class SyscallHooking(Signature):
    """hooked_syscalls with a non-empty list; Data {"hooked syscall": [{SymbolName, ModuleOwner}, ...]}."""

    metadata = metadata(
        "TRC-15", "Hooking system calls by overriding the system call table entries",
        "Usage of kernel modules to hook system calls",
        4, "Persistence: Hooking system calls entries in the system-call table", tags=("linux",))
    selected_events = [EventSelector("hooked_syscalls")]

    def on_event(self, event: Event) -> None:
        if event.event_name != "hooked_syscalls":
            return
        hooked = arg(event, "hooked_syscalls")
        # Rego's count() > 0: a non-empty array (JSON) or map (gob's map form).
        if isinstance(hooked, (list, dict)) and hooked:
            self.match(event, {"hooked syscall": hooked})
