"""Every ``agentrt …`` command the README and examples/*.md show is one the parser accepts.

Commands are taken from shell code blocks (```bash / sh / console / shell, continuation lines
joined, ``&&``/``;``/``|`` chains split) and from inline code spans, and parsed — not run —
by ``agentrt.cli.parse_args``. The README's ```text synopsis (``agentrt demo [--model M] …``)
is checked option by option: each option it names must exist on that subcommand.
"""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from agentrt.cli import COMMANDS, build_parser, parse_args
from tests.cli.conftest import REPO

DOCS = sorted([REPO / "README.md", *(REPO / "examples").glob("*.md")])
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_SHELL = {"bash", "sh", "shell", "console", "zsh"}
_INLINE = re.compile(r"(?<!`)`(agentrt [^`]+)`(?!`)")


def _shell_commands(block: str) -> list[str]:
    joined = re.sub(r"\\\n\s*", " ", block)
    commands = []
    for line in joined.splitlines():
        line = line.strip().removeprefix("$ ")
        for part in re.split(r"\s*(?:&&|\|\||;|\|)\s*", line):
            if part.startswith("agentrt "):
                commands.append(part)
    return commands


def doc_commands() -> list[tuple[str, str]]:
    """(where, command) for every runnable ``agentrt`` command in the docs."""
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        name = doc.relative_to(REPO).as_posix()
        for match in _FENCE.finditer(text):
            if match.group(1) in _SHELL:
                found += [(name, c) for c in _shell_commands(match.group(2))]
        prose = _FENCE.sub("", text)
        found += [(name, m.group(1)) for m in _INLINE.finditer(prose)]
    return found


def synopsis_lines() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    return [line.strip() for m in _FENCE.finditer(text) if m.group(1) == "text"
            for line in m.group(2).splitlines() if line.strip().startswith("agentrt ")]


def test_the_docs_show_commands() -> None:
    commands = [c for _, c in doc_commands()]
    assert any(c.startswith("agentrt run ") for c in commands)
    assert any("vllm:" in c for c in commands)  # examples/vllm.md is read
    assert len(synopsis_lines()) == len(COMMANDS)  # the README lists every subcommand


@pytest.mark.parametrize(("where", "command"), doc_commands(),
                         ids=[f"{w}:{c[:60]}" for w, c in doc_commands()])
def test_documented_command_parses(where: str, command: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    argv = shlex.split(command)[1:]
    try:
        args = parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{where}: `{command}` is rejected (exit {exc.code}): "
                    f"{capsys.readouterr().err.strip()}")
    assert getattr(args, "handler", None) is not None or argv[0] in ("--help", "--version")


def _options(parser: argparse.ArgumentParser, command: str) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {s for a in sub.choices[command]._actions for s in a.option_strings}


@pytest.mark.parametrize("line", synopsis_lines())
def test_synopsis_names_real_options(line: str) -> None:
    command = line.split()[1]
    assert command in COMMANDS, line
    named = set(re.findall(r"(?<![\w-])--?[a-z][\w-]*", line.split("  ")[0]))
    missing = named - _options(build_parser(only=command), command)
    assert not missing, f"README synopsis `{line}` names options `{command}` lacks: {missing}"


def test_a_rejected_command_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """The check itself: the old examples/vllm.md form (spec as a positional) is refused."""
    with pytest.raises(SystemExit):
        parse_args(shlex.split("run --model vllm:http://gpu-box:8000/v1#m specs/flights.yaml "
                               "'…'"))
    assert "--spec" in capsys.readouterr().err
