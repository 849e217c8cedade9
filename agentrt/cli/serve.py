"""Interfaces: ``agentrt serve-demo`` — the flight and hotel demo services on loopback until
Ctrl-C (or SIGTERM); prints one ``NAME URL`` line per service."""

from __future__ import annotations

import argparse
import sys
import tempfile
from typing import Any

__all__ = ["add_parser", "run"]


def add_parser(sub: Any) -> None:
    p = sub.add_parser("serve-demo", help="serve the demo flight and hotel APIs",
                       description="Serve the demo flight and hotel APIs on 127.0.0.1 until "
                                   "stopped. The API key is printed on stderr.")
    p.add_argument("--state", default=None, metavar="DIR",
                   help="SQLite state directory (default: a temporary directory)")
    p.add_argument("--port-flights", type=int, default=0, metavar="N",
                   help="port of the flights API (0: any free port)")
    p.add_argument("--port-hotels", type=int, default=0, metavar="N",
                   help="port of the hotels API (0: any free port)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import agentrt_demo

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
