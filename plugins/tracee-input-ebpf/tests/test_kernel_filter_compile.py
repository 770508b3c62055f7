"""Compiling the rules' selectors into the kernel filter (no kernel needed): only sound conditions
reach the kernel, and anything it cannot check leaves the event unfiltered."""

from __future__ import annotations

from tracee.predicates import arg, context
from tracee_input_ebpf.kernel_filter import (COMM_IN, COMM_NOT_IN, PATH_EQ, PATH_PREFIX, PATH_SUFFIX,
                                             compile_conditions)

OPEN = "security_file_open"


def test_no_conditions_known_means_nothing_filtered() -> None:
    kf = compile_conditions(None, {OPEN, "close"})
    assert not kf.filters_open and not kf.fd_state_events


def test_a_selector_without_predicates_turns_the_filter_off() -> None:
    kf = compile_conditions({OPEN: (("*", (arg("pathname").equals("/etc/shadow"),)), ("*", ()))}, {OPEN})
    assert not kf.filters_open
    assert any("nothing the kernel can check" in n for n in kf.notes)


def test_contains_alone_is_not_checkable_in_the_kernel() -> None:
    kf = compile_conditions({OPEN: (("*", (arg("pathname").contains("/proc/"),)),)}, {OPEN})
    assert not kf.filters_open


def test_rows_hold_origin_flags_comm_and_paths() -> None:
    kf = compile_conditions({OPEN: (
        ("container", (arg("pathname").endswith("/release_agent"), arg("flags").opened_for("write"))),
        ("*", (arg("pathname").startswith("/etc/kubernetes/pki/"),
               context("process_name").none_of("etcd", "kube-apiserver-with-a-long-name"))),
        ("*", (arg("pathname").equals("/etc/ld.so.preload"), context("comm").one_of("bash"))),
    )}, {OPEN})
    a, b, c = kf.open_rows
    assert a.container_only and a.flags_mask == 3 and a.flags_allowed == 0b1110
    assert not b.container_only and b.comm_mode == COMM_NOT_IN and c.comm_mode == COMM_IN and c.eq
    # a comm longer than 15 bytes equals no comm: left out of the kernel's set (not truncated)
    assert kf.open_comms == {b"etcd": 0b010, b"bash": 0b100}
    assert kf.open_paths == {(PATH_SUFFIX, b"/release_agent"): 1 << 0,
                             (PATH_PREFIX, b"/etc/kubernetes/pki/"): 1 << 1,
                             (PATH_EQ, b"/etc/ld.so.preload"): 1 << 2}
    assert kf.prefix_lengths == {20: 0b010} and kf.suffix_lengths == {14: 0b001}


def test_values_the_kernel_cannot_compare_bytewise_are_left_out() -> None:
    long = "/" + "x" * 200
    kf = compile_conditions({OPEN: (("*", (arg("pathname").equals(long), arg("flags").opened_for("read"))),
                                    ("*", (arg("pathname").startswith("/bad\ufffd"),
                                           arg("flags").opened_for("write"))))}, {OPEN})
    assert kf.filters_open and not kf.open_paths  # the flags still narrow both rows
    assert all(r.path_bits == 0 for r in kf.open_rows)


def test_fd_state_only_when_every_selector_of_the_event_needs_it() -> None:
    tracked = (("*", (arg("fd").tracked("inet_socket_fd"),)),)
    kf = compile_conditions({"close": tracked, "dup": (("*", (arg("oldfd").tracked("inet_socket_fd"),)),
                                                      ("*", ()))}, {"close", "dup"})
    assert kf.fd_state_events == frozenset({"close"})
    other_state = compile_conditions({"close": (("*", (arg("fd").tracked("something_else"),)),)}, {"close"})
    assert not other_state.fd_state_events
