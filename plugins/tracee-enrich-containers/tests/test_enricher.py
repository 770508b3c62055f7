"""The enricher in a real engine and in `tracee run`: Tracee's event fields filled from a real
Docker container, life-cycle events seen although no signature selects them, and the counters in
the run summary."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tracee import EnricherContext, EventSelector, Signature, SignatureMetadata
import logging
from tracee.engine import Engine
from tracee.testing import FindingsCollector, make_event
from tracee_enrich_containers.enricher import ContainerEnricher, known_container

from conftest import IMAGE, unique
from test_docker import POD, labels, wait_until

TRACEE = [sys.executable, "-m", "tracee.cli"]


class Traceme(Signature):
    metadata = SignatureMetadata(id="TEST-PTRACE", name="ptrace")
    selected_events = [EventSelector("ptrace")]

    def on_event(self, event):
        self.match(event)


def started(docker_sock: str, log: logging.Logger) -> ContainerEnricher:
    enricher = ContainerEnricher()
    enricher.start(EnricherContext({"cri": [f"docker:{docker_sock}"]}, log))
    assert enricher.cache.wait_idle(10)
    return enricher


def test_findings_carry_container_and_pod(docker, docker_sock, log):
    name = unique("web")
    cid = docker.start("--name", name, *labels(POD))
    enricher = started(docker_sock, log)
    findings = FindingsCollector()
    engine = Engine([Traceme()], findings, enrichers=[enricher.record()])
    try:
        engine.run([make_event("ptrace", context={"container_id": cid}, container=True, request="PTRACE_TRACEME"),
                    make_event("ptrace", request="PTRACE_TRACEME")])  # a host event: left alone
        info = known_container(cid)
    finally:
        enricher.close()
    ctx = findings[0].to_dict()["Context"]
    assert (ctx["containerId"], ctx["containerName"], ctx["containerImage"]) == (cid, name, IMAGE)
    assert (ctx["podName"], ctx["podNamespace"], ctx["podUID"]) == \
        (POD["io.kubernetes.pod.name"], POD["io.kubernetes.pod.namespace"], POD["io.kubernetes.pod.uid"])
    host = findings[1].to_dict()["Context"]
    assert host["containerName"] == "" and host["podName"] == ""
    assert info.image_id.startswith("sha256:") and info.runtime == "docker"
    assert known_container(cid) is None  # closed: no enricher is active any more
    assert enricher.stats()["cache_hits"] == 1


def test_metadata_in_the_input_is_kept(docker, docker_sock, log):
    """A recorded stream that already names its containers keeps its names."""
    cid = docker.start("--name", unique("real"))
    enricher = started(docker_sock, log)
    event = make_event("ptrace", context={"container_id": cid, "container_name": "as-recorded"}, container=True)
    try:
        enricher.enrich(event)
    finally:
        enricher.close()
    assert event.container_name == "as-recorded" and event.container_image == IMAGE


def test_lifecycle_events_refresh_the_cache_without_a_signature(docker, docker_sock, log):
    """container_create / container_remove reach the enricher though no signature selects them
    (Enricher.events); create gets Tracee's metadata arguments, remove makes the cache forget."""
    enricher = started(docker_sock, log)
    enricher.cache.FORGET_AFTER = 0.2
    # Without Docker's own event stream, so only the life-cycle events can teach the cache.
    for runtime in enricher.cache.runtimes:
        runtime.close()
    engine = Engine([Traceme()], FindingsCollector(), enrichers=[enricher.record()])
    engine.start()
    try:
        name = unique("created")
        cid = docker("create", "--network", "none", "--name", name, IMAGE, "true")
        docker.made.append(cid)
        create = make_event("container_create", runtime="docker", container_id=cid, ctime=1, container_image="",
                            container_name="", pod_name="", pod_namespace="", pod_uid="")
        engine.dispatch(create)  # first sight: a look-up starts, the event goes on unfilled
        assert create.get_arg("container_name") == ""
        assert wait_until(lambda: cid in enricher.cache.known)
        again = make_event("existing_container", runtime="", container_id=cid, ctime=1)
        engine.dispatch(again)
        assert (again.get_arg("container_name"), again.get_arg("container_image"), again.get_arg("runtime")) == \
            (name, IMAGE, "docker")
        engine.dispatch(make_event("container_remove", runtime="docker", container_id=cid))
        assert wait_until(lambda: cid not in enricher.cache.known)
        assert engine.stats.dispatched == {}  # counted for no signature
    finally:
        enricher.close()


def ptrace_line(cid: str) -> str:
    event = make_event("ptrace", context={"container_id": cid}, container=True, request="PTRACE_TRACEME")
    return json.dumps(event.to_dict()) + "\n"


