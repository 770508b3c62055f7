"""The loaded rules' predicates as the kernel applies them: what no selector can match stays in the
kernel (counted), everything a selector may match comes out; TRC-1's fd state in the kernel."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tracee.predicates import arg, context
from tracee_input_ebpf.kernel_filter import compile_conditions

from conftest import Collector, kernel_skip_reason

pytestmark = pytest.mark.kernel

OPEN = "security_file_open"


def _source(conditions, events):
    why = kernel_skip_reason()
    if why:
        pytest.skip(f"kernel tests: {why}")
    from tracee_input_ebpf.program import Filters
    from tracee_input_ebpf.source import EbpfSource, SourceOptions

    # Only this test process and its children; the rules' filter compiled from `conditions`.
    filters = Filters(pids=(os.getpid(),), follow=True, rules=compile_conditions(conditions, events))
    return EbpfSource(SourceOptions(events=frozenset(events), filters=filters, include_self=True, poll_ms=20))


def _paths(events, name=OPEN) -> list[str]:
    return [a["value"] for e in events if e.event_name == name for a in e.args if a["name"] == "pathname"]


@pytest.fixture(scope="module")
def opens(tmp_path_factory):
    """One source whose rules select security_file_open of: pathnames under DIR/keep/ opened for
    writing; DIR/exact read by a process named 'filter-comm'; pathnames ending in '.secret'
    from a container (never this host process)."""
    root = tmp_path_factory.mktemp("kfilter")
    conditions = {OPEN: (
        ("*", (arg("pathname").startswith(f"{root}/keep/"), arg("flags").opened_for("write"))),
        ("*", (arg("pathname").equals(f"{root}/exact"), context("process_name").equals("filter-comm"))),
        ("container", (arg("pathname").endswith(".secret"),)),
    )}
    source = _source(conditions, {OPEN})
    c = Collector(source)
    yield root, c, source
    c.close()


def _open(path: Path, flags: int) -> None:
    fd = os.open(path, flags, 0o600)
    os.close(fd)


def test_only_what_a_selector_can_match_leaves_the_kernel(opens) -> None:
    root, c, source = opens
    (root / "keep").mkdir()
    before = source.stats()["skipped_in_kernel"]
    _open(root / "keep" / "w", os.O_WRONLY | os.O_CREAT)      # prefix + write: out
    _open(root / "keep" / "w", os.O_RDONLY)                   # a read: no selector
    _open(root / "other", os.O_WRONLY | os.O_CREAT)           # no prefix
    _open(root / "exact", os.O_WRONLY | os.O_CREAT)           # exact path, wrong comm: in the kernel
    _open(root / "x.secret", os.O_WRONLY | os.O_CREAT)        # suffix, but from the host
    # exact path and the right comm (a child renamed with prctl): out
    code = ("import ctypes, os; ctypes.CDLL(None).prctl(15, b'filter-comm', 0, 0, 0); "
            f"os.close(os.open({str(root / 'exact')!r}, os.O_RDONLY))")
    subprocess.run([sys.executable, "-c", code], check=True)
    c.wait_for(lambda e: e.event_name == OPEN and e.process_name == "filter-comm")
    c.wait_for(lambda e: e.event_name == OPEN and f"{root}/keep/w" in _paths([e]))
    seen = [p for p in _paths(c.all(lambda e: True)) if p.startswith(str(root))]
    assert seen.count(f"{root}/keep/w") == 1, seen
    assert seen.count(f"{root}/exact") == 1, seen
    assert f"{root}/other" not in seen and f"{root}/x.secret" not in seen
    assert source.stats()["skipped_in_kernel"] - before >= 4  # counted, not lost silently
    assert source.stats()["lost"] == 0


def test_a_reload_widens_the_kernel_filter(opens) -> None:
    root, c, source = opens
    _open(root / "before-reload", os.O_WRONLY | os.O_CREAT)
    # A new rule selects every security_file_open: nothing may be dropped any more.
    source.update_conditions({OPEN: (("*", ()),)})
    _open(root / "after-reload", os.O_RDONLY | os.O_CREAT)
    c.wait_for(lambda e: e.event_name == OPEN and f"{root}/after-reload" in _paths([e]))
    assert f"{root}/before-reload" not in _paths(c.all(lambda e: True))


def test_close_and_dup_leave_the_kernel_only_for_inet_socket_fds() -> None:
    tracked = (arg("fd").tracked("inet_socket_fd"),)
    conditions = {"close": (("*", tracked),),
                  "dup2": (("*", (arg("oldfd").tracked("inet_socket_fd"),)),
                           ("*", (arg("newfd").tracked("inet_socket_fd"),))),
                  "security_socket_connect": (("*", ()),)}
    source = _source(conditions, set(conditions))
    c = Collector(source)
    try:
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        plain = os.open("/dev/null", os.O_RDONLY)
        os.dup2(plain, 990)                              # neither fd tracked: stays in the kernel
        os.close(990)                                   # not a socket: stays in the kernel
        os.close(plain)
        sock = socket.create_connection(server.getsockname())
        sock_fd = sock.fileno()
        os.dup2(sock_fd, 977)                            # dup2 of a tracked socket: out, 977 tracked
        os.close(977)                                   # close of the copy: out
        unix = socket.socket(socket.AF_UNIX)
        os.dup2(unix.fileno(), 991)                      # a unix socket never connected: in the kernel
        os.close(991)
        unix.close()
        sock.close()                                     # out
        c.wait_for(lambda e: e.event_name == "close" and _fd(e) == sock_fd and e.host_process_id == os.getpid())
        mine = c.all(lambda e: e.host_process_id == os.getpid())
        closes = [_fd(e) for e in mine if e.event_name == "close"]
        dups = [(_arg(e, "oldfd"), _arg(e, "newfd")) for e in mine if e.event_name == "dup2"]
        assert 977 in closes and 990 not in closes and 991 not in closes, closes
        assert dups == [(sock_fd, 977)], dups
        assert source.stats()["skipped_in_kernel"] >= 4
        server.close()
    finally:
        c.close()


def _arg(event, name):
    return next((a["value"] for a in event.args if a["name"] == name), None)


def _fd(event):
    value = _arg(event, "fd")
    return value if isinstance(value, int) else int(str(value).split("=", 1)[0])
