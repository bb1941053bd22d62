"""One definition of every fact the audit states, and the facts a search rule reads.

Every consumer (the scan and its key pass, the overview, exposure, the report and its CSV, `audit
explain`, `audit score`, the simulator's exercises and summary, the Datasette views) calls these; none
re-derives them. Where a fact is needed both in SQL and in Python, both forms are built here from
the same constants, and ``tests/test_facts_agreement.py`` checks that they agree on a mixed store.

- **the store's time format**: :data:`STORE_TIME_FORMAT`, :func:`day_sql`, :func:`month_sql`;
- **an agency's place** (its state, or `federal`) and whether it is **unresolved**:
  :func:`agency_place`, :func:`is_unresolved`, :func:`unresolved_sql`;
- **immigration-related**, with the written answer for HSI and 287(g) partners:
  :func:`immigration_related`, :func:`search_immigration_sql`, :func:`truth_immigration_sql`; the
  narrower **immigration purpose stated**, the one a statute's purpose element rests on
  (:func:`immigration_stated`, :func:`search_immigration_stated_sql`); and beside them the separate
  fact **run by or for a DHS immigration component** (:func:`dhs_linked`);
- **the state a finding is judged by**: :func:`finding_role`, :func:`judged_state`,
  :func:`judged_state_sql`;
- **the first release row of a search** (the row a finding cites): :func:`first_release_sql`,
  :func:`first_row_sql`, :data:`FIRST_SIGHTING_ORDER` (and :func:`sightings_count_sql`);
- **a search's key** (:class:`SearchKey`, computed once per search by :mod:`auditor.keypass` and
  stored in `search_keys`/`scan_keys`; readers use :data:`STORED_KEYS_SQL`), and the **key → facts
  → verdict** step (:class:`Judge`), for the scan, `audit score` and the exercise answer keys alike.

A search's facts come from three places: its *trace* (owner → scope → searcher → beneficiary, with
each agency's attributes), its reason's tags, and the search's own flags. Every search rule reads
only these, so two searches with the same :class:`SearchKey` get the same verdicts.

``-1`` (and ``''`` for text) stands for "none" in a key, so keys compare and join with ``=``.
"""
from __future__ import annotations

import json
from bisect import bisect_right
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping, NamedTuple, Sequence

from auditor.vocabulary import DHS_COMPONENTS, IMMIGRATION_ENFORCERS

if TYPE_CHECKING:
    import sqlite_utils

    from auditor.graph import Agency


# --- the store's time format --------------------------------------------------------------------------

# Times are UTC text of one shape; text of that shape sorts in time order, and its first 10 and 7
# characters are the day and the month (SQLite's strftime takes the same pattern).
STORE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
STORE_TIME_DESCRIPTION = "UTC ISO 8601, whole seconds: YYYY-MM-DDTHH:MM:SSZ"


def day_sql(time: str = "s.time") -> str:
    """SQL: the UTC day (`YYYY-MM-DD`) of a store time column."""
    return f"substr({time}, 1, 10)"


def month_sql(time: str = "s.time") -> str:
    """SQL: the UTC month (`YYYY-MM`) of a store time column."""
    return f"substr({time}, 1, 7)"


# --- agencies: where they are, and which are unresolved ---------------------------------------------

UNKNOWN_PLACE = "unknown"


def agency_place(level: str | None, state: str | None) -> str:
    """Where an agency is, as maps and tables group searchers: its state, `federal` for a federal
    agency (which has no state), `unknown` when nothing says."""
    if level == "federal":
        return "federal"
    return state or UNKNOWN_PLACE


def agency_place_sql(agency: str = "a") -> str:
    """SQL of :func:`agency_place` over an `agencies` alias."""
    return f"CASE WHEN {agency}.level = 'federal' THEN 'federal' ELSE COALESCE({agency}.state, '{UNKNOWN_PLACE}') END"


def is_unresolved(level: str | None, state: str | None) -> bool:
    """Whether the rules cannot place an agency: its level is unknown, or it is not federal and its
    state is unknown.

    That is what a rule needs to judge a search by or of the agency (its state's law, `private`,
    `federal`), so it is what a user must supply in an override file. An agency a name heuristic
    read only in part (`Duke University NC PD`: a state, a university, but public or private?) is
    unresolved too; a federal agency without a state is not.
    """
    return (level or "unknown") == "unknown" or (level != "federal" and not state)


