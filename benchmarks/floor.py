"""The floor an import stands on, measured on the same file in the same run as the import.

    python -m benchmarks.floor FILE.csv    # prints JSON: seconds per stage, rows, table bytes

Three stages over the CSV, streamed in blocks (memory does not grow with the file):

- ``parse``: pyarrow's CSV reader, every column as text;
- ``encode``: what a compact store keeps: dictionary ids for user, searcher, plate, reason, case
  number, search type and filters (one dictionary per column for the whole file), the search time
  and the time frame's two ends as epoch seconds, networks as an integer, the UUID as 16 bytes;
- ``insert``: those columns bulk-inserted (adbc_ingest) into a fresh SQLite table of integers and
  one blob.

Nothing is checked, linked or de-duplicated, so it is a floor, not a design: `audit import` does
all of that, and the comparison says how far above the floor it stands.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

FLOCK_TIME = "%m/%d/%Y, %I:%M:%S %p UTC"
TEXT = {"Name": "user_id", "Org Name": "searcher_id", "License Plate": "plate_id", "Reason": "reason_id",
        "Case #": "case_id", "Search Type": "type_id", "Filters": "filters_id"}
_NIBBLE = np.full(256, 0, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"0123456789abcdef", np.uint8)] = np.arange(16, dtype=np.uint8)
_NIBBLE[np.frombuffer(b"ABCDEF", np.uint8)] = np.arange(10, 16, dtype=np.uint8)


def _epoch(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return pc.cast(pc.strptime(column, format=FLOCK_TIME, unit="s", error_is_null=True), pa.int64())


def _uuid16(column: pa.Array) -> pa.Array:
    """36-character UUID text -> 16 bytes (a blank or odd cell -> null)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    lengths = pc.utf8_length(column).to_numpy(zero_copy_only=False)
    ok = lengths == 36
    text = pc.filter(column, pa.array(ok))
    raw = np.frombuffer(pc.binary_join_element_wise(text, "", "").buffers()[2], np.uint8)[: len(text) * 36]
    digits = raw.reshape(-1, 36)[:, [i for i in range(36) if i not in (8, 13, 18, 23)]]
    nib = _NIBBLE[digits]
    packed = (nib[:, 0::2] << 4 | nib[:, 1::2]).astype(np.uint8)
    out = np.zeros((len(column), 16), np.uint8)
    out[ok] = packed
    values = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(column), [None, pa.py_buffer(out.tobytes())])
    return pc.if_else(pa.array(ok), values, pa.nulls(len(column), pa.binary(16))).cast(pa.binary())


def measure(path: Path) -> dict[str, Any]:
    """Seconds per stage (parse, encode, insert) for ``path``; see the module's docstring."""
    import adbc_driver_sqlite.dbapi as dbapi

    seconds = {"parse": 0.0, "encode": 0.0, "insert": 0.0}
    dictionaries: dict[str, pa.Array] = {name: pa.array([], pa.string()) for name in TEXT}
    rows = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "floor.db"
        conn = dbapi.connect(str(store))
        cur = conn.cursor()
        names = list(pcsv.open_csv(path, parse_options=pcsv.ParseOptions(newlines_in_values=True)).schema.names)
        reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=16 << 20),
                               parse_options=pcsv.ParseOptions(newlines_in_values=True),
                               convert_options=pcsv.ConvertOptions(column_types={n: pa.string() for n in names}))
        while True:
            clock = time.perf_counter()
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                break
            now = time.perf_counter()
            seconds["parse"] += now - clock
            clock = now
            rows += batch.num_rows
            columns: dict[str, pa.Array] = {}
            for name, target in TEXT.items():
                if name not in batch.schema.names:
                    continue
                encoded = pc.dictionary_encode(batch.column(name))
                # One dictionary for the whole file: this block's new values are appended to it,
                # and its values are mapped onto the file's ids, all in C.
                local = encoded.dictionary
                known = dictionaries[name]
                new = pc.filter(local, pc.invert(pc.is_in(local, value_set=known)))
                known = dictionaries[name] = pa.concat_arrays([known, new]) if len(new) else known
                ids = pc.index_in(local, value_set=known).to_numpy(zero_copy_only=False)
                columns[target] = pa.array(ids[encoded.indices.to_numpy(zero_copy_only=False)])
            columns["time"] = _epoch(batch.column("Search Time"))
            frame = pc.split_pattern(batch.column("Time Frame"), "\n", max_splits=1)
            columns["frame_start"] = _epoch(pc.list_element(frame, 0))
            columns["frame_end"] = _epoch(pc.list_element(pc.list_slice(frame, 1, 2), 0))
            columns["networks"] = pc.cast(pc.cast(batch.column("Total Networks Searched"), pa.float64(),
                                                  safe=False), pa.int64(), safe=False)
            columns["uuid"] = _uuid16(batch.column("ID"))
            table = pa.table(columns)
            now = time.perf_counter()
            seconds["encode"] += now - clock
            clock = now
            cur.adbc_ingest("searches", table, mode="create_append")
            seconds["insert"] += time.perf_counter() - clock
        clock = time.perf_counter()
        conn.commit()
        seconds["insert"] += time.perf_counter() - clock
        cur.close()
        conn.close()
        table_bytes = os.path.getsize(store)
    return {"rows": rows, "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "total": round(sum(seconds.values()), 3), "table_bytes": table_bytes}


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
