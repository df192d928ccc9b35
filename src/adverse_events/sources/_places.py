"""Reduce a free-text or structured location to country (ISO 3166-1 alpha-2) and state/province.

Used by social sources when location is enabled; never keeps a city, street or coordinates.
Only US states, Canadian provinces, Australian states and a list of common country names are
known: anything else reduces to nothing (privacy by default, no guessing).
"""

from __future__ import annotations

import re

__all__ = ["reduce_location", "reduce_place"]

US_STATES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
    "DC": "District of Columbia",
    "PR": "Puerto Rico",
}
CA_PROVINCES = {
    "AB": "Alberta",
    "BC": "British Columbia",
    "MB": "Manitoba",
    "NB": "New Brunswick",
    "NL": "Newfoundland and Labrador",
    "NS": "Nova Scotia",
    "ON": "Ontario",
    "PE": "Prince Edward Island",
    "QC": "Quebec",
    "SK": "Saskatchewan",
}
AU_STATES = {
    "NSW": "New South Wales",
    "VIC": "Victoria",
    "QLD": "Queensland",
    "WA": "Western Australia",
    "SA": "South Australia",
    "TAS": "Tasmania",
    "ACT": "Australian Capital Territory",
    "NT": "Northern Territory",
}
COUNTRIES = {
    "united states": "US",
    "usa": "US",
    "u.s.a.": "US",
    "u.s.": "US",
    "us": "US",
    "america": "US",
    "united kingdom": "GB",
    "uk": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "great britain": "GB",
    "canada": "CA",
    "australia": "AU",
    "new zealand": "NZ",
    "ireland": "IE",
    "india": "IN",
    "pakistan": "PK",
    "nigeria": "NG",
    "kenya": "KE",
    "south africa": "ZA",
    "ghana": "GH",
    "philippines": "PH",
    "singapore": "SG",
    "malaysia": "MY",
    "indonesia": "ID",
    "germany": "DE",
    "france": "FR",
    "spain": "ES",
    "italy": "IT",
    "netherlands": "NL",
    "belgium": "BE",
    "sweden": "SE",
    "norway": "NO",
    "denmark": "DK",
    "finland": "FI",
    "switzerland": "CH",
    "austria": "AT",
    "portugal": "PT",
    "poland": "PL",
    "brazil": "BR",
    "mexico": "MX",
    "argentina": "AR",
    "japan": "JP",
    "china": "CN",
    "south korea": "KR",
    "korea": "KR",
}

_STATE_SETS = (("US", US_STATES), ("CA", CA_PROVINCES), ("AU", AU_STATES))
_SPLIT = re.compile(r"\s*[,/|·•]\s*|\s+-\s+")


def _state_by_name(part: str) -> tuple[str, str] | None:
    lowered = part.lower()
    for country, states in _STATE_SETS:
        for code, name in states.items():
            if lowered == name.lower():
                return country, code
    return None


def _state_by_code(part: str, country: str | None) -> tuple[str, str] | None:
    if not part.isupper():
        return None  # "in", "or", "me" in prose are not states; codes are written in capitals
    for code_country, states in _STATE_SETS:
        if country not in (None, code_country):
            continue
        if part in states:
            return code_country, part
    return None


def reduce_location(text: str | None) -> dict[str, str]:
    """``{"country": "US", "state": "TX"}`` (either may be missing) from e.g. "Austin, TX"."""
    if not text or not text.strip():
        return {}
    parts = [p.strip(" .") for p in _SPLIT.split(text.strip()) if p.strip(" .")]
    country = next((COUNTRIES[p.lower()] for p in reversed(parts) if p.lower() in COUNTRIES), None)
    for part in reversed(parts):
        found = _state_by_name(part) or _state_by_code(part, country)
        if found and country in (None, found[0]):
            return {"country": found[0], "state": found[1]}
    return {"country": country} if country else {}


def reduce_place(country_code: str | None, full_name: str | None) -> dict[str, str]:
    """Country and state from an X place (``country_code``, ``full_name`` "Austin, TX")."""
    reduced = reduce_location(full_name) if full_name else {}
    if country_code:
        code = country_code.upper()
        if reduced.get("country") not in (None, code):
            reduced = {}
        reduced["country"] = code
    return reduced
