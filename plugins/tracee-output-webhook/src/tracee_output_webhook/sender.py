"""Delivery: a bounded queue in front of sender threads that POST, retry with backoff and count.

HTTP is urllib3's: its connection pool keeps the connection alive (and notices one the server
closed while idle), tunnels HTTPS through a proxy with CONNECT, verifies TLS; its `Retry` policy
decides what is retried (connection errors, timeouts, 5xx, 408, 425, 429), the exponential
backoff with jitter and the Retry-After header (seconds or an HTTP date). This module keeps what
is particular to findings: the attempt loop runs here, not inside urllib3, so each attempt's
timeout and each backoff are cut short by the drain deadline at exit, and every attempt is
counted. Proxies come from HTTP(S)_PROXY/NO_PROXY, read with urllib's own parsing of them, as
curl and requests honour them.
"""

from __future__ import annotations

import base64
import collections
import logging
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import urllib3
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.exceptions import HTTPError, MaxRetryError, ProxyError, SSLError, TimeoutError as Urllib3Timeout
from urllib3.util.retry import Retry

from tracee import Finding
from tracee.log import limit
from tracee.metrics import Metric
from tracee.redact import redact_url as redact  # one redaction for the whole program

__all__ = ["Endpoint", "Settings", "WebhookOutput"]

# Status codes worth another attempt: the server is failing or asks us to slow down.
_RETRY_STATUS = frozenset(range(500, 600)) | {408, 425, 429}
_MAX_BACKOFF = 30.0
_MAX_RETRY_AFTER = 60.0  # a receiver asking for an hour would stall every finding behind it
_MAX_REPLY = 65536       # bytes of a reply read; a longer one is not kept-alive
_REPORT_EVERY = 10.0  # seconds between two complaints of the same kind on stderr


@dataclass
class Settings:
    """Everything one webhook output needs, resolved from CLI options and the URL fragment."""

    url: str
    render: Callable[[Finding], str]
    format: str = "rawjson"
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 5.0
    queue_size: int = 1000
    retries: int = 5
    backoff: float = 0.5
    drain_timeout: float = 10.0
    batch: int = 1
    # Sender threads, each with its own kept-alive connection: while one waits for the receiver's
    # answer the next request is already on its way (with one, every finding waits a round trip).
    # Findings of different connections may arrive out of order; one (the default) keeps the order.
    connections: int = 1


class _Outcome:
    OK, RETRY, PERMANENT = "ok", "retry", "permanent"


# urllib3 makes no attempt of its own: the loop in `WebhookOutput._deliver` does (see the top).
_NO_RETRY = Retry(total=False, redirect=False)


def retry_policy(retries: int, backoff: float) -> Retry:
    """urllib3's policy for one finding (or batch): POST is retried too, since a finding sent twice
    is better than a finding lost; redirects are not followed (a webhook that moved is an error)."""
    return Retry(total=retries, connect=None, read=None, status=None, other=None, redirect=0,
                 allowed_methods=None, status_forcelist=_RETRY_STATUS, backoff_factor=backoff,
                 backoff_max=_MAX_BACKOFF, backoff_jitter=backoff, respect_retry_after_header=True,
                 raise_on_redirect=False, raise_on_status=False)


class _OneWrite:
    """urllib3's connection, writing each request (head and body) with one send instead of two.

    http.client sends the head, then the body: two TCP segments, so the receiver wakes and reads
    twice per finding (bench_webhook --baseline-path: +8% one per request on loopback, 40-60 µs
    less CPU per request here). Only the writes are joined; urllib3 and http.client still build
    the request and read the response."""

    _held: list[bytes] | None = None

    def request(self, *args: Any, **kwargs: Any) -> None:
        self._held = []
        try:
            super().request(*args, **kwargs)  # type: ignore[misc]
            data = b"".join(self._held)
        finally:
            self._held = None
        if data:
            super().send(data)  # type: ignore[misc]

    def send(self, data: Any) -> None:
        if self._held is None:
            super().send(data)  # type: ignore[misc]
        elif isinstance(data, bytes):
            self._held.append(data)
        else:  # a stream: what is held goes first, then the stream as http.client sends it
            held, self._held = b"".join(self._held), []
            if held:
                super().send(held)  # type: ignore[misc]
            super().send(data)  # type: ignore[misc]


