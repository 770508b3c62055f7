"""`tracee run` / `tracee-rules` as an orchestrator and Prometheus see them: /metrics, /healthz,
the listen address, --log-format json, and SIGHUP reloading the tuning file."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

from tracee.testing import LiveTracee, make_event

SHADOW = make_event("openat", pathname="/etc/shadow", flags=0)
OTHER = make_event("openat", pathname="/etc/passwd", flags=0)
SERVE = ["--metrics", "--healthz", "--listen-addr", "127.0.0.1:0"]


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(url: str) -> dict[tuple[str, tuple], float]:
    status, text = get(url + "/metrics")
    assert status == 200, text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.05)


def test_metrics_change_while_it_runs_and_healthz_turns_503_when_the_input_dies():
    with LiveTracee(["run", "--input", "file:-", "--output", "json", *SERVE]) as live:
        url = live.url()  # served from the start: "starting" (503) until the input is read
        assert get(url + "/healthz") in ((503, "starting\n"), (200, "OK\n"))
        until(lambda: get(url + "/healthz") == (200, "OK\n"))
        live.send(OTHER, SHADOW, OTHER)
        assert live.finding()["SigMetadata"]["ID"] == "EXAMPLE-1"
        # Events are counted when read, rule errors when evaluated: wait for the third event's error.
        first = until(lambda: (m := samples(url)).get(("tracee_events_total", (("input", "file"),))) == 3
                      and m.get(("tracee_rule_errors_total", (("signature_id", "EXAMPLE-BOOM"),))) == 3 and m)
        assert first[("tracee_findings_total", (("severity", "2"), ("signature_id", "EXAMPLE-1")))] == 1
        assert first[("tracee_rules_detections_total", ())] == 1
        assert first[("tracee_rule_errors_total", (("signature_id", "EXAMPLE-BOOM"),))] == 3
        assert first[("tracee_events_dispatched_total", (("event_name", "openat"),))] == 3
        assert first[("tracee_process_resident_memory_bytes", ())] > 10_000_000
        assert first[("process_resident_memory_bytes", ())] > 10_000_000  # the name Tracee's dashboards use
        assert first[("tracee_healthy", ())] == 1

        live.send(*[OTHER] * 70, SHADOW)
        assert live.finding()["SigMetadata"]["ID"] == "EXAMPLE-1"
        later = until(lambda: (m := samples(url))[("tracee_events_total", (("input", "file"),))] == 74 and m)
        assert later[("tracee_findings_total", (("severity", "2"), ("signature_id", "EXAMPLE-1")))] == 2
        assert later[("tracee_signature_events_total", (("signature_id", "EXAMPLE-1"),))] == 74
        # One evaluation in 64 per route is timed, per rule language.
        assert later[("tracee_rule_evaluation_seconds_count", (("language", "python"),))] == 4  # events 1, 65

        live.close_input()  # the producer of the stream is gone
        until(lambda: get(url + "/healthz") == (503, "input ended\n"))
        live.wait_for_stderr("/healthz answers 503 until tracee is stopped")
        assert samples(url)[("tracee_healthy", ())] == 0  # the last counters stay readable
        assert live.stop(signal.SIGTERM) == 128 + signal.SIGTERM
    assert "summary: 74 events read" in live.stderr


def test_a_regular_file_ends_the_run_as_before(cli, data):
    done = cli("tracee", "run", "--input", f"file:{data / 'shadow.jsonl'}", "--output", "json", *SERVE)
    assert done.returncode == 0, done.stderr
    assert "serving /metrics and /healthz on http://127.0.0.1:" in done.stderr
    assert json.loads(done.stdout)["SigMetadata"]["ID"] == "EXAMPLE-1"


def test_an_address_that_is_not_loopback_needs_listen_remote(cli, data):
    events = f"file:{data / 'shadow.jsonl'}"
    for addr in ("0.0.0.0:3366", ":3366", "[::]:3366"):
        done = cli("tracee", "run", "--input", events, "--metrics", "--listen-addr", addr)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.strip().splitlines() == [
            f"tracee: error: --listen-addr {addr} listens on every interface: /metrics and /healthz have no "
            "authentication; add --listen-remote to allow it, or use 127.0.0.1:3366"]
    done = cli("tracee", "run", "--input", events, "--metrics", "--listen-addr", "0.0.0.0:0", "--listen-remote")
    assert done.returncode == 0 and "serving /metrics on http://0.0.0.0:" in done.stderr
    bad = cli("tracee", "run", "--input", events, "--healthz", "--listen-addr", "127.0.0.1:http")
    assert bad.returncode == 2 and "'http' is not a port number" in bad.stderr


def test_an_address_in_use_is_one_line(cli, data):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        done = cli("tracee", "run", "--input", f"file:{data / 'shadow.jsonl'}", "--metrics",
                   "--listen-addr", f"127.0.0.1:{port}")
    assert done.returncode == 1
    assert done.stderr.strip() == f"tracee: error: --listen-addr 127.0.0.1:{port}: Address already in use"


def test_log_format_json_is_one_object_per_line(cli, data):
    done = cli("tracee", "run", "--log-format", "json", "--input", f"file:{data / 'mixed.jsonl'}", "--output", "json")
    assert done.returncode == 0
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["level"] == "error" and "EXAMPLE-BOOM" in r["message"] for r in records)
    assert records[-1]["level"] == "info" and records[-1]["message"].startswith("summary: ")
    usage = cli("tracee", "run", "--input", "nope:x", env={"TRACEE_LOG_FORMAT": "json"})
    (line,) = usage.stderr.splitlines()
    assert usage.returncode == 2 and json.loads(line)["message"].startswith("--input nope:x: unknown input")
    text = cli("tracee", "run", "--input", f"file:{data / 'shadow.jsonl'}")
    assert text.stderr.splitlines()[-1].startswith("tracee: summary: ")


def test_tracee_rules_serves_tracee_s_names_on_its_flags():
    for flags in (["--metrics", "--listen-addr", "127.0.0.1:0"], ["--metrics=true", "--metrics-addr", "127.0.0.1:0"]):
        args = ["--input-tracee", "file:stdin", "--input-tracee", "format:json", *flags]
        with LiveTracee(args, command="tracee-rules") as live:
            url = live.url()
            live.send(SHADOW)
            got = until(lambda: (m := samples(url)).get(("tracee_rules_events_total", ())) == 1 and m)
            assert got[("tracee_rules_detections_total", ())] == 1
            assert got[("tracee_rules_signatures_total", ())] == 2
            assert got[("tracee_info", (("command", "tracee-rules"), ("version", dict(
                next(labels for name, labels in got if name == "tracee_info"))["version"])))] == 1
            assert live.stop() == 0
        assert "has no effect" not in live.stderr


def test_sighup_reloads_the_tuning_file_and_a_bad_one_keeps_the_running_set(tmp_path):
    tuning = tmp_path / "tuning.yaml"
    tuning.write_text("disable:\n  ids: []\n")
    args = ["run", "--input", "file:-", "--output", "json", "--config", str(tuning), *SERVE]
    with LiveTracee(args) as live:
        url = live.url()
        live.send(OTHER)
        until(lambda: samples(url).get(("tracee_rule_errors_total", (("signature_id", "EXAMPLE-BOOM"),))) == 1)

        tuning.write_text("disable:\n  ids: [EXAMPLE-BOOM]\n")
        mark = len(live.stderr_lines)
        live.proc.send_signal(signal.SIGHUP)
        assert "removed EXAMPLE-BOOM, 1 kept running" in live.wait_for_stderr("reload: 1 signature(s)", after=mark)
        live.send(OTHER, SHADOW)
        assert live.finding()["SigMetadata"]["ID"] == "EXAMPLE-1"
        got = samples(url)
        assert got[("tracee_rule_errors_total", (("signature_id", "EXAMPLE-BOOM"),))] == 1  # no more
        assert got[("tracee_signatures_loaded", ())] == 1
        assert got[("tracee_reloads_total", (("result", "ok"),))] == 1

        tuning.write_text("disable: [\n")
        mark = len(live.stderr_lines)
        live.proc.send_signal(signal.SIGHUP)
        line = live.wait_for_stderr("reload failed", after=mark)
        assert f"config {tuning}:2:1" in line and "the 1 signature(s) running are kept" in line
        got = samples(url)
        assert got[("tracee_reloads_total", (("result", "failed"),))] == 1
        assert got[("tracee_reload_last_successful", ())] == 0
        live.send(SHADOW)
        assert live.finding()["SigMetadata"]["ID"] == "EXAMPLE-1"
        live.close_input()
        live.wait_for_stderr("until tracee is stopped")
        assert live.stop(signal.SIGINT) == 130
