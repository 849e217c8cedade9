"""`agentrt serve-demo` as a real process: two lines with the URLs, the APIs answer, SIGTERM
stops it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from agentrt_demo import DEMO_API_KEY
from tests.cli.conftest import REPO


def test_serve_demo_prints_urls_serves_and_stops(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agentrt", "serve-demo", "--state", str(tmp_path)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline().strip() for _ in range(2)]
        assert re.fullmatch(r"flights http://127\.0\.0\.1:\d+", lines[0]), lines
        assert re.fullmatch(r"hotels http://127\.0\.0\.1:\d+", lines[1]), lines
        flights, hotels = lines[0].split()[1], lines[1].split()[1]
        headers = {"X-API-Key": DEMO_API_KEY}
        assert httpx.get(f"{flights}/airports/LIS", headers=headers).json()["city"] == "Lisbon"
        assert httpx.get(f"{hotels}/hotels/MAD-04", headers=headers).status_code == 200
        assert httpx.get(f"{flights}/airports/LIS").status_code == 401  # the key is needed
        assert (tmp_path / "flights.sqlite").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    assert code == 0
    assert proc.stderr is not None
    assert DEMO_API_KEY in proc.stderr.read()  # the documented demo key is shown
