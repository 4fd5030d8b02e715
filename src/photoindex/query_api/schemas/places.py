"""Places: how a text query was read (``interpreted``), and the library's countries and cities with counts."""

from __future__ import annotations

from typing import Literal

import msgspec

from photoindex.library.place_index import PlaceIndex
from photoindex.library.query_reading import QueryReading


class PlaceAlternative(msgspec.Struct, kw_only=True):
    """Another place of the same name, with how many photos the library holds of it."""

    place: str  # "Paris, US"
    region: str
    country: str
    photos: int


class Interpreted(msgspec.Struct, kw_only=True):
    """What the query was read as: the text ranked by the embedding, and the filters its words became.

    ``taken`` is the first and last day, inclusive, local to where each photo was taken.
    ``ambiguous``: the place name is held by several places; the one with the most photos was
    taken, ``alternatives`` lists the others (name a region or country to choose: "Paris, Texas").
    """

    text: str
    place: str | None = None  # "Lisbon, PT", or a country's name
    region: str | None = None
    country: str | None = None
    country_code: str | None = None
    taken: list[str] | None = None  # ["2025-06-21", "2025-09-22"]
    hemisphere: Literal["north", "south"] | None = None  # the seasons a season word was read in
    ambiguous: bool = False
    alternatives: list[PlaceAlternative] = msgspec.field(default_factory=list)


class CityOut(msgspec.Struct, kw_only=True):
    city: str
    region: str
    photos: int


class CountryOut(msgspec.Struct, kw_only=True):
    country: str
    country_code: str
    photos: int
    cities: list[CityOut]  # most photographed first


class PlacesOut(msgspec.Struct, kw_only=True):
    """Countries and their cities, most photographed first; indexed photos with a place only."""

    countries: list[CountryOut]
    photos_with_place: int
    photos_with_gps: int
    complete: bool  # false while the library is still being read (the lists may be empty or partial)


def interpreted(reading: QueryReading) -> Interpreted:
    city, country = reading.city, reading.country
    return Interpreted(
        text=reading.text,
        place=reading.place_label,
        region=city.region if city is not None else None,
        country=city.country if city is not None else (country.country if country is not None else None),
        country_code=city.country_code if city is not None else (country.country_code if country else None),
        taken=[reading.taken[0].isoformat(), reading.taken[1].isoformat()] if reading.taken else None,
        hemisphere=None if reading.south is None else ("south" if reading.south else "north"),
        ambiguous=bool(reading.alternatives),
        alternatives=[
            PlaceAlternative(place=a.label, region=a.region, country=a.country, photos=a.count)
            for a in reading.alternatives
        ],
    )


def places_out(index: PlaceIndex, *, complete: bool) -> PlacesOut:
    return PlacesOut(
        countries=[
            CountryOut(
                country=c.country,
                country_code=c.country_code,
                photos=c.count,
                cities=[CityOut(city=p.city, region=p.region, photos=p.count) for p in c.cities],
            )
            for c in index.countries
        ],
        photos_with_place=index.with_place,
        photos_with_gps=index.gps_photos,
        complete=complete,
    )


__all__ = ["CityOut", "CountryOut", "Interpreted", "PlaceAlternative", "PlacesOut", "interpreted", "places_out"]
