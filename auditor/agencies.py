"""Agency resolution: a vendor org name to state, level, kind, DHS component and 287(g) status.

Evidence is weighed in a fixed order, and every answer says which evidence produced it:

1. ``registry``: the list shipped in ``auditor/data/agency_registry.csv`` (federal agencies and their
   components, state police per state, a few well-known names);
2. ``heuristic``: the shape of the name (``Raleigh NC PD``, ``Texas DPS``, ``[Federal] HSI Houston``);
3. ``287g``: ICE's published list of 287(g) agreements, read from a file the user gives; it sets
   ``is_287g`` and, for an ICE-spelled name that carries no state, can supply the state;
4. ``override``: a user's CSV, which wins over everything.

A name nothing recognizes stays ``unknown`` (state NULL, level and kind ``unknown``) and is reported,
never guessed.
"""
from __future__ import annotations

import csv
import difflib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils

from auditor.errors import InputError
from auditor.files import require_regular
from auditor.facts import is_unresolved, unresolved_sql
from auditor.state_requesters import default_registry
from auditor.vocabulary import DHS_COMPONENTS as DHS_IMMIGRATION, DHS_KINDS, KINDS, LEVELS, STATE_NAMES, fold_kind

_STATE_BY_NAME = {name.upper(): code for code, name in STATE_NAMES.items()}

# Codes that are also English words or common abbreviations: inside a name they count as a state
# only in the Flock position (right before the type suffix, or last), so "Lake In The Hills" and
# "Police OR Sheriff" stay put while "Portland OR PD" and "Portland ME PD" resolve.
_AMBIGUOUS_CODES = {"IN", "OR", "ME", "OK", "HI", "OH", "AS", "DE", "LA", "CO", "MD", "PA", "MS", "ID", "SD"}

# Words that start the type part of a Flock org name (what follows "<Place> <ST>").
_TYPE_WORDS = {
    "pd", "so", "fd", "da", "dps", "isd", "cisd", "usd", "doc", "police", "sheriff", "sheriff's",
    "sheriffs", "sheriff’s", "fire", "district", "department", "dept", "highway", "state", "constable",
    "constables", "marshal", "marshal's", "marshals", "probation", "university", "college", "schools",
    "school", "public", "fusion", "task", "narcotics", "drug", "airport", "port", "parks", "county",
    "office", "division", "bureau", "unit", "investigations", "detectives", "patrol", "rtcc", "sd",
    # Prosecutors, spelled as releases spell them (`Lake County IN Prosector`, `... PA DA's Office`).
    "prosecutor", "prosecutors", "prosecutor's", "prosector", "prosecuting", "attorney", "attorney's",
    "attorneys", "da's", "das", "coroner", "corrections", "correctional", "jail", "detention", "major",
}
# Type words that may follow a LEADING state code (`TX DPS`, `WA State Patrol`): only state-level
# ones, so `LA County Sheriff` (Los Angeles) and `OR Police` stay unread.
_LEADING_TYPE_WORDS = {"dps", "state", "highway", "dci", "bci", "fwc", "doc"}
# Local type words that, before a federal acronym, make the name a local agency's unit
# (`Maricopa County AZ SO HSI Task Force` is the sheriff's office, not HSI).
_LOCAL_BEFORE_FEDERAL = {"so", "sd", "pd", "county", "parish", "sheriff", "sheriffs", "sheriff's", "police"}
# What the importer writes when a release's agency was not named (plan.placeholder_producer):
# the file stem inside says nothing about an agency, so it is never read for type words.
_PLACEHOLDER = re.compile(r"^\s*\[producer of [^\]]*\]\s*$", re.IGNORECASE)

# A state name in a name is a place, not the state, when a place word follows it
# ("Washington County", "Kansas City", "Virginia Beach", "Texas County").
_PLACE_AFTER_STATE = {
    "county", "city", "beach", "parish", "township", "town", "village", "heights", "springs", "falls",
    "park", "hills", "borough", "twp", "lake", "point",
}

_FEDERAL_PREFIX = re.compile(r"^\s*\[\s*federal\s*\]\s*", re.IGNORECASE)

