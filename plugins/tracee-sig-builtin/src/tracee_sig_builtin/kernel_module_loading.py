"""TRC-6: an attempt to load a kernel module (init_module, or the kernel reading a module file)."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field
from tracee.events.decoders import kernel_read_file_type

from ._common import arg, has_arg, metadata


class KernelModuleLoading(Signature):
    """Any init_module (Data nil); security_kernel_read_file of type "kernel-module" (raw 2 on kernels
    >= 5.9.3) with {"pathname"}. finit_module is not selected: its file is read through the LSM hook."""

    metadata = metadata("TRC-6", "kernel module loading", "Attempt to load a kernel module detection",
                        3, "Persistence: Kernel Modules and Extensions")
    selected_events = [EventSelector("init_module"),
                       EventSelector("security_kernel_read_file", where=(field("type").equals("kernel-module"),))]

    def on_event(self, event: Event) -> None:
        name = event.event_name
        if name == "init_module":
            self.match(event, None)
        elif name == "security_kernel_read_file":
            kind = arg(event, "type")
            if kind != "kernel-module" and not (type(kind) is int and kernel_read_file_type(kind) == "kernel-module"):
                return
            if has_arg(event, "pathname"):  # Tracee's rule is undefined without it
                self.match(event, {"pathname": arg(event, "pathname")})
