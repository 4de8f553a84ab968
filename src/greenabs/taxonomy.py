"""Green taxonomies and emission factors: what counts as green, and how much CO2 a MWh avoids.

* :func:`resolve_category` turns a deal's free-text ``green_category`` (a Catalogue code such
  as ``"3.2.2"``, an English or Chinese name, or an alias such as ``"clean energy"``) into a
  :class:`Category` of the Green Bond Endorsed Projects Catalogue (2021 Edition) with its ICMA
  Green Bond Principles category; an unknown text is a ``ValueError`` naming close matches.
* :data:`DEFAULT_BY_TYPE` is the category an asset type takes when the deal gives none.
* :func:`emission_factor` picks a grid emission factor (tCO2/MWh) by region, year and scope
  from the MEE/NBS announcements (``data/grid_emission_factors_china.csv``).

Sources are in the header of each data file and in docs/pool.md.  This module is a leaf: it
imports nothing of greenabs but :mod:`greenabs.errors`.
"""

from __future__ import annotations

import csv
import difflib
import functools
import re
from dataclasses import dataclass
from importlib import resources

from greenabs.errors import Problem, SpecError

__all__ = [
    "DEFAULT_BY_TYPE",
    "ICMA_CATEGORIES",
    "Category",
    "EmissionFactor",
    "categories",
    "category_for",
    "emission_factor",
    "emission_factors",
    "resolve_category",
]

ICMA_CATEGORIES: dict[str, str] = {
    "renewable_energy": "Renewable energy",
    "energy_efficiency": "Energy efficiency",
    "pollution_prevention": "Pollution prevention and control",
    "living_natural_resources": "Environmentally sustainable management of living natural "
    "resources and land use",
    "biodiversity": "Terrestrial and aquatic biodiversity",
    "clean_transportation": "Clean transportation",
    "water": "Sustainable water and wastewater management",
    "climate_adaptation": "Climate change adaptation",
    "circular_economy": "Circular economy adapted products, production technologies and processes",
    "green_buildings": "Green buildings",
}
"""The ICMA Green Bond Principles' eligible green project categories (June 2021), by key."""

DEFAULT_BY_TYPE: dict[str, str] = {
    "solar_plant": "3.2.2.2",
    "wind_farm": "3.2.2.1",
    "hydro_plant": "3.2.2",
    "sewage_fee": "5.3.1.1",
    "waste_fee": "5.3.1.2",
    "tourism_ticket": "4.2.1",
    "forestry": "4.2.1",
    "agriculture": "4.1.2",
}
"""Catalogue code of an asset type when its ``green_category`` is not given (loans, leases,
receivables and projected vectors have none: they are green only when labelled)."""


@dataclass(frozen=True)
class Category:
    """One item of the Catalogue: ``code`` (``"3.2.2"``), ``level`` (1 to 4), names, the ICMA
    category key (``""`` when none fits) and whether the entry was checked (``status`` V/U)."""

    code: str
    level: int
    name_en: str
    name_zh: str
    icma: str
    status: str
    aliases: tuple[str, ...] = ()

    @property
    def icma_name(self) -> str:
        """The ICMA category's name (``""`` when none fits)."""
        return ICMA_CATEGORIES.get(self.icma, "")

    @property
    def level1(self) -> str:
        """Code of the level-I category the item belongs to."""
        return self.code.split(".")[0]

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "code": self.code,
            "level": self.level,
            "name_en": self.name_en,
            "name_zh": self.name_zh,
            "icma": self.icma,
            "icma_name": self.icma_name,
        }


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("greenabs.data").joinpath(name).read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return list(csv.DictReader(lines))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[_\-]+", " ", text.strip().lower()))


@functools.cache
def categories() -> tuple[Category, ...]:
    """Every Catalogue item of ``data/green_taxonomy.csv``, in code order."""
    out = []
    for r in _rows("green_taxonomy.csv"):
        aliases = tuple(a.strip() for a in r["aliases"].split(";") if a.strip())
        out.append(
            Category(
                code=r["code"],
                level=int(r["level"]),
                name_en=r["name_en"],
                name_zh=r["name_zh"],
                icma=r["icma"],
                status=r["status"],
                aliases=aliases,
            )
        )
    return tuple(out)


@functools.cache
def _index() -> tuple[dict[str, Category], dict[str, list[Category]]]:
    """Unique keys (codes, English names, aliases) and Chinese names (some are shared)."""
    unique: dict[str, Category] = {}
    chinese: dict[str, list[Category]] = {}
    for c in categories():
        for key in (c.code, c.name_en, *c.aliases):
            k = _norm(key)
            # a level-III item may be named as its level-II parent: the name means the item
            child = key == c.name_en and k in unique and c.code.startswith(unique[k].code + ".")
            if k in unique and unique[k] is not c and not child:
                raise AssertionError(f"green_taxonomy.csv: {key!r} names two items")
            unique[k] = c
        chinese.setdefault(_norm(c.name_zh), []).append(c)
    return unique, chinese


