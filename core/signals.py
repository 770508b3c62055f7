"""SIGINT/SIGTERM during a run: the first stops the input and lets outputs drain, a second cuts the drain short.

Neither raises into the running code: a handler that raised KeyboardInterrupt could land inside
a rule, an output or a half-written finding, and the summary would be lost. The handlers only
call the run's callbacks (flags and wake-ups, safe at any point), and the run ends normally:
summary, not-delivered counts, exit code 128 + the first signal's number (130, 143).
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Callable

__all__ = ["Shutdown", "real_interrupt_possible"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Shutdown:
    """Installs the run's handlers while the block runs (main thread only; elsewhere a no-op).

    `on_first()` is called at the first signal (stop reading), `on_second()` at each later one
    (stop draining). `signum` is the first signal's number, or None.
    """

    def __init__(self, on_first: Callable[[], None], on_second: Callable[[], None]) -> None:
        self.on_first = on_first
        self.on_second = on_second
        self.signum: int | None = None
        self.count = 0
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "Shutdown":
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
        return self

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)  # type: ignore[arg-type]
        self._previous = {}

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        if self.count == 1:
            self.signum = signum
            _say(f"tracee: {signal.Signals(signum).name}: stopping; outputs drain (a second signal cuts it short)\n")
            self.on_first()
        else:
            _say(f"tracee: {signal.Signals(signum).name} again: not waiting for outputs to drain\n")
            self.on_second()


def _say(text: str) -> None:
    # os.write, not logging or print: a handler may run while the logging lock or the stderr
    # buffer is held by the code it interrupted.
    try:
        os.write(2, text.encode())
    except OSError:
        pass


def real_interrupt_possible() -> bool:
    """Whether a KeyboardInterrupt may come from the user's Ctrl-C (Python's own SIGINT handler
    is installed) rather than from code that raised it (a rule): the engine re-raises the first."""
    return signal.getsignal(signal.SIGINT) is signal.default_int_handler
