"""The HTTP endpoint of a long-running command: `/metrics` (Prometheus) and `/healthz`.

Any command gets it with its options and one call (`tracee run`, `tracee-rules`, `tracee trace`):

    command.params.extend(server.server_options("127.0.0.1:3366"))
    service = server.start(options, command="tracee trace")   # None without --metrics/--healthz
    if service:
        service.watch_input("ebpf", source)                  # what /healthz and /metrics read
    ...
    if service:
        service.close()

It listens on loopback unless `--listen-remote` says otherwise: the endpoints have no
authentication, and the counters tell an attacker what the detector sees and misses.
"""

from __future__ import annotations

import ipaddress
import logging
import signal
import socket
import socketserver
import threading
from typing import Any, Callable, Iterable, Mapping
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

import click

from .errors import FatalError, UsageError
from .health import Health
from .metrics import RuleTimings, RunMetrics, registry_for

__all__ = ["DEFAULT_ADDR", "Service", "parse_listen_addr", "server_options", "start"]

log = logging.getLogger("tracee.server")

DEFAULT_ADDR = "127.0.0.1:3366"  # Tracee's port; loopback, as recent Tracee releases default to


def server_options(default_addr: str = DEFAULT_ADDR, *, addr_aliases: Iterable[str] = (),
                   stuck_after: bool = True) -> list[click.Option]:
    """`--metrics --healthz --listen-addr --listen-remote` and, for a command with an engine,
    `--stuck-after`; new objects each call."""
    options = [
        click.Option(["--metrics", "metrics"], is_flag=True,
                     help="Serve Prometheus metrics on http://LISTEN-ADDR/metrics."),
        click.Option(["--healthz", "healthz"], is_flag=True,
                     help="Serve http://LISTEN-ADDR/healthz: 200 while the input is alive and events "
                          "flow (or it waits for them), 503 when it died or the pipeline is stuck."),
        click.Option(["--listen-addr", *addr_aliases, "listen_addr"], default=default_addr, show_default=True,
                     metavar="HOST:PORT", help="Address of /metrics and /healthz (port 0: any free port)."),
        click.Option(["--listen-remote", "listen_remote"], is_flag=True,
                     help="Allow a --listen-addr that is not loopback (the endpoints have no authentication)."),
        click.Option(["--stuck-after", "stuck_after"], type=click.FloatRange(min=0.1), default=30.0,
                     show_default=True, metavar="SECONDS",
                     help="/healthz says 503 when one event has been in the engine this long."),
    ]
    return options if stuck_after else options[:-1]


def parse_listen_addr(text: str, *, allow_remote: bool = False) -> tuple[str, int]:
    """`HOST:PORT`, `[IPV6]:PORT` or `:PORT` (every interface) → (host, port). A host that is not
    loopback is refused unless `allow_remote`."""
    host, sep, port_text = text.rpartition(":")
    if not sep:
        raise UsageError(f"--listen-addr {text}: expected HOST:PORT, such as 127.0.0.1:3366")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise UsageError(f"--listen-addr {text}: {port_text!r} is not a port number") from None
    if not allow_remote and not _is_loopback(host, text):
        where = "every interface" if host in ("", "0.0.0.0", "::") else f"{host}, which is not a loopback address"
        raise UsageError(f"--listen-addr {text} listens on {where}: /metrics and /healthz have no "
                         f"authentication; add --listen-remote to allow it, or use 127.0.0.1:{port}")
    return host, port


def _is_loopback(host: str, text: str) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError as exc:
        raise UsageError(f"--listen-addr {text}: cannot resolve {host}: {exc.strerror or exc}") from None
    return bool(infos) and all(ipaddress.ip_address(info[4][0].split("%")[0]).is_loopback for info in infos)


class _Quiet(WSGIRequestHandler):
    timeout = 10  # a client that connects and sends nothing holds a thread this long, no longer

    def log_message(self, *args: Any) -> None:
        pass  # one line per scrape would bury the detector's own messages


class _HTTPServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn), which can take seconds.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])
        self.setup_environ()


