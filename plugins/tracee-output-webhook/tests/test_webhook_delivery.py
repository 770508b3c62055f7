"""Delivery against a real HTTP server on 127.0.0.1: retries, slow and dead endpoints, draining, headers."""

from __future__ import annotations

import json
import threading
import time

import pytest

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.api import OutputContext
from tracee.testing import make_event, run_signatures
from tracee_output_webhook.plugin import build_output
from webhook_testkit import falcosidekick_problems, free_port, make_finding


@pytest.fixture
def webhook(tracee_logs):
    """Builds a webhook output the way the runner does; returns (output, the messages printed:
    `.getvalue()`)."""

    class Printed:
        def getvalue(self) -> str:
            return tracee_logs.text

    def build(url: str, **options):
        opts = {f"webhook_{k}": v for k, v in options.items()}
        return build_output(OutputContext(url, opts)), Printed()

    return build


def test_one_rawjson_post_per_finding(receiver, webhook):
    out, _ = webhook(receiver.url)
    for n in range(3):
        out.write(make_finding(n))
    out.close()
    assert out.stats()["webhook_delivered"] == 3
    bodies = [json.loads(r["body"]) for r in receiver.requests]
    assert [b["Data"]["n"] for b in bodies] == [0, 1, 2]  # in order
    assert all(r["headers"]["Content-Type"] == "application/json" for r in receiver.requests)
    assert receiver.requests[0]["headers"]["User-Agent"].startswith("tracee-output-webhook/")


def test_falcosidekick_posts_pass_falcosidekick_check(receiver, webhook):
    out, _ = webhook(receiver.url, template="falcosidekick")
    for n in range(3):
        out.write(make_finding(n))
    out.close()
    assert len(receiver.requests) == 3
    for r in receiver.requests:
        assert falcosidekick_problems(r["body"]) == []


def test_retries_after_a_500(receiver_factory, webhook):
    receiver = receiver_factory(statuses=[500, 503])
    out, err = webhook(receiver.url)
    out.write(make_finding())
    out.close()
    assert [r["status"] for r in receiver.requests] == [500, 503, 200]
    assert receiver.requests[0]["body"] == receiver.requests[2]["body"]
    stats = out.stats()
    assert stats["webhook_delivered"] == 1 and stats["webhook_retries"] == 2 and stats["webhook_failed"] == 0
    assert err.getvalue().count("error") == 0


def test_a_4xx_is_not_retried_and_is_counted_and_reported(receiver_factory, webhook):
    receiver = receiver_factory(statuses=[400])
    out, err = webhook(receiver.url, template="falcosidekick")
    out.write(make_finding())
    out.close()
    assert len(receiver.requests) == 1
    assert out.stats()["webhook_failed"] == 1
    assert "TEST-1 rejected: HTTP 400" in err.getvalue() and "valid request body" in err.getvalue()
    assert "1 finding(s) not delivered: 1 failed" in err.getvalue()


def test_429_honours_retry_after(receiver_factory, webhook):
    receiver = receiver_factory(statuses=[429], headers={"Retry-After": "1"})
    out, _ = webhook(receiver.url)
    out.write(make_finding())
    out.close()
    first, second = receiver.requests
    assert second["status"] == 200 and second["at"] - first["at"] >= 0.9


def test_headers_come_from_the_environment(receiver, monkeypatch, webhook):
    monkeypatch.setenv("TEST_WEBHOOK_TOKEN", "Bearer s3cret")
    out, _ = webhook(receiver.url, header=("Authorization=TEST_WEBHOOK_TOKEN", "X-Team=TEST_WEBHOOK_TOKEN"))
    out.write(make_finding())
    out.close()
    headers = receiver.requests[0]["headers"]
    assert headers["Authorization"] == "Bearer s3cret" and headers["X-Team"] == "Bearer s3cret"


def test_an_unset_header_variable_is_an_error(receiver, monkeypatch, webhook):
    monkeypatch.delenv("TEST_WEBHOOK_NOPE", raising=False)
    with pytest.raises(ValueError, match="environment variable TEST_WEBHOOK_NOPE is not set"):
        webhook(receiver.url, header=("Authorization=TEST_WEBHOOK_NOPE",))


def test_url_fragment_sets_options_per_output_and_is_not_sent(receiver, webhook):
    out, _ = webhook(receiver.url + "hook?x=1#format=falcosidekick&content_type=application/x-falco")
    out.write(make_finding())
    out.close()
    r = receiver.requests[0]
    assert r["path"] == "/hook?x=1"
    assert r["headers"]["Content-Type"] == "application/x-falco"
    assert falcosidekick_problems(r["body"]) == []


class EveryOpenat(Signature):
    metadata = SignatureMetadata(id="EVERY-1", name="every openat", properties={"Severity": 1})
    selected_events = [EventSelector("openat")]

    def on_event(self, event):
        self.match(event, {"i": event.process_id})


