"""Acceptance through the real commands (`tracee run`, `tracee-rules`) in a subprocess, posting to a
real server on 127.0.0.1. Needs the test rule pack tests/fixtures/tracee-sig-example installed
(EXAMPLE-1 fires on every openat of /etc/shadow)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from tracee.testing import make_event
from webhook_testkit import falcosidekick_problems, free_port

BIN = Path(sys.executable).parent
SHADOW_OPENS = 3


@pytest.fixture(scope="module", autouse=True)
def _example_rules_installed():
    try:
        version("tracee-sig-example")
    except PackageNotFoundError:
        pytest.fail("these tests need the test rule pack: pip install tests/fixtures/tracee-sig-example")


@pytest.fixture
def events_file(tmp_path) -> Path:
    """Three openat of /etc/shadow (three findings) among events that fire nothing."""
    path = tmp_path / "events.json"
    events = []
    for i in range(5):
        events.append(make_event("openat", pathname="/etc/passwd", flags=0, context={"process_id": 10 + i}))
    for i in range(SHADOW_OPENS):
        events.append(make_event("openat", pathname="/etc/shadow", flags=0,
                                 context={"process_id": 20 + i, "process_name": "cat",
                                          "timestamp": 1_700_000_000_000_000_000 + i}))
    path.write_text("".join(json.dumps(e.to_dict()) + "\n" for e in events))
    return path


def tracee(*args: str, command: str = "tracee", env: dict | None = None, timeout: float = 60):
    return subprocess.run([str(BIN / command), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


def test_the_plugin_is_discovered_through_its_entry_point():
    result = tracee("plugins", "--json")
    assert result.returncode == 0, result.stderr
    mine = [p for p in json.loads(result.stdout) if p["distribution"] == "tracee-output-webhook"]
    assert mine and mine[0]["provides"]["outputs"] == ["webhook"]
    assert "--webhook-template/--webhook-format" in mine[0]["provides"]["cli_options"]


def test_tracee_run_posts_one_rawjson_payload_per_finding(receiver, events_file):
    result = tracee("run", "--input", f"file:{events_file}", "--rules", "EXAMPLE-1",
                    "--output", f"webhook:{receiver.url}")
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == SHADOW_OPENS
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert all(b["SigMetadata"]["ID"] == "EXAMPLE-1" for b in bodies)
    assert [b["Context"]["processId"] for b in bodies] == [20, 21, 22]
    assert f"output webhook_delivered {SHADOW_OPENS}" in result.stderr
    assert "output webhook_failed 0" in result.stderr


def test_tracee_run_falcosidekick_payloads_are_valid(receiver, events_file):
    result = tracee("run", "--input", f"file:{events_file}", "--rules", "EXAMPLE-1",
                    "--output", f"webhook:{receiver.url}", "--webhook-format", "falcosidekick")
    assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == SHADOW_OPENS
    for r in receiver.requests:
        assert falcosidekick_problems(r["body"]) == []
        p = json.loads(r["body"])
        assert p["priority"] == "Warning"  # EXAMPLE-1 has Severity 2
        assert p["rule"] == "Shadow file opened"
        assert p["time"].startswith("2023-11-14T22:13:20.00000000")
        assert p["output_fields"]["proc.name"] == "cat" and p["output_fields"]["tracee.data.path"] == "/etc/shadow"


def test_several_webhooks_each_with_its_own_format(receiver_factory, events_file, monkeypatch):
    raw, sidekick = receiver_factory(), receiver_factory()
    result = tracee("run", "--input", f"file:{events_file}", "--rules", "EXAMPLE-1",
                    "--output", f"webhook:{raw.url}", "--output", f"webhook:{sidekick.url}#format=falcosidekick",
                    "--webhook-header", "Authorization=TEST_HOOK_TOKEN", env={"TEST_HOOK_TOKEN": "Bearer t0k"})
    assert result.returncode == 0, result.stderr
    assert len(raw.requests) == len(sidekick.requests) == SHADOW_OPENS
    assert "SigMetadata" in json.loads(raw.requests[0]["body"])
    assert falcosidekick_problems(sidekick.requests[0]["body"]) == []
    assert {r["headers"]["Authorization"] for r in raw.requests + sidekick.requests} == {"Bearer t0k"}
    assert "t0k" not in result.stderr + result.stdout
    assert f"output webhook_delivered {2 * SHADOW_OPENS}" in result.stderr


@pytest.mark.parametrize("template", ["falcosidekick", "/tracee/templates/falcosidekick.tmpl"])
def test_tracee_rules_webhook_with_tracee_template_names(receiver, events_file, template):
    result = tracee("--input-tracee", f"file:{events_file}", "--input-tracee", "format:json",
                    "--rules", "EXAMPLE-1", "--webhook", receiver.url, "--webhook-template", template,
                    "--webhook-content-type", "application/json", command="tracee-rules")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("*** Detection ***") == SHADOW_OPENS  # stdout still gets its block
    assert len(receiver.requests) == SHADOW_OPENS
    for r in receiver.requests:
        assert falcosidekick_problems(r["body"]) == []
        assert r["headers"]["Content-Type"] == "application/json"


def test_tracee_rules_webhook_rawjson_template_and_default(receiver, events_file):
    for extra in (["--webhook-template", "rawjson"], []):
        result = tracee("--input-tracee", f"file:{events_file}", "--input-tracee", "format:json",
                        "--rules", "EXAMPLE-1", "--webhook", receiver.url, *extra, command="tracee-rules")
        assert result.returncode == 0, result.stderr
    assert len(receiver.requests) == 2 * SHADOW_OPENS
    assert all(json.loads(r["body"])["SigMetadata"]["ID"] == "EXAMPLE-1" for r in receiver.requests)


def test_findings_arrive_once_an_endpoint_that_was_down_comes_up(receiver_factory, events_file):
    port = free_port()
    started = []
    timer = threading.Timer(2.0, lambda: started.append(receiver_factory(port)))
    timer.start()
    try:
        result = tracee("run", "--input", f"file:{events_file}", "--rules", "EXAMPLE-1",
                        "--output", f"webhook:http://127.0.0.1:{port}/", "--webhook-format", "falcosidekick")
    finally:
        timer.join()
    assert result.returncode == 0, result.stderr
    assert len(started[0].accepted) == SHADOW_OPENS
    assert all(falcosidekick_problems(r["body"]) == [] for r in started[0].requests)
    assert f"output webhook_delivered {SHADOW_OPENS}" in result.stderr
    assert "not delivered" not in result.stderr


def test_an_endpoint_that_never_comes_up_is_reported_with_a_count(events_file):
    start = time.monotonic()
    result = tracee("run", "--input", f"file:{events_file}", "--rules", "EXAMPLE-1",
                    "--output", f"webhook:http://127.0.0.1:{free_port()}/", "--webhook-retries", "1",
                    "--webhook-drain-timeout", "3")
    assert time.monotonic() - start < 15
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    summary = next(line for line in lines if "summary:" in line)
    assert "output webhook_delivered 0" in summary
    failed = int(summary.split("output webhook_failed ")[1].split(",")[0])
    unsent = int(summary.split("output webhook_unsent ")[1].split(",")[0])
    assert failed + unsent == SHADOW_OPENS and failed >= 1
    assert f"{SHADOW_OPENS} finding(s) not delivered" in result.stderr
    assert "connection refused" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, message", [
    (["--webhook-header", "Authorization=TEST_HOOK_UNSET"], "environment variable TEST_HOOK_UNSET is not set"),
    (["--webhook-header", "Authorization"], "expected NAME=ENVVAR"),
    (["--webhook-format", "nope.j2"], "webhook template nope.j2: no such file"),
    (["--webhook-format", "falcosidekick", "--webhook-batch", "5"], "batching"),
])
def test_bad_options_are_one_line_and_exit_2(receiver, events_file, args, message):
    result = tracee("run", "--input", f"file:{events_file}", "--output", f"webhook:{receiver.url}", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not receiver.requests


def test_a_bad_url_is_one_line_and_exit_2(events_file):
    result = tracee("run", "--input", f"file:{events_file}", "--output", "webhook:ftp://example.org/")
    assert result.returncode == 2 and "expected http://HOST" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