class Service:
    """The running endpoint and what it reports: `metrics` (a `RunMetrics`), `health` (a `Health`)."""

    def __init__(self, metrics: RunMetrics, health: Health, *, serve_metrics: bool, serve_health: bool,
                 host: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.serve_metrics = serve_metrics
        self.serve_health = serve_health
        metrics.sources.append(health.metrics)
        metrics_app = None
        if serve_metrics:
            from prometheus_client import make_wsgi_app

            metrics_app = make_wsgi_app(registry_for(metrics))
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        server_cls = type("_Server", (_HTTPServer,), {"address_family": family})
        try:
            self._httpd = server_cls((host or "0.0.0.0", port), _Quiet)
        except OSError as exc:
            raise FatalError(f"--listen-addr {_join(host, port)}: {exc.strerror or exc}") from None
        self._httpd.set_app(_app(metrics_app, health if serve_health else None))
        self.host, self.port = host or "0.0.0.0", int(self._httpd.server_address[1])
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.5},
                                        name="tracee http", daemon=True)
        self._thread.start()
        paths = " and ".join(p for p, on in (("/metrics", serve_metrics), ("/healthz", serve_health)) if on)
        log.info(f"serving {paths} on http://{_join(self.host, self.port)}")

    @property
    def url(self) -> str:
        return f"http://{_join(self.host, self.port)}"

    # -- what a command tells it --------------------------------------------------------------------
    def watch_input(self, name: str, source: Any, *, busy_codes: tuple[Any, ...] = ()) -> None:
        """`source` (an `Input`) is started and read by the calling thread; `busy_codes`: see
        `Health.watch`."""
        self.metrics.input = (name, source)
        self.health.watch(source, busy_codes=busy_codes)

    def watch_run(self, engine: Any, outputs: Iterable[tuple[str, Any]], enrichers: Iterable[Any],
                  counter: Any = None) -> None:
        """The engine, outputs and enrichers of `tracee run` (rule timing is switched on here)."""
        self.metrics.engine = engine
        self.metrics.outputs = list(outputs)
        self.metrics.enrichers = list(enrichers)
        self.metrics.counter = counter
        if self.serve_metrics:
            engine.time_rules(RuleTimings())

    def input_ended(self, why: str) -> None:
        self.health.ended(why)

    def wait_for_stop(self, why: str) -> int:
        """Keep answering (503 on /healthz, the final counters on /metrics) until SIGINT or SIGTERM;
        returns 128 + the signal's number. Call from the main thread."""
        got: list[int] = []
        done = threading.Event()

        def stop(signum: int, _frame: Any) -> None:
            got.append(signum)
            done.set()

        previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
        log.warning(f"{why}; /healthz answers 503 until tracee is stopped (SIGTERM or Ctrl-C)")
        try:
            while not done.wait(1.0):
                pass
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
        return 128 + got[0]

    def close(self) -> None:
        self.health.close()
        self._httpd.shutdown()
        self._httpd.server_close()


def start(options: Mapping[str, Any], *, command: str, default_addr: str = DEFAULT_ADDR) -> Service | None:
    """The endpoint the options of `server_options()` ask for, started; None when they ask for none."""
    serve_metrics, serve_health = bool(options.get("metrics")), bool(options.get("healthz"))
    if not (serve_metrics or serve_health):
        return None
    addr = options.get("listen_addr") or default_addr
    host, port = parse_listen_addr(addr, allow_remote=bool(options.get("listen_remote")))
    health = Health(stuck_after=float(options.get("stuck_after") or 30.0))
    return Service(RunMetrics(command), health, serve_metrics=serve_metrics, serve_health=serve_health,
                   host=host, port=port)


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _app(metrics_app: Callable[..., Any] | None, health: Health | None) -> Callable[..., Any]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == "/metrics" and metrics_app is not None:
            return metrics_app(environ, start_response)
        if path == "/healthz" and health is not None:
            ok, why = health.check()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8"), ("Cache-Control", "no-store")])
            return [f"{why}\n".encode()]
        served = [p for p, on in (("/metrics", metrics_app), ("/healthz", health)) if on is not None]
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
        return [f"not found; this endpoint serves {' and '.join(served)}\n".encode()]
    return app
