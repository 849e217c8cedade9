"""Off-domain benchmark: one model step on tool sets that are not the demo (issue 12, "where the
fine-tune hurts").

    python bench/bench_offdomain.py [--models embedded:base,embedded@lora=ADAPTER]
                                    [--specs 6] [--relevant 3] [--irrelevant 1] [--seed 0]
                                    [--max-seconds 60] [--deadline 900] [--json OUT]

Takes the first ``--specs`` OpenAPI documents of the Amadeus corpus (sorted file names; a
document agentrt cannot load, or with no operation a request can be written for, is skipped)
and generates single-call tasks from each, deterministically for ``--seed``:

* relevant: a request written from one operation's summary with concrete values for its
  required parameters (enum values, the schema's example or default, else a plausible value
  for the parameter's name, format and type: future dates, IATA codes, coordinates, …);
  the values are checked against the tool's own argument schema before the task is kept;
* irrelevant: an off-topic request (weather, a translation, arithmetic, …) that no tool of the
  spec serves, so answering in text without a call is right.

Each task is one run of the real :class:`~agentrt.agent.Agent` (the spec's toolset, dfs with one
candidate, policy ``deny``, a budget of ONE model call) whose executor sends nothing: it records
the call and answers ``denied``. The first proposal in the run's tree is scored:

* relevant right tool: the first proposal calls the operation the request was written from;
* args complete: ... and every required argument is present and the arguments validate;
* args as asked (JSON only): ... and every required argument has the value the request gave;
* irrelevant declined: the first proposal is an answer (or a give-up), not a call;
* invalid proposals: hallucinated tools, invalid arguments and unreadable replies (the run's
  stats ``hallucinated`` + ``invalid`` + ``rejected_unparseable``).

``--models A,B`` runs the models one after the other in one process (each loaded, run on the
same tasks, closed) and prints one table. ``--deadline`` bounds the whole benchmark: it is
split evenly between the models, and a model whose share runs out stops and reports the tasks
it finished (the table's ``tasks`` column says how many).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import random
import re
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentrt.agent import Agent
from agentrt.cli.common import close_backend, install_pool, load_model
from agentrt.errors import AgentRTError
from agentrt.executor.observation import Observation
from agentrt.search import Budget, RunResult
from agentrt.toolset import Tool, Toolset

_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = _ROOT.parent / "shared" / "corpus" / "amadeus"
#: the first day generated dates may fall on (fixed, so the tasks do not depend on the calendar)
BASE_DATE = dt.date(2027, 1, 1)

#: requests no Amadeus tool serves: declining (a text answer, no call) is right
OFF_TOPIC = (
    "What will the weather be like in Lisbon tomorrow afternoon?",
    "Translate 'Where is the nearest train station?' into German.",
    "What is 17 multiplied by 23?",
    "Write a short haiku about autumn leaves.",
    "Who wrote the novel Pride and Prejudice?",
    "Convert 100 degrees Fahrenheit to Celsius.",
    "Give me a recipe for a vegetarian lasagna.",
    "Explain in one sentence what a prime number is.",
    "What is the capital of Australia?",
    "Summarise the plot of Romeo and Juliet in two sentences.",
    "How many minutes are there in a week?",
    "Suggest a name for my new puppy.",
)
#: (IATA city code, name, latitude, longitude)
CITIES = (
    ("PAR", "Paris", 48.8566, 2.3522), ("LON", "London", 51.5072, -0.1276),
    ("NYC", "New York", 40.7128, -74.006), ("MAD", "Madrid", 40.4168, -3.7038),
    ("BCN", "Barcelona", 41.3874, 2.1686), ("BER", "Berlin", 52.52, 13.405),
    ("ROM", "Rome", 41.9028, 12.4964), ("LIS", "Lisbon", 38.7223, -9.1393),
    ("AMS", "Amsterdam", 52.3676, 4.9041), ("MUC", "Munich", 48.1351, 11.582),
)
AIRLINES = ("AF", "BA", "LH", "IB", "KL", "AZ", "TP", "UA")
_VERBS = {"returns": "return", "retrieves": "retrieve", "gets": "get", "lists": "list",
          "performs": "perform", "finds": "find", "searches": "search", "predicts": "predict",
          "cancels": "cancel", "retieve": "retrieve", "provides": "provide",
          "creates": "create", "confirms": "confirm"}
_TEMPLATES = ("{Action}, with {params}.", "Please {action}: {params}.",
              "I need you to {action}. Use {params}.")
_BARE_TEMPLATES = ("{Action}.", "Please {action}.")


class _Skip(Exception):
    """No value can be written for this parameter (an object, an unresolved reference)."""


# -- tasks ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class Task:
    """One generated request; ``tool`` is None for an irrelevant one (declining is right)."""

    id: str
    spec: str
    kind: str  # "relevant" | "irrelevant"
    request: str
    tool: str | None = None
    #: the values the request states (the required parameters; for an operation without
    #: any, one optional parameter so that the request is concrete)
    arguments: dict[str, Any] = field(default_factory=dict)
    required: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True, kw_only=True)
class SpecTasks:
    """The tasks of one spec and the toolset they run against."""

    spec: str
    toolset: Toolset
    tasks: tuple[Task, ...]


def _words(name: str) -> str:
    """``originLocationCode`` / ``flight-orderId`` → ``origin location code`` / ``flight order id``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[-_\s]+", " ", spaced).strip().lower()


