"""ContainerInfo from runtime answers (hostile labels included), `--cri` parsing, socket detection."""

from __future__ import annotations

import socket

import pytest

from tracee_enrich_containers.metadata import MAX_FIELD, ContainerInfo
from tracee_enrich_containers.runtimes import SocketSpec, detect, parse_cri

CID = "ab" * 32


def test_cri_labels_give_the_pod_fields():
    labels = {"io.kubernetes.pod.name": "web-7d9", "io.kubernetes.pod.namespace": "shop",
              "io.kubernetes.pod.uid": "2f1c-77", "io.kubernetes.container.name": "nginx", "other": "x"}
    info = ContainerInfo.build(CID, "docker", labels, name="k8s_nginx_web", image="nginx:1.25")
    assert (info.pod_name, info.pod_namespace, info.pod_uid, info.k8s_container_name) == \
        ("web-7d9", "shop", "2f1c-77", "nginx")
    assert (info.name, info.image, info.runtime, info.sandbox) == ("k8s_nginx_web", "nginx:1.25", "docker", False)


def test_sandbox_label_marks_a_pause_container():
    assert ContainerInfo.build(CID, "containerd", {"io.cri-containerd.kind": "sandbox"}).sandbox


def test_hostile_values_are_cleaned():
    """Labels are set by whoever starts a container: no control characters, no megabyte values,
    no non-strings into the event."""
    labels = {"io.kubernetes.pod.name": "evil\n\x1b[31mpod\r", "io.kubernetes.pod.namespace": "n" * 10_000,
              "io.kubernetes.pod.uid": 12345}
    info = ContainerInfo.build(CID, "docker", labels, name=["not", "a", "string"], image=None)
    assert info.pod_name == "evil[31mpod"
    assert len(info.pod_namespace) == MAX_FIELD
    assert info.pod_uid == "" and info.name == "" and info.image == ""


def test_labels_not_a_mapping():
    assert ContainerInfo.build(CID, "docker", ["io.kubernetes.pod.name=x"]).pod_name == ""  # type: ignore[arg-type]


@pytest.mark.parametrize("values,expected", [
    ((), None),
    (("none",), []),
    (("docker:/var/run/docker.sock", "containerd:/run/c.sock"),
     [SocketSpec("docker", "/var/run/docker.sock"), SocketSpec("containerd", "/run/c.sock")]),
    (("Docker:/x.sock",), [SocketSpec("docker", "/x.sock")]),
])
def test_parse_cri(values, expected):
    assert parse_cri(values) == expected


@pytest.mark.parametrize("bad", ["docker", "crio:/run/crio/crio.sock", "docker:relative.sock", ":/x"])
def test_parse_cri_names_the_bad_value(bad):
    with pytest.raises(ValueError, match=f"--cri {bad}: expected RUNTIME:/path"):
        parse_cri([bad])


def test_detect_finds_sockets_once(tmp_path):
    real = tmp_path / "docker.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(real))
    (tmp_path / "run").symlink_to(tmp_path)           # /var/run -> /run: one socket, two paths
    (tmp_path / "plain.sock").write_text("not a socket")
    try:
        found = detect([("docker", str(real)), ("docker", str(tmp_path / "run" / "docker.sock")),
                        ("containerd", str(tmp_path / "plain.sock")), ("containerd", str(tmp_path / "absent"))])
    finally:
        s.close()
    assert found == [SocketSpec("docker", str(real))]
