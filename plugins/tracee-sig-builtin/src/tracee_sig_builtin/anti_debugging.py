"""TRC-2: a process calls ptrace(PTRACE_TRACEME), the anti-debugging trick that blocks debuggers."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field
from tracee.events.decoders import ptrace_request

from ._common import arg, metadata


class AntiDebugging(Signature):
    """Fires on ptrace with request PTRACE_TRACEME (parsed text, or the raw request 0)."""

    metadata = metadata("TRC-2", "Anti-Debugging", "Process uses anti-debugging technique to block debugger",
                        3, "Defense Evasion: Execution Guardrails")
    selected_events = [EventSelector("ptrace", where=(field("request").equals("PTRACE_TRACEME"),))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "ptrace":
            return
        request = arg(event, "request")
        if request == "PTRACE_TRACEME" or (type(request) is int and ptrace_request(request) == "PTRACE_TRACEME"):
            self.match(event, None)
