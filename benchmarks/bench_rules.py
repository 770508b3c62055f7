#!/usr/bin/env python3
"""Rule languages side by side: the same Tracee-format rules per event through tracee, regorus,
cel-python and cel-expr-python, and the default install end to end on the bench_builtin stream.

    python benchmarks/bench_rules.py                     # about 2 minutes on a shared 2-core VM
    python benchmarks/bench_rules.py --rules-dir DIR     # your own .rego / .yaml rules too
    python benchmarks/bench_rules.py --memory 5000000    # also RSS of a 5M-event default-install run
    python benchmarks/bench_rules.py --no-e2e            # per-rule figures only

Rules: the K8S pack's Rego and CEL rules, the fifteen Tracee rules in Rego of
plugins/tracee-sig-rego/tests/data/trc, and those of --rules-dir. Events: the bench_builtin stream
followed by a bench_k8s stream with attacks (so every rule has matching events), decoded once.

Per rule, over the events it selects (name and origin; declared filters are not applied, so the
rule itself decides), µs per event for matching and non-matching events:
  - tracee, cache off: the project's group evaluating that rule (input built, engine called);
  - tracee, cache on: the same in stream order, repeated events answered by the result cache
    (the hit rate says how often);
  - regorus (when `import regorus` works; not a dependency of the project): the rule file and
    Tracee's own `get_tracee_argument` helper, the event's whole JSON as input, `eval_rule`;
  - cel-expr-python / cel-python (when installed): the compiled expression evaluated on
    variables built per event, straight through the backend, no group and no cache.

End to end: `tracee run --input file:X --output json` (the default install: builtin + K8S pack,
rule workers) on bench_builtin's `--write` stream, with the cache on, off, in-process, and with
only TRC-1..15 loaded, each the best of --repeat runs. Ratios are against baselines of this run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import orjson

from tracee import Event
from tracee.api import RuleLoadContext
from tracee.testing import capture_logs

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_builtin  # noqa: E402
import bench_k8s  # noqa: E402

K8S_RULES = ROOT / "plugins" / "tracee-sig-k8s" / "src" / "tracee_sig_k8s" / "rules"
TRC_REGO = ROOT / "plugins" / "tracee-sig-rego" / "tests" / "data" / "trc"
TARGET_E2E = 100_000
TARGET_REGO_US = 20.0
TARGET_CEL_US = 10.0

# Tracee's own helper for regorus: the argument list searched per call, as tracee-rules does.
TRACEE_ARG_HELPER = """
get_tracee_argument(arg_name) = res {
	arg := input.args[_]
	arg.name == arg_name
	res := arg.value
}
"""


@dataclass
class Timing:
    match_us: list[float] = field(default_factory=list)
    miss_us: list[float] = field(default_factory=list)
    hits: int | None = None
    lookups: int = 0

    def add(self, matched: bool, seconds: float) -> None:
        (self.match_us if matched else self.miss_us).append(seconds * 1e6)

    @property
    def all_us(self) -> list[float]:
        return self.match_us + self.miss_us


def mean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def fmt(value: float | None) -> str:
    return f"{value:8.1f}" if value is not None else "       -"


# -- events ---------------------------------------------------------------------------------------------
def sample_events(builtin: int, k8s: int) -> list[Event]:
    rng = random.Random(16)
    lines = [*bench_builtin.stream(builtin), *(bench_k8s.make_line(rng, 0.05).encode() for _ in range(k8s))]
    return [Event.from_json(line) for line in lines]


def selects(sig: Any, event: Event) -> bool:
    for sel in sig.get_selected_events():
        if sel.name in ("", "*", event.event_name) and sel.origin in ("", "*", event.origin):
            return True
    return False


# -- loading --------------------------------------------------------------------------------------------
def rule_files(dirs: list[Path], suffixes: tuple[str, ...]) -> list[Path]:
    return sorted(p for d in dirs for p in d.rglob("*") if p.suffix in suffixes and not p.name.endswith("_test.rego"))


def load_rego(files: list[Path], cache: str) -> list[Any]:
    from tracee_sig_rego.loader import load_rules

    return load_rules(files, RuleLoadContext(options={"rule_cache": cache}))


def load_cel(files: list[Path], backend: str, cache: str) -> list[Any]:
    from tracee_sig_cel.loader import load_rules

    return load_rules(files, RuleLoadContext(options={"rule_cache": cache, "cel_backend": backend}))


def init(sigs: list[Any], found: list[Any]) -> None:
    for sig in sigs:
        sig.init(found.append)


# -- timing one rule --------------------------------------------------------------------------------------
def time_group(sig: Any, events: list[Event], verdicts: list[bool] | None) -> tuple[Timing, list[bool]]:
    """The project's path: the rule's group evaluating it alone, event by event."""
    found: list[Any] = []
    sig.init(found.append)
    group = sig.group
    members = (sig,)
    timing = Timing()
    out = []
    clock = time.perf_counter
    before = dict(group.stats()) if hasattr(group, "stats") else {}
    for n, event in enumerate(events):
        k = len(found)
        start = clock()
        group.evaluate(event, members)
        elapsed = clock() - start
        matched = len(found) > k
        out.append(matched)
        timing.add(verdicts[n] if verdicts is not None else matched, elapsed)
    after = group.stats() if hasattr(group, "stats") else {}
    hit_key = next((k for k in after if k.endswith("_cache_hit(s)")), None)
    if hit_key:
        miss_key = hit_key.replace("hit(s)", "miss(es)")
        timing.hits = after[hit_key] - before.get(hit_key, 0)
        timing.lookups = timing.hits + after[miss_key] - before.get(miss_key, 0)
    return timing, out


def time_regorus(path: Path, package: str, helpers: str, events: list[Event],
                 verdicts: list[bool]) -> tuple[Timing, int] | None:
    try:
        import regorus
    except ImportError:
        return None
    engine = regorus.Engine()
    engine.set_rego_v0(True)
    engine.add_policy("helpers.rego", helpers)
    engine.add_policy(str(path), path.read_text())
    rule = f"data.{package}.tracee_match"
    timing = Timing()
    agree = 0
    clock = time.perf_counter
    for event, verdict in zip(events, verdicts):
        text = orjson.dumps(event.to_dict()).decode()
        start = clock()
        engine.set_input_json(text)
        try:
            value = engine.eval_rule(rule)
        except RuntimeError:
            value = None
        elapsed = clock() - start
        matched = value is not None and value is not False
        agree += matched == verdict
        timing.add(verdict, elapsed)
    return timing, agree


def time_cel_direct(sig: Any, events: list[Event], verdicts: list[bool]) -> Timing:
    backend = sig.group.backend
    timing = Timing()
    clock = time.perf_counter
    for event, verdict in zip(events, verdicts):
        start = clock()
        try:
            backend.evaluate(sig.program, backend.variables(event))
        except Exception:  # noqa: BLE001 - an evaluation error is a no-match, as in the group
            pass
        timing.add(verdict, clock() - start)
    return timing


def regorus_helpers() -> str:
    from tracee_sig_rego.loader import builtin_helpers

    text = builtin_helpers()
    # Replace the plugin's map-based get_tracee_argument by Tracee's list search.
    text = re.sub(r"get_tracee_argument\(arg_name\) = res \{.*?\n\}\n", TRACEE_ARG_HELPER.lstrip(), text,
                  count=1, flags=re.S)
    return text


def best_of(rounds: int, measure: Callable[[], Any], reset: Callable[[], None] | None = None) -> Any:
    """The round with the lowest mean (the machine is shared: other jobs only ever add time)."""
    best = None
    for _ in range(rounds):
        if reset is not None:
            reset()
        got = measure()
        timing = got[0] if type(got) is tuple else got
        if best is None or statistics.fmean(timing.all_us or [0]) < statistics.fmean(
                (best[0] if type(best) is tuple else best).all_us or [0]):
            best = got
    return best


def reset_cache(sig: Any) -> Callable[[], None]:
    """Empties the rule's group cache (a fresh start for each round of the cache-on figure)."""
    from tracee.rulecache import Trial

    def reset() -> None:
        group = sig.group
        for cache in getattr(group, "_caches", None) or [getattr(group, "cache", None)]:
            if cache is not None and hasattr(cache, "_map"):
                cache._map.clear()
        state = getattr(getattr(group, "_local", None), "state", None)
        for compiled in (state.compiled.values() if state is not None else ()):
            compiled.trial = Trial()
        if hasattr(group, "_trials"):
            group._trials.clear()
    return reset


