"""What a go-cel expression can say, checked on both backends (the same tests, --cel-backend)."""

from __future__ import annotations

import re
import pytest

from tracee import Event
from tracee.testing import make_event, run_signatures


def fires(loaded, *events: Event) -> list[bool]:
    """For each event: did the single loaded signature fire on it?"""
    assert len(loaded.signatures) == 1, loaded.output
    return [bool(run_signatures(loaded.signatures, [e])) for e in events]


# -- input: Tracee's field names ------------------------------------------------------------------------
def test_wrapper_field_names(rule):
    loaded = rule("input.processID == 1000 && input.hostProcessID == 1000 && input.processName == 'test'"
                  " && input.hostName == 'testhost' && input.eventName == 'ptrace' && input.eventID == 101"
                  " && input.argsNum == 1 && input.returnValue == 0 && input.userID == 0"
                  " && input.mountNS == 0 && input.PIDNS == 0 && input.containerID == ''"
                  " && input.podName == '' && input.processorID == 0")
    assert fires(loaded, make_event("ptrace", request="PTRACE_TRACEME")) == [True]


def test_tracee_json_names_are_accepted_too(rule):
    loaded = rule("input.processId == 1000 && input.hostProcessId == 1000 && input.threadId == 1000"
                  " && input.parentProcessId == 1 && input.eventId == 101 && input.userId == 0"
                  " && input.mountNamespace == 0 && input.pidNamespace == 0 && input.containerId == ''")
    assert fires(loaded, make_event("ptrace")) == [True]


def test_container_fields_and_context_flags(rule):
    loaded = rule("input.containerID != '' && input.contextFlags.containerStarted"
                  " && input.containerImage == 'nginx' && input.podNamespace == 'prod'")
    started = make_event("ptrace", container=True, context={"container_image": "nginx", "pod_namespace": "prod"})
    initialising = make_event("ptrace", container="init", context={"container_image": "nginx",
                                                                    "pod_namespace": "prod"})
    assert fires(loaded, started, initialising) == [True, False]


def test_args_list_keeps_tracee_shape(rule):
    loaded = rule("input.args.exists(a, a.name == 'pid' && a.value == 4242)"
                  " && input.args.map(a, a.name) == ['request', 'pid']")
    assert fires(loaded, make_event("ptrace", request="PTRACE_ATTACH", pid=4242),
                 make_event("ptrace", request="PTRACE_ATTACH", pid=1)) == [True, False]


def test_big_unsigned_numbers_and_bytes_arrive_intact(rule):
    # celpy's own converter rejects ints >= 2^63 and bytes; kernel values have both.
    loaded = rule("input.cgroupID == 18446744073709551615u && input.cgroupID > 0"
                  " && input.args.exists(a, a.name == 'buf' && a.value == b'\\x00\\xffA')",
                  events=("write",))
    event = make_event("write", buf=b"\x00\xffA", context={"cgroup_id": 2**64 - 1})
    assert fires(loaded, event) == [True]


# -- stringArg ------------------------------------------------------------------------------------------
def test_string_arg_is_empty_when_missing_or_not_a_string(rule):
    loaded = rule("input.stringArg('request') == ''")
    assert fires(loaded, make_event("ptrace"), make_event("ptrace", request=16),
                 make_event("ptrace", request="PTRACE_TRACEME")) == [True, True, False]


def test_string_arg_with_a_computed_name_and_nested(rule):
    loaded = rule("input.stringArg('path' + 'name') == '/etc/shadow'"
                  " && input.stringArg(input.stringArg('which')) == '/etc/shadow'", events=("openat",))
    assert fires(loaded, make_event("openat", pathname="/etc/shadow", which="pathname"),
                 make_event("openat", pathname="/etc/passwd", which="pathname")) == [True, False]


# -- sockaddrArg ----------------------------------------------------------------------------------------
def connect(addr) -> Event:
    return make_event("security_socket_connect", sockfd=3, remote_addr=addr)


