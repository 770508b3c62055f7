"""SIGHUP while `tracee run` reads a live stream: a Rego rule file added to --rules-dir fires
without a restart; a broken one leaves the running set as it was, and says why."""

from __future__ import annotations

import shutil
import signal
import sys
from pathlib import Path

from tracee.testing import LiveTracee, make_event

from rego_kit import SEEDS

PLUGINS = {"TRACEE_LOAD_PLUGINS": "tracee-sig-rego,tracee-output-stdout"}
WHOAMI = make_event("execve", pathname="/usr/bin/whoami", argv=["whoami"])
DOCKER = make_event("security_socket_connect", container=True, sockfd=3,
                    remote_addr="{'sa_family': 'AF_UNIX','sun_path': '/var/run/docker.sock'}")  # its string form
BROKEN = """package tracee.BROKEN_1
__rego_metadoc__ := {"id": "BROKEN-1", "name": "broken"}
tracee_selected_events[e] { e := {"source": "tracee", "name": "execve"} }
tracee_match { input.eventName == "execve" && }
"""


def test_sighup_loads_a_new_rule_file_and_refuses_a_broken_one(tmp_path: Path):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SEEDS / "docker_socket.rego", rules)
    args = ["run", "--input", "file:-", "--output", "json", "--rules-dir", str(rules)]
    with LiveTracee(args, env=PLUGINS, bin_dir=Path(sys.executable).parent) as live:
        live.wait_for_stderr("Loaded 1 signature(s): [RMM-1]")
        # whoami passes unseen; the docker rule's finding after it shows it was read.
        live.send(WHOAMI, DOCKER)
        assert live.finding()["SigMetadata"]["ID"] == "RMM-1"

        shutil.copy(SEEDS / "whoami.rego", rules)
        mark = len(live.stderr_lines)
        live.proc.send_signal(signal.SIGHUP)
        line = live.wait_for_stderr("reload: 2 signature(s)", after=mark)
        assert "added TCR-1" in line and "1 kept running" in line
        live.send(WHOAMI)
        assert live.finding()["SigMetadata"]["ID"] == "TCR-1"

        (rules / "broken.rego").write_text(BROKEN)
        mark = len(live.stderr_lines)
        live.proc.send_signal(signal.SIGHUP)
        failed = live.wait_for_stderr("reload failed", after=mark)
        assert "the 2 signature(s) running are kept" in failed
        problem = live.wait_for_stderr(f"{rules / 'broken.rego'}:4:", after=mark)
        assert problem.startswith("tracee: error: reload: ")
        live.send(WHOAMI, DOCKER)  # both rules still run, and nothing of the broken file
        # (sorted: the two rules now live in different rule workers, whose findings may cross)
        assert sorted(live.finding()["SigMetadata"]["ID"] for _ in range(2)) == ["RMM-1", "TCR-1"]

        assert live.stop() == 0
        summary = live.wait_for_stderr("summary:")
        # The first whoami was skipped unread (no rule selected execve yet); the errors are the
        # refused reload's two lines.
        assert "5 events read, 1 skipped, 0 dropped, 4 decoded, 4 finding(s), 2 error(s)" in summary, live.stderr
        assert "per signature: RMM-1=2 TCR-1=2" in summary


def test_reloads_while_events_stream_drop_nothing(tmp_path: Path):
    """Rule files compile on the reload thread while the main thread evaluates Rego: every event
    reaches the rule that stays loaded, whatever the reloads do around it."""
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SEEDS / "docker_socket.rego", rules)
    args = ["run", "--input", "file:-", "--output", "json", "--rules-dir", str(rules)]
    rounds, per_round = 12, 200
    with LiveTracee(args, env=PLUGINS, bin_dir=Path(sys.executable).parent) as live:
        live.wait_for_stderr("Loaded 1 signature(s)")
        for n in range(rounds):
            if n % 2:
                (rules / "whoami.rego").unlink()
            else:
                shutil.copy(SEEDS / "whoami.rego", rules)
            mark = len(live.stderr_lines)
            live.proc.send_signal(signal.SIGHUP)
            live.send(*[DOCKER] * per_round)  # while it reloads
            # The next change waits for this reload (a file changed while it is read would fail it).
            live.wait_for_stderr(f"reload: {1 + (n + 1) % 2} signature(s)", after=mark)
        assert live.stop() == 0
        ids = [live.finding()["SigMetadata"]["ID"] for _ in range(rounds * per_round)]
        assert ids == ["RMM-1"] * (rounds * per_round)
        summary = live.wait_for_stderr("summary:")
        assert f"RMM-1={rounds * per_round}" in summary and "0 error(s)" in summary
        assert live.stderr.count("reload: ") >= 2 and "reload failed" not in live.stderr
