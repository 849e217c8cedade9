"""Demo tasks, programmatic teacher: a model backend that proposes the steps the reference
solver would take, for ``agentrt synth --teacher demo``.

:class:`DemoTeacher` is an agentrt ``Backend``. For each request it finds the task by the
user's request text, works out the task's plan from its ``expect`` block (cancel, search,
book, look up, decline, ask) and replays it against the conversation it was sent: every id it
passes on (offer ids, room ids, booking references, prices it states) is read from the tool
results on the path in those messages, never from the database, so whatever it proposes goes
through the runtime's validation and executor like any model's step.

* **Recovery** (``recovery`` share of the tasks, chosen by ``seed``): at one step of the plan
  the first proposal is deliberately wrong — an unknown tool, a bad argument, or an invented
  id. The runtime rejects it (or the API refuses it), the violation comes back in the notes,
  and the teacher, seeing its wrong call named there, proposes the right one: a repair.
* **Declines and questions**: an unsatisfiable request is looked up first (``hints.lookups``)
  and then declined, saying why; an ambiguous one gets a clarifying question.
* **Formats**: it returns :class:`agentrt.protocol.Candidate` values, which are
  format-independent; ``tool_call_format`` ("json" or "native") only sets the capability the
  agent reads (native: the rules and notes for plain-text answers) and whether steps carry a
  thought.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from agentrt.backends.base import Capabilities, Sampling
from agentrt.prompts import describe_call
from agentrt.protocol import Candidate
from agentrt_demo.task_model import Task

__all__ = ["DEMONSTRATIONS_FILE", "DemoTeacher", "MistakeKind", "Obs"]

#: the demonstrations shipped for the demo toolset: solved runs of generated tasks (never the
#: evaluation's), made by ``AGENTRT_DEMO_TODAY=2026-11-25 agentrt synth --generate 40 --seed 1000
#: --recovery 0 --out /tmp/steps.jsonl --demonstrations tools/agentrt_demo/data/demonstrations.jsonl``
DEMONSTRATIONS_FILE = Path(__file__).with_name("data") / "demonstrations.jsonl"

MistakeKind = Literal["unknown_tool", "bad_argument", "invented_id"]
_SORT = {"cheapest": "price", "earliest": "departure_time", "shortest": "duration"}
#: names a confused model might use instead of the real tool
_WRONG_NAMES = {
    "search_flight_offers": "search_flights", "create_flight_booking": "book_flight",
    "cancel_flight_booking": "cancel_booking", "search_hotels": "find_hotels",
    "create_hotel_booking": "book_hotel_room", "cancel_hotel_booking": "cancel_hotel",
    "get_airport": "airport_details", "list_airports": "search_airports",
}
_ID_TOOLS = frozenset({"create_flight_booking", "create_hotel_booking", "cancel_flight_booking",
                       "cancel_hotel_booking"})


@dataclass(frozen=True, slots=True, kw_only=True)
class _Call:
    tool: str
    arguments: dict[str, Any]
    thought: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Obs:
    """A tool result as the teacher read it from the conversation."""

    outcome: str
    body: Any
    text: str

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    def find(self, key: str, pattern: str = r"[^\"',}\s]+") -> str | None:
        """The first value of ``key`` in the result text (for bodies the model saw trimmed)."""
        if isinstance(self.body, Mapping) and isinstance(self.body.get(key), (str, int, float)):
            return str(self.body[key])
        m = re.search(rf'(?<![\w.])"?{re.escape(key)}"?\s*[:=]\s*"?({pattern})', self.text)
        return m.group(1) if m else None


Plan = Generator[_Call, Obs, str]


_PAIR = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S+)')
_HEADER = re.compile(r"^([A-Za-z_][\w.]*) \((\d+)(?:; all: (.*))?\):$")
_LINE = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")


def _pairs(text: str) -> dict[str, Any]:
    """``k=v k2="v 2"`` as a dict; a dotted key (``cheapest_room.name``) also under its last
    part unless that is taken."""
    out: dict[str, Any] = {}
    for key, raw in _PAIR.findall(text):
        value: Any = raw
        if raw.startswith('"'):
            with contextlib.suppress(ValueError):
                value = json.loads(raw)
        out[key] = value
    for key in [k for k in out if "." in k]:
        out.setdefault(key.rsplit(".", 1)[1], out[key])
    return out


def _parse_view(text: str) -> dict[str, Any]:
    """The compact observation text (``key: value`` lines, ``name (N): `` headers with one
    ``- k=v …`` line per item) as a dict; an empty list has no header (so no key)."""
    data: dict[str, Any] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        head = _HEADER.match(lines[i])
        if head:
            shared = _pairs(head.group(3) or "")
            items = []
            i += 1
            while i < len(lines) and lines[i].startswith("- "):
                items.append({**shared, **_pairs(lines[i][2:])})
                i += 1
            data[head.group(1)] = items
            continue
        line = _LINE.match(lines[i])
        if line:
            key, value = line.groups()
            data[key] = _pairs(value) if re.match(r"^[A-Za-z_][\w.]*=", value) else value
        i += 1
    return data


def _read_obs(text: str) -> Obs:
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "outcome" in data:  # the JSON rendering
        return Obs(outcome=str(data["outcome"]), body=data.get("body"), text=text)
    view = _parse_view(text)
    outcome = str(view.pop("outcome", "ok")).split(" ")[0]
    return Obs(outcome=outcome, body=view, text=text)


def _first(obs: Obs, list_key: str) -> dict[str, Any] | None:
    """The first item of the result's list (None when there is none); ``{}`` when the list
    was seen only as trimmed text (the caller reads fields with :meth:`Obs.find`)."""
    if not obs.ok:
        return None
    body = obs.body
    if isinstance(body, Mapping):
        items = body.get(list_key)
        if isinstance(items, list):
            return dict(items[0]) if items else None
        if "count" in body or not re.search(rf"{list_key}\b", obs.text):
            return None
    if re.search(rf'"{list_key}"\s*:\s*\[\s*\]', obs.text):
        return None
    return {}


def _field(obs: Obs, item: Mapping[str, Any] | None, key: str, pattern: str = r"[^\"',}]+"
           ) -> Any:
    if item and key in item:
        return item[key]
    return obs.find(key, pattern)


def _money(value: Any) -> str:
    try:
        return f"{float(value):.2f}"
    except (TypeError, ValueError):
        return str(value)


def _names(people: Sequence[Mapping[str, str]]) -> str:
    names = [f"{p['first_name']} {p['last_name']}" for p in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# -- the plan of a task ----------------------------------------------------------------------
class _Planner:
    def __init__(self, task: Task, thoughts: bool) -> None:
        self.task, self.thoughts = task, thoughts

    def t(self, text: str) -> str:
        return text if self.thoughts else ""

    def search_offers(self, spec: Mapping[str, Any], pax: int) -> _Call:
        args: dict[str, Any] = {"origin": spec["origin"], "destination": spec["destination"],
                                "departure_date": spec["date"]}
        if pax != 1:
            args["passengers"] = pax
        if spec.get("cabin", "economy") != "economy":
            args["cabin"] = spec["cabin"]
        if spec.get("nonstop"):
            args["nonstop_only"] = True
        if "max_price" in spec:
            args["max_price"] = spec["max_price"]
        pick = spec.get("pick", "cheapest")
        if pick != "cheapest":
            args["sort"] = _SORT[pick]
        args["limit"] = 3
        return _Call(tool="search_flight_offers", arguments=args, thought=self.t(
            f"Search {pick} {spec.get('cabin', 'economy')} offers {spec['origin']} to "
            f"{spec['destination']} on {spec['date']}."))

    def search_hotels(self, spec: Mapping[str, Any]) -> _Call:
        args: dict[str, Any] = {"city": spec["city"], "check_in": spec["check_in"],
                                "check_out": spec["check_out"]}
        if spec.get("guests", 1) != 1:
            args["guests"] = spec["guests"]
        for key in ("min_rating", "max_price_per_night"):
            if key in spec:
                args[key] = spec[key]
        if spec.get("pick") == "best_rated":
            args["sort"] = "rating"
        args["limit"] = 3
        return _Call(tool="search_hotels", arguments=args,
                     thought=self.t(f"Find hotels in {spec['city']} for the stay."))

    def plan(self) -> Plan:
        exp = self.task.expect
        lines: list[str] = []
        said_flight: dict[str, str] = {}
        for ref in exp.get("cancelled", []):
            tool = "cancel_hotel_booking" if ref.startswith("HB") else "cancel_flight_booking"
            obs = yield _Call(tool=tool, arguments={"booking_id": ref},
                              thought=self.t(f"Cancel booking {ref}."))
            if not obs.ok:
                return f"I could not cancel booking {ref}: {obs.find('message') or obs.outcome}."
            number = _field(obs, (obs.body or {}).get("offer") if isinstance(obs.body, Mapping)
                            else None, "flight_number", r"[A-Z0-9]{2}\d{1,4}")
            if number and tool == "cancel_flight_booking":
                said_flight[ref] = str(number)
                lines.append(f"Cancelled booking {ref} (flight {number}).")
            else:
                lines.append(f"Cancelled hotel booking {ref}.")
        for spec in exp.get("flight_bookings", []):
            pax = len(spec["passengers"])
            obs = yield self.search_offers(spec, pax)
            offer = _first(obs, "offers")
            if offer is None:
                return " ".join([*lines, f"There are no offers from {spec['origin']} to "
                                 f"{spec['destination']} on {spec['date']}, so I booked "
                                 "nothing."])
            offer_id = _field(obs, offer, "offer_id", r"[A-Z0-9]{2}\d{1,4}-\d{8}-[YWCF]")
            number = _field(obs, offer, "flight_number", r"[A-Z0-9]{2}\d{1,4}")
            time = _field(obs, offer, "departure_time", r"\d\d:\d\d")
            price = _field(obs, offer, "price", r"[\d.]+")
            booked = yield _Call(tool="create_flight_booking", arguments={
                "offer_id": offer_id, "passengers": list(spec["passengers"]),
                "contact_email": spec["email"]}, thought=self.t(f"Book offer {offer_id}."))
            if not booked.ok:
                return " ".join([*lines, f"I could not book {number}: "
                                 f"{booked.find('message') or booked.outcome}."])
            ref = _field(booked, booked.body if isinstance(booked.body, Mapping) else None,
                         "booking_id", r"[A-Z0-9]{6}")
            total = _field(booked, booked.body if isinstance(booked.body, Mapping) else None,
                           "total_price", r"[\d.]+")
            lines.append(f"Booked flight {number} from {spec['origin']} to "
                         f"{spec['destination']} on {spec['date']} at {time} for "
                         f"{_names(spec['passengers'])}: {_money(price)} EUR per person"
                         + (f", {_money(total)} EUR in total" if pax > 1 else "")
                         + f". Booking reference: {ref}.")
        for spec in exp.get("hotel_bookings", []):
            obs = yield self.search_hotels(spec)
            hotel = _first(obs, "hotels")
            if hotel is None:
                return " ".join([*lines, f"No hotel in {spec['city']} has a free room for "
                                 "those dates, so nothing was booked."])
            room = (hotel.get("cheapest_room") or hotel) if hotel else None
            room_id = _field(obs, room, "room_id", r"[A-Z]{3}-\d{2}-[A-Z]{3}")
            name = _field(obs, hotel, "name")
            booked = yield _Call(tool="create_hotel_booking", arguments={
                "room_id": room_id, "check_in": spec["check_in"],
                "check_out": spec["check_out"], "guests": spec.get("guests", 1),
                "guest": dict(spec["guest"])}, thought=self.t(f"Book room {room_id}."))
            if not booked.ok:
                return " ".join([*lines, f"I could not book {name}: "
                                 f"{booked.find('message') or booked.outcome}."])
            body = booked.body if isinstance(booked.body, Mapping) else None
            ref = _field(booked, body, "booking_id", r"HB[A-Z0-9]{6}")
            total = _field(booked, body, "total_price", r"[\d.]+")
            lines.append(f"Booked {name} in {spec['city']} from {spec['check_in']} to "
                         f"{spec['check_out']} for {_money(total)} EUR in total. Booking "
                         f"reference: {ref}.")
        for fact in exp.get("facts", []):
            line = yield from self.fact(fact, said_flight)
            if line:
                lines.append(line)
        for lookup in (exp.get("hints") or {}).get("lookups", []):
            return (yield from self.decline(lookup))
        return " ".join(lines)

    def fact(self, fact: Mapping[str, Any], said: Mapping[str, str]
             ) -> Generator[_Call, Obs, str]:
        kind = fact["kind"]
        if kind == "airport_name":
            obs = yield _Call(tool="get_airport", arguments={"code": fact["code"]},
                              thought=self.t(f"Look up airport {fact['code']}."))
            body = obs.body if isinstance(obs.body, Mapping) else None
            return (f"{fact['code']} is {_field(obs, body, 'name')}, in "
                    f"{_field(obs, body, 'city')}.")
        if kind == "contains":
            city = (self.task.expect.get("hints") or {}).get("city")
            if not city:
                return ""
            if any(f.get("kind") == "contains" for f in self.task.expect["facts"]
                   [: self.task.expect["facts"].index(fact)]):
                return ""  # one lookup answers every "contains" fact
            obs = yield _Call(tool="list_airports", arguments={"query": city},
                              thought=self.t(f"List the airports of {city}."))
            items = obs.body.get("airports", []) if isinstance(obs.body, Mapping) else []
            found = ", ".join(f"{a['code']} ({a['name']})" for a in items)
            return f"{city} is served by {found}." if found else f"I found no airport in {city}."
        if kind == "flight":
            if said and fact.get("say") == ["flight_number"]:
                return ""  # the cancelled booking's flight was named above
            obs = yield self.search_offers(fact, int(fact.get("pax", 1)))
            offer = _first(obs, "offers")
            if offer is None:
                return "There is no such flight."
            number = _field(obs, offer, "flight_number", r"[A-Z0-9]{2}\d{1,4}")
            time = _field(obs, offer, "departure_time", r"\d\d:\d\d")
            price = _field(obs, offer, "price", r"[\d.]+")
            which = "earliest" if fact.get("pick") == "earliest" else "cheapest"
            return (f"The {which} {fact.get('cabin', 'economy').replace('_', ' ')} flight from "
                    f"{fact['origin']} to {fact['destination']} on {fact['date']} is {number}, "
                    f"departing at {time}, for {_money(price)} EUR.")
        if kind == "hotel":
            obs = yield self.search_hotels(fact)
            hotel = _first(obs, "hotels")
            if hotel is None:
                return f"No hotel in {fact['city']} is free for those dates."
            room = (hotel.get("cheapest_room") or hotel) if hotel else None
            name = _field(obs, hotel, "name")
            total = _field(obs, room, "total_price", r"[\d.]+")
            return (f"The cheapest hotel in {fact['city']} is {name}: {_money(total)} EUR in "
                    f"total from {fact['check_in']} to {fact['check_out']}.")
        if kind == "question":
            return self.question()
        return ""  # refs (stated with the bookings), negative (stated by the decline)

    def _refused(self, day: str, obs: Obs) -> str:
        if day < self.task.today.isoformat():
            return f"{day} is in the past"
        why = obs.find("message", r"[^\"\n]+") or obs.outcome
        return f"the search was refused ({why})"

    def decline(self, lookup: Mapping[str, Any]) -> Generator[_Call, Obs, str]:
        if lookup["kind"] == "hotel":
            obs = yield self.search_hotels(lookup)
            if not obs.ok:
                return (f"Sorry, I cannot book that: {self._refused(lookup['check_in'], obs)}. "
                        "Nothing was booked.")
            return (f"Sorry, no hotel in {lookup['city']} has a free room from "
                    f"{lookup['check_in']} to {lookup['check_out']}, so I booked nothing.")
        obs = yield self.search_offers(lookup, int(lookup.get("pax", 1)))
        route = f"from {lookup['origin']} to {lookup['destination']} on {lookup['date']}"
        if not obs.ok:
            return (f"Sorry, I cannot book a flight {route}: "
                    f"{self._refused(lookup['date'], obs)}. Nothing was booked.")
        cabin = lookup.get("cabin", "economy").replace("_", " ")
        if "max_price" in lookup:
            return (f"There is no {cabin} offer {route} under {lookup['max_price']} EUR, so I "
                    "did not book anything.")
        return f"Sorry, there are no {cabin} seats available {route}, so I booked nothing."

    def question(self) -> str:
        hints = self.task.expect.get("hints") or {}
        missing = hints.get("missing")
        if missing == "date":  # name the route only as the user did (codes or cities)
            o, d = str(hints.get("origin")), str(hints.get("destination"))
            route = f" from {o} to {d}" if o in self.task.request and d in self.task.request \
                else ""
            return f"On which date would you like to fly{route}?"
        if missing == "passenger":
            return ("Who is travelling? Please give each passenger's full name and date of "
                    "birth, and a contact email.")
        if missing == "reference":
            return "Which booking should I cancel? Please tell me its booking reference."
        if missing == "city":
            return "In which city would you like the hotel, and for which dates?"
        if missing == "airport":
            return f"{hints.get('city')} has more than one airport: which one do you want?"
        return "Could you tell me a bit more about what you need?"


def _calls_in(task: Task) -> int:
    """How many calls the plan makes (for choosing the step of a deliberate mistake)."""
    exp = task.expect
    facts = [f for f in exp.get("facts", []) if f["kind"] in ("airport_name", "flight", "hotel")]
    if exp.get("cancelled") and any(f.get("say") == ["flight_number"] for f in facts):
        facts = []
    contains = 1 if any(f["kind"] == "contains" for f in exp.get("facts", [])) else 0
    return (len(exp.get("cancelled", [])) + 2 * len(exp.get("flight_bookings", []))
            + 2 * len(exp.get("hotel_bookings", [])) + len(facts) + contains
            + len((exp.get("hints") or {}).get("lookups", [])[:1]))


def _mistake(call: _Call, kind: MistakeKind, rng: random.Random) -> _Call:
    args = dict(call.arguments)
    if kind == "unknown_tool":
        return _Call(tool=_WRONG_NAMES.get(call.tool, call.tool + "_v2"), arguments=args,
                     thought=call.thought)
    if kind == "invented_id":
        if call.tool == "create_flight_booking":
            day = str(args["offer_id"]).split("-")[1]
            args["offer_id"] = f"ZZ{rng.randint(1000, 9999)}-{day}-Y"
        elif call.tool == "create_hotel_booking":
            args["room_id"] = f"ZZZ-{rng.randint(10, 99)}-DBL"
        else:
            ref = "".join(rng.choice("QWXZ2345") for _ in range(6))
            args["booking_id"] = f"HB{ref}" if call.tool == "cancel_hotel_booking" else ref
        return _Call(tool=call.tool, arguments=args, thought=call.thought)
    # bad_argument: a value the schema refuses, or a required argument left out
    for key in ("departure_date", "check_in"):
        if key in args:
            y, m, d = str(args[key]).split("-")
            args[key] = f"{d}/{m}/{y}"
            return _Call(tool=call.tool, arguments=args, thought=call.thought)
    if "contact_email" in args:
        args.pop("contact_email")
    elif "booking_id" in args:
        args["booking_id"] = str(args["booking_id"]).lower()
    elif "code" in args:
        args["code"] = str(args["code"]).lower()
    elif "guest" in args:
        args["guest"] = {k: v for k, v in args["guest"].items() if k != "email"}
    elif "query" in args:
        args["query"] = ""
    return _Call(tool=call.tool, arguments=args, thought=call.thought)


class DemoTeacher:
    """A Backend that solves demo tasks like the reference solver (see the module docstring).

    ``tasks``: the tasks it will be asked (found by their request text). ``recovery``: the
    share of tasks with one deliberate mistake; ``mistakes``: the kinds to draw from.
    """

    def __init__(self, tasks: Iterable[Task], *, recovery: float = 0.0, seed: int = 0,
                 tool_call_format: Literal["json", "native"] = "json",
                 mistakes: Sequence[MistakeKind] = ("unknown_tool", "bad_argument",
                                                    "invented_id")) -> None:
        self.name = "demo-teacher"
        self.capabilities = Capabilities(native_n=False, grammar=False,
                                         tool_call_format=tool_call_format)
        self.tasks = {t.request: t for t in tasks}
        self.thoughts = tool_call_format != "native"
        self._mistakes: dict[str, tuple[int, MistakeKind, int]] = {}
        for task in self.tasks.values():
            rng = random.Random(int(hashlib.sha256(f"{seed}/{task.id}".encode())
                                    .hexdigest()[:12], 16))
            count = _calls_in(task)
            if count and rng.random() < recovery:
                step = rng.randrange(count)
                self._mistakes[task.id] = (step, rng.choice(list(mistakes)), rng.randrange(1 << 30))
        self.requests = 0

    def recovery(self, task: Task) -> bool:
        """Whether ``task`` gets a deliberate mistake."""
        return task.id in self._mistakes

    async def propose(self, messages: Sequence[Mapping[str, Any]], *,
                      tools: Sequence[Mapping[str, Any]], n: int = 1,
                      sampling: Sampling | None = None,
                      constraint: dict[str, Any] | None = None) -> list[Candidate]:
        self.requests += 1
        return [self.step(messages)]

    def step(self, messages: Sequence[Mapping[str, Any]]) -> Candidate:
        """The next step for this conversation."""
        request = next((str(m.get("content")) for m in messages if m.get("role") == "user"), "")
        task = self.tasks.get(request)
        if task is None:
            return Candidate(kind="give_up", thought="not a task I know")
        path, notes = _conversation(messages)
        plan = _Planner(task, self.thoughts).plan()
        index = 0
        try:
            call = next(plan)
            while True:
                if index < len(path):
                    done, obs = path[index]
                    if (done.tool, done.arguments) != (call.tool, _norm(call.arguments)):
                        return Candidate(kind="give_up", thought="the path left my plan")
                    index += 1
                    call = plan.send(obs)
                    continue
                failed = _failure(call, notes)
                if failed is not None:  # this very call failed here before: go on from it
                    call = plan.send(failed)
                    continue
                return self._propose(task, call, index, notes)
        except StopIteration as stop:
            return Candidate(kind="answer", answer=str(stop.value),
                             thought="I have everything the user asked for." if self.thoughts
                             else "")

    def _propose(self, task: Task, call: _Call, index: int, notes: str) -> Candidate:
        planned = self._mistakes.get(task.id)
        if planned is not None and planned[0] == index:
            kind = planned[1] if planned[1] != "invented_id" or call.tool in _ID_TOOLS \
                else "bad_argument"
            wrong = _mistake(call, kind, random.Random(planned[2]))
            if _mentioned(wrong, notes) is None and wrong != call:
                return Candidate.from_call(wrong.tool, wrong.arguments, thought=wrong.thought,
                                           meta={"mistake": kind})
        return Candidate.from_call(call.tool, call.arguments, thought=call.thought)

    async def aclose(self) -> None:
        return None


def _norm(arguments: Any) -> Any:
    return json.loads(json.dumps(arguments, default=str))


def _conversation(messages: Sequence[Mapping[str, Any]]) -> tuple[list[tuple[_Call, Obs]], str]:
    """The executed calls on the path (with their results) and the notes of this attempt."""
    results = {m.get("tool_call_id"): str(m.get("content") or "")
               for m in messages if m.get("role") == "tool"}
    path: list[tuple[_Call, Obs]] = []
    for m in messages:
        for c in m.get("tool_calls") or ():
            fn = c.get("function") or {}
            args = fn.get("arguments")
            with contextlib.suppress(ValueError):
                args = json.loads(args) if isinstance(args, str) else args
            path.append((_Call(tool=str(fn.get("name")),
                               arguments=args if isinstance(args, dict) else {}),
                         _read_obs(results.get(c.get("id"), ""))))
    first_user = next((i for i, m in enumerate(messages) if m.get("role") == "user"), -1)
    last = len(messages) - 1
    notes = str(messages[last].get("content") or "") \
        if last > first_user and messages[last].get("role") == "user" else ""
    return path, notes


def _mentioned(call: _Call, notes: str) -> str | None:
    """The note line about ``call`` (as the prompt describes calls), or None."""
    if not notes:
        return None
    head = describe_call(call.tool, _norm(call.arguments))[:200]
    for line in notes.splitlines():
        if line.startswith(f"- {head}"):
            return line
    return None


def _failure(call: _Call, notes: str) -> Obs | None:
    """``call`` as a failed result when the notes say it failed (or was refused) here."""
    line = _mentioned(call, notes)
    if line is None:
        return None
    m = re.search(r"(?:was not sent: |\): )(?:(\w+): )?(.*)$", line)
    outcome = m.group(1) if m and m.group(1) else "rejected"
    message = m.group(2) if m else line
    return Obs(outcome=outcome, body=None, text=json.dumps({"outcome": outcome,
                                                             "message": message}))