def unresolved_sql(agency: str = "") -> str:
    """SQL of :func:`is_unresolved` over the `agencies` table (an alias, or none)."""
    a = f"{agency}." if agency else ""
    return f"(COALESCE({a}level, 'unknown') = 'unknown' OR ({a}level != 'federal' AND COALESCE({a}state, '') = ''))"


# --- immigration-related --------------------------------------------------------------------------------

# The purpose tag that states immigration enforcement (auditor/data/purposes), and the truth purpose
# of the same name in a simulated store.
IMMIGRATION_TAG = "immigration"


def immigration_related(tags: Iterable[str], for_component: str | None) -> bool:
    """Whether a search is immigration-related: the one definition.

    ``tags`` are the purpose tags of its reason (or, told the truth, of its true purpose);
    ``for_component`` is the DHS component of the agency it was for: its beneficiary, or the searcher
    itself when it acted for no one else.

    It is when the reason states an immigration purpose, or when it was run by or for ICE, ERO, CBP
    or Border Patrol, whose work is immigration enforcement, whatever the reason says.

    - **HSI** (Homeland Security Investigations, ICE's investigative arm) works criminal cases
      (trafficking, narcotics, child exploitation): a search run by or for HSI marks a *federal
      beneficiary*, not an immigration purpose. It is immigration-related only when its reason states
      an immigration purpose. It is always :func:`dhs_linked`, which the door findings report.
    - **287(g) partners**: an agreement with ICE is a standing capacity, not a purpose. A partner's
      search is immigration-related when its reason states immigration; the beneficiary inference then
      names ICE as the beneficiary (basis `287g`), which says the same. A partner's stolen-car search
      is not.
    """
    return IMMIGRATION_TAG in tags or for_component in IMMIGRATION_ENFORCERS


# How a beneficiary was found when the search's own words (or the searcher itself) say who it was
# for: not inferred from a plate seen elsewhere (`plate_relay`) or a standing 287(g) agreement.
# `self`: the searcher acted for itself; `truth`: a simulated search told the truth.
STATED_BASES = ("reason", "self", "truth")
CRIME_TAG_PREFIX = "crime:"


def states_crime(tags: Iterable[str]) -> bool:
    """Whether a reason's tags state a criminal purpose (a `crime:*` tag)."""
    return any(t.startswith(CRIME_TAG_PREFIX) for t in tags)


def immigration_stated(tags: Iterable[str], for_component: str | None, basis: str | None) -> bool:
    """Whether a search's stated purpose is immigration enforcement: what a statute's purpose element
    (SB 54's "for immigration enforcement purposes", 625 ILCS 5/2-130(b)'s "based on the person's
    immigration status", ...) can rest on. Narrower than :func:`immigration_related`, which the
    practice rules (door.*, immigration.mass_search) keep.

    It is when the search states no crime purpose (no `crime:*` tag: Cal. Gov. Code § 7284.4 defines
    immigration enforcement as civil immigration law and the crimes of presence, entry, re-entry and
    employment, so `ERO - HT investigation`, `CBP assist - narcotics` are criminal work for a DHS
    component) and either its reason states an immigration purpose (the `immigration` tag, which also
    marks a reason naming ICE, ERO or Border Patrol) or the search was for ICE, ERO, CBP or USBP by its
    own words or by the enforcer itself (``basis`` in :data:`STATED_BASES`; `None` counts as `self`).

    A beneficiary found only by inference (`plate_relay`: the same plate searched by ICE within days,
    before or after; `287g`) is a lead for the practice rules, never a stated purpose.
    """
    tags = frozenset(tags)
    if states_crime(tags):
        return False
    return IMMIGRATION_TAG in tags or (for_component in IMMIGRATION_ENFORCERS and (basis or "self") in STATED_BASES)


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{v}'" for v in values)


def immigration_related_sql(stated: str, for_agency: str) -> str:
    """SQL of :func:`immigration_related`: ``stated`` is a truth value (the reason or purpose states
    immigration), ``for_agency`` the id of the agency the search was for."""
    return (f"(({stated}) OR ({for_agency}) IN "
            f"(SELECT id FROM agencies WHERE dhs_component IN ({_quoted(IMMIGRATION_ENFORCERS)})))")


def stated_immigration_sql(reason_id: str = "s.reason_id") -> str:
    """SQL truth value: the reason carries the immigration tag (of the last run's `reason_tags`)."""
    return f"{reason_id} IN (SELECT reason_id FROM reason_tags WHERE tag = '{IMMIGRATION_TAG}')"


