"""Time zones as people name them: a city, a country, a common alias, or `+7`.

`/tz Asia/Bangkok` is how the zone list spells it; people type `bangkok`,
`thailand`, `delhi` or `UTC+7`. This module turns those into an IANA zone, or
into a short list to choose from when one answer would be a guess:

- a city (the last part of a zone name, `bangkok`, `new york`) or a common alias
  (`delhi`, `beijing`) names one zone;
- a country with one zone names it; a country with several offers them;
- an offset (`+7`, `UTC+07:00`, `GMT-5`) offers the zones at that offset now: an
  offset is not a zone (summer time differs), so it is never set silently;
- abbreviations that mean different places (`EST`, `CST`, `IST`) are refused
  with an example, even where the zone list has a legacy entry of that name.

Pure apart from reading the zone tables of the `tzdata` package once.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

#: Abbreviations and legacy names that mean different places; never accepted.
AMBIGUOUS = frozenset(
    {
        "est", "edt", "cst", "cdt", "mst", "mdt", "pst", "pdt", "hst", "akst", "ist", "bst",
        "cet", "cest", "eet", "eest", "wet", "west", "met", "msk", "sst", "ast", "aest",
        "est5edt", "cst6cdt", "mst7mdt", "pst8pdt", "wib", "ict",
    }
)  # fmt: skip
#: An example for each ambiguous abbreviation people commonly mean.
EXAMPLES = {"est": "New York", "pst": "Los Angeles", "cst": "Chicago", "ist": "Kolkata"}
#: Cities people name that the zone list files under another city.
ALIASES = {
    "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata", "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata", "calcutta": "Asia/Kolkata", "beijing": "Asia/Shanghai",
    "hong kong": "Asia/Hong_Kong", "saigon": "Asia/Ho_Chi_Minh", "hanoi": "Asia/Ho_Chi_Minh",
    "rangoon": "Asia/Yangon", "mandalay": "Asia/Yangon", "washington": "America/New_York",
    "san francisco": "America/Los_Angeles", "geneva": "Europe/Zurich", "utc": "UTC",
    "gmt": "UTC", "z": "UTC",
}  # fmt: skip
_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?")
MAX_CHOICES = 5


@dataclass(frozen=True)
class ZoneAnswer:
    """What a typed name means: one zone, or choices to offer (`why` says which kind)."""

    zone: str | None = None
    choices: tuple[str, ...] = ()
    why: str = "unknown"  # "offset", "country", "ambiguous", "similar" or "unknown"


def _normal(text: str) -> str:
    return " ".join(text.replace("_", " ").casefold().split())


def _read(name: str) -> list[list[str]]:
    text = resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    return [line.split("\t") for line in text.splitlines() if line and not line.startswith("#")]


@functools.cache
def _places() -> list[str]:
    """Zones people live in, those shared by most countries first (Asia/Bangkok: four).

    Canonical names only (zone.tab), so a backward link such as Asia/Calcutta is never
    offered beside Asia/Kolkata; Antarctic stations are left out.
    """
    rows = _read("zone1970.tab")
    spread = {row[2]: len(row[0].split(",")) for row in rows}
    zones = [row[2] for row in rows] + [row[2] for row in _read("zone.tab")]
    lived = [z for z in dict.fromkeys(zones) if not z.startswith(("Antarctica/", "Arctic/"))]
    return sorted(lived, key=lambda z: -spread.get(z, 0))


@functools.cache
def _cities() -> dict[str, str]:
    """`bangkok` → Asia/Bangkok for every city whose name is unique."""
    found: dict[str, list[str]] = {}
    for zone in _places():
        found.setdefault(_normal(zone.rsplit("/", 1)[-1]), []).append(zone)
    cities = {city: zones[0] for city, zones in found.items() if len(zones) == 1}
    return cities | ALIASES


@functools.cache
def _countries() -> dict[str, tuple[str, ...]]:
    """`thailand` → (Asia/Bangkok,); names in brackets count too (`burma`, `uk`)."""
    zones: dict[str, list[str]] = {}
    for row in _read("zone.tab"):
        zones.setdefault(row[0], []).append(row[2])
    found: dict[str, tuple[str, ...]] = {}
    for code, name in ((row[0], row[1]) for row in _read("iso3166.tab")):
        main, _, bracket = name.partition(" (")
        for key in {_normal(name), _normal(main), _normal(bracket.rstrip(")"))} - {""}:
            found.setdefault(key, tuple(zones.get(code, ())))
    found["usa"] = found["united states"]
    return {key: value for key, value in found.items() if value}


def by_offset(sign: str, hours: str, minutes: str | None, now: datetime) -> tuple[str, ...]:
    """The zones at this UTC offset at `now`, principal ones first."""
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    offset = -offset if sign == "-" else offset
    return tuple(z for z in _places() if ZoneInfo(z).utcoffset(now) == offset)


def understand(text: str, now: datetime) -> ZoneAnswer:
    """Read a zone as a person names it (the caller tries exact IANA names first)."""
    word = _normal(text)
    if not word:
        return ZoneAnswer()
    if word in ALIASES or word in _cities():
        return ZoneAnswer(zone=_cities()[word])
    if word.replace(" ", "") in AMBIGUOUS:
        return ZoneAnswer(why="ambiguous")
    match = _OFFSET.fullmatch(word)
    if match is not None:
        sign, hours, minutes = match.group(1), match.group(2), match.group(3)
        found = by_offset(sign, hours, minutes, now)
        return ZoneAnswer(choices=found[:MAX_CHOICES], why="offset")
    country = _countries().get(word)
    if country is not None and len(country) == 1:
        return ZoneAnswer(zone=country[0])
    if country is not None:
        return ZoneAnswer(choices=country[:MAX_CHOICES], why="country")
    names = list(_cities()) + [z.casefold() for z in _places()]
    close = difflib.get_close_matches(word, names, n=3, cutoff=0.75)
    zones = [_cities().get(c) or next(z for z in _places() if z.casefold() == c) for c in close]
    return ZoneAnswer(choices=tuple(dict.fromkeys(zones)), why="similar" if zones else "unknown")
