"""Demo services, seeding stage: the static reference data (airports, airlines, cities, hotels).

Everything here is plain data; :mod:`agentrt_demo.seed` turns it into a dated inventory.
Names are kept ASCII so that small models can copy them reliably.
"""

from __future__ import annotations

# code, name, city, country, latitude, longitude, metro (city code used for hotels), region
AIRPORTS: tuple[tuple[str, str, str, str, float, float, str, str], ...] = (
    ("LIS", "Humberto Delgado Airport", "Lisbon", "PT", 38.77, -9.13, "LIS", "eu"),
    ("OPO", "Francisco Sa Carneiro Airport", "Porto", "PT", 41.24, -8.68, "OPO", "eu"),
    ("FAO", "Faro Airport", "Faro", "PT", 37.01, -7.97, "FAO", "eu"),
    ("MAD", "Adolfo Suarez Madrid-Barajas Airport", "Madrid", "ES", 40.49, -3.57, "MAD", "eu"),
    ("BCN", "Josep Tarradellas Barcelona-El Prat Airport", "Barcelona", "ES", 41.30, 2.08, "BCN", "eu"),
    ("AGP", "Malaga-Costa del Sol Airport", "Malaga", "ES", 36.67, -4.50, "AGP", "eu"),
    ("CDG", "Paris Charles de Gaulle Airport", "Paris", "FR", 49.01, 2.55, "PAR", "eu"),
    ("ORY", "Paris Orly Airport", "Paris", "FR", 48.72, 2.38, "PAR", "eu"),
    ("NCE", "Nice Cote d'Azur Airport", "Nice", "FR", 43.66, 7.22, "NCE", "eu"),
    ("LHR", "London Heathrow Airport", "London", "GB", 51.47, -0.45, "LON", "eu"),
    ("LGW", "London Gatwick Airport", "London", "GB", 51.15, -0.19, "LON", "eu"),
    ("EDI", "Edinburgh Airport", "Edinburgh", "GB", 55.95, -3.37, "EDI", "eu"),
    ("DUB", "Dublin Airport", "Dublin", "IE", 53.42, -6.27, "DUB", "eu"),
    ("AMS", "Amsterdam Airport Schiphol", "Amsterdam", "NL", 52.31, 4.76, "AMS", "eu"),
    ("BRU", "Brussels Airport", "Brussels", "BE", 50.90, 4.48, "BRU", "eu"),
    ("FRA", "Frankfurt Airport", "Frankfurt", "DE", 50.03, 8.56, "FRA", "eu"),
    ("MUC", "Munich Airport", "Munich", "DE", 48.35, 11.79, "MUC", "eu"),
    ("BER", "Berlin Brandenburg Airport", "Berlin", "DE", 52.37, 13.50, "BER", "eu"),
    ("ZRH", "Zurich Airport", "Zurich", "CH", 47.46, 8.55, "ZRH", "eu"),
    ("GVA", "Geneva Airport", "Geneva", "CH", 46.24, 6.11, "GVA", "eu"),
    ("VIE", "Vienna International Airport", "Vienna", "AT", 48.11, 16.57, "VIE", "eu"),
    ("FCO", "Rome Fiumicino Airport", "Rome", "IT", 41.80, 12.25, "ROM", "eu"),
    ("MXP", "Milan Malpensa Airport", "Milan", "IT", 45.63, 8.72, "MIL", "eu"),
    ("VCE", "Venice Marco Polo Airport", "Venice", "IT", 45.51, 12.35, "VCE", "eu"),
    ("ATH", "Athens International Airport", "Athens", "GR", 37.94, 23.94, "ATH", "eu"),
    ("IST", "Istanbul Airport", "Istanbul", "TR", 41.26, 28.74, "IST", "eu"),
    ("CPH", "Copenhagen Airport", "Copenhagen", "DK", 55.62, 12.66, "CPH", "eu"),
    ("ARN", "Stockholm Arlanda Airport", "Stockholm", "SE", 59.65, 17.92, "STO", "eu"),
    ("OSL", "Oslo Airport Gardermoen", "Oslo", "NO", 60.19, 11.10, "OSL", "eu"),
    ("HEL", "Helsinki Airport", "Helsinki", "FI", 60.32, 24.96, "HEL", "eu"),
    ("WAW", "Warsaw Chopin Airport", "Warsaw", "PL", 52.17, 20.97, "WAW", "eu"),
    ("PRG", "Vaclav Havel Airport Prague", "Prague", "CZ", 50.10, 14.26, "PRG", "eu"),
    ("BUD", "Budapest Ferenc Liszt International Airport", "Budapest", "HU", 47.44, 19.26, "BUD", "eu"),
    ("JFK", "John F. Kennedy International Airport", "New York", "US", 40.64, -73.78, "NYC", "na"),
    ("EWR", "Newark Liberty International Airport", "New York", "US", 40.69, -74.17, "NYC", "na"),
    ("BOS", "Boston Logan International Airport", "Boston", "US", 42.36, -71.01, "BOS", "na"),
    ("ORD", "Chicago O'Hare International Airport", "Chicago", "US", 41.97, -87.91, "CHI", "na"),
    ("SFO", "San Francisco International Airport", "San Francisco", "US", 37.62, -122.38, "SFO", "na"),
    ("LAX", "Los Angeles International Airport", "Los Angeles", "US", 33.94, -118.41, "LAX", "na"),
    ("YYZ", "Toronto Pearson International Airport", "Toronto", "CA", 43.68, -79.63, "YTO", "na"),
    ("DXB", "Dubai International Airport", "Dubai", "AE", 25.25, 55.36, "DXB", "me"),
    ("DOH", "Hamad International Airport", "Doha", "QA", 25.27, 51.61, "DOH", "me"),
    ("SIN", "Singapore Changi Airport", "Singapore", "SG", 1.36, 103.99, "SIN", "as"),
    ("HND", "Tokyo Haneda Airport", "Tokyo", "JP", 35.55, 139.78, "TYO", "as"),
    ("GRU", "Sao Paulo Guarulhos International Airport", "Sao Paulo", "BR", -23.43, -46.47, "SAO", "sa"),
)

