"""Interfaces: ``agentrt serve-demo`` — the flight and hotel demo services on loopback until
Ctrl-C (or SIGTERM); prints one ``NAME URL`` line per service."""

from __future__ import annotations

import argparse
import sys
import tempfile

__all__ = ["DESCRIPTION", "add_arguments", "run"]

DESCRIPTION = ("Serve the demo flight and hotel APIs on 127.0.0.1 until stopped. The API key "
               "is printed on stderr.")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--state", default=None, metavar="DIR",
                   help="SQLite state directory (default: a temporary directory)")
    p.add_argument("--port-flights", type=int, default=0, metavar="N",
                   help="port of the flights API (0: any free port)")
    p.add_argument("--port-hotels", type=int, default=0, metavar="N",
                   help="port of the hotels API (0: any free port)")


def run(args: argparse.Namespace) -> int:
    import agentrt_demo  # the demo package sits above the library: only demo commands load it

    def out(line: str) -> None:
        print(line, flush=True)

    print(f"X-API-Key: {agentrt_demo.DEMO_API_KEY}   specs: "
          f"{agentrt_demo.spec_path('flights')} {agentrt_demo.spec_path('hotels')}",
          file=sys.stderr, flush=True)
    if args.state:
        agentrt_demo.serve_forever(args.state, args.port_flights, args.port_hotels, out=out)
    else:
        with tempfile.TemporaryDirectory(prefix="agentrt-demo-") as state:
            agentrt_demo.serve_forever(state, args.port_flights, args.port_hotels, out=out)
    return 0
