"""What an adapter decides about a release before loading it."""
from __future__ import annotations

from dataclasses import dataclass, field

from auditor.importers.searches import Layout
from auditor.importers.statewide import StatewideMap


@dataclass
class Plan:
    """A release's format, who produced it, in what role, and where its fields sit.

    ``audit_kind`` is `network` (the producer owns the data every row searched), `organization`
    (the producer is the searcher; the release says nothing about whose data was searched),
    `sharing`, or `unknown` (the file does not say which).
    """

    format: str
    audit_kind: str
    producer: str | None
    layout: Layout | None = None
    notes: list[str] = field(default_factory=list)
    statewide: StatewideMap | None = None  # a statewide-database log (CLETS): system and query types
    serial_times: bool = False  # bare numbers in the time column are Excel serial days (a map says `excel`)
    date_order: str | None = None  # slash dates' order when the layout states it (a map's `flock` format)

    @property
    def owner(self) -> str | None:
        """The owner of every search in the release: only a Network Audit names one."""
        return self.producer if self.audit_kind == "network" else None

    @property
    def default_searcher(self) -> str | None:
        """Who ran a search whose row names no organization: the producer of an own-search log."""
        return self.producer if self.audit_kind == "organization" else None


def placeholder_producer(stem: str) -> str:
    """A visible stand-in name when the user did not say whose release this is."""
    return f"[producer of {stem}]"


def own_search_producer(stem: str, owner: str | None, producer: str | None, notes: list[str], what: str) -> str:
    """The agency of an own-search release that does not name it (a portal file, a reason sheet).

    The user's `--producer` (or `--owner`) wins; otherwise a visible placeholder, with a note saying so.
    """
    who = producer or owner
    if who is None:
        who = placeholder_producer(stem)
        notes.append(f"{what} does not name its agency: searcher recorded as {who!r} (give --producer NAME)")
    return who
