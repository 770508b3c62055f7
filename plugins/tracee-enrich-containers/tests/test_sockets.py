"""A dead or hung runtime socket: reported once, counted, and never felt on the event path.
Both real clients (the docker SDK, grpcio) against real sockets that refuse or never answer."""

from __future__ import annotations

import secrets

import pytest

from tracee.testing import make_event
from tracee_enrich_containers.cache import ContainerCache
from tracee_enrich_containers.runtimes import SocketSpec, connect

from test_docker import wait_until

KINDS = ["docker", "containerd"]


def event_of(cid: str):
    return make_event("ptrace", context={"container_id": cid}, request="PTRACE_TRACEME")


@pytest.mark.parametrize("kind", KINDS)
def test_dead_socket_is_reported_once_and_counted(kind, dead_socket, log, tracee_logs):
    cache = ContainerCache([connect(SocketSpec(kind, dead_socket), 1.0)], log)
    cache.DOWN_RETRY = 0.0  # ask again at every look-up, to see that it is still said only once
    cache.start(watch=False)
    try:
        for _ in range(3):
            assert cache.get(secrets.token_hex(32)) is None
        assert cache.wait_idle(20)
    finally:
        cache.close()
    text = tracee_logs.text
    assert text.count("does not answer") == 1, text
    assert f"containers: {kind} at {dead_socket} does not answer" in text
    stats = cache.stats()
    assert stats["socket_errors"] == 4  # the start-up list and three look-ups
    assert stats["cache_misses"] == 3 and stats["lookups_failed"] == 3
    assert tracee_logs.count() == 4  # each counted in the run's error total too


@pytest.mark.parametrize("kind", KINDS)
def test_hung_socket_never_blocks_the_event_path(kind, silent_socket, log, tracee_logs):
    """While the worker waits on a runtime that accepted the connection and never answers, events
    keep flowing: each enrich returns at once with empty fields, and the timeout is counted."""
    from tracee_enrich_containers.enricher import ContainerEnricher
    from tracee import EnricherContext

    enricher = ContainerEnricher()
    enricher.start(EnricherContext({"cri": [f"{kind}:{silent_socket.path}"], "cri_timeout": 2.0}, log))
    try:
        cid = secrets.token_hex(32)
        assert silent_socket.accepted.wait(10), "the client never connected"
        events = [event_of(cid) for _ in range(1000)]
        for event in events:
            enricher.enrich(event)  # would hang here if the event path waited for the runtime
        assert enricher.cache.lookups <= 1 and not enricher.cache.known  # still waiting on the socket
        assert all(e.container_name == "" for e in events)
        assert wait_until(lambda: enricher.cache.socket_errors >= 1, 15), "the timeout was not counted"
    finally:
        enricher.close()
    assert enricher.stats()["cache_misses"] == 1000
    assert "does not answer" in tracee_logs.text


def test_a_dead_runtime_does_not_stop_the_live_one(docker_sock, dead_socket, log, docker):
    """Two runtimes, the first dead: look-ups go on through the live one."""
    cid = docker.start()
    cache = ContainerCache([connect(SocketSpec("containerd", dead_socket), 1.0),
                            connect(SocketSpec("docker", docker_sock), 5.0)], log)
    cache.start(prefetch=False, watch=False)
    try:
        assert cache.get(cid) is None
        assert wait_until(lambda: cid in cache.known)
        assert cache.get(cid).runtime == "docker"
    finally:
        cache.close()
    assert cache.socket_errors == 1 and cache.lookups == 2
