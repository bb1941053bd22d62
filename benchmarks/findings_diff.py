"""Findings per search under two checkouts of proxytrace, on every scenario and on the real releases.

    python -m benchmarks.findings_diff OLD_CHECKOUT NEW_CHECKOUT [--realdata ../shared/realdata]

Each checkout runs in its own interpreter (its folder first on PYTHONPATH, the same installed
libraries), simulates every scenario (seed 1; el_cajon at full scale, the others at ``--scale``) and imports each real release into a fresh store, audits it,
and dumps every finding as (input, search id or aggregate subject, rule). The two dumps are compared
input by input: the engine rewrite must change nothing a user reads.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

# (label, path under realdata, import options)
REAL = [
    ("okaloosa", "okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv", {}),
    ("eugene", "eugene_or_portal/EPDSearchAuditLogs.csv", {"producer": "Eugene OR PD"}),
    ("san_mateo_1", "san_mateo_ca/search_audit.f5f2e2bb.csv", {"producer": "San Mateo CA PD"}),
    ("san_mateo_2", "san_mateo_ca/search_audit.a871b2fc.csv", {"producer": "San Mateo CA PD"}),
    ("irvine", "irvine_ca/alpr-audits-irvine-police-department-181267_doc5.xlsx", {}),
]

_DUMP = r'''
import json, sys
from pathlib import Path
from auditor.schema import open_store
from auditor.scan import run_audit
label, kind, source, store, options = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], json.loads(sys.argv[5])
if kind == "sim":
    from simulator.generate import simulate
    from simulator.scenario import load_scenario
    simulate(load_scenario(source), Path(store), seed=1, scale=options.get("scale", 1.0))
    db = open_store(store)
else:
    from auditor.importers import ImportOptions, import_file
    db = open_store(store, create=True)
    import_file(db, Path(source), ImportOptions(**options))
run_audit(db)
per_search = sorted(db.execute(
    "SELECT search_id, rule_id FROM findings WHERE search_id IS NOT NULL GROUP BY 1, 2").fetchall())
aggregate = sorted(db.execute(
    "SELECT f.rule_id, a.name, f.subject, f.searches FROM findings f LEFT JOIN agencies a ON a.id = f.agency_id "
    "WHERE f.search_id IS NULL").fetchall(), key=repr)
print(json.dumps({"per_search": per_search, "aggregate": aggregate}))
'''


def dump(checkout: Path, label: str, kind: str, source: str, options: dict) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        out = subprocess.run([sys.executable, "-c", _DUMP, label, kind, source, str(Path(tmp) / "s.db"),
                              json.dumps(options)], env=env, cwd=tmp, capture_output=True, text=True)
        if out.returncode:
            raise SystemExit(f"{checkout} on {label}: {out.stderr.strip()[-600:]}")
        return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--scale", type=float, default=0.5, help="scale of the scenarios other than el_cajon (1.0)")
    parser.add_argument("--realdata", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "realdata")
    args = parser.parse_args()
    scenarios = sorted(p.stem for p in (Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))
    inputs = [(name, "sim", name, {"scale": 1.0 if name == "el_cajon" else args.scale}) for name in scenarios]
    inputs += [(label, "file", str(args.realdata / rel), opts) for label, rel, opts in REAL
               if (args.realdata / rel).exists()]
    same = True
    for label, kind, source, options in inputs:
        old, new = dump(args.old, label, kind, source, options), dump(args.new, label, kind, source, options)
        a, b = {tuple(x) for x in old["per_search"]}, {tuple(x) for x in new["per_search"]}
        agg_same = old["aggregate"] == new["aggregate"]
        searches = len({s for s, _ in a | b})
        print(f"{label:<12} per-search findings old {len(a):>7,} new {len(b):>7,} (on {searches:,} searches): "
              f"{'identical' if a == b else f'{len(a - b)} only old, {len(b - a)} only new'}; "
              f"aggregate findings {len(old['aggregate'])} / {len(new['aggregate'])}: "
              f"{'identical' if agg_same else 'DIFFER'}")
        same &= a == b and agg_same
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
