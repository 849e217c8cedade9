"""The demo task generator: every category and its variants, reproducible, varied phrasing, the
task set's own shape — and no overlap with the 52 evaluation tasks (the check itself is shown
to catch them)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from agentrt_demo.generate import (
    eval_index,
    generate_raw,
    generate_tasks,
    normalized_request,
    overlap,
    signature,
    weighted_categories,
)
from agentrt_demo.task_model import CATEGORIES
from agentrt_demo.tasks import TASKS_FILE

from .conftest import TODAY

EVAL = [json.loads(line) for line in TASKS_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip()]


@pytest.fixture(scope="module")
def raws() -> list[dict]:
    return generate_raw(300, seed=5, today=TODAY)


def test_every_category_and_variant(raws: list[dict]) -> None:
    assert Counter(r["category"] for r in raws) == dict.fromkeys(CATEGORIES, 30)
    by = {c: [r for r in raws if r["category"] == c] for c in CATEGORIES}
    facts = {f["kind"] for r in by["lookup"] for f in r["expect"]["facts"]}
    assert facts == {"airport_name", "contains", "flight", "hotel"}
    flights = [f for r in by["lookup"] for f in r["expect"]["facts"] if f["kind"] == "flight"]
    assert {f["pick"] for f in flights} == {"cheapest", "earliest"}
    assert {f["cabin"] for f in flights} == {"economy", "business"}
    assert {b["pick"] for r in by["book_earliest"] for b in r["expect"]["flight_bookings"]} \
        == {"earliest"}
    assert all(b.get("nonstop") for r in by["book_nonstop"]
               for b in r["expect"]["flight_bookings"])
    hotels = [h for r in by["hotel"] for h in r["expect"]["hotel_bookings"]]
    assert any(h.get("pick") == "best_rated" for h in hotels)
    assert any("min_rating" in h for h in hotels) and any(h["guests"] == 4 for h in hotels)
    assert all(r["expect"]["flight_bookings"] and r["expect"]["hotel_bookings"]
               for r in by["flight_and_hotel"])
    cancels = by["cancel"]
    assert any(len(r["expect"]["cancelled"]) == 2 for r in cancels)        # flight + hotel
    assert any(r["expect"].get("flight_bookings") for r in cancels)        # cancel, rebook
    assert any(r["expect"]["cancelled"][0].startswith("HB") for r in cancels)
    sizes = {len(r["expect"]["flight_bookings"][0]["passengers"])
             for r in by["multi_passenger"]}
    assert sizes == {2, 3, 4}
    unsat = by["unsatisfiable"]
    ops = {op["op"] for r in unsat for op in r.get("setup", [])}
    assert ops == {"sell_out", "fill_hotels"}
    lookups = [lk for r in unsat for lk in r["expect"]["hints"]["lookups"]]
    assert any("max_price" in lk for lk in lookups)                        # over budget
    assert any(isinstance(lk.get("date"), int) and lk["date"] < 0 for lk in lookups)  # past
    assert all(r["expect"]["facts"] == [{"kind": "negative"}] for r in unsat)
    missing = {r["expect"]["hints"]["missing"] for r in by["ambiguous"]}
    assert missing == {"date", "passenger", "reference", "city", "airport"}


def test_phrasing_is_varied(raws: list[dict]) -> None:
    """Several templates per category: the requests' shapes (words, no names or places)."""
    for category in CATEGORIES:
        shapes = {" ".join(normalized_request(r["request"]).split()[:3])
                  for r in raws if r["category"] == category}
        assert len(shapes) >= 3, (category, shapes)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_overlap_with_the_evaluation_tasks(seed: int) -> None:
    index = eval_index()
    texts = {normalized_request(t["request"]) for t in EVAL}
    sigs = {signature(t) for t in EVAL}
    for raw in generate_raw(200, seed=seed, today=TODAY):
        assert normalized_request(raw["request"]) not in texts, raw["request"]
        assert signature(raw) not in sigs, raw["id"]
        assert overlap(raw, index) is None, raw["id"]


def test_the_overlap_check_catches_evaluation_tasks() -> None:
    index = eval_index()
    for task in EVAL:
        assert overlap(task, index) is not None, task["id"]
    book = next(t for t in EVAL if t["id"] == "book-cheapest-lis-mad")
    # the same request on another day and in capitals: still the same request
    moved = {**book, "id": "x", "request": book["request"].replace("{date+21}", "{date+60}")
             .upper()}
    assert overlap(moved, index) == "same request text as an evaluation task"
    # a new phrasing of an evaluation task's route on its day is caught too
    spec = {**book["expect"]["flight_bookings"][0],
            "passengers": [{"first_name": "Marta", "last_name": "Costa",
                            "birth_date": "1987-06-14"}], "email": "m@example.org"}
    reworded = {"id": "y", "category": "book_cheapest", "request": "Fly Marta LIS to MAD.",
                "expect": {"flight_bookings": [spec]}}
    assert "same day" in (overlap(reworded, index) or "")


def test_reproducible_and_seeded() -> None:
    assert generate_raw(20, seed=3, today=TODAY) == generate_raw(20, seed=3, today=TODAY)
    assert generate_raw(20, seed=3, today=TODAY) != generate_raw(20, seed=4, today=TODAY)


def test_tasks_resolve_like_the_task_set() -> None:
    tasks = generate_tasks(20, seed=8, today=TODAY)
    assert [t.category for t in tasks[:10]] == list(CATEGORIES)
    for task in tasks:
        assert task.today == TODAY and "{date" not in task.request
        for spec in task.expect.get("flight_bookings", []):
            assert spec["date"] > TODAY.isoformat()          # an ISO date, in the future
        for spec in task.expect.get("hotel_bookings", []):
            assert spec["check_in"] < spec["check_out"]


def test_a_seed_gives_the_same_tasks_in_every_process() -> None:
    """The generator's provenance is its seed: no set iteration or hash order may leak in."""
    import os
    import subprocess
    import sys

    code = ("import json; from agentrt_demo.generate import generate_tasks; "
            "print(json.dumps([t.request for t in generate_tasks(40, 3)]))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={**os.environ,
                                            "PYTHONHASHSEED": h}).stdout
            for h in ("0", "5", "17")}
    assert len(outs) == 1 and len(next(iter(outs))) > 100


def test_a_weighted_mix_repeats_categories_in_the_cycle() -> None:
    cycle = weighted_categories({"lookup": 3, "ambiguous": 0})
    assert cycle.count("lookup") == 3 and "ambiguous" not in cycle
    assert len(cycle) == len(CATEGORIES) + 1
    counts = Counter(r["category"] for r in generate_raw(22, seed=3, today=TODAY,
                                                         categories=cycle))
    assert counts["lookup"] == 6 and counts["ambiguous"] == 0 and counts["hotel"] == 2
    for bad, why in (({"lookups": 2}, "unknown category lookups"),
                     ({"lookup": -1}, "negative"),
                     (dict.fromkeys(CATEGORIES, 0), "nothing to generate")):
        with pytest.raises(ValueError, match=why):
            weighted_categories(bad)