def category_for(code: str) -> Category:
    """The item of a Catalogue code (``KeyError`` if there is none)."""
    for c in categories():
        if c.code == code:
            return c
    raise KeyError(code)


def resolve_category(text: str) -> Category:
    """The Catalogue item a free-text label names: its code (``"3.2.2"``, also as the start of
    ``"3.2.2 Construction..."``), English or Chinese name, or an alias, ignoring case, spaces,
    hyphens and underscores.  An unknown label, or a Chinese name shared by several items, is a
    ``ValueError`` whose message gives the reason and the closest labels."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a green category must be a non-empty text")
    return _resolve(text)


@functools.lru_cache(maxsize=4096)
def _resolve(text: str) -> Category:
    """:func:`resolve_category` of a non-empty text, remembered (a tape repeats a few
    categories over many rows; the lookup normalises with regular expressions)."""
    unique, chinese = _index()
    key = _norm(text)
    if key in unique:
        return unique[key]
    head = re.match(r"^(\d+(?:\.\d+)*)\s", key)
    if head and head.group(1) in unique:
        return unique[head.group(1)]
    if key in chinese:
        found = chinese[key]
        if len(found) == 1:
            return found[0]
        codes = ", ".join(c.code for c in found)
        raise ValueError(f"{text!r} names several Catalogue items ({codes}): give the code")
    labels = sorted(set(unique) | set(chinese))
    close = difflib.get_close_matches(key, labels, n=5, cutoff=0.6)
    hint = f"; close matches: {', '.join(repr(c) for c in close)}" if close else ""
    raise ValueError(
        f"unknown green category {text!r}: not a code, name or alias of the Green Bond "
        f"Endorsed Projects Catalogue (2021){hint}"
    )


# ---------------------------------------------------------------------- emission factors
@dataclass(frozen=True)
class EmissionFactor:
    """A grid emission factor: ``value`` tCO2/MWh of ``region`` in ``year``, of ``scope``."""

    value: float
    region: str
    year: int
    scope: str
    source: str

    def to_dict(self) -> dict[str, object]:
        """JSON-ready fields."""
        return {
            "value": self.value,
            "region": self.region,
            "year": self.year,
            "scope": self.scope,
            "source": self.source,
        }


SOURCE = (
    "MEE and NBS announcements of China's electricity CO2 emission factors (2021 values: "
    "announcement 2024 No. 12, 12 Apr 2024; 2022 values: 20 Dec 2024); consumption-based "
    "average factors; 2023 values as reported by reportify.ai "
    "(data/grid_emission_factors_china.csv)"
)


@functools.cache
def emission_factors() -> tuple[EmissionFactor, ...]:
    """Every factor of ``data/grid_emission_factors_china.csv``."""
    return tuple(
        EmissionFactor(
            value=float(r["factor_tco2_per_mwh"]),
            region=r["region"],
            year=int(r["year"]),
            scope=r["scope"],
            source=SOURCE,
        )
        for r in _rows("grid_emission_factors_china.csv")
    )


def emission_factor(
    region: str | None = None,
    year: int | None = None,
    scope: str | None = None,
    *,
    names: tuple[str, str, str] = ("region", "year", "scope"),
) -> EmissionFactor:
    """The factor of ``region`` (``China``, the default, or a grid region: North, Northeast,
    East, Central, Northwest, South, Southwest; any case), ``year`` (default: the latest the
    table has for the region and scope) and ``scope`` (default ``national_average`` for China,
    ``regional_average`` for a region).  An unknown region, year or scope is a
    :class:`~greenabs.errors.SpecError` naming the field (``names`` gives the fields' names,
    e.g. the command line's flags) and what is known."""
    table = emission_factors()
    r_name, y_name, s_name = names
    regions = sorted({f.region for f in table})
    reg = "China" if region is None else str(region).strip()
    match = [x for x in regions if x.lower() == reg.lower()]
    if not match:
        raise SpecError(
            "<argument>",
            Problem(r_name, f"unknown region {reg!r} (known: {', '.join(regions)})"),
        )
    reg = match[0]
    sc = (
        scope
        if scope is not None
        else ("national_average" if reg == "China" else "regional_average")
    )
    rows = [f for f in table if f.region == reg]
    scopes = sorted({f.scope for f in rows})
    if sc not in scopes:
        raise SpecError(
            "<argument>",
            Problem(s_name, f"no {sc!r} factor for {reg} (known: {', '.join(scopes)})"),
        )
    rows = [f for f in rows if f.scope == sc]
    years = sorted(f.year for f in rows)
    if year is None:
        return max(rows, key=lambda f: f.year)
    for f in rows:
        if f.year == year:
            return f
    known = ", ".join(str(y) for y in years)
    raise SpecError(
        "<argument>",
        Problem(y_name, f"no {sc} factor for {reg} in {year} (known years: {known})"),
    )