# -- per-rule report ----------------------------------------------------------------------------------------
def per_rule(events: list[Event], rego_files: list[Path], cel_files: list[Path], limit: int,
             rounds: int) -> dict[str, list[float]]:
    """Prints the per-rule table; returns per-engine lists of per-rule mean µs (all selected events)."""
    summary: dict[str, list[float]] = {}
    hit_rates: dict[str, list[tuple[int, int]]] = {}

    def row(rule: str, lang: str, engine: str, timing: Timing, note: str = "") -> None:
        rate = f"{timing.hits / timing.lookups:6.1%}" if timing.lookups else "     -"
        print(f"  {rule:8} {lang:4} {engine:22} {fmt(mean(timing.match_us))} ({len(timing.match_us):>5})"
              f" {fmt(mean(timing.miss_us))} ({len(timing.miss_us):>5}) {fmt(mean(timing.all_us))}  {rate}  {note}")
        if timing.all_us:
            summary.setdefault(f"{lang} {engine}", []).append(mean(timing.all_us))  # type: ignore[arg-type]
        if timing.lookups:
            hit_rates.setdefault(lang, []).append((timing.hits or 0, timing.lookups))

    print(f"\nµs per rule per selected event ({len(events):,} events decoded; per rule at most {limit:,} "
          "selected events, in stream order)")
    print(f"  {'rule':8} {'lang':4} {'engine':22} {'matching':>8} {'(n)':>7} {'other':>8} {'(n)':>7} "
          f"{'all':>8}  {'cache':>6}")
    print(f"  (each figure: the best of {rounds} rounds; the cache-on rounds each start with an empty cache)")
    with capture_logs():
        cold = load_rego(rego_files, "off")
        warm = load_rego(rego_files, "on")
    helpers = regorus_helpers()
    for sig_off, sig_on in zip(cold, warm):
        chosen = [e for e in events if selects(sig_off, e)][:limit]
        if not chosen:
            continue
        rid = sig_off.metadata.id
        sig_off.group.prepare((sig_off,))
        sig_on.group.prepare((sig_on,))
        off, verdicts = best_of(rounds, lambda: time_group(sig_off, chosen, None))
        on, on_verdicts = best_of(rounds, lambda: time_group(sig_on, chosen, verdicts), reset_cache(sig_on))
        row(rid, "rego", "tracee, cache off", off)
        row(rid, "rego", "tracee, cache on", on, "" if on_verdicts == verdicts else "ANSWERS DIFFER")
        got = best_of(rounds, lambda: time_regorus(Path(sig_off.path), sig_off.package, helpers, chosen, verdicts))
        if got is not None:
            timing, agree = got
            row(rid, "rego", "regorus", timing, "" if agree == len(chosen) else f"agrees on {agree}/{len(chosen)}")
    for backend in ("cel-expr-python", "cel-python"):
        try:
            with capture_logs():
                cold = load_cel(cel_files, backend, "off")
                warm = load_cel(cel_files, backend, "on")
        except Exception as exc:  # noqa: BLE001 - FatalError: not installed
            print(f"  ({backend}: not usable here: {exc})")
            continue
        for sig_off, sig_on in zip(cold, warm):
            chosen = [e for e in events if selects(sig_off, e)][:limit]
            if not chosen:
                continue
            rid = sig_off.metadata.id
            off, verdicts = best_of(rounds, lambda: time_group(sig_off, chosen, None))
            on, on_verdicts = best_of(rounds, lambda: time_group(sig_on, chosen, verdicts), reset_cache(sig_on))
            row(rid, "cel", f"tracee/{backend}, off", off)
            row(rid, "cel", f"tracee/{backend}, on", on, "" if on_verdicts == verdicts else "ANSWERS DIFFER")
            row(rid, "cel", f"{backend} direct", best_of(rounds, lambda: time_cel_direct(sig_off, chosen, verdicts)))
    print("\n  per-rule means (over the rules), µs per rule per selected event:")
    for engine, values in summary.items():
        print(f"    {engine:34} {statistics.fmean(values):8.1f}  (median {statistics.median(values):.1f}, "
              f"{len(values)} rules)")
    for lang, pairs in hit_rates.items():
        hits, lookups = sum(h for h, _ in pairs), sum(n for _, n in pairs)
        print(f"    {lang} result cache hit rate: {hits / lookups:.1%} ({hits:,} of {lookups:,} lookups)")
    return summary


