"""Predicates in selectors: what a rule can match, checked soundly before it sees an event."""

import pytest

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.engine import Engine
from tracee.predicates import Predicate, arg, context, decoder_for, parse
from tracee.testing import make_event, run_signatures


def may(predicate, event):
    return predicate.may_match(event, decoder_for(event.event_name, predicate))


@pytest.mark.parametrize("predicate, value, expected", [
    (arg("pathname").equals("/etc/ld.so.preload"), "/etc/ld.so.preload", True),
    (arg("pathname").equals("/etc/ld.so.preload"), "/etc/passwd", False),
    (arg("pathname").startswith("/proc/", "/sys/"), "/sys/kernel/x", True),
    (arg("pathname").startswith("/proc/"), "/etc/x", False),
    (arg("pathname").endswith("/release_agent"), "/c/release_agent", True),
    (arg("pathname").endswith("/release_agent"), "/c/notify", False),
    (arg("pathname").contains("serviceaccount"), "/var/run/secrets/kubernetes.io/serviceaccount/token", True),
    (arg("pathname").contains("serviceaccount"), "/tmp/x", False),
    (arg("pathname").none_of("/a", "/b"), "/a", False),
    (arg("pathname").none_of("/a", "/b"), "/c", True),
])
def test_string_comparisons(predicate, value, expected):
    assert may(predicate, make_event("security_file_open", pathname=value)) is expected


def test_raw_values_are_decoded_before_comparing():
    traceme = arg("request").equals("PTRACE_TRACEME")
    assert may(traceme, make_event("ptrace", request="PTRACE_TRACEME"))
    assert may(traceme, make_event("ptrace", request=0))  # raw: decoded with ptrace's decoder
    assert not may(traceme, make_event("ptrace", request=16))
    assert not may(traceme, make_event("ptrace", request="PTRACE_ATTACH"))


def test_open_flags_access_mode_in_both_forms():
    write = arg("flags").opened_for("write")
    read = arg("flags").opened_for("read")
    for flags, w, r in [("O_RDONLY|O_LARGEFILE", False, True), ("O_WRONLY|O_CREAT|O_TRUNC", True, False),
                        ("O_RDWR", True, True), (0o100, False, True), (0o101, True, False), (2, True, True),
                        (3, True, False)]:
        event = make_event("security_file_open", pathname="/x", flags=flags)
        assert (may(write, event), may(read, event)) == (w, r), flags


def test_numbers_ranges_and_fd_text():
    low = arg("fd").between(0, 2)
    assert may(low, make_event("close", fd=1)) and not may(low, make_event("close", fd=7))
    assert may(low, make_event("close", fd="2=/dev/pts/0"))  # parse-arguments-fds form
    assert not may(arg("sockfd").one_of(0, 1, 2), make_event("security_socket_connect", sockfd="5"))


def test_sockaddr_fields_in_every_form():
    metadata_ip = arg("remote_addr.sin_addr").equals("169.254.169.254")
    as_map = {"sa_family": "AF_INET", "sin_addr": "169.254.169.254", "sin_port": "80"}
    assert may(metadata_ip, make_event("security_socket_connect", sockfd=3, remote_addr=as_map))
    old_string = "{'sa_family': 'AF_INET','sin_port': '80','sin_addr': '10.0.0.1'}"
    assert not may(metadata_ip, make_event("security_socket_connect", sockfd=3, remote_addr=old_string))
    unix = {"sa_family": "AF_UNIX", "sun_path": "/run/x.sock"}
    assert may(metadata_ip, make_event("security_socket_connect", sockfd=3, remote_addr=unix))  # no sin_addr: unknown


def test_unknown_or_missing_values_may_match():
    """Sound: only a value the predicate can read and that fails it rules the event out."""
    p = arg("pathname").startswith("/etc/")
    assert may(p, make_event("security_file_open"))  # missing
    assert may(p, make_event("security_file_open", pathname=["a"]))  # odd form
    assert may(arg("remote_addr.sin_addr").equals("1.2.3.4"), make_event("security_socket_connect", remote_addr=5))
    assert may(arg("fd").tracked("inet_socket_fd"), make_event("close", fd=9))  # kernel state: unknown here


def test_context_fields():
    nginx = context("processName").one_of("nginx", "httpd")
    assert nginx.field == "process_name" and nginx.context
    assert may(nginx, make_event("security_bprm_check", context={"process_name": "nginx"}))
    assert not may(nginx, make_event("security_bprm_check", context={"process_name": "bash"}))
    with pytest.raises(ValueError, match="not a context field"):
        context("nope").equals(1)


