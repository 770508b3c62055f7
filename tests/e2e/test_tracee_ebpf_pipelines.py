"""The seeds' tracee-ebpf command lines, typed as written into a shell with `tracee-ebpf` and
`tracee-rules` on PATH (the test env's scripts), live on this kernel:

    tracee-ebpf -o format:gob | tracee-rules --input-tracee file:stdin --input-tracee format:gob
    tracee-ebpf --output json --filter comm=bash --filter follow --output option:parse-arguments \\
        --filter event=$(tracee-rules --list-events) | tracee-rules --input-tracee format:json --input-tracee file:stdin
    tracee-ebpf --output json --filter comm=bash --filter follow --output option:parse-arguments --output option:exec-env \\
        --filter event=$(tracee-rules --rules TRC-2 --list-events) | tracee-rules --input-tracee format:json --input-tracee file:stdin --rules TRC-2

Each must detect ptrace(PTRACE_TRACEME) (TRC-2) within a second of the trigger. Also: the table
of `-t event=... -t EVENT.pathname=/etc/*`, `comm=bash follow` keeping to bash and its children,
and `-t container=new --containers` showing a Docker container started after it, with its name
and image, and nothing of a container that was already running; `uid!=0 pid>1000`, `tree=PID`,
`pid=new`; Go's gob decoder reading the live stream; Tracee's kerneltest.sh pipeline in Docker.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from e2e_harness import BUSYBOX_IMAGE, docker_ready

BIN = Path(sys.executable).parent
DETECTED_WITHIN = 1.0


def _env() -> dict[str, str]:
    return dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")


class Shell:
    """A command line run by bash (stdout to a file, stderr read as it comes); ready once
    tracee-ebpf says it is tracing and, when a tracee-rules is in the line, it has loaded its rules."""

    def __init__(self, line: str, out: Path) -> None:
        self.line, self.out = line, out
        self.stderr: list[str] = []
        self.proc = subprocess.Popen(["/bin/bash", "-c", line], stdout=open(out, "wb"), stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, env=_env(), start_new_session=True)
        self._tracing = threading.Event()
        self._loaded = threading.Event()
        if "tracee-rules" not in line.split("|")[-1]:
            self._loaded.set()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))
            if "tracing " in line and "event(s)" in line:
                self._tracing.set()
            if "Loaded " in line and "signature(s)" in line:
                self._loaded.set()
        self._tracing.set()
        self._loaded.set()

    def wait_ready(self, timeout: float = 120) -> "Shell":
        deadline = time.monotonic() + timeout
        for flag in (self._tracing, self._loaded):
            flag.wait(max(0.0, deadline - time.monotonic()))
        if self.proc.poll() is not None or not (self._tracing.is_set() and self._loaded.is_set()):
            self.stop()
            raise AssertionError(f"not ready: {self.line}\n" + "\n".join(self.stderr))
        return self

    def wait_for_text(self, text: str, timeout: float) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if text in self.out.read_text(errors="replace"):
                return time.monotonic() - started
            time.sleep(0.01)
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.out.read_text().splitlines() if line.strip()]

    def __enter__(self) -> "Shell":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _detects_traceme(shell: Shell, trigger: list[str], report) -> None:
    shell.wait_ready()
    result = subprocess.run(trigger, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    took = shell.wait_for_text("Signature ID: TRC-2", DETECTED_WITHIN)
    assert took is not None, (f"no TRC-2 within {DETECTED_WITHIN}s of the trigger:\n{shell.out.read_text()[-2000:]}"
                              + "\n".join(shell.stderr))
    report("TRC-2 through the pipeline", f"detected {took * 1000:.0f} ms after the trigger: {shell.line[:90]}...")


def test_gob_pipeline_detects_ptrace_traceme(programs, report, tmp_path):
    line = "tracee-ebpf -o format:gob | tracee-rules --input-tracee file:stdin --input-tracee format:gob"
    with Shell(line, tmp_path / "out") as shell:
        _detects_traceme(shell, [str(programs["anti_debugging"]), "attack"], report)


def test_json_pipeline_of_bash_and_its_children_detects_ptrace_traceme(programs, report, tmp_path):
    line = ("tracee-ebpf --output json --filter comm=bash --filter follow --output option:parse-arguments "
            "--filter event=$(tracee-rules --list-events) | tracee-rules --input-tracee format:json "
            "--input-tracee file:stdin")
    with Shell(line, tmp_path / "out") as shell:
        # `; true`: bash forks the program instead of becoming it, so it runs as bash's child
        _detects_traceme(shell, ["/bin/bash", "-c", f"{programs['anti_debugging']} attack; true"], report)


def test_json_pipeline_with_exec_env_and_one_rule(programs, report, tmp_path):
    line = ("tracee-ebpf --output json --filter comm=bash --filter follow --output option:parse-arguments "
            "--output option:exec-env --filter event=$(tracee-rules --rules TRC-2 --list-events) | "
            "tracee-rules --input-tracee format:json --input-tracee file:stdin --rules TRC-2")
    with Shell(line, tmp_path / "out") as shell:
        _detects_traceme(shell, ["/bin/bash", "-c", f"{programs['anti_debugging']} attack; true"], report)


def test_comm_bash_follow_shows_only_bash_and_its_children(tmp_path, report):
    line = ("tracee-ebpf --output json --filter comm=bash --filter follow --output option:parse-arguments "
            "--filter event=security_file_open,sched_process_exec")
    with Shell(line, tmp_path / "out") as shell:
        shell.wait_ready()
        child = subprocess.run(["/bin/bash", "-c", "/bin/cat /etc/hostname >/dev/null; echo $$"],
                               capture_output=True, text=True, check=True)
        bash_pid = int(child.stdout.strip())
        alone = subprocess.Popen(["/bin/cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
        alone.wait()
        time.sleep(0.5)
        shell.stop()
    events = shell.events()
    ours = [e for e in events if e["hostParentProcessId"] == bash_pid and e["processName"] == "cat"]
    assert any(e["eventName"] == "sched_process_exec" for e in ours), events[-20:]
    assert any(e["eventName"] == "security_file_open" and e["args"][0]["value"] == "/etc/hostname" for e in ours)
    assert not [e for e in events if e["hostProcessId"] == alone.pid], "a cat that is no child of bash was traced"
    comms = {e["processName"] for e in events}
    report("comm=bash follow", f"{len(events)} events, commands {sorted(comms)[:8]}; bash's cat traced, "
                               "the other cat not")


def _open_event() -> str:
    from tracee_input_ebpf.program import SUPPORTED_EVENTS

    return "openat" if "openat" in SUPPORTED_EVENTS else "security_file_open"


def test_table_of_opens_under_etc(tmp_path, report):
    event = _open_event()
    line = f"tracee-ebpf -t event={event} -t '{event}.pathname=/etc/*' -o format:table"
    with Shell(line, tmp_path / "out") as shell:
        shell.wait_ready()
        subprocess.run(["/bin/cat", "/etc/hostname", "/proc/self/stat", "/usr/share/common-licenses/GPL-3"],
                       capture_output=True)
        shell.wait_for_text("/etc/hostname", 3)
        shell.stop()
    lines = shell.out.read_text().splitlines()
    # the seed's sample: TIME UID COMM PID TID RET EVENT ARGS, then `name: value` arguments
    assert lines[0].split() == ["TIME", "UID", "COMM", "PID", "TID", "RET", "EVENT", "ARGS"]
    rows = [l for l in lines[1:] if re.match(r"^\d\d:\d\d:\d\d:\d{6} ", l)]
    assert rows and all(l.split()[6] == event for l in rows), lines[:5]
    assert all(re.search(r"pathname: /etc/", l) for l in rows), [l for l in rows if "pathname: /etc/" not in l][:3]
    hostname = [l for l in rows if "pathname: /etc/hostname" in l and l.split()[2] == "cat"]
    assert hostname and "flags: O_RDONLY" in hostname[0], rows[:3]
    assert "End of events stream" in lines[-3:][0] or any("End of events stream" in l for l in lines[-3:])
    report("table", hostname[0][:140])


def test_container_new_shows_a_container_started_after_it_with_metadata(tmp_path, report):
    why = docker_ready()
    if why:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)
    suffix = str(os.getpid())
    old, new = f"ebpf-old-{suffix}", f"ebpf-new-{suffix}"
    subprocess.run(["docker", "run", "-d", "--rm", "--name", old, "--network", "none", BUSYBOX_IMAGE,
                    "sleep", "120"], check=True, capture_output=True)
    try:
        old_id = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", old], capture_output=True, text=True,
                                check=True).stdout.strip()
        line = ("tracee-ebpf -t container=new -o format:json --containers "
                "-t event=container_create,container_remove,existing_container,sched_process_exec,security_file_open")
        with Shell(line, tmp_path / "out") as shell:
            shell.wait_ready()
            cidfile = tmp_path / "cid"
            subprocess.run(["docker", "run", "--rm", "--cidfile", str(cidfile), "--name", new, "--network", "none",
                            BUSYBOX_IMAGE, "cat", "/etc/hostname"], capture_output=True, timeout=60, check=True)
            new_id = cidfile.read_text().strip()
            subprocess.run(["docker", "exec", old, "cat", "/etc/hostname"], capture_output=True, timeout=60)
            deadline = time.monotonic() + 5  # its cgroup goes as `docker run --rm` returns: checked each second
            while time.monotonic() < deadline and not any(
                    e["eventName"] == "container_remove" and e["containerId"] == new_id for e in shell.events()):
                time.sleep(0.1)
            shell.stop()
        events = shell.events()
    finally:
        subprocess.run(["docker", "rm", "-f", old], capture_output=True)
    assert events, "\n".join(shell.stderr)
    assert not [e for e in events if e["containerId"] == old_id], "a container running before was traced"
    # only containers: other tests on this machine may start theirs meanwhile, which are new too
    assert all(e["containerId"] for e in events)
    by_name: dict[str, list[dict[str, Any]]] = {}
    for e in (e for e in events if e["containerId"] == new_id):
        by_name.setdefault(e["eventName"], []).append(e)
    created = by_name["container_create"][0]
    args = {a["name"]: a["value"] for a in created["args"]}
    assert (args["container_id"], args["runtime"], args["container_name"], args["container_image"]) == \
        (created["containerId"], "docker", new, BUSYBOX_IMAGE)
    assert created["eventId"] == "2001" and args["ctime"] > 0
    cat = [e for e in by_name["sched_process_exec"] if e["processName"] == "cat"]
    assert cat and (cat[0]["containerName"], cat[0]["containerImage"]) == (new, BUSYBOX_IMAGE)
    assert "container_remove" in by_name and "existing_container" not in by_name
    report("container=new", f"{len(events)} events of {new} ({created['containerId'][:12]}): "
                            f"{sorted(by_name)}; containerName={new} containerImage={BUSYBOX_IMAGE}")


@pytest.fixture(scope="module")
def gointerop(tmp_path_factory: pytest.TempPathFactory) -> str:
    """tests/interop/go (Go's encoding/gob decoding trace.Event), built with `go build`."""
    import shutil

    go = shutil.which("go")
    if go is None:
        pytest.fail("go is not installed: scripts/test installs golang-go, or run apt-get install golang-go")
    out = tmp_path_factory.mktemp("go") / "gointerop"
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "CGO_ENABLED": "0"}
    if "HOME" not in env:
        env["GOCACHE"] = str(out.parent / "cache")
    source = Path(__file__).resolve().parents[1] / "interop" / "go"
    built = subprocess.run([go, "build", "-o", str(out), "."], cwd=source, env=env, capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stderr
    return str(out)


def test_go_decodes_the_live_gob_stream_as_we_do(gointerop, programs, tmp_path, report):
    """`-o format:gob -o out-file:` of live events: Go's decoder reads every event with the values ours reads."""
    from tracee.formats.gob import GobDecoder

    stream = tmp_path / "events.gob"
    line = (f"tracee-ebpf -o format:gob -o option:parse-arguments -o option:exec-env -o out-file:{stream} "
            "-t event=sched_process_exec,security_file_open,ptrace,close,security_socket_connect,"
            "container_create,container_remove --containers")
    with Shell(line, tmp_path / "stdout") as shell:
        shell.wait_ready()
        for _ in range(3):
            subprocess.run([str(programs["anti_debugging"]), "attack"], capture_output=True)
            subprocess.run(["/bin/ls", "-l", "/etc"], capture_output=True)
        docker = docker_ready() is None
        if docker:  # the container events too, with their metadata
            subprocess.run(["docker", "run", "--rm", "--network", "none", BUSYBOX_IMAGE, "true"],
                           capture_output=True, timeout=60)
            time.sleep(1.5)  # container_remove: cgroups are checked each second
        time.sleep(0.5)
        shell.stop()
    data = stream.read_bytes()
    ours = list(GobDecoder(open(stream, "rb")).events())
    assert len(ours) > 50, len(ours)
    go = subprocess.run([gointerop, "decode"], input=data, capture_output=True, timeout=120)
    assert go.returncode == 0, go.stderr.decode()[-2000:]
    lines = go.stdout.decode().splitlines()
    assert len(lines) == len(ours)
    for i, (event, text) in enumerate(zip(ours, lines)):
        want = json.loads(event.to_json())
        want["stackAddresses"] = want["stackAddresses"] or None  # an empty slice is not sent
        for arg in want["args"] or ():
            if arg["value"] in ([], "") and (arg["type"] == "bytes" or isinstance(arg["value"], list)):
                arg["value"] = None  # Go's decoder leaves a nil slice for an empty one
        assert json.loads(text)["event"] == want, f"event {i}"
    names = sorted({e.event_name for e in ours})
    if docker:
        assert {"container_create", "container_remove"} <= set(names), names
    report("live gob", f"Go decoded {len(ours)} live events ({', '.join(names)}) with our values")


def test_tracees_kernel_test_pipeline_catches_traceme_in_a_new_docker_container(tmp_path, report):
    """v0.8.3's tests/kerneltest.sh: gob, parse-arguments, detect-syscall, container=new, the rule's
    events; the trigger in a Docker container started afterwards; the finding names that container."""
    from e2e_harness import DockerContainers, compile_triggers

    why = docker_ready()
    if why:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)
    programs = compile_triggers(tmp_path / "static", static=True)  # busybox has no C library
    name = f"ebpf-trc2-{os.getpid()}"
    line = ("events=$(tracee-rules --rules TRC-2 --list-events); "
            "tracee-ebpf --output format:gob --output option:parse-arguments --output option:detect-syscall "
            "--trace container=new --trace event=$events --containers | "
            "tracee-rules --input-tracee=file:stdin --input-tracee format:gob --rules TRC-2 --output-template "
            f"{tmp_path / 'finding.tmpl'}")
    (tmp_path / "finding.tmpl").write_text("Signature ID: {{ .SigMetadata.ID }} container={{ .Context.ContainerID }}"
                                           " name={{ .Context.ContainerName }} image={{ .Context.ContainerImage }}\n")
    with Shell(line, tmp_path / "out") as shell:
        shell.wait_ready()
        result = DockerContainers(programs["anti_debugging"].parent, tmp_path / "work", name=name).run(
            programs["anti_debugging"], "attack")
        assert result.returncode == 0, result.stderr
        took = shell.wait_for_text("Signature ID: TRC-2", 3)
        shell.stop()
    text = shell.out.read_text()
    assert took is not None, text + "\n".join(shell.stderr)
    assert f"container={result.container_id} name={name} image={BUSYBOX_IMAGE}" in text, text
    report("kerneltest.sh pipeline", f"TRC-2 in {name} ({result.container_id[:12]}) after {took * 1000:.0f} ms")


