"""TRC-4: memory that was writable and executable becomes executable: code written then run."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field
from tracee.events.decoders import mem_prot_alert

from ._common import arg, metadata

ALERT = "Protection changed from W+E to E!"


class DynamicCodeLoading(Signature):
    """Fires on mem_prot_alert whose alert is "Protection changed from W+E to E!" (or the raw 4)."""

    metadata = metadata("TRC-4", "Dynamic Code Loading", "Writing to executable allocated memory region",
                        2, "Defense Evasion: Obfuscated Files or Information")
    selected_events = [EventSelector("mem_prot_alert", where=(field("alert").equals(ALERT),))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "mem_prot_alert":
            return
        alert = arg(event, "alert")
        if alert == ALERT or (type(alert) is int and mem_prot_alert(alert) == ALERT):
            self.match(event, None)
