"""The end of a scripts/test run (on stderr): one line per tox env, then the verdict as the last line.

Reads the `--result-json` files tox wrote (not its screen output):
    python tox_summary.py --expect ENV,ENV --exit-code N [--not-run ENV,ENV --why TEXT] RESULT.json...
An expected env with no result (tox stopped before it) counts as failed, and so does a tox that
exited non-zero with every env passing (a configuration or provisioning error).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def say(line: str) -> None:
    print(line, file=sys.stderr)


def results(paths: list[Path]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for path in paths:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue  # tox did not get as far as writing it: the expected envs show as "no result"
        for name, env in (data.get("testenvs") or {}).items():
            if isinstance(env, dict) and "result" in env:
                found[name] = env["result"]
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--expect", default="", help="comma-separated envs that should have run")
    parser.add_argument("--exit-code", type=int, default=0, help="tox's exit code (worst of the runs)")
    parser.add_argument("--not-run", default="", help="envs deliberately not run")
    parser.add_argument("--why", default="", help="why --not-run envs did not run")
    parser.add_argument("files", nargs="*", type=Path)
    args = parser.parse_args(argv)

    found = results(args.files)
    expected = [e for e in args.expect.split(",") if e] or list(found)
    names = expected + [n for n in found if n not in expected]
    failed, skipped = [], []
    width = max((len(n) for n in names), default=0)
    for name in names:
        result = found.get(name)
        if result is None:
            state = "FAILED (no result: tox stopped before it)"
            failed.append(name)
        elif result.get("skipped"):
            state = "skipped (interpreter not found)"
            skipped.append(name)
        elif result.get("success"):
            state = f"passed   {result.get('duration', 0):7.1f} s"
        else:
            state = f"FAILED   {result.get('duration', 0):7.1f} s (exit {result.get('exit_code')})"
            failed.append(name)
        say(f"test: {name:<{width}}  {state}")

    not_run = [e for e in args.not_run.split(",") if e]
    notes = []
    if skipped:
        notes.append(f"skipped: {', '.join(skipped)}")
    if not_run:
        notes.append(f"not run ({args.why}): {', '.join(not_run)}" if args.why else f"not run: {', '.join(not_run)}")
    note = f" ({'; '.join(notes)})" if notes else ""
    ran = len(names) - len(skipped)
    if not names:
        say(f"test: FAILED: no tox env ran (tox exited {args.exit_code})")
        return 1
    if failed:
        say(f"test: FAILED: {len(failed)} of {ran} envs failed ({', '.join(failed)}){note}")
        return 1
    if args.exit_code != 0:
        say(f"test: FAILED: tox exited {args.exit_code} although {ran} envs passed{note}")
        return 1
    say(f"test: passed: {ran} envs{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