def for_agency_sql(search: str = "s", beneficiary: str = "b") -> str:
    """SQL: the agency a search was for, its beneficiary or else the searcher itself."""
    return f"COALESCE({beneficiary}.beneficiary_id, {search}.searcher_id)"


def search_immigration_sql(search: str = "s", beneficiary: str = "b") -> str:
    """SQL of :func:`immigration_related` for a logged search (`searches` ``search`` LEFT JOIN
    `beneficiaries` ``beneficiary``). The IN subqueries are small sets SQLite builds once."""
    return immigration_related_sql(stated_immigration_sql(f"{search}.reason_id"), for_agency_sql(search, beneficiary))


def truth_immigration_sql(truth: str = "t", search: str = "s") -> str:
    """SQL of :func:`immigration_related` told the truth (a simulated search's `truth` row)."""
    return immigration_related_sql(f"{truth}.purpose = '{IMMIGRATION_TAG}'",
                                   f"COALESCE({truth}.beneficiary_id, {search}.searcher_id)")


def search_immigration_stated_sql(search: str = "s", beneficiary: str = "b") -> str:
    """SQL of :func:`immigration_stated` for a logged search (`searches` ``search`` LEFT JOIN
    `beneficiaries` ``beneficiary``), over the last run's `reason_tags`."""
    reason = f"{search}.reason_id"
    crime = (f"COALESCE({reason}, -1) IN (SELECT reason_id FROM reason_tags "
             f"WHERE substr(tag, 1, {len(CRIME_TAG_PREFIX)}) = '{CRIME_TAG_PREFIX}')")
    enforcer = (f"({for_agency_sql(search, beneficiary)}) IN "
                f"(SELECT id FROM agencies WHERE dhs_component IN ({_quoted(IMMIGRATION_ENFORCERS)}))")
    return (f"(NOT ({crime}) AND (({stated_immigration_sql(reason)}) OR "
            f"(COALESCE({beneficiary}.basis, 'self') IN ({_quoted(STATED_BASES)}) AND {enforcer})))")


def enforcer_ids(agencies: Mapping[int, Any]) -> set[int]:
    """Ids of the agencies whose searches are immigration-related whatever the reason (ICE, ERO,
    CBP, USBP); ``agencies`` maps id to an :class:`~auditor.graph.Agency` or a dict."""
    return {i for i, a in agencies.items() if _component(a) in IMMIGRATION_ENFORCERS}


def _component(agency: Any) -> str | None:
    return agency.get("dhs_component") if isinstance(agency, Mapping) else getattr(agency, "dhs_component", None)


def dhs_linked(searcher_component: str | None, beneficiary_component: str | None) -> bool:
    """Whether a search was run by or for a DHS immigration component (ICE, ERO, HSI, CBP, USBP).

    A fact about the *beneficiary*, separate from :func:`immigration_related` (the purpose): a
    search done for HSI on a narcotics case is dhs-linked and not immigration-related.
    """
    return searcher_component in DHS_COMPONENTS or beneficiary_component in DHS_COMPONENTS


def dhs_linked_sql(searcher: str = "sa", beneficiary: str = "ba") -> str:
    """SQL of :func:`dhs_linked` over the searcher's and the beneficiary's `agencies` aliases."""
    components = _quoted(DHS_COMPONENTS)
    return f"({searcher}.dhs_component IN ({components}) OR {beneficiary}.dhs_component IN ({components}))"


# --- the state a finding is judged by ---------------------------------------------------------------

# Aggregate measures whose finding is about the owner of the data (its sharing); every other
# aggregate finding is about the searching agency (its officers' searches, its disclosures).
OWNER_MEASURES = frozenset({"dhs_direct_share", "dhs_reach"})


def finding_role(rule: Any, has_owner: bool) -> str:
    """Whose state a finding of `rule` is judged by: the owner's for a search of an owner's data and
    for sharing findings, the searcher's for a search whose owner the release does not name and for
    findings about an agency's own searches."""
    if rule.scope == "aggregate":
        return "owner" if rule.measure in OWNER_MEASURES else "searcher"
    return "owner" if has_owner else "searcher"