# -- end to end -------------------------------------------------------------------------------------------------
def run_cli(path: Path, extra: list[str]) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds of the detector and its workers, summary line)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tracee.cli", "run", "--input", f"file:{path}", "--output", "json",
                           *extra], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"tracee run {' '.join(extra)} exited {proc.returncode}: {proc.stderr[-500:]}")
    summary = next((ln for ln in proc.stderr.splitlines() if "summary:" in ln), "")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, summary


def end_to_end(events: int, repeat: int) -> float:
    builtin_only = [a for n in range(1, 16) for a in ("--rules", f"TRC-{n}")]
    configs = [("default install (rule cache on)", []),
               ("default install, --rule-cache off", ["--rule-cache", "off"]),
               ("default install, --rule-workers off", ["--rule-workers", "off"]),
               ("builtin TRC-1..15 only", builtin_only)]
    print(f"\nend to end: tracee run --input file:X --output json on bench_builtin's --write stream "
          f"({events:,} events), best of {repeat}")
    results: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "mix.jsonl"
        with path.open("wb") as out:
            out.writelines(bench_builtin.stream(events))
        for _ in range(repeat):
            for label, extra in configs:
                wall, cpu, summary = run_cli(path, extra)
                best = results.get(label)
                if best is None or wall < best[0]:
                    results[label] = (wall, cpu)
                if label.startswith("default install (rule cache on)"):
                    counters = re.findall(r"\d+ (?:rego|cel) cache [a-z()]+", summary)
                    if counters and _ == 0:
                        print(f"  cache counters: {', '.join(counters)}")
    base_off = results["default install, --rule-cache off"][0]
    base_builtin = results["builtin TRC-1..15 only"][0]
    for label, (wall, cpu) in results.items():
        print(f"  {label:38} {wall:6.2f} s wall {events / wall:>9,.0f} events/s   {cpu:6.2f} s CPU "
              f"(all processes)   x{base_off / wall:.2f} vs cache off, x{base_builtin / wall:.2f} vs builtin only")
    return events / results["default install (rule cache on)"][0]


