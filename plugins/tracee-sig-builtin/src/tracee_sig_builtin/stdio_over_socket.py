"""TRC-1: a process's standard input/output/error redirected to an internet socket (reverse shell)."""

from __future__ import annotations

from typing import Any

from tracee import Event, EventSelector, Signature
from tracee.predicates import arg as field
from tracee.state import BoundedMap

from ._common import (arg, check_settings, fd_number, metadata, positive_int_setting, sockaddr_ip_port,
                      warn_evictions)

_STD_FDS = (0, 1, 2)
#: The input's kernel state of the fds this signature can care about (`tracee.predicates`).
INET_SOCKET_FD = "inet_socket_fd"
# Sockets remembered across all processes: measured 384 bytes each at 2 per process (~550 alone),
# so the default costs 25-35 MB at most.
DEFAULT_MAX_SOCKETS = 65536

ProcessKey = tuple[int, int]  # (pid namespace, pid in that namespace)
Address = tuple[str, str]     # (ip, port)


class StdioOverSocket(Signature):
    """Tracks, per process, the fds of connected INET/INET6 sockets; fires when one is duplicated
    onto fd 0, 1 or 2, or when connect() is called on fd 0, 1 or 2 itself. Data {ip, port, fd}.

    Better than Tracee v0.8: works on JSON input (its Go version failed to read the sockaddr map,
    issue #1371) and on the v0.6 quoted-string sockaddr; keys state by (pid namespace, pid) so
    equal pids of two containers do not share an fd table; an fd produced by dup is tracked too
    (dup2(sock, 5) then dup2(5, 0) is caught), and an fd a dup overwrites or a close releases
    is forgotten; a failed dup (negative return value) is ignored; a thread's exit does not drop
    its process's state, only the exit of the whole thread group does. At most `max_sockets`
    sockets are remembered: past that, the least recently active process is forgotten.
    """

    metadata = metadata("TRC-1", "Standard Input/Output Over Socket",
                        "Redirection of process's standard input/output to socket",
                        3, "Persistence: Server Software Component")
    # What can change the answer: connects on an INET socket or on fd 0-2, and dups and closes
    # of the fds such a connect made (kept by the input as kernel state "inet_socket_fd"; user
    # space cannot tell, so it hands them all over). Exits are rare: all of them.
    selected_events = [
        EventSelector("security_socket_connect", where=(field("remote_addr.sa_family").one_of("AF_INET", "AF_INET6"),)),
        EventSelector("security_socket_connect", where=(field("sockfd").between(0, 2),)),
        EventSelector("security_socket_connect", where=(field("sockfd").tracked(INET_SOCKET_FD),)),
        EventSelector("dup", where=(field("oldfd").tracked(INET_SOCKET_FD),)),
        *(EventSelector(name, where=(field(fd).tracked(INET_SOCKET_FD),))
          for name in ("dup2", "dup3") for fd in ("oldfd", "newfd")),
        EventSelector("close", where=(field("fd").tracked(INET_SOCKET_FD),)),
        EventSelector("sched_process_exit")]

    def __init__(self, max_sockets: int = DEFAULT_MAX_SOCKETS) -> None:
        self.max_sockets = max_sockets
        # A process is here only while it has a socket; its weight is its number of sockets, so
        # the cap counts sockets, and the least recently active process goes first.
        self.processes: BoundedMap = BoundedMap(max_sockets, getsizeof=len)

    @property
    def tracked(self) -> int:
        """Sockets remembered, over all processes."""
        return int(self.processes.currsize)

    @property
    def evicted(self) -> int:
        """Sockets forgotten because of the cap."""
        return self.processes.evicted

    def configure(self, settings: dict[str, Any]) -> None:
        check_settings(settings, ("max_sockets",))
        if "max_sockets" in settings:
            self.max_sockets = positive_int_setting("max_sockets", settings["max_sockets"])
            self.processes = BoundedMap(self.max_sockets, getsizeof=len)

    # -- events -----------------------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        name = event.event_name
        if name == "close":  # the most frequent: one dict lookup when the process has no socket
            key = (event.pid_namespace, event.process_id)
            if key in self.processes:
                fd = arg(event, "fd")
                self._forget(key, fd if type(fd) is int else fd_number(fd, "fd"))
        elif name == "security_socket_connect":
            self._connect(event)
        elif name == "sched_process_exit":
            # The event comes for every thread; only the group's exit ends the fd table.
            if arg(event, "process_group_exit") is not False:
                self.processes.pop((event.pid_namespace, event.process_id), None)
        elif name == "dup":
            self._dup(event, event.return_value)
        elif name == "dup2" or name == "dup3":
            newfd = arg(event, "newfd")
            if newfd is None:
                raise ValueError(f"{name}: argument 'newfd' is missing")
            self._dup(event, fd_number(newfd, "newfd"))

    def _connect(self, event: Event) -> None:
        address = sockaddr_ip_port(event)
        if address is None:
            raise ValueError("security_socket_connect: argument 'remote_addr' is missing")
        sockfd = arg(event, "sockfd")
        if sockfd is None:
            raise ValueError("security_socket_connect: argument 'sockfd' is missing")
        fd = fd_number(sockfd, "sockfd")
        ip, port = address
        if fd in _STD_FDS:
            # As Tracee: even a non-INET connect on fd 0-2 is reported (ip and port empty).
            self.match(event, {"ip": ip, "port": port, "fd": fd})
        key = (event.pid_namespace, event.process_id)
        if ip and port:
            self._remember(key, fd, address)
        elif key in self.processes:
            self._forget(key, fd)  # the fd number now names a non-INET socket

    def _dup(self, event: Event, dst: int) -> None:
        if event.return_value < 0:
            return  # the syscall failed: no fd was duplicated
        key = (event.pid_namespace, event.process_id)
        fds = self.processes.get(key)
        if fds is None:
            return
        oldfd = arg(event, "oldfd")
        if oldfd is None:
            raise ValueError(f"{event.event_name}: argument 'oldfd' is missing")
        address = fds.get(fd_number(oldfd, "oldfd"))
        if address is None:
            self._forget(key, dst)  # dst now refers to whatever oldfd was: not a tracked socket
            return
        self._remember(key, dst, address)
        if dst in _STD_FDS:
            self.match(event, {"ip": address[0], "port": address[1], "fd": dst})

    # -- bounded state ----------------------------------------------------------------------------
    def _remember(self, key: ProcessKey, fd: int, address: Address) -> None:
        processes = self.processes
        fds = processes.get(key) or {}  # reading it makes it the most recently active
        fds[fd] = address
        while len(fds) > self.max_sockets:  # this process alone holds them all: forget its oldest
            del fds[next(iter(fds))]
            processes.evicted += 1
        processes[key] = fds  # (re)weighed; older processes are evicted to stay within the cap

    def _forget(self, key: ProcessKey, fd: int) -> None:
        fds = self.processes.get(key)
        if fds is not None and fds.pop(fd, None) is not None:
            if fds:
                self.processes[key] = fds
            else:
                del self.processes[key]

    def close(self) -> None:
        # A reverse shell in a forgotten process would have been missed: say so.
        warn_evictions(self, "socket(s)", self.processes, "max_sockets")
        self.processes.clear()
