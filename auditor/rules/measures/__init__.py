"""Aggregate measures behind aggregate rules: patterns that only show across many searches.

An aggregate rule file names its measure by key in :data:`MEASURES`; each measure is a function
``(db, params) -> Iterator[Candidate]`` imported here by name, so the registry is the list below.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

import sqlite_utils

from auditor.rules.measures import accountability, exposure, releases, searches
from auditor.rules.measures.candidate import Candidate

Measure = Callable[[sqlite_utils.Database, Mapping[str, Any]], Iterator[Candidate]]

MEASURES: dict[str, Measure] = {
    # one agency's or officer's searches
    "vague_rate_by_user": searches.vague_rate_by_user,
    "vague_rate_by_agency": searches.vague_rate_by_agency,
    "repeat_plate_no_case": searches.repeat_plate_no_case,
    "dhs_direct_share": searches.dhs_direct_share,
    # accountability (auditor.disclosure)
    "record_gaps": accountability.record_gap_measure,
    "repeat_target_officers": accountability.repeat_target_officers,
    "misuse_underreported": accountability.misuse_underreported,
    "disclosure_missing": accountability.disclosure_missing,
    # exposure (auditor.exposure)
    "dhs_reach": exposure.dhs_reach,
    # the releases themselves
    "release_incomplete": releases.release_incomplete,
    "release_period_mismatch": releases.release_period_mismatch,
    "own_log_omissions": releases.own_log_omissions,
    "release_versions_differ": releases.release_versions_differ,
    "sharing_list_unlisted_access": releases.sharing_list_unlisted_access,
    "sharing_list_partners_unseen": releases.sharing_list_partners_unseen,
}

__all__ = ["Candidate", "MEASURES", "Measure"]
