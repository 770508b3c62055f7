"""Reinstall into this env the repository's distributions whose wheel changed since they were installed.

tox installs `deps` once and keeps them while their names stay the same, and the wheels scripts/test
builds keep their names across edits; without this, a rerun after an edit would test the old code.
tox runs it before each env's commands: `python reinstall_changed_wheels.py WHEELHOUSE`.

pip records the sha256 of the wheel it installed (direct_url.json); scripts/test builds the wheels
reproducibly (SOURCE_DATE_EPOCH), so a wheel's hash changes exactly when its contents do, and an
env reinstalls only what changed: nothing, on a rerun without edits.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from importlib import metadata
from pathlib import Path


def installed_hash(name: str) -> str | None:
    """sha256 of the wheel `name` was installed from, '' if unknown, None if it is not installed."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return None
    try:
        info = json.loads(dist.read_text("direct_url.json") or "{}").get("archive_info", {})
    except (ValueError, AttributeError):
        return ""
    return info.get("hashes", {}).get("sha256") or info.get("hash", "").removeprefix("sha256=")


def changed_wheels(wheelhouse: Path) -> list[Path]:
    changed = []
    for wheel in sorted(wheelhouse.glob("*.whl")):
        name = wheel.name.split("-")[0]  # wheel file names: {distribution}-{version}-...
        have = installed_hash(name)
        if have is not None and have != hashlib.sha256(wheel.read_bytes()).hexdigest():
            changed.append(wheel)
    return changed


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: reinstall_changed_wheels.py WHEELHOUSE", file=sys.stderr)
        return 2
    changed = changed_wheels(Path(argv[0]))
    if not changed:
        return 0
    print(f"reinstalling changed: {' '.join(w.name.split('-')[0] for w in changed)}", file=sys.stderr)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # The new code, then whatever new dependency it declares (already-met ones cost nothing).
    subprocess.run([*pip, "--force-reinstall", "--no-deps", *map(str, changed)], check=True)
    subprocess.run([*pip, *map(str, changed)], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