# Kind of agency from the words of its name, most specific first; each yields (kind, default level).
# Matched on folded text (lower case, punctuation gone). A university's police is the university's.
_KIND_PATTERNS: list[tuple[re.Pattern[str], str, str | None]] = [
    # `... Regional Intelligence and Investigation Cent` (a sharing list cuts names at 60 characters).
    (re.compile(r"\b(fusion cent(er|re)|regional intelligence cent\w*|intelligence center"
                r"|intelligence and investigation cent\w*)\b"), "fusion center", None),
    (re.compile(r"\b(task force|hidta|major crimes unit)\b"), "task force", None),
    (re.compile(r"\b(probations?|parole)\b"), "probation", "county"),
    (re.compile(r"\b(state police|highway patrol|state patrol|state troopers|bureau of investigation"
                r"|division of criminal investigation|bureau of criminal investigation|dci|bci"
                r"|law enforcement division|department of law enforcement|law enforcement agency)\b"),
     "state police", "state"),
    (re.compile(r"\b(isd|cisd|usd|school district|public schools|schools|school)\b"), "school", "local"),
    # "University City MO", "College Station TX", "University Park TX" are cities.
    (re.compile(r"\b(university|college)\b(?! (city|park|heights|place|station|hills)\b)"), "university", None),
    (re.compile(r"\b(dps|department of public safety|public safety)\b"), "dps", "local"),
    (re.compile(r"\b(so|sd|sheriffs|sheriff|sherriffs?|sherrifs?|sherifs?)\b"), "sheriff", "county"),  # misspelled in releases
    (re.compile(r"\b(fd|fire|fire rescue)\b"), "fire", "local"),
    (re.compile(r"\b(da|district attorneys?|das|attorneys? office|attorney general|prosecutors?|prosectors?"
                r"|prosecuting attorneys?|state attorney)\b"), "prosecutor", "county"),
    (re.compile(r"\b(doc|corrections?|correctional|jail|detention|prison)\b"), "corrections", None),
    (re.compile(r"\bconstables?\b"), "police", "county"),
    (re.compile(r"\bmarshals?\b"), "police", "local"),
    (re.compile(r"\b(pd|police|police dept|police departement|law enforcement)\b"), "police", "local"),
    # Every state has a DHS that is Human Services (child welfare), not Homeland Security.
    (re.compile(r"\b(human services|social services|child protective|dhs|homeland security"
                r"|emergency management|national guard)\b"), "other", None),
]
# A state body named "<State> Department/Division/Office of ..." when nothing more specific matched.
_STATE_BODY = re.compile(r"\b(department|dept|division|office|bureau|commission|agency|authority)\b")
# Company forms that no public agency uses: "ICE Cream LLC" is a business, whatever its first word.
_COMPANY = re.compile(r"\b(llc|inc|corp|corporation|company|ltd)\b")
_TRIBAL = re.compile(r"\b(tribal|tribe|tribes|nation|pueblo|band of|rancheria|indian community|reservation)\b")
_PRIVATE = re.compile(
    r"\b(llc|inc|corp|corporation|company|security|loss prevention|apartments|hoa|homeowners"
    r"|property management|mall|walmart|home depot|lowes|towing|repossession)\b"
)
# Words that make a "security" name public after all (Homeland Security, Public Safety and Security).
_PUBLIC_BODY = re.compile(r"\b(homeland|department|county|city of|police|sheriff|state|public|federal|us)\b")

# Federal agencies by the tokens of their names. Acronyms are matched case-sensitively on the
# original spelling: lowercase "ice" is meth in reasons and never an agency in an org name.
_FEDERAL_ACRONYMS: dict[str, tuple[str, str | None]] = {
    "ERO": ("ICE", "ERO"), "ICE": ("ICE", "ICE"), "HSI": ("HSI", "HSI"), "USBP": ("USBP", "USBP"),
    "CBP": ("CBP", "CBP"), "OFO": ("CBP", "CBP"), "FBI": ("other federal", None),
    "DEA": ("other federal", None), "ATF": ("other federal", None), "USMS": ("other federal", None),
    "USSS": ("other federal", None), "USPIS": ("other federal", None), "FPS": ("other federal", None),
    "TSA": ("other federal", None), "NCIS": ("other federal", None),
}
# Most specific component first: "ICE ERO" is ERO, "ICE HSI" is HSI, "CBP Border Patrol" is USBP.
_COMPONENT_RANK = {"ERO": 0, "HSI": 1, "USBP": 2, "ICE": 3, "CBP": 4, None: 5}
_FEDERAL_PHRASES: list[tuple[re.Pattern[str], str, str | None]] = [
    (re.compile(r"\benforcement and removal\b"), "ICE", "ERO"),
    (re.compile(r"\bhomeland security investigations\b"), "HSI", "HSI"),
    (re.compile(r"\bimmigration and customs enforcement\b"), "ICE", "ICE"),
    (re.compile(r"\bborder patrol\b"), "USBP", "USBP"),
    (re.compile(r"\bcustoms and border protection\b"), "CBP", "CBP"),
    (re.compile(r"\b(federal bureau of investigation|drug enforcement administration|secret service"
                r"|us marshals|united states marshals|postal inspection|federal protective service"
                r"|alcohol tobacco firearms)\b"), "other federal", None),
]


@dataclass(frozen=True)
class AgencyInfo:
    """What is known about one agency and which evidence said so."""

    state: str | None
    level: str
    kind: str
    dhs_component: str | None
    is_287g: int | None  # 1 on ICE's list, 0 checked and not on it, None not checked
    support_287g: str | None
    resolved_by: str  # registry, heuristic, 287g, override, unknown
    confidence: float


UNKNOWN = AgencyInfo(None, "unknown", "unknown", None, None, None, "unknown", 0.0)


def fold(name: str) -> str:
    """Fold a name for comparison: lower case, `&` as `and`, punctuation and `U.S.` spellings unified."""
    text = name.replace("’", "'").replace("&", " and ").lower()
    text = re.sub(r"['\".]", "", text)  # U.S. -> us, Sheriff's -> sheriffs
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    text = re.sub(r"\bunited states\b", "us", text)
    return text


def _tokens(name: str) -> list[str]:
    """Split an org name into words, keeping case and inner apostrophes (`Sheriff's`)."""
    return [t.strip(".") for t in re.split(r"[\s,()/\[\]]+|\s-\s", name) if t.strip(".-")]


