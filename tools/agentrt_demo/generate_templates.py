"""Demo tasks, generator — the phrasings: the request templates of every category that
:mod:`agentrt_demo.generate` draws from (one per task, by its seeded ``random.Random``, then
filled in with ``str.format`` by that category's maker).

The placeholders are the maker's and mean what it passes: for flights ``{a}``/``{b}`` are
airport codes (``{ca}``/``{cb}`` their cities) and ``{d}`` a ``{date+N}`` day; for hotels
``{c}`` is the city and ``{a}``/``{b}`` the check-in and check-out days; ``{who}`` is a
traveller with birth date, ``{n}`` a name, ``{e}`` an e-mail address. The order of a table's
phrasings is part of the seeded draw: adding or reordering one changes which tasks a seed
generates.
"""

from __future__ import annotations

__all__ = ["AMBIGUOUS", "BOOK", "CANCEL", "HOTEL", "LOOKUP", "MULTI_PASSENGER", "TRIP",
           "UNSATISFIABLE", "Phrasings"]

#: the templates one choice is drawn from (order matters: it is the seeded draw's)
Phrasings = tuple[str, ...]

#: lookups, by variant (``cheapest``: the economy fare and flight number)
LOOKUP: dict[str, Phrasings] = {
    "airport": (
        "Which airport has the code {c}? Give me its full name.",
        "What's the official name of {c} airport?",
        "Tell me the name of the airport whose IATA code is {c}.",
        "{c} - what airport is that?",
        "Quick question, no booking: what is airport {c} called?",
    ),
    "city": (
        "What are the airport codes for {c}?",
        "List the airports in {c} with their IATA codes.",
        "I'm flying to {c}: which airports are there?",
        "Which IATA codes belong to airports in {c}? Just the list.",
        "Does {c} have more than one airport? Give me their codes.",
    ),
    "hotel": (
        "How much would the cheapest hotel in {c} cost for one person, {a} to {b}? Which hotel "
        "is it? Only a price check, no booking.",
        "Price check: cheapest place to stay in {c} from {a} until {b} for one guest - name and "
        "total, please. Don't reserve anything.",
        "What is the lowest total price for a single room in {c}, {a} to {b}, and at which "
        "hotel? I am only comparing prices.",
        "Just looking: which hotel in {c} is cheapest for 1 guest between {a} and {b}, and what "
        "is the total?",
    ),
    "earliest": (
        "When does the earliest flight from {a} to {b} depart on {d}?",
        "On {d}, what is the first departure from {a} to {b}? I only need the time.",
        "What time does the first {ca} ({a}) to {cb} ({b}) flight leave on {d}?",
        "I'm planning, not booking: earliest departure {a} -> {b} on {d}?",
    ),
    "business": (
        "What does the cheapest business class ticket {a} to {b} cost on {d}? Just checking "
        "prices.",
        "Business class from {a} to {b} on {d}: what's the lowest fare? No booking.",
        "How much is business class from {ca} ({a}) to {cb} ({b}) on {d}, at the cheapest? "
        "Do not reserve.",
        "Cheapest business fare {a}-{b}, {d}? Information only.",
    ),
    "cheapest": (
        "Find me the lowest economy fare from {a} to {b} on {d} and tell me the flight number. "
        "Don't book it.",
        "What's the cheapest economy ticket {a} -> {b} on {d}, and which flight? Only look it "
        "up.",
        "Could you check the price of the cheapest economy flight from {a} to {b} departing "
        "{d}? No reservation needed; flight number too.",
        "What's the lowest economy price from {ca} ({a}) to {cb} ({b}) on {d}? Please don't "
        "book, I only want the price and the flight.",
        "Compare economy fares {a} to {b} on {d} and tell me the cheapest flight and its price. "
        "Nothing to book yet.",
    ),
}

