#!/usr/bin/env python3
"""Webhook output benchmark: what a finding costs the detection thread, and delivery throughput.

    python benchmarks/bench_webhook.py [--findings 5000] [--batch 50] [--receiver thread|process]
                                       [--latency MS] [--connections N]
                                       [--baseline-path DIR [--rounds 5] [--compare-only]]

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
4. `--baseline-path DIR`: another version of the webhook output (DIR holds its tracee_output_webhook
   package, e.g. `git archive b491cfb plugins/tracee-output-webhook | tar -x -C /tmp/old`, then
   DIR=/tmp/old/plugins/tracee-output-webhook/src) against this one, in the same run: --rounds
   pairs of delivery runs (one finding per request, one connection), each in a fresh process of
   its own with its own receiver, alternating which goes first; medians and their ratio.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
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


def delivery_run(args: argparse.Namespace, baseline: str | None) -> float:
    """One `--one-run` child: the webhook from `baseline` (a source dir) or this tree's; its rate."""
    env = dict(os.environ)
    if baseline is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (baseline, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, __file__, "--one-run", "--findings", str(args.findings), "--receiver", args.receiver,
           "--latency", str(args.latency)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = done.stdout.split()
    if done.returncode != 0 or len(lines) != 2:
        last = (done.stderr.strip().splitlines() or [done.stdout.strip()])[-1]
        sys.exit(f"bench_webhook: the {'baseline' if baseline else 'current'} run failed "
                 f"(exit {done.returncode}): {last}")
    module, rate = lines
    if baseline is not None and not os.path.realpath(module).startswith(os.path.realpath(baseline) + os.sep):
        sys.exit(f"bench_webhook: --baseline-path {baseline}: the run imported {module} instead")
    return float(rate)


def compare(args: argparse.Namespace) -> None:
    """Baseline vs this tree, interleaved, each run in a fresh process with a receiver of its own."""
    rates: dict[str, list[float]] = {"baseline": [], "current": []}
    for n in range(args.rounds):
        order = ("baseline", "current") if n % 2 == 0 else ("current", "baseline")
        for side in order:
            rates[side].append(delivery_run(args, args.baseline_path if side == "baseline" else None))
        print(f"round {n + 1}/{args.rounds}: baseline {rates['baseline'][-1]:6.0f} findings/s, "
              f"current {rates['current'][-1]:6.0f} findings/s ({rates['current'][-1] / rates['baseline'][-1]:.2f}x)",
              flush=True)
    base, cur = statistics.median(rates["baseline"]), statistics.median(rates["current"])
    print(f"current vs baseline ({args.baseline_path}), one finding per request, 1 connection, receiver in a "
          f"{args.receiver}, latency {args.latency:g} ms, {args.findings} findings, median of {args.rounds}: "
          f"{cur:.0f} vs {base:.0f} findings/s = {cur / base:.2f}x "
          f"(range {min(rates['current']):.0f}-{max(rates['current']):.0f} vs "
          f"{min(rates['baseline']):.0f}-{max(rates['baseline']):.0f})")


def one_run(args: argparse.Namespace) -> None:
    """The child of `compare`: prints the module it measured and its delivery rate, nothing else."""
    import contextlib

    import tracee_output_webhook.sender as sender

    items = findings(args.findings)
    receiver = Receiver(args.receiver)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            rate = throughput(items, 1, receiver, connections=1)
    finally:
        receiver.stop()
    print(sender.__file__, rate)


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
    parser.add_argument("--baseline-path", metavar="DIR",
                        help="also compare, in this run, with the webhook output whose package is in DIR")
    parser.add_argument("--rounds", type=int, default=5, metavar="N", help="pairs of runs for --baseline-path")
    parser.add_argument("--compare-only", action="store_true", help="with --baseline-path: only the comparison")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    os.environ["BENCH_WEBHOOK_LATENCY_MS"] = str(args.latency)
    Sink.latency = args.latency / 1000
    if args.one_run:
        return one_run(args)
    if args.baseline_path and not os.path.isdir(os.path.join(args.baseline_path, "tracee_output_webhook")):
        parser.error(f"--baseline-path {args.baseline_path}: no tracee_output_webhook package in it")
    if args.baseline_path and args.compare_only:
        return compare(args)
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
    if args.baseline_path:
        compare(args)


if __name__ == "__main__":
    main()