def _state_code_in(tokens: list[str]) -> tuple[str | None, int | None]:
    """The postal code of a Flock-style name (`Lowndes County GA SO`) and its position, if any."""
    found: tuple[str | None, int | None] = (None, None)
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        if token not in STATE_NAMES:
            continue
        if i == 0:
            # A leading code counts only before a state-level type word (`TX DPS`, `ME State Police`).
            if last > 0 and tokens[1].lower() in _LEADING_TYPE_WORDS:
                found = (token, 0)
            continue
        if found[1] == i - 1 and found[1] > 0:
            continue  # `Orange County CA SD`: the second code is the type (Sheriff's Department)
        before_type = i < last and _type_word(tokens[i + 1])
        type_later = any(_type_word(t) for t in tokens[i + 1:])
        if i == last or before_type or (token not in _AMBIGUOUS_CODES and type_later):
            found = (token, i)
    return found


def _type_word(token: str) -> bool:
    """Whether a token starts the type part of an org name (curly apostrophes read as straight)."""
    return token.lower().replace("’", "'") in _TYPE_WORDS


# `Windsor- IL- PD`, `Ocala-FL-PD`: the parts of a Flock name joined by hyphens instead of spaces.
_HYPHENATED = re.compile(r"^[^-]+(?:\s*-\s*[^-]+){2,}$")


def _unhyphenate(bare: str) -> str:
    """Join a hyphen-separated name (`Windsor- IL- PD`) with spaces when a middle part is a state code;
    `AZ - BENSON PD` and `CITY OF PERRIS CA - RCSD` keep their dashes (labels and units)."""
    if not _HYPHENATED.match(bare):
        return bare
    parts = [p.strip() for p in bare.split("-")]
    if any(p in STATE_NAMES for p in parts[1:-1]) and all(parts):
        return " ".join(parts)
    return bare


def _state_named_in(name: str) -> str | None:
    """A state named in words (`Texas DPS`, `University of Florida PD`), unless it is part of a place."""
    words = fold(name).split()
    best: str | None = None
    i = 0
    while i < len(words):
        matched = None
        for size in (3, 2, 1):  # longest first: "West Virginia" before "Virginia"
            phrase = " ".join(words[i:i + size]).upper()
            if len(words[i:i + size]) == size and phrase in _STATE_BY_NAME:
                matched = (phrase, size)
                break
        if matched is None:
            i += 1
            continue
        phrase, size = matched
        after = words[i + size] if i + size < len(words) else ""
        i += size
        if after in _PLACE_AFTER_STATE:
            continue
        # "Washington" alone is a common place name; only "Washington State ..." or a department is WA.
        if phrase == "WASHINGTON" and after not in ("state", "department", "dept"):
            continue
        if best is None:
            best = _STATE_BY_NAME[phrase]
    return best


def _federal_agency(name: str, tokens: list[str]) -> tuple[str, str | None] | None:
    """(kind, dhs_component) when the name names a federal agency, the most specific component wins."""
    hits: list[tuple[str, str | None]] = []
    for i, token in enumerate(tokens):
        if token in _FEDERAL_ACRONYMS:
            if any(t.lower() in _LOCAL_BEFORE_FEDERAL for t in tokens[:i]):
                return None  # a local agency's unit or task force that names its federal partner
            hits.append(_FEDERAL_ACRONYMS[token])
    folded = fold(name)
    hits += [(kind, comp) for pattern, kind, comp in _FEDERAL_PHRASES if pattern.search(folded)]
    if not hits:
        return None
    return min(hits, key=lambda hit: _COMPONENT_RANK[hit[1]])


_LEADING_CODE = re.compile(r"^([A-Z]{2})\s*-\s+(\S.*)$")
_TRAILING_PAREN = re.compile(r"\s*\(([^()]*)\)\s*$")
_TRAILING_CODE = re.compile(r"\s*-\s*([A-Z]{2})$")


def _split_labels(bare: str) -> tuple[str, str | None]:
    """Separate a name from the labels sharing lists hang on it, keeping a state found in them.

    Seen in a records-act sharing list: `AZ - BENSON PD`, `ALAMEDA COUNTY SHERIFFS OFFICE (CA)`,
    `ARROYO GRANDE POLICE DEPARTMENT-CA`, `CARSON CITY SO NV (FLEX)`, `CITY OF NORCO CA - RCSD`.
    """
    code = None
    match = _LEADING_CODE.match(bare)
    if match and match.group(1) in STATE_NAMES:
        code, bare = match.group(1), match.group(2)
    while True:
        paren = _TRAILING_PAREN.search(bare)
        if paren and paren.start() > 0:
            label = paren.group(1).strip()
            if label in STATE_NAMES:
                code = code or label
            bare = bare[: paren.start()]
            continue
        dash = _TRAILING_CODE.search(bare)
        if dash and dash.start() > 0 and dash.group(1) in STATE_NAMES:
            code, bare = code or dash.group(1), bare[: dash.start()]
            continue
        break
    # A unit after " - " ("... Public Safety - Texas Highway Patrol", "CITY OF PERRIS CA - RCSD").
    return re.split(r"\s+-\s+", bare)[0].strip(), code


