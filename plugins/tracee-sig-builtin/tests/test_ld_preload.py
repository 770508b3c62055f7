"""TRC-7 (LD_PRELOAD): environment prefixes, writes of /etc/ld.so.preload, and the CLI stream."""

from __future__ import annotations

import pytest

from tracee_sig_builtin.ld_preload import LdPreload


def run(run_signatures, *events):
    return [(f.metadata.id, f.event.event_name, f.data) for f in run_signatures([LdPreload()], list(events))]


@pytest.mark.parametrize("envp", [["PATH=/bin", "LD_PRELOAD=/tmp/hook.so"], ["LD_LIBRARY_PATH=/tmp"],
                                  ["LD_PRELOAD"], ["LD_PRELOADX=1", "LD_LIBRARY_PATH=/x"]])
@pytest.mark.parametrize("container", [False, True, "init"])
def test_execve_environment(run_signatures, make_event, envp, container):
    event = make_event("execve", pathname="/usr/bin/ls", argv=["ls"], envp=envp, container=container)
    assert run(run_signatures, event) == [("TRC-7", "execve", None)]


@pytest.mark.parametrize("envp", [["PATH=/bin", "MY_LD_PRELOAD=/x", " LD_PRELOAD=/x", "ld_preload=/x"], [], None,
                                  "LD_PRELOAD=/x"])
def test_execve_near_misses(run_signatures, make_event, envp):
    args = {"envp": envp} if envp is not None else {}
    assert run(run_signatures, make_event("execve", pathname="/usr/bin/ls", **args)) == []


@pytest.mark.parametrize("flags", ["O_WRONLY|O_CREAT|O_TRUNC", "O_RDWR", 0o1101, 2])
def test_preload_file_written(run_signatures, make_event, flags):
    event = make_event("security_file_open", pathname="/etc/ld.so.preload", flags=flags)
    assert run(run_signatures, event) == [("TRC-7", "security_file_open", None)]


@pytest.mark.parametrize("path, flags", [("/etc/ld.so.preload", "O_RDONLY|O_LARGEFILE"), ("/etc/ld.so.preload", 0),
                                         ("/etc/ld.so.preload.bak", "O_WRONLY"), ("/x/etc/ld.so.preload", "O_WRONLY"),
                                         ("/etc/ld.so.preload", None)])
def test_preload_file_near_misses(run_signatures, make_event, path, flags):
    args = {"flags": flags} if flags is not None else {}
    assert run(run_signatures, make_event("security_file_open", pathname=path, **args)) == []


def test_stream(run_stream):
    findings = run_stream("trc-7.jsonl")
    assert [(f["SigMetadata"]["ID"], f["Context"]["eventName"], f["Data"]) for f in findings] == [
        ("TRC-7", "security_file_open", None)]
    assert findings[0]["SigMetadata"] == {
        "ID": "TRC-7", "Version": "0.1.0", "Name": "LD_PRELOAD",
        "Description": "Usage of LD_PRELOAD to allow hooks on process", "Tags": ["linux", "container"],
        "Properties": {"MITRE ATT&CK": "Persistence: Hijack Execution Flow", "Severity": 2}}


def test_near_miss_stream(run_stream):
    assert run_stream("trc-7-nearmiss.jsonl") == []


def test_containerd_s_own_library_path_is_benign_exactly(run_signatures, make_event):
    """containerd execs every shim and runc with LD_LIBRARY_PATH=/var/lib/containerd/opt/lib: (its
    "opt" plugin): that exact entry does not fire; anything added to it does; `benign_env_values: []`
    is Tracee's rule unchanged."""
    shim = ["PATH=/usr/bin", "LD_LIBRARY_PATH=/var/lib/containerd/opt/lib:"]
    event = make_event("execve", envp=shim, context={"process_name": "containerd-shim"})
    assert run_signatures([LdPreload()], [event]) == []
    longer = make_event("execve", envp=["LD_LIBRARY_PATH=/var/lib/containerd/opt/lib:/tmp/evil"])
    assert run_signatures([LdPreload()], [longer]).ids == ["TRC-7"]
    strict = LdPreload()
    strict.configure({"benign_env_values": []})
    assert run_signatures([strict], [event]).ids == ["TRC-7"]


def test_allowed_env_prefixes_and_processes(run_signatures, make_event):
    """rustup gives every toolchain binary LD_LIBRARY_PATH=<toolchain>/lib: tunable, not a finding."""
    rustup = ["PATH=/bin", "LD_LIBRARY_PATH=/root/.rustup/toolchains/stable/lib"]
    sig = LdPreload()
    sig.configure({"allowed_env_prefixes": ["LD_LIBRARY_PATH=/root/.rustup/"]})
    assert run_signatures([sig], [make_event("execve", envp=rustup)]) == []
    # Another variable in the same environment still fires.
    fired = run_signatures([sig], [make_event("execve", envp=rustup + ["LD_PRELOAD=/tmp/x.so"])])
    assert fired.ids == ["TRC-7"]
    by_name = LdPreload()
    by_name.configure({"allowed_processes": ["cargo"]})
    assert run_signatures([by_name], [make_event("execve", envp=rustup, context={"process_name": "cargo"})]) == []
    assert run_signatures([by_name], [make_event("execve", envp=rustup)]).ids == ["TRC-7"]
    # The file rule is not affected by these settings.
    write = make_event("security_file_open", pathname="/etc/ld.so.preload", flags="O_WRONLY",
                       context={"process_name": "cargo"})
    assert run_signatures([by_name], [write]).ids == ["TRC-7"]


def test_bad_settings():
    from tracee import SignatureError

    with pytest.raises(SignatureError, match="unknown setting"):
        LdPreload().configure({"allowed_env": ["x"]})
    with pytest.raises(SignatureError, match="must be a list of strings"):
        LdPreload().configure({"allowed_env_prefixes": "LD_LIBRARY_PATH=/x"})
