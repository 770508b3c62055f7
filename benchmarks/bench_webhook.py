#!/usr/bin/env python3
"""Webhook output benchmark: what a finding costs the detection thread, and delivery throughput.

    python benchmarks/bench_webhook.py [--findings 5000] [--batch 50] [--receiver thread|process]
                                       [--latency MS] [--connections N]

1. write() cost per finding (render + enqueue, the only work on the detection thread), for rawjson
   and falcosidekick, against an endpoint that never answers (so nothing is sent meanwhile).
2. Delivery throughput to a real HTTP server on 127.0.0.1: one finding per request (keep-alive),
   then --batch findings per request (rawjson arrays). Figures include the server's own cost
   (Python's http.server on the same 2 cores), so they are a floor, not the client's ceiling.
   `--receiver thread` (the default) runs it in this process, where it also shares the GIL with
   the sender; `--receiver process` runs it in a process of its own, as a real receiver is.
   `--latency MS` makes the receiver answer after MS milliseconds, as a remote one does.
3. The baseline, in the same run: the same bodies POSTed one per request by a bare keep-alive
   `http.client` loop (what a hand-made client does at best), and the webhook with one connection.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from tracee import Finding, SignatureMetadata
from tracee.api import OutputContext
from tracee.testing import make_event
from tracee_output_webhook.plugin import build_output

META = SignatureMetadata(id="BENCH-1", name="bench", tags=("linux",), properties={"Severity": 3})


def findings(n: int) -> list[Finding]:
    return [Finding({"path": "/etc/shadow", "i": i},
                    make_event("openat", pathname="/etc/shadow", flags=0, context={"process_id": i}), META)
            for i in range(n)]


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    latency = float(os.environ.get("BENCH_WEBHOOK_LATENCY_MS", "0")) / 1000

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.latency:
            time.sleep(self.latency)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def output(url: str, **options):
    return build_output(OutputContext(url, {f"webhook_{k}": v for k, v in options.items()}))


def write_cost(items: list[Finding], fmt: str) -> None:
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(1)  # accepts, never answers: the sender is stuck, the queue only fills
    out = output(f"http://127.0.0.1:{hung.getsockname()[1]}/", template=fmt, queue_size=len(items) + 1,
                 drain_timeout=0, timeout=30)
    start = time.perf_counter()
    for f in items:
        out.write(f)
    elapsed = time.perf_counter() - start
    out.close()
    hung.close()
    print(f"write() {fmt:13s}: {elapsed / len(items) * 1e6:7.1f} µs/finding on the detection thread "
          f"({len(items)} findings)")


class Receiver:
    """The Sink server, in this process or (`process`) in a child of its own."""

    def __init__(self, where: str) -> None:
        self.where = where
        if where == "process":
            self.proc = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
            assert self.proc.stdout is not None
            self.port = int(self.proc.stdout.readline())
        else:
            self.server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
            self.server.daemon_threads = True
            Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
            self.port = self.server.server_address[1]

    def stop(self) -> None:
        if self.where == "process":
            self.proc.terminate()
            self.proc.wait()
        else:
            self.server.shutdown()
            self.server.server_close()


def throughput(items: list[Finding], batch: int, receiver: Receiver, connections: int | None = None) -> float:
    extra = {} if connections is None else {"connections": connections}
    out = output(f"http://127.0.0.1:{receiver.port}/", batch=batch, queue_size=len(items) + 1,
                 drain_timeout=120, **extra)
    start = time.perf_counter()
    for f in items:
        out.write(f)
    out.close()
    elapsed = time.perf_counter() - start
    stats = out.stats()
    rate = stats["webhook_delivered"] / elapsed
    conns = f"{getattr(out.settings, 'connections', 1)} connection(s)"
    print(f"delivery batch={batch:<4d} {conns:16s}: {rate:8.0f} findings/s "
          f"({stats['webhook_delivered']} delivered in {elapsed:.2f}s, failed {stats['webhook_failed']}; "
          f"receiver in a {receiver.where})")
    return rate


def bare_loop(items: list[Finding], receiver: Receiver) -> float:
    """The baseline: one kept-alive http.client connection, one finding per request, in order."""
    from tracee_output_webhook.payloads import select_renderer

    render = select_renderer(None)[1]
    bodies = [render(f).encode() for f in items]
    conn = http.client.HTTPConnection("127.0.0.1", receiver.port)
    start = time.perf_counter()
    for body in bodies:
        conn.request("POST", "/", body, {"Content-Type": "application/json"})
        conn.getresponse().read()
    elapsed = time.perf_counter() - start
    conn.close()
    rate = len(bodies) / elapsed
    print(f"baseline: bare http.client loop   : {rate:8.0f} findings/s (one per request, pre-rendered)")
    return rate


def serve() -> None:
    """The receiver of `--receiver process`: prints its port, answers until terminated."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    server.serve_forever(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--receiver", choices=("thread", "process"), default="thread")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS",
                        help="the receiver answers each request after MS milliseconds (a remote receiver)")
    parser.add_argument("--connections", type=int, default=2, metavar="N",
                        help="the second one-per-request run uses N connections (--webhook-connections)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    os.environ["BENCH_WEBHOOK_LATENCY_MS"] = str(args.latency)
    Sink.latency = args.latency / 1000
    items = findings(args.findings)
    for fmt in ("rawjson", "falcosidekick"):
        write_cost(items, fmt)
    receiver = Receiver(args.receiver)
    try:
        base = bare_loop(items, receiver)
        one = throughput(items, 1, receiver, connections=1)
        parallel = throughput(items, 1, receiver, connections=args.connections)
        throughput(items, args.batch, receiver)
    finally:
        receiver.stop()
    print(f"ratios to the bare loop: webhook 1 connection {one / base:.2f}x, "
          f"{args.connections} connections {parallel / base:.2f}x "
          f"(receiver latency {args.latency:g} ms)")


if __name__ == "__main__":
    main()
