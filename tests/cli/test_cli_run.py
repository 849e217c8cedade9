"""`agentrt run` through main(argv) with a scripted model against the demo services over real
sockets: --json output with the tree, the side-effect policies, --save, and errors."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest

from agentrt.cli import main
from agentrt.search import RunResult
from agentrt_demo import DEMO_API_KEY, DemoServices
from tests.cli.conftest import FLIGHTS, booking_steps, flight_bookings, write_steps


def _argv(services: DemoServices, model: str, *extra: str) -> list[str]:
    return ["run", "Book the cheapest LIS-MAD flight for Ana Silva (ana.silva@example.com)", "--spec", FLIGHTS,
            "--base-url", services.flights_url, "--credential-env", "ApiKeyAuth=DEMO_KEY",
            "--model", model, *extra]


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_KEY", DEMO_API_KEY)


def test_run_json_books_and_returns_the_tree(services: DemoServices, day: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    model = write_steps(tmp_path / "steps.json", booking_steps(day))
    assert main([*_argv(services, model, "--policy", "allow", "--json")]) == 0
    captured = capsys.readouterr()
    result = RunResult.from_json(captured.out)  # stdout is the JSON result and nothing else
    assert result.status == "solved"
    assert [c.tool for c in result.calls] == ["search_flight_offers", "create_flight_booking"]
    [effect] = result.side_effects
    assert effect.state == "committed"
    ref = effect.body["booking_id"]
    assert result.answer == f"Booked {ref}"
    assert result.tree.children[0].tool == "search_flight_offers"
    assert (ref, "confirmed") in flight_bookings(services.state_dir) or \
        ref in dict(flight_bookings(services.state_dir))
    got = httpx.get(f"{services.flights_url}/bookings/{ref}",
                    headers={"X-API-Key": DEMO_API_KEY})
    assert got.status_code == 200
    assert DEMO_API_KEY not in captured.out + captured.err  # the secret never shows
    assert "→ search_flight_offers(" in captured.err  # the live search went to stderr


def test_run_policy_deny_sends_nothing(services: DemoServices, day: str, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    steps = [*booking_steps(day)[:2], {"answer": "I could not book it"}]
    model = write_steps(tmp_path / "steps.json", steps)
    assert main(_argv(services, model, "--policy", "deny")) == 0  # it answered, unbooked
    out = capsys.readouterr().out
    assert "create_flight_booking(" in out and "denied" in out
    assert "booking:" not in out
    assert flight_bookings(services.state_dir) == []


@pytest.mark.parametrize(("reply", "booked"), [("y\n", True), ("n\n", False), ("", False)])
def test_run_policy_confirm_reads_the_answer(services: DemoServices, day: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str],
                                             monkeypatch: pytest.MonkeyPatch, reply: str,
                                             booked: bool) -> None:
    steps = booking_steps(day, answer="done")
    model = write_steps(tmp_path / "steps.json", steps)
    monkeypatch.setattr("sys.stdin", io.StringIO(reply))
    main(_argv(services, model, "--policy", "confirm"))
    err = capsys.readouterr().err
    assert f"POST {services.flights_url}/bookings" in err  # the exact request was shown
    assert '"contact_email": "ana.silva@example.com"' in err
    assert DEMO_API_KEY not in err
    assert bool(flight_bookings(services.state_dir)) is booked


def test_run_save_appends_results(services: DemoServices, day: str, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs.jsonl"
    for i in range(2):
        model = write_steps(tmp_path / f"steps{i}.json", booking_steps(day))
        assert main(_argv(services, model, "--policy", "allow", "--save", str(runs))) == 0
    lines = runs.read_text().splitlines()
    assert len(lines) == 2
    assert all(RunResult.from_json(line).solved for line in lines)
    assert "status: solved" in capsys.readouterr().out


def test_bad_model_string_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "x", "--spec", FLIGHTS, "--model", "gpt:nowhere"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentrt: error: bad model 'gpt:nowhere'") and "Traceback" not in err
    assert "hint:" in err


def test_model_server_down_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["run", "x", "--spec", FLIGHTS, "--model", "openai:http://127.0.0.1:9/v1#m"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("agentrt: error: ") and "Traceback" not in err
    assert "model server" in err  # the hint names the likely cause
