"""`agentrt tools` through main(argv): listing, --json, --check exit codes, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agentrt.cli import main
from tests.cli.conftest import FLIGHTS, HOTELS


def test_tools_json_lists_both_specs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", FLIGHTS, HOTELS, "--json"]) == 0
    tools = json.loads(capsys.readouterr().out)
    names = {t["name"]: t for t in tools}
    assert {"search_flight_offers", "create_flight_booking", "search_hotels",
            "create_hotel_booking"} <= set(names)
    assert names["create_flight_booking"]["side_effect"] == "unsafe"
    assert names["search_flight_offers"]["method"] == "GET"
    assert "origin" in names["search_flight_offers"]["parameters"]["properties"]


def test_tools_text_marks_unsafe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", FLIGHTS]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith("! create_flight_booking") for line in out.splitlines())


def test_check_good_spec_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--check", FLIGHTS, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report[0]["problems"] == [] and report[0]["operations"] >= 5


def test_check_broken_spec_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("openapi: 3.1.0\ninfo: {title: x}\npaths:\n  /a:\n    get:\n"
                      "      responses: {'200': {$ref: '#/components/responses/Nope'}}\n")
    assert main(["tools", "--check", str(broken), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0]["problems"], report


def test_missing_spec_is_one_line_error_with_hint(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentrt: error: ")
    assert "hint:" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 2


def test_verbose_shows_the_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "tools", str(tmp_path / "nope.yaml")]) == 2
    assert "Traceback" in capsys.readouterr().err