def heuristic_info(name: str) -> AgencyInfo | None:
    """Resolve a name from its shape alone, or None when nothing in it is recognizable."""
    if _PLACEHOLDER.match(name):
        return None
    federal_prefix = bool(_FEDERAL_PREFIX.match(name))
    bare = _unhyphenate(_FEDERAL_PREFIX.sub("", name).strip())
    main, labelled_code = _split_labels(bare)
    info = _shape_info(main, labelled_code, federal_prefix)
    if info is None and main != bare:
        info = _shape_info(bare, labelled_code, federal_prefix)  # the type may sit in a trailing part
    return info


def _shape_info(bare: str, labelled_code: str | None, federal_prefix: bool) -> AgencyInfo | None:
    """Read state, level and kind from one name part; federal names first, then the type words."""
    tokens = _tokens(bare)
    if not tokens:
        return None
    code, code_at = _state_code_in(tokens)
    code = code or labelled_code
    place_words = tokens[:code_at] if code_at is not None else tokens
    state = code or _state_named_in(" ".join(t for i, t in enumerate(tokens) if i != code_at))
    folded = fold(" ".join(t for i, t in enumerate(tokens) if i != code_at))

    if _COMPANY.search(folded) and not federal_prefix:
        return AgencyInfo(state, "private", "private", None, None, None, "heuristic", 0.8)
    federal = _federal_agency(bare, tokens)
    # "DHS" or "Homeland Security" alone is federal only when nothing says state (Indiana DHS).
    if federal is None and re.search(r"\b(homeland security|dhs)\b", folded) and state is None:
        if federal_prefix or "homeland security" in folded:
            federal = ("other federal", None)
    if federal is not None or federal_prefix:
        kind, component = federal or ("other federal", None)
        return AgencyInfo(code, "federal", kind, component, None, None, "heuristic", 0.85 if federal else 0.7)

    kind, level = None, None
    for pattern, pattern_kind, default_level in _KIND_PATTERNS:
        if pattern.search(folded):
            kind, level = pattern_kind, default_level
            break
    if kind is None and _PRIVATE.search(folded) and not _PUBLIC_BODY.search(folded):
        return AgencyInfo(state, "private", "private", None, None, None, "heuristic", 0.7)
    place = fold(" ".join(place_words))
    if kind == "dps":
        # "Texas DPS" is the state police; "Sunnyvale CA DPS" is a city's police and fire.
        # A leading code (`TX DPS`) is the state's own department.
        state_level = state is not None and (code_at == 0 or fold(STATE_NAMES[state]) == re.sub(
            r"\s*(department of public safety|public safety|dps).*$", "", place))
        kind, level = ("state police", "state") if state_level else ("police", "local")
    if kind is not None:
        starts_with_state = state is not None and folded.startswith(fold(STATE_NAMES[state]) + " ")
        if _TRIBAL.search(folded):
            level = "tribal"
        elif kind in ("police", "fire", "prosecutor", "corrections", "probation", "fusion center",
                      "task force", "school") and re.search(r"\b(county|parish)\b", place):
            level = "county"
        elif kind == "prosecutor" and "attorney general" in folded:
            level = "state"
        elif kind == "university":
            # "University of Florida", "Ohio State University" are public; a bare name may be private.
            public = starts_with_state or "state university" in folded or _state_named_in(bare) is not None
            level = "state" if public else "unknown"
        elif level is None or kind in ("corrections", "other"):
            level = "state" if starts_with_state or code_at == 0 else level  # `LA DOC` is Louisiana's
        level = level or "unknown"
    elif _TRIBAL.search(folded):
        kind, level = "unknown", "tribal"
    elif state is not None and folded.startswith(fold(STATE_NAMES[state]) + " ") and _STATE_BODY.search(folded):
        kind, level = "other", "state"
    if kind is None:
        if state is None:
            return None
        return AgencyInfo(state, "unknown", "unknown", None, None, None, "heuristic", 0.4)
    confidence = 0.9 if code else 0.8 if state else 0.6
    return AgencyInfo(state, level, kind, None, None, None, "heuristic", confidence)


# --- 287(g) matching --------------------------------------------------------------------------------

# Type suffixes at the end of a folded name, mapped to one key type, so ICE's "Autauga County
# Sheriff's Office" and Flock's "Autauga County AL SO" meet at ("AL", "autauga", "SO").
_SUFFIXES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b(sheriffs? (office|department|dept)|sheriff office|sheriff|so|(?<=county )sd)$"), "SO"),
    (re.compile(r"\b(police (department|dept|departement|services department|services)|police|pd)$"), "PD"),
    (re.compile(r"\b(department of public safety|public safety department|public safety|dps)$"), "DPS"),
    (re.compile(r"\b(state highway patrol|highway patrol|state patrol|state police|state troopers)$"), "HP"),
    (re.compile(r"\b(fire department|fire dept|fire rescue|fire|fd)$"), "FD"),
    (re.compile(r"\b(district attorneys office|district attorney|das office|da)$"), "DA"),
    # ICE writes `Department of Corrections` and `Department of Correction`; Flock `DOC`.
    (re.compile(r"\b(department of corrections?|corrections? department|corrections?|doc)$"), "DOC"),
    (re.compile(r"\b(prosecutors? office|prosecuting attorneys? office|prosecutor|prosector)$"), "DA"),
    (re.compile(r"\b(marshals office|marshal)$"), "MARSHAL"),
]
_PLACE_ABBREVIATIONS = {"st": "saint", "ft": "fort", "mt": "mount", "twp": "township", "co": "county"}