def judged_state(has_owner: bool, owner_state: str | None, searcher_state: str | None,
                 law_state: str | None = None) -> str | None:
    """The state a per-search finding is judged by.

    A finding of a state law is judged by that law's own state (``law_state``, upper case: see
    :func:`auditor.rules.laws.law_states`): the law fired only where the party it binds is an agency
    of that state, the owner's for a law that binds the owner, the searcher's for one that binds the
    searcher (Nebraska's § 60-3204 on Omaha's search of Illinois data is judged by NE). Any other
    finding is judged by the owner's state when its trace names an owner (even an owner of unknown
    state: never the searcher's instead), else the searcher's. An aggregate finding is judged by its
    agency's state (:func:`finding_role` says which agency that is)."""
    if law_state:
        return law_state
    return owner_state if has_owner else searcher_state


def law_state_sql(rule: str, law_states: Mapping[str, str]) -> str:
    """SQL: the state of the law a finding's rule is (``rule``: a rule-id column), NULL for a rule that
    is no state law; ``law_states`` maps law id to its state (:func:`auditor.rules.laws.law_states`)."""
    if not law_states:
        return "NULL"
    whens = " ".join(f"WHEN {_literal(rule_id)} THEN {_literal(state)}" for rule_id, state in sorted(law_states.items()))
    return f"(CASE {rule} {whens} END)"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def judged_state_sql(trace: str = "t", owner: str = "oa", searcher: str = "sa", rule: str | None = None,
                     law_states: Mapping[str, str] | None = None) -> str:
    """SQL of :func:`judged_state` over a `traces` alias joined to its owner's and searcher's agencies;
    with ``rule`` (a rule-id column) and ``law_states``, a state law's finding is judged by the law's state."""
    by_trace = f"CASE WHEN {trace}.owner_id IS NOT NULL THEN {owner}.state ELSE {searcher}.state END"
    if rule is None or not law_states:
        return by_trace
    return f"COALESCE({law_state_sql(rule, law_states)}, {by_trace})"


def finding_judged_state_sql(finding: str = "f", trace: str = "t", owner: str = "oa", searcher: str = "sa",
                             agency: str = "aa", law_states: Mapping[str, str] | None = None) -> str:
    """SQL: the state a row of the `findings` view is judged by; an aggregate finding's is its agency's."""
    return (f"CASE WHEN {finding}.search_id IS NULL THEN {agency}.state "
            f"ELSE {judged_state_sql(trace, owner, searcher, f'{finding}.rule_id', law_states)} END")


# --- the first release row of a search ----------------------------------------------------------------

# A finding cites its search's first sighting: the lowest release id (the first file imported), then
# the lowest row of it. Every reader orders sightings this way.
FIRST_SIGHTING_ORDER = ("release_id", "row_number")


def sighting_order_sql(alias: str = "g") -> str:
    """SQL ORDER BY terms listing a search's sightings first one first (:data:`FIRST_SIGHTING_ORDER`)."""
    return ", ".join(f"{alias}.{column}" for column in FIRST_SIGHTING_ORDER)


def _sightings_of(search: str) -> str:
    """SQL rows (release_id, row_number) of one search's sightings, read off the tables under the
    `sightings` view: SQLite does not push a correlated search id into the view's UNION ALL, so a
    subquery on the view would scan every sighting once per outer row."""
    return (f"SELECT release_id, row_number FROM sighting_rows WHERE search_id = {search} "
            f"UNION ALL SELECT release_id, row_first + ({search} - search_first) AS row_number FROM sighting_runs "
            f"WHERE search_first <= {search} AND {search} < search_first + rows")


def _first_sighting(column: str, search: str) -> str:
    return (f"(SELECT g1.{column} FROM ({_sightings_of(search)}) g1 "
            f"ORDER BY {sighting_order_sql('g1')} LIMIT 1)")


def sightings_count_sql(search: str) -> str:
    """SQL: how many release rows a search was seen in."""
    return f"(SELECT COUNT(*) FROM ({_sightings_of(search)}))"


def first_release_sql(search: str) -> str:
    """SQL: the release id of a search's first sighting (NULL for a simulated search)."""
    return _first_sighting("release_id", search)


def first_row_sql(search: str) -> str:
    """SQL: the row number of a search's first sighting, in its release."""
    return _first_sighting("row_number", search)


