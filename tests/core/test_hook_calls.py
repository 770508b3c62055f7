"""Hooks are called the way pluggy calls them (order, arguments), one plugin at a time, and each
thing a plugin provides is recorded once however often a hook is collected."""

import logging
import json

import click
import pytest

from tracee import EventSelector, Signature, SignatureMetadata, hookimpl
from tracee.testing import LogCapture
from tracee.errors import FatalError
from tracee.plugins import PluginHost, PluginInfo

from conftest import load_plugins

ORDER_PLUGINS = ("order-a-last", "order-b-plain", "tracee-plugin-tryfirst")  # entry point or distribution


CORE = {"file-input", "gob-input", "loss-alerts", "rule-workers", "stdout-output"}  # the core's own entry points: always loaded


class Messages:
    """What tracee printed from now on (`getvalue()`, like the StringIO it replaces)."""

    open: list["Messages"] = []

    def __init__(self) -> None:
        self.capture = LogCapture()
        logging.getLogger("tracee").addHandler(self.capture)
        Messages.open.append(self)

    def getvalue(self) -> str:
        return self.capture.text


@pytest.fixture(autouse=True)
def _detach_messages():
    yield
    for messages in Messages.open:
        logging.getLogger("tracee").removeHandler(messages.capture)
    Messages.open.clear()


def _marker(sig_id: str) -> Signature:
    class Marker(Signature):
        metadata = SignatureMetadata(id=sig_id, name=sig_id)
        selected_events = [EventSelector("ptrace")]

    return Marker()


def _info(name: str) -> PluginInfo:
    return PluginInfo(name, f"tracee-{name}", "0.1", name)


