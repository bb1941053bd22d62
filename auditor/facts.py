"""The facts a search rule reads, defined beside the code that computes them.

A search's facts come from three places: its *trace* (owner → scope → searcher → beneficiary, with
each agency's attributes), its reason's tags, and the search's own flags. Every search rule reads
only these, so two searches with the same :class:`SearchKey` get the same verdicts: the scan
computes keys per search in bulk (:mod:`auditor.keypass`) and facts and verdicts once per key.

``-1`` (and ``''`` for text) stands for "none" in a key, so keys compare and join with ``=``.
"""
from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta
from typing import Any, Iterable, Mapping, NamedTuple

from auditor.graph import IMMIGRATION_ENFORCERS, Agency, door_of, scope_of

# Facts a search-rule condition may use, and what each means.
FACTS: dict[str, str] = {
    "system": "alpr or clets",
    "query_type": "CLETS query type (registration, driver_license, criminal_history, ...)",
    "scope": "how the owner's data reached the searcher: own, direct, statewide, national, none found; NULL when the release does not say whose data it was",
    "door": "front (a direct share with a DHS immigration component), back (such a component searched without one) or side (another agency searched for one); NULL otherwise",
    "mass_search": "networks searched at or above the run's mass-search threshold",
    "has_case_number": "a case number was logged",
    "reason_state": "value, blank or redacted",
    "tags": "the set of purpose tags of the reason plus tags inferred for the search",
    "immigration_related": "an immigration purpose is stated or inferred, or the beneficiary is ICE/ERO/CBP/USBP",
    "beneficiary.basis": "how the beneficiary was found: self, reason, 287g, plate_relay",
    # Dates for laws (auditor.rules.laws): a law judges only searches made on or after its
    # effective date, and a retention limit is compared with how far back a search reached.
    "search.date": "the UTC date of the search, ISO text YYYY-MM-DD (compare with gte/lte)",
    "time_frame.days_back": "how many days before the search the searched time frame starts; NULL when the log has no frame",
}
for _role in ("owner", "searcher", "beneficiary"):
    for _attr in ("state", "level", "kind", "dhs_component", "is_287g", "name"):
        FACTS[f"{_role}.{_attr}"] = f"the {_role} agency's {_attr.replace('_', ' ')}"
FACTS["beneficiary.is_other"] = "the search was done for an agency other than the searcher"

NO_PURPOSE_TAGS = ("vague", "case_number_only", "missing")


class SearchKey(NamedTuple):
    """Everything a search rule's verdict depends on, for one search (and one of its owners)."""

    owner_id: int
    searcher_id: int
    beneficiary_id: int  # -1: the searcher acted for itself
    basis: str  # how the beneficiary was found; '' for none
    class_id: int  # the reason's tag class (-1: no reason)
    system: str
    query_type: str
    mass_search: int
    has_case_number: int
    reason_state: str  # value, blank, redacted
    epoch: int  # which of the rules' date boundaries the search falls after (0: before all)
    frame_bucket: int  # which of the rules' days-back bounds the time frame reaches (-1: no frame)


KEY_FIELDS = SearchKey._fields

# A search's reason cell state, from the row: withheld (redacted or absent) is not blank.
REASON_STATE_SQL = (
    "CASE WHEN s.reason_id IS NOT NULL THEN 'value' "
    "WHEN instr(',' || COALESCE(s.redacted, '') || ',', ',reason,') > 0 THEN 'redacted' ELSE 'blank' END"
)


# How many days before the search its searched time frame starts (NULL without a frame).
DAYS_BACK_SQL = "CAST(julianday(substr(s.time, 1, 10)) - julianday(substr(s.time_frame_start, 1, 10)) AS INTEGER)"


def key_sql(boundaries: list[str], frame_bounds: list[int] = ()) -> str:
    """The key columns of a search in SQL, named as :data:`KEY_FIELDS`, over :data:`KEY_FROM_SQL`.

    For the small-store readers (score, exercises) that join a key to the simulator's truth; the
    scan itself computes the same key column by column (:mod:`auditor.keypass`).
    """
    epoch = "0" if not boundaries else (
        "(" + " + ".join(f"(substr(s.time, 1, 10) >= '{d}')" for d in boundaries) + ")")
    frame = "-1" if not frame_bounds else (
        f"CASE WHEN ({DAYS_BACK_SQL}) IS NULL THEN -1 ELSE ("
        + " + ".join(f"(({DAYS_BACK_SQL}) >= {int(b)})" for b in frame_bounds) + ") END")
    return f"""
        COALESCE(so.owner_id, -1) AS owner_id, COALESCE(s.searcher_id, -1) AS searcher_id,
        COALESCE(b.beneficiary_id, -1) AS beneficiary_id, COALESCE(b.basis, '') AS basis,
        COALESCE(rc.class_id, -1) AS class_id, s.system AS system, COALESCE(s.query_type, '') AS query_type,
        COALESCE(s.networks, 0) >= :mass AS mass_search, s.case_number IS NOT NULL AS has_case_number,
        {REASON_STATE_SQL} AS reason_state, {epoch} AS epoch, {frame} AS frame_bucket
    """