def agency_key(name: str, state: str | None) -> tuple[str, str, str] | None:
    """The (state, place, type) key that ICE's and a vendor's spellings of one agency share."""
    if not state:
        return None
    segment, _ = _split_labels(_unhyphenate(_FEDERAL_PREFIX.sub("", name).strip()))
    # ICE appends units after a dash or comma ("Texas Department of Public Safety- Criminal Investigations").
    segment = re.split(r"\s+-\s*|\s*-\s+|,", segment)[0]
    words = fold(segment).split()
    code = state.lower()
    for i in range(len(words) - 1, 0, -1):  # drop the Flock state token, never the first word
        if words[i] == code:
            del words[i]
            break
    text = " ".join(words)
    for pattern, key_type in _SUFFIXES:
        match = pattern.search(text)
        if match:
            place = text[: match.start()].strip()
            break
    else:
        return None
    place = re.sub(r"^(the |city of |town of |village of )", "", place)
    place = " ".join(_PLACE_ABBREVIATIONS.get(w, w) for w in place.split())
    if key_type == "SO":
        place = re.sub(r"\s+(county|parish)$", "", place)  # Flock writes "Lowndes County GA SO" or "Lowndes GA SO"
    if key_type in ("HP", "DPS", "DOC"):
        place = re.sub(r"\s+state$", "", place)  # "Missouri State Highway Patrol" = "Missouri Highway Patrol"
    return (state, place, key_type) if place else None


def _state_code(value: str) -> str | None:
    """A state column value (`TX`, `Texas`, `NORTHERN MARIANA ISLANDS`) as a postal code."""
    text = " ".join(value.split()).upper()
    if text in STATE_NAMES:
        return text
    return _STATE_BY_NAME.get(text)


