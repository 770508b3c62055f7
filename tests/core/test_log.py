"""Messages: `tracee.*` loggers on stderr, one rate limit, every record counted for the summary."""

import json
import logging
import subprocess
import sys

from tracee import log as logs
from tracee.log import limit

log = logging.getLogger("tracee.test")


def test_a_limited_message_is_printed_n_times_then_only_counted(tracee_logs):
    with logs.counting() as counter:
        for n in range(10):
            log.error(f"bad line {n}", extra=limit("test:bad", 3, more="further bad lines are only counted"))
    assert tracee_logs.lines == ["tracee: error: bad line 0", "tracee: error: bad line 1",
                                 "tracee: error: bad line 2 (further bad lines are only counted)"]
    assert counter.errors == 10 and tracee_logs.count() == 10


def test_a_time_limited_message_says_how_many_were_held_back(tracee_logs, monkeypatch):
    now = [100.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: now[0])
    for step in (0, 1, 2, 3, 11):
        now[0] = 100.0 + step
        log.warning("endpoint down", extra=limit("test:down", None, every=10))
    assert tracee_logs.lines == ["tracee: warning: endpoint down",
                                 "tracee: warning: endpoint down (and 3 more since the last report)"]


def test_unlimited_messages_and_levels(tracee_logs):
    log.info("hello")
    log.warning("careful")
    log.error("broken")
    assert tracee_logs.lines == ["tracee: hello", "tracee: warning: careful", "tracee: error: broken"]


def test_stderr_gets_text_and_json_formats():
    code = ("import logging, tracee\n"
            "from tracee import log\n"
            "logging.getLogger('tracee.x').error('one')\n"
            "log.setup('json')\n"
            "logging.getLogger('tracee.x').warning('two')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    first, second = result.stderr.splitlines()
    assert first == "tracee: error: one"
    record = json.loads(second)
    assert (record["level"], record["logger"], record["message"]) == ("warning", "tracee.x", "two")
    assert record["time"].endswith("Z")
