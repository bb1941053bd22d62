"""Building the world of a scenario: agencies (named and generated), cameras, sharing settings.

The world is small (hundreds of agencies, tens of cameras each) and is kept in memory; the rows that
grow with the scenario's size (reads, searches) are generated later, in batches, from it.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime

from faker import Faker

from auditor.errors import InputError
from auditor.timefmt import iso_utc
from simulator.scenario import Scenario, data_file

# Case-number shapes agencies use; each agency keeps one (`{yy}` two-digit year, `{n}` a serial).
CASE_FORMATS = ("{yy}-{n:05d}", "{yy}{n:06d}", "20{yy}-{n:05d}", "SO{yy}-{n:05d}", "{n:08d}", "{yy}-{n:06d}")

_KIND_SUFFIX = {"police": "PD", "sheriff": "SO", "state police": "State Police", "task force": "Task Force",
                "probation": "Probation", "fusion center": "Fusion Center"}


@dataclass
class AgencyRow:
    """One agency as the simulator knows it (a superset of the `agencies` row)."""

    id: int
    name: str
    state: str | None
    level: str
    kind: str
    dhs_component: str | None
    is_287g: int
    support_287g: str | None
    utc_offset: int  # hours, standard time, for searching in working hours
    officers: tuple[int, int]  # (first index into the officer name pool, how many officers)
    case_format: str
    focal: bool = False
    aliases: tuple[str, ...] = ()  # how officers write its name in a reason, besides the vendor's spelling

    def as_row(self) -> tuple:
        """The `agencies` table tuple."""
        return (self.id, self.name, self.state, self.level, self.kind, self.dhs_component, self.is_287g,
                self.support_287g, "scenario", 1.0)


@dataclass
class Device:
    """A camera: fixed on a pole or mobile on a patrol car."""

    id: int
    owner_id: int
    name: str
    kind: str
    network: str
    lat: float
    lon: float


@dataclass
class World:
    """Agencies, cameras and shares of one scenario, plus who can reach whose data."""

    agencies: list[AgencyRow]
    members: dict[str, list[int]]  # scenario key (agency or group) -> agency ids
    devices: list[Device]
    shares: list[tuple]  # `shares` table tuples
    officer_names: list[str]
    by_id: dict[int, AgencyRow] = field(default_factory=dict)
    _reach: dict[int, list[tuple[int, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {a.id: a for a in self.agencies}

    @property
    def owners(self) -> list[int]:
        """Agencies that own cameras, in id order."""
        return sorted({d.owner_id for d in self.devices})

    def reach(self, searcher_id: int) -> list[tuple[int, str]]:
        """The modeled owners whose data a searcher's search touches, with the scope that let it in.

        The most specific scope wins: own > direct > statewide > national. Statewide Lookup reaches
        agencies of the owner's state, never federal users, who only get in nationally (the back door).
        """
        if searcher_id in self._reach:
            return self._reach[searcher_id]
        searcher = self.by_id[searcher_id]
        rank = {"own": 0, "direct": 1, "statewide": 2, "national": 3}
        best: dict[int, str] = {}
        for owner_id in self.owners:
            if owner_id == searcher_id:
                best[owner_id] = "own"
        for (_sid, owner_id, grantee_id, scope, *_rest) in self.shares:
            if scope == "direct" and grantee_id != searcher_id:
                continue
            if scope == "statewide":
                owner = self.by_id[owner_id]
                if searcher.level == "federal" or searcher.state != owner.state:
                    continue
            if owner_id not in best or rank[scope] < rank[best[owner_id]]:
                best[owner_id] = scope
        self._reach[searcher_id] = sorted(best.items())
        return self._reach[searcher_id]


def _officer_pool(seed: int, size: int = 4000) -> list[str]:
    """Officer names, built once from a seeded Faker (never per row)."""
    fake = Faker("en_US")
    fake.seed_instance(seed)
    return [f"{fake.first_name()} {fake.last_name()}" for _ in range(size)]


def _place_names(seed: int) -> list[str]:
    """Fallback town names for states whose real-name list runs out."""
    fake = Faker("en_US")
    fake.seed_instance(seed + 1)
    return [fake.city() for _ in range(600)]


def build_world(scenario: Scenario, seed: int) -> World:
    """Lay out the scenario's agencies, cameras and shares deterministically for a seed."""
    rng = random.Random(f"{seed}:world")
    places = data_file("places.toml")["states"]
    officers = _officer_pool(seed)
    fallback = iter(_place_names(seed))
    agencies: list[AgencyRow] = []
    members: dict[str, list[int]] = {}
    used_names: set[str] = set()

    def add(name: str, state: str | None, level: str, kind: str, dhs: str | None, is_287g: bool,
            support: str | None, focal: bool = False, aliases: tuple[str, ...] = ()) -> int:
        agency_id = len(agencies) + 1
        staff = rng.randint(4, 60) if level != "federal" else rng.randint(8, 40)
        first = rng.randrange(len(officers) - staff)
        offset = places[state]["utc_offset"] if state else -5  # federal users: Eastern working hours
        agencies.append(AgencyRow(agency_id, name, state, level, kind, dhs, int(is_287g), support, offset,
                                  (first, staff), rng.choice(CASE_FORMATS), focal, aliases))
        used_names.add(name)
        return agency_id

    # A misusing officer is a distinct person: an agency has at least three times as many officers.
    need: dict[str, int] = {}
    for m in scenario.misuse:
        need[m.actors] = max(need.get(m.actors, 0), 3 * m.officers)
    for a in scenario.agencies:
        members[a.key] = [add(a.name, a.state, a.level, a.kind, a.dhs_component, a.is_287g, a.support_287g,
                              a.focal, a.aliases)]
    for g in scenario.groups:
        ids = []
        kinds, weights = list(g.kinds), list(g.kinds.values())
        for state, count in g.states.items():
            cities = iter(places[state]["cities"])
            counties = iter(places[state]["counties"])
            for _ in range(count):
                kind = rng.choices(kinds, weights)[0]
                name = _generated_name(kind, state, cities, counties, fallback, used_names)
                level = "county" if kind in ("sheriff", "probation") else "state" if kind == "state police" else "local"
                is_287g = rng.random() < g.share_287g
                support = rng.choice(("Task Force Model", "Jail Enforcement Model", "Warrant Service Officer")) \
                    if is_287g else None
                ids.append(add(name, state, level, kind, None, is_287g, support))
        members[g.key] = ids
    for key, staff in need.items():
        for agency_id in members[key]:
            row = agencies[agency_id - 1]
            first, count = row.officers
            if count < staff:
                count = min(staff, len(officers))
                row.officers = (min(first, len(officers) - count), count)

    devices: list[Device] = []
    for cam in scenario.cameras:
        owner = next(a for a in scenario.agencies if a.key == cam["owner"])
        owner_id = members[cam["owner"]][0]
        network = owner.name
        for i in range(cam["fixed"] + cam["mobile"]):
            kind = "fixed" if i < cam["fixed"] else "mobile"
            # Uniform over a disc around the city centre; a degree of latitude is ~111 km.
            r = cam["radius_km"] * math.sqrt(rng.random()) / 111.0
            theta = rng.random() * 2 * math.pi
            lat = round(owner.lat + r * math.sin(theta), 6)
            lon = round(owner.lon + r * math.cos(theta) / math.cos(math.radians(owner.lat)), 6)
            label = f"{'FX' if kind == 'fixed' else 'MB'}-{i + 1:03d}"
            devices.append(Device(len(devices) + 1, owner_id, f"{network} {label}", kind, network, lat, lon))

    shares: list[tuple] = []
    for s in scenario.shares:
        grantees = members[s["grantee"]] if s["grantee"] else [None]
        for owner_id in members[s["owner"]]:
            for grantee_id in grantees:
                shares.append((len(shares) + 1, owner_id, grantee_id, s["scope"],
                               agencies[owner_id - 1].name, "scenario", None,
                               iso_utc(datetime.combine(scenario.start, datetime.min.time())), None))
    return World(agencies, members, devices, shares, officers)


def _generated_name(kind: str, state: str, cities, counties, fallback, used: set[str]) -> str:
    """A vendor-style org name (`Raleigh NC PD`, `Lowndes County GA SO`) not used yet."""
    for _ in range(1000):
        place: str | None = state
        if kind in ("sheriff", "probation"):
            place = next(counties, None) or next(fallback, None)
            name = f"{place} County {state} {_KIND_SUFFIX[kind]}"
        elif kind == "state police" and f"{state} State Police" not in used:
            name = f"{state} State Police"
        else:
            place = next(cities, None) or next(fallback, None)
            name = f"{place} {state} {_KIND_SUFFIX['police' if kind == 'state police' else kind]}"
        if place is not None and name not in used:
            return name
    raise InputError(f"groups: too many agencies in {state} to name (the place pools ran out)")
