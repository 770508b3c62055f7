"""Tracee's Rego conventions: the seed rules, data-returning rules, helpers, selectors, metadata."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tracee import EventSelector
from tracee.testing import make_event, run_signatures

from rego_kit import SEEDS, TRC, load_rules, rule_text, write_rule

DOCKER_SOCK_STRING = "{'sa_family': 'AF_UNIX','sun_path': '/var/run/docker.sock'}"


def test_seed_files_are_the_documents_rules_unchanged():
    seeds = Path("/work/shared/reference/seeds")
    if not seeds.exists():
        pytest.skip("seed documents not on this machine")
    whoami = (SEEDS / "whoami.rego").read_text(encoding="utf-8")
    assert whoami in (seeds / "001_98ff38399649e0a1.txt").read_text(encoding="utf-8")
    blog = (seeds / "004_fca9861d3940a8ef.txt").read_text(encoding="utf-8")
    for block in (SEEDS / "docker_socket.rego").read_text(encoding="utf-8").split("\n\n"):
        assert block.strip() in blog


def test_whoami_seed_rule_fires_on_whoami_execve():
    sigs = load_rules(SEEDS / "whoami.rego")
    assert sigs.stderr == ""
    (sig,) = sigs
    meta = sig.get_metadata()
    assert (meta.id, meta.name, meta.version) == ("TCR-1", "cmd whoami", "1.0.0")
    assert meta.tags == ("linux", "container")
    assert meta.properties == {"Severity": 2, "MITRE ATT&CK": "cmd"}
    assert sig.get_selected_events() == [EventSelector("execve", "", "tracee")]
    events = [make_event("execve", pathname="/usr/bin/whoami", argv=["whoami"]),
              make_event("execve", pathname="/usr/bin/id", argv=["id"]),
              make_event("execve", pathname="/usr/bin/whoami", argv=["whoami"], container=True)]
    findings = run_signatures(sigs, events)
    assert [(f.metadata.id, f.data, f.event.get_arg("pathname")) for f in findings] == [
        ("TCR-1", None, "/usr/bin/whoami"), ("TCR-1", None, "/usr/bin/whoami")]


def test_docker_socket_seed_rule_fires_on_container_connect_with_string_sockaddr():
    """The blog's rule (indented with no-break spaces, as copied from the page) loads, and fires
    on the sockaddr string tracee-ebpf printed in that era, only inside containers."""
    assert "\u00a0" in (SEEDS / "docker_socket.rego").read_text(encoding="utf-8")
    sigs = load_rules(SEEDS / "docker_socket.rego")
    assert sigs.stderr == ""
    (sig,) = sigs
    assert sig.get_metadata().id == "RMM-1"
    assert sig.get_selected_events() == [EventSelector("security_socket_connect", "container", "tracee")]
    docker = dict(sockfd=3, remote_addr=DOCKER_SOCK_STRING)
    other = dict(sockfd=3, remote_addr="{'sa_family': 'AF_UNIX','sun_path': '/run/systemd/private'}")
    events = [make_event("security_socket_connect", container=True, **docker),
              make_event("security_socket_connect", container=True, **other),
              make_event("security_socket_connect", **docker)]  # host: not selected
    findings = run_signatures(sigs, events)
    assert len(findings) == 1
    assert findings[0].data is None and findings[0].event is events[0]


def test_rule_returning_an_object_gives_that_data(rules_dir):
    match = ('tracee_match = res {\n\tinput.eventName == "security_file_open"\n'
             '\tpath := helpers.get_tracee_argument("pathname")\n'
             '\tres := {"file path": path, "pid": input.processId, "nested": {"list": [1, "two"]}}\n}')
    sigs = load_rules(write_rule(rules_dir, "data.rego", rule_text("DATA-1", "DATA_1", ["security_file_open"], match)))
    findings = run_signatures(sigs, [make_event("security_file_open", pathname="/etc/shadow", flags="O_RDONLY",
                                                context={"process_id": 4242})])
    assert [f.data for f in findings] == [{"file path": "/etc/shadow", "pid": 4242,
                                           "nested": {"list": [1, "two"]}}]


def test_bool_and_object_bodies_in_one_package():
    """RGO-6 (TRC-6's logic): init_module → data None; kernel-module read → {"pathname": ...}."""
    sigs = load_rules(TRC / "kernel_module_loading.rego")
    events = [make_event("init_module"),
              make_event("security_kernel_read_file", pathname="/lib/modules/x.ko", type="kernel-module"),
              make_event("security_kernel_read_file", pathname="/lib/firmware/y", type="firmware")]
    assert [f.data for f in run_signatures(sigs, events)] == [None, {"pathname": "/lib/modules/x.ko"}]


def test_false_and_other_values_make_no_finding(rules_dir):
    match = ('tracee_match = false { input.eventName == "openat" }\n'
             'tracee_match = "yes" { input.eventName == "close" }')
    sigs = load_rules(write_rule(rules_dir, "odd.rego", rule_text("ODD-1", "ODD_1", ["openat", "close"], match)))
    findings = run_signatures(sigs, [make_event("openat"), make_event("close"), make_event("close")])
    assert findings == []
    # A string is neither true nor an object: reported once (counted each time), never a finding.
    assert sigs.stderr.count('tracee_match gave "yes"') == 1
    assert sigs.errors == 2


ELF_HEADER = base64.b64encode(b"\x7fELF\x02\x01\x01\x00" + bytes(range(200, 212))).decode()


@pytest.mark.parametrize(("call", "expected"), [
    ('helpers.is_file_write("O_WRONLY|O_CREAT")', True),
    ('helpers.is_file_write("o_rdwr")', True),
    ('helpers.is_file_write("O_RDONLY|O_LARGEFILE")', False),
    ('helpers.is_file_write(577)', False),  # raw numeric flags: not a string, so false (as OPA)
    ('helpers.is_file_read("O_RDONLY")', True),
    ('helpers.is_file_read("O_RDWR|O_CLOEXEC")', True),
    ('helpers.is_file_read("O_WRONLY")', False),
    (f'helpers.is_elf_file("{ELF_HEADER}")', True),
    (f'helpers.is_elf_file("{base64.b64encode(b"#!/bin/sh").decode()}")', False),
    ('helpers.get_tracee_argument("pathname")', "/bin/ls"),
    ('helpers.get_tracee_argument("missing")', None),
])
def test_helpers_behave_as_tracee(rules_dir, call, expected):
    match = f'tracee_match = {{"v": v}} {{\n\tv := {call}\n}}'
    sigs = load_rules(write_rule(rules_dir, "h.rego", rule_text("H-1", "H_1", ["openat"], match)))
    assert sigs.stderr == ""
    findings = run_signatures(sigs, [make_event("openat", pathname="/bin/ls", flags="O_RDONLY")])
    assert [f.data["v"] for f in findings] == ([] if expected is None else [expected])


def test_selector_forms_and_origins(rules_dir):
    """Partial-set idioms, a set literal and an array all give the same selectors."""
    head = ('package tracee.SEL_{n}\n__rego_metadoc__ := {{"id": "SEL-{n}", "name": "s"}}\n'
            'tracee_match {{ true }}\n')
    forms = {
        1: 'tracee_selected_events[s] { s := {"source": "tracee", "name": "openat", "origin": "host"} }',
        2: 'tracee_selected_events := {{"source": "tracee", "name": "openat", "origin": "host"}}',
        3: 'tracee_selected_events := [{"source": "tracee", "name": "openat", "origin": "host"}]',
    }
    for n, body in forms.items():
        write_rule(rules_dir, f"s{n}.rego", head.format(n=n) + body + "\n")
    sigs = load_rules(rules_dir)
    assert sigs.stderr == ""
    assert [s.get_selected_events() for s in sigs] == [[EventSelector("openat", "host", "tracee")]] * 3
    findings = run_signatures(sigs, [make_event("openat"), make_event("openat", container=True)])
    assert sorted(f.metadata.id for f in findings) == ["SEL-1", "SEL-2", "SEL-3"]


def test_helper_files_follow_tracee_naming(rules_dir):
    """`helpers.rego` is skipped (ours is compiled in); `*helpers.rego` adds helper modules;
    `*_test.rego` files are not rules."""
    write_rule(rules_dir, "helpers.rego", "package tracee.helpers\nthis is not rego at all\n")
    write_rule(rules_dir, "my_helpers.rego",
               'package tracee.helpers\n\nis_secret(path) {\n\tstartswith(path, "/etc/secret")\n}\n')
    write_rule(rules_dir, "rule.rego", rule_text("MY-1", "MY_1", ["openat"],
                                                 'tracee_match {\n\thelpers.is_secret(helpers.get_tracee_argument("pathname"))\n'
                                                 '\thelpers.is_file_read(helpers.get_tracee_argument("flags"))\n}'))
    write_rule(rules_dir, "rule_test.rego", "package tracee.MY_1\ntest_x { tracee_match with input as {} }\n")
    sigs = load_rules(rules_dir)
    assert sigs.stderr == ""
    assert [s.get_metadata().id for s in sigs] == ["MY-1"]
    findings = run_signatures(sigs, [make_event("openat", pathname="/etc/secret/k", flags="O_RDONLY"),
                                     make_event("openat", pathname="/etc/passwd", flags="O_RDONLY")])
    assert len(findings) == 1


def test_signature_path_names_the_rule_file():
    sigs = load_rules(TRC)
    assert len(sigs) == 15
    assert {s.get_metadata().id: s.path.name for s in sigs}["RGO-12"] == "illegitimate_shell.rego"


def test_all_benchmark_rules_fire_on_their_events():
    """The TRC-2..16 twins used by the benchmark really detect (so the benchmark measures work)."""
    elf = ELF_HEADER
    cases = {
        "RGO-2": make_event("ptrace", request="PTRACE_TRACEME", pid=0),
        "RGO-3": make_event("security_file_open", pathname="/proc/self/mem", flags="O_RDWR"),
        "RGO-4": make_event("mem_prot_alert", alert="Protection changed from W+E to E!"),
        "RGO-5": make_event("sched_process_exec", pathname="/dev/shm/x"),
        "RGO-6": make_event("init_module"),
        "RGO-7": make_event("execve", pathname="/bin/ls", envp=["A=1", "LD_PRELOAD=/x.so"]),
        "RGO-8": make_event("security_file_open", container=True, flags="O_RDONLY",
                            pathname="/var/run/secrets/kubernetes.io/serviceaccount/token"),
        "RGO-9": make_event("magic_write", container=True, pathname="/tmp/x", bytes=elf),
        "RGO-10": make_event("security_file_open", pathname="/etc/kubernetes/pki/ca.key", flags="O_RDONLY"),
        "RGO-11": make_event("security_sb_mount", container=True, dev_name="/dev/sda1", path="/mnt"),
        "RGO-12": make_event("security_bprm_check", pathname="/bin/sh", context={"process_name": "nginx"}),
        "RGO-13": make_event("security_socket_connect", container=True, sockfd=3,
                             remote_addr={"sa_family": "AF_INET", "sin_port": "443", "sin_addr": "10.96.0.1"}),
        "RGO-14": make_event("security_file_open", container=True, pathname="/x/release_agent", flags="O_WRONLY"),
        "RGO-15": make_event("hooked_syscalls", hooked_syscalls=[{"SymbolName": "kill", "ModuleOwner": "rk"}]),
        "RGO-16": make_event("hooked_proc_fops", hooked_fops_pointers=[{"SymbolName": "iterate", "ModuleOwner": "rk"}]),
    }
    sigs = load_rules(TRC)
    for sid, event in cases.items():
        ids = run_signatures(sigs, [event]).ids
        assert sid in ids, (sid, ids)


def test_selectors_may_declare_filters_that_narrow_them(rules_dir):
    """`filters` in a selector (a tracee extension Tracee ignores): necessary conditions of a match."""
    from tracee.predicates import Predicate

    text = rule_text("FLT-1", "FLT_1", ["security_file_open"], 'tracee_match { true }').replace(
        '"origin": "*"}', '"origin": "*", "filters": ["pathname=/etc/*", "context.processName!=dpkg"]}')
    (sig,) = load_rules(write_rule(rules_dir, "f.rego", text))
    (selector,) = sig.get_selected_events()
    assert selector.where == (Predicate("pathname", "prefix", ("/etc/",)),
                              Predicate("process_name", "not_in", ("dpkg",), True))
    events = [make_event("security_file_open", pathname=p, context={"process_name": c})
              for p, c in [("/etc/a", "cat"), ("/tmp/a", "cat"), ("/etc/b", "dpkg")]]
    assert [f.event.get_arg("pathname") for f in run_signatures([sig], events)] == ["/etc/a"]


def test_a_bad_filter_names_the_file(rules_dir):
    text = rule_text("FLT-2", "FLT_2", ["openat"], 'tracee_match { true }').replace(
        '"origin": "*"}', '"origin": "*", "filters": ["pathname!=/etc/*"]}')
    sigs = load_rules(write_rule(rules_dir, "bad.rego", text))
    assert list(sigs) == []
    assert "bad.rego: tracee_selected_events: filter 'pathname!=/etc/*': '*' patterns cannot be negated" in sigs.stderr