KEY_FROM_SQL = """
    FROM searches s
    LEFT JOIN search_owners so ON so.search_id = s.id
    LEFT JOIN beneficiaries b ON b.search_id = s.id
    LEFT JOIN reason_classes rc ON rc.reason_id = s.reason_id
"""


def fact_bounds(leaves: Iterable[Mapping[str, Any]], fact: str) -> list[Any]:
    """The values where a rule's verdict on an ordered fact (`search.date`, `time_frame.days_back`)
    can change, sorted.

    `gte X` changes at X, `lte X` at the value after X: values between two bounds share a bucket,
    and a rule compares the bucket's first value exactly as it would compare any value in it.
    """
    found: set[Any] = set()
    for leaf in leaves:
        if leaf.get("fact") != fact:
            continue
        for op, value in leaf.items():
            if op == "gte":
                found.add(value if fact != "search.date" else str(value))
            elif op == "lte":
                found.add((date.fromisoformat(str(value)) + timedelta(days=1)).isoformat()
                          if fact == "search.date" else value + 1)
    return sorted(found)


def date_boundaries(leaves: Iterable[Mapping[str, Any]]) -> list[str]:
    """:func:`fact_bounds` of `search.date`."""
    return fact_bounds(leaves, "search.date")


def frame_value(bounds: list[int], bucket: int) -> int | None:
    """A representative days-back of a bucket: its least value (below every bound: one less)."""
    if bucket < 0:
        return None
    return bounds[bucket - 1] if bucket > 0 else (bounds[0] - 1 if bounds else 0)


def epoch_of(boundaries: list[str], day: str) -> int:
    """The epoch of a date (`YYYY-MM-DD`): how many boundaries it is on or after."""
    return bisect_right(boundaries, day)


def epoch_date(boundaries: list[str], epoch: int) -> str:
    """A representative date of an epoch: its first day (before every boundary: the first date)."""
    return boundaries[epoch - 1] if epoch > 0 else "0001-01-01"


def _agency_facts(prefix: str, agency: Agency | None) -> dict[str, Any]:
    if agency is None:
        return {f"{prefix}.{k}": None for k in ("state", "level", "kind", "dhs_component", "is_287g", "name")}
    return {
        f"{prefix}.state": agency.state, f"{prefix}.level": agency.level, f"{prefix}.kind": agency.kind,
        f"{prefix}.dhs_component": agency.dhs_component, f"{prefix}.is_287g": agency.is_287g,
        f"{prefix}.name": agency.name,
    }


def trace_facts(graph: Any, agencies: dict[int, Agency], owner_id: int | None, searcher_id: int | None,
                beneficiary_id: int | None, basis: str | None) -> dict[str, Any]:
    """Facts of one traced path owner -> scope -> searcher -> beneficiary."""
    scope = scope_of(graph, agencies, owner_id, searcher_id)
    searcher, beneficiary = agencies.get(searcher_id), agencies.get(beneficiary_id)
    facts = {"scope": scope, "door": door_of(scope, searcher, beneficiary), "beneficiary.basis": basis or "self",
             "beneficiary.is_other": beneficiary_id is not None and beneficiary_id != searcher_id}
    facts.update(_agency_facts("owner", agencies.get(owner_id)))
    facts.update(_agency_facts("searcher", searcher))
    facts.update(_agency_facts("beneficiary", beneficiary))
    return facts


def search_facts(trace_facts: dict[str, Any], tags: frozenset[str], system: str, qtype: str, mass: int,
                 has_case: int, rstate: str, day: str | None = None, days_back: int | None = None) -> dict[str, Any]:
    """The facts a search rule sees: its trace's, its reason's tags, and the search's own flags."""
    facts = dict(trace_facts)
    facts.update({
        "system": system, "query_type": qtype or None, "mass_search": bool(mass),
        "has_case_number": bool(has_case), "reason_state": rstate, "tags": tags, "search.date": day,
        "time_frame.days_back": days_back,
        "immigration_related": "immigration" in tags or facts["beneficiary.dhs_component"] in IMMIGRATION_ENFORCERS,
    })
    return facts
