"""TRC-7: LD_PRELOAD / LD_LIBRARY_PATH in a new program's environment, or a write to /etc/ld.so.preload."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature

from ._common import WRITE, arg, file_access, metadata

PRELOAD_FILE = "/etc/ld.so.preload"
# Prefixes, not "NAME=": Tracee's rule tests startswith on the whole "NAME=value" string.
ENV_PREFIXES = ("LD_PRELOAD", "LD_LIBRARY_PATH")


class LdPreload(Signature):
    """execve whose envp has an entry starting LD_PRELOAD or LD_LIBRARY_PATH (envp exists only when
    tracee-ebpf runs with `-o option:exec-env`); or a write-open of exactly /etc/ld.so.preload."""

    metadata = metadata("TRC-7", "LD_PRELOAD", "Usage of LD_PRELOAD to allow hooks on process",
                        2, "Persistence: Hijack Execution Flow")
    selected_events = [EventSelector("execve"), EventSelector("security_file_open")]

    def on_event(self, event: Event) -> None:
        name = event.event_name
        if name == "security_file_open":
            if arg(event, "pathname") == PRELOAD_FILE and file_access(arg(event, "flags")) & WRITE:
                self.match(event, None)
        elif name == "execve":
            envp = arg(event, "envp")
            if type(envp) is list:
                for entry in envp:
                    if type(entry) is str and entry.startswith(ENV_PREFIXES):
                        self.match(event, None)
                        return
