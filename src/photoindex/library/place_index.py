"""The places the library holds photos of, with counts: what "in Lisbon" can mean, and ``/places``.

Built from the library snapshot's ``place`` column (one ``np.bincount``),
never by scrolling the store per query, and rebuilt only when the catalog
hands out a new snapshot. It holds one small record per distinct place and
one name table entry per distinct name (a library with photos from 2,000
places: a few hundred kB), independent of the number of photos.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

import anyio
import numpy as np

from photoindex.library.snapshot import Snapshot

__all__ = ["CountryCount", "PlaceCount", "PlaceIndex", "PlaceIndexCache", "normalize_name"]

# Common alternative names a user types for countries GeoNames names otherwise.
_COUNTRY_ALIASES = {"usa": "US", "america": "US", "uk": "GB", "britain": "GB", "great britain": "GB"}
_NON_WORD = re.compile(r"[^\w]+")


def normalize_name(text: str) -> str:
    """Case- and accent-blind words joined by single spaces: "Reykjavík" and "reykjavik" are one name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", plain).strip()


@dataclass(frozen=True)
class PlaceCount:
    """A city the library holds photos of."""

    city: str
    region: str
    country: str
    country_code: str
    count: int
    lat: float  # mean latitude of its photos (which hemisphere its seasons follow)

    @property
    def label(self) -> str:
        return f"{self.city}, {self.country_code}"


@dataclass(frozen=True)
class CountryCount:
    """A country with its photo count and its cities, most photographed first."""

    country: str
    country_code: str
    count: int
    lat: float
    cities: tuple[PlaceCount, ...]

    @property
    def label(self) -> str:
        return self.country


@dataclass(frozen=True)
class PlaceIndex:
    """Names → places of the library, each list most photographed first."""

    countries: tuple[CountryCount, ...]
    cities_by_name: dict[str, tuple[PlaceCount, ...]]
    countries_by_name: dict[str, CountryCount]
    max_words: int
    gps_photos: int
    south_photos: int  # photos with GPS south of the equator
    with_place: int = field(default=0)

    @classmethod
    def empty(cls) -> PlaceIndex:
        return cls((), {}, {}, 0, 0, 0)

    @classmethod
    def from_snapshot(cls, snapshot: Snapshot) -> PlaceIndex:
        """Counts per place from the snapshot's columns (indexed photos only)."""
        if snapshot.place is None or snapshot.lat is None or not len(snapshot):
            return cls.empty()
        indexed = snapshot.status == 0
        lat = snapshot.lat[indexed]
        has_lat = ~np.isnan(lat)
        codes = snapshot.place[indexed]
        known = codes >= 0
        n = len(snapshot.place_names)
        counts = np.bincount(codes[known], minlength=n)
        lat_sums = np.bincount(codes[known & has_lat], weights=lat[known & has_lat], minlength=n)
        lat_counts = np.bincount(codes[known & has_lat], minlength=n)
        by_country: dict[str, list[PlaceCount]] = {}
        for code, (city, region, country, cc) in enumerate(snapshot.place_names):
            if counts[code]:
                mean = float(lat_sums[code] / lat_counts[code]) if lat_counts[code] else 0.0
                by_country.setdefault(cc, []).append(PlaceCount(city, region, country, cc, int(counts[code]), mean))
        countries = []
        for cc, cities in by_country.items():
            cities.sort(key=lambda p: (-p.count, p.city))
            total = sum(p.count for p in cities)
            mean = sum(p.lat * p.count for p in cities) / total
            countries.append(CountryCount(cities[0].country, cc, total, mean, tuple(cities)))
        countries.sort(key=lambda c: (-c.count, c.country))
        return cls._named(countries, gps=int(has_lat.sum()), south=int((lat[has_lat] < 0).sum()))

    @classmethod
    def _named(cls, countries: list[CountryCount], *, gps: int, south: int) -> PlaceIndex:
        cities: dict[str, list[PlaceCount]] = {}
        named_countries: dict[str, CountryCount] = {}
        for country in countries:
            named_countries.setdefault(normalize_name(country.country), country)
            for city in country.cities:
                # Same-named places in one region (districts merged by the geocoder) count as one name.
                cities.setdefault(normalize_name(city.city), []).append(city)
        for alias, cc in _COUNTRY_ALIASES.items():
            match = next((c for c in countries if c.country_code == cc), None)
            if match is not None:
                named_countries.setdefault(alias, match)
        ordered = {
            name: tuple(sorted(found, key=lambda p: (-p.count, p.country_code))) for name, found in cities.items()
        }
        longest = max((len(name.split()) for name in (*ordered, *named_countries)), default=0)
        total = sum(c.count for c in countries)
        return cls(tuple(countries), ordered, named_countries, longest, gps, south, total)

    @property
    def south(self) -> bool:
        """Most photos with GPS were taken south of the equator (whose seasons a date word follows)."""
        return self.south_photos * 2 > self.gps_photos


def _most_photos(place: PlaceCount) -> tuple[int, str, str]:
    return -place.count, place.country_code, place.region


class PlaceIndexCache:
    """The index for the latest snapshot: rebuilt when the catalog hands out another one."""

    def __init__(self) -> None:
        self._snapshot: Snapshot | None = None
        self._index = PlaceIndex.empty()

    async def index(self, snapshot: Snapshot | None) -> PlaceIndex:
        """The index of ``snapshot``; a new snapshot's is built in a worker thread (~30 ms at 100k photos)."""
        if snapshot is None or snapshot is self._snapshot:
            return self._index
        index = await anyio.to_thread.run_sync(PlaceIndex.from_snapshot, snapshot)
        self._index, self._snapshot = index, snapshot
        return index