# code, name, home airports, low-cost
AIRLINES: tuple[tuple[str, str, tuple[str, ...], bool], ...] = (
    ("TP", "TAP Air Portugal", ("LIS", "OPO"), False),
    ("IB", "Iberia", ("MAD",), False),
    ("VY", "Vueling", ("BCN", "AGP"), True),
    ("AF", "Air France", ("CDG", "ORY", "NCE"), False),
    ("BA", "British Airways", ("LHR", "LGW", "EDI"), False),
    ("EI", "Aer Lingus", ("DUB",), False),
    ("KL", "KLM", ("AMS",), False),
    ("SN", "Brussels Airlines", ("BRU",), False),
    ("LH", "Lufthansa", ("FRA", "MUC", "BER"), False),
    ("LX", "Swiss", ("ZRH", "GVA"), False),
    ("OS", "Austrian Airlines", ("VIE",), False),
    ("AZ", "ITA Airways", ("FCO", "MXP", "VCE"), False),
    ("A3", "Aegean Airlines", ("ATH",), False),
    ("TK", "Turkish Airlines", ("IST",), False),
    ("SK", "SAS", ("CPH", "ARN", "OSL"), False),
    ("AY", "Finnair", ("HEL",), False),
    ("LO", "LOT Polish Airlines", ("WAW",), False),
    ("OK", "Czech Airlines", ("PRG",), False),
    ("W6", "Wizz Air", ("BUD",), True),
    ("U2", "easyJet", ("LGW", "GVA", "BER"), True),
    ("FR", "Ryanair", ("DUB", "FAO"), True),
    ("AA", "American Airlines", ("JFK", "ORD", "LAX", "BOS"), False),
    ("UA", "United Airlines", ("EWR", "ORD", "SFO"), False),
    ("DL", "Delta Air Lines", ("JFK", "BOS", "LAX"), False),
    ("AC", "Air Canada", ("YYZ",), False),
    ("EK", "Emirates", ("DXB",), False),
    ("QR", "Qatar Airways", ("DOH",), False),
    ("SQ", "Singapore Airlines", ("SIN",), False),
    ("NH", "All Nippon Airways", ("HND",), False),
    ("LA", "LATAM Airlines", ("GRU",), False),
)

