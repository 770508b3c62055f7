"""The rule worker process: loads one loader's rule files, then evaluates the events it is sent.

Started by `tracee.workers.group` as `python -I -c ...` with an empty environment (rules see
none: Rego's `opa.runtime()` finds nothing to leak), standard output to /dev/null, and three file
descriptors: commands in, answers out, the progress slot (see `protocol`).
"""

from __future__ import annotations

import logging
import os
import pickle
import signal
import sys
from pathlib import Path
from typing import Any, Callable

from .protocol import PHASE_COMPILE, Progress, read_frame, send_json

_LOAD_BATCH = -2  # the progress slot's batch id while rule files load


class _Forward(logging.Handler):
    """Sends every `tracee.*` record to the engine, which applies rate limits and counts it."""

    def __init__(self, fd: int) -> None:
        super().__init__(logging.DEBUG)
        self.fd = fd

    def emit(self, record: logging.LogRecord) -> None:
        try:
            spec = getattr(record, "tracee_limit", None)
            send_json(self.fd, {"t": "log", "level": record.levelno, "name": record.name,
                                "msg": record.getMessage(), "limit": list(spec) if spec else None})
        except Exception:  # noqa: BLE001 - the engine is gone; nothing to tell
            pass


def main(argv: list[str]) -> int:
    fd_in, fd_out, fd_progress = (int(a) for a in argv[:3])
    # Started with only the variables the loader names; Python itself adds LC_CTYPE (PEP 538). The
    # loader read what it needs at load; rules then find an empty environment (opa.runtime()).
    loader_env = dict(os.environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the engine decides when this process ends
    root = logging.getLogger("tracee")
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_Forward(fd_out))
    root.setLevel(logging.DEBUG)
    root.propagate = False
    progress = Progress(fd_progress)

    frame = read_frame(fd_in)
    if frame is None:
        return 0
    _, paths = pickle.loads(frame)
    sys.path[:] = paths
    frame = read_frame(fd_in)
    if frame is None:
        return 0
    _, request = pickle.loads(frame)  # imports the loader's module
    os.environ.clear()
    os.environ.update({k: v for k, v in loader_env.items() if k in request.loader.environment})
    return Worker(fd_in, fd_out, progress).run(request)