def test_sockaddr_equals_a_wrapper_sockaddr_literal(rule):
    loaded = rule("input.sockaddrArg('remote_addr') == wrapper.sockaddr{sa_family: wrapper.sa_family_t.AF_INET,"
                  " sin_addr: '216.58.209.14', sin_port: 80u}", events=("security_socket_connect",))
    assert fires(loaded,
                 connect({"sa_family": "AF_INET", "sin_addr": "216.58.209.14", "sin_port": "80"}),
                 connect({"sa_family": "AF_INET", "sin_addr": "216.58.209.14", "sin_port": "81"}),
                 connect({"sa_family": "AF_INET", "sin_addr": "216.58.209.15", "sin_port": "80"}),
                 ) == [True, False, False]


def test_sockaddr_fields(rule):
    loaded = rule("input.sockaddrArg('remote_addr').sa_family == 'AF_INET6'"
                  " && input.sockaddrArg('remote_addr').sin6_port == 443u"
                  " && input.sockaddrArg('remote_addr').sin6_addr.startsWith('2001:db8:')"
                  " && input.sockaddrArg('remote_addr').sin_addr == ''", events=("security_socket_connect",))
    v6 = {"sa_family": "AF_INET6", "sin6_addr": "2001:db8::1", "sin6_port": "443", "sin6_flowinfo": "0",
          "sin6_scopeid": "0"}
    assert fires(loaded, connect(v6), connect({**v6, "sin6_port": "80"})) == [True, False]


def test_sockaddr_unix_and_old_string_form(rule):
    loaded = rule("input.sockaddrArg('remote_addr').sa_family == wrapper.sa_family_t.AF_UNIX"
                  " && input.sockaddrArg('remote_addr').sun_path == '/var/run/docker.sock'",
                  events=("security_socket_connect",))
    old = Event("security_socket_connect", [  # Tracee v0.6.x wrote the map as a single-quoted string
        {"name": "remote_addr", "type": "struct sockaddr*",
         "value": "{'sa_family': 'AF_UNIX','sun_path': '/var/run/docker.sock'}"}])
    assert fires(loaded, connect({"sa_family": "AF_UNIX", "sun_path": "/var/run/docker.sock"}), old,
                 connect({"sa_family": "AF_UNIX", "sun_path": "/tmp/x"})) == [True, True, False]


def test_missing_sockaddr_is_the_empty_one(rule):
    loaded = rule("input.sockaddrArg('nope') == wrapper.sockaddr{}"
                  " && input.sockaddrArg('nope').sa_family == wrapper.sa_family_t.SA_FAMILY_T_UNSPEC"
                  " && input.sockaddrArg('nope').sin_port == 0u", events=("security_socket_connect",))
    assert fires(loaded, connect({"sa_family": "AF_INET", "sin_addr": "1.2.3.4", "sin_port": "1"})) == [True]


# -- CEL itself: macros, strings, numbers ----------------------------------------------------------------
@pytest.mark.parametrize("expression", [
    "['a', 'b'].exists(x, x == 'b') && ['a', 'b'].all(x, x.size() == 1) && ['a', 'b'].exists_one(x, x == 'a')",
    "[1, 2, 3].filter(x, x > 1) == [2, 3] && [1, 2].map(x, x * 2) == [2, 4] && 2 in [1, 2]",
    "has(input.processName) && 'k' in {'k': 1} && size('abc') == 3 && 'abc'.size() == 3",
    "'/usr/bin/bash'.startsWith('/usr') && 'abc'.contains('b') && 'abc'.matches('^a.c$')",
    "'aBc'.lowerAscii() == 'abc' && 'aBc'.upperAscii() == 'ABC' && '  x '.trim() == 'x'",
    "'a/b/c'.split('/') == ['a', 'b', 'c'] && ['a', 'b'].join('-') == 'a-b' && 'abc'.replace('b', 'x') == 'axc'",
    "'abcb'.indexOf('b') == 1 && 'abcb'.lastIndexOf('b') == 3 && 'abc'.substring(1) == 'bc' && 'abc'.charAt(2) == 'c'",
    "int('42') == 42 && string(7) == '7' && uint(3) == 3u && 1.5 < 2.0 && double(1) == 1.0",
    # Values from the event are dynamic: CEL compares their numbers across int/uint/double.
    "input.processID == 1000u && input.processID > 999u && input.processID < 1000.5 && input.processID != 'a'",
])
def test_standard_macros_functions_and_numbers(rule, expression):
    assert fires(rule(expression), make_event("ptrace")) == [True]