def test_installed_plugins_run_tryfirst_first_and_trylast_last(cli, fixture_plugins):
    # Entry points sort as order-a-last (trylast), order-b-plain, order-c-first (tryfirst): the
    # order pluggy calls them in is neither name order nor get_hookimpls() order.
    result = cli("tracee", "list", extra_path=fixture_plugins,
                 env={"TRACEE_LOAD_PLUGINS": ",".join(ORDER_PLUGINS)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Loaded 3 signature(s): [ORDER-FIRST ORDER-PLAIN ORDER-LAST]"
    assert result.stderr == ""


def test_the_order_is_the_one_pluggy_itself_calls(fixture_plugins, monkeypatch):
    monkeypatch.syspath_prepend(fixture_plugins)
    monkeypatch.setenv("TRACEE_LOAD_PLUGINS", ",".join(ORDER_PLUGINS))
    host = PluginHost().load_entry_points()
    ours = [sig.get_metadata().id for _, sig in host.signatures()]
    by_pluggy: list[Signature] = []
    host.pm.hook.tracee_register_signatures(register=by_pluggy.append)  # pluggy's own _multicall
    assert ours == [sig.get_metadata().id for sig in by_pluggy] == ["ORDER-FIRST", "ORDER-PLAIN", "ORDER-LAST"]
    assert [info.name for info, _ in host.signatures()] == ["order-c-first", "order-b-plain", "order-a-last"]


def test_plain_plugins_run_most_recently_registered_first_as_in_pluggy():
    host = PluginHost(load=())
    for name in ("one", "two", "three"):
        plugin = type(name, (), {"tracee_register_signatures": hookimpl(
            lambda self, register, name=name: register(_marker(name.upper())))})()
        host.register(plugin, _info(name))
    assert [info.name for info, _ in host.signatures()] == ["three", "two", "one"]


def test_an_installed_wrapper_is_refused_with_one_line_and_the_others_load(cli, fixture_plugins):
    result = cli("tracee", "list", extra_path=fixture_plugins,
                 env={"TRACEE_LOAD_PLUGINS": "wrapper,order-b-plain"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "tracee: error: plugin 'wrapper' (tracee-plugin-wrapper 0.0.1, tracee_plugin_wrapper) failed to load: "
        "tracee_register_signatures is a hook wrapper (wrapper=True), which tracee does not run: its hooks "
        "register things and return nothing to wrap; order it with tryfirst=True or trylast=True instead; "
        "skipped\n")
    assert result.stdout.splitlines()[0] == "Loaded 1 signature(s): [ORDER-PLAIN]"
    strict = cli("tracee", "list", "--strict-plugins", extra_path=fixture_plugins,
                 env={"TRACEE_LOAD_PLUGINS": "wrapper"})
    assert strict.returncode == 1 and "[--strict-plugins]" in strict.stderr and "Traceback" not in strict.stderr


def test_an_old_style_hookwrapper_is_refused_too():
    class Old:
        @hookimpl(hookwrapper=True)
        def tracee_register_outputs(self, register):
            yield

    out = Messages()
    host = PluginHost(load=())
    assert not host.register(Old(), _info("old"))
    assert "tracee_register_outputs is a hook wrapper (hookwrapper=True)" in out.getvalue()
    assert "old" not in host.plugins and host.pm.get_plugin("old") is None


def test_collecting_a_hook_twice_records_what_each_plugin_provides_once(monkeypatch):
    host = PluginHost().load_entry_points()
    for _ in range(2):
        host.signatures(), host.outputs(), host.inputs(), host.cli_options("tracee run"), host.cli_options("tracee-rules")
    assert host.plugins["sig-example"].provides == {"signatures": ["EXAMPLE-1", "EXAMPLE-BOOM"]}
    assert host.plugins["output-stdout"].provides == {"outputs": ["template"]}
    assert host.plugins["stdout-output"].provides == {"outputs": ["stdout", "json"]}
    assert host.plugins["file-input"].provides == {"inputs": ["file"], "cli_options": ["--max-line-bytes"]}


def test_tracee_plugins_lists_each_thing_once(cli):
    result = cli("tracee", "plugins", "--json")
    assert result.returncode == 0, result.stderr
    for plugin in json.loads(result.stdout):
        for kind, what in plugin["provides"].items():
            assert len(what) == len(set(what)), (plugin["name"], kind, what)


def test_an_implementation_gets_only_the_arguments_it_names():
    seen = []

    class Partial:
        @hookimpl
        def tracee_cli_options(self, register):  # leaves out `command`, as pluggy allows
            seen.append("called")
            register(click.Option(["--partial-flag"], is_flag=True))

    host = PluginHost(load=())
    host.register(Partial(), _info("partial"))
    assert [item.option.opts for _, item in host.cli_options("tracee run")] == [["--partial-flag"]]
    assert seen == ["called"]


def test_a_hook_that_returns_a_value_is_reported_and_the_value_ignored():
    class OldStyle:
        @hookimpl
        def tracee_cli_options(self):  # the old contract: return a list of options
            return [click.Option(["--old"])]

    out = Messages()
    host = PluginHost(load=())
    host.register(OldStyle(), _info("old-style"))
    assert host.cli_options() == []
    assert ("plugin 'old-style' (tracee-old-style 0.1): tracee_cli_options returned a list, which is ignored: "
            "tracee hooks return nothing (register each item with register(...)); skipped") in out.getvalue()
    with pytest.raises(FatalError, match=r"returned a list.*\[--strict-plugins\]"):
        strict = PluginHost(load=(), strict=True)
        strict.register(OldStyle(), _info("old-style"))
        strict.cli_options()


def test_registering_the_wrong_kind_of_thing_is_reported_not_a_traceback():
    class Wrong:
        @hookimpl
        def tracee_register_outputs(self, register):
            register("stdout")

        @hookimpl
        def tracee_cli_options(self, register):
            register(["--not-an-option"])

    out = Messages()
    host = PluginHost(load=())
    host.register(Wrong(), _info("wrong"))
    assert host.outputs() == {} and host.cli_options() == []
    assert "tracee_register_outputs registered a str, which is not one of its outputs; skipped" in out.getvalue()
    assert "tracee_cli_options raised TypeError: register() takes a click.Option, not list" in out.getvalue()


def test_an_optional_hook_unknown_here_does_not_reject_the_plugin():
    class FromTheFuture:
        @hookimpl(optionalhook=True)
        def tracee_register_something_new(self, register):
            raise AssertionError("never called")

        @hookimpl
        def tracee_register_signatures(self, register):
            register(_marker("NEW-1"))

    host = PluginHost(load=())
    assert host.register(FromTheFuture(), _info("future"))
    assert [sig.get_metadata().id for _, sig in host.signatures()] == ["NEW-1"]


def test_a_plugin_command_cannot_replace_an_existing_one():
    from tracee.cli import build_cli

    class Hijack:
        @hookimpl
        def tracee_register_commands(self, cli):
            cli.add_command(click.Command("run", callback=lambda: None))
            cli.add_command(click.Command("hello", callback=lambda: None))

    out = Messages()
    host = PluginHost(load=())
    host.register(Hijack(), _info("hijack"))
    cli = build_cli(host)
    assert cli.commands["run"].help.startswith("Detect")
    assert "hello" in cli.commands and host.plugins["hijack"].provides == {"commands": ["hello"]}
    assert "tracee_register_commands replaced the command 'run', which is kept as it was" in out.getvalue()


class TestLoadPlugins:
    """TRACEE_LOAD_PLUGINS, as datasette's DATASETTE_LOAD_PLUGINS: unset = all, empty = none."""

    def names(self, monkeypatch, value):
        if value is None:
            monkeypatch.delenv("TRACEE_LOAD_PLUGINS", raising=False)
        else:
            monkeypatch.setenv("TRACEE_LOAD_PLUGINS", value)
        out = Messages()
        host = PluginHost().load_entry_points()
        return set(host.plugins), out.getvalue()

    def test_empty_loads_only_the_cores_own_entry_points(self, monkeypatch):
        assert self.names(monkeypatch, "") == (CORE, "")

    @pytest.mark.parametrize("value", ["sig-example", "tracee-sig-example", " Tracee_Sig_Example , "])
    def test_names_are_entry_points_or_distributions(self, monkeypatch, value):
        assert self.names(monkeypatch, value) == (CORE | {"sig-example"}, "")

    def test_unset_loads_everything_installed(self, monkeypatch):
        loaded, _ = self.names(monkeypatch, None)
        assert CORE | {"output-stdout", "sig-example"} <= loaded

    def test_a_name_nothing_has_is_warned_about(self, monkeypatch):
        loaded, err = self.names(monkeypatch, "sig-exmaple")
        assert loaded == CORE
        assert err == ("tracee: warning: TRACEE_LOAD_PLUGINS: no installed plugin is named 'sig-exmaple' "
                       "(entry point or distribution; see 'tracee plugins')\n")

    def test_the_command_line_honours_it(self, cli):
        result = cli("tracee", "plugins", "--json", env={"TRACEE_LOAD_PLUGINS": "output-stdout"})
        assert result.returncode == 0, result.stderr
        assert sorted(p["distribution"] for p in json.loads(result.stdout)) == \
            ["tracee"] * len(CORE) + ["tracee-output-stdout"]  # the core's own entry points, and the one named

    def test_disable_wins_over_load(self, monkeypatch):
        monkeypatch.setenv("TRACEE_DISABLE_PLUGINS", "sig-example")
        assert self.names(monkeypatch, "sig-example,output-stdout")[0] == CORE | {"output-stdout"}


def test_core_tests_see_only_the_plugins_they_name(cli):
    """The autouse fixture in conftest: whatever else is installed (py311-core installs everything)."""
    result = cli("tracee", "plugins", "--json")
    assert sorted(p["distribution"] for p in json.loads(result.stdout)) == \
        ["tracee"] * len(CORE) + ["tracee-output-stdout", "tracee-sig-example"]
    assert load_plugins()["TRACEE_LOAD_PLUGINS"] == "tracee-output-stdout,tracee-sig-example"


class TraceeRulesFlags:
    """A plugin that gives `tracee-rules` a flag of its own and turns it into an output."""

    @hookimpl
    def tracee_cli_options(self, command, register):
        if command == "tracee-rules":
            register(click.Option(["--also-json", "also_json"], is_flag=True),
                     apply=lambda value, run: run.outputs.append("json"))
            register(click.Option(["--rules-tag", "rules_tag"]))
        else:
            register(click.Option(["--run-only"], is_flag=True))


def _tracee_rules(host, *args):
    from tracee.compat import build

    with pytest.raises(SystemExit) as exit_:
        build(host).main(list(args), prog_name="tracee-rules", standalone_mode=False)
    return exit_.value.code


@pytest.mark.parametrize("flags, outputs", [([], 1), (["--also-json"], 2)])
def test_tracee_rules_flags_come_from_plugins_and_apply_only_when_given(data, capsys, flags, outputs):
    host = PluginHost().load_entry_points()
    host.register(TraceeRulesFlags(), _info("rules-flags"))
    code = _tracee_rules(host, "--input-tracee", f"file:{data / 'shadow.jsonl'}", "--input-tracee", "format:json",
                         "--rules", "EXAMPLE-1", *flags)
    out = capsys.readouterr().out
    assert code == 0
    assert out.count("*** Detection ***") == 1  # the stdout block, as without the plugin
    assert out.count('"SigMetadata"') == outputs - 1  # and one rawjson line only with --also-json
    assert host.plugins["rules-flags"].provides == {"tracee_rules_options": ["--also-json", "--rules-tag"]}


def test_run_options_do_not_leak_into_tracee_rules():
    from tracee.compat import build

    host = PluginHost(load=())
    host.register(TraceeRulesFlags(), _info("rules-flags"))
    flags = {flag for param in build(host).params for flag in param.opts}
    assert {"--also-json", "--rules-tag"} <= flags and "--run-only" not in flags


def test_a_plugin_option_that_clashes_is_a_start_up_error_naming_the_plugin():
    from tracee.compat import build

    class Clash:
        @hookimpl
        def tracee_cli_options(self, register):
            register(click.Option(["--rules"]))

    host = PluginHost(load=())
    host.register(Clash(), _info("clash"))
    with pytest.raises(FatalError, match="plugin 'clash': option --rules clashes with an existing option of tracee-rules"):
        build(host)
