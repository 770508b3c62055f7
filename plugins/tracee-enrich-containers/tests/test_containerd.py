"""Against the machine's real containerd: containers of the `k8s.io` namespace as the CRI makes
them (labels, or only OCI annotations), images and digests, and the event stream. Containers are
made as bare records through containerd's own API (no task runs), and deleted afterwards."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest
from google.protobuf import any_pb2

from tracee_enrich_containers._containerd import api_pb2 as pb
from tracee_enrich_containers.cache import ContainerCache
from tracee_enrich_containers.containerd_api import ContainerdRuntime

from conftest import IMAGE
from test_docker import POD, wait_until

K8S_IMAGE = f"docker.io/{IMAGE}"
SPEC_TYPE = "types.containerd.io/opencontainers/runtime-spec/1/Spec"
API = Path(__file__).parents[1] / "src" / "tracee_enrich_containers" / "_containerd"


@pytest.fixture(scope="session")
def k8s_image(containerd_sock: str, docker_sock: str) -> str:
    """local/busybox:1 imported into containerd's k8s.io namespace (as a node would have pulled it)."""
    listed = subprocess.run(["ctr", "-n", "k8s.io", "images", "ls", "-q"], capture_output=True, text=True)
    if K8S_IMAGE not in listed.stdout.split():
        subprocess.run(f"docker save {IMAGE} | ctr -n k8s.io images import -", shell=True, check=True,
                       capture_output=True)
    return K8S_IMAGE


class Records:
    """Container records made in containerd; deleted at the end."""

    def __init__(self, runtime: ContainerdRuntime) -> None:
        self.runtime = runtime
        self.made: list[tuple[str, str]] = []

    def create(self, namespace: str = "k8s.io", labels: dict[str, str] | None = None,
               annotations: dict[str, str] | None = None, image: str = "") -> str:
        cid = secrets.token_hex(32)
        spec = any_pb2.Any(type_url=SPEC_TYPE, value=json.dumps({"ociVersion": "1.0.2",
                                                                 "annotations": annotations or {}}).encode())
        container = pb.Container(id=cid, labels=labels or {}, image=image, spec=spec,
                                 runtime=pb.Runtime(name="io.containerd.runc.v2"))
        self.runtime.call("containers.v1.Containers/Create", pb.CreateContainerRequest(container=container),
                          pb.CreateContainerResponse, namespace)
        self.made.append((namespace, cid))
        return cid

    def delete(self, namespace: str, cid: str) -> None:
        from google.protobuf import empty_pb2
        self.runtime.call("containers.v1.Containers/Delete", pb.DeleteContainerRequest(id=cid), empty_pb2.Empty,
                          namespace)
        self.made.remove((namespace, cid))

    def cleanup(self) -> None:
        for namespace, cid in list(self.made):
            self.delete(namespace, cid)


@pytest.fixture
def records(containerd_sock: str) -> Iterator[Records]:
    r = Records(ContainerdRuntime(containerd_sock, 5))
    try:
        yield r
    finally:
        r.cleanup()


def test_cri_container_labels(records, containerd_sock, k8s_image):
    cid = records.create(labels={**POD, "io.cri-containerd.kind": "container"}, image=k8s_image)
    info = ContainerdRuntime(containerd_sock, 5).lookup(cid)
    assert info is not None
    assert (info.runtime, info.namespace, info.name, info.image) == ("containerd", "k8s.io", "web", k8s_image)
    assert (info.pod_name, info.pod_namespace, info.pod_uid) == \
        (POD["io.kubernetes.pod.name"], POD["io.kubernetes.pod.namespace"], POD["io.kubernetes.pod.uid"])
    digest = subprocess.run(["ctr", "-n", "k8s.io", "images", "ls"], capture_output=True, text=True).stdout
    assert info.image_digest.startswith("sha256:") and info.image_digest in digest
    assert not info.sandbox


def test_cri_annotations_when_labels_lack_the_pod(records, containerd_sock):
    cid = records.create(annotations={"io.kubernetes.cri.container-name": "api",
                                      "io.kubernetes.cri.sandbox-name": "api-5c",
                                      "io.kubernetes.cri.sandbox-namespace": "prod",
                                      "io.kubernetes.cri.sandbox-uid": "uid-9",
                                      "io.kubernetes.cri.image-name": "registry.example/api:2"})
    info = ContainerdRuntime(containerd_sock, 5).lookup(cid)
    assert (info.name, info.pod_name, info.pod_namespace, info.pod_uid, info.image) == \
        ("api", "api-5c", "prod", "uid-9", "registry.example/api:2")


def test_pause_container_is_a_sandbox(records, containerd_sock):
    cid = records.create(labels={"io.cri-containerd.kind": "sandbox", "io.kubernetes.pod.name": "p"})
    assert ContainerdRuntime(containerd_sock, 5).lookup(cid).sandbox


def test_namespaces_k8s_first_and_unknown_id(records, containerd_sock):
    records.create(namespace="tracee-test")
    runtime = ContainerdRuntime(containerd_sock, 5)
    names = runtime.namespaces()
    assert names[0] == "k8s.io" and "tracee-test" in names
    assert runtime.lookup(secrets.token_hex(32)) is None


def test_list_and_other_namespaces(records, containerd_sock):
    cid = records.create(namespace="tracee-test", labels={"nerdctl/name": "by-nerdctl"})
    found = {i.id: i for i in ContainerdRuntime(containerd_sock, 5).list()}
    assert found[cid].name == "by-nerdctl" and found[cid].namespace == "tracee-test"


def test_cache_follows_containerd_events(records, containerd_sock, log, tracee_logs):
    cache = ContainerCache([ContainerdRuntime(containerd_sock, 5)], log)
    cache.FORGET_AFTER = 0.3
    cache.start()
    try:
        assert cache.wait_idle(10)
        import time
        time.sleep(0.5)  # the subscription is open
        cid = records.create(labels=POD)
        assert wait_until(lambda: cid in cache.known), "/containers/create not seen"
        assert cache.get(cid).pod_name == POD["io.kubernetes.pod.name"]
        records.delete("k8s.io", cid)
        assert wait_until(lambda: cid not in cache.known), "/containers/delete not seen"
    finally:
        cache.close()
    assert (cache.misses, cache.socket_errors) == (0, 0)
    assert tracee_logs.text == ""


def test_generated_code_is_current(tmp_path):
    """api_pb2.py is what grpcio-tools makes of api.proto today (edit the .proto, regenerate)."""
    pytest.importorskip("grpc_tools", reason="pip install 'tracee-enrich-containers[generate]'")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{API}", f"--python_out={tmp_path}",
                    f"--pyi_out={tmp_path}", "api.proto"], check=True, cwd=API)
    for name in ("api_pb2.py", "api_pb2.pyi"):
        assert (tmp_path / name).read_text() == (API / name).read_text(), f"{name} is stale: regenerate it"
