"""Interfaces: ``agentrt demo`` — the flight and hotel services on loopback, the embedded model,
and one booking request run end to end (search → choose → book) with the search shown live.

Exit 0 when the run is solved and at least one booking was committed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta
from typing import Any

from agentrt.cli.common import add_model_arg, close_backend, load_model, run_async
from agentrt.cli.run import add_memory_options, demonstrations_arg, remember_run

__all__ = ["DEFAULT_REQUEST", "DESCRIPTION", "add_arguments", "default_request", "demo_budget",
           "demo_instructions", "run"]

DESCRIPTION = ("Start the flight and hotel demo services, load the model and run a booking "
               "request end to end, showing the search.")

#: The default request; ``{day}`` and ``{day2}`` are dates inside the demo inventory.
DEFAULT_REQUEST = (
    "Book the cheapest economy flight from LIS to MAD on {day} for Ana Silva "
    "(born 1990-04-12, email ana.silva@example.com): search the flight offers, then book the "
    "cheapest offer. Then book the cheapest hotel room in Madrid from {day} to {day2} for "
    "Ana Silva: search hotels, then book the cheapest room. Answer with both booking "
    "references."
)
#: how many days after the demo's "today" the default trip starts (inventory: 120 days)
DAYS_AHEAD = 21


def default_request(today: date) -> str:
    """The default request with concrete dates three weeks after ``today``."""
    day = today + timedelta(days=DAYS_AHEAD)
    return DEFAULT_REQUEST.format(day=day.isoformat(), day2=(day + timedelta(days=2)).isoformat())


def demo_instructions(today: date) -> str:
    """What the model is told about the demo's world (the date, and how its APIs fit)."""
    return (f"Today is {today.isoformat()}. Airports are given as IATA codes (LIS, MAD, ...): "
            "pass them to search_flight_offers directly. Book a flight with the offer_id of an "
            "offer from search_flight_offers; book a hotel with a room_id from search_hotels.")


def demo_budget() -> Any:
    """Limits that let a small CPU model finish the demo without running away."""
    from agentrt.search import Budget

    return Budget(max_seconds=900)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model_arg(p)
    p.add_argument("--request", "-r", default=None,
                   help="another request (default: a flight LIS→MAD and a hotel in Madrid)")
    p.add_argument("--state", default=None, metavar="DIR",
                   help="keep the services' SQLite state in DIR (default: a temporary dir)")
    p.add_argument("--search", default="dfs", choices=("dfs", "dfsdt", "react"),
                   help="search mode (default dfs)")
    p.add_argument("--max-seconds", type=float, default=None,
                   help="wall-clock limit of the run (default 900)")
    add_memory_options(p, default_store="the demonstrations shipped with the demo")


def run(args: argparse.Namespace) -> int:
    return int(run_async(_demo(args)))


async def _demo(args: argparse.Namespace) -> int:
    import agentrt_demo  # the demo package sits above the library: only demo commands load it
    from agentrt.agent import Agent
    from agentrt.cli.common import default_model
    from agentrt.cli.render import LiveRenderer, bookings, render_result
    from agentrt_demo.model import demo_model, uses_adapter
    from agentrt_demo.teacher import DEMONSTRATIONS_FILE

    started = time.perf_counter()
    model = demo_model(args.model or default_model())  # embedded: with the demo's adapter
    backend = await load_model(model)
    # the adapter learnt from prompts without worked examples; the stock model gets them
    examples = None if uses_adapter(model) else str(DEMONSTRATIONS_FILE)
    try:
        with agentrt_demo.running_services(args.state) as services:
            today = agentrt_demo.demo_today()
            print(f"demo services: flights {services.flights_url}  hotels "
                  f"{services.hotels_url}  (today is {today.isoformat()})", file=sys.stderr)
            toolset = agentrt_demo.demo_toolset(services.flights_url, services.hotels_url)
            request = args.request or default_request(today)
            budget = demo_budget()
            if args.max_seconds:
                budget = budget.model_copy(update={"max_seconds": args.max_seconds})
            agent = Agent(backend, toolset, search=args.search, policy="allow", budget=budget,
                          credentials=agentrt_demo.demo_credentials(toolset, services.api_key),
                          instructions=demo_instructions(today),
                          demonstrations=demonstrations_arg(args.demonstrations, examples))
            t0 = time.perf_counter()
            result = await agent.run(request, on_event=LiveRenderer(verbose=args.verbose))
            render_result(result, seconds=time.perf_counter() - t0)
            remember_run(result, toolset, args.remember)
    finally:
        await close_backend(backend)
    committed = [b for b in bookings(result) if b[2] == "committed"]
    print(f"demo finished in {time.perf_counter() - started:.1f}s", file=sys.stderr)
    if result.solved and committed:
        return 0
    why = "the run ended without a booking" if result.solved else \
        f"the run ended {result.status} ({result.reason or result.limit or 'no answer'})"
    print(f"no booking was made: {why} (exit 1); try --model with a stronger model",
          file=sys.stderr)
    return 1
