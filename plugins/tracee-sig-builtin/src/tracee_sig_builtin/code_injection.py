"""TRC-3: code injection into another process: ptrace POKETEXT, writing /proc/<pid>/mem, process_vm_writev."""

from __future__ import annotations

import re

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field
from tracee.events.decoders import ptrace_request

from ._common import WRITE, arg, file_access, flags_text, metadata

# Tracee's pattern, searched unanchored as Rego's regex.match does. Quirk kept: `\d.+` needs two
# characters, so /proc/1/mem does not match while /proc/12/mem and /proc/self/mem do. ASCII `\d`
# as in Go.
PROC_MEM = re.compile(r"/proc/(?:\d.+|self)/mem", re.ASCII)


class CodeInjection(Signature):
    """Three rules, as Tracee's: ptrace(PTRACE_POKETEXT) (Data nil); a write-open of a path matching
    /proc/(?:\\d.+|self)/mem ({"file flags", "file path"}); process_vm_writev to a pid other than
    the caller's own namespace pid (Data nil). Raw ptrace requests (4) and open flags are decoded."""

    metadata = metadata("TRC-3", "Code injection", "Possible code injection into another process",
                        3, "Defense Evasion: Process Injection")
    selected_events = [EventSelector("ptrace", where=(field("request").equals("PTRACE_POKETEXT"),)),
                       # PROC_MEM is searched anywhere in the path, so only substrings are necessary
                       EventSelector("security_file_open", where=(
                           field("flags").opened_for("write"), field("pathname").contains("/proc/"),
                           field("pathname").contains("/mem"))),
                       EventSelector("process_vm_writev")]

    def on_event(self, event: Event) -> None:
        name = event.event_name
        if name == "security_file_open":
            path = arg(event, "pathname")
            # Cheap test first: nearly every open is of another file.
            if type(path) is not str or "/mem" not in path or PROC_MEM.search(path) is None:
                return
            flags = arg(event, "flags")
            if file_access(flags) & WRITE:
                self.match(event, {"file flags": flags_text(flags), "file path": path})
        elif name == "ptrace":
            request = arg(event, "request")
            if request == "PTRACE_POKETEXT" or (type(request) is int and ptrace_request(request) == "PTRACE_POKETEXT"):
                self.match(event, None)
        elif name == "process_vm_writev":
            pid = arg(event, "pid")
            if type(pid) is str and pid.lstrip("-").isdigit():
                pid = int(pid)
            if type(pid) is int and pid != event.process_id:
                self.match(event, None)
