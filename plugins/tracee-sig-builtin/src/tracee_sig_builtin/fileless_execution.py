"""TRC-5: a program executed from memory (memfd, /dev/shm, /run/shm) rather than from a file on disk."""

from __future__ import annotations

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field

from ._common import arg, metadata


class FilelessExecution(Signature):
    """sched_process_exec of a path starting "memfd:" (on the host, "memfd:runc..." is runc itself
    and is left alone; in a container it is not), "/dev/shm" or "/run/shm". Tracee v0.7-v0.8 rules."""

    metadata = metadata("TRC-5", "Fileless Execution", "Executing a process from memory, without a file in the disk",
                        2, "Defense Evasion: Obfuscated Files or Information")
    selected_events = [EventSelector("sched_process_exec",
                                     where=(field("pathname").startswith("memfd:", "/dev/shm", "/run/shm"),))]

    def on_event(self, event: Event) -> None:
        if event.event_name != "sched_process_exec":
            return
        path = arg(event, "pathname")
        if type(path) is not str:
            return
        if path.startswith("memfd:"):
            # Host: runc re-executes itself from a memfd (CVE-2019-5736 fix); Tracee uses the
            # container id here, not the origin.
            if event.container_id or not path.startswith("memfd:runc"):
                self.match(event, None)
        elif path.startswith("/dev/shm") or path.startswith("/run/shm"):
            self.match(event, None)
