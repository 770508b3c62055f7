"""Test kit: a real HTTP receiver on 127.0.0.1, falcosidekick's payload check, findings to send."""

from __future__ import annotations

import json
import socket
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tracee import Finding, SignatureMetadata
from tracee.testing import make_event


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up (drain deadline, hung-endpoint tests) is expected here


class Receiver:
    """Records every POST. `statuses` are answered in order (then 200); `delay` slows each answer."""

    def __init__(self, port: int = 0, *, statuses: list[int] | None = None, delay: float = 0.0,
                 headers: dict[str, str] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.delay = delay
        self.reply_headers = headers or {}
        self.requests: list[dict[str, Any]] = []
        self.cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
            disable_nagle_algorithm = True  # else delayed ACKs add 40 ms to each answer

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.cond:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "status": status, "at": time.monotonic(),
                                              "client": self.client_address})
                    receiver.cond.notify_all()
                reply = b"ok" if status < 400 else b"Please send a valid request body"
                self.send_response(status)
                for k, v in receiver.reply_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = _QuietServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    @property
    def accepted(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["status"] < 300]

    def wait_for(self, n: int, timeout: float = 10.0) -> bool:
        """Wait until `n` requests were answered 2xx."""
        with self.cond:
            return self.cond.wait_for(lambda: len(self.accepted) >= n, timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    """A loopback port nobody listens on (for an endpoint that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# falcosidekick's PriorityType parsing (types/priority.go) and FalcoPayload.Check() (types/types.go).
FALCO_PRIORITIES = {"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"}


def falcosidekick_problems(body: bytes) -> list[str]:
    """What falcosidekick would reject this body for (empty list: accepted)."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(payload, dict):
        return ["not a JSON object"]
    problems = []
    prio = payload.get("priority")
    if not isinstance(prio, str) or prio.lower() not in FALCO_PRIORITIES:
        problems.append(f"priority {prio!r}")
    if not isinstance(payload.get("rule"), str) or not payload["rule"]:
        problems.append("rule empty")
    when = payload.get("time")
    try:  # Go's time.Time.UnmarshalJSON: RFC 3339, and Check() wants it non-zero
        if not isinstance(when, str) or "T" not in when:
            raise ValueError(when)
        if datetime.fromisoformat(when.replace("Z", "+00:00")).year < 2000:
            problems.append(f"time {when!r} is implausible")
    except ValueError:
        problems.append(f"time {when!r} is not RFC 3339")
    fields = payload.get("output_fields")
    if not isinstance(fields, dict) or not fields:
        problems.append("output_fields empty")
    for key in ("output", "source", "hostname"):
        if key in payload and not isinstance(payload[key], str):
            problems.append(f"{key} is not a string")
    if "tags" in payload and not (isinstance(payload["tags"], list) and all(isinstance(t, str) for t in payload["tags"])):
        problems.append("tags is not a list of strings")
    return problems


SHADOW_META = SignatureMetadata(
    id="TEST-1", name="Shadow file opened", version="1.0.0", description="a test signature",
    tags=("linux", "container"), properties={"Severity": 3, "MITRE ATT&CK": "Credential Access: X"})


def make_finding(n: int = 0, *, meta: SignatureMetadata = SHADOW_META, data: Any = ("default",),
                 **context: Any) -> Finding:
    event = make_event("openat", pathname="/etc/shadow", flags=0, context={"process_id": 100 + n, **context})
    return Finding({"path": "/etc/shadow", "n": n} if data == ("default",) else data, event, meta)