def test_tracee_run_fills_fields_once_known(docker, docker_sock, tmp_path):
    """`tracee run` reading a stream: events are never held back; once the container is known
    (here: within a second), findings carry its metadata; the summary has the counters."""
    name = unique("web")
    cid = docker.start("--name", name, *labels(POD))
    proc = subprocess.Popen([*TRACEE, "run", "--input", "file:-", "--output", "json", "--rules", "TRC-2",
                             "--cri", f"docker:{docker_sock}"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    proc.stdin.write(ptrace_line(cid))
    proc.stdin.flush()
    findings = [json.loads(proc.stdout.readline())]  # the first event is dispatched at once
    time.sleep(1.0)
    proc.stdin.write(ptrace_line(cid))
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    findings += [json.loads(line) for line in out.splitlines()]
    assert len(findings) == 2, err
    last = findings[-1]["Context"]
    assert (last["containerName"], last["containerImage"], last["podName"]) == \
        (name, IMAGE, POD["io.kubernetes.pod.name"])
    assert f"containers: metadata from docker ({docker_sock})" in err
    summary = next(line for line in err.splitlines() if "summary:" in line)
    assert "containers cache_hits " in summary and "containers socket_errors 0" in summary
    assert " 0 error(s)" in summary


def test_cri_none_turns_it_off(docker, tmp_path):
    cid = docker.start("--name", unique("off"))
    result = subprocess.run([*TRACEE, "run", "--input", "file:-", "--output", "json", "--rules", "TRC-2",
                             "--cri", "none"], input=ptrace_line(cid), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["Context"]["containerName"] == ""
    assert "containers" not in result.stderr


def test_bad_cri_is_one_line(tmp_path):
    result = subprocess.run([*TRACEE, "run", "--input", "file:-", "--cri", "crio:/run/crio/crio.sock"],
                            input="", capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == ("tracee: error: --cri crio:/run/crio/crio.sock: expected "
                                                      "RUNTIME:/path/to/socket with RUNTIME one of docker, "
                                                      "containerd (or --cri none)")
    assert "Traceback" not in result.stderr


def test_installed_and_discovered():
    out = subprocess.run([*TRACEE, "plugins", "--json"], capture_output=True, text=True, check=True).stdout
    mine = [p for p in json.loads(out) if p["distribution"] == "tracee-enrich-containers"]
    assert mine and mine[0]["provides"]["enrichers"] == ["containers"]
    assert set(mine[0]["provides"]["cli_options"]) == {"--cri", "--cri-timeout"}


def test_listing_imports_no_runtime_client():
    """`tracee list` and `tracee plugins` must work without the docker SDK and grpcio imported."""
    code = ("import sys; from tracee.plugins import PluginHost; "
            "h = PluginHost().load_entry_points(); h.enrichers(); h.cli_options(); "
            "print(sorted(m for m in ('docker', 'grpc', 'google.protobuf') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_pytest_uses_this_tree():
    import tracee_enrich_containers
    assert Path(tracee_enrich_containers.__file__).name == "__init__.py"


def test_falcosidekick_fields_from_the_enricher(docker, docker_sock, log):
    """The webhook's falcosidekick payload: Falco's container and k8s names, and what Tracee's
    event has no field for (runtime, image id) from the enricher."""
    from tracee_output_webhook.payloads import falcosidekick

    name = unique("web")
    cid = docker.start("--name", name, *labels(POD))
    enricher = started(docker_sock, log)
    findings = FindingsCollector()
    engine = Engine([Traceme()], findings, enrichers=[enricher.record()])
    try:
        engine.run([make_event("ptrace", context={"container_id": cid}, container=True, request="PTRACE_TRACEME")])
        fields = falcosidekick(findings[0])["output_fields"]
    finally:
        enricher.close()
    image_id = docker("image", "inspect", "-f", "{{.Id}}", IMAGE).rpartition(":")[2][:12]
    assert {k: fields.get(k) for k in ("container.id", "container.name", "container.image", "container.type",
                                       "container.image.id", "container.image.repository",
                                       "container.image.tag", "k8s.pod.name", "k8s.ns.name", "k8s.pod.uid")} == {
        "container.id": cid, "container.name": name, "container.image": IMAGE, "container.type": "docker",
        "container.image.id": image_id, "container.image.repository": "local/busybox", "container.image.tag": "1",
        "k8s.pod.name": POD["io.kubernetes.pod.name"], "k8s.ns.name": POD["io.kubernetes.pod.namespace"],
        "k8s.pod.uid": POD["io.kubernetes.pod.uid"]}
    assert "container.image.digest" not in fields  # a local image has none


def test_a_stream_of_unknown_ids_is_looked_up_at_a_bounded_rate(docker, docker_sock, log):
    """Forged or foreign container ids (a replayed file from another node) cost at most
    LOOKUP_BURST look-ups at once and LOOKUP_RATE a second after that; the rest are counted as
    deferred. A real container is still named: it was listed at start."""
    name = unique("web")
    cid = docker.start("--name", name)
    enricher = started(docker_sock, log)
    cache = enricher.cache
    try:
        began = time.monotonic()
        engine = Engine([Traceme()], FindingsCollector(), enrichers=[enricher.record()])
        fake = [make_event("ptrace", context={"container_id": "%064x" % n}, container=True, request="PTRACE_TRACEME")
                for n in range(1, 1001)]
        engine.run(fake + [make_event("ptrace", context={"container_id": cid}, container=True,
                                      request="PTRACE_TRACEME")])
        elapsed = time.monotonic() - began
        assert cache.wait_idle(30)
        stats = enricher.stats()
    finally:
        enricher.close()
    asked = 1000 - stats["lookups_deferred"]
    assert asked <= cache.LOOKUP_BURST + cache.LOOKUP_RATE * elapsed + 1
    assert stats["lookups_deferred"] > 0
    assert stats["cache_hits"] == 1  # the real container: known from the start-up listing
