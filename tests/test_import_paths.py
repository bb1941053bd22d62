"""The columnar fast path and the per-row careful path give the same store, release by release.

Each file is imported twice into fresh stores, once with ``careful=True``; the stores are compared
by natural keys (agency names, reason texts, file names), since the order in which new names
get ids may differ where a doubted row introduces one. Search ids, sightings, owners, rejects and
row accounts must be identical.
"""
from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FLOCK_HEADER, REALDATA, write_flock_csv

from auditor.importers import ImportOptions, columnar, import_file, keys
from auditor.schema import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "releases"
ONE = "aaaaaaaa-0000-4000-8000-000000000001"


def dump(db) -> dict:
    """The store's import results by natural keys.

    The fallback key hashes the store's own agency and reason ids, whose order may differ: what
    must hold is that each search's key is the hash of its own fields.
    """
    db.conn.create_function("fallback_hash", 6, keys.fallback_hash, deterministic=True)
    q = lambda sql: db.execute(sql).fetchall()  # noqa: E731
    return {
        "searches": q("""SELECT s.id, s.uuid, s.time, a.name, s.user, r.text, s.case_number, s.plate, s.search_type,
                         s.networks, s.devices, s.time_frame_start, s.time_frame_end, s.filters, s.text_prompt,
                         s.moderation, s.system, s.query_type, s.redacted,
                         s.dedup_key IS NOT NULL AND s.dedup_key = fallback_hash(s.searcher_id, s.time, s.networks,
                                                   s.time_frame_start, s.time_frame_end, s.reason_id)
                         FROM searches s LEFT JOIN agencies a ON a.id = s.searcher_id
                         LEFT JOIN reasons r ON r.id = s.reason_id ORDER BY s.id"""),
        "sightings": q("""SELECT si.search_id, rl.file_name, si.row_number, si.link_basis FROM sightings si
                          JOIN releases rl ON rl.id = si.release_id ORDER BY 1, 2, 3"""),
        "owners": q("""SELECT so.search_id, a.name FROM search_owners so JOIN agencies a ON a.id = so.owner_id
                       ORDER BY 1, 2"""),
        "rejects": q("""SELECT rl.file_name, rj.row_number, rj.raw, rj.why FROM rejects rj
                        JOIN releases rl ON rl.id = rj.release_id ORDER BY 1, 2"""),
        "releases": [(*r[:7], [n for n in (r[7] or "").split("; ") if not n.startswith("read by the")])
                     for r in q("SELECT file_name, format, rows_read, rows_imported, rows_rejected, rows_padding, "
                                "status, notes FROM releases ORDER BY id")],
        "agencies": sorted(q("SELECT name FROM agencies")),
        "agency_names": sorted(q("SELECT n.name, a.name FROM agency_names n JOIN agencies a ON a.id = n.agency_id")),
        "reasons": sorted(q("SELECT text FROM reasons")),
    }


def both_paths(tmp_path: Path, files: list[Path], options: dict | None = None) -> tuple[dict, dict, list]:
    stores = []
    for careful in (False, True):
        db = open_store(tmp_path / f"{'careful' if careful else 'fast'}.db", create=True)
        notes = []
        for f in files:
            for account in import_file(db, f, ImportOptions(careful=careful, fast=not careful, **(options or {}))):
                notes.extend(account.notes)
        stores.append((dump(db), notes))
    return stores[0][0], stores[1][0], stores[0][1]


def row(uuid: str = ONE, org: str = "Raleigh NC PD", second: int = 52, reason: str = "ICE", **cells: str) -> list[str]:
    when = f"12/08/2025, 05:28:{second:02d} PM UTC"
    r = [uuid, "Det. Jane Roe", org, "5738.0", "12/01/2025, 05:28:52 PM UTC\n" + when, "7ABC123", reason,
         "25013924.0", "", when, "search", "", ""]
    for name, value in cells.items():
        r[FLOCK_HEADER.index(name.replace("_", " "))] = value
    return r


def uid(i: int) -> str:
    return f"cccccccc-0000-4000-8000-{i:012d}"


@pytest.mark.parametrize("name", sorted(p.name for p in FIXTURES.glob("*.csv")))
def test_fixture_releases_give_the_same_store_on_both_paths(tmp_path, name):
    fast, careful, _ = both_paths(tmp_path, [FIXTURES / name], {"producer": "Test CA PD"} if "portal" in name else None)
    assert fast == careful


