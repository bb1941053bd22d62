"""A streaming generator of one big synthetic Flock **Network Audit** CSV, for benchmarks at millions of rows.

The scenario simulator (`simulator.generate`) keeps a world in memory and writes a store; this module
skips the store and writes the vendor's file directly, so 10 million searches cost minutes and constant
memory. It still draws from the simulator's knowledge rather than inventing its own:

- reason text comes from the phrasing pools in ``simulator/data/reasons.toml`` (through
  :class:`simulator.phrasing.Phrasebook`): honest, vague, cover and beneficiary phrasings, the 2026
  dropdown's ``Category - detail`` and comma-joined forms;
- searcher agencies are named like the scenario's generated agencies (``Raleigh NC PD``,
  ``Lowndes County GA SO``) from ``simulator/data/places.toml`` (through ``simulator.world``), in
  every state, plus a few ``[Federal] ...`` users; officers come from the world's officer pool.

The shape is what real logs show: about 20,000 distinct reasons, Zipf-like (``investigation`` first, a
long tail of typos, appended case numbers, abbreviations, dropdown forms), about 0.5% of rows
immigration-related (``ICE``, ``HSI assist``, ``imigration``, A-numbers, ``287(g)``), the false friends
a plain regex trips on (``ICE SALES``, ``ICE impersonation``, ``DHS welfare check``, ``BP gas``,
``HSIN``), and thousands of searcher organizations. Everything is precomputed into pools first; each
row is a handful of cheap random choices, written in batches. Deterministic for a seed.
"""
from __future__ import annotations

import csv
import itertools
import random
import re
import time
from pathlib import Path
from typing import Any

from faker import Faker

from auditor.errors import InputError
from simulator.export import NETWORK_AUDIT_HEADER
from simulator.phrasing import Phrasebook
from simulator.scenario import data_file
from simulator.world import CASE_FORMATS, _generated_name, _officer_pool

OWNER = "El Cajon CA PD"
FILE_NAME = "1_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv"
YEAR_START = 1735689600  # 2025-01-01T00:00:00Z
YEAR_SECONDS = 365 * 86400

DEFAULT_SEARCHES = 10_000_000
DEFAULT_REASONS = 20_000
DEFAULT_AGENCIES = 3_000
IMMIGRATION_SHARE = 0.005
_BATCH = 8192

# Searchers come mostly from a few large states, as in El Cajon's and Danville's logs (TX, VA, FL, GA).
_STATE_WEIGHT = {"TX": 12, "FL": 9, "VA": 6, "GA": 6, "CA": 6, "NC": 4, "TN": 4, "AZ": 3, "OH": 3, "IL": 3}
_KINDS = {"police": 0.72, "sheriff": 0.22, "probation": 0.03, "state police": 0.03}
# Federal users as Flock labels them; their names resolve as federal (DHS components among them).
_FEDERAL = ("[Federal] HSI Houston", "[Federal] HSI San Diego", "[Federal] ICE ERO Dallas",
            "[Federal] ICE ERO Atlanta", "[Federal] US Border Patrol El Centro", "[Federal] CBP San Ysidro",
            "[Federal] US Marshals Service", "[Federal] ATF Phoenix", "[Federal] DEA San Diego",
            "[Federal] FBI Norfolk")

# False friends peers tripped on (DOMAIN.md 5): a plain regex calls several of them immigration.
# The pools already hold `ice sales`, `ICE impersonation`, `DHS welfare check`, `immigration protest`;
# these add the spellings and neighbours seen in real logs (Irvine CA, Redlands CA).
_TRAPS = ("ICE SALES", "ice sales", "ICE impersonation", "anaheim pd ICE impersonation case", "DHS welfare check",
          "BP gas drive off", "HSIN bulletin", "immigration protest", "ICE CREAM TRUCK HIT AND RUN",
          "possession of ICE for sales", "Anti-ICE protest at federal building")

# Shorthand officers use (peer logs: `inv`, `veh`, `susp`, `asst`, `burg`, `wrnt`).
_ABBREVIATIONS = {"investigation": ("inv", "invest", "invst", "investgation"), "vehicle": ("veh", "vehi", "vehicel"),
                  "suspect": ("susp", "sus"), "assist": ("asst", "assit"), "warrant": ("wrnt", "warr"),
                  "burglary": ("burg",), "narcotics": ("narc", "narcs"), "stolen": ("stln",),
                  "missing": ("msg",), "person": ("prsn",), "theft": ("thft",), "agency": ("agcy",)}

