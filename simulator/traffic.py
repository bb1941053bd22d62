"""Plate reads: residents commuting past the same cameras, locals about town, through traffic.

Reads are yielded one tuple at a time, in day order, so the writer can batch them and memory stays
flat however many millions are asked for. A resident's plate is a pure function of the resident's
number, so a search can later pick "a plate that was really read" without remembering any reads.
"""
from __future__ import annotations

import random
import string
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from auditor.facts import STORE_TIME_FORMAT
from simulator.scenario import data_file
from simulator.world import World

_LETTERS = string.ascii_uppercase
# Odd multiplier coprime with every plate-space size used (their prime factors are 2, 3, 5, 13):
# multiplying by it mod the size is a bijection, so residents never share a plate.
_MIX = 2654435761


def plate_space(pattern: str) -> int:
    """How many distinct plates a state's pattern can write."""
    size = 1
    for ch in pattern:
        size *= 9 if ch == "9" else 10 if ch == "0" else 26
    return size


def plate_from_number(pattern: str, number: int) -> str:
    """The plate a pattern writes for a number (``9AAA000`` and 42 -> e.g. ``8KQD117``), scrambled."""
    n = (number * _MIX + 7919) % plate_space(pattern)
    out = []
    for ch in reversed(pattern):
        if ch == "9":
            n, d = divmod(n, 9)
            out.append(str(d + 1))
        elif ch == "0":
            n, d = divmod(n, 10)
            out.append(str(d))
        else:
            n, d = divmod(n, 26)
            out.append(_LETTERS[d])
    return "".join(reversed(out))


def random_plate(rng: random.Random, state: str) -> str:
    """A plate in a state's format that no resident necessarily owns (visitors, other states)."""
    pattern = data_file("places.toml")["states"][state]["plate"]
    return plate_from_number(pattern, rng.randrange(plate_space(pattern)))


class Clock:
    """Formats seconds since the scenario's first midnight (UTC) as store text, fast.

    Built from two small tables (day prefixes, 86,400 time-of-day suffixes) so a million reads do not
    each pay for datetime arithmetic and strftime.
    """

    def __init__(self, start: date, days: int, margin_days: int = 60) -> None:
        origin = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
        self.origin = origin
        self.margin = margin_days
        # The store's format (auditor.facts) split into its day part and its time-of-day part.
        cut = STORE_TIME_FORMAT.index("%H")
        self.prefix = [(origin + timedelta(days=d - margin_days)).strftime(STORE_TIME_FORMAT[:cut])
                       for d in range(days + 2 * margin_days)]
        self.suffix = [(origin + timedelta(seconds=s)).strftime(STORE_TIME_FORMAT[cut:]) for s in range(86400)]

    def text(self, seconds: int) -> str:
        """Store text (``2025-03-04T17:02:11Z``) for seconds since the first midnight."""
        day, sec = divmod(seconds, 86400)
        return self.prefix[day + self.margin] + self.suffix[sec]

    def moment(self, seconds: int) -> datetime:
        """The aware UTC datetime for seconds since the first midnight."""
        return self.origin + timedelta(seconds=seconds)


@dataclass
class Residents:
    """The people whose cars an owner's cameras see every day, numbered 0..count-1."""

    owner_id: int
    state: str
    count: int
    plates: list[str]

    @classmethod
    def of(cls, owner_id: int, state: str, count: int) -> "Residents":
        pattern = data_file("places.toml")["states"][state]["plate"]
        # Owners get disjoint number ranges so two cities' residents never share plates.
        base = owner_id * 10_000_000
        return cls(owner_id, state, count, [plate_from_number(pattern, base + i) for i in range(count)])

    def frequent(self, rng: random.Random) -> int:
        """A resident, skewed so a core of locals is seen far more often than the rest."""
        return int(self.count * rng.random() ** 2)


def residents_by_owner(world: World, traffic: tuple[dict, ...], scale: float = 1.0) -> dict[int, Residents]:
    """Residents for every owner with a `[[traffic]]` block.

    A classroom run (scale below 1) shrinks the town with its traffic, so residents are still seen
    often; a larger scale sees the same residents more often, keeping memory flat.
    """
    out = {}
    for t in traffic:
        owner_id = world.members[t["owner"]][0]
        count = max(20, round(t["residents"] * min(scale, 1.0)))
        out[owner_id] = Residents.of(owner_id, world.by_id[owner_id].state or "CA", count)
    return out


def estimate_reads(traffic: tuple[dict, ...], days: int, scale: float) -> int:
    """How many reads :func:`generate_reads` will yield (exact up to rounding per day)."""
    return sum(round(t["reads_per_day"] * scale) * days for t in traffic)


def generate_reads(world: World, traffic: tuple[dict, ...], residents: dict[int, Residents], clock: Clock,
                   days: int, scale: float, seed: int) -> Iterator[tuple[int, int, str, str]]:
    """Yield `reads` tuples (id, device_id, plate, time), day by day, for every traffic block."""
    rng = random.Random(f"{seed}:reads")
    states = data_file("places.toml")["states"]
    read_id = 0
    for t in traffic:
        owner_id = world.members[t["owner"]][0]
        people = residents[owner_id]
        offset = world.by_id[owner_id].utc_offset * 3600
        cams = [d for d in world.devices if d.owner_id == owner_id]
        fixed = [d.id for d in cams if d.kind == "fixed"] or [d.id for d in cams]
        anywhere = [d.id for d in cams]
        highway = fixed[: max(1, len(fixed) // 4)]  # the first quarter of poles watch the through roads
        per_day = round(t["reads_per_day"] * scale)
        kinds = list(t["mix"])
        weights = list(t["mix"].values())
        through = t["through_states"] or {people.state: 1.0}
        through_states, through_weights = list(through), list(through.values())
        patterns = {s: states[s]["plate"] for s in through_states}
        nf = len(fixed)
        for day in range(days):
            base = day * 86400 - offset  # local midnight, in seconds since the first UTC midnight
            weekend = (clock.origin.weekday() + day) % 7 >= 5
            for kind in rng.choices(kinds, weights, k=per_day):
                read_id += 1
                if kind == "commuter" and not weekend:
                    r = rng.randrange(people.count)
                    # Home pole in the morning, work pole in the evening: the same plate, same places.
                    if rng.random() < 0.5:
                        device = fixed[(r * 31) % nf]
                        local = rng.randint(6 * 3600, 9 * 3600)
                    else:
                        device = fixed[(r * 17 + 5) % nf]
                        local = rng.randint(16 * 3600, 19 * 3600)
                    plate = people.plates[r]
                elif kind == "through":
                    st = rng.choices(through_states, through_weights)[0]
                    pattern = patterns[st]
                    plate = plate_from_number(pattern, rng.randrange(plate_space(pattern)))
                    device = highway[rng.randrange(len(highway))]
                    local = rng.randrange(86400)
                else:  # locals (and commuters at the weekend) run errands in daylight
                    plate = people.plates[people.frequent(rng)]
                    device = anywhere[rng.randrange(len(anywhere))]
                    local = rng.randint(8 * 3600, 22 * 3600 - 1)
                yield (read_id, device, plate, clock.text(base + local))
