"""Delivery: a bounded queue in front of one sender thread that POSTs, retries with backoff and counts.

HTTP is the standard library's http.client, by choice: one keep-alive connection per sender
thread, per-attempt timeouts that a shutdown deadline can shorten, and no extra dependency to
vet on production nodes. urllib would open a new connection for every finding; requests/urllib3
add little for a single POST to a single host. Proxies from HTTP(S)_PROXY/NO_PROXY are honoured
like curl and requests do, through urllib's own parsing of those variables.
"""

from __future__ import annotations

import base64
import collections
import http.client
import logging
import random
import ssl
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Callable

from tracee import Finding
from tracee.log import limit

__all__ = ["Endpoint", "Settings", "WebhookOutput"]

# Status codes worth another attempt: the server is failing or asks us to slow down.
_RETRY_STATUS = frozenset({408, 425, 429})
_MAX_BACKOFF = 30.0
_MAX_RETRY_AFTER = 60.0
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


class _Outcome:
    OK, RETRY, PERMANENT = "ok", "retry", "permanent"


class Endpoint:
    """One URL: a reusable connection (through a proxy when the environment says so) and POST."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"webhook URL {redact(url)!r}: expected http://HOST[:PORT]/PATH or https://...")
        try:
            self.port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ValueError(f"webhook URL {redact(url)!r}: bad port") from None
        self.scheme, self.host = parts.scheme, parts.hostname
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.headers = dict(headers)
        if parts.username is not None:  # http://user:pass@host/ → Basic auth, as curl does
            creds = f"{urllib.parse.unquote(parts.username)}:{urllib.parse.unquote(parts.password or '')}"
            self.headers.setdefault("Authorization", "Basic " + base64.b64encode(creds.encode()).decode())
        self.proxy = self._proxy_for()
        self.conn: http.client.HTTPConnection | None = None
        self.reused = False

    def _proxy_for(self) -> urllib.parse.SplitResult | None:
        proxies = urllib.request.getproxies_environment()
        proxy = proxies.get(self.scheme)
        if not proxy or urllib.request.proxy_bypass_environment(self.host, proxies):
            return None
        parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return parts if parts.hostname else None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        target_host, target_port = self.host, self.port
        if self.proxy is not None:
            target_host, target_port = self.proxy.hostname, self.proxy.port or 8080  # type: ignore[assignment]
        if self.scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                target_host, target_port, timeout=timeout, context=ssl.create_default_context())
            if self.proxy is not None:
                conn.set_tunnel(self.host, self.port, headers=self._proxy_auth())
        else:
            conn = http.client.HTTPConnection(target_host, target_port, timeout=timeout)
        return conn

    def _proxy_auth(self) -> dict[str, str]:
        if self.proxy is None or self.proxy.username is None:
            return {}
        creds = f"{urllib.parse.unquote(self.proxy.username)}:{urllib.parse.unquote(self.proxy.password or '')}"
        return {"Proxy-Authorization": "Basic " + base64.b64encode(creds.encode()).decode()}

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def post(self, body: bytes, timeout: float) -> tuple[str, str, float | None]:
        """(outcome, detail, Retry-After seconds). A kept-alive connection the server closed while
        idle fails on reuse before the server reads anything; that is retried at once, uncounted."""
        for _ in range(2):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = self._connect(timeout)
            elif self.conn.sock is not None:
                self.conn.sock.settimeout(timeout)
            try:
                return self._exchange(body)
            except ssl.SSLCertVerificationError as exc:
                self.close()
                return _Outcome.PERMANENT, f"TLS: {exc.verify_message or exc}", None
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self.close()
                if not reused:
                    return _Outcome.RETRY, _describe(exc), None
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                return _Outcome.RETRY, _describe(exc), None
        return _Outcome.RETRY, "connection closed by the server", None

    def _exchange(self, body: bytes) -> tuple[str, str, float | None]:
        assert self.conn is not None
        path = self.path
        headers = dict(self.headers)
        if self.proxy is not None and self.scheme == "http":
            path = f"http://{self.host}:{self.port}{self.path}"  # a plain-HTTP proxy wants the full URL
            headers.update(self._proxy_auth())
        self.conn.request("POST", path, body=body, headers=headers)
        resp = self.conn.getresponse()
        text = resp.read(65536)
        if resp.will_close or not resp.isclosed():  # unread rest or Connection: close: start afresh
            self.close()
        status = resp.status
        if 200 <= status < 300:
            return _Outcome.OK, str(status), None
        detail = f"HTTP {status} {resp.reason}".rstrip()
        snippet = text[:200].decode("utf-8", "replace").strip()
        if snippet:
            detail += f": {snippet}"
        if status >= 500 or status in _RETRY_STATUS:
            return _Outcome.RETRY, detail, _retry_after(resp.getheader("Retry-After"))
        return _Outcome.PERMANENT, detail, None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, http.client.RemoteDisconnected):
        return "connection closed without a response"
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return min(max(float(value), 0.0), _MAX_RETRY_AFTER)
    except ValueError:
        return None  # an HTTP date: rare from webhook receivers; our own backoff applies


def redact(url: str) -> str:
    """The URL without credentials, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, "***@" + netloc, parts.path, parts.query, ""))


