"""A real Prometheus (Debian's `prometheus`) scrapes `tracee run --metrics` on loopback; what it
stored, read back through its HTTP API, shows the event counter rising and a finding counted once."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tracee.testing import LiveTracee, make_event

PROMETHEUS = shutil.which("prometheus") or ("/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None)

SHADOW = make_event("openat", pathname="/etc/shadow", flags=0)
OTHER = make_event("openat", pathname="/etc/passwd", flags=0)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, workdir: Path, target: str) -> None:
        self.port = free_port()
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: tracee\n    static_configs:\n"
            f"      - targets: ['{target}']\n")
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.api = f"http://127.0.0.1:{self.port}/api/v1"

    def get(self, path: str, **params: str) -> dict:
        url = f"{self.api}/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=5) as resp:
            return json.loads(resp.read())["data"]

    def value(self, query: str) -> float | None:
        result = self.get("query", query=query)["result"]
        return float(result[0]["value"][1]) if result else None

    def wait(self, check, what: str, timeout: float = 30.0):
        deadline = time.monotonic() + timeout
        while True:
            try:
                got = check()
            except OSError:  # not listening yet
                got = None
            if got:
                return got
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.log.flush()
                raise AssertionError(f"Prometheus: {what} not seen in {timeout}s (exit {self.proc.poll()}):\n"
                                     + Path(self.log.name).read_text()[-2000:])
            time.sleep(0.25)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def test_debian_prometheus_scrapes_the_detector(tmp_path):
    if PROMETHEUS is None:
        if os.environ.get("CI"):  # CI runs scripts/test as root, which installs it (APT_PACKAGES)
            pytest.fail("Debian's prometheus is not installed")
        pytest.skip("Debian's prometheus is not installed (apt-get install prometheus)")
    args = ["run", "--input", "file:-", "--output", "json", "--metrics", "--listen-addr", "127.0.0.1:0"]
    with LiveTracee(args) as live:
        target = live.url().removeprefix("http://")
        prom = Prometheus(tmp_path, target)
        try:
            prom.wait(lambda: any(t["health"] == "up" for t in prom.get("targets")["activeTargets"]),
                      "the tracee target up")
            live.send(OTHER, OTHER, OTHER)
            prom.wait(lambda: prom.value('tracee_events_total{job="tracee"}') == 3, "tracee_events_total 3")

            live.send(SHADOW, OTHER, OTHER)
            assert live.finding()["SigMetadata"]["ID"] == "EXAMPLE-1"
            prom.wait(lambda: prom.value('tracee_events_total{job="tracee"}') == 6, "tracee_events_total 6")
            findings = 'tracee_findings_total{job="tracee",signature_id="EXAMPLE-1"}'
            assert prom.wait(lambda: prom.value(findings), "the finding counter") == 1
            assert prom.value('tracee_rules_detections_total{job="tracee"}') == 1

            # What Prometheus stored: the counter rose from 3 to 6 between its scrapes.
            (series,) = prom.get("query", query='tracee_events_total{job="tracee"}[5m]')["result"]
            values = [float(v) for _, v in series["values"]]
            assert values == sorted(values) and values[0] <= 3 and values[-1] == 6, values
            assert prom.value('increase(tracee_events_total{job="tracee"}[5m])') > 0
        finally:
            prom.stop()
        assert live.stop() == 0
