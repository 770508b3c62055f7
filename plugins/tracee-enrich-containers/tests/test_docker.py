"""Against the machine's real dockerd: look-ups, the running list, and its event stream."""

from __future__ import annotations

import time

import pytest

from tracee_enrich_containers.cache import ContainerCache
from tracee_enrich_containers.docker_api import DockerRuntime

from conftest import IMAGE, unique

POD = {"io.kubernetes.pod.name": "web-7d9f", "io.kubernetes.pod.namespace": "shop",
       "io.kubernetes.pod.uid": "0b9e6c4a-1111-2222-3333-444455556666", "io.kubernetes.container.name": "web"}


def labels(values: dict[str, str]) -> list[str]:
    return [a for k, v in values.items() for a in ("--label", f"{k}={v}")]


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_lookup_gives_name_image_and_pod(docker, docker_sock):
    name = unique("web")
    cid = docker.start("--name", name, *labels(POD))
    info = DockerRuntime(docker_sock, 5).lookup(cid)
    assert info is not None
    image_id = docker("image", "inspect", "-f", "{{.Id}}", IMAGE)
    assert (info.id, info.runtime, info.name, info.image, info.image_id) == (cid, "docker", name, IMAGE, image_id)
    assert info.image_digest == ""  # imported locally: no registry digest
    assert (info.pod_name, info.pod_namespace, info.pod_uid, info.k8s_container_name) == \
        (POD["io.kubernetes.pod.name"], POD["io.kubernetes.pod.namespace"], POD["io.kubernetes.pod.uid"], "web")


def test_unknown_id_and_name_lookalike_are_not_found(docker, docker_sock):
    """Docker resolves names and id prefixes too: only the exact 64-hex id counts."""
    fake = "0" * 64
    docker.start("--name", fake)  # a container *named* like an id
    runtime = DockerRuntime(docker_sock, 5)
    assert runtime.lookup(fake) is None
    real = docker.start()
    assert runtime.lookup(real[:12]) is None


def test_list_has_the_running_containers(docker, docker_sock):
    name = unique("listed")
    cid = docker.start("--name", name)
    found = {i.id: i for i in DockerRuntime(docker_sock, 5).list()}
    assert found[cid].name == name and found[cid].image == IMAGE


def test_cache_learns_new_containers_from_the_event_stream(docker, docker_sock, log, tracee_logs):
    """A container created after start is known from Docker's `create` event, before any event of
    it reaches the enricher: its first event is a cache hit, not a miss."""
    cache = ContainerCache([DockerRuntime(docker_sock, 5)], log)
    cache.FORGET_AFTER = 0.3
    cache.start()
    try:
        assert cache.wait_idle(10)  # the start-up list is done
        time.sleep(0.5)  # the event stream is connected (it is opened right after)
        name = unique("late")
        cid = docker("create", "--network", "none", "--name", name, IMAGE, "true")
        docker.made.append(cid)
        assert wait_until(lambda: cid in cache.known), "create event not seen"
        assert cache.get(cid).name == name
        assert (cache.hits, cache.misses) == (1, 0)

        new_name = unique("renamed")
        docker("rename", name, new_name)
        assert wait_until(lambda: cache.known[cid].name == new_name), "rename not seen"

        docker("rm", cid)
        assert wait_until(lambda: cid not in cache.known), "removed container not forgotten"
    finally:
        cache.close()
    assert cache.stats()["socket_errors"] == 0
    assert tracee_logs.text == ""


def test_a_miss_is_filled_in_the_background(docker, docker_sock, log, tracee_logs):
    """Without the event stream (Docker's events are not watched here): the first event of an
    unknown container is a miss, answered by the worker; later events carry the metadata."""
    cid = docker.start("--name", unique("miss"))
    cache = ContainerCache([DockerRuntime(docker_sock, 5)], log)
    cache.start(prefetch=False, watch=False)
    try:
        assert cache.get(cid) is None
        assert wait_until(lambda: cid in cache.known)
        assert cache.get(cid).image == IMAGE
        assert (cache.hits, cache.misses) == (1, 1)
    finally:
        cache.close()


@pytest.mark.parametrize("hostile", ["\x1b]0;owned\x07", "x" * 5000])
def test_hostile_container_labels(docker, docker_sock, hostile):
    cid = docker.start("--label", f"io.kubernetes.pod.name={hostile}")
    info = DockerRuntime(docker_sock, 5).lookup(cid)
    assert info.pod_name.isprintable() and len(info.pod_name) <= 512


def test_create_event_carries_the_metadata(docker, docker_sock):
    """Docker's create event is enough for the event fields: stored before any look-up (which
    Docker would answer only once the container has started)."""
    import threading

    seen: list[tuple] = []
    runtime = DockerRuntime(docker_sock, 5)
    thread = threading.Thread(target=lambda: _watch_quietly(runtime, seen), daemon=True)
    thread.start()
    time.sleep(0.5)
    name = unique("announced")
    cid = docker("create", "--network", "none", "--name", name, *labels(POD), IMAGE, "true")
    docker.made.append(cid)
    try:
        assert wait_until(lambda: any(s[1] == cid and s[0] == "refresh" for s in seen)), seen
    finally:
        runtime.close()
        thread.join(5)
    mine = [s for s in seen if s[1] == cid]
    assert [s[0] for s in mine[:2]] == ["store", "refresh"]
    info = mine[0][2]
    assert (info.name, info.image, info.pod_name, info.pod_uid) == \
        (name, IMAGE, POD["io.kubernetes.pod.name"], POD["io.kubernetes.pod.uid"])


def _watch_quietly(runtime: DockerRuntime, seen: list) -> None:
    from tracee_enrich_containers.runtimes import RuntimeDown
    try:
        runtime.watch(lambda op, cid, info=None: seen.append((op, cid, info)))
    except RuntimeDown:
        pass
