"""A rule language for testing rule workers: `*.rule` JSON files whose rules misbehave on demand.

    {"id": "X-1", "event": "openat", "do": "match" | "abort" | "segfault" | "sleep" | "spin" | "exit" | "env",
     "when": "/path"  (only for events whose pathname is this), "at_load": "abort" | "hang"}
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import time
from pathlib import Path
from typing import Sequence

from tracee import EventSelector, Signature, SignatureMetadata
from tracee.api import RuleLoadContext, RuleLoader


class MisbehavingRule(Signature):
    def __init__(self, spec: dict, path: Path) -> None:
        self.metadata = SignatureMetadata(id=spec["id"], name=spec["id"])
        self.selected_events = [EventSelector(spec.get("event", "openat"))]
        self.spec = spec
        self.path = path

    def on_event(self, event):
        when = self.spec.get("when")
        if when is not None and event.get_arg("pathname") != when:
            return
        do = self.spec.get("do", "match")
        if do == "abort":
            os.abort()
        elif do == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        elif do == "sleep":  # off the CPU, as a worker the scheduler starves
            time.sleep(float(self.spec.get("seconds", 1)))
        elif do == "spin":  # on the CPU, as a backtracking regex
            end = time.monotonic() + float(self.spec.get("seconds", 1))
            while time.monotonic() < end:
                pass
        elif do == "exit":
            raise SystemExit(3)
        elif do == "env":
            self.match(event, {"env": dict(os.environ)})
            return
        self.match(event, {"pid": event.process_id})


def load(files: Sequence[Path], context: RuleLoadContext) -> list[Signature]:
    rules = []
    for path in files:
        context.reading(path)
        spec = json.loads(Path(path).read_text())
        if spec.get("at_load") == "abort":
            os.abort()
        if spec.get("at_load") == "hang":
            while True:
                time.sleep(1)
        if spec.get("at_load") == "segfault":
            ctypes.string_at(0)
        rules.append(MisbehavingRule(spec, Path(path)))
    return rules


LOADER = RuleLoader("testrules", (".rule",), load, isolate=True)