def test_logical_operators_absorb_errors_like_cel(rule):
    # An error on one side of || / && is absorbed when the other side decides (CEL's commutative logic).
    loaded = rule("input.args[7].value == 1 || input.processName == 'test'")
    assert fires(loaded, make_event("ptrace")) == [True]
    assert loaded.errors == 0


# -- compile once, one input per event --------------------------------------------------------------------
def test_one_input_per_event_shared_by_all_rules(load_rules):
    loaded = load_rules("""\
        kind: SignaturesConfig
        apiVersion: tracee.aquasecurity.github.io/v1alpha1
        signatures:
          - metadata: {id: A, name: a}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: input.stringArg('request') == 'PTRACE_TRACEME'
          - metadata: {id: B, name: b}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: input.processName == 'test'
        """)
    group = loaded.signatures[0].group
    assert group is loaded.signatures[1].group  # evaluated together, through the engine's group seam
    built = []
    real = group.backend.plain  # what every expression can read of the event (the cache's key too)
    group.backend.plain = lambda event: built.append(event) or real(event)
    event = make_event("ptrace", request="PTRACE_TRACEME")
    found = run_signatures(loaded.signatures, [event])
    assert found.ids == ["A", "B"]
    assert built == [event]  # built once, used by both
    programs = [s.program for s in loaded.signatures]
    run_signatures(loaded.signatures, [make_event("ptrace")])
    assert [s.program for s in loaded.signatures] == programs  # compiled once, at load


def test_rules_read_only_fields_some_rule_needs_but_whole_input_still_works(load_rules):
    loaded = load_rules("""\
        kind: SignaturesConfig
        apiVersion: tracee.aquasecurity.github.io/v1alpha1
        signatures:
          - metadata: {id: A, name: a}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: input['processName'] == 'test' && size(input) == 28
          - metadata: {id: B, name: b}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: input.hostName == 'testhost'
        """)
    assert run_signatures(loaded.signatures, [make_event("ptrace")]).ids == ["A", "B"]


def test_cel_python_runs_every_rule_transpiled(load_rules, cel_backend):
    """celpy's CompiledRunner is 3-8x faster than its interpreter, but only handles functions it can
    name by module path: the strings extension and comparisons are written so that it can."""
    if cel_backend != "cel-python":
        pytest.skip("about the cel-python backend")
    loaded = load_rules("""\
        kind: SignaturesConfig
        apiVersion: tracee.aquasecurity.github.io/v1alpha1
        signatures:
          - metadata: {id: A, name: a}
            eventSelectors: [{source: tracee, name: ptrace}]
            expression: |-
              input.processName.lowerAscii().split('/').size() == 1 && input.processID >= 1u
                && input.stringArg('request') != 'x' && input.sockaddrArg('a').sin_port < 1u
        """)
    (sig,) = loaded.signatures
    assert sig.group.backend.interpreted == 0
    assert run_signatures(loaded.signatures, [make_event("ptrace")]).ids == ["A"]


def test_selectors_may_declare_filters(load_rules):
    """`filters` (a tracee extension go-cel ignores): necessary conditions of a match."""
    loaded = load_rules("""\
        kind: SignaturesConfig
        apiVersion: tracee.aquasecurity.github.io/v1alpha1
        signatures:
          - metadata: {id: F-1, name: f}
            eventSelectors: [{source: tracee, name: security_file_open, filters: ["pathname=*/token"]}]
            expression: "true"
        """)
    (sig,) = loaded.signatures
    assert [str(p) for p in sig.get_selected_events()[0].where] == ["pathname suffix /token"]
    events = [make_event("security_file_open", pathname=p) for p in ("/a/token", "/a/key")]
    assert [f.event.get_arg("pathname") for f in run_signatures([sig], events)] == ["/a/token"]


def test_a_bad_filter_is_reported_at_its_line(load_rules):
    loaded = load_rules("""\
        kind: SignaturesConfig
        apiVersion: tracee.aquasecurity.github.io/v1alpha1
        signatures:
          - metadata: {id: F-2, name: f}
            eventSelectors:
              - {source: tracee, name: openat, filters: ["pathname=/a*b"]}
            expression: "true"
        """)
    assert loaded.signatures == []
    assert re.search(r"rules\.yaml: signature F-2: 6:\d+: filter 'pathname=/a\*b'.*only at the start or the end",
                     loaded.output), loaded.output
