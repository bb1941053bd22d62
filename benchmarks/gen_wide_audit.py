"""A second benchmark file shape, written without the project's simulator: a *wide* Network Audit.

    python -m benchmarks.gen_wide_audit ROWS FOLDER [--seed N]

One California owner (Sunnyvale CA PD, named by the file name as Flock names its exports), 3,000
searcher agencies in 45 states, about 20,000 distinct reasons, and a user, plate and case number
drawn from large pools. Nearly every search has a finding: most searchers are outside California
(SB 34 forbids sharing their ALPR data with them) and most reasons are vague. So the audit's
findings, examples per rule and distinct keys are many, unlike :mod:`simulator.bulk`'s file, where
searchers come from a few states.

Columns are built with numpy as indices into small pools of text and written by pyarrow's CSV
writer, so 10M rows take well under a minute and constant memory per batch. Deterministic for
(rows, seed). Nothing here is imported by proxytrace.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

OWNER_FILE = "1_1_2025-12_31_2025-Sunnyvale_CA_PD-Network-Audit.csv"
HEADER = ["ID", "Name", "Org Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason",
          "Case #", "Filters", "Search Time", "Search Type", "Text Prompt", "Moderation"]
YEAR_START = 1735689600  # 2025-01-01T00:00:00Z
YEAR_SECONDS = 365 * 86400
BATCH = 250_000
FLOCK_TIME = "%m/%d/%Y, %I:%M:%S %p UTC"

# 45 states (postal codes); California is one of them, so a few searchers are in the owner's state.
STATES = ("AL AZ AR CA CO CT DE FL GA ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND "
          "OH OK OR PA RI SC SD TN TX UT VA WA WI").split()
_TOWNS = ("Springfield Franklin Greenville Bristol Clinton Fairview Salem Madison Georgetown Arlington Ashland "
          "Dover Oxford Jackson Burlington Manchester Milton Newport Auburn Dayton Lexington Milford Riverside "
          "Centerville Winchester Marion Mount_Vernon Hudson Kingston Clayton").split()
_VAGUE = ("investigation", "inv", "Investigation", "INVESTIGATION", "invest", "case", "Other - Not Applicable",
          "suspicious vehicle", "follow up", "f/u", "patrol", "wanted", "susp veh", "crime", "intel")
_SPECIFIC = ("stolen vehicle", "missing person", "homicide", "robbery suspect", "burglary", "narcotics",
             "warrant service", "hit and run", "amber alert", "carjacking", "shooting", "assault")
_IMMIGRATION = ("ICE", "ICE assist", "HSI request", "immigration", "ERO detainer", "287(g)", "CBP request")


def _pools(rng: np.random.Generator, reasons: int, agencies: int) -> dict[str, np.ndarray]:
    """Text pools: agencies in 45 states, reasons (vague, specific, immigration, with suffixes)."""
    kinds = ("PD", "SO", "PD", "PD", "County SO")
    orgs, states = [], []
    for i in range(agencies):
        state = STATES[i % len(STATES)] if i % 60 else "CA"  # every state, California ~1 in 60 plus its share
        town = _TOWNS[(i // len(STATES)) % len(_TOWNS)].replace("_", " ")
        orgs.append(f"{town} {i // (len(STATES) * len(_TOWNS)) + 1} {state} {kinds[i % len(kinds)]}")
        states.append(state)
    bases = list(_VAGUE) * 6 + list(_SPECIFIC) * 3 + list(_IMMIGRATION)
    texts, seen = [], set()
    i = 0
    while len(texts) < reasons:
        base = bases[i % len(bases)]
        n = i // len(bases)
        text = base if n == 0 else f"{base} {24 if n % 2 else 25}-{n:06d}" if n % 3 else f"{base} #{n}"
        if text not in seen:
            seen.add(text)
            texts.append(text)
        i += 1
    officers = [f"{first} {last}" for first in ("J", "M", "A", "R", "S", "T", "K", "L", "D", "C")
                for last in ("Smith", "Garcia", "Nguyen", "Johnson", "Lee", "Brown", "Davis", "Lopez", "Wilson",
                             "Moore", "Clark", "Lewis", "Young", "Hall", "Allen", "King", "Wright", "Hill",
                             "Green", "Adams")]
    officers = [f"{name} {k}" for k in range(25) for name in officers]  # 5,000 officers
    letters = np.array(list("ABCDEFGHJKLMNPRSTUVWXYZ"))
    plates = ["".join(map(str, rng.integers(1, 10, 1))) + "".join(rng.choice(letters, 3)) + f"{rng.integers(0, 1000):03d}"
              for _ in range(50_000)]
    return {"orgs": np.array(orgs, dtype=object), "states": states, "reasons": np.array(texts, dtype=object),
            "officers": np.array(officers, dtype=object), "plates": np.array(plates, dtype=object)}


def _zipf(rng: np.random.Generator, n: int, size: int, s: float) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1) ** s
    return rng.choice(n, size=size, p=weights / weights.sum())


def write_wide_audit(folder: str | Path, rows: int, seed: int = 0, *, reasons: int = 20_000,
                     agencies: int = 3_000) -> dict[str, Any]:
    """Write the wide Network Audit into ``folder``; return its path and counts."""
    rng = np.random.default_rng(seed)
    pools = _pools(rng, reasons, agencies)
    path = Path(folder) / OWNER_FILE
    dict_of = {name: pa.array(list(pools[name]), pa.string()) for name in ("orgs", "reasons", "officers", "plates")}
    types = pa.array(["search", "lookup", "freeform", "visual"])
    step = YEAR_SECONDS / rows
    used_orgs = np.zeros(agencies, dtype=bool)
    used_reasons = np.zeros(reasons, dtype=bool)
    options = pcsv.WriteOptions(include_header=False, quoting_style="needed")
    with open(path, "wb") as fh:
        fh.write((",".join(HEADER) + "\n").encode())  # LF records (pyarrow writes LF), as some exports do
        for begin in range(0, rows, BATCH):
            n = min(BATCH, rows - begin)
            org = _zipf(rng, agencies, n, 0.6)
            reason = _zipf(rng, reasons, n, 0.9)
            used_orgs[org] = True
            used_reasons[reason] = True
            when = YEAR_START + (np.arange(begin, begin + n) * step).astype(np.int64)
            frame_days = rng.choice(np.array([1, 7, 7, 14, 30]), n)
            start = pa.array((when - frame_days * 86400).astype("datetime64[s]"))
            at = pa.array(when.astype("datetime64[s]"))
            at_text = pc.strftime(at, format=FLOCK_TIME)
            frame = pc.binary_join_element_wise(pc.strftime(start, format=FLOCK_TIME), at_text, "\n")
            uuid_bytes = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
            hexes = np.char.add(np.char.add(np.char.add(  # 8-4-4-4-12 hex groups
                _hex(uuid_bytes[:, :4]), "-"), np.char.add(_hex(uuid_bytes[:, 4:6]), "-")),
                np.char.add(np.char.add(_hex(uuid_bytes[:, 6:8]), "-"),
                            np.char.add(np.char.add(_hex(uuid_bytes[:, 8:10]), "-"), _hex(uuid_bytes[:, 10:]))))
            kind = rng.choice(4, n, p=[0.55, 0.35, 0.06, 0.04])
            has_plate = (kind < 2) & (rng.random(n) < 0.8)
            plate = pc.if_else(pa.array(has_plate), dict_of["plates"].take(pa.array(rng.integers(0, 50_000, n))), "")
            case = pc.if_else(pa.array(rng.random(n) < 0.35),
                              pc.cast(pa.array(rng.integers(10**6, 10**8, n)), pa.string()), "")
            table = pa.table({
                "ID": pa.array(hexes.tolist(), pa.string()),
                "Name": dict_of["officers"].take(pa.array((org * 7 + rng.integers(0, 12, n)) % 5000)),
                "Org Name": dict_of["orgs"].take(pa.array(org)),
                "Total Networks Searched": pc.cast(pa.array(np.minimum(6700, rng.lognormal(3, 2, n).astype(np.int64) + 1)),
                                                   pa.string()),
                "Time Frame": frame,
                "License Plate": plate,
                "Reason": dict_of["reasons"].take(pa.array(reason)),
                "Case #": case,
                "Filters": pa.array([""] * n),
                "Search Time": at_text,
                "Search Type": types.take(pa.array(kind)),
                "Text Prompt": pa.array([""] * n),
                "Moderation": pa.array([""] * n),
            })
            buf = pa.BufferOutputStream()
            pcsv.write_csv(table, buf, options)
            fh.write(buf.getvalue().to_pybytes())
    return {"path": str(path), "rows": rows, "distinct_reasons": int(used_reasons.sum()),
            "searcher_agencies": int(used_orgs.sum()),
            "searcher_states": len({pools["states"][i] for i in np.flatnonzero(used_orgs)})}


_HEX = np.array([f"{i:02x}" for i in range(256)])


def _hex(part: np.ndarray) -> np.ndarray:
    out = _HEX[part[:, 0]]
    for j in range(1, part.shape[1]):
        out = np.char.add(out, _HEX[part[:, j]])
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gen_wide_audit", description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", type=int)
    parser.add_argument("folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    Path(args.folder).mkdir(parents=True, exist_ok=True)
    print(json.dumps(write_wide_audit(args.folder, args.rows, args.seed)))


if __name__ == "__main__":
    main()