def test_quirky_cells_give_the_same_store_on_both_paths(tmp_path):
    rows = [
        row(uid(1), second=1),
        row(uid(2), second=2, Reason="  investigation "),             # reason kept verbatim
        row(uid(3), second=3, Name="\u00a0Det. Roe"),                  # Unicode space: careful path's
        row(uid(4), second=4, **{"License Plate": "REDACTED"}),         # marker: withheld
        row(uid(5), second=5, **{"Search Time": "12/08/2025, 05:28:05 pm UTC"}),  # lower-case pm
        row(uid(6), second=6, **{"Search Time": "2025-12-08 17:28:06"}),           # ISO time
        row(uid(7), second=7, **{"Search Time": "02/30/2025, 05:28:07 PM UTC"}),   # no such day: rejected
        row(uid(8), second=8, **{"Total Networks Searched": "lots"}),               # not a count: rejected
        row(uid(9), second=9, **{"Time Frame": ""}),                                 # no frame
        row(uid(10), second=10, **{"Time Frame": "***"}),                            # frame withheld
        row("", second=11),                                                           # no UUID
        row("(b)(6)", second=12),                                                     # UUID withheld
        row(uid(13), org="  Dallas   TX PD ", second=13),                            # spelling folded
        row(uid(14), org="", second=14),                                              # no org
        row(uid(1), second=1),                                                        # UUID repeated
        row(uid(16), second=16, **{"Case #": "(b)(7)(C)", "Search Type": "lookup", "Moderation": "***"}),
        row(uid(17), second=17, Reason="only in a rejected row", **{"Search Time": "soon"}),
        row(uid(18), second=18, **{"Total Networks Searched": "1,234"}),
        row(uid(19), org="Nowhere TX PD", second=19, **{"Search Time": ""}),         # no time: rejected
        ["", "", "", "", "", "", "", "", "", "", "", "", ""],                          # padding record
    ]
    f = write_flock_csv(tmp_path / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", rows)
    fast, careful, notes = both_paths(tmp_path, [f])
    assert fast == careful
    assert "read by the columnar fast path" in notes
    assert [r[:6] for r in fast["releases"]] == [(f.name, "flock_audit", 20, 15, 4, 1)]


def test_a_second_release_links_the_same_way_on_both_paths(tmp_path):
    first = write_flock_csv(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv",
                            [row(uid(i), second=i) for i in range(1, 6)] + [row("", second=30)])
    second = write_flock_csv(tmp_path / "x-Ukiah_CA_PD-Network-Audit.csv",
                             [row(uid(3), second=3), row(uid(40), second=40), row("", second=30), row("***", second=5)])
    third = write_flock_csv(tmp_path / "x-Chula_Vista_CA_PD-Network-Audit.csv",
                            [row(uid(i), second=i) for i in range(41, 45)])
    fast, careful, _ = both_paths(tmp_path, [first, second, third])
    assert fast == careful
    assert [b for *_, b in fast["sightings"]].count("uuid") == 1


def test_uuid_repeated_across_batches_of_a_fresh_load_on_both_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 600)  # about three records a batch
    from auditor.importers import searches

    monkeypatch.setattr(searches, "BATCH", 3)
    rows = [row(uid(i), second=i) for i in range(1, 12)] + [row(uid(2), second=2), row(uid(9), second=9)]
    f = write_flock_csv(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", rows)
    fast, careful, _ = both_paths(tmp_path, [f])
    assert fast == careful
    assert len(fast["searches"]) == 11


def test_a_structurally_irregular_file_falls_back_to_the_careful_path(tmp_path):
    f = tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv"
    write_flock_csv(f, [row(uid(1), second=1), row(uid(2), second=2)])
    with open(f, "a", newline="") as fh:
        fh.write("\r\n")  # a blank line: csv reads it as an empty record, pyarrow would drop it
        csv.writer(fh, lineterminator="\r\n").writerow(row(uid(3), second=3)[:9])  # a short row
    fast, careful, notes = both_paths(tmp_path, [f])
    assert fast == careful
    assert any(n.startswith("read by the careful path") for n in notes)


_cell = st.one_of(
    st.text(alphabet=list("aZ09 ,\"\n\r\t.-/:\u00a0\u200b\u00e9*()"), max_size=12),
    st.sampled_from(["(b)(6)", "***", " REDACTED ", "12/08/2025, 05:28:52 PM UTC", "12/08/2025, 5:28:52 PM UTC",
                     "12/08/2025, 05:28:52 PM UTC\n12/08/2025, 05:28:53 PM UTC", "7.0", "1,2", "-3", "\u0130CE"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.lists(st.tuples(st.integers(0, 12), _cell), max_size=12))
def test_random_cell_damage_gives_the_same_store_on_both_paths(tmp_path_factory, data):
    rows = [row(uid(i), second=i % 60) for i in range(8)]
    for i, (column, text) in enumerate(data):
        rows[i % len(rows)][column] = text
    folder = tmp_path_factory.mktemp("damage")
    f = write_flock_csv(folder / "x-El_Cajon_CA_PD-Network-Audit.csv", rows)
    fast, careful, _ = both_paths(folder, [f])
    assert fast == careful


REAL_CSVS = [
    ("okaloosa_fl_org_audit/11_1_2025-12_8_2025-Okaloosa_County_FL_SO-Audit_EXTRACTED.csv", {}),
    ("eugene_or_portal/EPDSearchAuditLogs.csv", {"producer": "Eugene OR PD"}),
    ("san_mateo_ca/search_audit.f5f2e2bb.csv", {"producer": "San Mateo CA PD"}),
    ("san_mateo_ca/search_audit.a871b2fc.csv", {"producer": "San Mateo CA PD"}),
]


@pytest.mark.realdata
@pytest.mark.parametrize("relative,options", REAL_CSVS)
def test_real_releases_give_the_same_store_on_both_paths(tmp_path, relative, options):
    path = REALDATA / relative
    if not path.exists():
        pytest.skip(f"real data not available: {path}")
    fast, careful, _ = both_paths(tmp_path, [path], options)
    assert fast == careful


def test_repeated_uuids_give_the_same_search_ids_however_the_batches_fall(tmp_path, monkeypatch):
    # The fast path's blocks are bytes, the careful path's batches records: their boundaries differ.
    monkeypatch.setattr(columnar, "BLOCK_BYTES", 700)
    rows = [row(uid(i), second=i) for i in range(1, 7)] + [row(uid(1), second=1), row(uid(8), second=8)]
    f = write_flock_csv(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", rows)
    fast, careful, _ = both_paths(tmp_path, [f])
    assert fast == careful
    assert [(s, b) for s, _, r, b in fast["sightings"] if r == 8] == [(1, "uuid")]


def test_a_count_beyond_64_bits_is_rejected_not_a_crash(tmp_path):
    rows = [row(uid(1), second=1), row(uid(2), second=2, **{"Total Networks Searched": "99999999999999999999"})]
    f = write_flock_csv(tmp_path / "x-El_Cajon_CA_PD-Network-Audit.csv", rows)
    fast, careful, _ = both_paths(tmp_path, [f])
    assert fast == careful
    assert [r[2:5] for r in fast["releases"]] == [(2, 1, 1)]
    assert "not a number" in fast["rejects"][0][3]


def test_every_date_form_gives_the_same_store_on_both_paths(tmp_path):
    forms = ["1/9/2025, 2:05:31 PM UTC", "01/09/2025, 02:05:32 PM UTC", "1/9/2025 14:05", "2025-01-09T14:05:34-06:00",
             "1/9/2025, 2:05:35 PM CST", "1/9/2025 14:05:36 America/Chicago", "13/01/2025, 2:05:37 PM UTC",
             "1/9/2025, 2:05:38 PM IST", "1" * 400, "1/9/2025, 2:05:39 pm utc"]
    rows = [row(uid(i), second=i, **{"Search Time": t}) for i, t in enumerate(forms, start=1)]
    rows.append(row(uid(20), second=20, **{"Time Frame": "1/2/2025, 2:05:31 PM UTC\n1/9/2025, 2:05:31 PM UTC"}))
    rows.append(["21"] + [""] * 12)  # a row that holds only its counter: padding on both paths
    f = write_flock_csv(tmp_path / "Springfield_IL_PD_Organization_Audit_1_1_2025-1_31_2025.csv", rows)
    fast, careful, notes = both_paths(tmp_path, [f])
    assert fast == careful
    assert "read by the columnar fast path" in notes
    assert [r[2:6] for r in fast["releases"]] == [(12, 8, 3, 1)]
    assert sorted(why for *_, why in fast["rejects"])[0].startswith("Search Time not a calendar date")
    times = [s[2] for s in fast["searches"]]
    assert times[:2] == ["2025-01-09T14:05:31Z", "2025-01-09T14:05:32Z"] and "2025-01-09T20:05:36Z" in times
