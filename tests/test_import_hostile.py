"""Malformed and hostile CSV never crashes the importer and never loses a row silently."""
from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.errors import InputError
from auditor.importers import import_file
from auditor.schema import open_store

HEADER = ("ID,Name,Org Name,Total Networks Searched,Time Frame,License Plate,Reason,Case #,Filters,"
          "Search Time,Search Type,Text Prompt,Moderation")
GOOD = ('7f1c2d3e-0000-4000-8000-00000000000{n},,Raleigh NC PD,5738.0,"12/01/2025, 05:28:52 PM UTC\n'
        '12/08/2025, 05:28:52 PM UTC",,ICE,,,"12/08/2025, 05:28:5{n} PM UTC",search,,')
HOSTILE = st.sampled_from([
    "", ",,,,,,,,,,,,", '"unclosed, quote', 'a,b"c,d', "x\x00y,1,2", "=HYPERLINK(\"http://x\",\"y\")," * 3,
    "A" * 200_000, ",".join(["z"] * 40), "\u00e9\u00e8,\u00ff", '"""",""""', "\r", "\t,\t",
])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.one_of(HOSTILE, st.integers(0, 9).map(lambda n: GOOD.format(n=n)), st.text(max_size=60)),
                   max_size=12),
    encoding=st.sampled_from(["utf-8", "utf-16", "latin-1", "utf-8-sig"]),
    truncate=st.integers(0, 30),
)
def test_hostile_csv_is_imported_or_refused_in_one_line(tmp_path_factory, lines, encoding, truncate):
    folder = tmp_path_factory.mktemp("hostile")
    text = HEADER + "\r\n" + "\r\n".join(lines)
    data = text.encode(encoding, errors="replace")
    if truncate:
        data = data[: max(1, len(data) - truncate)]  # a file cut off mid-record (or mid-character)
    path: Path = folder / "x-El_Cajon_CA_PD-Network-Audit.csv"
    path.write_bytes(data)
    db = open_store(folder / "s.db", create=True)
    try:
        accounts = import_file(db, path)
    except InputError as e:
        assert "\n" not in str(e)
        return
    for a in accounts:
        assert a.rows_read == a.rows_imported + a.rows_rejected + a.rows_padding
        stored = db.execute("SELECT rows_read, rows_imported, rows_rejected, rows_padding FROM releases WHERE id = ?",
                            [a.release_id]).fetchone()
        assert stored == (a.rows_read, a.rows_imported, a.rows_rejected, a.rows_padding)
        assert db.execute("SELECT count(*) FROM rejects WHERE release_id = ?", [a.release_id]).fetchone()[0] == a.rows_rejected
        assert db.execute("SELECT count(*) FROM sightings WHERE release_id = ?", [a.release_id]).fetchone()[0] == a.rows_imported