# --- the facts a search rule reads ------------------------------------------------------------------

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
    "immigration_related": "the reason states an immigration purpose, or the search was run by or for ICE, ERO, CBP or USBP (not HSI alone: see auditor.facts.immigration_related); practice rules rest on it",
    "immigration_stated": "the search states no crime purpose, and its reason states an immigration purpose or it was for ICE, ERO, CBP or USBP by its own words or by the enforcer itself, not by inference (plate relay, 287(g)): what a statute's purpose element rests on (auditor.facts.immigration_stated)",
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
DAYS_BACK_SQL = f"CAST(julianday({day_sql('s.time')}) - julianday({day_sql('s.time_frame_start')}) AS INTEGER)"


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
    from auditor.graph import door_of, scope_of

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
        "immigration_related": immigration_related(tags, facts["beneficiary.dhs_component"]),
        "immigration_stated": immigration_stated(tags, facts["beneficiary.dhs_component"], facts["beneficiary.basis"]),
    })
    return facts


def with_derived(facts: Mapping[str, Any]) -> dict[str, Any]:
    """A rule or law example's facts, with `immigration_related` and `immigration_stated` derived as
    the scan derives them (from `tags`, `beneficiary.dhs_component`, `beneficiary.basis`) when the
    example does not give them: an example written as a reason's tags and a trace is judged by the
    same definition as a logged search."""
    out = dict(facts)
    tags = frozenset(out.get("tags") or ())
    out["tags"] = tags
    component, basis = out.get("beneficiary.dhs_component"), out.get("beneficiary.basis")
    out.setdefault("immigration_related", immigration_related(tags, component))
    out.setdefault("immigration_stated", immigration_stated(tags, component, basis))
    return out


# --- told the truth (simulated stores) ----------------------------------------------------------------

# Truth purposes and misuse kinds, as the sensitive-purpose tags a correct reading would give them.
SENSITIVE_TRUTH = {
    "protest": "protest", "reproductive_health": "reproductive_health", "civil_matter": "civil_matter",
    "personal_use": "personal_use", "mission_creep": "mission_creep",
    # Misuse: stalking and personal errands are personal use; targeting council members and
    # complainants is political, First-Amendment territory like protest.
    "stalking": "personal_use", "political": "protest",
}
SENSITIVE_TAGS = frozenset({"protest", "reproductive_health", "civil_matter", "personal_use", "ethnic_descriptor",
                            "mission_creep"})


def truth_tags(tags: frozenset[str], purpose: str | None, misuse: str | None) -> frozenset[str]:
    """The tags a search's reason would carry had it told the truth.

    The truth's purpose replaces what the reason claims about the facts a log can hide (immigration
    and the sensitive purposes); the other tags (vague, crime categories) are what was logged.
    """
    true_tags = set(tags) - SENSITIVE_TAGS - {IMMIGRATION_TAG}
    true_tags |= {IMMIGRATION_TAG} if purpose == IMMIGRATION_TAG else set()
    true_tags |= {t for t in (SENSITIVE_TRUTH.get(purpose), SENSITIVE_TRUTH.get(misuse)) if t}
    return frozenset(true_tags)


class Truth(NamedTuple):
    """What the simulator knows about a search: its purpose, misuse kind and true beneficiary (the
    searcher itself when it acted for no one else)."""

    purpose: str | None
    misuse: str | None
    beneficiary_id: int | None


# --- the stored keys, read back -----------------------------------------------------------------------

# Each search's keys as the last `audit run` stored them (one per owner of its data); a reader
# selects `k.search_id` and the key columns `sk.<field>` (:func:`stored_key`) from here.
STORED_KEYS_SQL = "FROM search_keys k JOIN scan_keys sk ON sk.id = k.key_id"
STORED_KEY_COLUMNS = ", ".join(f"sk.{f}" for f in KEY_FIELDS)


def stored_key(row: Sequence[Any]) -> SearchKey:
    """A :class:`SearchKey` from the :data:`STORED_KEY_COLUMNS` of a row."""
    return SearchKey(*row)


def stored_classes(db: sqlite_utils.Database) -> list[tuple[str, ...]]:
    """class id -> its sorted tag names, as the last `audit run` stored them (reads only)."""
    tags: dict[int, set[str]] = {}
    for class_id, tag in db.execute(
            "SELECT DISTINCT rc.class_id, rt.tag FROM reason_classes rc "
            "LEFT JOIN reason_tags rt ON rt.reason_id = rc.reason_id"):
        tags.setdefault(class_id, set())
        if tag is not None:
            tags[class_id].add(tag)
    classes: list[tuple[str, ...]] = [()] * (max(tags) + 1 if tags else 0)
    for class_id, found in tags.items():
        classes[class_id] = tuple(sorted(found))
    return classes