def _action(tool: Tool) -> str:
    """The operation's summary as an imperative clause (``Returns a list …`` → ``return a list …``)."""
    text = (tool.description or tool.name).strip().splitlines()[0]
    text = re.split(r"(?<=[a-z)])\.\s", text)[0].rstrip(". ")
    if " " not in text:
        text = _words(text)
    first, _, rest = text.partition(" ")
    if first.lower() in ("the", "a", "an"):  # a noun phrase ("The OAuth 2.0 token endpoint")
        return f"use {first.lower()} {rest}"
    return f"{_VERBS.get(first.lower(), first.lower())} {rest}".strip()


def _date(rng: random.Random, ctx: dict[str, Any]) -> dt.date:
    """A future date; a request's later dates follow its earlier ones (a return after the
    departure)."""
    last = ctx.get("date")
    day = (last + dt.timedelta(days=rng.randint(2, 14)) if last is not None
           else BASE_DATE + dt.timedelta(days=rng.randint(10, 180)))
    ctx["date"] = day
    return day


def _string(name: str, schema: Mapping[str, Any], rng: random.Random,
            ctx: dict[str, Any]) -> str:
    n, fmt = name.lower().replace("-", "").replace("_", ""), schema.get("format")
    desc = str(schema.get("description") or "")
    if fmt == "date-time" or ("date" in n and "time" in n):
        return f"{_date(rng, ctx).isoformat()}T{rng.randint(7, 20):02d}:{rng.choice((0, 15, 30)):02d}:00"
    if fmt == "date" or "date" in n:
        return _date(rng, ctx).isoformat()
    if n == "period" or "period" in n:
        year = BASE_DATE.year - 2
        return f"{year}-{rng.randint(1, 12):02d}" if "YYYY-MM" in desc else str(year)
    if "time" in n:
        return f"{rng.randint(7, 20):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
    if "duration" in n:
        return f"PT{rng.randint(1, 9)}H{rng.choice((0, 15, 30, 45))}M"
    if "airline" in n or "carrier" in n:
        return rng.choice(AIRLINES)
    if "flightnumber" in n:
        return str(rng.randint(100, 9999))
    if "aircraft" in n:
        return rng.choice(("320", "321", "738", "77W"))
    if "currency" in n:
        return rng.choice(("EUR", "USD", "GBP"))
    if "country" in n:
        return rng.choice(("FR", "GB", "ES", "DE"))
    if "lang" in n:
        return rng.choice(("EN", "FR", "ES"))
    if "keyword" in n:
        return str(ctx["city"][1]).upper()
    if n.endswith(("id", "ids", "nbr", "number", "reference", "token")):
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
        return "".join(rng.choice(alphabet) for _ in range(8))
    if any(k in n for k in ("code", "iata", "city", "airport", "origin", "destination",
                            "location")) or "{3}" in str(schema.get("pattern", "")):
        used: set[str] = ctx.setdefault("codes", set())
        code = next(c[0] for c in ctx["order"] if c[0] not in used)
        used.add(code)
        return code
    return rng.choice(("standard", "economy", "family", "business"))


