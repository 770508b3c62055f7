"""No secret printed: credentials in URLs are masked everywhere; rule-dir links are not followed."""

from __future__ import annotations

import logging

import pytest

from tracee import log as logs
from tracee.redact import redact_text, redact_url
from tracee.runner import _rule_files

from conftest import run_cli


@pytest.mark.parametrize("url,shown", [
    ("http://user:pass@host/x", "http://***@host/x"),
    ("https://tok@host:8443/p?q=1", "https://***@host:8443/p?q=1"),
    ("http://u:p@ss@host/", "http://***@host/"),
    ("http://host/a@b", "http://host/a@b"),
    ("http://[::1]:9/x", "http://[::1]:9/x"),
    ("http://u:p@[::1]:9/x", "http://***@[::1]:9/x"),
    ("http://u:p@host:bad/", "http://***@host:bad/"),
])
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_text_masks_every_url_in_a_message():
    text = "webhook http://a:secret1@h1/ failed, then https://b:secret2@h2:1/x too"
    assert "secret" not in redact_text(text)
    assert redact_text(text) == "webhook http://***@h1/ failed, then https://***@h2:1/x too"


def test_log_messages_are_redacted_whatever_the_plugin_wrote(capsys):
    logs.setup()
    logging.getLogger("tracee.someplugin").error("cannot reach http://admin:hunter2@10.0.0.1/hook")
    err = capsys.readouterr().err
    assert "hunter2" not in err and "http://***@10.0.0.1/hook" in err


def test_a_url_with_credentials_in_a_usage_error_is_redacted(tmp_path):
    events = tmp_path / "e.jsonl"
    events.write_text("")
    r = run_cli("tracee", "run", "--input", f"file:{events}", "--output", "nosuch:http://user:topsecret@host/")
    assert r.returncode == 2
    assert "topsecret" not in r.stderr and "http://***@host/" in r.stderr


def test_rule_files_must_be_regular_files_inside_the_directory(tmp_path, monkeypatch, tracee_logs):
    secret = tmp_path / "root-only.rego"
    secret.write_text("package secret\npassword := \"hunter2\"\n")
    rules = tmp_path / "rules"
    (rules / "sub").mkdir(parents=True)
    (rules / "good.rego").write_text("package ok\n")
    (rules / "sub" / "nested.rego").write_text("package ok2\n")
    (rules / "link.rego").symlink_to(secret)
    (rules / "linkdir").symlink_to(tmp_path)
    import os
    os.mkfifo(rules / "fifo.rego")
    found = _rule_files(rules, {".rego"})
    assert found == [rules / "good.rego", rules / "sub" / "nested.rego"]
    text = tracee_logs.text
    assert "link.rego is a symbolic link; not read (TRACEE_RULES_FOLLOW_SYMLINKS=1" in text
    assert "fifo.rego is not a regular file" in text and "linkdir is a symbolic link to a directory" in text
    assert "hunter2" not in text
    monkeypatch.setenv("TRACEE_RULES_FOLLOW_SYMLINKS", "1")
    assert rules / "link.rego" in _rule_files(rules, {".rego"})
