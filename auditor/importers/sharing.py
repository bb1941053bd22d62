"""Sharing lists: who shares camera networks with whom, into `shares`.

Two shapes are read:

* a Flock sharing list, `Organization Name, Networks Shared With Me, Networks I'm Sharing`, as the
  list's holder sees it (the holder is the producer: `--producer`, or the file name
  `..._Org_Name-Sharing-List.csv`): one row per OTHER organization; "Networks Shared With Me" names
  that organization's networks shared with the holder, "Networks I'm Sharing" names the holder's
  networks shared with that organization. Each network's owner is the agency the network is named
  after, so a share is (network's agency -> the other party), scope direct;
* a one-column list of organization names under a records-request item that says the direction
  (`... with which the Agency shares ALPR data` / `... from which the Agency receives ALPR data`),
  as in California SB 34 responses; the producer is the list's agency.

Network names carry suffixes (`Alachua FL PD (Flex)`, `... Raven`) that are not part of the agency's
name: the suffix is dropped for the agency and kept in `shares.network`.
"""
from __future__ import annotations

import re
from typing import Iterable

import sqlite_utils

from auditor.importers.headers import fold
from auditor.importers.cells import is_padding
from auditor.importers.searches import Account
from auditor.importers.source import CSV_ERROR, raw_record
from auditor.schema import ensure_agency

_SUFFIX = re.compile(r"\s*(?:\((?:flex)\)|\braven)\s*$", re.IGNORECASE)

SHARES_WITH = "shares_with"  # the producer owns the data; each listed agency is a grantee
RECEIVES_FROM = "receives_from"  # each listed agency owns the data; the producer is the grantee


def agency_of_network(network: str) -> str:
    """`ALACHUA FL PD (FLEX)` -> `ALACHUA FL PD`; `Ocala FL PD Raven` -> `Ocala FL PD`."""
    name = network.strip()
    while True:
        stripped = _SUFFIX.sub("", name)
        if stripped == name or not stripped:
            return name
        name = stripped


_HOLDER = re.compile(r"^(?P<name>.+?)[-_ ]Sharing(?:[-_ ]List)?(?:[-_ ].*)?$", re.IGNORECASE)


def holder_from_file_name(stem: str) -> str | None:
    """`El_Cajon_CA_PD-Sharing-List` -> `El Cajon CA PD`; None when the name does not say."""
    m = _HOLDER.match(stem)
    return " ".join(m.group("name").replace("_", " ").split()) if m else None


def request_direction(description: str) -> str | None:
    """The direction a records-request item describes, or None when it is not about ALPR data sharing."""
    text = description.lower()
    if "hot list" in text or "hotlist" in text:
        return None  # hot-list exchange is not access to camera data
    if "alpr data" not in text:
        return None
    if "receives" in text or "from which" in text:
        return RECEIVES_FROM
    if "shares" in text or "with which" in text:
        return SHARES_WITH
    return None


def load(
    db: sqlite_utils.Database,
    release_id: int,
    header: list[str],
    records: Iterable[list[str]],
    first_row: int,
    agencies: dict[str, int],
    *,
    producer: str | None = None,
    direction: str | None = None,
) -> Account:
    """Write one share per (owner, grantee, network) named by the list; account for every row."""
    folded = [fold(h) for h in header]
    col = {name: folded.index(name) for name in folded if name}
    org = col.get("organization name", 0)
    with_me = col.get("networks shared with me")
    sharing = col.get("networks i'm sharing", col.get("networks i’m sharing"))
    account = Account()
    shares: list[tuple] = []
    rejects: list[tuple] = []
    producer_id = ensure_agency(db, producer, agencies) if producer else None
    for number, rec in enumerate(records, start=first_row):
        account.read += 1
        if rec and rec[0] is CSV_ERROR:
            rejects.append((release_id, number, rec[2] if len(rec) > 2 else "", f"unreadable CSV record: {rec[1]}"))
            continue
        cell = lambda i: rec[i] if i is not None and i < len(rec) else ""  # noqa: E731
        if is_padding(rec):
            account.add_padding(number)
            continue
        name = " ".join(cell(org).split())
        if not name:
            rejects.append((release_id, number, raw_record(rec), "no Organization Name"))
            continue
        agency = ensure_agency(db, name, agencies)
        if direction is not None and producer_id is not None:
            pair = (producer_id, agency) if direction == SHARES_WITH else (agency, producer_id)
            shares.append((pair[0], pair[1], name, release_id))
        else:
            # "I'm sharing": the holder's network, granted to this row's organization.
            for network in _split(cell(sharing)):
                owner = ensure_agency(db, agency_of_network(network), agencies)
                if owner != agency:
                    shares.append((owner, agency, network, release_id))
            # "Shared with me": this organization's network, granted to the holder.
            if producer_id is not None:
                for network in _split(cell(with_me)):
                    owner = ensure_agency(db, agency_of_network(network), agencies)
                    if owner != producer_id:
                        shares.append((owner, producer_id, network, release_id))
        account.imported += 1
    db.conn.executemany(
        "INSERT INTO shares (owner_id, grantee_id, scope, network, source, release_id) "
        "VALUES (?, ?, 'direct', ?, 'release', ?)",
        shares,
    )
    db.conn.executemany("INSERT INTO rejects (release_id, row_number, raw, why) VALUES (?, ?, ?, ?)", rejects)
    account.rejected = len(rejects)
    account.shares = len(shares)
    return account


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(",") if part.strip()]
