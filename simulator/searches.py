"""Searches with ground truth: who searched, for what, on whose behalf, and what the reason says.

Every search is generated together with its truth (purpose, beneficiary, disguised or not, misuse)
and the owners whose data it touched, and yielded at once, so nothing accumulates in memory. Three
paths lead to a federal immigration beneficiary, mirroring the doors an audit looks for:

- the component itself searches through national lookup (back door);
- a local agency acts for it (side door), writing `ICE`/`HSI assist` or a cover like `investigation`;
- a plate relay: the component looks a plate up and, within days, a proxy searches the same plate
  with a vague reason.
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from simulator.phrasing import Phrasebook
from simulator.scenario import Behaviour, Misuse, Scenario
from simulator.traffic import Clock, Residents, random_plate
from simulator.world import AgencyRow, World

# Networks searched per scope (national lookups reach thousands, as in the Danville and Redlands logs).
_NETWORKS = {"national": (1000, 6700), "statewide": (40, 600), "direct": (2, 40), "own": (1, 3)}
# Share of searches per local hour: officers search in working hours, a few on nights.
_HOURS = [1, 1, 1, 1, 1, 2, 4, 6, 8, 9, 9, 9, 8, 9, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1]
# Lookback windows of the searched time frame, in hours.
_WINDOWS = (12, 24, 24, 72, 168, 168, 336, 720)

SearchRow = tuple  # the `searches` table tuple, in column order
TruthRow = tuple  # (search_id, purpose, beneficiary_id, disguised, misuse_kind, narrative)


@dataclass
class Generated:
    """One search as generated: its row, the owners it touched, and its truth."""

    search: SearchRow
    owners: list[int]
    truth: TruthRow


def _per_agency_count(rng: random.Random, per_year: float, days: int, scale: float, vary: bool = True) -> int:
    """How many searches one agency runs: the yearly rate (varied within a group), rounded fairly."""
    # Mean-one lognormal: in a group a few agencies search far more than most, as in every released
    # log. A named actor's rate is the scenario's own figure, so it is not varied.
    expected = per_year * days / 365 * scale * (rng.lognormvariate(-0.18, 0.6) if vary else 1.0)
    whole = int(expected)
    return whole + (rng.random() < expected - whole)


def estimate_searches(scenario: Scenario, world: World, scale: float) -> int:
    """Roughly how many searches :func:`generate_searches` yields (for a progress bar)."""
    total = 0.0
    for b in scenario.behaviour:
        n = len(world.members[b.searchers]) * b.searches_per_year * scenario.days / 365 * scale
        relay = b.proxy.rate * b.proxy.relay_rate if b.proxy else 0.0
        total += n * (1 + relay)
    for m in scenario.misuse:
        total += len(world.members[m.actors]) * m.searches_per_year * scenario.days / 365 * scale
    return int(total)


class SearchMaker:
    """Turns decisions (who, when, purpose, reason) into rows; holds the id counter and pools."""

    def __init__(self, scenario: Scenario, world: World, residents: dict[int, Residents], clock: Clock,
                 reason_id: Callable[[str], int], rng: random.Random, requester_seed: str = "requester") -> None:
        self.scenario, self.world, self.residents, self.clock = scenario, world, residents, clock
        self.reason_id, self.rng = reason_id, rng
        # Its own stream, so a requester field changes only the reasons it names, not the world's draws.
        self.requester_rng = random.Random(requester_seed)
        self.phrases = Phrasebook()
        self.next_id = 0
        self.span = scenario.days * 86400
        self.dropdown_at = (self.phrases.dropdown_from - scenario.start).days * 86400
        # The agency 287(g) partners act for: the scenario's ICE (or ERO) component, if it has one.
        self.ice_agency = next((a for a in world.agencies if a.dhs_component in ("ICE", "ERO")), None)

    # --- when and where -------------------------------------------------------------------------
    def when(self, agency: AgencyRow) -> int:
        """A search time (seconds since the first UTC midnight) in the searcher's working hours."""
        rng = self.rng
        day = rng.randrange(self.scenario.days)
        hour = rng.choices(range(24), _HOURS)[0]
        t = day * 86400 + hour * 3600 + rng.randrange(3600) - agency.utc_offset * 3600
        return min(max(t, 0), self.span - 1)

    def read_plate(self, owners: list[tuple[int, str]]) -> str | None:
        """A plate really read by one of the touched owners' cameras (a frequently seen resident)."""
        with_traffic = [o for o, _ in owners if o in self.residents]
        if not with_traffic:
            return None
        people = self.residents[with_traffic[self.rng.randrange(len(with_traffic))]]
        return people.plates[people.frequent(self.rng)]

    # --- the row --------------------------------------------------------------------------------
    def emit(self, agency: AgencyRow, t: int, reason: str | None, *, purpose: str, beneficiary_id: int,
             disguised: bool, misuse: str | None, narrative: str, plate: str | None, search_type: str,
             behaviour: Behaviour | None, user: str | None, case_number: str | None,
             query_types: dict[str, float] | None = None) -> Generated:
        """Build the search, its owners and its truth; the reason text is dictionary-encoded here."""
        rng = self.rng
        self.next_id += 1
        sid = self.next_id
        reach = self.world.reach(agency.id)
        widest = max((s for _, s in reach), key=("own", "direct", "statewide", "national").index, default="own")
        system = self.scenario.system
        networks = devices = None
        frame_start = frame_end = None
        query_type = None
        if system == "alpr":
            lo, hi = _NETWORKS[widest]
            networks = rng.randint(lo, hi)
            devices = int(networks * rng.uniform(9, 16))
            # Flock rounds the window's end up: it often falls minutes after the search itself.
            end = t + rng.randrange(0, 900)
            frame_end = self.clock.text(end)
            frame_start = self.clock.text(end - rng.choice(_WINDOWS) * 3600)
        else:
            # A statewide database query: relayed and misuse look-ups are registration (DMV) queries.
            search_type = "query"
            query_type = "registration"
            mix = query_types or (behaviour.query_types if behaviour is not None else None)
            if mix:
                query_type = rng.choices(list(mix), list(mix.values()))[0]
        prompt = self.phrases.prompt(rng) if search_type == "freeform" else None
        search = (
            sid, str(uuid.UUID(int=rng.getrandbits(128), version=4)), self.clock.text(t), agency.id, user,
            self.reason_id(reason) if reason is not None else None, case_number, plate, search_type, networks,
            devices, frame_start, frame_end, None, prompt, "allow" if system == "alpr" else None, system,
            query_type, None, None,
        )
        truth = (sid, purpose, beneficiary_id, int(disguised), misuse, narrative)
        return Generated(search, [o for o, _ in reach], truth)

    def officer(self, agency: AgencyRow) -> str:
        first, count = agency.officers
        return self.world.officer_names[first + self.rng.randrange(count)]

    def case_number(self, agency: AgencyRow, t: int) -> str:
        yy = (self.scenario.start.year + t // (365 * 86400)) % 100
        return agency.case_format.format(yy=yy, n=self.rng.randrange(1, 99999))

    def dropdown(self, t: int) -> bool:
        return t >= self.dropdown_at


def generate_searches(scenario: Scenario, world: World, residents: dict[int, Residents], clock: Clock,
                      reason_id: Callable[[str], int], scale: float, seed: int) -> Iterator[Generated]:
    """Yield every search of the scenario with its owners and truth, agency by agency."""
    rng = random.Random(f"{seed}:searches")
    maker = SearchMaker(scenario, world, residents, clock, reason_id, rng, requester_seed=f"{seed}:requester")
    named = {a.key for a in scenario.agencies}
    for behaviour in scenario.behaviour:
        vary = behaviour.searchers not in named
        for agency_id in world.members[behaviour.searchers]:
            agency = world.by_id[agency_id]
            for _ in range(_per_agency_count(rng, behaviour.searches_per_year, scenario.days, scale, vary)):
                yield from _one_request(maker, agency, behaviour)
    for misuse in scenario.misuse:
        for agency_id in world.members[misuse.actors]:
            yield from _misuse(maker, world.by_id[agency_id], misuse, scale)


def _one_request(m: SearchMaker, agency: AgencyRow, b: Behaviour) -> Iterator[Generated]:
    """One search by an agency following its behaviour: its own work, or a request it runs for someone."""
    rng = m.rng
    t = m.when(agency)
    dropdown = m.dropdown(t)
    search_type = rng.choices(list(b.search_types), list(b.search_types.values()))[0]
    user = None if rng.random() < b.missing_user_rate else m.officer(agency)
    case = m.case_number(agency, t) if rng.random() < b.case_number_rate else None
    reach = m.world.reach(agency.id)
    plated = search_type in ("lookup", "search", "query") and rng.random() < b.plate_rate

    if b.proxy is not None and rng.random() < b.proxy.rate:
        p = b.proxy
        beneficiary = m.world.by_id[m.world.members[rng.choice(p.beneficiaries)][0]]
        purpose = rng.choices(list(p.purposes), list(p.purposes.values()))[0]
        # Requests from a federal partner name a person: the plate is one the cameras really saw.
        plate = m.read_plate(reach) or random_plate(rng, agency.state or "CA")
        federal = beneficiary.dhs_component is not None
        # Only a DHS component looks the plate up itself first; a neighbour PD just asks.
        relay = federal and rng.random() < p.relay_rate
        if relay:
            # The component looks the plate up itself first (national lookup), then asks a local agency.
            lead = max(0, t - rng.randint(2 * 3600, 4 * 86400))
            yield m.emit(beneficiary, lead, m.phrases.for_beneficiary(rng, beneficiary.dhs_component or "ICE",
                                                                       purpose, m.dropdown(lead))
                         if rng.random() < 0.5 else m.phrases.vague_reason(rng, m.dropdown(lead)),
                         purpose=purpose, beneficiary_id=beneficiary.id, disguised=False, misuse=None,
                         narrative=f"{beneficiary.name} looked the plate up before asking {agency.name}",
                         plate=plate, search_type="lookup", behaviour=None, user=m.officer(beneficiary),
                         case_number=None)
        hidden = relay or rng.random() < p.disguise_rate
        # Hiding a request is disguise when it hides a federal immigration beneficiary or purpose; an
        # unnamed assist for a neighbour is only sloppy.
        disguised = hidden and (federal or purpose == "immigration")
        if hidden:
            reason = m.phrases.cover(rng, dropdown)
            story = f"{agency.name} searched for {beneficiary.name}; the reason hides it"
        elif federal:
            reason = m.phrases.for_beneficiary(rng, beneficiary.dhs_component, purpose, dropdown)
            story = f"{agency.name} searched for {beneficiary.name} and said so"
        else:
            reason = m.phrases.for_agency(rng, spoken_name(rng, beneficiary), purpose, dropdown)
            story = f"{agency.name} searched for {beneficiary.name} and said so"
        if relay:
            story += " (plate relay)"
        if m.scenario.requester_field and m.requester_rng.random() < m.scenario.requester_field:
            # A requester field filled in truthfully: the log names who asked, whatever the reason says.
            reason = f"{reason} | requested by {beneficiary.name}"
            disguised = False
            story += "; the requester field names it"
        yield m.emit(agency, t, reason, purpose=purpose, beneficiary_id=beneficiary.id, disguised=disguised,
                     misuse=None, narrative=story, plate=plate, search_type="lookup" if relay else search_type,
                     behaviour=b, user=user, case_number=case)
        return

    purpose = rng.choices(list(b.purposes), list(b.purposes.values()))[0]
    sensitive = purpose == "immigration" or agency.dhs_component is not None
    if rng.random() < b.vague_rate:
        # A vague reason on an immigration search hides it; on a stolen car it is only sloppy.
        reason = m.phrases.vague_reason(rng, dropdown)
        if case is not None and rng.random() < 0.3:
            reason = case  # a bare case number as the whole reason (63% of Irvine's reasons)
        disguised = sensitive
    elif agency.dhs_component is not None and rng.random() < 0.5:
        reason = m.phrases.for_beneficiary(rng, agency.dhs_component, purpose, dropdown)
        disguised = False
    else:
        reason = m.phrases.honest(rng, purpose, dropdown)
        disguised = False
    if plated:
        plate = (m.read_plate(reach) if purpose == "immigration" or rng.random() < b.read_plate_rate else None) \
            or random_plate(rng, agency.state or "CA")
    else:
        plate = None
    door = "national lookup" if agency.level == "federal" else "its own work"
    beneficiary_id = agency.id
    ice = m.ice_agency
    if purpose == "immigration" and agency.is_287g and agency.dhs_component is None and ice is not None:
        # 287(g) officers enforce immigration law under ICE's delegation and supervision: done for ICE.
        beneficiary_id, door = ice.id, f"under its 287(g) agreement with {ice.name}"
    if b.missing_reason_rate and rng.random() < b.missing_reason_rate:
        reason = None  # broken record-keeping: the officer left the reason blank (Calexico)
        disguised = sensitive
    yield m.emit(agency, t, reason, purpose=purpose, beneficiary_id=beneficiary_id, disguised=disguised, misuse=None,
                 narrative=f"{agency.name}: {purpose.replace('_', ' ')} ({door})", plate=plate,
                 search_type=search_type, behaviour=b, user=user, case_number=case)


def spoken_name(rng: random.Random, agency: AgencyRow) -> str:
    """How an officer writes another agency in a reason: an alias the scenario gives (`STIC`), the
    vendor's name without its state code (`Peoria PD` for `Peoria IL PD`), or the vendor's name."""
    choices = list(agency.aliases)
    words = agency.name.split()
    if agency.state and agency.state in words[1:]:
        choices.append(" ".join(w for i, w in enumerate(words) if not (i and w == agency.state)))
    choices.append(agency.name)
    return rng.choice(choices)


def _misuse(m: SearchMaker, agency: AgencyRow, misuse: Misuse, scale: float) -> Iterator[Generated]:
    """Officers of an agency who keep searching the same few plates for personal or political ends.

    Each of ``misuse.officers`` officers has targets of their own (an ex-partner, a date), or, with
    ``shared_targets``, all of them hunt one list (council members, residents who complained).
    """
    rng = m.rng
    reach = m.world.reach(agency.id)

    def target() -> str:
        return m.read_plate(reach) or random_plate(rng, agency.state or "CA")

    first, staff = agency.officers
    # Distinct officers of the agency, as many as it has (a misusing officer is one person).
    picks = rng.sample(range(staff), min(misuse.officers, staff))
    officers = [m.world.officer_names[first + i] for i in picks]
    shared = [target() for _ in range(max(1, misuse.targets))]
    targets = {o: shared if misuse.shared_targets else [target() for _ in range(max(1, misuse.targets))]
               for o in officers}
    story = misuse.story or f"{misuse.kind.replace('_', ' ')} search of a target"
    types, weights = list(misuse.search_types), list(misuse.search_types.values())
    for _ in range(_per_agency_count(rng, misuse.searches_per_year, m.scenario.days, scale, vary=False)):
        officer = officers[rng.randrange(len(officers))]
        t = m.when(agency)
        dropdown = m.dropdown(t)
        disguised = rng.random() < misuse.disguise_rate
        reason = m.phrases.cover(rng, dropdown) if disguised else m.phrases.honest(rng, misuse.kind, dropdown)
        user = None if rng.random() < misuse.missing_user_rate else officer
        yield m.emit(agency, t, reason, purpose=misuse.kind, beneficiary_id=agency.id, disguised=disguised,
                     misuse=misuse.kind, narrative=f"{officer} of {agency.name}: {story}",
                     plate=rng.choice(targets[officer]), search_type=rng.choices(types, weights)[0],
                     behaviour=None, user=user, case_number=None, query_types=misuse.query_types or None)
