"""Every hook is documented, described in the README, and implemented somewhere in this tree."""

import inspect
from pathlib import Path

import pytest

from tracee import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("tracee_")]


def test_there_are_hooks_for_each_kind_of_plugin():
    assert {"tracee_register_signatures", "tracee_register_inputs", "tracee_register_outputs",
            "tracee_register_enrichers", "tracee_register_rule_loaders", "tracee_register_rule_paths",
            "tracee_cli_options", "tracee_register_commands"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_has_a_docstring(hook):
    assert len((getattr(hookspecs, hook).__doc__ or "").strip()) > 40


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_in_the_readme(hook):
    assert f"`{hook}`" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_by_some_plugin_or_test(hook):
    sources = [*ROOT.glob("core/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("tests/**/*.py")]
    users = [p for p in sources if f"def {hook}(" in p.read_text() and p.name != "hookspecs.py"]
    assert users, f"no plugin or test implements {hook}"
