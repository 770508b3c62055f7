"""Every hook is documented (when, order, parameters, result), described in the README with its
arguments, and implemented somewhere in this tree with arguments the hook has."""

import ast
import functools
import inspect
import re
from pathlib import Path

import pytest

from tracee import hookspecs

ROOT = Path(__file__).resolve().parents[2]
HOOKS = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("tracee_")]
README = (ROOT / "README.md").read_text()
# The README's hook table: | `hook` | `arg`, `arg` | what it adds |
TABLE = {m["hook"]: re.findall(r"`(\w+)`", m["args"])
         for m in re.finditer(r"^\| `(?P<hook>tracee_\w+)` \| (?P<args>[^|]*) \|", README, re.M)}


def _params(hook: str) -> list[str]:
    return list(inspect.signature(getattr(hookspecs, hook)).parameters)


def _doc(hook: str) -> str:
    return inspect.getdoc(getattr(hookspecs, hook)) or ""


def test_there_are_hooks_for_each_kind_of_plugin():
    assert {"tracee_register_signatures", "tracee_register_inputs", "tracee_register_outputs",
            "tracee_register_enrichers", "tracee_register_rule_loaders", "tracee_register_rule_paths",
            "tracee_cli_options", "tracee_register_commands"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_says_when_it_is_called_and_in_what_order(hook):
    doc = _doc(hook)
    assert len(doc.splitlines()[0]) > 20, "a one-line summary first"
    assert "Called " in doc, "when the core calls it"
    assert "order" in doc, "in what order implementations (or what they register) are used"


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_documents_exactly_its_parameters_and_its_result(hook):
    doc = _doc(hook)
    documented = re.findall(r"^:param (\w+):", doc, re.M)
    assert documented == _params(hook), f"{hook}: :param lines {documented} vs arguments {_params(hook)}"
    assert re.search(r"^:returns: ", doc, re.M)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_returns_nothing_and_says_so(hook):
    # The host reports a hook that returns a value; the specs and their docs must agree.
    assert inspect.signature(getattr(hookspecs, hook)).return_annotation in (None, "None")
    assert ":returns: None." in _doc(hook)


def test_the_readme_table_lists_every_hook_and_no_other():
    assert sorted(TABLE) == sorted(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_the_readme_table_gives_each_hooks_arguments(hook):
    assert TABLE[hook] == _params(hook)


@functools.cache
def _implementations() -> list[tuple[Path, str, list[str]]]:
    """(file, hook, argument names) of every `def tracee_*` in the tree outside the specs."""
    found = []
    sources = [*ROOT.glob("core/**/*.py"), *ROOT.glob("plugins/*/src/**/*.py"), *ROOT.glob("tests/**/*.py")]
    for path in sources:
        if path.name == "hookspecs.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name in HOOKS:
                args = [a.arg for a in node.args.args if a.arg != "self"]
                found.append((path.relative_to(ROOT), node.name, args))
    return found


@pytest.mark.parametrize("hook", HOOKS)
def test_hook_is_implemented_by_some_plugin_or_test(hook):
    assert any(name == hook for _, name, _ in _implementations()), f"no plugin or test implements {hook}"


def test_implementations_in_this_tree_take_only_arguments_their_hook_has():
    wrong = [(str(path), hook, args) for path, hook, args in _implementations()
             if not set(args) <= set(_params(hook))]
    assert wrong == []