class _OneWriteHTTP(_OneWrite, HTTPConnection):
    pass


class _OneWriteHTTPS(_OneWrite, HTTPSConnection):
    pass


class Endpoint:
    """One URL: urllib3's pool for it (through a proxy when the environment says so) and POST."""

    def __init__(self, url: str, headers: dict[str, str], connections: int = 1) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook URL {redact(url)!r}: expected http://HOST[:PORT]/PATH or https://...")
        try:
            self.port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ValueError(f"webhook URL {redact(url)!r}: bad port") from None
        self.scheme, self.host = parts.scheme, parts.hostname
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{self.scheme}://{host}:{self.port}{self.path}"  # no credentials, no fragment
        self.headers = dict(headers)
        if parts.username is not None:  # http://user:pass@host/ → Basic auth, as curl does
            creds = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.headers.setdefault("Authorization", "Basic " + base64.b64encode(creds.encode()).decode())
        self.proxy = self._proxy_for()
        # One connection per sender thread, kept alive between findings.
        if self.proxy is not None:
            auth = None
            if self.proxy.username is not None:
                auth = f"{urllib.parse.unquote(self.proxy.username)}:{urllib.parse.unquote(self.proxy.password or '')}"
            proxy_host = f"[{self.proxy.hostname}]" if ":" in (self.proxy.hostname or "") else self.proxy.hostname
            proxy_url = f"{self.proxy.scheme}://{proxy_host}:{self.proxy.port or 8080}"
            self.manager: urllib3.PoolManager = urllib3.ProxyManager(
                proxy_url, num_pools=1, maxsize=connections,
                proxy_headers=urllib3.make_headers(proxy_basic_auth=auth) if auth else None)
        else:
            self.manager = urllib3.PoolManager(num_pools=1, maxsize=connections)
        # Plain HTTP through a proxy needs the manager (absolute URL, proxy headers) per request;
        # otherwise the pool of this one host (direct, or tunnelled) takes the path as it is.
        self._via_manager = self.proxy is not None and self.scheme == "http"
        self._pool = self.manager.connection_from_url(self.url)
        self._pool.ConnectionCls = _OneWriteHTTPS if self._pool.scheme == "https" else _OneWriteHTTP
        self._timeouts: dict[float, urllib3.Timeout] = {}

    def _proxy_for(self) -> urllib.parse.SplitResult | None:
        proxies = urllib.request.getproxies_environment()
        proxy = proxies.get(self.scheme)
        if not proxy or urllib.request.proxy_bypass_environment(self.host, proxies):
            return None
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return parts if parts.hostname and parts.scheme in ("http", "https") else None

    @property
    def conn(self) -> Any:
        """The idle kept-alive connection of the pool, if there is one (tests close it under us)."""
        pool = self._pool
        idle = [c for c in list(pool.pool.queue) if c is not None] if pool.pool is not None else []
        return idle[-1] if idle else None

    def close(self) -> None:
        self.manager.clear()

    def post(self, body: bytes, timeout: float) -> tuple[str, str, Any]:
        """(outcome, detail, what urllib3's Retry needs: the response or the error)."""
        limit = self._timeouts.get(timeout)
        if limit is None:
            if len(self._timeouts) > 64:  # drain-time timeouts are all different
                self._timeouts.clear()
            limit = self._timeouts[timeout] = urllib3.Timeout(connect=timeout, read=timeout)
        try:
            if self._via_manager:
                resp = self.manager.urlopen("POST", self.url, body=body, headers=self.headers, retries=False,
                                            redirect=False, preload_content=False, timeout=limit)
            else:
                resp = self._pool.urlopen("POST", self.path, body=body, headers=self.headers, retries=_NO_RETRY,
                                          redirect=False, preload_content=False, timeout=limit,
                                          assert_same_host=False)
        except SSLError as exc:
            if _cert_problem(exc):
                return _Outcome.PERMANENT, f"TLS: {_cert_problem(exc)}", exc
            return _Outcome.RETRY, f"TLS: {_describe(exc)}", exc
        except (HTTPError, OSError) as exc:
            return _Outcome.RETRY, _describe(exc), exc
        try:
            text = resp.read(_MAX_REPLY)
            if resp.length_remaining != 0 and not (resp.length_remaining is None and resp.read(1) == b""):
                resp.close()  # more than we read: do not reuse a connection with a reply pending
        except (HTTPError, OSError):
            resp.close()
            text = b""
        finally:
            resp.release_conn()
        status = resp.status
        if 200 <= status < 300:
            return _Outcome.OK, str(status), resp
        detail = f"HTTP {status} {resp.reason or ''}".rstrip()
        snippet = text[:200].decode("utf-8", "replace").strip()
        if snippet:
            detail += f": {snippet}"
        if status in _RETRY_STATUS:
            return _Outcome.RETRY, detail, resp
        return _Outcome.PERMANENT, detail, resp


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        nested = [a for a in getattr(exc, "args", ()) if isinstance(a, BaseException)]
        exc = exc.__cause__ or exc.__context__ or getattr(exc, "reason", None) or (nested[0] if nested else None)