def _read_csv(path: Path, what: str, required: Iterable[str], allowed: Iterable[str]) -> list[dict[str, str]]:
    """Read a user's CSV as dicts with stripped keys and values, or raise InputError naming the file."""
    p = Path(path)
    require_regular(p, f"{what} CSV")
    try:
        with open(p, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            header = [h.strip().lower() for h in (reader.fieldnames or [])]
            if not header:
                raise InputError(f"{p}: empty {what} file (expected a header: {', '.join(allowed)})")
            missing = [c for c in required if c not in header]
            if missing:
                raise InputError(f"{p}: {what} file has no column `{missing[0]}` (header: {', '.join(header)})")
            extra = [h for h in header if h and h not in allowed]
            if extra:
                raise InputError(f"{p}: {what} file has unknown column `{extra[0]}` (expected {', '.join(allowed)})")
            reader.fieldnames = header
            rows = []
            for row in reader:
                if None in row:
                    raise InputError(f"{p}: line {reader.line_num}: more cells than header columns")
                rows.append({k: (v or "").strip() for k, v in row.items()})
            return rows
    except FileNotFoundError:
        raise InputError(f"{p}: no such {what} file") from None
    except UnicodeDecodeError:
        raise InputError(f"{p}: {what} file is not UTF-8 text") from None
    except csv.Error as e:
        raise InputError(f"{p}: malformed {what} CSV: {e}") from None
    except OSError as e:
        raise InputError(f"{p}: cannot read {what} file: {e.strerror}") from None


@dataclass
class Ice287gList:
    """ICE's 287(g) list indexed by (state, place, type) key and by folded full name."""

    by_key: dict[tuple[str, str, str], str] = field(default_factory=dict)
    by_name: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # folded name -> (state, support)
    entries: int = 0
    spellings: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # key -> ICE's names
    rows: list[tuple[str, str, str]] = field(default_factory=list)  # (state, ICE's name, support)


def load_287g(path: Path) -> Ice287gList:
    """Read ICE's 287(g) list (`state,agency,support_types`); bad files raise InputError."""
    rows = _read_csv(path, "287(g)", ("state", "agency"), ("state", "agency", "support_types"))
    listing = Ice287gList()
    for number, row in enumerate(rows, start=2):
        if not row["agency"] and not row["state"]:
            continue  # padding
        state = _state_code(row["state"])
        if state is None or not row["agency"]:
            raise InputError(f"{path}: line {number}: cannot read state {row['state']!r} / agency {row['agency']!r}")
        support = "; ".join(s.strip() for s in row.get("support_types", "").split(";") if s.strip())
        listing.entries += 1
        key = agency_key(row["agency"], state)
        if key is not None:
            # One agency can appear twice (jail and sheriff rows): merge its support types.
            listing.by_key[key] = _merge_support(listing.by_key.get(key, ""), support)
            listing.spellings.setdefault(key, []).append(row["agency"])
        listing.by_name.setdefault(state_agency_name(row["agency"], state), []).append((state, support))
        listing.rows.append((state, row["agency"], support))
    return listing


# Words that say what kind of body an agency is rather than which one: left out when comparing names.
_GENERIC_WORDS = {
    "county", "city", "of", "the", "and", "police", "department", "dept", "sheriff", "sheriffs", "office", "so",
    "pd", "sd", "state", "division", "commission", "bureau", "services", "service", "town", "village", "da",
}


def _core_words(name: str, state: str) -> list[str]:
    """The distinctive words of a name: folded, without its state code, name and generic words."""
    words = fold(_unhyphenate(_FEDERAL_PREFIX.sub("", name))).split()
    state_words = set(fold(STATE_NAMES.get(state, "")).split()) | {state.lower()}
    return [w for w in words if w not in _GENERIC_WORDS and w not in state_words]


# Abbreviations of state agencies as vendors write them, spelled out as ICE's list does.
_STATE_AGENCY_WORDS = {
    "dci": "division of criminal investigation", "fwc": "fish and wildlife conservation commission",
    "dps": "department of public safety", "doc": "department of corrections", "dept": "department",
    "bci": "bureau of criminal investigation", "dle": "department of law enforcement",
}


def state_agency_name(name: str, state: str | None) -> str:
    """A state agency's name folded for matching ICE's spelling: `IA DCI` and `Iowa Division of
    Criminal Investigation` both read `iowa division of criminal investigation`."""
    words = fold(name).split()
    if state and words and words[0] == state.lower() and state in STATE_NAMES:
        words = fold(STATE_NAMES[state]).split() + words[1:]
    words = [w for w in " ".join(_STATE_AGENCY_WORDS.get(w, w) for w in words).split() if w != "the"]
    return " ".join(words)


def _merge_support(a: str, b: str) -> str:
    parts = [s for s in (a.split("; ") + b.split("; ")) if s]
    return "; ".join(sorted(set(parts)))


# --- registry and overrides -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Entry:
    name: str
    state: str | None
    level: str | None
    kind: str | None
    dhs_component: str | None


def _validated(path: Path | str, line: int, row: dict[str, str]) -> _Entry:
    """One registry or override row, each value checked against the vocabulary."""
    state = row.get("state") or None
    if state is not None:
        state = _state_code(state)
        if state is None:
            raise InputError(f"{path}: line {line}: unknown state {row['state']!r}")
    level = row.get("level") or None
    if level is not None and level not in LEVELS:
        raise InputError(f"{path}: line {line}: unknown level {level!r} (one of {', '.join(LEVELS)})")
    kind = row.get("kind") or None
    if kind is not None:
        if fold_kind(kind) is None:
            raise InputError(f"{path}: line {line}: unknown kind {kind!r} (one of {', '.join(KINDS)})")
        kind = fold_kind(kind)
    component = (row.get("dhs_component") or "").upper() or None
    if component is not None and component not in DHS_IMMIGRATION:
        raise InputError(f"{path}: line {line}: unknown dhs_component {component!r} (one of {', '.join(DHS_IMMIGRATION)})")
    return _Entry(row.get("name", ""), state, level, kind, component)


def _load_registry() -> dict[str, _Entry]:
    source = resources.files("auditor").joinpath("data/agency_registry.csv")
    with source.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    registry = {fold(row["name"]): _validated("agency_registry.csv", n, row) for n, row in enumerate(rows, start=2)}
    # The state-level requesters' full names (`Commonwealth Fusion Center`), so they resolve when a
    # log spells them out. Their acronyms mean different agencies in different states and are read
    # in a search's context by auditor/state_requesters.py, never here.
    for n, agency in enumerate(default_registry().agencies, start=1):
        entry = _validated("state_requesters.toml", n, {"name": agency.name, "state": agency.state or "",
                                                         "level": "state", "kind": agency.kind})
        registry.setdefault(fold(entry.name), entry)
    return registry


def load_overrides(path: Path) -> dict[str, _Entry]:
    """Read a user's override CSV (`name,state,level,kind,dhs_component`, blanks keep the resolved value)."""
    columns = ("name", "state", "level", "kind", "dhs_component")
    rows = _read_csv(path, "override", ("name",), columns)
    overrides = {}
    for number, row in enumerate(rows, start=2):
        if not row["name"]:
            if any(row.values()):
                raise InputError(f"{path}: line {number}: override without a name")
            continue
        overrides[fold(row["name"])] = _validated(path, number, row)
    return overrides


# --- the resolver ------------------------------------------------------------------------------------

class Resolver:
    """Resolves org names; build once (it reads its files), then call :meth:`resolve` per name."""

    def __init__(self, *, ice_287g: Path | None = None, overrides: Path | None = None) -> None:
        self._registry = _load_registry()
        self._ice = load_287g(Path(ice_287g)) if ice_287g is not None else None
        self._overrides = load_overrides(Path(overrides)) if overrides is not None else {}
        self._cache: dict[str, AgencyInfo] = {}

    @property
    def checks_287g(self) -> bool:
        """Whether a 287(g) list was given (without one, `is_287g` stays None: not checked)."""
        return self._ice is not None

    def overrides(self, name: str) -> bool:
        """Whether the user's override file names this agency."""
        return fold(name) in self._overrides or fold(_FEDERAL_PREFIX.sub("", name)) in self._overrides

    def resolve(self, name: str) -> AgencyInfo:
        """Resolve one org name through registry, heuristics, the 287(g) list and overrides, in that order."""
        if name not in self._cache:
            self._cache[name] = self._resolve(name)
        return self._cache[name]

    def _resolve(self, name: str) -> AgencyInfo:
        entry = None if _PLACEHOLDER.match(name) else self._registry_entry(name)
        info = _from_entry(entry, "registry", 0.95) if entry else heuristic_info(name) or UNKNOWN
        override = self._overrides.get(fold(name)) or self._overrides.get(fold(_FEDERAL_PREFIX.sub("", name)))
        if override is not None:
            info = AgencyInfo(
                override.state or info.state,
                override.level or info.level,
                override.kind or info.kind,
                override.dhs_component or info.dhs_component,
                None, None, "override", 1.0,
            )
        return self._with_287g(name, info)

    def _registry_entry(self, name: str) -> _Entry | None:
        federal_prefix = bool(_FEDERAL_PREFIX.match(name))
        words = fold(_FEDERAL_PREFIX.sub("", name)).split()
        # Vendor names append an office ("HSI Houston", "Indiana State Police Post 12"): take the
        # longest registry name that is a whole-word prefix. One-word federal entries ("ICE", "DHS")
        # only as the whole name or under the [Federal] prefix: "DHS Child Welfare" is not Homeland
        # Security. One-word state entries are specific acronyms ("LASD CA - SAN DIMAS STATION").
        for size in range(len(words), 0, -1):
            entry = self._registry.get(" ".join(words[:size]))
            if entry is None:
                continue
            if size == 1 and len(words) > 1 and entry.level == "federal" and not federal_prefix:
                continue
            return entry
        return None

    def registry_entry(self, name: str) -> _Entry | None:
        """The shipped registry's entry for a name (longest whole-word prefix), or None."""
        return None if _PLACEHOLDER.match(name) else self._registry_entry(name)

    def registry_of_kind(self, kind: str, state: str) -> list[str]:
        """Registry names of one kind in one state (`fusion center`, `IL`), full names first."""
        names = [e.name for e in self._registry.values() if e.kind == kind and e.state == state]
        return sorted(names, key=lambda n: (-len(n), n))

    def match_287g(self, name: str, state: str | None) -> str | None:
        """ICE's support types when the agency is on the 287(g) list, else None."""
        found = self.match_287g_detail(name, state)
        return found[0] if found else None

    def match_287g_detail(self, name: str, state: str | None) -> tuple[str, str, str] | None:
        """(support types, ICE's spelling, how: key or name) when the agency is on the list."""
        if self._ice is None:
            return None
        key = agency_key(name, state)
        if key is not None and key in self._ice.by_key:
            return self._ice.by_key[key], " / ".join(self._ice.spellings[key]), "key"
        # Names without a type suffix ("Indiana Department of Homeland Security") match as spelled.
        spelled = state_agency_name(_split_labels(_FEDERAL_PREFIX.sub("", name).strip())[0], state)
        supports = [support for listed_state, support in self._ice.by_name.get(spelled, []) if listed_state == state]
        if supports:
            ice_names = [n for s, n, _ in self._ice.rows if s == state and state_agency_name(n, state) == spelled]
            return "; ".join(supports), " / ".join(ice_names) or name, "name"
        return None

    def near_misses_287g(self, unmatched: Iterable[tuple[int, str, str]]) -> list[tuple[int, str, str, float]]:
        """ICE entries of the same state that resemble an unmatched agency's name but did not match.

        Returns (agency id, ICE's spelling, support, similarity) for similarity >= 0.8 on the folded
        names without state codes and type words, among entries sharing a distinctive word.
        """
        if self._ice is None:
            return []
        index: dict[tuple[str, str], list[int]] = {}
        cores, types = [], []
        for i, (state, ice_name, _support) in enumerate(self._ice.rows):
            core = _core_words(ice_name, state)
            key = agency_key(ice_name, state)
            types.append(key[2] if key else None)
            cores.append(" ".join(core))
            for word in core:
                index.setdefault((state, word), []).append(i)
        out = []
        for agency_id, name, state in unmatched:
            core = _core_words(name, state)
            text = " ".join(core)
            key = agency_key(name, state)
            own_type = key[2] if key else None
            seen: set[int] = set()
            for word in core:
                seen.update(index.get((state, word), []))
            best = None
            for i in seen:
                if own_type and types[i] and own_type != types[i]:
                    continue  # a city's police and the county's sheriff share a place name, not an identity
                ratio = difflib.SequenceMatcher(None, text, cores[i]).ratio()
                if ratio >= 0.8 and (best is None or ratio > best[1]):
                    best = (i, ratio)
            if best is not None:
                _, ice_name, support = self._ice.rows[best[0]]
                out.append((agency_id, ice_name, support, round(best[1], 2)))
        return out

    def _with_287g(self, name: str, info: AgencyInfo) -> AgencyInfo:
        if self._ice is None:
            return info
        if info.level == "federal":
            return replace(info, is_287g=0)  # 287(g) agreements are with state and local agencies
        # A registry hit ("Indiana State Police Post 12") is looked up under the registry's spelling.
        entry = self._registry_entry(name)
        support = self.match_287g(entry.name if entry else name, info.state)
        if support is not None:
            if info.kind == "unknown" and info.resolved_by == "heuristic":
                # Only the state was read from the name; ICE's list is what vouches for the agency.
                return replace(info, is_287g=1, support_287g=support, resolved_by="287g", confidence=0.6)
            return replace(info, is_287g=1, support_287g=support)
        if info.state is None:
            # No state, nothing to check: "Arcadia Police Department" is on the list for Florida, but
            # California has one too, so an ICE spelling alone never supplies the state.
            return info
        return replace(info, is_287g=0)


def _from_entry(entry: _Entry, method: str, confidence: float) -> AgencyInfo:
    return AgencyInfo(entry.state, entry.level or "unknown", entry.kind or "unknown", entry.dhs_component,
                      None, None, method, confidence)


def is_dhs_immigration(info_or_row: AgencyInfo | dict[str, Any] | Any) -> bool:
    """True for a DHS immigration component (ICE, ERO, HSI, CBP, USBP); a state DHS is not one."""
    if isinstance(info_or_row, dict):
        component, kind = info_or_row.get("dhs_component"), info_or_row.get("kind")
    else:
        component, kind = getattr(info_or_row, "dhs_component", None), getattr(info_or_row, "kind", None)
    return component in DHS_IMMIGRATION or kind in DHS_KINDS


# --- the store ----------------------------------------------------------------------------------------

@dataclass
class ResolveReport:
    """Outcome of resolving a store's agencies; counts are agencies (rows of `agencies`)."""

    resolved: int
    by_method: dict[str, int]
    unknown: list[str]  # names of the unresolved agencies (auditor.facts.is_unresolved)
    matched_287g: int
    near_misses_287g: int = 0


_REDO = (None, "unknown", "heuristic", "registry", "287g")


def resolve_store(db: sqlite_utils.Database, resolver: Resolver) -> ResolveReport:
    """Resolve every agency a name-based method may change; keep what the simulator or a user set.

    Rows resolved by ``scenario`` keep their attributes (the simulator knows its world) and rows
    resolved by ``override`` keep theirs unless this resolver's override file names them (so an
    edited file takes effect); both still get ``is_287g`` checked when a 287(g) list is given. An agency
    whose canonical name is unknown is tried under its other spellings from ``agency_names``.
    """
    aliases: dict[int, list[str]] = {}
    for agency_id, spelling in db.execute("SELECT agency_id, name FROM agency_names ORDER BY name"):
        aliases.setdefault(agency_id, []).append(spelling)
    full_updates, flag_updates = [], []
    rows = db.execute("SELECT id, name, state, level, resolved_by FROM agencies").fetchall()
    for agency_id, name, state, level, resolved_by in rows:
        redo = resolved_by in _REDO or (resolved_by == "override" and resolver.overrides(name))
        if redo:
            info = resolver.resolve(name)
            for spelling in aliases.get(agency_id, []):
                if info.resolved_by != "unknown":
                    break
                info = resolver.resolve(spelling)
            full_updates.append((info.state, info.level, info.kind, info.dhs_component, info.is_287g,
                                 info.support_287g, info.resolved_by, info.confidence, agency_id))
        elif resolver.checks_287g:
            support = resolver.match_287g(name, state)
            checked = state is not None or level == "federal"  # without a state there is nothing to check
            flag_updates.append((1 if support else 0 if checked else None, support, agency_id))
    with db.conn:
        db.conn.executemany(
            "UPDATE agencies SET state = ?, level = ?, kind = ?, dhs_component = ?, is_287g = ?, "
            "support_287g = ?, resolved_by = ?, confidence = ? WHERE id = ?",
            full_updates,
        )
        db.conn.executemany("UPDATE agencies SET is_287g = ?, support_287g = ? WHERE id = ?", flag_updates)
    near = _record_287g_matches(db, resolver) if resolver.checks_287g else 0
    by_method: Counter[str] = Counter()
    unknown, matched = [], 0
    total = 0
    for name, resolved_by, is_287g, level, state in db.execute(
            "SELECT name, resolved_by, is_287g, level, state FROM agencies ORDER BY name"):
        total += 1
        by_method[resolved_by or "unknown"] += 1
        if is_unresolved(level, state):
            unknown.append(name)
        matched += is_287g == 1
    return ResolveReport(
        resolved=total - len(unknown),
        by_method=dict(sorted(by_method.items())),
        unknown=unknown,
        matched_287g=matched,
        near_misses_287g=near,
    )


def unresolved_count(db: sqlite_utils.Database) -> int:
    """Unresolved agencies (auditor.facts.is_unresolved): the same count `audit run` lists and the report shows."""
    return db.execute(f"SELECT COUNT(*) FROM agencies WHERE {unresolved_sql()}").fetchone()[0]


def _record_287g_matches(db: sqlite_utils.Database, resolver: Resolver) -> int:
    """Write `agency_287g`: each match with ICE's spelling, and the near-misses; returns near-misses."""
    rows, unmatched = [], []
    for agency_id, name, state, level, is_287g in db.execute(
            "SELECT id, name, state, level, is_287g FROM agencies WHERE state IS NOT NULL"):
        if level == "federal":
            continue
        detail = resolver.match_287g_detail(name, state)
        if detail is None:
            for spelling, in db.execute("SELECT name FROM agency_names WHERE agency_id = ? AND name != ?", [agency_id, name]):
                detail = resolver.match_287g_detail(spelling, state)
                if detail:
                    break
        if detail is not None:
            rows.append((agency_id, detail[1], detail[0], detail[2], 1.0))
        elif is_287g != 1:
            unmatched.append((agency_id, name, state))
    near = resolver.near_misses_287g(unmatched)
    rows += [(agency_id, ice_name, support, "near_miss", ratio) for agency_id, ice_name, support, ratio in near]
    with db.conn:
        db.execute("DELETE FROM agency_287g")
        db.conn.executemany(
            "INSERT INTO agency_287g (agency_id, ice_name, support, how, similarity) VALUES (?, ?, ?, ?, ?)", rows)
    return len(near)
