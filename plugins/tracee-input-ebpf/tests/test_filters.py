"""The --trace/--filter language: parsing into a spec, Tracee's errors, and the user-space evaluator
(no root, no BCC)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tracee import Event
from tracee_input_ebpf.filters import (FilterError, Matcher, NumericFilter, StringFilter, parse,
                                       proc_parent)
from tracee_input_ebpf.filters import catalog as event_catalog

CID = "ab356bc4dd554" + "0" * 51


def ev(name="openat", *, pid=1000, ppid=1, uid=1000, comm="bash", cid="", started=False, ret=0,
       args=None, mntns=4026531840, pidns=4026531836, uts="host", start=0) -> Event:
    return Event(name, args or [], host_process_id=pid, host_parent_process_id=ppid, user_id=uid,
                 process_name=comm, container_id=cid, container_started=started, return_value=ret,
                 mount_namespace=mntns, pid_namespace=pidns, host_name=uts, thread_start_time=start)


def match(exprs, *events, **kwargs):
    m = Matcher(parse(exprs), **kwargs)
    return [m.matches(e) for e in events]


# -- the spec ------------------------------------------------------------------------------------
def test_events_default_to_tracees_default_set():
    assert parse([]).events == frozenset(event_catalog.names_in_set("default"))


def test_event_names_prefix_suffix_and_exclusions():
    names = {e.name for e in event_catalog.EVENTS}
    assert parse(["event=open*"]).events == {n for n in names if n.startswith("open")}
    assert parse(["e=*at"]).events == {n for n in names if n.endswith("at")}
    assert parse(["event=execve,openat"]).events == {"execve", "openat"}
    # exclusions apply to sets, never to events named
    only = parse(["event!=open*,dup*"]).events
    assert "openat" not in only and "close" in only
    s = parse(["s=fs", "e!=open,openat"]).events
    assert "open" not in s and "openat" not in s and "close" in s
    assert "openat" in parse(["event=openat", "event!=openat"]).events


def test_scope_filters_are_typed():
    spec = parse(["uid>0", "u!=1000", "pid=510,1709", "p=77", "mntns=4026531840", "pidns!=4026531836",
                  "comm=bash", "uts!=box", "container", "tree=476165", "follow", "net=docker0"])
    assert spec.uid == NumericFilter(not_equal=frozenset({1000}), greater=0)
    assert spec.pid == NumericFilter(equal=frozenset({510, 1709, 77}))
    assert spec.mntns.equal == {4026531840} and spec.pidns.not_equal == {4026531836}
    assert spec.comm == StringFilter(equal=frozenset({"bash"}))
    assert spec.uts == StringFilter(not_equal=frozenset({"box"}))
    assert spec.container is True and spec.tree.pids == {476165: True} and spec.follow
    assert spec.net == ("docker0",) and spec.has_scope


def test_comparisons_keep_the_tightest_bound():
    spec = parse(["pid>0", "pid>5", "pid<1000", "pid<900", "uid>=10", "uid<=20"])
    assert (spec.pid.greater, spec.pid.less) == (5, 900)
    assert (spec.uid.greater, spec.uid.less) == (9, 21)


def test_container_forms():
    assert parse(["c"]).container is True and parse(["!container"]).container is False
    assert parse(["container", "!container"]).container is None  # both: no restriction
    new = parse(["container=new"])
    assert new.new_container is True and new.container is None
    not_new = parse(["container!=new"])
    assert not_new.container is True and not_new.new_container is False
    ids = parse(["container=ab356bc4dd554", "container!=ffff"]).container_ids
    assert ids.ids == ("ab356bc4dd554",) and ids.not_ids == ("ffff",)
    assert parse(["pid=new"]).new_pid is True and parse(["pid!=new"]).new_pid is False


def test_argument_and_retval_filters():
    spec = parse(["openat.pathname=/etc/*", "openat.args.flags!=O_RDONLY", "close.fd=5", "openat.retval<0"])
    by = {(f.event, f.arg): f.filter for f in spec.args}
    assert by[("openat", "pathname")].prefixes == ("/etc/",)
    assert by[("openat", "flags")].not_equal == {"O_RDONLY"}
    assert by[("close", "fd")].equal == {"5"}
    assert spec.retvals["openat"] == NumericFilter(less=0)
    assert parse(["close.retval=-1,-9"]).retvals["close"].equal == {-1, -9}


@pytest.mark.parametrize("expr, message", [
    ("bogus=1", "invalid filter option specified (bogus=1), use '--trace help' for more info"),
    ("pid=", "invalid filter expression: pid="),
    ("uid!=", "invalid filter expression: uid!="),
    ("uid", "invalid filter expression: uid"),
    ("pid=abc", "invalid filter value abc"),
    ("uid=-1", "invalid filter value -1"),
    ("uid=4294967296", "invalid filter value 4294967296"),
    ("mntns=18446744073709551616", "invalid filter value 18446744073709551616"),
    ("event=nosuchevent", "invalid event to trace: nosuchevent"),
    ("event=zzz*", "invalid event to trace: zzz*"),
    ("event!=nosuch", "invalid event to exclude: nosuch"),
    ("set=nosuchset", "invalid set to trace: nosuchset"),
    ("comm>bash", "failed to add filter: unsupported operator >"),
    ("comm=*", "invalid filter value *"),
    ("comm=a,,b", "invalid filter value "),
    ("comm=averyveryverylongname", "invalid filter value averyveryverylongname exceeds max length 15"),
    ("nosuch.pathname=/x", "invalid event name in filter: nosuch"),
    ("openat.nosuch=/x", "invalid filter event argument: nosuch"),
    ("openat.a.b.c=/x", "invalid filter expression: openat.a.b.c=/x"),
    ("openat.pathname>3", "failed to add filter: unsupported operator >"),
    ("nosuch.retval=0", "invalid retval filter event name: nosuch"),
    ("openat.retval=x", "invalid filter value x"),
    ("tree=abc", "invalid PID given to filter: abc"),
    ("tree!=", "invalid filter expression: tree!="),
    ("security_file_open.syscall=notasyscall", "invalid filter value notasyscall"),
    ("", "invalid filter option specified (), use '--trace help' for more info"),
])
def test_bad_expressions_get_tracees_one_line_errors(expr, message):
    with pytest.raises(FilterError) as err:
        parse([expr], flag="--trace")
    assert str(err.value) == message and "\n" not in str(err.value)


# -- evaluation ----------------------------------------------------------------------------------
def test_numeric_semantics():
    assert match(["uid!=0"], ev(uid=0), ev(uid=1000)) == [False, True]
    assert match(["pid>1000"], ev(pid=1000), ev(pid=1001)) == [False, True]
    assert match(["pid>0", "pid<1000"], ev(pid=5), ev(pid=1000)) == [True, False]
    assert match(["u>0", "u!=1000"], ev(uid=0), ev(uid=1000), ev(uid=1001)) == [False, False, True]
    assert match(["pid=510,1709"], ev(pid=510), ev(pid=1709), ev(pid=511)) == [True, True, False]
    # an '=' value always matches, a '!=' one never does (Tracee's kernel maps)
    assert match(["pid=5", "pid>1000"], ev(pid=5), ev(pid=2000), ev(pid=6)) == [True, True, False]


def test_string_semantics():
    assert match(["comm=bash"], ev(comm="bash"), ev(comm="zsh")) == [True, False]
    assert match(["comm!=ls"], ev(comm="ls"), ev(comm="zsh")) == [False, True]
    assert match(["comm=ba*"], ev(comm="bash"), ev(comm="zsh")) == [True, False]
    assert match(["uts!=*box"], ev(uts="sandbox"), ev(uts="host")) == [False, True]


def test_event_selection_and_wildcards():
    assert match(["event=open*"], ev("openat"), ev("close")) == [True, False]


def test_argument_filters_compare_text_and_drop_events_lacking_the_argument():
    etc = ev(args=[{"name": "pathname", "type": "const char*", "value": "/etc/passwd"}])
    tmp = ev(args=[{"name": "pathname", "type": "const char*", "value": "/tmp/x"}])
    assert match(["event=openat", "openat.pathname=/etc/*"], etc, tmp, ev()) == [True, False, False]
    assert match(["event=openat", "openat.pathname!=/tmp/x,/bin/ls"], etc, tmp) == [True, False]
    fd5 = ev("close", args=[{"name": "fd", "type": "int", "value": 5}])
    assert match(["event=close", "close.fd=5"], fd5) == [True]
    # other events are not affected by openat's argument filter
    assert match(["event=openat,close", "openat.pathname=/etc/*"], fd5) == [True]


def test_syscall_argument_filters_accept_raw_and_parsed_values():
    raw = ev("security_file_open", args=[{"name": "syscall", "type": "int", "value": 59}])
    parsed = ev("security_file_open", args=[{"name": "syscall", "type": "int", "value": "openat"}])
    assert match(["event=security_file_open", "security_file_open.syscall=execve"], raw, parsed) == [True, False]


def test_retval_filters():
    assert match(["event=openat", "openat.retval<0"], ev(ret=-2), ev(ret=3)) == [True, False]


def test_container_filters():
    host, inner = ev(), ev(cid=CID, started=True)
    assert match(["container"], host, inner) == [False, True]
    assert match(["!container"], host, inner) == [True, False]
    assert match(["container=ab356bc4dd554"], host, inner, ev(cid="ff" * 32)) == [False, True, False]


def test_container_new_uses_the_known_containers_or_what_it_saw_start():
    old, new = "11" * 32, "22" * 32
    m = Matcher(parse(["container=new"]), existing_containers=[old])
    assert [m.matches(ev(cid=old, started=True)), m.matches(ev(cid=new, started=True)), m.matches(ev())] == \
        [False, True, False]
    m = Matcher(parse(["container=new"]))  # no list: new when first seen before its entry point
    assert m.matches(ev(cid=new)) and m.matches(ev(cid=new, started=True))
    assert not m.matches(ev(cid=old, started=True))


def test_pid_new():
    m = Matcher(parse(["pid=new"]), started_ns=1000)
    assert [m.matches(ev(start=500)), m.matches(ev(start=2000))] == [False, True]
    fork = ev("sched_process_fork", pid=10, args=[{"name": "child_pid", "type": "int", "value": 42}])
    m.matches(fork)
    assert m.matches(ev(pid=42, start=1)) is True  # forked since the start


def test_follow_traces_descendants_of_matching_processes():
    m = Matcher(parse(["comm=bash", "follow"]))
    bash = ev(pid=100, ppid=1, comm="bash")
    child = ev(pid=200, ppid=100, comm="ls")
    grandchild = ev(pid=300, ppid=200, comm="cat")
    other = ev(pid=400, ppid=1, comm="ls")
    assert [m.matches(e) for e in (bash, child, grandchild, other)] == [True, True, True, False]
    # without follow, only bash itself
    assert match(["comm=bash"], bash, child) == [True, False]


def test_follow_learns_children_from_fork_events():
    m = Matcher(parse(["comm=bash", "follow", "event=openat"]))
    m.matches(ev(pid=100, comm="bash"))
    fork = ev("sched_process_fork", pid=100, comm="bash", args=[{"name": "child_pid", "type": "int", "value": 555}])
    assert m.matches(fork) is False  # not a selected event, but its state counts
    assert m.matches(ev(pid=555, ppid=999, comm="curl")) is True


def test_tree_filters(tmp_path):
    m = Matcher(parse(["tree=100"]))
    assert [m.matches(ev(pid=100)), m.matches(ev(pid=200, ppid=100)), m.matches(ev(pid=300, ppid=200)),
            m.matches(ev(pid=400, ppid=1))] == [True, True, True, False]
    m = Matcher(parse(["tree!=100"]))
    assert [m.matches(ev(pid=200, ppid=100)), m.matches(ev(pid=400, ppid=1))] == [False, True]
    # unknown parents come from /proc when asked
    for pid, ppid in ((7, 1), (8, 7), (9, 8)):
        (tmp_path / str(pid)).mkdir()
        (tmp_path / str(pid) / "stat").write_text(f"{pid} (a (b) c) S {ppid} 0 0\n")
    assert proc_parent(9, str(tmp_path)) == 8
    m = Matcher(parse(["tree=7"]), proc_root=str(tmp_path))
    assert m.matches(ev(pid=9, ppid=0)) is True


def test_state_is_bounded():
    m = Matcher(parse(["comm=bash", "follow"]), max_processes=100)
    for pid in range(10_000):
        m.matches(ev(pid=pid + 2, ppid=pid + 1, comm="bash"))
    assert len(m.followed) <= 100 and len(m.parents) <= 100


def test_importable_without_bcc():
    code = ("import sys; sys.modules['bcc'] = None; import tracee_input_ebpf.filters as f; "
            "print(len(f.parse(['event=openat']).events))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == "1", r.stderr
