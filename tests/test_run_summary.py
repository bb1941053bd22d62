"""`audit run`'s printed summary: its counts say what they count, and its table stays aligned."""
from __future__ import annotations

from auditor.cli.run import format_summary
from auditor.scan import run_audit
from conftest import build_store

SHEET = "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit"


def test_an_aggregate_rule_over_two_searches_never_claims_more_than_two(tmp_path):
    """Two releases list the same two searches, each with two completeness checks: four findings of
    `release.incomplete`, each covering both searches; the store holds two searches, not eight."""
    checks = [{"kind": "row_cap", "detail": "1,048,575 rows: a spreadsheet's last row"},
              {"kind": "truncated", "detail": "the last row ends inside a quoted field"}]
    db = build_store(
        tmp_path / "s.db",
        agencies=[{"name": "El Cajon CA PD", "state": "CA", "level": "local", "kind": "police"}],
        releases=[{"file_name": f"{SHEET}-{n}.csv", "producer": "El Cajon CA PD", "rows_read": 2, "checks": checks}
                  for n in (1, 2)],
        searches=[{"searcher": "El Cajon CA PD", "owners": ["El Cajon CA PD"], "reason": reason,
                   "seen_in": [f"{SHEET}-1.csv", f"{SHEET}-2.csv"]} for reason in ("stolen vehicle", "warrant")],
    )
    summary = run_audit(db)
    assert summary.searches == 2 and summary.findings_by_rule["release.incomplete"]["findings"] == 4
    text = format_summary(summary)
    [row] = [line for line in text.splitlines() if line.startswith("release.incomplete ")]
    assert row.split()[2:4] == ["4", "<=2"], row
    assert "<=N: at most N" in text
    header = next(line for line in text.splitlines() if line.startswith("rule "))
    # Every rule id (some longer than 26 characters) ends before the severity column starts.
    rows = [line for line in text.splitlines() if line.split(" ", 1)[0] in summary.findings_by_rule]
    assert len(rows) == len(summary.findings_by_rule) > 0
    assert max(map(len, summary.findings_by_rule)) > 26
    assert {line.index(" " + line.split()[1] + " ") for line in rows} == {header.index(" severity")}
