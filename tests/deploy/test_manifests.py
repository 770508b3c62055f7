"""The Kubernetes manifest: valid against the Kubernetes API schemas (kubernetes-validate ships
them, so this runs offline), and carrying what the detector needs, as the README documents it.
No cluster is available here: nothing is applied."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tracee.config import load_config

ROOT = Path(__file__).parents[2]
MANIFEST = ROOT / "deploy" / "kubernetes" / "tracee.yaml"
# The oldest Kubernetes still supported by its project when this was written, and the newest the
# installed kubernetes-validate knows.
VERSIONS = ["1.31.0", "latest"]


def documents() -> list[dict]:
    return [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d]


def by_kind(kind: str) -> dict:
    return next(d for d in documents() if d["kind"] == kind)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_document_validates_strictly(version):
    import kubernetes_validate
    from kubernetes_validate.utils import latest_version

    wanted = latest_version() if version == "latest" else version
    kinds = []
    for doc in documents():
        kubernetes_validate.validate(doc, wanted, strict=True)  # raises ValidationError naming the path
        kinds.append(doc["kind"])
    assert kinds == ["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet"]


def test_a_broken_manifest_is_caught():
    """The check can fail: a misspelt field and a wrong type are refused."""
    import kubernetes_validate

    daemonset = by_kind("DaemonSet")
    daemonset["spec"]["template"]["spec"]["hostPid"] = True
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, "1.31.0", strict=True)
    daemonset = by_kind("DaemonSet")
    daemonset["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "metrics"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(daemonset, "1.31.0", strict=True)


def test_the_daemonset_has_what_the_detector_needs():
    pod = by_kind("DaemonSet")["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert pod["hostPID"] is True and container["securityContext"]["privileged"] is True
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    host = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"] if "hostPath" in v}
    for path in ("/sys/kernel/btf", "/sys/kernel/tracing", "/sys/fs/cgroup", "/var/cache/tracee",
                 "/run/containerd/containerd.sock"):
        assert host[mounts[path]] == path, path
    assert container["resources"]["limits"] and container["resources"]["requests"]
    assert [p["containerPort"] for p in container["ports"]] == [3366]
    args = container["args"]
    assert {"--metrics", "--healthz", "--listen-remote"} <= set(args)
    assert args[args.index("--listen-addr") + 1] == "0.0.0.0:3366"
    for probe in ("startupProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["args"][container["args"].index("--config") + 1] == "/etc/tracee/config.yaml"
    # No RBAC objects: the pod reads no Kubernetes API.
    assert pod["automountServiceAccountToken"] is False
    assert not [d for d in documents() if d["kind"] in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")]


def test_the_configmap_is_a_valid_tuning_file(tmp_path):
    text = by_kind("ConfigMap")["data"]["config.yaml"]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    config = load_config(str(path))
    assert config.settings["TRC-12"]["web_servers"]


def test_the_readme_explains_deployment():
    readme = (ROOT / "README.md").read_text()
    assert "kubectl apply -f deploy/kubernetes/tracee.yaml" in readme
    assert "no cluster" in readme.lower()
