"""Grounding stage, shared rules: how a value is normalised, and which concrete facts a text states.

Both the provenance index (:mod:`agentrt.grounding.provenance`) and the answer check
(:mod:`agentrt.grounding.answers`) use these rules, so a value the index stores and a value an
answer states compare by the same key.

Normalisation (a value becomes one or more *keys*; two values match when they share a key):

- ``text``: a whole string, case-folded, surrounding whitespace removed, inner whitespace
  collapsed to one space (``" k7qx2m "`` = ``"K7QX2M"``; codes and ids are case-insensitive).
- ``token``: each word of a longer string (``[A-Za-z0-9]`` runs joined by ``-`` or ``_``), and
  each ``-``/``_`` part of such a word, case-folded: an id quoted inside a message
  (``"booking K7QX2M confirmed"``) or a flight number inside an offer id
  (``TP1234-20261216-Y`` → ``tp1234``) is found.
- ``num``: a number, or a string that is only a number or an amount (``412.5``, ``"412.50"``,
  ``"€412.50"``, ``"412.50 EUR"``, ``"1,234.50"``), as a decimal rounded to cents. Booleans
  are never numbers.
- ``int``: floor and ceiling of a number (so an answer that rounds ``89.40`` to ``89 EUR``
  is matched; only used for amounts written without decimals).
- ``date``: an ISO date, also the date part of an ISO date-time (``2026-12-22T14:05:00Z``);
  ``md`` is its month and day, for answers that write a date without the year.
- ``time``: ``HH:MM`` (24 h), also the time part of an ISO date-time; ``7:05`` = ``07:05``.

The rules are conservative in the direction that matters: they may ground a value a little too
readily (case-insensitive, rounded), never refuse one that was really seen.

Facts (:func:`extract_facts`): the concrete things an answer can get wrong —

- ``date``: ISO dates (``2026-12-22``), ``22 December 2026`` / ``December 22, 2026`` /
  ``Dec 22 2026``, ``22/12/2026`` (both day/month orders tried), yearless ``22 December``;
- ``time``: ``14:05``, ``7:05 pm`` (the 12-hour reading and the raw one are both tried);
- ``amount``: a number with a currency sign or code next to it (``€412.50``, ``412.50 EUR``,
  ``EUR 412.50``, ``412,50 €``, ``89 euros``); bare numbers are not facts ("2 guests");
- ``reference``: a word of at least 4 characters mixing letters and digits, with a capital
  letter or a ``-``/``_`` in it (``BK-7Q2X9``, ``K7QX2M``, ``HB7Q2XJM``, ``LIS-03``), or a
  UUID; ordinals and units (``21st``, ``10am``, ``30kg``) are not; ``flight`` is the same
  when it reads like a flight number (``TP1234``);
- ``code``: a stand-alone word of exactly three capitals (``LIS``) that is not a currency or a
  common word in capitals (``EUR``, ``THE``, ``VAT`` …); skipped when the text is shouted
  (mostly capitals).

E-mail addresses and URLs are masked first (their parts are not facts).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

__all__ = [
    "Fact",
    "FactKind",
    "Key",
    "extract_facts",
    "lookup_keys",
    "norm_text",
    "number_key",
    "scalar_keys",
    "string_keys",
    "tokens",
]

#: (kind, normalised value): "text", "token", "num", "int", "date", "md", "time"
Key = tuple[str, str]
FactKind = Literal["reference", "flight", "amount", "time", "date", "code"]

_CENT = Decimal("0.01")
_WS = re.compile(r"\s+")
_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[-_][A-Za-z0-9]+)*")
_PARTS = re.compile(r"[-_]")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://\S+")

CURRENCY_CODES = frozenset((
    "EUR", "USD", "GBP", "CHF", "JPY", "AUD", "CAD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "TRY", "INR", "CNY", "HKD", "SGD", "BRL", "MXN", "ZAR", "AED", "ILS", "KRW", "RUB",
    "THB",
))
#: words in capitals that are not airport/station codes
_NOT_CODES = CURRENCY_CODES | frozenset((
    "THE", "AND", "FOR", "YOU", "ARE", "NOT", "BUT", "ALL", "ANY", "CAN", "HAS", "HAD", "HER",
    "HIS", "ITS", "OUR", "OUT", "WAS", "WHO", "WHY", "YES", "NOW", "NEW", "ONE", "TWO", "SIX",
    "TEN", "VIP", "VAT", "TAX", "FEE", "ETA", "ETD", "UTC", "GMT", "CET", "CST", "EST", "PST",
    "API", "URL", "FAQ", "TBD", "TBA", "PDF", "USB", "ATM", "SMS", "PIN", "ASAP", "RSVP", "AKA",
    "DIY", "FYI", "OFF", "ADD", "GET", "SET", "WIFI", "BED",
))
_CURRENCY_SIGNS = "€$£¥₹₺"
_CURRENCY_WORDS = r"euros?|dollars?|pounds?|francs?|yen"
_NUMBER = r"\d{1,3}(?:[,.\u00a0]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?"
_CUR_CODE = "|".join(sorted(CURRENCY_CODES))
_AMOUNT = re.compile(
    rf"(?:[{_CURRENCY_SIGNS}]|\b(?:{_CUR_CODE})\b)\s?(?P<a>{_NUMBER})"
    rf"|(?<![\w.,])(?P<b>{_NUMBER})\s?(?:[{_CURRENCY_SIGNS}]|(?:{_CUR_CODE}|{_CURRENCY_WORDS})\b)",
    re.IGNORECASE)
_WHOLE_AMOUNT = re.compile(
    rf"^\s*(?:[{_CURRENCY_SIGNS}]|(?:{_CUR_CODE})\b)?\s?(?P<n>[-+]?(?:{_NUMBER}))\s?"
    rf"(?:[{_CURRENCY_SIGNS}]|(?:{_CUR_CODE}|{_CURRENCY_WORDS})\b)?\s*$", re.IGNORECASE)
_ISO = re.compile(
    r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ]([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?![\w-])")
_MONTHS = {m: i for i, names in enumerate(
    ("jan january", "feb february", "mar march", "apr april", "may", "jun june", "jul july",
     "aug august", "sep sept september", "oct october", "nov november", "dec december"), 1)
    for m in names.split()}
_MONTH = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_ORD = r"(?:st|nd|rd|th)?"
_DAY_FIRST = re.compile(rf"\b(?P<day>\d{{1,2}}){_ORD}\s+(?:of\s+)?{_MONTH}(?:,?\s+(?P<year>\d{{4}}))?\b",
                        re.IGNORECASE)
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+(?P<day>\d{{1,2}}){_ORD}(?:,?\s+(?P<year>\d{{4}}))?\b",
                          re.IGNORECASE)
_SLASH = re.compile(r"(?<![\w/.])(\d{1,2})[/.](\d{1,2})[/.](\d{4})(?![\w/])")
_TIME = re.compile(r"(?<![\w:.])([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d)?(?:\s*([ap])\.?m\.?)?(?![\w:])",
                   re.IGNORECASE)
_WHOLE_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::[0-5]\d(?:\.\d+)?)?$")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_NOT_REFERENCE = re.compile(r"^\d+(?:st|nd|rd|th|am|pm|h|hr|hrs|m|min|mins|s|km|kg|g|cm|mm|ml|x|"
                            r"k|mb|gb|kb|px|pt|d|y|yr|yrs|p)$|^x\d+$", re.IGNORECASE)
_CODE = re.compile(r"(?<!\w)(?<!\w-)[A-Z]{3}(?!\w)(?!-\w)")
_CUED_REFERENCE = re.compile(
    r"(?:\b(?i:reference|ref|code|number|locator|pnr|id)\b\.?\W{0,3}"
    r"(?:(?i:is|was|number|code|no)\b\.?\W{1,3})?"
    r"|\b(?i:booking|confirmation)\b\W{0,3}|#\s?)(?P<ref>[A-Z]{5,10})\b")
_NOT_REFERENCES = frozenset((
    "CONFIRMED", "CANCELLED", "CANCELED", "BOOKED", "PENDING", "ACTIVE", "CLOSED", "FAILED",
    "EXPIRED", "VALID", "INVALID", "PAID", "UNPAID", "ISSUED", "HELD", "OPEN", "ABOVE", "BELOW",
))
_FLIGHT = re.compile(r"^[A-Z0-9]{2}\d{1,4}[A-Z]?$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Fact:
    """One concrete fact stated in a text: ``text`` as written, ``keys`` any of which grounds
    it (several when the text can be read more than one way, e.g. ``05/06/2026``)."""

    kind: FactKind
    text: str
    keys: tuple[Key, ...]
    start: int = 0


def norm_text(value: str) -> str:
    """Case-folded, whitespace-collapsed, stripped."""
    return _WS.sub(" ", value).strip().casefold()


def tokens(text: str) -> Iterator[str]:
    """Case-folded words and their ``-``/``_`` parts."""
    for m in _TOKEN.finditer(text):
        word = m.group(0).casefold()
        yield word
        if "-" in word or "_" in word:
            yield from (p for p in _PARTS.split(word) if p)


def _decimal(number: str) -> list[Decimal]:
    """Readings of a written number: ``1,234.50`` → 1234.50; ``412,50`` → 412.50; ``1,234`` →
    1234 and 1.234 (both tried: which one was meant cannot be told)."""
    raw = number.replace("\u00a0", "").replace(" ", "")
    readings: list[str] = []
    if "," in raw and "." in raw:
        readings.append(raw.replace(",", "") if raw.rfind(".") > raw.rfind(",")
                        else raw.replace(".", "").replace(",", "."))
    elif "," in raw:
        tail = raw.rpartition(",")[2]
        readings.append(raw.replace(",", "") if len(tail) == 3 else raw.replace(",", "."))
        if len(tail) == 3 and raw.count(",") == 1:
            readings.append(raw.replace(",", "."))
    elif raw.count(".") > 1 or (raw.count(".") == 1 and len(raw.rpartition(".")[2]) == 3
                                 and len(raw.partition(".")[0]) <= 3 and raw[0] != "0"):
        readings.append(raw.replace(".", "") if raw.count(".") > 1 else raw)
        if raw.count(".") == 1:
            readings.append(raw.replace(".", ""))
    else:
        readings.append(raw)
    out: list[Decimal] = []
    for r in readings:
        try:
            out.append(Decimal(r))
        except InvalidOperation:
            continue
    return out


def _canon(d: Decimal) -> str:
    if not d.is_finite():
        return str(d)
    if abs(d) < Decimal("1e15"):
        d = d.quantize(_CENT, rounding=ROUND_HALF_UP)
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def number_key(value: int | float | Decimal) -> Key:
    """The ``num`` key of a number (cents)."""
    return ("num", _canon(Decimal(repr(value)) if isinstance(value, float) else Decimal(value)))


def _number_keys(d: Decimal) -> list[Key]:
    keys: list[Key] = [("num", _canon(d))]
    if d.is_finite() and abs(d) < Decimal("1e15"):
        lo, hi = int(d.to_integral_value(rounding="ROUND_FLOOR")), \
            int(d.to_integral_value(rounding="ROUND_CEILING"))
        keys.append(("int", str(lo)))
        if hi != lo:
            keys.append(("int", str(hi)))
    return keys


def _date_keys(y: int, m: int, d: int) -> list[Key]:
    try:
        day = date(y, m, d)
    except ValueError:
        return []
    return [("date", day.isoformat()), ("md", f"{m:02d}-{d:02d}")]


def _time_key(h: int, m: int) -> Key:
    return ("time", f"{h:02d}:{m:02d}")


def string_keys(value: str, *, embedded: bool = True) -> list[Key]:
    """Every key of a string: the whole, its words, and (``embedded``) the dates, times and
    amounts written inside it."""
    return list(_string_keys(value, embedded) if len(value) <= 256
                else _string_keys.__wrapped__(value, embedded))


@functools.lru_cache(maxsize=1 << 16)
def _string_keys(value: str, embedded: bool) -> tuple[Key, ...]:
    # cached: the same ids, dates and names come back in every observation of a search
    keys: list[Key] = [("text", norm_text(value))]
    stripped = value.strip()
    whole = _WHOLE_AMOUNT.match(stripped)
    if whole:
        for d in _decimal(whole.group("n")):
            keys.extend(_number_keys(d))
    t = _WHOLE_TIME.match(stripped)
    if t:
        keys.append(_time_key(int(t.group(1)), int(t.group(2))))
    if len(value) <= 2000:
        keys.extend(("token", w) for w in tokens(value))
    if embedded and len(value) <= 4000 and any(c.isdigit() for c in value):
        iso = _ISO.fullmatch(stripped)
        if iso is not None:  # the common case, without the full extraction
            keys.extend(_date_keys(int(iso[1]), int(iso[2]), int(iso[3])))
            if iso[4] is not None:
                keys.append(_time_key(int(iso[4]), int(iso[5])))
        elif not _TOKEN.fullmatch(stripped):  # one word: its tokens are all there is
            for fact in extract_facts(value, codes=False):
                keys.extend(fact.keys)
    return tuple(dict.fromkeys(keys))


def lookup_keys(value: Any) -> list[Key]:
    """The keys a proposed argument value is looked up by (strict: no rounding, no year-less
    dates): the whole string, the word itself if it is one word, and its number, date or
    time reading if the whole string is one."""
    if not isinstance(value, str):
        return [k for k in scalar_keys(value, embedded=False) if k[0] != "int"]
    return list(_lookup_keys(value) if len(value) <= 256 else _lookup_keys.__wrapped__(value))


@functools.lru_cache(maxsize=1 << 14)
def _lookup_keys(value: str) -> tuple[Key, ...]:
    stripped = value.strip()
    text = norm_text(stripped)
    if not text:
        return ()
    keys: list[Key] = [("text", text)]
    whole = _WHOLE_AMOUNT.match(stripped)
    if whole:
        keys.extend(("num", _canon(d)) for d in _decimal(whole.group("n")))
    t = _WHOLE_TIME.match(stripped)
    if t:
        keys.append(_time_key(int(t.group(1)), int(t.group(2))))
    if _TOKEN.fullmatch(stripped):
        keys.append(("token", text))
    iso = _ISO.fullmatch(stripped)
    if iso is not None:
        keys.extend(k for k in _date_keys(int(iso[1]), int(iso[2]), int(iso[3]))
                    if k[0] == "date")
        if iso[4] is not None:
            keys.append(_time_key(int(iso[4]), int(iso[5])))
    return tuple(dict.fromkeys(keys))


def scalar_keys(value: Any, *, embedded: bool = True) -> list[Key]:
    """The keys of one JSON scalar (``[]`` for ``None``, containers and other types)."""
    if isinstance(value, bool):
        return [("text", "true" if value else "false")]
    if isinstance(value, (int, float)):
        if isinstance(value, float) and value != value:  # NaN
            return []
        return list(_scalar_number_keys(isinstance(value, float), value))
    if isinstance(value, str):
        return string_keys(value, embedded=embedded)
    return []


@functools.lru_cache(maxsize=1 << 14)
def _scalar_number_keys(is_float: bool, value: float) -> tuple[Key, ...]:
    del is_float  # part of the cache key only: 1 == 1.0 hash alike but read differently
    return tuple(_number_keys(Decimal(repr(value)) if isinstance(value, float)
                              else Decimal(value)))


def _shouted(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) > 0.6 * len(letters)


def _mask(text: str, spans: list[tuple[int, int]]) -> str:
    if not spans:
        return text
    chars = list(text)
    for a, b in spans:
        chars[a:b] = " " * (b - a)
    return "".join(chars)


def extract_facts(text: str, *, codes: bool = True) -> list[Fact]:
    """The concrete facts ``text`` states, in order (see the module docstring for the rules).
    A run reads the same texts more than once (its request by several rules, an answer by
    the answer check and the superlative check): the last texts read are remembered."""
    return list(_facts_of(text, codes))


@functools.lru_cache(maxsize=1024)
def _facts_of(text: str, codes: bool) -> tuple[Fact, ...]:
    return tuple(_extract_facts(text, codes=codes))


def _extract_facts(text: str, *, codes: bool = True) -> list[Fact]:
    facts: list[Fact] = []
    spans: list[tuple[int, int]] = [m.span() for m in _EMAIL.finditer(text)]
    spans += [m.span() for m in _URL.finditer(text)]
    masked = 0  # spans[:masked] are blanked in work already (spans only grow)

    def mask(work: str) -> str:
        nonlocal masked
        fresh, masked = spans[masked:], len(spans)
        return _mask(work, fresh)

    work = mask(text)

    def take(kind: FactKind, m: re.Match[str], keys: list[Key]) -> None:
        if keys:
            facts.append(Fact(kind=kind, text=m.group(0).strip(), keys=tuple(dict.fromkeys(keys)),
                              start=m.start()))
        spans.append(m.span())

    for m in _ISO.finditer(work):
        take("date", m, _date_keys(int(m[1]), int(m[2]), int(m[3])))
        if m[4] is not None:
            facts.append(Fact(kind="time", text=f"{m[4]}:{m[5]}",
                              keys=(_time_key(int(m[4]), int(m[5])),), start=m.start(4)))
    work = mask(work)
    for rx in (_DAY_FIRST, _MONTH_FIRST):
        for m in rx.finditer(work):
            mon, day = _MONTHS[m["mon"].lower().rstrip(".")], int(m["day"])
            if m["year"]:
                take("date", m, _date_keys(int(m["year"]), mon, day))
            elif 1 <= day <= 31:
                take("date", m, [("md", f"{mon:02d}-{day:02d}")])
        work = mask(work)
    for m in _SLASH.finditer(work):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        take("date", m, _date_keys(y, b, a) + _date_keys(y, a, b))
    work = mask(work)
    for m in _TIME.finditer(work):
        h, mi, ampm = int(m[1]), int(m[2]), (m[3] or "").lower()
        keys = [_time_key(h, mi)]
        if ampm == "p" and h < 12:
            keys.insert(0, _time_key(h + 12, mi))
        elif ampm == "a" and h == 12:
            keys.insert(0, _time_key(0, mi))
        take("time", m, keys)
    work = mask(work)
    for m in _AMOUNT.finditer(work):
        number = m["a"] or m["b"]
        keys = []
        for d in _decimal(number):
            keys.append(("num", _canon(d)))
            if d == d.to_integral_value():
                keys.append(("int", str(int(d))))
        take("amount", m, keys)
    work = mask(work)
    for m in _UUID.finditer(work):
        take("reference", m, [("text", m[0].casefold()), ("token", m[0].casefold())])
    work = mask(work)
    for m in _TOKEN.finditer(work):
        word = m.group(0)
        if len(word) < 4 or _NOT_REFERENCE.match(word):
            continue
        has_digit = any(c.isdigit() for c in word)
        has_alpha = any(c.isalpha() for c in word)
        if not (has_digit and has_alpha):
            continue
        if not (any(c.isupper() for c in word) or "-" in word or "_" in word):
            continue
        w = word.casefold()
        take("flight" if _FLIGHT.match(word) else "reference", m, [("text", w), ("token", w)])
    work = mask(work)
    for m in _CUED_REFERENCE.finditer(work):  # all-letter references need a cue: "ref KBHQQU"
        if m["ref"] in _NOT_REFERENCES:
            continue
        w = m["ref"].casefold()
        facts.append(Fact(kind="reference", text=m["ref"], keys=(("text", w), ("token", w)),
                          start=m.start("ref")))
        spans.append(m.span("ref"))
    if codes and not _shouted(text):
        work = mask(work)
        for m in _CODE.finditer(work):
            if m[0] not in _NOT_CODES:
                w = m[0].casefold()
                take("code", m, [("text", w), ("token", w)])
    facts.sort(key=lambda f: f.start)
    return facts