def memory(events: int, extra: list[str] | None = None) -> None:
    """RSS of the detector and its rule workers while the default install reads `events` events."""
    print(f"\nmemory: the default install over {events:,} bench_builtin events from a pipe (RSS of tracee + workers)")
    proc = subprocess.Popen([sys.executable, "-m", "tracee.cli", "run", "--input", "file:-", "--output", "json",
                             *(extra or [])],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    samples: list[tuple[int, float]] = []
    split: list[list[float]] = []
    sent = [0]

    def feed() -> None:
        assert proc.stdin is not None
        batch: list[bytes] = []
        for line in bench_builtin.stream(events):
            batch.append(line)
            if len(batch) == 4096:
                proc.stdin.write(b"".join(batch))
                sent[0] += len(batch)
                batch.clear()
        proc.stdin.write(b"".join(batch))
        sent[0] += len(batch)
        proc.stdin.close()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    step = max(events // 10, 1)
    next_at = step
    while proc.poll() is None:
        time.sleep(0.5)
        if sent[0] >= next_at:
            parts = tree_rss(proc.pid)
            if not sum(parts):
                break  # it has ended
            samples.append((sent[0], sum(parts)))
            split.append(parts)
            print(f"  {sent[0]:>11,} events sent  RSS {samples[-1][1]:7.1f} MB (detector {parts[0]:.1f}, workers "
                  f"{' + '.join(f'{p:.1f}' for p in parts[1:]) or '-'})", flush=True)
            next_at += step
    feeder.join()
    if len(samples) >= 4:
        half = len(samples) // 2
        first, second = [r for _, r in samples[1:half]], [r for _, r in samples[half:]]
        print(f"  total RSS after the first 10%: {min(first):.1f}-{max(first):.1f} MB in the first half, "
              f"{min(second):.1f}-{max(second):.1f} MB in the second half")
        print(f"  detector {split[0][0]:.1f} -> {split[-1][0]:.1f} MB (TRC-1 and TRC-13 fill their state caps "
              f"within ~3M events, then stay); workers {' + '.join(f'{p:.1f}' for p in split[0][1:])} -> "
              f"{' + '.join(f'{p:.1f}' for p in split[-1][1:])} MB")


def tree_rss(pid: int) -> list[float]:
    """RSS in MB of `pid`, then of each of its children (the rule workers)."""
    sizes: list[float] = []
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    sizes.append(int(line.split()[1]) / 1024)
        except OSError:
            pass
    return sizes or [0.0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=300_000, help="end-to-end stream length (default 300,000)")
    ap.add_argument("--sample", type=int, default=60_000, help="bench_builtin events for per-rule timing")
    ap.add_argument("--k8s-events", type=int, default=20_000, help="bench_k8s events (5%% attacks) after them")
    ap.add_argument("--per-rule", type=int, default=3000, help="selected events timed per rule at most")
    ap.add_argument("--rules-dir", action="append", type=Path, default=[], help="more rules (.rego, .yaml)")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds per rule and engine (best kept)")
    ap.add_argument("--repeat", type=int, default=2, help="end-to-end runs per configuration (best kept)")
    ap.add_argument("--no-e2e", action="store_true", help="skip the end-to-end runs")
    ap.add_argument("--memory", type=int, default=0, metavar="N", help="also a memory run over N events")
    opt = ap.parse_args()

    events = sample_events(opt.sample, opt.k8s_events)
    rego_files = rule_files([K8S_RULES, TRC_REGO, *opt.rules_dir], (".rego",))
    cel_files = rule_files([K8S_RULES, *opt.rules_dir], (".yaml", ".yml"))
    summary = per_rule(events, rego_files, cel_files, opt.per_rule, opt.rounds)
    rate = end_to_end(opt.events, opt.repeat) if not opt.no_e2e else None
    if opt.memory:
        memory(opt.memory)

    print("\ntargets:")
    rego = summary.get("rego tracee, cache off")
    rego_on = summary.get("rego tracee, cache on")
    regorus = summary.get("rego regorus")
    cel = summary.get("cel tracee/cel-expr-python, off")
    cel_on = summary.get("cel tracee/cel-expr-python, on")
    if rate is not None:
        print(f"  default install end to end: {rate:,.0f} events/s (target >= {TARGET_E2E:,}: "
              f"{'met' if rate >= TARGET_E2E else 'NOT met'})")
    for label, values, target in (("Rego, cache off", rego, TARGET_REGO_US), ("Rego, cache on", rego_on, TARGET_REGO_US),
                                  ("CEL (cel-expr-python), cache off", cel, TARGET_CEL_US),
                                  ("CEL (cel-expr-python), cache on", cel_on, TARGET_CEL_US)):
        if values:
            value = statistics.fmean(values)
            print(f"  {label}: {value:.1f} µs per rule per selected event (target <= {target:g}: "
                  f"{'met' if value <= target else 'NOT met'})")
    if regorus and rego:
        for label, values in (("cache off", rego), ("cache on", rego_on or [])):
            if values:
                print(f"  Rego {label} vs regorus: x{statistics.fmean(regorus) / statistics.fmean(values):.2f} "
                      f"(regorus {statistics.fmean(regorus):.1f} µs; above 1: tracee faster)")
    elif not regorus:
        print("  regorus: not installed (pip install regorus, or a build of it, to compare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