#: single-passenger flight bookings, by pick (``nonstop``: the cheapest direct one)
BOOK: dict[str, Phrasings] = {
    "cheapest": (
        "Please reserve the lowest-priced economy seat from {a} to {b} on {d} for {who}. Send "
        "the confirmation to {e}.",
        "{who} needs to fly {a} to {b} on {d}. Book the cheapest economy option; contact {e}.",
        "Get me on the cheapest economy flight {a}-{b} on {d}. Passenger: {who}, email {e}.",
        "Book the cheapest economy flight from {ca} ({a}) to {cb} ({b}) on {d} for {who}, "
        "e-mail {e}.",
        "Cheapest economy seat {a} to {b}, {d}, please book it. Traveller: {who}. Contact: {e}.",
    ),
    "earliest": (
        "Book the first economy departure of the day from {a} to {b} on {d} for {who}; contact "
        "email {e}.",
        "{who} wants to leave {a} as early as possible on {d} for {b}. Book the earliest "
        "economy flight, email {e}.",
        "Whatever leaves {a} first on {d} heading to {b}, economy: book it for {who}. "
        "Confirmation to {e}.",
        "Book {who} on the earliest economy flight from {ca} ({a}) to {cb} ({b}) on {d}; "
        "email {e}.",
        "Earliest economy departure {a}->{b} on {d}, please reserve it for {who} ({e}).",
    ),
    "nonstop": (
        "Book {who} on the cheapest direct economy flight {a} to {b} on {d}, no connections "
        "please. Email {e}.",
        "Only nonstop: reserve the lowest economy fare from {a} to {b} on {d} for {who}, "
        "contact {e}.",
        "No layovers for {who}: find the cheapest direct economy {a}-{b} flight on {d} and book "
        "it. Email {e}.",
        "Book a nonstop economy flight from {ca} ({a}) to {cb} ({b}) on {d} for {who}, the "
        "cheapest direct one. Email {e}.",
        "{who} wants a direct flight {a} to {b} on {d}: book the cheapest nonstop economy seat; "
        "contact {e}.",
    ),
}

#: hotel bookings, by variant
HOTEL: dict[str, Phrasings] = {
    "cheapest": (
        "Reserve the cheapest room in {c} for {g} guest(s), checking in {a} and out {b}. Name: "
        "{n}, email {e}.",
        "I need a hotel in {c} from {a} to {b} for {g}; book whatever is cheapest. Guest {n} "
        "({e}).",
        "Book the least expensive room in {c} for {g} guest(s) from {a} to {b}, under {n}, "
        "email {e}.",
    ),
    "best_rated": (
        "Book the top-rated hotel in {c} for {g} guest(s), {a} to {b}, in its cheapest room "
        "that fits. Booking name {n}, {e}.",
        "We want the highest-rated hotel in {c} from {a} until {b} ({g} guests). Take the least "
        "expensive suitable room; guest {n}, {e}.",
        "Book the best-rated hotel in {c}, {a} to {b}, for {g} guest(s): its cheapest room "
        "that fits. Name {n}, email {e}.",
    ),
    "min_rating": (
        "Book the cheapest hotel in {c} with a rating of {r} or better for one guest, {a} to "
        "{b}. Guest: {n}, {e}.",
        "One guest, {c}, {a} to {b}: book the lowest price among hotels rated at least {r}. "
        "Name {n}, email {e}.",
        "Book {n} ({e}) into the cheapest hotel in {c} rated {r} or higher, one guest, {a} to "
        "{b}.",
    ),
    "family": (
        "Four of us are going to {c} from {a} to {b}. Book the cheapest room for 4 guests under "
        "the name {n} ({e}).",
        "Family trip to {c}: one room for 4 guests, {a} to {b}, the cheapest there is. Booking "
        "for {n}, {e}.",
        "Book one room for 4 people in {c}, {a} to {b}, the cheapest that takes four. Name "
        "{n}, email {e}.",
    ),
}

#: a flight and a hotel booked together
TRIP: Phrasings = (
    "Organise my trip to {c}: the cheapest economy flight {a} to {b} on {d}, and the cheapest "
    "hotel room there for one from {d} to {o}. I'm {who}, {e}.",
    "Book me {a}->{b} on {d} (cheapest economy) plus the cheapest single-guest hotel room in "
    "{c} until {o}. Traveller {who}, contact {e}.",
    "Trip for {who} ({e}): fly {a} to {b} on {d}, cheapest economy, and stay in {c} until {o} "
    "in the cheapest room for one person. Please book both.",
    "I'm travelling from {a} to {c} ({b}) on {d}: book the cheapest economy flight and the "
    "cheapest hotel room for one person from {d} to {o}. {who}, email {e}.",
    "Two bookings please: the cheapest economy flight {a} to {b} on {d}, then the cheapest "
    "single room in {c} from {d} to {o}. Traveller {who}, {e}.",
)