def _cert_problem(exc: BaseException) -> str | None:
    for e in _causes(exc):
        if isinstance(e, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {e.verify_message or e}"
    return None


def _describe(exc: BaseException) -> str:
    """A short reason: "connection refused", "timed out", "connection closed without a response"."""
    prefix = "proxy: " if any(isinstance(e, ProxyError) for e in _causes(exc)) else ""
    chain = list(_causes(exc))
    for e in chain:  # the OS's reason first: urllib3's NewConnectionError is also a "timeout" class
        if isinstance(e, ConnectionRefusedError):
            return prefix + "connection refused"
        if isinstance(e, ConnectionResetError):
            return prefix + "connection reset by the server"
        if type(e).__name__ == "RemoteDisconnected":
            return prefix + "connection closed without a response"
    if any(isinstance(e, (TimeoutError, Urllib3Timeout)) and "Failed to establish" not in str(e) for e in chain):
        return prefix + "timed out"
    for e in chain:
        if isinstance(e, OSError) and e.strerror:
            return prefix + e.strerror
    return prefix + (str(exc) or type(exc).__name__)


class WebhookOutput:
    """The `webhook:URL` output. `write` renders and enqueues (never waits on the network);
    daemon threads send. Every finding ends in exactly one counter: delivered, failed (rejected,
    or retries exhausted), dropped (queue full) or unsent (still queued when the drain time ran out).
    """

    def __init__(self, settings: Settings, log: logging.Logger = logging.getLogger("tracee.output.webhook")) -> None:
        self.settings = settings
        self.log = log
        self.name = redact(settings.url)
        headers = {"Content-Type": settings.content_type, "User-Agent": f"tracee-output-webhook/{_version()}"}
        headers.update(settings.headers)
        self.endpoint = Endpoint(settings.url, headers, settings.connections)
        self.counts: dict[str, int] = dict.fromkeys(
            ("delivered", "failed", "dropped", "unsent", "retries"), 0)
        self._queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self._cond = threading.Condition()
        self._inflight = 0
        self._closing = threading.Event()
        self._deadline: float | None = None
        self._abandoned = False
        self._closed = False
        self._interrupted = False
        self._threads = [threading.Thread(target=self._run, name=f"webhook {self.name} #{i}", daemon=True)
                         for i in range(max(1, settings.connections))]
        for thread in self._threads:
            thread.start()

    # -- the detection side ------------------------------------------------------------------------
    def write(self, finding: Finding) -> None:
        try:
            body = self.settings.render(finding).encode("utf-8")
        except Exception as exc:  # noqa: BLE001 - a template error must not stop detection
            self._count("failed", 1)
            self.complain("render", f"cannot render finding {finding.metadata.id} with the "
                                    f"{self.settings.format} format: {type(exc).__name__}: {exc}")
            return
        with self._cond:
            if self._closed or len(self._queue) >= self.settings.queue_size:
                self.counts["dropped"] += 1
                full = not self._closed
            else:
                self._queue.append((finding.metadata.id, body))
                self._cond.notify()
                return
        if full:
            self.complain("dropped", f"queue full ({self.settings.queue_size} findings waiting): "
                                     f"finding {finding.metadata.id} dropped")
        else:
            self.complain("dropped", f"finding {finding.metadata.id} arrived after close: dropped")

    def stats(self) -> dict[str, int]:
        with self._cond:
            return {f"webhook_{k}": v for k, v in self.counts.items()}

    def metrics(self) -> Iterator[Metric]:
        """/metrics: the same counters and the queue, labelled by endpoint (scheme, host and port
        only: a webhook URL's path often holds its secret, as Slack's do)."""
        with self._cond:
            counts, depth = dict(self.counts), len(self._queue) + self._inflight
        endpoint = {"endpoint": f"{self.endpoint.scheme}://{self.endpoint.url.split('/')[2]}"}
        for outcome in ("delivered", "failed", "dropped", "unsent"):
            yield Metric("tracee_webhook_findings_total", counts[outcome], labels={**endpoint, "outcome": outcome},
                         help="Findings given to a webhook, by outcome: delivered, failed (rejected or retries "
                              "exhausted), dropped (queue full), unsent (left at exit)")
        yield Metric("tracee_webhook_retries_total", counts["retries"], labels=endpoint,
                     help="Webhook attempts that were retried (errors, timeouts, 5xx, 408, 425, 429)")
        yield Metric("tracee_webhook_queue_depth", depth, "gauge", labels=endpoint,
                     help="Findings waiting for (or in) delivery")
        yield Metric("tracee_webhook_queue_capacity", self.settings.queue_size, "gauge", labels=endpoint,
                     help="Findings the queue holds before new ones are dropped")

    def close(self) -> None:
        """Drain within the drain time limit; what is left then is counted as unsent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            if not self._interrupted:
                self._deadline = time.monotonic() + self.settings.drain_timeout
            self._closing.set()
            self._cond.notify_all()
        end = time.monotonic() + self.settings.drain_timeout + 1.0
        while self._alive() and time.monotonic() < end:
            self._join(0.1)
            if self._interrupted:  # a request in flight may take its whole timeout: do not wait
                self._join(0.2)
                break
        with self._cond:
            if self._alive():  # stuck in a call that ignores its timeout (DNS...)
                self._abandoned = True
                self.counts["unsent"] += self._inflight + len(self._queue)
                self._queue.clear()
                self._inflight = 0
            lost = self.counts["failed"] + self.counts["dropped"] + self.counts["unsent"]
            c = dict(self.counts)
        self.endpoint.close()
        if lost:
            self.log.error(
                f"webhook {self.name}: {lost} finding(s) not delivered: {c['failed']} failed, "
                f"{c['dropped']} dropped (queue full), {c['unsent']} unsent at exit; {c['delivered']} delivered")

    def _alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def _join(self, timeout: float) -> None:
        end = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, end - time.monotonic()))

    def interrupt(self) -> None:
        """Stop draining now (a second SIGINT/SIGTERM): what is still queued or in flight is
        counted as unsent by close(). Safe from a signal handler."""
        self._interrupted = True
        self._deadline = time.monotonic()
        self._closing.set()

    def complain(self, kind: str, message: str) -> None:
        """A delivery problem: the first of a kind at once, then at most one line per interval that
        says how many more happened, so a dead endpoint cannot flood stderr (all are counted)."""
        self.log.error(f"webhook {self.name}: {message}",
                       extra=limit(f"webhook:{id(self)}:{kind}", None, every=_REPORT_EVERY))

    # -- the sender thread -------------------------------------------------------------------------
    def _count(self, key: str, n: int) -> None:
        with self._cond:
            if not self._abandoned:
                self.counts[key] += n

    def _settle(self, key: str, n: int) -> None:
        """Count the in-flight batch's outcome, in the same step that takes it off `_inflight`, so
        close() abandoning the thread can never count it twice."""
        with self._cond:
            if not self._abandoned:
                self.counts[key] += n
                self._inflight -= n

    def _remaining(self) -> float | None:
        return None if self._deadline is None else self._deadline - time.monotonic()

    def _run(self) -> None:
        batch: list[tuple[str, bytes]] = []  # taken off the queue, not yet settled
        try:
            while True:
                batch = []
                with self._cond:
                    while not self._queue and not self._closing.is_set():
                        self._cond.wait()
                    if not self._queue or self._abandoned:
                        return
                    remaining = self._remaining()
                    if remaining is not None and remaining <= 0:
                        self.counts["unsent"] += len(self._queue)
                        self._queue.clear()
                        return
                    batch = [self._queue.popleft()]
                    while self._queue and len(batch) < self.settings.batch:
                        batch.append(self._queue.popleft())
                    self._inflight += len(batch)
                self._deliver(batch)
        except Exception as exc:  # noqa: BLE001 - say so rather than lose findings without a word
            if self._abandoned:  # close() already counted what was left and closed the socket under us
                return
            self.log.error(f"webhook {self.name}: sender crashed: {type(exc).__name__}: {exc}")
            with self._cond:  # this sender's batch and the queue: the others stop once it is empty
                unsettled = min(len(batch), self._inflight)
                self.counts["unsent"] += unsettled + len(self._queue)
                self._queue.clear()
                self._inflight -= unsettled

    def _body(self, batch: list[tuple[str, bytes]]) -> bytes:
        if self.settings.batch > 1:  # a JSON array, even of one, so the receiver sees one shape
            return b"[" + b",".join(body for _, body in batch) + b"]"
        return batch[0][1]

    def _deliver(self, batch: list[tuple[str, bytes]]) -> None:
        body, n = self._body(batch), len(batch)
        what = batch[0][0] if n == 1 else f"batch of {n} findings"
        retry: Retry | None = None  # made at the first failure: most findings need none
        attempt = 0
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                self._settle("unsent", n)
                return
            timeout = self.settings.timeout if remaining is None else max(min(self.settings.timeout, remaining), 0.05)
            outcome, detail, result = self.endpoint.post(body, timeout)
            if outcome == _Outcome.OK:
                self._settle("delivered", n)
                return
            if outcome == _Outcome.PERMANENT:
                self._settle("failed", n)
                self.complain("rejected", f"{what} rejected: {detail}")
                return
            response = None if isinstance(result, BaseException) else result
            if retry is None:
                retry = retry_policy(self.settings.retries, self.settings.backoff)
            try:
                retry = retry.increment("POST", self.endpoint.url, response=response,
                                        error=result if response is None else None)
            except (MaxRetryError, HTTPError, OSError):
                self._settle("failed", n)
                self.complain("failed", f"{what} not delivered after {attempt + 1} attempt(s): {detail}")
                return
            delay = retry.get_retry_after(response) if response is not None else None
            delay = retry.get_backoff_time() if delay is None else min(delay, _MAX_RETRY_AFTER)
            attempt += 1
            self._count("retries", 1)
            self._sleep(delay)

    def _sleep(self, delay: float) -> None:
        """Sleep `delay`, but no later than the drain deadline once close() has begun."""
        end = time.monotonic() + delay
        while True:
            left = end - time.monotonic()
            remaining = self._remaining()
            if remaining is not None:
                left = min(left, remaining)
            if left <= 0:
                return
            if self._closing.is_set():
                time.sleep(left)
                return
            self._closing.wait(left)  # wakes early when close() sets the deadline


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("tracee-output-webhook")
    except Exception:  # noqa: BLE001 - running from a source tree
        return "0"
