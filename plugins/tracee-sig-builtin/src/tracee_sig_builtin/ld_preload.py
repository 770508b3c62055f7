"""TRC-7: LD_PRELOAD / LD_LIBRARY_PATH in a new program's environment, or a write to /etc/ld.so.preload."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field

from ._common import WRITE, arg, check_settings, file_access, metadata, names_setting

PRELOAD_FILE = "/etc/ld.so.preload"
# Prefixes, not "NAME=": Tracee's rule tests startswith on the whole "NAME=value" string.
ENV_PREFIXES = ("LD_PRELOAD", "LD_LIBRARY_PATH")


class LdPreload(Signature):
    """execve whose envp has an entry starting LD_PRELOAD or LD_LIBRARY_PATH (envp exists only when
    tracee-ebpf runs with `-o option:exec-env`); or a write-open of exactly /etc/ld.so.preload."""

    metadata = metadata("TRC-7", "LD_PRELOAD", "Usage of LD_PRELOAD to allow hooks on process",
                        2, "Persistence: Hijack Execution Flow")
    selected_events = [EventSelector("execve"),
                       EventSelector("security_file_open", where=(field("pathname").equals(PRELOAD_FILE),
                                                                  field("flags").opened_for("write")))]

    # Tuning (not in Tracee): environment values known to be legitimate, such as the
    # LD_LIBRARY_PATH rustup gives every toolchain binary, and programs allowed to set them.
    allowed_values: tuple[str, ...] = ()
    allowed_processes: frozenset[str] = frozenset()
    # Whole entries known benign, compared exactly: containerd starts every shim and runc with
    # its "opt" plugin's library directory (root-owned), so with exec environments captured by
    # default each container start would fire. Any other value, or more after it, still fires.
    # `benign_env_values: []` in the tuning file brings back Tracee's rule unchanged.
    benign_values: frozenset[str] = frozenset({"LD_LIBRARY_PATH=/var/lib/containerd/opt/lib:"})

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings(settings, ("allowed_env_prefixes", "allowed_processes", "benign_env_values"))
        if "benign_env_values" in settings:
            self.benign_values = frozenset(names_setting("benign_env_values", settings["benign_env_values"]))
        if "allowed_env_prefixes" in settings:
            self.allowed_values = tuple(names_setting("allowed_env_prefixes", settings["allowed_env_prefixes"]))
        if "allowed_processes" in settings:
            self.allowed_processes = frozenset(
                names_setting("allowed_processes", settings["allowed_processes"], comm=True))

    def on_event(self, event: Event) -> None:
        name = event.event_name
        if name == "security_file_open":
            if arg(event, "pathname") == PRELOAD_FILE and file_access(arg(event, "flags")) & WRITE:
                self.match(event, None)
        elif name == "execve":
            envp = arg(event, "envp")
            if type(envp) is list and event.process_name not in self.allowed_processes:
                allowed = self.allowed_values
                for entry in envp:
                    if type(entry) is str and entry.startswith(ENV_PREFIXES):
                        if (allowed and entry.startswith(allowed)) or entry in self.benign_values:
                            continue
                        self.match(event, None)
                        return