#: cancellations, by variant (``rebook``: cancel and book a later day)
CANCEL: dict[str, Phrasings] = {
    "rebook": (
        "Move me to a later day: cancel booking {r} ({a}-{b}) and book the cheapest economy "
        "flight {a} to {b} on {d} instead for {who}, email {e}.",
        "Please drop reservation {r} and rebook {who} on the cheapest economy {a}->{b} flight "
        "on {d}; contact {e}.",
        "Cancel {r}, then book the cheapest economy flight from {a} to {b} on {d} for {who} "
        "instead ({e}).",
    ),
    "both": (
        "Everything is off: cancel flight {f} and hotel {h}.",
        "Please cancel both my bookings, the flight {f} and the hotel stay {h}.",
        "Cancel flight booking {f}, and also cancel hotel booking {h}.",
    ),
    "flight": (
        "I won't be travelling: please cancel flight booking {r}.",
        "Cancel reservation {r} for me, thanks.",
        "Please cancel my flight, booking reference {r}.",
    ),
    "hotel": (
        "Please cancel my hotel reservation {r}.",
        "My plans changed - cancel hotel booking {r}.",
        "Cancel the hotel booking with reference {r}, please.",
    ),
    "say_flight": (
        "Cancel {r} and remind me which flight number that was.",
        "Which flight was booking {r}? Cancel it, please.",
        "Please cancel flight booking {r} and tell me its flight number.",
    ),
}

#: group flight bookings
MULTI_PASSENGER: Phrasings = (
    "Book the {p} {c} flight from {a} to {b} on {d} for {k} travellers: {n}. Contact {e}.",
    "We are {k}: {n}. Please book us together on the {p} {c} flight {a} to {b} on {d}; email "
    "{e}.",
    "Group booking, {k} seats on one booking: {n}. Take the {p} {c} option from {a} to {b} on "
    "{d} and send it to {e}.",
    "Book {k} passengers on one booking, the {p} {c} flight from {ca} ({a}) to {cb} ({b}) on "
    "{d}: {n}. Email {e}.",
)

#: unsatisfiable requests, by variant (``no_flight``: no route or a past date)
UNSATISFIABLE: dict[str, Phrasings] = {
    "hotels_full": (
        "Any hotel room in {c} will do, one guest, {a} to {b}. Name {n}, {e}.",
        "Book me a room in {c} from {a} to {b}, one person, any hotel. {n}, {e}.",
        "I need a room for one in {c}, {a} to {b}, please book one. Guest {n}, {e}.",
    ),
    "sold_out": (
        "Economy only, nothing else: book {who} from {a} to {b} on {d}, email {e}.",
        "Reserve an economy seat {a}-{b} on {d} for {who} ({e}); I can't take any other cabin.",
        "Book the cheapest economy flight {a} to {b} on {d} for {who}, email {e}.",
    ),
    "over_budget": (
        "Book {who} in business class {a} to {b} on {d} ({e}) - but only if it's below {m} EUR.",
        "Business seat {a}->{b} on {d} for {who}, email {e}, maximum {m} EUR. Don't book "
        "anything pricier.",
        "My budget is {m} EUR: book a business class flight {a} to {b} on {d} for {who} "
        "({e}) if one costs less.",
    ),
    "no_flight": (
        "Book the cheapest flight {a} to {b} on {d} for {who}; email {e}.",
        "Please get {who} a seat from {a} to {b} on {d}, cheapest available, contact {e}.",
        "Book the cheapest flight from {ca} ({a}) to {cb} ({b}) on {d} for {who}, email {e}.",
        "Is there a flight {a} to {b} on {d}? If so book the cheapest for {who} ({e}).",
    ),
}

#: ambiguous requests, by what they leave open
AMBIGUOUS: dict[str, Phrasings] = {
    "date": (
        "I'd like a flight from {ca} to {cb} for {n}.",
        "Book {n} on a flight {a} to {b}, please.",
        "Please book a flight from {a} to {b} for {n}.",
    ),
    "passenger": (
        "Book the cheapest seat {a} to {b} on {d}.",
        "Reserve a flight from {a} to {b} on {d} at the lowest price.",
        "Book the cheapest economy flight from {ca} ({a}) to {cb} ({b}) on {d}.",
    ),
    "reference": (
        "This is {n}: please cancel my reservation.",
        "Hi, {n} here. I need to cancel my booking.",
        "Cancel my flight please. My name is {n}.",
    ),
    "city": (
        "Find a good hotel for {n} for a few nights next month and book it.",
        "Book a hotel room for {n} from {d}, somewhere nice.",
        "Book the cheapest hotel for {n} from {d} for two nights.",
    ),
    "airport": (
        "Book {n} on a flight from {a} to {c} on {d}.",
        "I need a flight {a} to {c} on {d} for {n}.",
        "Book the cheapest flight from {a} to {c} on {d} for {n}.",
    ),
}