class WebhookOutput:
    """The `webhook:URL` output. `write` renders and enqueues (never waits on the network); a
    daemon thread sends. Every finding ends in exactly one counter: delivered, failed (rejected,
    or retries exhausted), dropped (queue full) or unsent (still queued when the drain time ran out).
    """

    def __init__(self, settings: Settings, log: logging.Logger = logging.getLogger("tracee.output.webhook")) -> None:
        self.settings = settings
        self.log = log
        self.name = redact(settings.url)
        headers = {"Content-Type": settings.content_type, "User-Agent": f"tracee-output-webhook/{_version()}"}
        headers.update(settings.headers)
        self.endpoint = Endpoint(settings.url, headers)
        self.counts: dict[str, int] = dict.fromkeys(
            ("delivered", "failed", "dropped", "unsent", "retries"), 0)
        self._queue: collections.deque[tuple[str, bytes]] = collections.deque()
        self._cond = threading.Condition()
        self._inflight = 0
        self._closing = threading.Event()
        self._deadline: float | None = None
        self._abandoned = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=f"webhook {self.name}", daemon=True)
        self._thread.start()

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

    def close(self) -> None:
        """Drain within the drain time limit; what is left then is counted as unsent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._deadline = time.monotonic() + self.settings.drain_timeout
            self._closing.set()
            self._cond.notify_all()
        self._thread.join(self.settings.drain_timeout + 1.0)
        with self._cond:
            if self._thread.is_alive():  # stuck in a call that ignores its timeout (DNS...)
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
        try:
            while True:
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
                    self._inflight = len(batch)
                self._deliver(batch)
        except Exception as exc:  # noqa: BLE001 - say so rather than lose findings without a word
            if self._abandoned:  # close() already counted what was left and closed the socket under us
                return
            self.log.error(f"webhook {self.name}: sender crashed: {type(exc).__name__}: {exc}")
            with self._cond:
                self.counts["unsent"] += self._inflight + len(self._queue)
                self._queue.clear()
                self._inflight = 0

    def _body(self, batch: list[tuple[str, bytes]]) -> bytes:
        if self.settings.batch > 1:  # a JSON array, even of one, so the receiver sees one shape
            return b"[" + b",".join(body for _, body in batch) + b"]"
        return batch[0][1]

    def _deliver(self, batch: list[tuple[str, bytes]]) -> None:
        body, n = self._body(batch), len(batch)
        what = batch[0][0] if n == 1 else f"batch of {n} findings"
        attempt = 0
        while True:
            remaining = self._remaining()
            if remaining is not None and remaining <= 0:
                self._settle("unsent", n)
                return
            timeout = self.settings.timeout if remaining is None else max(min(self.settings.timeout, remaining), 0.05)
            outcome, detail, retry_after = self.endpoint.post(body, timeout)
            if outcome == _Outcome.OK:
                self._settle("delivered", n)
                return
            if outcome == _Outcome.PERMANENT:
                self._settle("failed", n)
                self.complain("rejected", f"{what} rejected: {detail}")
                return
            if attempt >= self.settings.retries:
                self._settle("failed", n)
                self.complain("failed", f"{what} not delivered after {attempt + 1} attempt(s): {detail}")
                return
            delay = retry_after if retry_after is not None else self._backoff(attempt)
            attempt += 1
            self._count("retries", 1)
            self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        # Exponential, capped, with jitter so many nodes do not retry in step after an outage.
        return min(self.settings.backoff * (2 ** attempt), _MAX_BACKOFF) * random.uniform(0.8, 1.2)

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
