"""What urllib3 brings, checked for real: HTTP through a forward proxy (with its credentials),
HTTPS tunnelled through a proxy with CONNECT to a TLS receiver, certificate checks, /metrics."""

from __future__ import annotations

import base64
import shutil
import socket
import socketserver
import ssl
import subprocess
import threading
from pathlib import Path

import pytest

from tracee.api import OutputContext
from tracee_output_webhook.plugin import build_output
from webhook_testkit import Receiver, make_finding


class Proxy(socketserver.ThreadingTCPServer):
    """A forward proxy: CONNECT tunnels, and absolute-URI requests forwarded one by one."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str | None]] = []  # (method, target, Proxy-Authorization)
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while True:
            line = self.rfile.readline().decode("latin-1").strip()
            if not line:
                return
            method, target, _version = line.split(" ", 2)
            headers = {}
            while (h := self.rfile.readline().decode("latin-1").strip()):
                name, _, value = h.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.server.seen.append((method, target, headers.get("proxy-authorization")))  # type: ignore[attr-defined]
            if method == "CONNECT":
                host, port = target.rsplit(":", 1)
                upstream = socket.create_connection((host, int(port)))
                self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                _pipe(self.connection, upstream)
                return
            self._forward(method, target, headers)

    def _forward(self, method: str, target: str, headers: dict[str, str]) -> None:
        rest = target.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        host, port = hostport.rsplit(":", 1)
        body = self.rfile.read(int(headers.get("content-length", 0)))
        with socket.create_connection((host, int(port))) as up:
            lines = [f"{method} /{path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()
                                                       if not k.startswith("proxy-")]
            up.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            reply = up.makefile("rb")
            status = reply.readline()
            head, length = [status], 0
            while (h := reply.readline()) not in (b"\r\n", b""):
                head.append(h)
                if h.lower().startswith(b"content-length:"):
                    length = int(h.split(b":")[1])
            self.wfile.write(b"".join(head) + b"\r\n" + reply.read(length))


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def one_way(src: socket.socket, dst: socket.socket) -> None:
        try:
            while (data := src.recv(65536)):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    t = threading.Thread(target=one_way, args=(b, a), daemon=True)
    t.start()
    one_way(a, b)
    t.join(5)


@pytest.fixture
def proxy():
    p = Proxy()
    yield p
    p.stop()


@pytest.fixture
def no_proxy_env(monkeypatch):
    for name in ("http_proxy", "https_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


@pytest.fixture
def tls_receiver(tmp_path, receiver_factory):
    """A receiver behind TLS with a certificate for 127.0.0.1, and the CA file that trusts it."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    receiver: Receiver = receiver_factory()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    receiver.url = receiver.url.replace("http://", "https://")
    return receiver, cert


def output(url: str, **options):
    return build_output(OutputContext(url, {f"webhook_{k}": v for k, v in options.items()}))


def test_http_goes_through_the_proxy_with_its_credentials(receiver, proxy, no_proxy_env, tracee_logs):
    no_proxy_env.setenv("HTTP_PROXY", proxy.url.replace("http://", "http://ops:s3cret@"))
    out = output(receiver.url + "hook")
    for n in range(3):
        out.write(make_finding(n))
    out.close()
    assert out.stats()["webhook_delivered"] == 3 and len(receiver.accepted) == 3
    assert receiver.requests[0]["path"] == "/hook"
    auth = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    assert proxy.seen == [("POST", receiver.url + "hook", auth)] * 3
    assert "s3cret" not in tracee_logs.text


def test_https_is_tunnelled_with_connect_and_the_certificate_checked(tls_receiver, proxy, no_proxy_env):
    receiver, cert = tls_receiver
    no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
    no_proxy_env.setenv("SSL_CERT_FILE", str(cert))  # the CA store OpenSSL reads: trusts our receiver
    out = output(receiver.url)
    for n in range(3):
        out.write(make_finding(n))
    out.close()
    assert out.stats()["webhook_delivered"] == 3 and len(receiver.accepted) == 3
    port = receiver.url.rsplit(":", 1)[1].rstrip("/")
    assert proxy.seen == [("CONNECT", f"127.0.0.1:{port}", None)]  # one tunnel, kept alive


def test_no_proxy_and_an_untrusted_certificate(tls_receiver, proxy, no_proxy_env, tracee_logs):
    receiver, _cert = tls_receiver
    no_proxy_env.setenv("HTTPS_PROXY", proxy.url)
    no_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    out = output(receiver.url, retries=3)
    out.write(make_finding())
    out.close()
    assert proxy.seen == []
    # Not trusted (SSL_CERT_FILE unset): rejected at once, not retried.
    assert out.stats()["webhook_failed"] == 1 and out.stats()["webhook_retries"] == 0
    assert "TEST-1 rejected: TLS: certificate verify failed: self-signed certificate" in tracee_logs.text


def test_metrics_name_the_endpoint_without_its_path_or_credentials(receiver_factory, no_proxy_env):
    receiver = receiver_factory(delay=0.3)
    out = output(receiver.url.replace("http://", "http://bob:pw@") + "services/T000/B000/XXXX", queue_size=2)
    for n in range(5):
        out.write(make_finding(n))
    during = {(m.name, tuple(sorted(m.labels.items()))): m.value for m in out.metrics()}
    out.close()
    after = {(m.name, tuple(sorted(m.labels.items()))): m.value for m in out.metrics()}
    endpoint = ("endpoint", receiver.url.rstrip("/"))
    assert during[("tracee_webhook_queue_depth", (endpoint,))] >= 1
    assert during[("tracee_webhook_queue_capacity", (endpoint,))] == 2
    assert after[("tracee_webhook_queue_depth", (endpoint,))] == 0
    by_outcome = {dict(labels)["outcome"]: v for (name, labels), v in after.items()
                  if name == "tracee_webhook_findings_total"}
    assert by_outcome["delivered"] + by_outcome["dropped"] == 5 and by_outcome["dropped"] >= 2
    assert not any("XXXX" in v or "pw" in v for _, labels in after for _, v in labels)
