"""Discovery: entry points loaded one at a time, failures reported and skipped, strict mode, disabling."""

import json

import pytest

from tracee.errors import FatalError
from tracee.plugins import PluginHost

from conftest import load_plugins


def test_installed_plugins_are_discovered_with_versions(cli):
    result = cli("tracee", "plugins", "--json")
    assert result.returncode == 0, result.stderr
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["output-stdout"]["version"] == "0.1.0"
    assert plugins["output-stdout"]["distribution"] == "tracee-output-stdout"
    assert plugins["output-stdout"]["provides"]["outputs"] == ["template"]
    # The core's own features are plugins too, registered through the same door.
    assert plugins["file-input"]["distribution"] == plugins["stdout-output"]["distribution"] == "tracee"
    assert plugins["file-input"]["provides"]["inputs"] == ["file"]
    assert plugins["gob-input"]["distribution"] == "tracee" and plugins["gob-input"]["provides"]["inputs"] == ["gob"]
    assert plugins["stdout-output"]["provides"]["outputs"] == ["stdout", "json"]
    example = next(p for p in plugins.values() if p["distribution"] == "tracee-sig-example")
    assert "EXAMPLE-1" in example["provides"]["signatures"]


def test_broken_and_misspelled_plugins_are_reported_and_skipped(cli, data, fixture_plugins):
    result = cli("tracee", "run", "--input", f"file:{data / 'shadow.jsonl'}", "--output", "json",
                 "--rules", "EXAMPLE-1", extra_path=fixture_plugins, env=load_plugins("broken", "typo"))
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert ("plugin 'broken' (tracee-plugin-broken 0.0.1, tracee_plugin_broken) failed to load: "
            "ModuleNotFoundError: No module named 'tracee_dependency_that_is_not_installed'; skipped") in err
    assert ("plugin 'typo' (tracee-plugin-typo 0.0.1, tracee_plugin_typo) failed to load: unknown hook "
            "'tracee_register_signature' (did you mean 'tracee_register_signatures'?); skipped") in err
    assert "Traceback" not in err
    assert [json.loads(line)["SigMetadata"]["ID"] for line in result.stdout.splitlines()] == ["EXAMPLE-1"]


@pytest.mark.parametrize("how", [["--strict-plugins"], []])
def test_strict_plugins_makes_a_failure_fatal(cli, data, fixture_plugins, how):
    env = load_plugins("broken", "typo") | ({} if how else {"TRACEE_STRICT_PLUGINS": "1"})
    result = cli("tracee", "run", *how, "--input", f"file:{data / 'shadow.jsonl'}",
                     extra_path=fixture_plugins, env=env)
    assert result.returncode == 1
    assert result.stderr.startswith("tracee: error: plugin 'broken'")
    assert "[--strict-plugins]" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


def test_disable_plugins_by_name(cli, fixture_plugins):
    result = cli("tracee", "list", extra_path=fixture_plugins,
                 env=load_plugins("broken", "typo") | {"TRACEE_DISABLE_PLUGINS": "broken,typo,sig-example"})
    assert result.returncode == 0
    assert result.stderr == ""
    assert "EXAMPLE-1" not in result.stdout


def test_duplicate_signature_ids_name_both_providers(tracee_logs):
    from tracee import EventSelector, Signature, SignatureMetadata, hookimpl
    from tracee.plugins import PluginInfo
    from tracee.runner import load_signatures

    class One(Signature):
        metadata = SignatureMetadata(id="DUP-1", name="one")
        selected_events = [EventSelector("ptrace")]

    class PackA:
        @hookimpl
        def tracee_register_signatures(self, register):
            register(One())

    class PackB:
        @hookimpl
        def tracee_register_signatures(self, register):
            register(One())

    host = PluginHost(strict=False)
    host.register(PackA(), PluginInfo("pack-a", "tracee-sig-a", "1.0", "a"))
    host.register(PackB(), PluginInfo("pack-b", "tracee-sig-b", "2.0", "b"))
    loaded = load_signatures(host)
    # pluggy calls the most recently registered plugin first, and the first one called is kept.
    assert [s.provider for s in loaded] == ["pack-b"]
    assert "signature ID DUP-1 is provided twice: by pack-b and by pack-a" in tracee_logs.text
    strict = PluginHost(strict=True)
    strict.register(PackA(), PluginInfo("pack-a", "tracee-sig-a", "1.0", "a"))
    strict.register(PackB(), PluginInfo("pack-b", "tracee-sig-b", "2.0", "b"))
    with pytest.raises(FatalError, match="DUP-1 is provided twice"):
        load_signatures(strict)


def test_a_hook_that_raises_is_reported_and_skipped(tracee_logs):
    from tracee import hookimpl
    from tracee.plugins import PluginInfo

    class Raises:
        @hookimpl
        def tracee_register_outputs(self, register):
            raise RuntimeError("cannot start")

    host = PluginHost(strict=False).load_entry_points()
    host.register(Raises(), PluginInfo("raiser", "tracee-raiser", "0.1", "x"))
    outputs = host.outputs()
    assert "stdout" in outputs
    assert "plugin 'raiser' (tracee-raiser 0.1): tracee_register_outputs raised RuntimeError: cannot start" in tracee_logs.text


def test_enrichers_run_before_dispatch_and_failures_are_counted(tracee_logs):
    from tracee import Enricher, EventSelector, Signature, SignatureMetadata, hookimpl
    from tracee.engine import Engine
    from tracee.plugins import PluginInfo
    from tracee.testing import FindingsCollector, make_event

    class Labels:
        @hookimpl
        def tracee_register_enrichers(self, register):
            register(Enricher("upper", lambda e: setattr(e, "container_name", e.process_name.upper())))
            register(Enricher("broken", lambda e: 1 / 0))

    class Sees(Signature):
        metadata = SignatureMetadata(id="S-1", name="sees")
        selected_events = [EventSelector("ptrace")]

        def on_event(self, event):
            self.match(event, {"name": event.container_name})

    host = PluginHost(strict=False)
    host.register(Labels(), PluginInfo("labels", "tracee-labels", "0.1", "x"))
    findings = FindingsCollector()
    engine = Engine([Sees()], findings, enrichers=[e for _, e in host.enrichers()])
    engine.run([make_event("ptrace", context={"process_name": "curl"}), make_event("openat")] * 2)
    assert [f.data for f in findings] == [{"name": "CURL"}] * 2
    assert engine.stats.enricher_errors == {"broken": 2}  # only events some signature selects
    assert tracee_logs.text.count("enricher broken failed: ZeroDivisionError") == 1
