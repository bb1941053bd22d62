"""Write a synthetic Flock Network Audit CSV (classic 13 columns, CRLF records, one-cell Time Frame).

    python benchmarks/gen_network_audit.py ROWS OUT.csv

Deterministic for a row count; ~1,200 searcher orgs and ~20,000 distinct reasons, as in real logs.
"""
from __future__ import annotations

import csv
import random
import sys
import uuid
from datetime import datetime, timedelta, timezone

HEADER = ["ID", "Name", "Org Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason",
          "Case #", "Filters", "Search Time", "Search Type", "Text Prompt", "Moderation"]


def flock(t: datetime) -> str:
    return t.strftime("%m/%d/%Y, %I:%M:%S %p UTC")


def main(rows: int, out: str) -> None:
    rng = random.Random(rows)
    orgs = [f"Town{i} {rng.choice(['TX', 'VA', 'FL', 'CA', 'GA'])} PD" for i in range(1200)]
    reasons = ["investigation", "ICE", "stolen vehicle", "Other - Not Applicable"] + [f"case {i} inv" for i in range(20000)]
    start = datetime(2025, 6, 1, tzinfo=timezone.utc)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(HEADER)
        for i in range(rows):
            t = start + timedelta(seconds=i * 2 + rng.randrange(2))
            frame = f"{flock(t - timedelta(days=7))}\n{flock(t)}"
            w.writerow([str(uuid.UUID(int=rng.getrandbits(128))), "", rng.choice(orgs), f"{rng.randrange(1, 7000)}.0",
                        frame, "", rng.choice(reasons), f"{rng.randrange(10**7, 10**8)}.0", "", flock(t),
                        rng.choice(["search", "lookup", "freeform"]), "", ""])


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