def _number(name: str, schema: Mapping[str, Any], rng: random.Random,
            ctx: dict[str, Any]) -> float | int:
    n = name.lower()
    _code, _city, lat, lon = ctx["city"]
    box = {"north": lat + 0.05, "south": lat - 0.05, "east": lon + 0.05, "west": lon - 0.05}
    if "lat" in n:
        return lat
    if "lon" in n or "lng" in n:
        return lon
    if n in box:
        return round(box[n], 4)
    low = schema.get("minimum", 1)
    high = schema.get("maximum", low + 4)
    low, high = math.ceil(low), math.floor(min(high, low + 4))
    return rng.randint(int(low), int(max(low, high)))


def value_for(name: str, schema: Mapping[str, Any], rng: random.Random,
              ctx: dict[str, Any]) -> Any:
    """A concrete value for one parameter (raises :class:`_Skip` where none can be written)."""
    if "$ref" in schema or schema.get("type") == "object":
        raise _Skip(name)
    if schema.get("enum"):
        return rng.choice(list(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    for key in ("example", "default"):
        if schema.get(key) is not None and not isinstance(schema[key], (dict, list)):
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    kind = schema.get("type")
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        count = max(1, int(schema.get("minItems", 1)))
        out: list[Any] = []
        for _ in range(count * 4):
            item = value_for(name.rstrip("s") or name, {**items, "description":
                                                       schema.get("description", "")}, rng, ctx)
            if item not in out:
                out.append(item)
            if len(out) == count:
                return out
        raise _Skip(name)
    if kind == "boolean":
        return True
    if kind in ("integer", "number"):
        return _number(name, schema, rng, ctx)
    if kind in ("string", None):
        return _string(name, schema, rng, ctx)
    raise _Skip(name)


def _render(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_render(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _request(tool: Tool, arguments: Mapping[str, Any], rng: random.Random) -> str:
    action = _action(tool)
    slots = {"action": action, "Action": action[:1].upper() + action[1:]}
    if not arguments:
        return rng.choice(_BARE_TEMPLATES).format(**slots)
    phrases = [f"{_words(k)} {_render(v)}" for k, v in arguments.items()]
    params = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return rng.choice(_TEMPLATES).format(params=params, **slots)


def relevant_task(toolset: Toolset, tool: Tool, rng: random.Random, task_id: str,
                  spec: str) -> Task | None:
    """A request for ``tool`` with values for its required parameters that validate, or None
    when no such values could be written (an object body, a pattern the guesses miss)."""
    props = tool.parameters.get("properties") or {}
    required = [r for r in tool.parameters.get("required") or () if r in props]
    for _attempt in range(6):
        ctx: dict[str, Any] = {"city": rng.choice(CITIES),
                               "order": rng.sample(CITIES, len(CITIES))}
        try:
            arguments = {name: value_for(name, props[name], rng, ctx) for name in required}
        except _Skip:
            return None
        if not required:
            arguments = _one_optional(tool, props, rng, ctx)
        if not toolset.validate(tool.name, arguments):
            return Task(id=task_id, spec=spec, kind="relevant", tool=tool.name,
                        arguments=arguments, required=tuple(required),
                        request=_request(tool, arguments, rng))
    return None


def _one_optional(tool: Tool, props: Mapping[str, Any], rng: random.Random,
                  ctx: dict[str, Any]) -> dict[str, Any]:
    """The first optional query/path/body scalar a value can be written for, or nothing."""
    for name, schema in props.items():
        param = tool.param(name)
        if param is not None and param.location in ("header", "cookie"):
            continue
        try:
            value = value_for(name, schema, rng, ctx)
        except _Skip:
            continue
        if not isinstance(value, (dict, list)):
            return {name: value}
    return {}


def _key(task: Task) -> str:
    """Two tasks are the same when they ask the same tool for the same values."""
    if not task.arguments:
        return task.request
    return f"{task.tool}:{json.dumps(task.arguments, sort_keys=True, default=str)}"


def spec_tasks(path: Path, *, seed: int, relevant: int, irrelevant: int) -> SpecTasks | None:
    """The tasks of one spec (None: agentrt cannot load it, or no request can be written)."""
    try:
        toolset = Toolset.from_spec(path)
    except AgentRTError:
        return None
    rng = random.Random(f"{seed}:{path.name}")
    spec = path.name.split("_swagger")[0].split("_Swagger")[0]
    tools = sorted(toolset.tools, key=lambda t: t.name)
    rng.shuffle(tools)
    tasks: list[Task] = []
    usable = list(tools)
    while len(tasks) < relevant and usable:
        for tool in list(usable):
            if len(tasks) >= relevant:
                break
            for _try in range(4):  # a fresh request, not one already in the list
                task = relevant_task(toolset, tool, rng, f"{spec}/r{len(tasks)}", spec)
                if task is None or all(_key(t) != _key(task) for t in tasks):
                    break
            if task is None or any(_key(t) == _key(task) for t in tasks):
                usable.remove(tool)
                continue
            tasks.append(task)
    if not tasks:
        return None
    off = random.Random(f"{seed}:off-topic:{path.name}").sample(OFF_TOPIC, min(irrelevant,
                                                                               len(OFF_TOPIC)))
    tasks += [Task(id=f"{spec}/i{i}", spec=spec, kind="irrelevant", request=text)
              for i, text in enumerate(off)]
    return SpecTasks(spec=spec, toolset=toolset, tasks=tuple(tasks))


def generate(corpus: Path, *, specs: int, seed: int = 0, relevant: int = 3,
             irrelevant: int = 1, min_tools: int = 1) -> list[SpecTasks]:
    """The first ``specs`` usable documents of ``corpus`` (sorted names) with at least
    ``min_tools`` tools, and their tasks."""
    out: list[SpecTasks] = []
    for path in sorted(corpus.glob("*.json")) + sorted(corpus.glob("*.yaml")):
        if len(out) >= specs:
            break
        made = spec_tasks(path, seed=seed, relevant=relevant, irrelevant=irrelevant)
        if made is not None and len(made.toolset.tools) >= min_tools:
            out.append(made)
    return out


# -- running ----------------------------------------------------------------------------------
class NullExecutor:
    """Sends nothing: records each call and answers ``denied`` (the benchmark scores proposals)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    async def execute(self, name: str, arguments: Any) -> Observation:
        self.calls.append((name, arguments))
        return Observation(tool=name, arguments=arguments if isinstance(arguments, (dict, str))
                           else str(arguments), outcome="denied",
                           message="not sent: the benchmark executes no call")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, list) or isinstance(b, list):
        aa = a if isinstance(a, list) else [a]
        bb = b if isinstance(b, list) else [b]
        return sorted(map(_norm, aa)) == sorted(map(_norm, bb))
    return _norm(a) == _norm(b)


def _norm(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, (int, float)):
        return repr(float(v))
    try:
        return repr(float(str(v)))
    except ValueError:
        return str(v).strip().lower()


def score(task: Task, toolset: Toolset, result: RunResult | None, seconds: float,
          error: str = "") -> dict[str, Any]:
    """One task's row: what the first proposal was and how it scores."""
    first = result.tree.children[0] if result is not None and result.tree.children else None
    stats = dict(result.stats) if result is not None else {}
    kind = first.kind if first is not None else "none"
    tool = first.tool if first is not None and first.kind == "call" else None
    args = first.arguments if first is not None and tool is not None else None
    right = task.kind == "relevant" and tool == task.tool
    complete = right and isinstance(args, Mapping) and all(
        k in args for k in task.required) and not toolset.validate(tool or "", args)
    as_asked = complete and isinstance(args, Mapping) and all(
        k in args and _same(args[k], v) for k, v in task.arguments.items())
    model_s = float(result.timings.get("model", 0.0)) if result is not None else 0.0
    return {
        "id": task.id, "spec": task.spec, "kind": task.kind, "request": task.request,
        "expected_tool": task.tool, "expected_arguments": task.arguments,
        "proposal": kind, "tool": tool, "arguments": args,
        "answer": first.answer if first is not None else None,
        "check": first.status if first is not None else None,
        "right_tool": right, "args_complete": bool(complete), "args_as_asked": bool(as_asked),
        "declined": task.kind == "irrelevant" and kind in ("answer", "give_up"),
        "invalid": int(stats.get("hallucinated", 0)) + int(stats.get("invalid", 0))
        + int(stats.get("rejected_unparseable", 0)),
        "hallucinated": int(stats.get("hallucinated", 0)),
        "status": result.status if result is not None else "error",
        "seconds": round(seconds, 3), "model_seconds": round(model_s, 3), "error": error,
    }


def summarise(model: str, rows: Sequence[dict[str, Any]], total: int) -> dict[str, Any]:
    rel = [r for r in rows if r["kind"] == "relevant"]
    irr = [r for r in rows if r["kind"] == "irrelevant"]

    def pct(part: int, whole: int) -> float:
        return round(100.0 * part / whole, 1) if whole else 0.0

    steps = [r["model_seconds"] or r["seconds"] for r in rows if r["proposal"] != "none"]
    return {
        "model": model, "tasks": len(rows), "of": total,
        "relevant": len(rel), "irrelevant": len(irr),
        "right_tool": sum(r["right_tool"] for r in rel),
        "args_complete": sum(r["args_complete"] for r in rel),
        "args_as_asked": sum(r["args_as_asked"] for r in rel),
        "declined": sum(r["declined"] for r in irr),
        "right_tool_pct": pct(sum(r["right_tool"] for r in rel), len(rel)),
        "args_complete_pct": pct(sum(r["args_complete"] for r in rel), len(rel)),
        "args_as_asked_pct": pct(sum(r["args_as_asked"] for r in rel), len(rel)),
        "declined_pct": pct(sum(r["declined"] for r in irr), len(irr)),
        "invalid": sum(r["invalid"] for r in rows),
        "hallucinated": sum(r["hallucinated"] for r in rows),
        "errors": sum(1 for r in rows if r["error"]),
        "median_s_per_step": round(statistics.median(steps), 3) if steps else 0.0,
    }


def table(summaries: Sequence[dict[str, Any]]) -> str:
    head = ("model", "tasks", "relevant right tool", "args complete", "irrelevant declined",
            "invalid proposals", "median s/step")
    rows = [(s["model"], f"{s['tasks']}/{s['of']}",
             f"{s['right_tool_pct']:.1f}% ({s['right_tool']}/{s['relevant']})",
             f"{s['args_complete_pct']:.1f}% ({s['args_complete']}/{s['relevant']})",
             f"{s['declined_pct']:.1f}% ({s['declined']}/{s['irrelevant']})",
             str(s["invalid"]), f"{s['median_s_per_step']:.2f}") for s in summaries]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(head)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def run_model(model: str, suites: Sequence[SpecTasks], *, max_seconds: float,
                    deadline: float, progress: bool = True) -> list[dict[str, Any]]:
    """Every task once with ``model``; stops (rows so far) when ``deadline`` (monotonic) passes."""
    backend = await load_model(model, quiet=not progress)
    rows: list[dict[str, Any]] = []
    budget = Budget(max_model_calls=1, max_seconds=max_seconds, max_candidates_per_node=1)
    total = sum(len(s.tasks) for s in suites)
    try:
        for suite in suites:
            agent = Agent(backend, suite.toolset, search="dfs", k=1, policy="deny",
                          budget=budget, executor=NullExecutor())
            for task in suite.tasks:
                if time.monotonic() >= deadline:
                    return rows
                t0 = time.monotonic()
                result, error = None, ""
                try:
                    result = await agent.run(task.request)
                except AgentRTError as exc:  # a dead backend: the task scores as an error
                    error = f"{type(exc).__name__}: {exc}"
                row = score(task, suite.toolset, result, time.monotonic() - t0, error)
                rows.append(row)
                if progress:
                    verdict = ("right tool" if row["right_tool"] else "declined"
                               if row["declined"] else "miss")
                    print(f"[{model}] {len(rows):3}/{total} {task.id:<36} {verdict:<10} "
                          f"{row['proposal']:<11} {row['tool'] or '':<28} "
                          f"{row['seconds']:6.1f}s", file=sys.stderr, flush=True)
    finally:
        await close_backend(backend)
    return rows


async def amain(args: argparse.Namespace) -> int:
    started = time.monotonic()
    models = [m.strip() for m in (args.models or args.model).split(",") if m.strip()]
    suites = generate(Path(args.corpus), specs=args.specs, seed=args.seed,
                      relevant=args.relevant, irrelevant=args.irrelevant,
                      min_tools=args.min_tools)
    tasks = [t for s in suites for t in s.tasks]
    n_rel = sum(t.kind == "relevant" for t in tasks)
    print(f"specs ({len(suites)}): "
          + ", ".join(f"{s.spec} ({len(s.toolset.tools)} tools)" for s in suites))
    print(f"tasks: {len(tasks)} ({n_rel} relevant, {len(tasks) - n_rel} irrelevant; "
          f"seed {args.seed}); budget: 1 model call, {args.max_seconds:g} s per task; "
          f"deadline {args.deadline:g} s for {len(models)} model(s)", flush=True)
    if not tasks:
        print(f"no usable spec in {args.corpus}", file=sys.stderr)
        return 2
    install_pool(asyncio.get_running_loop())
    summaries, details = [], {}
    for i, model in enumerate(models):
        share = (args.deadline - (time.monotonic() - started)) / (len(models) - i)
        rows = await run_model(model, suites, max_seconds=args.max_seconds,
                               deadline=time.monotonic() + max(0.0, share),
                               progress=not args.quiet)
        summaries.append(summarise(model, rows, len(tasks)))
        details[model] = rows
        if len(rows) < len(tasks):
            print(f"{model}: deadline reached after {len(rows)}/{len(tasks)} tasks",
                  file=sys.stderr, flush=True)
    print(table(summaries))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            "seed": args.seed, "specs": [s.spec for s in suites],
            "tasks": [t.to_dict() for t in tasks], "summary": summaries, "rows": details,
            "seconds": round(time.monotonic() - started, 1)}, indent=2, ensure_ascii=False,
            default=str), encoding="utf-8")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="embedded:base", help="an agentrt model string")
    p.add_argument("--models", default="", help="comma list of model strings, run in turn")
    p.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="a folder of OpenAPI specs")
    p.add_argument("--specs", type=int, default=6, help="how many specs (sorted names)")
    p.add_argument("--min-tools", type=int, default=1,
                   help="only specs with at least this many tools (2: tool choice matters)")
    p.add_argument("--relevant", type=int, default=3, help="relevant tasks per spec")
    p.add_argument("--irrelevant", type=int, default=1, help="irrelevant tasks per spec")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-seconds", type=float, default=60.0, help="wall time of one task")
    p.add_argument("--deadline", type=float, default=900.0,
                   help="seconds for the whole benchmark, split evenly between the models")
    p.add_argument("--json", default="", help="write the tasks and per-task rows here")
    p.add_argument("--quiet", action="store_true", help="no per-task progress on stderr")
    return asyncio.run(amain(p.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