class Worker:
    def __init__(self, fd_in: int, fd_out: int, progress: Progress) -> None:
        self.fd_in, self.fd_out, self.progress = fd_in, fd_out, progress
        self.signatures: list[Any] = []
        self.groups: list[Any] = []
        self.group_of: list[Any] = []
        self.prepared: set[tuple[int, ...]] = set()
        self.seq_of: dict[int, int] = {}  # id(event) -> seq, for the batch being evaluated
        self.pending: list[list[Any]] = []  # findings of the event being evaluated

    def send(self, message: dict[str, Any]) -> None:
        send_json(self.fd_out, message)

    # -- loading ------------------------------------------------------------------------------------
    def run(self, request: Any) -> int:
        from tracee.api import RuleLoadContext
        from tracee.errors import FatalError

        loader = request.loader
        files = [Path(f) for f in request.files]
        index = {str(f): n for n, f in enumerate(files)}

        def on_file(path: Path) -> None:
            self.progress.set(_LOAD_BATCH, index.get(str(path), len(files)), PHASE_COMPILE)
            self.send({"t": "file", "path": str(path)})

        # Problems go back in the answer: the engine's own context reports and collects them (a
        # reload compares them with the running set's).
        context = RuleLoadContext(strict=request.strict, options=request.options,
                                  active_loaders=frozenset({loader.name}), on_file=on_file, isolated=True,
                                  report=False)
        try:
            signatures = loader.load(files, context)
        except FatalError as exc:
            self.send({"t": "fatal", "msg": str(exc)})
            return 1
        except Exception as exc:  # noqa: BLE001 - the loader's bug: reported by the engine
            self.send({"t": "loaded", "sigs": [], "error": f"{type(exc).__name__}: {exc}",
                       "problems": context.problems})
            return 1
        self.progress.idle(_LOAD_BATCH)
        described = []
        for sig in signatures:
            try:
                meta = sig.get_metadata()
                selectors = [[s.name, s.origin, s.source,
                              [[p.field, p.op, list(p.values), p.context] for p in s.where]]
                             for s in sig.get_selected_events()]
            except Exception as exc:  # noqa: BLE001
                logging.getLogger("tracee.rules").error(
                    f"{loader.name} signature from {getattr(sig, 'path', '?')}: cannot read its metadata: {exc}")
                continue
            path = getattr(sig, "path", None)
            described.append({"id": meta.id, "selectors": selectors, "path": str(path or ""),
                              "path_is_str": isinstance(path, str),
                              "meta": {"name": meta.name, "version": meta.version, "description": meta.description,
                                       "tags": list(meta.tags or ()), "properties": dict(meta.properties or {})}})
            self.signatures.append(sig)
        self.send({"t": "loaded", "sigs": described, "problems": context.problems})
        self._start_signatures()
        return self.serve()

    def _start_signatures(self) -> None:
        for n, sig in enumerate(self.signatures):
            group = sig.group if sig.group is not None else _Solo(sig)
            if not any(g is group for g in self.groups):
                self.groups.append(group)
            self.group_of.append(group)
            sig.init(self._callback(n))

    def _callback(self, member: int) -> Callable[[Any], None]:
        def found(finding: Any) -> None:
            self.pending.append([self.seq_of.get(id(finding.event)), member, finding.data])
        return found

    # -- serving --------------------------------------------------------------------------------------
    def serve(self) -> int:
        while True:
            frame = read_frame(self.fd_in)
            if frame is None:  # the engine went away
                return 0
            message = pickle.loads(frame)
            kind = message[0]
            if kind == "eval":
                self.evaluate(*message[1:])
            elif kind == "flush":
                self.finish_input()
                self.send({"t": "flushed"})
            elif kind == "close":
                self.close()
                self.send({"t": "closed"})
                return 0

    def evaluate(self, batch: int, items: list[tuple[int, tuple[int, ...], tuple]], probe: bool) -> None:
        from tracee.event import Event

        progress, send = self.progress, self.send
        carried: list[list[Any]] = []
        events = []
        for k, (seq, members, state) in enumerate(items):
            event = Event.from_trusted(*state)
            events.append(event)  # kept alive: seq_of is keyed by identity
            self.seq_of[id(event)] = seq
            for group, sigs in self._by_group(members):
                if members not in self.prepared and hasattr(group, "prepare"):
                    progress.set(batch, k, PHASE_COMPILE)
                    self._call(group, "prepare", sigs, lambda: group.prepare(sigs))
                progress.set(batch, k)
                self._call(group, "evaluate", sigs, lambda: group.evaluate(event, sigs))
            self.prepared.add(members)
            if self.pending:
                if probe:
                    carried.extend(self.pending)
                else:
                    for finding in self.pending:
                        send({"t": "found", "f": finding})
                self.pending.clear()
        progress.idle(batch)
        self.seq_of.clear()
        send({"t": "done", "batch": batch, "found": carried, "stats": self.group_stats()})

    def group_stats(self) -> dict[str, int]:
        """The groups' own counters (result cache hits...), added up, for the engine's summary."""
        total: dict[str, int] = {}
        for group in self.groups:
            stats = getattr(group, "stats", None)
            if stats is None:
                continue
            try:
                found = stats() or {}
            except Exception:  # noqa: BLE001 - a counter must not stop evaluation
                continue
            for key, value in found.items():
                total[key] = total.get(key, 0) + value
        return total

    def _by_group(self, members: tuple[int, ...]) -> list[tuple[Any, list[Any]]]:
        out: dict[int, tuple[Any, list[Any]]] = {}
        for m in members:
            group = self.group_of[m]
            out.setdefault(id(group), (group, []))[1].append(self.signatures[m])
        return list(out.values())

    def _call(self, group: Any, stage: str, sigs: list[Any], call: Callable[[], None]) -> None:
        try:
            call()
        except (Exception, SystemExit, KeyboardInterrupt) as exc:  # noqa: BLE001 - reported, counted
            ids = " ".join(s.get_metadata().id for s in sigs)
            logging.getLogger("tracee.engine").error(
                f"rule group {getattr(group, 'name', '?')} ({ids}) failed in {stage}: {type(exc).__name__}: {exc}",
                extra={"tracee_limit": (f"worker:{stage}:{ids}", 3, None,
                                        "further errors of this signature are only counted")})

    def finish_input(self) -> None:
        from tracee.signature import SIGNAL_SOURCE_COMPLETE, SOURCE_TRACEE

        for group in self.groups:
            self._call(group, "flush", [], group.flush)
        for sig in self.signatures:
            if any(s.source == SOURCE_TRACEE for s in sig.get_selected_events()):
                try:
                    sig.on_signal(SIGNAL_SOURCE_COMPLETE)
                except Exception as exc:  # noqa: BLE001
                    logging.getLogger("tracee.engine").error(f"signature {sig.get_metadata().id} failed in "
                                                             f"on_signal: {type(exc).__name__}: {exc}")
        for finding in self.pending:
            self.send({"t": "found", "f": finding})
        self.pending.clear()

    def close(self) -> None:
        for sig in self.signatures:
            try:
                sig.close()
            except Exception as exc:  # noqa: BLE001
                logging.getLogger("tracee.engine").error(f"signature {sig.get_metadata().id} failed in "
                                                         f"close: {type(exc).__name__}: {exc}")
        for group in self.groups:
            self._call(group, "close", [], group.close)


class _Solo:
    """The group of a signature that has none: evaluates it alone."""

    def __init__(self, sig: Any) -> None:
        self.sig = sig
        self.name = sig.get_metadata().id

    def evaluate(self, event: Any, sigs: list[Any]) -> None:
        self.sig.on_event(event)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


if __name__ == "__main__":
    os._exit(main(sys.argv[1:]))
