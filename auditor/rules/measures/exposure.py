"""Exposure measure (aggregate rule): owners whose sharing lets DHS immigration components reach their data.

The exposure table itself is :func:`auditor.exposure.exposure_table`.
"""
from __future__ import annotations

from typing import Any, Iterator, Mapping

import sqlite_utils

from auditor.exposure import exposure_table
from auditor.rules.measures.candidate import Candidate


def dhs_reach(db: sqlite_utils.Database, params: Mapping[str, Any]) -> Iterator[Candidate]:
    """Owners whose sharing settings let DHS immigration components search their data."""
    for e in exposure_table(db):
        if not e.dhs_components:
            continue
        components = ", ".join(e.dhs_components)
        yield Candidate(
            e.owner_id, f"sharing: {', '.join(e.scopes) or 'none'}", e.immigration_related,
            f"{e.could_reach:,} agencies could search its data, {e.out_of_state:,} out of state and "
            f"{len(e.dhs_components)} DHS immigration components ({components}); {e.searches_by_others:,} searches "
            f"by others, {e.immigration_related:,} immigration-related, {e.by_dhs:,} by DHS components themselves")
