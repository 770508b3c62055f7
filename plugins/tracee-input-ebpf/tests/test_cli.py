"""tracee-ebpf's command line without the kernel: --output and --cache parsing, the plan of which
filters go to the kernel, the container life-cycle events over a cgroup tree, and the one-line
errors (exit code 2) of the installed script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from tracee_input_ebpf.cli import ExecHasher, parse_cache, parse_output
from tracee_input_ebpf.containers import ContainerTracker
from tracee_input_ebpf.filters import parse
from tracee_input_ebpf.lifecycle import ContainerLifecycle, runtime_from_path
from tracee_input_ebpf.selection import plan_filters

TRACEE_EBPF = str(Path(sys.executable).with_name("tracee-ebpf"))
TRACEE = str(Path(sys.executable).with_name("tracee"))
CID = "a" * 64
CID2 = "b" * 64


# -- --output -----------------------------------------------------------------------------------------
def test_output_defaults_to_table_with_parsed_arguments():
    out = parse_output([])
    assert (out.kind, out.parse_arguments, out.out_path, out.err_path) == ("table", True, None, None)


@pytest.mark.parametrize("values,kind", [(["json"], "json"), (["format:json"], "json"), (["format:gob"], "gob"),
                                         (["table-verbose"], "table-verbose"), (["none"], "none"),
                                         (["json", "format:gob"], "gob")])
def test_output_format_with_or_without_the_format_key(values, kind):
    assert parse_output(values).kind == kind


def test_output_options_files_and_template(tmp_path):
    out = parse_output(["format:json", "option:parse-arguments", "option:exec-env", "option:exec-hash",
                        "option:relative-time", "option:sort-events", "option:detect-syscall",
                        f"out-file:{tmp_path}/o", f"err-file:{tmp_path}/e", "gotemplate=/t.tmpl"])
    assert out.kind == "gotemplate" and out.template == "/t.tmpl"
    assert out.options == {"parse-arguments", "exec-env", "exec-hash", "relative-time", "sort-events",
                           "detect-syscall"}
    assert (out.out_path, out.err_path) == (f"{tmp_path}/o", f"{tmp_path}/e")
    assert not parse_output(["json"]).parse_arguments and parse_output(["json", "option:parse-arguments-fds"]
                                                                        ).parse_arguments


@pytest.mark.parametrize("value,message", [
    ("format:xml", "unrecognized output format: xml"),
    ("xml", "unrecognized output format: xml"),
    ("option:colour", "invalid output option: colour"),
    ("wat:1", "invalid output value: wat:1"),
    ("option:stack-addresses", "not yet"),
    ("gotemplate=", "needs a template file"),
    ("out-file:", "needs a path"),
])
def test_output_errors_name_the_value(value, message):
    with pytest.raises(click.UsageError, match=message):
        parse_output([value])


def test_output_refuses_a_directory_as_file(tmp_path):
    with pytest.raises(click.UsageError, match="existing directory"):
        parse_output([f"out-file:{tmp_path}"])


def test_cache():
    assert parse_cache([]) is None and parse_cache(["none"]) is None
    assert parse_cache(["cache-type=mem"]).events == 512 * 1024
    assert parse_cache(["cache-type=mem", "mem-cache-size=8"]).events == 8 * 1024
    assert parse_cache([], cache_events=True) is not None
    for bad in ("cache-type=disk", "mem-cache-size=x", "mem-cache-size=0", "size=1"):
        with pytest.raises(click.UsageError, match="--cache"):
            parse_cache([bad])


# -- which filters run in the kernel ----------------------------------------------------------------
def test_exact_pid_uid_comm_go_to_the_kernel():
    plan = plan_filters(parse(["event=ptrace", "pid=10,20", "uid=0", "comm=bash"]))
    assert (plan.kernel.pids, plan.kernel.uids, plan.kernel.comms) == ((10, 20), (0,), ("bash",))
    assert plan.events == {"ptrace"} and not plan.missing and set(plan.in_kernel) == {"pid", "uid", "comm"}


@pytest.mark.parametrize("expr", ["uid!=0", "pid>1000", "comm!=bash", "comm=ba*", "uid=0,1", "pid<5"])
def test_ranges_negations_and_wildcards_stay_in_user_space(expr):
    plan = plan_filters(parse(["event=ptrace", expr]))
    kind = expr[:3] if expr[:3] in ("uid", "pid") else "comm"
    exact = expr == "uid=0,1"
    assert bool(getattr(plan.kernel, kind + "s")) == exact
    assert plan.user is not None and getattr(plan.user, kind) is not None


def test_comm_follow_is_done_whole_in_the_kernel():
    plan = plan_filters(parse(["comm=bash", "follow", "event=ptrace"]))
    assert plan.kernel.follow and plan.kernel.comms == ("bash",)
    assert plan.user is None and "follow" in plan.in_kernel


def test_follow_with_uid_keeps_uid_out_of_the_kernel():
    # The kernel checks uid before its follow lineage: a followed child under another uid would be lost.
    plan = plan_filters(parse(["comm=bash", "uid=1000", "follow", "event=ptrace"]))
    assert plan.kernel.uids == () and plan.kernel.follow
    assert plan.user is not None and plan.user.uid is not None and plan.user.follow


def test_container_filters_switch_the_kernel_namespace_check_on():
    for exprs in (["container"], ["container=new"], [f"container={CID[:12]}"]):
        assert plan_filters(parse(exprs)).kernel.container, exprs
    assert not plan_filters(parse(["!container"])).kernel.container


def test_events_this_input_does_not_produce_are_reported():
    plan = plan_filters(parse(["event=ptrace,openat,cap_capable,hidden_inodes"]))  # no kprobes here
    assert plan.events == {"ptrace", "openat"} and plan.missing == {"cap_capable", "hidden_inodes"}
    assert plan_filters(parse(["event=container_*"])).events == {"container_create", "container_remove"}


def test_argument_filters_are_checked_in_user_space():
    plan = plan_filters(parse(["event=security_file_open", "security_file_open.pathname=/etc/*"]))
    assert plan.user is not None and plan.user.args


# -- container life-cycle events ------------------------------------------------------------------------
def _tree(root: Path, *paths: str) -> None:
    for p in paths:
        (root / p).mkdir(parents=True, exist_ok=True)


def test_lifecycle_existing_create_and_remove(tmp_path):
    _tree(tmp_path, f"system.slice/docker-{CID}.scope", "user.slice")
    tracker = ContainerTracker(tmp_path, host_mnt_ns=1)
    made: list[tuple[int, str]] = []

    def drain():
        out, made[:] = list(made), []
        return out
    life = ContainerLifecycle(tracker, {"container_create", "container_remove", "existing_container"}, drain=drain)
    assert life.existing == [CID]
    start = life.start_events()
    assert [(e.event_name, e.event_id, e.get_arg("container_id"), e.get_arg("runtime")) for e in start] == \
        [("existing_container", 2003, CID, "docker")]
    assert [a["name"] for a in start[0].args] == ["runtime", "container_id", "ctime", "container_image",
                                                   "container_name", "pod_name", "pod_namespace", "pod_uid"]
    assert start[0].container_id == CID and start[0].get_arg("ctime") > 0
    assert life.poll(now=0) == []
    # a new container: the kernel reports its cgroup (id = the directory's inode, as cgroupfs has it)
    path = f"system.slice/cri-containerd-{CID2}.scope"
    _tree(tmp_path, path)
    made.append(((tmp_path / path).stat().st_ino, "/" + path))
    created = life.poll(now=10)
    assert [(e.event_name, e.event_id, e.container_id, e.get_arg("runtime")) for e in created] == \
        [("container_create", 2001, CID2, "containerd")]
    assert not created[0].container_started
    assert life.poll(now=20) == []
    (tmp_path / path).rmdir()
    removed = life.poll(now=30)
    assert [(e.event_name, e.event_id, [a["name"] for a in e.args]) for e in removed] == \
        [("container_remove", 2002, ["runtime", "container_id"])]
    assert removed[0].get_arg("runtime") == "containerd"
    assert life.poll(now=40) == []


def test_lifecycle_makes_only_the_selected_events(tmp_path):
    _tree(tmp_path, f"docker/{CID}")
    life = ContainerLifecycle(ContainerTracker(tmp_path, host_mnt_ns=1), {"container_create", "ptrace"})
    assert life.start_events() == [] and life.wanted == {"container_create"}


@pytest.mark.parametrize("path,runtime", [(f"/docker/{CID}", "docker"), (f"/x/crio-{CID}.scope", "crio"),
                                          (f"/kubepods/besteffort/pod1/cri-containerd-{CID}.scope", "containerd"),
                                          (f"/machine.slice/libpod-{CID}.scope", "podman"), ("/user.slice", "")])
def test_runtime_from_path(path, runtime):
    assert runtime_from_path(path) == runtime


def test_exec_hash_of_a_live_process(tmp_path):
    from tracee import Event
    import hashlib
    import os

    event = Event("sched_process_exec", [{"name": "pathname", "type": "const char*", "value": sys.executable}],
                  host_process_id=os.getpid())
    ExecHasher()(event)
    with open(f"/proc/{os.getpid()}/exe", "rb") as f:
        assert event.get_arg("sha256") == hashlib.sha256(f.read()).hexdigest()


# -- the installed script ------------------------------------------------------------------------------
@pytest.mark.parametrize("args,message", [
    (["-t", "bogus"], "invalid filter option specified (bogus)"),
    (["--filter", "pid>abc"], "--filter: invalid filter value abc"),
    (["-t", "event=nosuchevent"], "invalid event to trace: nosuchevent"),
    (["-t", "openat.nosucharg=1"], "invalid filter event argument: nosucharg"),
    (["-o", "format:xml"], "unrecognized output format: xml"),
    (["--capture", "write"], "not yet"),
    (["--nope"], "--nope"),  # tracee-ebpf: Go's "flag provided but not defined"; tracee trace: click's
    (["-b", "1000"], "--perf-buffer-size 1000: must be a power of two"),
    (["--cache", "cache-type=disk"], "--cache cache-type=disk"),
])
@pytest.mark.parametrize("command", [[TRACEE_EBPF], [TRACEE, "trace"]])
def test_bad_flags_are_one_line_and_exit_2(command, args, message):
    result = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


@pytest.mark.parametrize("flag,text", [("--trace", "Filter expressions"), ("--output", "out-file:"),
                                       ("--cache", "mem-cache-size"), ("--crs", "containerd:")])
def test_help_of_each_flag(flag, text):
    result = subprocess.run([TRACEE_EBPF, flag, "help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and text in result.stdout, result.stderr


def test_exec_hash_after_the_process_exited_checks_the_inode():
    import hashlib
    import os

    from tracee import Event

    mnt = os.stat("/proc/self/ns/mnt").st_ino
    ino = os.stat("/bin/true").st_ino

    def exec_event(inode: int) -> Event:
        return Event("sched_process_exec", [{"name": "pathname", "type": "const char*", "value": "/bin/true"},
                                            {"name": "inode", "type": "unsigned long", "value": inode}],
                     host_process_id=2 ** 22 + 12345, mount_namespace=mnt)  # above pid_max: no such process
    event = exec_event(ino)
    ExecHasher()(event)
    with open("/bin/true", "rb") as f:
        assert event.get_arg("sha256") == hashlib.sha256(f.read()).hexdigest()
    replaced = exec_event(ino + 1)  # the path now names another file than the one executed
    ExecHasher()(replaced)
    assert replaced.get_arg("sha256") == ""


def _record(uid: int, pid: int, comm: bytes, mnt: int = 7, pidns: int = 8) -> bytes:
    from tracee_input_ebpf.decode import HDR

    return HDR.pack(1, 1, 1, 0, 1, pid, pid, 1, pid, pid, 1, uid, mnt, pidns, 1, 0, 0, comm)


def test_header_filter_makes_the_matchers_scope_checks_before_decoding():
    from tracee_input_ebpf.selection import header_filter

    check = header_filter(parse(["uid!=0", "pid>1000", "comm=ba*", "mntns=7", "pidns!=9"]))
    assert check is not None
    assert check(_record(1000, 2000, b"bash\0"))
    assert not check(_record(0, 2000, b"bash\0"))
    assert not check(_record(1000, 999, b"bash\0"))
    assert not check(_record(1000, 2000, b"zsh\0"))
    assert not check(_record(1000, 2000, b"bash\0", mnt=6))
    assert not check(_record(1000, 2000, b"bash\0", pidns=9))
    assert check(_record(0, 1, b"x\0")[:40])  # too short: left to the decoder, which counts it malformed


def test_header_filter_steps_aside_for_stateful_filters():
    from tracee_input_ebpf.selection import header_filter

    assert header_filter(None) is None and header_filter(parse(["event=ptrace"])) is None
    assert header_filter(parse(["uid=1", "follow"])) is None  # follow must see the parents' events
    assert header_filter(parse(["uid=1", "tree=1"])) is None
    assert header_filter(parse(["uid=1", "container=new"])) is not None


def test_exact_namespaces_go_to_the_kernel_unless_follow():
    plan = plan_filters(parse(["event=ptrace", "mntns=4026531840", "pidns=4026531836,4026532000"]))
    assert (plan.kernel.mntns, plan.kernel.pidns) == ((4026531840,), (4026531836, 4026532000))
    assert {"mntns", "pidns"} <= set(plan.in_kernel)
    for exprs in (["mntns>1"], ["mntns!=4026531840"], [f"mntns={1 << 33}"], ["comm=bash", "mntns=5", "follow"]):
        assert plan_filters(parse(["event=ptrace", *exprs])).kernel.mntns == (), exprs


def test_user_space_follow_and_tree_watch_the_forks():
    assert "sched_process_fork" in plan_filters(parse(["comm=bas*", "follow", "event=ptrace"])).events
    assert "sched_process_fork" in plan_filters(parse(["tree=1", "event=ptrace"])).events
    assert "sched_process_fork" not in plan_filters(parse(["comm=bash", "follow", "event=ptrace"])).events  # kernel
    assert "sched_process_fork" not in plan_filters(parse(["uid=0", "event=ptrace"])).events


def test_go_style_booleans_and_containers_on_by_default():
    """`--flag=true|false` as Go's flag package takes them; container metadata is on by default
    (the enricher is used when installed), so `--containers=false` must turn it off explicitly."""
    from tracee_input_ebpf.cli import _go_bools

    assert _go_bools(["--containers=true", "--metrics=false", "-t", "pid=1"]) == ["--containers", "-t", "pid=1"]
    assert _go_bools(["--containers=false"]) == ["--no-containers"]
    assert _go_bools(["--containers=0", "--healthz=1"]) == ["--no-containers", "--healthz"]