def stored_bounds(db: sqlite_utils.Database) -> tuple[list[str], list[int]]:
    """The date and days-back bounds the last scan keyed searches by (:func:`fact_bounds`)."""
    found = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('scan_date_boundaries', 'scan_frame_bounds')"))
    return (json.loads(found.get("scan_date_boundaries", "[]")), json.loads(found.get("scan_frame_bounds", "[]")))


# --- key -> facts -> verdict ------------------------------------------------------------------------

class Judge:
    """The key → facts → verdict step: the search rules' verdict on a :class:`SearchKey`, as logged
    or told the truth. One definition for the scan, `audit score` and the exercise answer keys.

    Facts are built once per key and verdicts memoized per *signature*: the trace facts the rules
    read (an agency through its attributes, not its id) and the key's own fields, so verdicts stay
    few however many agencies searched.
    """

    def __init__(self, rules: Iterable[Any], graph: Any, agencies: dict[int, Agency],
                 classes: Sequence[tuple[str, ...]], boundaries: Sequence[str] = (),
                 frame_bounds: Sequence[int] = ()) -> None:
        self.rules = [r for r in rules if r.scope == "search"]
        self.graph, self.agencies, self.classes = graph, agencies, classes
        self.boundaries, self.frame_bounds = list(boundaries), list(frame_bounds)
        used = {leaf["fact"] for rule in self.rules for leaf in rule.leaves()}
        # immigration_related and immigration_stated read the beneficiary's component and basis
        # whether or not a rule names them.
        self._signature_facts = sorted(
            {f for f in used if f.split(".")[0] in ("owner", "searcher", "beneficiary") or f in ("scope", "door")}
            | {"beneficiary.dhs_component", "beneficiary.basis"})
        self._traces: dict[tuple, dict[str, Any]] = {}
        self._signatures: dict[tuple, tuple] = {}
        self._verdicts: dict[tuple, tuple[str, ...]] = {}

    @staticmethod
    def path(key: SearchKey, truth: Truth | None = None) -> tuple:
        """(owner, searcher, beneficiary, basis) of a key's trace; told the truth, the true beneficiary."""
        owner = None if key.owner_id == -1 else key.owner_id
        searcher = None if key.searcher_id == -1 else key.searcher_id
        if truth is not None:
            return owner, searcher, truth.beneficiary_id, "truth"
        return owner, searcher, searcher if key.beneficiary_id == -1 else key.beneficiary_id, key.basis or None

    def trace(self, path: tuple) -> dict[str, Any]:
        """The facts of one traced path (:meth:`path`), built once."""
        found = self._traces.get(path)
        if found is None:
            found = self._traces[path] = trace_facts(self.graph, self.agencies, *path)
        return found

    def tags(self, class_id: int) -> frozenset[str]:
        """The tags of a reason class (none for -1: no reason)."""
        return frozenset(self.classes[class_id]) if class_id != -1 else frozenset()

    def facts(self, key: SearchKey, truth: Truth | None = None) -> dict[str, Any]:
        """The facts the search rules see for a key, as logged or (``truth``) told the truth."""
        tags = self.tags(key.class_id)
        if truth is not None:
            tags = truth_tags(tags, truth.purpose, truth.misuse)
        return search_facts(self.trace(self.path(key, truth)), tags, key.system, key.query_type, key.mass_search,
                            key.has_case_number, key.reason_state, epoch_date(self.boundaries, key.epoch),
                            frame_value(self.frame_bounds, key.frame_bucket))

    def verdict(self, key: SearchKey, truth: Truth | None = None) -> tuple[str, ...]:
        """Ids of the search rules a key breaks, as logged or (``truth``) told the truth."""
        path = self.path(key, truth)
        signature = self._signatures.get(path)
        if signature is None:
            facts = self.trace(path)
            signature = self._signatures[path] = tuple(facts[f] for f in self._signature_facts)
        memo = (signature, *key[4:], truth is not None, truth.purpose if truth else None, truth.misuse if truth else None)
        found = self._verdicts.get(memo)
        if found is None:
            facts = self.facts(key, truth)
            found = self._verdicts[memo] = tuple(r.id for r in self.rules if r.matches(facts))
        return found
