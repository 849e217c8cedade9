"""The booking demo as a script to copy: demo services, the embedded model, one request.

    python examples/booking_demo.py
    python examples/booking_demo.py --model vllm:http://gpu-box:8000/v1#qwen-booking
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from agentrt import Toolset
from agentrt.agent import Agent
from agentrt.backends import load_backend
from agentrt_demo import DEMO_API_KEY, demo_today, running_services, spec_path


async def main(model: str) -> None:
    day = demo_today() + timedelta(days=21)
    request = (f"Book the cheapest economy flight from LIS to MAD on {day} for Ana Silva "
               f"(born 1990-04-12), email ana.silva@example.com.")
    with running_services() as svc:  # the flight and hotel APIs on 127.0.0.1
        toolset = Toolset.merge(
            Toolset.from_spec(spec_path("flights"), base_url=svc.flights_url),
            Toolset.from_spec(spec_path("hotels"), base_url=svc.hotels_url))
        backend = load_backend(model)
        agent = Agent(backend, toolset, policy="allow",  # bookings may go out
                      credentials={"ApiKeyAuth": DEMO_API_KEY},  # never shown to the model
                      instructions=f"Today is {demo_today()}.",
                      on_event=lambda e: print(" ", e.kind, e.data.get("tool") or ""))
        try:
            result = await agent.run(request)
        finally:
            await backend.aclose()
    print(result.status, "-", result.answer)
    for effect in result.side_effects:
        print("booking:", effect.tool, effect.state, (effect.body or {}).get("booking_id"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="embedded")
    asyncio.run(main(parser.parse_args().model))
