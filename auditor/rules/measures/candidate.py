"""What an aggregate measure yields: one candidate finding about an agency (or an owner's sharing)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Candidate:
    agency_id: int | None
    subject: str
    searches: int  # de-duplicated searches behind the finding
    detail: str