@pytest.mark.parametrize("text, expected", [
    ("pathname=/etc/*", Predicate("pathname", "prefix", ("/etc/",))),
    ("pathname=*/release_agent", Predicate("pathname", "suffix", ("/release_agent",))),
    ("pathname=*serviceaccount*", Predicate("pathname", "contains", ("serviceaccount",))),
    ("pathname=/a,/b", Predicate("pathname", "in", ("/a", "/b"))),
    ("sockfd!=0,1,2", Predicate("sockfd", "not_in", (0, 1, 2))),
    ("request=PTRACE_TRACEME", Predicate("request", "in", ("PTRACE_TRACEME",))),
    ("context.processName=nginx", Predicate("process_name", "in", ("nginx",), True)),
])
def test_tracee_data_filter_spelling(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, message", [
    ("pathname", "expected FIELD=VALUE"),
    ("pathname=", "expected FIELD=VALUE"),
    ("pathname!=/etc/*", "cannot be negated"),
    ("pathname=/a,/b*", "mix of patterns and plain values"),
    ("pathname=/a*,*b", "mix of prefix, suffix"),
    ("pathname=/a*b", "only at the start or the end"),
    ("context.bogus=1", "not a context field"),
])
def test_bad_filters_say_why(text, message):
    with pytest.raises(ValueError, match=message):
        parse(text)


class Opens(Signature):
    metadata = SignatureMetadata(id="OPEN-1", name="etc writes")
    selected_events = [EventSelector("security_file_open", where=("pathname=/etc/*", arg("flags").opened_for("write"))),
                       EventSelector("security_file_open", where=(arg("pathname").equals("/root/.ssh/authorized_keys"),))]

    def __init__(self):
        self.seen = []

    def on_event(self, event):
        self.seen.append(event.get_arg("pathname"))


def test_the_engine_hands_a_signature_only_events_one_selector_may_match():
    events = [make_event("security_file_open", pathname=p, flags=f) for p, f in [
        ("/etc/passwd", "O_WRONLY"), ("/etc/passwd", "O_RDONLY"), ("/tmp/x", "O_WRONLY"),
        ("/root/.ssh/authorized_keys", "O_RDONLY"), ("/etc/shadow", 1)]]
    sig = Opens()
    engine = Engine([sig], [].append, check_predicates="all")
    engine.run(events)
    assert sig.seen == ["/etc/passwd", "/root/.ssh/authorized_keys", "/etc/shadow"]
    assert engine.stats.dispatched == {"OPEN-1": 3}
    unfiltered = Opens()
    run_signatures_all = Engine([unfiltered], [].append, check_predicates="none")
    run_signatures_all.run(events)
    assert len(unfiltered.seen) == 5


def test_a_selector_without_predicates_wins():
    class Both(Opens):
        selected_events = [*Opens.selected_events, EventSelector("security_file_open")]

    sig = Both()
    Engine([sig], [].append, check_predicates="all").run(
        [make_event("security_file_open", pathname="/tmp/x", flags="O_RDONLY")])
    assert sig.seen == ["/tmp/x"]


def test_by_default_only_group_members_are_checked():
    """A Python rule's own first test costs what the check would; a rule group's evaluation far more."""
    sig = Opens()
    run_signatures([sig], [make_event("security_file_open", pathname="/tmp/x", flags="O_RDONLY")])
    assert sig.seen == ["/tmp/x"]


def test_compiled_checks_agree_with_may_match():
    import itertools

    predicates = [arg("pathname").equals("/etc/a"), arg("pathname").startswith("/etc/"), arg("pathname").endswith("a"),
                  arg("flags").opened_for("write"), arg("request").equals("PTRACE_TRACEME"),
                  arg("remote_addr.sin_addr").equals("1.1.1.1"), context("process_name").none_of("x")]
    values = ["/etc/a", "/tmp/b", 0, 1, 2, None, ["l"], "PTRACE_TRACEME", {"sa_family": "AF_INET", "sin_addr": "1.1.1.1"}]
    for predicate, value, name in itertools.product(predicates, values, ["security_file_open", "ptrace"]):
        event = make_event(name, **{predicate.argument or "pathname": value})
        check = predicate.compile(name)
        assert check(event) == may(predicate, event), (predicate, value, name)
    assert arg("fd").tracked("inet_socket_fd").compile("close") is None
