"""The Rego and CEL result cache changes no answer: the same findings and counts with it on and off,
over the benchmark's whole stream, the pack's own streams and attack streams, in rule workers and
in the detector's process."""

from __future__ import annotations

import importlib.util
import random
import re
import sys
from pathlib import Path

import pytest

from conftest import DATA, tracee

BENCHMARKS = Path(__file__).resolve().parents[3] / "benchmarks"


def _benchmarks():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import bench_builtin
        import bench_k8s
    finally:
        sys.path.remove(str(BENCHMARKS))
    return bench_builtin, bench_k8s


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bench_builtin's default --write stream (300,000 events), a bench_k8s stream with many
    attacks, and every stream of this pack's tests (hits and near misses), each of the last two
    twice so that matching events are answered from the cache too."""
    bench_builtin, bench_k8s = _benchmarks()
    rng = random.Random(16)
    k8s = [bench_k8s.make_line(rng, 0.05).encode() + b"\n" for _ in range(20_000)]
    pack = b"".join(p.read_bytes().rstrip(b"\n") + b"\n" for p in sorted(DATA.glob("*.jsonl")))
    path = tmp_path_factory.mktemp("cache") / "stream.jsonl"
    with path.open("wb") as out:
        out.writelines(bench_builtin.stream(300_000))
        for _ in range(2):
            out.writelines(k8s)
            out.write(pack)
    return path


def _run(path: Path, *extra: str) -> tuple[list[str], str]:
    # A budget no evaluation reaches on a loaded machine (an abandoned evaluation would differ by
    # chance), and no container runtime lookups (their counts depend on timing).
    no_cri = ("--cri", "none") if importlib.util.find_spec("tracee_enrich_containers") else ()
    proc = tracee("run", "--input", f"file:{path}", "--output", "json", "--rule-budget", "60000", *no_cri, *extra,
                  timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = next(line for line in proc.stderr.splitlines() if "summary:" in line)
    # Findings of two rule workers may cross: compare them as a multiset.
    return sorted(proc.stdout.splitlines()), summary


def _counts(summary: str) -> str:
    """The summary without the cache's own counters and the engine's waits for a worker behind
    (timing: without the cache a worker falls behind more often)."""
    summary = re.sub(r", \d+ engine wait\(s\) for the worker", "", summary)
    return re.sub(r", \d+ (rego|cel) (cache [a-z()]+|evaluation\(s\) (not cacheable|cache paused))", "", summary)


@pytest.mark.slow
@pytest.mark.parametrize("workers", ["on", "off"])
def test_findings_are_identical_with_the_cache_on_and_off(stream: Path, workers: str):
    on, on_summary = _run(stream, "--rule-cache", "on", "--rule-workers", workers)
    off, off_summary = _run(stream, "--rule-cache", "off", "--rule-workers", workers)
    ids = {re.search(r'"ID":"([^"]+)"', line).group(1) for line in on}  # type: ignore[union-attr]
    assert {"K8S-1", "K8S-2", "K8S-3", "K8S-4", "K8S-6"} <= ids  # every Rego and CEL rule fired
    assert on == off
    assert _counts(on_summary) == _counts(off_summary)
    hits = {lang: int(m.group(1)) for lang in ("rego", "cel")
            if (m := re.search(rf"(\d+) {lang} cache hit\(s\)", on_summary))}
    assert hits.get("rego", 0) > 1000 and hits.get("cel", 0) > 1000, on_summary
    assert "cache hit" not in off_summary
