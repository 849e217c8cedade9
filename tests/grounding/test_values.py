"""Normalisation keys and fact extraction: each documented rule, and what is *not* a fact."""

from __future__ import annotations

import pytest

from agentrt.grounding.values import extract_facts, norm_text, scalar_keys, string_keys


def facts(text: str) -> list[tuple[str, str]]:
    return [(f.kind, f.text) for f in extract_facts(text)]


def keys(text: str) -> set[tuple[str, str]]:
    return {k for f in extract_facts(text) for k in f.keys}


def test_text_is_case_folded_and_whitespace_collapsed() -> None:
    assert norm_text("  K7QX2M \n") == "k7qx2m"
    assert norm_text("de   Vries") == "de vries"


@pytest.mark.parametrize("value", [412.5, "412.50", "€412.50", "412.50 EUR", "EUR 412.50",
                                   "412,50 €", 412.50])
def test_numbers_compare_by_value(value: object) -> None:
    assert ("num", "412.5") in scalar_keys(value)


def test_booleans_are_not_numbers() -> None:
    assert scalar_keys(True) == [("text", "true")]
    assert ("num", "1") not in scalar_keys(True)


def test_thousands_separators_and_ambiguous_readings() -> None:
    assert ("num", "1234.5") in keys("€1,234.50")
    both = keys("1,234 EUR")  # a thousands separator or a decimal comma: both are tried
    assert ("num", "1234") in both and ("num", "1.23") in both


def test_iso_datetime_gives_date_time_and_month_day() -> None:
    got = set(string_keys("2026-12-16T07:05"))
    assert {("date", "2026-12-16"), ("time", "07:05"), ("md", "12-16")} <= got


def test_words_and_parts_of_strings_are_tokens() -> None:
    got = set(string_keys("TP1234-20261216-Y"))
    assert {("token", "tp1234-20261216-y"), ("token", "tp1234"), ("token", "y")} <= got
    assert ("token", "k7qx2m") in set(string_keys("booking K7QX2M confirmed"))


@pytest.mark.parametrize(("text", "kind", "key"), [
    ("on 2026-12-22", "date", ("date", "2026-12-22")),
    ("on 22 December 2026", "date", ("date", "2026-12-22")),
    ("on December 22, 2026", "date", ("date", "2026-12-22")),
    ("on Dec 22 2026", "date", ("date", "2026-12-22")),
    ("on 22 December", "date", ("md", "12-22")),
    ("leaves at 14:05", "time", ("time", "14:05")),
    ("leaves at 7:05", "time", ("time", "07:05")),
    ("leaves at 2:05 pm", "time", ("time", "14:05")),
    ("costs €412.50", "amount", ("num", "412.5")),
    ("costs 412.50 EUR", "amount", ("num", "412.5")),
    ("costs 89 euros", "amount", ("num", "89")),
    ("reference BK-7Q2X9", "reference", ("text", "bk-7q2x9")),
    ("reference K7QX2M", "reference", ("text", "k7qx2m")),
    ("room LIS-03-DBL", "reference", ("text", "lis-03-dbl")),
    ("flight TP1234", "flight", ("text", "tp1234")),
    ("from LIS", "code", ("text", "lis")),
    ("booking reference KBHQQU.", "reference", ("text", "kbhqqu")),
])
def test_facts_are_extracted(text: str, kind: str, key: tuple[str, str]) -> None:
    found = [f for f in extract_facts(text) if f.kind == kind]
    assert found, facts(text)
    assert key in found[0].keys


def test_day_month_order_is_ambiguous_with_slashes() -> None:
    assert {("date", "2026-06-05"), ("date", "2026-05-06")} <= keys("05/06/2026")


@pytest.mark.parametrize("text", [
    "for 2 guests and 3 nights",        # bare numbers are not facts
    "on the 21st, at 10am, 30kg",       # ordinals and units are not references
    "costs in EUR, VAT included",        # currency codes and capital words are not codes
    "write to ana.silva2@example.com or https://x.example/AB12CD",  # masked
    "Your booking is CONFIRMED",         # a status in capitals is not a reference
    "Booked it for you",
])
def test_not_facts(text: str) -> None:
    assert facts(text) == []


def test_shouted_text_has_no_codes() -> None:
    assert facts("YOUR FLIGHT IS BOOKED AND THE HOTEL TOO") == []


def test_reference_inside_iso_date_is_a_date_not_an_id() -> None:
    assert facts("2026-12-16T07:05") == [("date", "2026-12-16T07:05"), ("time", "07:05")]


def test_order_follows_the_text() -> None:
    assert [k for k, _ in facts("TP1234 at 07:05 for €89 on 2026-12-16")] == [
        "flight", "time", "amount", "date"]