# Everyday texts a classifier reads near an immigration signal (`ICE SALES`, `police`-safe): their
# variants only gain case numbers, because a typo in the context word (`ICE SAELS`) would turn a trap
# into a true immigration reason and blur the count by construction.
_NEAR_SIGNAL = re.compile(r"\bice\b|immigra|hsi|dhs|\bbp\b|cbp|\bero\b", re.IGNORECASE)

_SEARCH_TYPES = ("search", "lookup", "freeform", "visual", "multiGeo", "convoy")
_SEARCH_TYPE_WEIGHTS = (50, 35, 8, 4, 2, 1)


def _zipf_cum(n: int, exponent: float, total: float = 1.0) -> list[float]:
    """Cumulative Zipf weights for ranks 1..n, scaled to sum to ``total``."""
    raw = [1.0 / (rank ** exponent) for rank in range(1, n + 1)]
    scale = total / sum(raw)
    return list(itertools.accumulate(w * scale for w in raw))


def _case_number(rng: random.Random) -> str:
    return rng.choice(CASE_FORMATS).format(yy=rng.choice((24, 25)), n=rng.randrange(1, 99999))


def _typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: a swapped, dropped or doubled letter (`stolne`, `invstigation`, `warrrant`)."""
    if len(text) < 4:
        return text + text[-1]
    i = rng.randrange(1, len(text) - 1)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2:]
    if kind == 1:
        return text[:i] + text[i + 1:]
    return text[:i] + text[i] + text[i:]


def _abbreviate(rng: random.Random, text: str) -> str:
    words = text.split(" ")
    spots = [i for i, w in enumerate(words) if w.lower() in _ABBREVIATIONS]
    if not spots:
        return text
    i = rng.choice(spots)
    words[i] = rng.choice(_ABBREVIATIONS[words[i].lower()])
    return " ".join(words)


def _everyday_mutation(rng: random.Random, base: str) -> str:
    """A long-tail variant of an everyday reason: how 20,000 distinct reasons arise from a few hundred."""
    roll = rng.random()
    if roll < 0.30:
        sep = rng.choice((" ", " #", " case ", " - ", " rpt "))
        return f"{base}{sep}{_case_number(rng)}"
    if roll < 0.42:
        return f"{_case_number(rng)} {base}"
    if roll < 0.62:
        return _typo(rng, base)
    if roll < 0.74:
        return _abbreviate(rng, base) if rng.random() < 0.7 else _typo(rng, _abbreviate(rng, base))
    if roll < 0.84:
        return base.upper() if rng.random() < 0.5 else base.title()
    if roll < 0.92:
        return f"Other - {base}"
    return _case_number(rng)  # a bare case number as the whole reason (63% of Irvine's reasons)


def _a_number(rng: random.Random) -> str:
    """An alien registration number typed as the reason (`A088 887 818`, `A-088-887-818`, `A# 088887818`)."""
    digits = f"0{rng.randrange(10, 99)}{rng.randrange(100, 999)}{rng.randrange(100, 999)}"
    shape = rng.randrange(3)
    if shape == 0:
        return f"A{digits[:3]} {digits[3:6]} {digits[6:]}"
    if shape == 1:
        return f"A-{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    return f"A# {digits}"


def _immigration_mutation(rng: random.Random, base: str) -> str:
    """A variant that keeps the immigration signal: case numbers, dropdown prefix, a companion purpose."""
    roll = rng.random()
    if roll < 0.45:
        return f"{base} {rng.choice(('#', 'case ', ''))}{_case_number(rng)}"
    if roll < 0.65:
        return f"Immigration (civil/administrative) - {base}"
    if roll < 0.85:
        return f"{base} - {rng.choice(('fugitive', 'warrant', 'human trafficking', 'target vehicle', 'follow up'))}"
    return f"{base} {_a_number(rng)}"


def reason_pools(seed: int, distinct: int = DEFAULT_REASONS) -> tuple[list[str], list[str]]:
    """The everyday and the immigration-related reason texts, each in popularity order (rank 1 first).

    Both pools are drawn from the simulator's phrasebook, then grown with realistic mutations until
    together they hold ``distinct`` texts (immigration-related about 1.5% of them). No text is in both.
    """
    rng = random.Random(f"{seed}:bulk-reasons")
    book = Phrasebook()
    seen: set[str] = set()

    def unique(texts) -> list[str]:
        out = []
        for t in texts:
            if t not in seen:
                seen.add(t)
                out.append(t)
        return out

    # Immigration-related first, so no everyday text can take one of its spellings.
    imm_bases = unique(
        book.beneficiary["ICE"] + book.purposes["immigration"]["free"] + book.beneficiary["ERO"]
        + book.beneficiary["HSI"] + book.beneficiary["CBP"] + book.beneficiary["USBP"]
        + [book.purposes["immigration"]["category"]]
        + [f"{book.purposes['immigration']['category']} - {d}" for d in book.purposes["immigration"]["detail"]]
        + ["287(g)", "287g task force", "287(g) TFO"]
    )
    crimes = [p for p in book.purposes if p != "immigration"]
    # `HSI assist - human trafficking`; not beside the trap purposes (`ICE hold - ice sales` is ambiguous).
    companions = [p for p in book.purposes if p not in ("narcotics", "fraud", "protest")]
    imm_bases += unique(book.for_beneficiary(rng, rng.choice(("ICE", "HSI", "ERO", "CBP", "USBP")),
                                             rng.choice(companions), rng.random() < 0.3)
                        for _ in range(60))
    imm_target = max(len(imm_bases), int(distinct * 0.015))
    immigration = list(imm_bases)
    while len(immigration) < imm_target:
        text = _a_number(rng) if rng.random() < 0.15 else _immigration_mutation(rng, imm_bases[
            min(int(rng.paretovariate(1.2)) - 1, len(imm_bases) - 1)])
        immigration += unique([text])

    everyday_bases = unique(book.vague)  # `investigation` is rank 1: the most common reason everywhere
    for name in crimes:
        pool = book.purposes[name]
        everyday_bases += unique(pool["free"])
    everyday_bases += unique(book.disguise)
    for name in crimes:
        pool = book.purposes[name]
        everyday_bases += unique([pool["category"]] + [f"{pool['category']} - {d}" for d in pool["detail"]])
    categories = [book.purposes[name]["category"] for name in crimes]
    everyday_bases += unique(", ".join(rng.sample(categories, rng.choice((2, 2, 3)))) for _ in range(120))
    # Traps at ranks where even a small file holds them: they are what tells a classifier from a regex.
    traps = [t for t in _TRAPS if t not in everyday_bases]
    for i, trap in enumerate(traps):
        seen.add(trap)
        everyday_bases.insert(150 + 12 * i, trap)
    everyday = list(everyday_bases)
    while len(everyday) + len(immigration) < distinct:
        # Popular bases spawn more variants, as `investigation` does in every real log.
        base = everyday_bases[min(int(rng.paretovariate(0.9)) - 1, len(everyday_bases) - 1)]
        if _NEAR_SIGNAL.search(base):
            variant = f"{base}{rng.choice((' ', ' #', ' case ', ' - '))}{_case_number(rng)}"
        else:
            variant = _everyday_mutation(rng, base)
        everyday += unique([variant])
    return everyday, immigration


def searcher_agencies(seed: int, count: int = DEFAULT_AGENCIES) -> list[str]:
    """Vendor-style org names in every state (``Raleigh NC PD``), the owner first, federal users last."""
    rng = random.Random(f"{seed}:bulk-agencies")
    places = data_file("places.toml")["states"]
    fake = Faker("en_US")
    fake.seed_instance(seed + 7)
    fallback = iter([fake.city() for _ in range(count * 2)])
    states = list(places)
    weights = [_STATE_WEIGHT.get(s, 1) for s in states]
    kinds, kind_weights = list(_KINDS), list(_KINDS.values())
    cities = {s: iter(places[s]["cities"]) for s in states}
    counties = {s: iter(places[s]["counties"]) for s in states}
    used: set[str] = {OWNER, *_FEDERAL}
    names = [OWNER]
    while len(names) < count - len(_FEDERAL):
        state = rng.choices(states, weights)[0]
        kind = rng.choices(kinds, kind_weights)[0]
        try:
            name = _generated_name(kind, state, cities[state], counties[state], fallback, used)
        except InputError:
            continue
        used.add(name)
        names.append(name)
    return names + list(_FEDERAL)


class _FlockClock:
    """``01/05/2025, 05:28:52 PM UTC`` for epoch seconds, formatting each minute once."""

    def __init__(self) -> None:
        self._minutes: dict[int, tuple[str, str]] = {}

    def __call__(self, epoch: int) -> str:
        minute, second = divmod(epoch, 60)
        parts = self._minutes.get(minute)
        if parts is None:
            if len(self._minutes) > 8192:
                self._minutes.clear()
            stamp = time.gmtime(minute * 60)
            parts = (time.strftime("%m/%d/%Y, %I:%M:", stamp), time.strftime(" %p UTC", stamp))
            self._minutes[minute] = parts
        return f"{parts[0]}{second:02d}{parts[1]}"


def write_network_audit(path: str | Path, searches: int = DEFAULT_SEARCHES, seed: int = 0, *,
                        distinct_reasons: int = DEFAULT_REASONS, agencies: int = DEFAULT_AGENCIES) -> dict[str, Any]:
    """Write El Cajon CA PD's synthetic 2025 Network Audit with ``searches`` rows; return its counts.

    ``path`` is a folder (the file gets Flock's name, from which the importer takes the owner) or a
    file path. Returns ``path``, ``rows``, ``distinct_reasons`` (distinct texts actually written),
    ``immigration_rows`` (rows whose reason was drawn from the immigration-related pool: by
    construction, before any classifier reads them), ``searcher_agencies`` and ``seconds``.
    """
    if searches < 1:
        raise InputError("searches must be at least 1")
    target = Path(path)
    if target.is_dir():
        target = target / FILE_NAME
    started = time.perf_counter()
    rng = random.Random(f"{seed}:bulk-rows")
    everyday, immigration = reason_pools(seed, distinct_reasons)
    reasons = everyday + immigration
    first_immigration = len(everyday)
    # Everyday reasons share 99.5% of the rows Zipf-style; immigration reasons 0.5%, Zipf among themselves.
    reason_cum = _zipf_cum(len(everyday), 1.0, 1.0 - IMMIGRATION_SHARE)
    reason_cum += [reason_cum[-1] + w for w in _zipf_cum(len(immigration), 1.1, IMMIGRATION_SHARE)]
    reason_ids = range(len(reasons))

    orgs = searcher_agencies(seed, agencies)
    org_ids = range(len(orgs))
    org_cum = _zipf_cum(len(orgs), 0.8)
    # Immigration reasons come from a few hundred agencies (proxies in TX, VA, FL...) and federal users.
    proxies = sorted(rng.sample(range(1, len(orgs) - len(_FEDERAL)), min(300, len(orgs) // 8)))
    proxies += list(range(len(orgs) - len(_FEDERAL), len(orgs)))
    proxy_cum = _zipf_cum(len(proxies), 1.0)

    officers = _officer_pool(seed)
    crews = [(rng.randrange(len(officers) - 60), rng.randint(4, 60)) for _ in orgs]
    case_formats = [rng.choice(CASE_FORMATS) for _ in orgs]
    networks = [max(1, min(6709, int(rng.lognormvariate(3.0, 2.0)))) for _ in range(4096)]
    plate_letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    plates = [f"{rng.randint(1, 9)}{''.join(rng.choices(plate_letters, k=3))}{rng.randrange(1000):03d}"
              for _ in range(100_000)]
    prompts = Phrasebook().prompts
    frame_days = (1, 7, 7, 14, 30, 30)
    clock = _FlockClock()

    step = YEAR_SECONDS / searches
    used: set[int] = set()
    immigration_rows = 0
    orgs_used: set[int] = set()
    try:
        fh = open(target, "w", newline="", encoding="utf-8")
    except OSError as e:
        raise InputError(f"{target}: cannot write: {e.strerror}") from None
    with fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(NETWORK_AUDIT_HEADER)
        choices, rand, randrange, getrandbits = rng.choices, rng.random, rng.randrange, rng.getrandbits
        for begin in range(0, searches, _BATCH):
            size = min(_BATCH, searches - begin)
            picked = choices(reason_ids, cum_weights=reason_cum, k=size)
            by = choices(org_ids, cum_weights=org_cum, k=size)
            kinds = choices(_SEARCH_TYPES, weights=_SEARCH_TYPE_WEIGHTS, k=size)
            used.update(picked)
            rows = []
            for j in range(size):
                reason_id = picked[j]
                org = by[j]
                if reason_id >= first_immigration:
                    immigration_rows += 1
                    org = proxies[choices(range(len(proxies)), cum_weights=proxy_cum)[0]]
                orgs_used.add(org)
                when = YEAR_START + int((begin + j) * step)
                stype = kinds[j]
                first, crew = crews[org]
                bits = f"{getrandbits(128):032x}"
                uid = f"{bits[:8]}-{bits[8:12]}-4{bits[13:16]}-a{bits[17:20]}-{bits[20:]}"
                plate = "" if stype in ("freeform", "visual") or rand() < 0.25 else plates[randrange(100_000)]
                case = case_formats[org].format(yy=25, n=randrange(1, 99999)) if rand() < 0.4 else ""
                prompt = prompts[randrange(len(prompts))] if stype == "freeform" else ""
                rows.append((uid, officers[first + randrange(crew)], orgs[org], networks[randrange(4096)],
                             f"{clock(when - 86400 * frame_days[randrange(6)])}\n{clock(when)}", plate,
                             reasons[reason_id], case, "", clock(when), stype, prompt,
                             "allow" if prompt else ""))
            writer.writerows(rows)
    return {"path": str(target), "rows": searches, "distinct_reasons": len(used),
            "immigration_rows": immigration_rows, "searcher_agencies": len(orgs_used),
            "seconds": round(time.perf_counter() - started, 2)}