def test_uid_not_root_and_pid_above_1000(tmp_path, report):
    line = "tracee-ebpf -o json -t event=security_file_open -t uid!=0 -t 'pid>1000'"
    with Shell(line, tmp_path / "out") as shell:
        shell.wait_ready()
        nobody = subprocess.Popen(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                                   "/bin/cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
        root = subprocess.Popen(["/bin/cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
        nobody.wait()
        root.wait()
        time.sleep(0.5)
        shell.stop()
    events = shell.events()
    assert any(e["hostProcessId"] == nobody.pid and e["userId"] == 65534 for e in events), events[-5:]
    assert all(e["userId"] != 0 and e["hostProcessId"] > 1000 for e in events)
    assert not [e for e in events if e["hostProcessId"] == root.pid]
    report("uid!=0 pid>1000", f"{len(events)} events, uids {sorted({e['userId'] for e in events})}")


def _older_and_newer(line_for: Callable[[int], str], tmp_path: Path,
                     older: str) -> tuple[list[dict], subprocess.Popen, subprocess.Popen]:
    """Trace `line_for(pid of the older process)` while two processes run: `older`, a shell
    started before tracing that waits until told to go, then a `cat` started after tracing
    began. Returns the events and both processes."""
    go = tmp_path / "go"
    old = subprocess.Popen(["/bin/bash", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done; {older}"],
                           stdout=subprocess.DEVNULL)
    try:
        with Shell(line_for(old.pid), tmp_path / "out") as shell:
            shell.wait_ready()
            go.touch()
            old.wait(10)
            new = subprocess.Popen(["/bin/cat", "/etc/hostname"], stdout=subprocess.DEVNULL)
            new.wait()
            time.sleep(0.5)
            shell.stop()
    finally:
        if old.poll() is None:
            old.kill()
    return shell.events(), old, new


def test_tree_traces_a_process_and_its_descendants_only(tmp_path, report):
    # the older shell is the tree's root; it runs cat as a child; the later cat is outside the tree
    events, parent, other = _older_and_newer(
        lambda pid: f"tracee-ebpf -o json -t event=sched_process_exec,security_file_open -t tree={pid}",
        tmp_path, "/bin/cat /etc/hostname >/dev/null; true")
    ours = [e for e in events if e["hostParentProcessId"] == parent.pid and e["processName"] == "cat"]
    assert ours, events[-5:]
    assert not [e for e in events if e["hostProcessId"] == other.pid]
    report("tree=PID", f"{len(events)} events of the tree of {parent.pid}; a cat outside it not traced")


def test_pid_new_traces_only_processes_started_after_it(tmp_path, report):
    events, old, new = _older_and_newer(lambda _: "tracee-ebpf -o json -t event=sched_process_exec -t pid=new",
                                        tmp_path, "exec /bin/cat /etc/hostname")
    assert [e for e in events if e["hostProcessId"] == new.pid], events[-5:]
    assert not [e for e in events if e["hostProcessId"] == old.pid], "a process older than tracing was traced"
    report("pid=new", f"{len(events)} execs of new processes; the older one's exec not traced")


def test_out_file_err_file_cache_and_table_verbose(programs, tmp_path, report):
    out, err = tmp_path / "o" / "events.txt", tmp_path / "e" / "messages.txt"
    line = (f"tracee-ebpf -t event=ptrace -o table-verbose -o out-file:{out} -o err-file:{err} "
            "--cache cache-type=mem --cache mem-cache-size=16 --install-path " + str(tmp_path / "inst"))
    proc = subprocess.Popen(["/bin/bash", "-c", line], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not (tmp_path / "inst" / "tracee.pid").exists():
            time.sleep(0.05)
        assert (tmp_path / "inst" / "tracee.pid").exists(), err.read_text() if err.exists() else ""
        subprocess.run([str(programs["anti_debugging"]), "attack"], capture_output=True, check=True)
        time.sleep(0.5)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    assert proc.returncode == 0 and stdout == b"" and stderr == b"", (stdout, stderr)
    lines = out.read_text().splitlines()
    assert lines[0].split()[:6] == ["TIME", "UTS_NAME", "CONTAINER_ID", "MNT_NS", "PID_NS", "UID"]
    traceme = [l for l in lines if "request: PTRACE_TRACEME" in l]
    assert traceme and " ptrace " in traceme[0], lines
    messages = err.read_text()
    assert "tracing 1 event(s)" in messages and "summary:" in messages
    report("out-file/err-file/cache", traceme[0][:120])


def test_container_table_and_host_only(tmp_path, report):
    why = docker_ready()
    if why:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)
    cidfile = tmp_path / "cid"
    with Shell("tracee-ebpf -t container -t event=sched_process_exec", tmp_path / "in") as inside, \
            Shell("tracee-ebpf -o json -t '!container' -t event=sched_process_exec", tmp_path / "host") as host:
        inside.wait_ready()
        host.wait_ready()
        subprocess.run(["docker", "run", "--rm", "--cidfile", str(cidfile), "--network", "none", BUSYBOX_IMAGE,
                        "cat", "/etc/hostname"], capture_output=True, timeout=60, check=True)
        subprocess.run(["/bin/cat", "/etc/hostname"], capture_output=True)
        time.sleep(0.5)
        inside.stop()
        host.stop()
    cid = cidfile.read_text().strip()
    lines = inside.out.read_text().splitlines()
    assert lines[0].split()[:5] == ["TIME", "CONTAINER_ID", "UID", "COMM", "PID/host"]
    rows = [l for l in lines[1:] if re.match(r"^\d\d:\d\d:\d\d:\d{6} ", l)]
    assert rows and all(re.match(r"^\S+ +[0-9a-f]{12} ", l) for l in rows), rows[:3]
    assert [l for l in rows if l.split()[1] == cid[:12] and l.split()[3] == "cat"], rows
    on_host = host.events()
    assert on_host and all(e["containerId"] == "" for e in on_host)
    assert any(e["processName"] == "cat" for e in on_host)
    report("container table / !container", [l for l in rows if cid[:12] in l][0][:110])


@pytest.mark.parametrize("parse,wanted", [(False, 0), (True, "PTRACE_TRACEME")])
def test_json_values_raw_unless_parse_arguments(programs, tmp_path, parse, wanted):
    line = "tracee-ebpf -o json -t event=ptrace -t comm=anti_debugging" + (" -o option:parse-arguments" if parse else "")
    with Shell(line, tmp_path / "out") as shell:
        shell.wait_ready()
        subprocess.run([str(programs["anti_debugging"]), "attack"], capture_output=True, check=True)
        time.sleep(0.5)
        shell.stop()
    requests = [a["value"] for e in shell.events() for a in e["args"] if a["name"] == "request"]
    assert wanted in requests, requests


def test_mntns_is_filtered_in_the_kernel(tmp_path, report):
    why = docker_ready()
    if why:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(why)
    own = os.stat("/proc/self/ns/mnt").st_ino
    line = f"tracee-ebpf -o json -t event=sched_process_exec -t mntns={own}"
    with Shell(line, tmp_path / "out") as shell:
        shell.wait_ready()
        subprocess.run(["docker", "run", "--rm", "--network", "none", BUSYBOX_IMAGE, "cat", "/etc/hostname"],
                       capture_output=True, timeout=60, check=True)
        subprocess.run(["/bin/true"], check=True)
        time.sleep(0.5)
        shell.stop()
    events = shell.events()
    assert events and all(e["mountNamespace"] == own for e in events)
    assert any("in the kernel: mntns" in line for line in shell.stderr), shell.stderr
    summary = next(line for line in shell.stderr if "summary:" in line)
    assert " 0 skipped" in summary, summary  # the container's execs never left the kernel
    report("mntns in the kernel", summary.split("summary: ", 1)[1][:100])


def test_follow_in_user_space_learns_children_from_forks(tmp_path, report):
    """`comm=bas*` (a wildcard: not a kernel map) with follow: a bash that started before tracing
    and emits no selected event itself still has its child traced (the input watches the forks)."""
    go = tmp_path / "go"
    parent = subprocess.Popen(["/bin/bash", "-c", f"while [ ! -e {go} ]; do sleep 0.05; done; "
                               "/bin/cat /etc/hostname >/dev/null; true"])
    try:
        line = "tracee-ebpf -o json -t 'comm=bas*' -t follow -t event=sched_process_exec"
        with Shell(line, tmp_path / "out") as shell:
            shell.wait_ready()
            go.touch()
            parent.wait(10)
            time.sleep(0.5)
            shell.stop()
    finally:
        if parent.poll() is None:
            parent.kill()
    events = shell.events()
    assert {e["eventName"] for e in events} <= {"sched_process_exec"}, "the forks it watched were printed"
    assert [e for e in events if e["hostParentProcessId"] == parent.pid and e["processName"] == "cat"], events[-5:]
    report("follow in user space", f"{len(events)} execs; bash {parent.pid}'s cat followed through its fork")
