"""TRC-1: a process's standard input/output/error redirected to an internet socket (reverse shell)."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature

from ._common import (BoundedMap, check_settings, fd_number, metadata, positive_int_setting,
                      sockaddr_ip_port, warn_evictions)

_STD_FDS = (0, 1, 2)
DEFAULT_MAX_PROCESSES = 65536
DEFAULT_MAX_SOCKETS_PER_PROCESS = 1024


class StdioOverSocket(Signature):
    """Tracks, per process, the fds of connected INET/INET6 sockets; fires when one is duplicated
    onto fd 0, 1 or 2, or when connect() is called on fd 0, 1 or 2 itself.

    Better than Tracee v0.8: works on JSON input (its Go version failed to read the sockaddr map,
    issue #1371) and on the v0.6 quoted-string sockaddr; keys state by (pid namespace, pid) so
    equal pids of two containers do not share an fd table; an fd produced by dup is tracked too
    (dup2(sock, 5) then dup2(5, 0) is caught), and an fd a dup overwrites or a close releases
    is forgotten; a failed dup (negative return value) is ignored; a thread's exit does not drop
    its process's state, only the exit of the whole thread group does. Memory is bounded by
    `max_processes` (least recently used process evicted) and `max_sockets_per_process`.
    """

    metadata = metadata("TRC-1", "Standard Input/Output Over Socket",
                        "Redirection of process's standard input/output to socket",
                        3, "Persistence: Server Software Component")
    selected_events = [EventSelector("security_socket_connect"), EventSelector("dup"),
                       EventSelector("dup2"), EventSelector("dup3"), EventSelector("close"),
                       EventSelector("sched_process_exit")]

    def __init__(self) -> None:
        self.max_sockets = DEFAULT_MAX_SOCKETS_PER_PROCESS
        # (pid namespace, pid) -> {fd: (ip, port)}
        self.sockets = BoundedMap(DEFAULT_MAX_PROCESSES)

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings("TRC-1", settings, ("max_processes", "max_sockets_per_process"))
        if "max_processes" in settings:
            self.sockets.cap = positive_int_setting("TRC-1", "max_processes", settings["max_processes"])
        if "max_sockets_per_process" in settings:
            self.max_sockets = positive_int_setting("TRC-1", "max_sockets_per_process",
                                                    settings["max_sockets_per_process"])

    def on_event(self, event: Event) -> None:
        name = event.event_name
        if name == "close":
            fds = self.sockets.get((event.pid_namespace, event.process_id))
            if fds:
                fd = event.get_arg("fd")
                fds.pop(fd if type(fd) is int else fd_number(fd, "fd"), None)
        elif name == "security_socket_connect":
            self._connect(event)
        elif name == "sched_process_exit":
            # The event comes for every thread; only the group's exit ends the fd table.
            if event.get_arg("process_group_exit") is not False:
                self.sockets.pop((event.pid_namespace, event.process_id), None)
        elif name == "dup":
            self._dup(event, "oldfd", event.return_value)
        elif name == "dup2" or name == "dup3":
            newfd = event.get_arg("newfd")
            if newfd is None:
                raise ValueError(f"{name}: argument 'newfd' is missing")
            self._dup(event, "oldfd", fd_number(newfd, "newfd"))

    def _connect(self, event: Event) -> None:
        address = sockaddr_ip_port(event)
        if address is None:
            raise ValueError("security_socket_connect: argument 'remote_addr' is missing")
        sockfd = event.get_arg("sockfd")
        if sockfd is None:
            raise ValueError("security_socket_connect: argument 'sockfd' is missing")
        fd = fd_number(sockfd, "sockfd")
        ip, port = address
        if fd in _STD_FDS:
            # As Tracee: even a non-INET connect on fd 0-2 is reported (ip and port empty).
            self.match(event, {"ip": ip, "port": port, "fd": fd})
        key = (event.pid_namespace, event.process_id)
        fds = self.sockets.get(key)
        if ip and port:
            if fds is None:
                fds = {}
            if fd in fds or len(fds) < self.max_sockets:
                fds[fd] = address
            self.sockets.put(key, fds)
        elif fds:
            fds.pop(fd, None)  # the fd number now names a non-INET socket

    def _dup(self, event: Event, old_name: str, dst: int) -> None:
        if event.return_value < 0:
            return  # the syscall failed: no fd was duplicated
        key = (event.pid_namespace, event.process_id)
        fds = self.sockets.get(key)
        if not fds:
            return
        oldfd = event.get_arg(old_name)
        if oldfd is None:
            raise ValueError(f"{event.event_name}: argument {old_name!r} is missing")
        address = fds.get(fd_number(oldfd, old_name))
        if address is None:
            fds.pop(dst, None)  # dst now refers to whatever oldfd was: not a tracked socket
            return
        if dst in fds or len(fds) < self.max_sockets:
            fds[dst] = address
        self.sockets.move_to_end(key)
        if dst in _STD_FDS:
            self.match(event, {"ip": address[0], "port": address[1], "fd": dst})

    def close(self) -> None:
        warn_evictions("TRC-1", "process(es)", self.sockets, "max_processes")
        self.sockets.clear()