def test_a_slow_endpoint_does_not_slow_detection(receiver_factory, webhook):
    receiver = receiver_factory(delay=0.2)  # 200 findings would take 40 s in series
    out, err = webhook(receiver.url, queue_size=1000, drain_timeout=1.0)
    events = [make_event("openat", pathname="/x", context={"process_id": i}) for i in range(200)]
    start = time.monotonic()
    findings = run_signatures([EveryOpenat()], events)
    for f in findings:
        out.write(f)
    detection = time.monotonic() - start
    assert len(findings) == 200
    assert detection < 2.0, f"detection took {detection:.2f}s behind a 0.2 s/request endpoint"
    out.close()
    stats = out.stats()
    # Every finding is accounted for: a few delivered in the drain second, the rest counted unsent.
    assert stats["webhook_delivered"] + stats["webhook_unsent"] == 200
    assert stats["webhook_delivered"] >= 1 and stats["webhook_unsent"] >= 150
    assert f"{stats['webhook_unsent']} unsent at exit" in err.getvalue()


def test_a_full_queue_drops_are_counted_and_reported_rate_limited(receiver_factory, webhook):
    receiver = receiver_factory(delay=0.5)
    out, err = webhook(receiver.url, queue_size=5, drain_timeout=5.0)
    start = time.monotonic()
    for n in range(50):
        out.write(make_finding(n))
    assert time.monotonic() - start < 0.5
    out.close()
    s = out.stats()
    assert s["webhook_dropped"] >= 40
    assert s["webhook_delivered"] + s["webhook_dropped"] + s["webhook_failed"] + s["webhook_unsent"] == 50
    text = err.getvalue()
    assert text.count("queue full (5 findings waiting)") == 1  # one line, not 40
    assert f"{s['webhook_dropped']} dropped (queue full)" in text


def test_an_endpoint_that_is_down_is_counted_and_reported(webhook):
    url = f"http://127.0.0.1:{free_port()}/"
    out, err = webhook(url, retries=1)
    for n in range(3):
        out.write(make_finding(n))
    out.close()
    s = out.stats()
    assert s["webhook_delivered"] == 0
    assert s["webhook_failed"] + s["webhook_unsent"] == 3 and s["webhook_failed"] >= 1
    text = err.getvalue()
    assert "not delivered after 2 attempt(s): connection refused" in text
    assert "3 finding(s) not delivered" in text


def test_an_endpoint_down_for_the_first_seconds_gets_the_findings_once_up(receiver_factory, webhook):
    port = free_port()
    out, err = webhook(f"http://127.0.0.1:{port}/", template="falcosidekick")
    for n in range(5):
        out.write(make_finding(n))
    time.sleep(2.0)
    receiver = receiver_factory(port)
    assert receiver.wait_for(5, timeout=15)
    out.close()
    assert out.stats()["webhook_delivered"] == 5 and out.stats()["webhook_failed"] == 0
    assert [json.loads(r["body"])["output_fields"]["tracee.data.n"] for r in receiver.requests] == [0, 1, 2, 3, 4]
    assert out.stats()["webhook_retries"] >= 1
    assert "not delivered" not in err.getvalue()


def test_close_drains_the_queue(receiver_factory, webhook):
    receiver = receiver_factory(delay=0.02)
    out, err = webhook(receiver.url)
    for n in range(50):
        out.write(make_finding(n))
    out.close()  # returns once all 50 are sent, well within the 10 s default
    assert len(receiver.accepted) == 50 and out.stats()["webhook_delivered"] == 50
    assert err.getvalue().count("error") == 0


def test_close_gives_up_at_the_drain_limit_even_while_retrying(webhook):
    url = f"http://127.0.0.1:{free_port()}/"
    out, err = webhook(url, retries=10, drain_timeout=1.0)
    for n in range(4):
        out.write(make_finding(n))
    start = time.monotonic()
    out.close()
    assert time.monotonic() - start < 2.5
    s = out.stats()
    assert s["webhook_unsent"] == 4 and s["webhook_delivered"] == 0
    assert "4 unsent at exit" in err.getvalue()


def test_write_never_blocks_on_a_hung_endpoint(webhook):
    # A server that accepts connections but never answers.
    import socket
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        out, _ = webhook(f"http://127.0.0.1:{server.getsockname()[1]}/", timeout=0.5, drain_timeout=0.5)
        start = time.monotonic()
        for n in range(100):
            out.write(make_finding(n))
        assert time.monotonic() - start < 0.5
        out.close()
        s = out.stats()
        assert s["webhook_delivered"] == 0 and s["webhook_unsent"] + s["webhook_failed"] == 100
    finally:
        server.close()


