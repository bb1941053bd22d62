"""The agency vocabulary: levels, kinds, DHS components and resolution methods, defined once.

The schema, the resolver, the graph, the beneficiary inference, the scorer and the simulator's
scenario loader all read these names from here, so a kind added for one stage is known to all.
"""
from __future__ import annotations

# Levels of government an agency belongs to (`agencies.level`).
LEVELS = ("local", "county", "state", "federal", "tribal", "private", "unknown")

# Kinds of agency (`agencies.kind`). Prosecutors, corrections and "other" cover public bodies that
# are not police (a Department of Human Services is "other").
KINDS = (
    "police", "sheriff", "state police", "fusion center", "task force", "probation", "fire", "school",
    "university", "prosecutor", "corrections", "ICE", "HSI", "CBP", "USBP", "other federal", "private",
    "other", "unknown",
)

# Kinds the simulator generates for `[[groups]]` (a name suffix exists for each).
GENERATED_KINDS = ("police", "sheriff", "state police", "task force", "probation", "fusion center")

# DHS immigration components (`agencies.dhs_component`); a state's DHS (Human Services) is none.
DHS_COMPONENTS = ("ICE", "ERO", "HSI", "CBP", "USBP")
# The kinds those components carry.
DHS_KINDS = ("ICE", "HSI", "CBP", "USBP")
# Components whose involvement makes a search immigration-related even with a vague reason. HSI is
# left out on purpose: it works criminal cases too (trafficking, narcotics), so it marks a
# beneficiary only.
IMMIGRATION_ENFORCERS = ("ICE", "ERO", "CBP", "USBP")

# The agency row each component named in a reason points at, and its kind.
COMPONENT_AGENCIES = {
    "ICE": "U.S. Immigration and Customs Enforcement (ICE)",
    "ERO": "ICE Enforcement and Removal Operations (ERO)",
    "HSI": "Homeland Security Investigations (HSI)",
    "CBP": "U.S. Customs and Border Protection (CBP)",
    "USBP": "U.S. Border Patrol (USBP)",
}
COMPONENT_KIND = {"ICE": "ICE", "ERO": "ICE", "HSI": "HSI", "CBP": "CBP", "USBP": "USBP"}

# How an agency's attributes were found (`agencies.resolved_by`).
RESOLUTION_METHODS = ("scenario", "registry", "heuristic", "287g", "override", "unknown")


def fold_kind(kind: str) -> str | None:
    """A kind as the vocabulary spells it (`Fusion Center` -> `fusion center`), None if unknown."""
    return {k.lower(): k for k in KINDS}.get(kind.strip().lower())


# US states and territories by postal code: how agency names, acronyms and laws name a state.
STATE_NAMES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "FL": "Florida", "GA": "Georgia",
    "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois", "IN": "Indiana", "IA": "Iowa", "KS": "Kansas",
    "KY": "Kentucky", "LA": "Louisiana", "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts",
    "MI": "Michigan", "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey", "NM": "New Mexico",
    "NY": "New York", "NC": "North Carolina", "ND": "North Dakota", "OH": "Ohio", "OK": "Oklahoma",
    "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island", "SC": "South Carolina",
    "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas", "UT": "Utah", "VT": "Vermont",
    "VA": "Virginia", "WA": "Washington", "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "DC": "District of Columbia", "PR": "Puerto Rico", "GU": "Guam", "VI": "Virgin Islands",
    "MP": "Northern Mariana Islands", "AS": "American Samoa",
}
