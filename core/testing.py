"""pytest plugin for signature and plugin authors: an engine with chosen signatures, an event
factory, a findings collector. Installed with the core (entry point `pytest11`), so in any test:

    def test_fires(run_signatures, make_event):
        findings = run_signatures([MySig()], [make_event("ptrace", request="PTRACE_TRACEME")])
        assert [f.metadata.id for f in findings] == ["MY-1"]
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence

try:  # the helpers below work without pytest (benchmarks use them); the fixtures need it
    import pytest
except ImportError:  # pragma: no cover - pytest absent: no fixtures
    pytest = None  # type: ignore[assignment]

from . import log as logs
from .events import catalog
from .engine import Engine
from .event import Event
from .plugins import PluginHost
from .runner import load_signatures
from .signature import Finding, Signature

__all__ = ["FindingsCollector", "LiveTracee", "LogCapture", "assert_declarations_sound", "assert_output_contract",
           "assert_signature_contract",
           "capture_logs", "installed_signatures", "make_event", "pip_install", "run_signatures"]


def _arg_type(event_name: str, arg_name: str, value: Any) -> str:
    definition = catalog.by_name(event_name)
    if definition is not None:
        for arg in definition.args:
            if arg.name == arg_name:
                # A string for a numeric argument is a parsed value: Tracee ≥ v0.7 types it "string".
                numeric = arg.type not in ("const char*", "const char *", "struct sockaddr*", "bytes")
                return "string" if isinstance(value, str) and numeric else arg.type
    if isinstance(value, str):
        return "const char*"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, list):
        return "const char**"
    if isinstance(value, dict):
        return "struct sockaddr*"
    if isinstance(value, bytes):
        return "bytes"
    return "unknown"


def make_event(event_name: str, /, *, context: dict[str, Any] | None = None,
               container: bool | str = False, **args: Any) -> Event:
    """An event named `event_name` with `args` (types from the catalog) and context fields.

    `container=True` gives a started container (origin "container"); `container="init"` a
    container whose entry point has not executed yet ("container-init"). `context` sets any
    Event attribute (process_name, process_id, container_id, ...).
    """
    fields: dict[str, Any] = {"process_id": 1000, "thread_id": 1000, "host_process_id": 1000,
                              "host_thread_id": 1000, "parent_process_id": 1, "host_parent_process_id": 1,
                              "process_name": "test", "host_name": "testhost", "timestamp": 1_700_000_000_000_000_000}
    started = False
    if container:
        fields["container_id"] = "0123456789ab" * 5 + "cdef"
        started = container is True
    fields.update(context or {})
    definition = catalog.by_name(event_name)
    if definition is not None:
        fields.setdefault("event_id", definition.id)
    event_args = [{"name": k, "type": _arg_type(event_name, k, v), "value": v} for k, v in args.items()]
    return Event(event_name, event_args, container_started=started, **fields)


class FindingsCollector(list):
    """A list of findings that is also the engine's finding callback."""

    def __call__(self, finding: Finding) -> None:
        self.append(finding)

    @property
    def ids(self) -> list[str]:
        return [f.metadata.id for f in self]


def run_signatures(signatures: Sequence[Signature], events: Iterable[Event]) -> FindingsCollector:
    """Run `events` through an engine holding `signatures` (origin filtering and the end-of-input
    signal included) and return the findings."""
    findings = FindingsCollector()
    engine = Engine(signatures, findings)
    engine.run(events)
    return findings


class LogCapture(logging.Handler):
    """`tracee.*` messages as they would be printed (rate limits applied), and every record."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.TextFormatter())
        self.limits = logs.RateLimit()
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        if self.limits.filter(record):
            self.lines.append(self.format(record))

    @property
    def text(self) -> str:
        return "\n".join(self.lines) + ("\n" if self.lines else "")

    def count(self, level: int = logging.ERROR) -> int:
        """Records at `level` or above, printed or not."""
        return sum(1 for r in self.records if r.levelno >= level)


@contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Collect the `tracee.*` messages of the block (see LogCapture)."""
    capture = LogCapture()
    root = logging.getLogger(logs.ROOT)
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)


def installed_signatures(rules: Sequence[str] = (), rules_dirs: Sequence[str] = ()) -> list[Signature]:
    """Signatures of the installed plugins, loaded through their real entry points."""
    host = PluginHost().load_entry_points()
    return [item.signature for item in load_signatures(host, rules=rules, rules_dirs=rules_dirs)]


