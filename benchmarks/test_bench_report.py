"""The report at scale: written in seconds from what `audit run` stored, a bounded file.

    python -m pytest benchmarks/test_bench_report.py --benchmark-enable     # the session store (200k)
    python -m benchmarks.test_bench_report STORE.db --times 10               # a 10x copy of an audited store

The report reads the run's stored overview and queries only capped example rows, so its time and
size must not grow with the number of searches. The script form makes a store N times larger by
copying an audited store's searches, sightings, owners, beneficiaries and findings in SQL (far
faster than importing and scanning 10M rows on a small machine; it keeps only the indexes the
report and the run's last step read), stores the overview exactly as
`audit run` ends (``scan._summarize``, which is where that run spends its last seconds), then
times `write_report` in each format and prints the file sizes.
"""
from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

from auditor.report import write_report
from auditor.schema import open_store
from benchmarks.conftest import SEARCHES

# A report stays a few MB whatever the store: tables are capped (200 examples per rule, top 15
# bars, top 50 agencies) and say where the full data is.
MAX_REPORT_BYTES = 8_000_000


def test_report_html(benchmark, store, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    report = benchmark.pedantic(lambda: write_report(store, out, store="bench.db"), rounds=3, iterations=1)
    assert report.counts["searches"] == SEARCHES
    assert report.sections[0]["id"] == "headline" and out.stat().st_size < MAX_REPORT_BYTES


# What the report and the run's last step read; the copy drops the other indexes first (updating
# a dozen indexes per copied row would make the copy take longer than the import it stands for).
KEPT_INDEXES = {"idx_findings_rule_id", "idx_sightings_search_id", "idx_searches_reason_id",
                "idx_reason_tags_reason_id_tag", "idx_reason_tags_tag", "idx_search_owners_owner_id"}


def replicate(db, times: int) -> int:
    """Make the store ``times`` times larger by copying its searches and everything keyed by them."""
    for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").fetchall():
        if name not in KEPT_INDEXES:
            db.execute(f"DROP INDEX {name}")
    n = db.execute("SELECT MAX(id) FROM searches").fetchone()[0]
    rows = db.execute("SELECT MAX(row_number) FROM sightings").fetchone()[0] or 0
    cols = [r[1] for r in db.execute("PRAGMA table_info(searches)") if r[1] not in ("id", "uuid")]
    listed = ", ".join(cols)
    for k in range(1, times):
        off = k * n
        db.execute(f"INSERT INTO searches (id, uuid, {listed}) SELECT id + {off}, uuid || '-{k}', {listed} "
                   f"FROM searches WHERE id <= {n}")
        db.execute(f"INSERT INTO search_owners SELECT search_id + {off}, owner_id FROM search_owners WHERE search_id <= {n}")
        db.execute(f"INSERT INTO sightings (search_id, release_id, row_number, link_basis) SELECT search_id + {off}, "
                   f"release_id, row_number + {k * rows}, link_basis FROM sightings WHERE search_id <= {n}")
        db.execute(f"INSERT INTO beneficiaries SELECT search_id + {off}, beneficiary_id, basis, evidence "
                   f"FROM beneficiaries WHERE search_id <= {n}")
        db.execute(f"INSERT INTO search_tags SELECT search_id + {off}, tag, evidence, confidence, basis "
                   f"FROM search_tags WHERE search_id <= {n}")
        db.execute(f"INSERT INTO findings (run_id, rule_id, severity, search_id, trace_id, agency_id, subject, detail, "
                   f"searches) SELECT run_id, rule_id, severity, search_id + {off}, trace_id, agency_id, subject, detail, "
                   f"searches FROM findings WHERE search_id <= {n}")
        db.conn.commit()
    db.execute("UPDATE releases SET rows_read = rows_read * ?, rows_imported = rows_imported * ?", [times, times])
    db.conn.commit()
    return n * times


def restore_summary(db) -> float:
    """Store the run summary and overview exactly as `audit run` ends; returns the seconds it took."""
    from auditor.scan import _summarize, stored_tag_sets

    run_id, summary = db.execute("SELECT id, summary FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    old = json.loads(summary)
    start = time.perf_counter()
    new = _summarize(db, run_id, old.get("unresolved_agencies", []), old.get("beneficiaries", {}),
                     stored_tag_sets(db), old.get("seconds", {}))
    took = time.perf_counter() - start
    db.execute("UPDATE runs SET summary = ? WHERE id = ?", [json.dumps(new.to_json()), run_id])
    db.conn.commit()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", type=Path, help="an audited store to copy")
    parser.add_argument("--times", type=int, default=10, help="how many times larger (default 10)")
    parser.add_argument("--out", type=Path, default=None, help="where to write the larger store")
    args = parser.parse_args()
    target = args.out or args.store.with_name(f"{args.store.stem}-x{args.times}.db")
    shutil.copyfile(args.store, target)
    db = open_store(target)
    start = time.perf_counter()
    searches = replicate(db, args.times)
    print(f"store: {searches:,} searches ({time.perf_counter() - start:.0f} s to copy)")
    print(f"overview stored by the run's last step (_summarize): {restore_summary(db):.1f} s")
    for fmt in ("html", "md", "json"):
        out = target.with_suffix(f".report.{fmt}")
        start = time.perf_counter()
        write_report(db, out, fmt, store=target.name)
        print(f"report {fmt}: {time.perf_counter() - start:.2f} s, {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