def test_batching_posts_json_arrays(receiver_factory, webhook):
    receiver = receiver_factory(delay=0.1)
    out, _ = webhook(receiver.url, batch=20)
    for n in range(41):
        out.write(make_finding(n))
    out.close()
    arrays = [json.loads(r["body"]) for r in receiver.requests]
    assert all(isinstance(a, list) for a in arrays)
    assert [b["Data"]["n"] for a in arrays for b in a] == list(range(41))
    assert len(arrays) < 41 and max(len(a) for a in arrays) <= 20
    assert out.stats()["webhook_delivered"] == 41


@pytest.mark.parametrize("connections", [1, 3])
def test_connections_send_in_parallel_and_deliver_everything(receiver_factory, webhook, connections):
    """--webhook-connections N: N requests in flight, each on its own kept-alive connection (a slow
    receiver sees them side by side); 1 (the default) keeps one connection and the order."""
    receiver = receiver_factory(delay=0.3)
    out, err = webhook(receiver.url, **({} if connections == 1 else {"connections": connections}))
    for n in range(3 * connections):
        out.write(make_finding(n))
    out.close()
    assert out.stats()["webhook_delivered"] == 3 * connections
    assert len({r["client"] for r in receiver.requests}) == connections
    got = [json.loads(r["body"])["Data"]["n"] for r in receiver.requests]
    assert sorted(got) == list(range(3 * connections))
    if connections == 1:
        assert got == list(range(3))
    assert f"{connections} connection(s)" in err.getvalue()


def test_batching_is_refused_for_falcosidekick(receiver, webhook):
    with pytest.raises(ValueError, match="batching"):
        webhook(receiver.url, template="falcosidekick", batch=10)


def test_a_template_that_fails_to_render_is_counted(receiver, tmp_path, webhook):
    path = tmp_path / "bad.j2"
    path.write_text("{{ Data.n / 0 }}")
    out, err = webhook(receiver.url, template=str(path))
    out.write(make_finding(1))
    out.close()
    assert out.stats()["webhook_failed"] == 1 and not receiver.requests
    assert "cannot render finding TEST-1" in err.getvalue()


def test_credentials_in_the_url_become_basic_auth_and_are_not_printed(receiver, webhook):
    out, err = webhook(receiver.url.replace("http://", "http://bob:pw@") + "#retries=0")
    out.write(make_finding())
    out.close()
    assert receiver.requests[0]["headers"]["Authorization"] == "Basic Ym9iOnB3"
    assert "pw" not in err.getvalue()


def test_keep_alive_connection_closed_by_the_server_is_reopened(receiver, webhook):
    out, _ = webhook(receiver.url)
    out.write(make_finding(0))
    deadline = time.monotonic() + 5
    while out.stats()["webhook_delivered"] < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    out.endpoint.conn.sock.shutdown(2)  # as if the server had closed the idle connection
    out.write(make_finding(1))
    out.close()
    assert out.stats()["webhook_delivered"] == 2 and out.stats()["webhook_retries"] == 0


def test_each_request_is_written_at_once_head_and_body():
    """One send per finding: the receiver's first read holds the whole request (two sends, head
    then body, usually arrive as two segments, and the receiver wakes twice)."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    firsts: list[bytes] = []

    def answer() -> None:
        conn, _ = server.accept()
        with conn:
            for _ in range(20):
                first = conn.recv(1 << 20)  # returns as soon as anything has arrived
                firsts.append(first)
                head, _, body = first.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                                  if line.lower().startswith(b"content-length:")))
                while len(body) < length:
                    body += conn.recv(1 << 20)
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    out = build_output(OutputContext(f"http://127.0.0.1:{server.getsockname()[1]}/", {}))
    for n in range(20):
        out.write(make_finding(n))
    out.close()
    server.close()
    assert out.stats()["webhook_delivered"] == 20
    assert len(firsts) == 20
    for first in firsts:
        head, _, body = first.partition(b"\r\n\r\n")
        assert head.startswith(b"POST / HTTP/1.1") and json.loads(body)["Data"]["n"] >= 0


def test_many_threads_writing_at_once_lose_nothing(receiver, webhook):
    out, _ = webhook(receiver.url, queue_size=10_000)
    threads = [threading.Thread(target=lambda k=k: [out.write(make_finding(k * 100 + i)) for i in range(50)])
               for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()
    assert out.stats()["webhook_delivered"] == 200 and len(receiver.accepted) == 200


def test_the_output_contract_through_the_installed_entry_point(receiver):
    from tracee.plugins import PluginHost
    from tracee.testing import assert_output_contract

    host = PluginHost().load_entry_points()
    info, spec = host.outputs()["webhook"]
    assert info.distribution == "tracee-output-webhook"
    for fmt in ("rawjson", "falcosidekick"):
        assert_output_contract(spec, receiver.url, {"webhook_template": fmt})
    assert len(receiver.accepted) == 4
    assert all(falcosidekick_problems(r["body"]) == [] for r in receiver.requests[2:])