def pip_install(python: str | Path, *sources: str | Path, extra: Sequence[str] = ()) -> None:
    """Really install distributions with pip into the interpreter `python` (a fresh venv's).

    Local source directories are copied first, so the build happens in the copy: pip builds in
    place, and two test runs building one tree at once (parallel tox envs) would collide, while a
    stale build/ directory would put old files into the wheel. Other arguments go to pip as is.
    """
    with tempfile.TemporaryDirectory(prefix="tracee-pip-") as tmp:
        args: list[str] = []
        for source in sources:
            path = Path(source)
            if path.is_dir():
                copy = Path(tmp) / f"{len(args)}-{path.name}"
                shutil.copytree(path, copy, ignore=shutil.ignore_patterns(
                    "build", "*.egg-info", "__pycache__", ".tox", ".pytest_cache"))
                args.append(str(copy))
            else:
                args.append(str(source))
        result = subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                                 *extra, *args], capture_output=True, text=True)
        if result.returncode:
            raise AssertionError(f"pip install {' '.join(map(str, sources))} failed:\n{result.stderr[-3000:]}")


class LiveTracee:
    """A `tracee` command (or `tracee-rules`) running as a user runs it, fed events on its stdin.

        with LiveTracee(["run", "--input", "file:-", "--output", "json", "--metrics"]) as live:
            live.send(make_event("ptrace", request="PTRACE_TRACEME"))
            assert live.finding()["SigMetadata"]["ID"] == "TRC-2"
            url = live.url()                              # from the "serving ... on" line
            live.wait_for_stderr("reload:")

    Its stdout lines (findings) and stderr lines are collected as they come, by two threads.
    `stdin` may be another process's stdout instead (`tracee trace | tracee run --input file:-`).
    """

    def __init__(self, args: Sequence[str], *, command: str = "tracee", env: dict[str, str] | None = None,
                 bin_dir: str | Path | None = None, stdin: Any = subprocess.PIPE) -> None:
        import os
        import queue
        import sys
        import threading

        exe = Path(bin_dir or Path(sys.executable).parent) / command
        self.proc = subprocess.Popen([str(exe), *args], stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr_lines: list[str] = []
        self._cond = threading.Condition()
        self._stderr_closed = False

        def pump_out() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                self.stdout.put(raw.decode("utf-8", "replace").rstrip("\n"))

        def pump_err() -> None:
            assert self.proc.stderr is not None
            for raw in self.proc.stderr:
                with self._cond:
                    self.stderr_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self._cond.notify_all()
            with self._cond:
                self._stderr_closed = True
                self._cond.notify_all()
        for pump in (pump_out, pump_err):
            threading.Thread(target=pump, daemon=True).start()

    @property
    def stderr(self) -> str:
        with self._cond:
            return "".join(line + "\n" for line in self.stderr_lines)

    def send(self, *events: Event | str) -> None:
        """Write events (or raw lines) to the command's stdin."""
        assert self.proc.stdin is not None
        data = "".join((e if isinstance(e, str) else e.to_json()) + "\n" for e in events)
        self.proc.stdin.write(data.encode())
        self.proc.stdin.flush()

    def close_input(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    def finding(self, timeout: float = 10.0) -> Any:
        """The next stdout line, parsed as JSON (`--output json` findings)."""
        import json
        import queue

        try:
            return json.loads(self.stdout.get(timeout=timeout))
        except queue.Empty:
            raise AssertionError(f"no finding within {timeout}s; stderr:\n{self.stderr}") from None

    def wait_for_stderr(self, text: str, timeout: float = 30.0, after: int = 0) -> str:
        """The first stderr line (from line number `after` on) containing `text`."""
        import time

        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.stderr_lines[after:]:
                    if text in line:
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or self._stderr_closed:
                    raise AssertionError(f"{text!r} not on stderr within {timeout}s "
                                         f"(exit {self.proc.poll()}):\n{self.stderr}")
                self._cond.wait(min(left, 0.2))

    def url(self, timeout: float = 30.0) -> str:
        """The base URL of its /metrics and /healthz, from the "serving ... on http://..." line."""
        line = self.wait_for_stderr("serving /", timeout)
        return line[line.index("http://"):].split()[0]

    def stop(self, sig: int | None = None, timeout: float = 30.0) -> int:
        """Send `sig` (default: close stdin) and wait for the exit status."""
        if sig is None:
            if self.proc.stdin is not None and not self.proc.stdin.closed:
                self.proc.stdin.close()
        else:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout)

    def __enter__(self) -> "LiveTracee":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


# -- contract checks: every signature pack and output plugin runs these in its own tests ---------------
def assert_signature_contract(sig: Signature) -> None:
    """What the engine and the outputs rely on: readable metadata and selectors, a working life cycle."""
    meta = sig.get_metadata()
    assert isinstance(meta.id, str) and meta.id and " " not in meta.id, f"bad ID {meta.id!r}"
    assert isinstance(meta.name, str) and meta.name, f"{meta.id}: empty name"
    assert isinstance(meta.version, str) and meta.version, f"{meta.id}: empty version"
    assert all(isinstance(t, str) for t in meta.tags or ()), f"{meta.id}: tags must be strings"
    severity = (meta.properties or {}).get("Severity")
    if severity is not None:
        assert int(severity) in range(5), f"{meta.id}: Severity {severity!r} is not 0-4"
    selectors = sig.get_selected_events()
    assert selectors, f"{meta.id}: selects no events"
    for sel in selectors:
        assert sel.source, f"{meta.id}: a selector without a source never receives events"
        assert sel.origin in ("*", "", "container", "container-init", "host"), f"{meta.id}: origin {sel.origin!r}"
    # The life cycle with no events: init, end-of-input signal, close: none may raise.
    run_signatures([sig], [])
    import json

    json.dumps(meta.to_dict())  # rawjson must be able to write the metadata


def assert_declarations_sound(make_signatures: Callable[[], Sequence[Signature]], events: Iterable[Event]) -> int:
    """The predicates the signatures declare (`EventSelector.where`) never hide an event a rule
    would match: the same findings, in the same order, with the engine checking them and without.
    `make_signatures` gives fresh signatures each call (they keep state). Returns how many
    dispatches the predicates saved."""
    import copy

    events = list(events)
    runs = []
    for check in ("all", "none"):
        findings = FindingsCollector()
        engine = Engine(make_signatures(), findings, check_predicates=check)
        engine.run(copy.deepcopy(events))  # signatures and enrichers may change events
        runs.append(([(f.metadata.id, f.data, f.event.to_dict()) for f in findings],
                     sum(engine.stats.dispatched.values())))
    (checked, with_checks), (unchecked, without) = runs
    assert checked == unchecked, "a declared predicate hides events the rule matches"
    return without - with_checks


def assert_output_contract(spec: Any, argument: str = "", options: dict[str, Any] | None = None) -> None:
    """An output can be built, takes findings, closes, and reports counters as a dict of ints."""
    from .api import OutputContext
    from .signature import SignatureMetadata

    import io

    out = spec.factory(OutputContext(argument, options or {}, io.StringIO()))
    meta = SignatureMetadata(id="CONTRACT-1", name="contract", properties={"Severity": 1})
    out.write(Finding({"k": "v"}, make_event("ptrace", request="PTRACE_TRACEME"), meta))
    out.write(Finding(None, make_event("openat", container=True), meta))
    out.close()
    stats = out.stats()
    assert isinstance(stats, dict) and all(isinstance(v, int) for v in stats.values())


if pytest is not None:
    @pytest.fixture(name="make_event")
    def _make_event_fixture() -> Callable[..., Event]:
        """Factory of events: make_event("ptrace", request="PTRACE_TRACEME", container=True)."""
        return make_event

    @pytest.fixture(name="run_signatures")
    def _run_signatures_fixture() -> Callable[..., FindingsCollector]:
        """Run events through a real engine with the given signatures; returns the findings."""
        return run_signatures

    @pytest.fixture(name="findings")
    def _findings_fixture() -> FindingsCollector:
        """An empty findings collector, usable as an engine callback."""
        return FindingsCollector()

    @pytest.fixture(name="tracee_logs")
    def _tracee_logs_fixture() -> Iterator[LogCapture]:
        """The `tracee.*` messages of the test: `.lines` as printed, `.count()` of errors."""
        with capture_logs() as capture:
            yield capture

    @pytest.fixture(name="installed_signatures")
    def _installed_signatures_fixture() -> Callable[..., list[Signature]]:
        """Load signatures from the installed plugins (entry points), optionally only some IDs."""
        return installed_signatures
