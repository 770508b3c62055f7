"""The e2e kit: compile the trigger programs, run `tracee run` live, and make throwaway containers.

A "container" here is what a runtime makes, minus the image: a cgroup named as Docker's cgroupfs
driver names it (`.../docker/<64 hex>`, in every mounted hierarchy, so whichever one the eBPF
input reads resolves to it), new mount/UTS/IPC/pid namespaces, a private /proc, tmpfs and overlay
mounts for the paths a trigger needs, and a first exec inside (container_launcher.c). Nothing on
the host is modified: files a container sees are on its own tmpfs or an overlay whose writable
layer is in the test's temporary directory, and its cgroups are removed afterwards (when the test
ends, or right after the container exits for a short-lived one, as `docker run --rm` does).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

TRIGGERS_DIR = Path(__file__).parent / "triggers"
# Triggers run with a fixed, clean environment: an LD_PRELOAD or LD_LIBRARY_PATH inherited from the
# CI runner would itself be a TRC-7 finding.
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
READY_TIMEOUT = float(os.environ.get("TRACEE_E2E_READY_TIMEOUT", "120"))  # BPF compile, on a busy box
_FACT = re.compile(r"^fact: (\w+)=(.*)$")


# -- trigger programs ---------------------------------------------------------------------------------
def compile_triggers(out_dir: Path, *, static: bool = False) -> dict[str, Path]:
    """gcc every triggers/*.c into out_dir; {name: executable}. One clear error if gcc is missing.
    `static`: linked statically, to run in an image that has no C library (local/busybox:1)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    built = {}
    for source in sorted(TRIGGERS_DIR.glob("*.c")):
        exe = out_dir / source.stem
        cmd = ["gcc", "-O1", "-Wall", "-Werror", "-Wno-unused-result", *(["-static"] if static else []),
               "-o", str(exe), str(source)]
        try:
            result = subprocess.run(cmd, capture_output=True, text=True)
        except FileNotFoundError:
            raise RuntimeError("gcc not found: the e2e triggers are compiled at test time "
                               "(apt-get install gcc libc6-dev)") from None
        if result.returncode != 0:
            raise RuntimeError(f"compiling {source.name} failed:\n{result.stderr}")
        built[source.stem] = exe
    return built


@dataclass
class TriggerResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str
    facts: dict[str, str]
    pids: set[int]
    container_id: str = ""   # set when the trigger ran in a container

    @property
    def command(self) -> str:
        """The trigger's command line as the test wrote it (the program's base name)."""
        argv = self.argv[self.argv.index("--") + 1:] if "--" in self.argv else self.argv
        where = "in a container: " if self.container_id else ""
        return where + " ".join([Path(argv[0]).name, *argv[1:]])

    def owns(self, finding: dict[str, Any]) -> bool:
        """Did this trigger cause the finding? In a container: the finding's container is this
        one. On the host: its process is one the trigger reported (other processes on the
        machine may produce findings of their own meanwhile)."""
        ctx = finding.get("Context", {})
        if self.container_id:
            return ctx.get("containerId") == self.container_id
        return ctx.get("hostProcessId") in self.pids

    def check(self) -> "TriggerResult":
        assert self.returncode == 0, (f"trigger {' '.join(self.argv)} failed ({self.returncode}):\n"
                                      f"{self.stdout}{self.stderr}")
        return self


def run_trigger(argv: Sequence[str | os.PathLike], *, timeout: float = 30) -> TriggerResult:
    argv = [str(a) for a in argv]
    proc = subprocess.run(argv, capture_output=True, text=True, env=CLEAN_ENV, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return _result(argv, proc)


def _result(argv: list[str], proc: subprocess.CompletedProcess) -> TriggerResult:
    facts: dict[str, str] = {}
    pids: set[int] = set()
    for line in proc.stdout.splitlines():
        m = _FACT.match(line)
        if m:
            key, value = m.groups()
            facts.setdefault(key, value)
            if key in ("pid", "child") and value.isdigit():
                pids.add(int(value))
    return TriggerResult(argv, proc.returncode, proc.stdout, proc.stderr, facts, pids)


# -- tracee run ---------------------------------------------------------------------------------------
def tracee_executable() -> str:
    """The `tracee` script of the interpreter running the tests (the tox env's), else PATH's."""
    beside = Path(sys.executable).with_name("tracee")
    if beside.exists():
        return str(beside)
    return "tracee"


class TraceeRun:
    """`tracee run --output json` in the background: findings parsed from stdout as they come,
    stderr kept; ready once the run prints its "Loaded N signature(s)" banner, which the runner
    prints only after the input is built (the eBPF input opens its perf buffers in its
    constructor, so nothing emitted after the banner is lost)."""

    def __init__(self, rules: Iterable[str] = (), extra: Sequence[str] = ()) -> None:
        self.argv = [tracee_executable(), "run", "--output", "json",
                     *[f"--rules={r}" for r in rules], *extra]
        self.findings: list[dict[str, Any]] = []
        self.bad_lines: list[str] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self._ready = threading.Event()
        self.started = time.monotonic()
        self.ready_after: float | None = None
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, bufsize=1,
                                     start_new_session=True)
        self._threads = [threading.Thread(target=self._read_stdout, daemon=True),
                         threading.Thread(target=self._read_stderr, daemon=True)]
        for t in self._threads:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            with self._cond:
                try:
                    self.findings.append(json.loads(line))
                except ValueError:
                    self.bad_lines.append(line)
                self._cond.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.rstrip("\n"))
            if "Loaded " in line and "signature(s)" in line and not self._ready.is_set():
                self.ready_after = time.monotonic() - self.started
                self._ready.set()
        self._ready.set()  # exited: wake the waiter, which checks

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> "TraceeRun":
        if not self._ready.wait(timeout):
            self.stop()
            raise AssertionError(f"tracee run not ready after {timeout:.0f}s:\n{self.stderr_text()}")
        if self.ready_after is None:
            self.stop()
            raise AssertionError(f"tracee run exited before it was ready "
                                 f"(exit {self.proc.returncode}):\n{self.stderr_text()}")
        return self

    def wait_for(self, predicate, count: int, timeout: float) -> list[dict[str, Any]]:
        """Wait until `count` findings satisfy `predicate` (or the timeout); return those found."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [f for f in self.findings if predicate(f)]
                left = deadline - time.monotonic()
                if len(found) >= count or left <= 0 or self.proc.poll() is not None:
                    return found
                self._cond.wait(min(left, 0.1))

    def wait_for_all(self, predicate, key, wanted: set[str], timeout: float) -> list[dict[str, Any]]:
        """Wait until the findings satisfying `predicate` cover every `key(finding)` in `wanted`
        (or the timeout): a rule that fires twice does not stand in for one that has not fired yet."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = [f for f in self.findings if predicate(f)]
                left = deadline - time.monotonic()
                if wanted <= {key(f) for f in found} or left <= 0 or self.proc.poll() is not None:
                    return found
                self._cond.wait(min(left, 0.1))

    def snapshot(self) -> list[dict[str, Any]]:
        with self._cond:
            return list(self.findings)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP the run for the block, SIGCONT after: whatever the kernel records meanwhile
        waits in its perf buffers and is read only once the block is over."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)

    def stderr_text(self) -> str:
        return "\n".join(self.stderr)

    def summary(self) -> str:
        return next((l for l in reversed(self.stderr) if "summary:" in l), "")

    def stop(self) -> int:
        """SIGINT (Ctrl-C: the run prints its summary), then SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self._threads:
            t.join(5)
        return self.proc.returncode

    def __enter__(self) -> "TraceeRun":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- findings ---------------------------------------------------------------------------------------
class WriteFlags:
    """Matches Tracee's parsed open-flags text of a write-open (as its is_file_write helper)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and ("o_wronly" in other.lower() or "o_rdwr" in other.lower())

    def __repr__(self) -> str:
        return "<flags with O_WRONLY or O_RDWR>"


def sig_id(finding: dict[str, Any]) -> str:
    return finding.get("SigMetadata", {}).get("ID", "")


def describe(finding: dict[str, Any]) -> str:
    ctx = finding.get("Context", {})
    where = f"container {ctx.get('containerId', '')[:12]}" if ctx.get("containerId") else "host"
    return (f"{sig_id(finding)} Data={json.dumps(finding.get('Data'), sort_keys=True)} "
            f"event={ctx.get('eventName')} process={ctx.get('processName')!r} "
            f"pid={ctx.get('hostProcessId')} ({where}, containerStarted="
            f"{ctx.get('contextFlags', {}).get('containerStarted')})")


# -- containers ---------------------------------------------------------------------------------------
def _own_cgroup_dirs() -> list[Path]:
    """This process's cgroup directory in every mounted hierarchy (v2 and each v1)."""
    mounts: list[tuple[str, Path, set[str]]] = []  # (mount root, mount point, options or {"cgroup2"})
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if rfields[0] == "cgroup2":
                mounts.append((fields[3], Path(fields[4]), {"cgroup2"}))
            elif rfields[0] == "cgroup":
                mounts.append((fields[3], Path(fields[4]), set(rfields[2].split(","))))
    dirs: list[Path] = []
    with open("/proc/self/cgroup") as f:
        for line in f:
            hid, controllers, path = line.rstrip("\n").split(":", 2)
            wanted = {"cgroup2"} if hid == "0" else set(filter(None, controllers.split(",")))
            for root, point, opts in mounts:
                if wanted and wanted <= opts and (path + "/").startswith(root.rstrip("/") + "/"):
                    rel = os.path.relpath(path, root)
                    dirs.append((point / rel).resolve())
                    break
    return dirs


class ContainerCgroups:
    """`<own cgroup>/docker/<id>` in every hierarchy; removed by cleanup()."""

    def __init__(self, container_id: str) -> None:
        self.container_id = container_id
        self.created: list[Path] = []  # in creation order (parents first)
        self.procs_files: list[Path] = []
        for base in _own_cgroup_dirs():
            try:
                leaf = self._make(base / "docker") and self._make(base / "docker" / container_id)
            except OSError:
                continue  # a hierarchy that refuses new groups: the others still name the container
            if leaf and (base / "docker" / container_id / "cgroup.procs").exists():
                self.procs_files.append(base / "docker" / container_id / "cgroup.procs")
        if not self.procs_files:
            raise RuntimeError("could not create a container cgroup in any hierarchy")

    def _make(self, path: Path) -> bool:
        if not path.exists():
            path.mkdir()
            self.created.append(path)
        # cpuset (v1): a group has no CPUs or memory nodes until given its parent's
        for name in ("cpuset.cpus", "cpuset.mems"):
            own = path / name
            if own.exists() and not own.read_text().strip():
                own.write_text((path.parent / name).read_text())
        return True

    def cleanup(self) -> bool:
        """Remove the cgroups made; True when the container's own ones are all gone."""
        for path in reversed(self.created):
            for _ in range(50):  # a just-exited task leaves its cgroup asynchronously
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)  # busy (exiting tasks), or `docker` still used by another test
        return not any(p.parent.exists() for p in self.procs_files)


@dataclass
class Container:
    """Launches programs in containers: every run() is a fresh container with a new 64-hex id
    (the last one is `id`)."""

    launcher: Path
    work: Path                       # a host directory for the overlay layers
    id: str = field(default_factory=lambda: secrets.token_hex(32))
    hostname: str = "e2e-ctr"
    _cgroups: list[ContainerCgroups] = field(default_factory=list)

    def cleanup(self) -> None:
        """Remove the containers' cgroups that are left (the test has ended)."""
        while self._cgroups:
            self._cgroups.pop().cleanup()

    def run(self, program: Path, *args: str, files: dict[str, str] | None = None,
            dirs: Sequence[str] = (), timeout: float = 30, short_lived: bool = False) -> TriggerResult:
        """Run `program args` as the container's pid 1. The programs' directory is bind-mounted
        at /run/e2e-bin; /run, /tmp and /mnt are the container's own tmpfs, /etc an overlay of the
        host's (writes land in `work`); `dirs` and `files` are created inside before the exec.
        `short_lived`: its cgroups are removed as soon as it exits (asserted), as by `docker run
        --rm`; otherwise when the test ends."""
        self.id = secrets.token_hex(32)
        upper, lower_work = self.work / f"etc-{self.id[:12]}", self.work / f"etc-work-{self.id[:12]}"
        upper.mkdir(parents=True)
        lower_work.mkdir(parents=True)
        actions = ["-o", f"/etc:{upper}:{lower_work}", "-t", "/run",
                   "-b", f"{program.parent}:/run/e2e-bin", "-t", "/tmp", "-t", "/mnt"]
        for d in dirs:
            actions += ["-d", d]
        for path, content in (files or {}).items():
            actions += ["-d", str(Path(path).parent), "-f", f"{path}={content}"]
        cgroups = ContainerCgroups(self.id)
        self._cgroups.append(cgroups)
        argv = [str(self.launcher), "-n", self.hostname,
                *[a for p in cgroups.procs_files for a in ("-g", str(p))],
                *actions, "--", f"/run/e2e-bin/{program.name}", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, env=CLEAN_ENV, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        result = _result(argv, proc)
        result.container_id = self.id
        if short_lived:
            self._cgroups.remove(cgroups)
            assert cgroups.cleanup(), f"the cgroups of container {self.id[:12]} could not be removed"
        return result


# -- real containers: Docker, and containerd's k8s.io namespace -----------------------------------------
BUSYBOX_IMAGE = "local/busybox:1"   # scripts/docker-up makes it from busybox-static


def docker_ready() -> str | None:
    """None when dockerd answers and has local/busybox:1, else why not."""
    try:
        result = subprocess.run(["docker", "image", "inspect", BUSYBOX_IMAGE], capture_output=True, text=True,
                                timeout=30)
    except FileNotFoundError:
        return "docker is not installed (apt-get install docker.io; sudo ./scripts/docker-up)"
    if result.returncode:
        return f"dockerd is not running or has no {BUSYBOX_IMAGE} (sudo ./scripts/docker-up)"
    return None


@dataclass
class DockerContainers:
    """Runs a program in a new real container per run(): `docker run --rm` of local/busybox:1 with
    the statically linked triggers mounted read-only at /e2e-bin, no network, and the given name
    and labels; `setup` is shell run inside before the program replaces it as pid 1."""

    bin_dir: Path
    work: Path
    name: str = "web-1"
    labels: dict[str, str] = field(default_factory=dict)
    docker_args: Sequence[str] = ()
    image: str = BUSYBOX_IMAGE
    runs: int = 0

    def run(self, program: Path, *args: str, setup: str = "", timeout: float = 60) -> TriggerResult:
        self.runs += 1
        cidfile = self.work / f"cid-{self.runs}"
        self.work.mkdir(parents=True, exist_ok=True)
        labels = [a for k, v in self.labels.items() for a in ("--label", f"{k}={v}")]
        script = f'{setup}\nexec /e2e-bin/{program.name} "$@"'
        argv = ["docker", "run", "--rm", "--cidfile", str(cidfile), "--name", self.name, "--network", "none",
                "-v", f"{self.bin_dir}:/e2e-bin:ro", *labels, *self.docker_args, self.image,
                "/bin/sh", "-c", script, "sh", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        result = _result(argv, proc)
        result.container_id = cidfile.read_text().strip() if cidfile.exists() else ""
        return result


@dataclass
class ContainerdPods:
    """Runs a program in a new containerd container of the `k8s.io` namespace (where the CRI keeps
    Kubernetes' containers) with the kubelet's labels, through `ctr run --rm`: a pod's container
    on a node, without a kubelet."""

    bin_dir: Path
    labels: dict[str, str]
    image: str = f"docker.io/{BUSYBOX_IMAGE}"

    def ensure_image(self) -> None:
        listed = subprocess.run(["ctr", "-n", "k8s.io", "images", "ls", "-q"], capture_output=True, text=True)
        if self.image not in listed.stdout.split():
            subprocess.run(f"docker save {BUSYBOX_IMAGE} | ctr -n k8s.io images import -", shell=True,
                           check=True, capture_output=True)

    def run(self, program: Path, *args: str, timeout: float = 60) -> TriggerResult:
        cid = secrets.token_hex(32)
        labels = [a for k, v in self.labels.items() for a in ("--label", f"{k}={v}")]
        argv = ["ctr", "-n", "k8s.io", "run", "--rm", *labels,
                "--mount", f"type=bind,src={self.bin_dir},dst=/e2e-bin,options=rbind:ro",
                self.image, cid, f"/e2e-bin/{program.name}", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
        result = _result(argv, proc)
        result.container_id = cid
        return result
