"""The ``agentrt`` command itself: ``--version``, the global options before or after the
subcommand, ``--help`` that loads no heavy module, and usage errors as exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import version

import pytest

import agentrt
from agentrt.cli import COMMANDS, main, parse_args
from tests.cli.conftest import FLIGHTS, REPO


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"agentrt {agentrt.__version__}"
    assert agentrt.__version__ == version("agentrt")  # one version: the package's


@pytest.mark.parametrize("argv", [
    ["-v", "tools", FLIGHTS],
    ["tools", FLIGHTS, "-v"],
    ["tools", "-v", FLIGHTS],
    ["--verbose", "--log-json", "tools", FLIGHTS],
    ["tools", FLIGHTS, "--verbose", "--log-json"],
    ["--log-json", "tools", FLIGHTS, "-v"],
])
def test_global_options_before_or_after_the_subcommand(argv: list[str]) -> None:
    args = parse_args(argv)
    assert args.verbose is True and args.command == "tools"
    assert args.log_json is ("--log-json" in argv or None)


def test_global_options_default_off() -> None:
    args = parse_args(["tools", FLIGHTS])
    assert args.verbose is False and args.log_json is None


def test_verbose_after_the_subcommand_runs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", FLIGHTS, "--json", "-v"]) == 0
    assert {t["name"] for t in json.loads(capsys.readouterr().out)} >= {"search_flight_offers"}


def test_usage_errors_are_exit_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["run"]) == 2  # the request and --spec are required
    assert "required" in capsys.readouterr().err
    assert main([]) == 2  # no command: the help, on stdout
    assert "COMMAND" in capsys.readouterr().out


def test_every_subcommand_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    for name in COMMANDS:
        assert main([name, "--help"]) == 0, name
        out = capsys.readouterr().out
        assert out.startswith(f"usage: agentrt {name}"), name
        assert "--verbose" in out, name
    assert main(["run", "--help"]) == 0
    assert "llamacpp:http://host:8080/v1#model" in capsys.readouterr().out  # the forms table


def test_help_loads_no_heavy_module() -> None:
    code = ("import sys\n"
            "from agentrt.cli import main\n"
            "status = main(['--help'])\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('httpx', 'jsonschema', 'pydantic', 'structlog', 'llama_cpp') "
            "or m.startswith(('agentrt.backends', 'agentrt.cli.run', 'agentrt_demo')))\n"
            "print(status, heavy, file=sys.stderr)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True, timeout=60)
    assert "demo" in out.stdout and "export" in out.stdout  # every command is listed
    assert out.stderr.strip() == "0 []"