# Airports that get a nonstop to most others in their region, and long-haul service.
HUBS: frozenset[str] = frozenset(
    {"LHR", "CDG", "FRA", "AMS", "MAD", "MUC", "IST", "ZRH", "LIS", "FCO", "JFK", "ORD",
     "DXB", "DOH", "SIN", "HND"}
)

# City pairs with no service at all, not even a connection (used by "no such route" tasks).
NO_SERVICE: frozenset[frozenset[str]] = frozenset(
    frozenset(p) for p in (
        ("FAO", "HEL"), ("EDI", "ATH"), ("OSL", "AGP"), ("VCE", "GRU"), ("NCE", "SIN"),
        ("BUD", "LAX"), ("OPO", "HND"), ("GVA", "YYZ"), ("FAO", "SFO"), ("WAW", "GRU"),
    )
)

# Hotel name parts; a hotel's name is built from these deterministically per city.
HOTEL_PREFIXES = ("Hotel", "Grand Hotel", "The", "Casa", "Park", "Residence", "Boutique Hotel",
                  "Palace", "Inn", "Suites")
HOTEL_STEMS = ("Central", "Riverside", "Old Town", "Harbour", "Royal", "Garden", "Station",
               "Metropole", "Plaza", "Skyline", "Cathedral", "Opera", "Market", "Lighthouse")
STREETS = ("Main Street", "Station Road", "Market Square", "River Walk", "Park Avenue",
           "Harbour Street", "Church Lane", "King Street", "Garden Row", "Bridge Street")

# code, name, max guests, beds, rate multiplier versus the hotel's base rate
ROOM_TYPES: tuple[tuple[str, str, int, str, float], ...] = (
    ("SGL", "Single Room", 1, "1 single bed", 0.75),
    ("DBL", "Double Room", 2, "1 double bed", 1.0),
    ("TWN", "Twin Room", 2, "2 single beds", 1.0),
    ("TRP", "Triple Room", 3, "1 double bed and 1 single bed", 1.35),
    ("FAM", "Family Room", 4, "2 double beds", 1.6),
    ("STE", "Suite", 3, "1 king bed and 1 sofa bed", 2.4),
)

# How expensive a city is (multiplies nightly rates).
CITY_COST: dict[str, float] = {
    "LON": 1.6, "PAR": 1.5, "NYC": 1.8, "ZRH": 1.7, "GVA": 1.7, "SFO": 1.6, "TYO": 1.4,
    "SIN": 1.5, "DXB": 1.3, "BOS": 1.5, "AMS": 1.4, "CPH": 1.4, "OSL": 1.4, "STO": 1.3,
    "LAX": 1.4, "CHI": 1.3, "YTO": 1.2, "DOH": 1.2, "MUC": 1.2, "VCE": 1.5, "ROM": 1.2,
    "MIL": 1.3, "DUB": 1.3, "EDI": 1.2, "NCE": 1.3, "BER": 1.0, "FRA": 1.0, "VIE": 1.1,
    "BRU": 1.1, "HEL": 1.1, "MAD": 1.0, "BCN": 1.1, "LIS": 0.95, "OPO": 0.85, "FAO": 0.85,
    "AGP": 0.85, "ATH": 0.85, "IST": 0.8, "WAW": 0.75, "PRG": 0.8, "BUD": 0.75, "SAO": 0.8,
}

# Standard-time UTC offsets in hours (the demo ignores daylight saving time).
UTC_OFFSET: dict[str, float] = {
    "LIS": 0, "OPO": 0, "FAO": 0, "LHR": 0, "LGW": 0, "EDI": 0, "DUB": 0,
    "MAD": 1, "BCN": 1, "AGP": 1, "CDG": 1, "ORY": 1, "NCE": 1, "AMS": 1, "BRU": 1, "FRA": 1,
    "MUC": 1, "BER": 1, "ZRH": 1, "GVA": 1, "VIE": 1, "FCO": 1, "MXP": 1, "VCE": 1, "CPH": 1,
    "ARN": 1, "OSL": 1, "WAW": 1, "PRG": 1, "BUD": 1, "ATH": 2, "HEL": 2, "IST": 3,
    "JFK": -5, "EWR": -5, "BOS": -5, "YYZ": -5, "ORD": -6, "SFO": -8, "LAX": -8,
    "DXB": 4, "DOH": 3, "SIN": 8, "HND": 9, "GRU": -3,
}
