"""The columnar fast path: a CSV release parsed, encoded and written a batch at a time in C.

pyarrow's streaming CSV reader parses the file into string columns (its quoting rules match
Python's csv module on every case the careful path's tests and fuzzing cover). Each column is then
converted the way the careful path (:class:`auditor.importers.searches.SearchLoader`) converts its
cells, without a Python object per cell:

- low-cardinality columns (org names, reasons, counts, search types, filters) are dictionary-encoded
  and only their distinct values go through the careful path's own converters, memoized;
- times are checked against the one shape Flock writes, parsed, checked to be real calendar days,
  and put together as the store's ISO text in C;
- high-cardinality text (UUIDs, officers, plates, case numbers) is trimmed and tested in C.

A row any of those tests doubts (a cell with Unicode whitespace at its edge, an ISO or malformed
time, a count that is not a number, a redaction marker written in non-ASCII letters) is handed, as a
record, to the careful path's parser, which rejects it with the same reason or converts it the same
way; its result is merged back in row order. A *file* whose structure pyarrow reads differently
from Python's csv (a blank line, a ragged or over-long record, a field over the careful path's
size limit) is loaded by the careful path from the start: the caller rolls the fast attempt back.

Writes go through an ADBC connection (adbc-driver-sqlite), which binds Arrow batches to SQLite in
C; the whole release is one transaction on that connection, so a killed import still leaves
nothing of the release but its `importing` marker.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from auditor.facts import STORE_TIME_FORMAT
from auditor.importers.cells import INVALID, MARKER_LEN, MARKERS, REDACTED, count_cell, memoized, text_cell
from auditor.importers.keys import NO_COUNT, NO_TIME, fallback_hashes
from auditor.importers.provenance import uuid_hashes
from auditor.importers.searches import _LABELS, _REDACTABLE, _WITHHELD_IF_ABSENT, Account, SearchLoader
from auditor.importers.source import FIELD_LIMIT, FileFacts

BLOCK_BYTES = 4 << 20  # pyarrow read block: ~25k Flock records, the unit of work and of memory
FAST_PATH_BYTES = 4 << 20  # smaller files are read by the careful path: a child process costs ~1 s

_ASCII_WS = " \t\n\r\x0b\x0c"
# Characters Python's str.strip() removes besides ASCII whitespace: a cell with one at its edge goes
# to the careful path, so the C trim below always agrees with strip().
_EXTRA_WS = pa.array([c for c in map(chr, range(0x3001)) if c.isspace() and c not in _ASCII_WS])
_MARKERS = pa.array(sorted(MARKERS))
_COLUMNS = ("id", "uuid", "time", "searcher_id", "user", "reason_id", "case_number", "plate", "search_type",
            "networks", "devices", "time_frame_start", "time_frame_end", "filters", "text_prompt", "moderation",
            "redacted", "dedup_key")


class Irregular(Exception):
    """The file's structure needs the careful path (the reason says why)."""


def fast_path_problem(facts: FileFacts, header_row: int, layout: Any) -> str | None:
    """Why this CSV release cannot take the fast path, or None when it can."""
    if facts.encoding not in ("utf-8", "utf-8-sig"):
        return f"encoding {facts.encoding}"
    if facts.has_nul:
        return "NUL bytes in the file"
    if header_row != 1:
        return "blank lines before the header"
    if layout is None:
        return "not a search log"
    if layout.time_parser is not None:
        return "times in a user-given format"
    if layout.dates is not None and layout.dates.order != "mdy":
        return "day-first dates"  # the C time check reads Flock's month-first form only
    return None


def arrow_batches(facts: FileFacts, width: int, block_bytes: int = BLOCK_BYTES) -> Iterator[pa.RecordBatch]:
    """The file's records after the header as string columns; raises :class:`Irregular` on a record
    that is not exactly ``width`` cells or has a cell beyond the careful path's field limit."""
    problems: list[str] = []

    def irregular(row: Any) -> str:
        problems.append(f"record of {row.actual_columns} cells where the header has {row.expected_columns}")
        return "skip"

    names = [f"c{i}" for i in range(width)]
    try:
        reader = pacsv.open_csv(
            facts.path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=block_bytes, use_threads=True),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False,
                                             invalid_row_handler=irregular),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        for batch in reader:
            if problems:
                raise Irregular(problems[0])
            for column in batch.columns:
                if len(column) and pc.max(pc.binary_length(column)).as_py() > FIELD_LIMIT:
                    raise Irregular("a field beyond the CSV field limit")
            yield batch
        if problems:
            raise Irregular(problems[0])
    except pa.ArrowInvalid as e:
        raise Irregular(f"pyarrow: {str(e).splitlines()[0]}") from None


def _distinct(column: pa.Array, memo: dict, convert: Callable[[str], object]) -> tuple[np.ndarray, list]:
    """(per-row index into the distinct values, converted distinct values), in first-seen order."""
    encoded = pc.dictionary_encode(column)
    values = []
    get = memo.get
    for raw in encoded.dictionary.to_pylist():
        value = get(raw, memo)  # the memo itself stands for "not there"
        values.append(memoized(memo, raw, convert) if value is memo else value)
    return encoded.indices.to_numpy(zero_copy_only=False), values


# The one shape of a Flock time the fast path takes (`01/05/2026, 05:28:52 PM UTC`); every other
# spelling the careful path accepts (lower-case `pm`, extra spaces, ISO) is a doubted row.
_FLOCK_TIME = r"^(0[1-9]|1[0-2])/(0[1-9]|[12][0-9]|3[01])/[1-9][0-9]{3}, (0[1-9]|1[0-2]):[0-5][0-9]:[0-5][0-9] [AP]M UTC$"
_FLOCK_FORMAT = "%m/%d/%Y, %I:%M:%S %p UTC"


def flock_times(column: pa.Array) -> pa.Array:
    """Store times of Flock time cells, null where a cell is not a plain, real Flock time."""
    shaped = pc.match_substring_regex(column, _FLOCK_TIME)
    parsed = pc.strptime(column, format=_FLOCK_FORMAT, unit="s", error_is_null=True)
    text = pc.cast(parsed, pa.string())  # `2025-06-18 00:02:04`
    # strptime rolls 02/30 over into March: a day it did not keep is not a calendar day.
    real = pc.equal(pc.utf8_slice_codeunits(text, 8, 10), pc.utf8_slice_codeunits(column, 3, 5))
    iso = pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), "Z", "")
    return pc.if_else(pc.fill_null(pc.and_(shaped, real), False), iso, pa.scalar(None, pa.string()))


def _ahead(items: Iterator[dict], depth: int = 1) -> Iterator[dict]:
    """Iterate ``items`` with a thread computing up to ``depth`` of them ahead (errors re-raised here)."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put(item)
            q.put(done)
        except BaseException as e:  # handed to the consumer, which raises it
            q.put(e)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():  # let a blocked producer finish
            try:
                q.get_nowait()
            except queue.Empty:
                thread.join(0.05)


def _np(array: pa.Array, fill: int) -> np.ndarray:
    return pc.fill_null(array, fill).to_numpy(zero_copy_only=False).astype(np.int64)


class ColumnarLoader(SearchLoader):
    """:class:`SearchLoader` fed Arrow batches; rows it doubts go through the inherited careful parser.

    ``db`` is the ADBC connection adapter (:class:`auditor.importers.adbc.AdbcStore`) that holds the
    release's transaction.
    """

    def load_batches(self, batches: Iterable[pa.RecordBatch], first_row: int,
                     on_batch: Callable[[int], None] | None = None) -> Account:
        """Load every batch; the first record is row ``first_row``. ``on_batch(rows_read)`` is called
        after each batch is written (for progress).

        Two stages overlap on two cores: a thread parses the next batch and runs the pure Arrow
        checks (:meth:`_prepare`, no store access) while this thread converts through the store's
        dictionaries and writes the previous one (:meth:`_load_batch`).
        """

        def prepared() -> Iterator[dict]:
            row = first_row
            for batch in batches:
                n = batch.num_rows
                if n:
                    yield self._prepare(batch, np.arange(row, row + n, dtype=np.int64))
                row += n

        for prep in _ahead(prepared()):
            self._load_batch(prep)
            if on_batch is not None:
                on_batch(self.account.read)
        self._finish()
        return self.account

    # -- one batch ---------------------------------------------------------------------------------
    def _text(self, column: pa.Array) -> tuple[pa.Array, np.ndarray, np.ndarray]:
        """(trimmed value or null, redaction-marker flags, doubt flags) of a text column."""
        trimmed = pc.utf8_trim(column, _ASCII_WS)
        length = pc.utf8_length(trimmed)
        short = pc.less_equal(length, MARKER_LEN)
        edge = pc.or_(pc.is_in(pc.utf8_slice_codeunits(trimmed, 0, 1), value_set=_EXTRA_WS),
                      pc.is_in(pc.utf8_slice_codeunits(trimmed, -1, 1 << 30), value_set=_EXTRA_WS))
        doubt = pc.or_(edge, pc.and_(short, pc.invert(pc.string_is_ascii(trimmed))))
        marker = pc.and_(short, pc.is_in(pc.ascii_upper(trimmed), value_set=_MARKERS))
        blank = pc.equal(length, 0)
        value = pc.if_else(pc.or_(blank, marker), pa.scalar(None, pa.string()), trimmed)
        return value, marker.to_numpy(zero_copy_only=False), doubt.to_numpy(zero_copy_only=False)

    def _prepare(self, batch: pa.RecordBatch, numbers: np.ndarray) -> dict:
        """The pure part of a batch: times, frames and high-cardinality text checked and trimmed."""
        layout = self.layout
        cols = layout.columns
        n = batch.num_rows
        empty = pa.array([""] * n, pa.string()) if len(set(_REDACTABLE) - set(cols)) else None

        def col(f: str) -> pa.Array:
            return batch.column(cols[f]) if f in cols else empty

        doubt = np.zeros(n, dtype=bool)
        red = np.zeros(n, dtype=np.int64)  # bit i: _REDACTABLE[i] withheld
        bit = {f: 1 << i for i, f in enumerate(_REDACTABLE)}
        for f in _WITHHELD_IF_ABSENT:
            if f not in cols:
                red |= bit[f]

        time = flock_times(col("time"))
        doubt |= pc.is_null(time).to_numpy(zero_copy_only=False)
        if "time_frame" in cols:
            # Two Flock times on two lines, 27 characters each: anything else is the careful path's.
            frame = col("time_frame")
            two = pc.and_(pc.equal(pc.utf8_length(frame), 55), pc.equal(pc.utf8_slice_codeunits(frame, 27, 28), "\n"))
            start = pc.if_else(two, flock_times(pc.utf8_slice_codeunits(frame, 0, 27)), pa.scalar(None, pa.string()))
            end = pc.if_else(two, flock_times(pc.utf8_slice_codeunits(frame, 28, 55)), pa.scalar(None, pa.string()))
            ok_frame = pc.or_kleene(pc.and_kleene(pc.is_valid(start), pc.is_valid(end)), pc.equal(frame, ""))
            doubt |= ~pc.fill_null(ok_frame, False).to_numpy(zero_copy_only=False)
        else:
            bounds = []
            for f in ("time_frame_start", "time_frame_end"):
                c = col(f)
                t = flock_times(c)
                doubt |= ~pc.or_(pc.is_valid(t), pc.equal(c, "")).to_numpy(zero_copy_only=False)
                bounds.append(t)
            start, end = bounds

        texts = {}
        for f in ("uuid", "user", "plate", "case_number"):
            value, marker, unsure = self._text(col(f))
            doubt |= unsure
            red |= np.where(marker, bit[f], 0)
            texts[f] = value
        # An Excel whole number's float tail, as the careful path's whole_text drops it.
        case = texts["case_number"]
        texts["case_number"] = pc.if_else(pc.fill_null(pc.match_substring_regex(case, r"^[0-9]+\.0$"), False),
                                          pc.utf8_slice_codeunits(case, 0, -2), case)
        return {"batch": batch, "numbers": numbers, "doubt": doubt, "red": red, "time": time, "start": start,
                "end": end, "texts": texts}

    def _load_batch(self, prep: dict) -> None:
        """Convert a prepared batch through the store's dictionaries and write it."""
        batch, numbers, doubt, red = prep["batch"], prep["numbers"], prep["doubt"], prep["red"]
        time, start, end, texts = prep["time"], prep["start"], prep["end"], prep["texts"]
        cols = self.layout.columns
        n = batch.num_rows
        empty = pa.array([""] * n, pa.string()) if len(set(_REDACTABLE) - set(cols)) else None
        bit = {f: 1 << i for i, f in enumerate(_REDACTABLE)}

        def col(f: str) -> pa.Array:
            return batch.column(cols[f]) if f in cols else empty

        counts = {}
        for f in ("networks", "devices"):
            idx, values = _distinct(col(f), self.memo_networks if f == "networks" else self.memo_devices, count_cell)
            bad = np.array([v is INVALID for v in values], dtype=bool)
            doubt |= bad[idx] if len(values) else False
            redacted = np.array([v is REDACTED for v in values], dtype=bool)
            red |= np.where(redacted[idx], bit[f], 0) if len(values) else 0
            ints = np.array([v if isinstance(v, int) else NO_COUNT for v in values], dtype=np.int64)
            counts[f] = ints[idx] if len(values) else np.full(n, NO_COUNT, dtype=np.int64)

        good = ~doubt
        careful = np.flatnonzero(doubt)
        if len(careful):
            rows, nums, rejects = self._careful_rows(batch, careful, numbers)
            self.account.rejected += len(rejects)
            self.conn.executemany("INSERT INTO rejects (release_id, row_number, raw, why) VALUES (?, ?, ?, ?)",
                                  rejects)
        else:
            rows, nums = [], []
        self.account.read += n
        keep = pa.array(good)

        # Columns whose distinct values go through the careful converters: only rows kept here, so a
        # row the careful path rejects adds no agency or reason.
        def distinct_ids(f: str, memo: dict, convert: Callable[[str], object]) -> tuple[pa.Array, np.ndarray]:
            idx, values = _distinct(pc.filter(col(f), keep), memo, convert) if f in cols else (
                np.zeros(int(good.sum()), dtype=np.int64), [convert("")])
            ids = pa.array([v if isinstance(v, int) else None for v in values], pa.int64())
            redacted = np.array([v is REDACTED for v in values], dtype=bool)
            return pc.take(ids, pa.array(idx)), (redacted[idx] if len(values) else np.zeros(0, dtype=bool))

        if "searcher" in cols:
            self._prefetch_agencies(pc.unique(pc.filter(col("searcher"), keep)).to_pylist())
        searcher, searcher_red = distinct_ids("searcher", self.memo_searcher, self._searcher)
        reason, reason_red = distinct_ids("reason", self.memo_reason, self._reason)
        red_kept = red[good] | np.where(searcher_red, bit["searcher"], 0) | np.where(reason_red, bit["reason"], 0)
        labels = []
        for f in _LABELS:
            if f in cols:
                idx, values = _distinct(pc.filter(col(f), keep), {}, text_cell)
                text = pa.array([None if v is REDACTED else v for v in values], pa.string())
                labels.append(pc.take(text, pa.array(idx)))
                redacted = np.array([v is REDACTED for v in values], dtype=bool)
                if len(values):
                    red_kept |= np.where(redacted[idx], bit[f], 0)
            else:
                labels.append(pa.nulls(int(good.sum()), pa.string()))

        fast = {
            "uuid": pc.filter(texts["uuid"], keep), "time": pc.filter(time, keep), "searcher_id": searcher,
            "user": pc.filter(texts["user"], keep), "reason_id": reason,
            "case_number": pc.filter(texts["case_number"], keep), "plate": pc.filter(texts["plate"], keep),
            "search_type": labels[0],
            "networks": pa.array(counts["networks"][good], pa.int64()),
            "devices": pa.array(counts["devices"][good], pa.int64()),
            "time_frame_start": pc.filter(start, keep), "time_frame_end": pc.filter(end, keep),
            "filters": labels[1], "text_prompt": labels[2], "moderation": labels[3],
        }
        for f in ("networks", "devices"):
            fast[f] = pc.if_else(pc.equal(fast[f], NO_COUNT), pa.scalar(None, pa.int64()), fast[f])  # blank
        fast["redacted"] = self._redacted_text(red_kept)
        table = pa.table(fast)
        kept_numbers = numbers[good]
        if rows:
            table, kept_numbers = self._merge(table, kept_numbers, rows, nums)
        self._write_table(table, kept_numbers)

    def _prefetch_agencies(self, raws: list[str]) -> None:
        """Resolve a batch's new org names to agency ids in a few set-based statements.

        Fills the agency cache the careful `_searcher` reads, giving new agencies ids in order of
        first appearance, as one `ensure_agency` per name would.
        """
        names = []
        for raw in raws:
            if raw in self.memo_searcher:
                continue
            name = text_cell(raw)
            if isinstance(name, str):
                spelling = " ".join(name.split())
                if spelling not in self.agencies:
                    names.append(spelling)
        names = list(dict.fromkeys(names))
        if not names:
            return
        found = dict(self.conn.execute("SELECT name, agency_id FROM agency_names WHERE name IN "
                                       "(SELECT value FROM json_each(?))", [_json_names(names)]).fetchall())
        rest = [n for n in names if n not in found]
        if rest:
            found.update(self.conn.execute("SELECT name, id FROM agencies WHERE name IN "
                                           "(SELECT value FROM json_each(?))", [_json_names(rest)]).fetchall())
        new = [n for n in names if n not in found]
        if new:
            first = self.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM agencies").fetchone()[0]
            rows = [(first + i, n) for i, n in enumerate(new)]
            self.conn.executemany("INSERT INTO agencies (id, name, level, kind, resolved_by) "
                                  "VALUES (?, ?, 'unknown', 'unknown', NULL)", rows)
            found.update({n: i for i, n in rows})
        self.conn.executemany("INSERT OR IGNORE INTO agency_names (name, agency_id) VALUES (?, ?)",
                              [(n, found[n]) for n in names])
        self.agencies.update({n: found[n] for n in names})

    def _careful_rows(self, batch: pa.RecordBatch, at: np.ndarray, numbers: np.ndarray):
        """The careful parser's (rows, numbers, rejects) for the rows the fast path doubted."""
        picked = batch.take(pa.array(at))
        columns = [c.to_pylist() for c in picked.columns]
        records = [list(cells) for cells in zip(*columns)]
        return self._parse(records, 0, numbers[at].tolist())

    @staticmethod
    def _merge(table: pa.Table, numbers: np.ndarray, rows: list[tuple], nums: list[int]) -> tuple[pa.Table, np.ndarray]:
        """The fast rows and the careful path's rows together, in row order."""
        names = _COLUMNS[1:-1]  # the parsed tuple: searches columns without id, with the key last
        extra = pa.table({name: pa.array([r[i] for r in rows], table.schema.field(name).type)
                          for i, name in enumerate(names)})
        both = pa.concat_tables([table, extra])
        all_numbers = np.concatenate((numbers, np.array(nums, dtype=np.int64)))
        order = np.argsort(all_numbers, kind="stable")
        return both.take(pa.array(order)), all_numbers[order]

    def _redacted_text(self, mask: np.ndarray) -> pa.Array:
        """`searches.redacted` (withheld field names, comma-joined in schema order) from bit masks."""
        distinct, idx = np.unique(mask, return_inverse=True)
        text = pa.array([",".join(f for i, f in enumerate(_REDACTABLE) if m >> i & 1) or None
                         for m in distinct.tolist()], pa.string())
        return pc.take(text, pa.array(idx.astype(np.int64)))

    # -- linking and writing -----------------------------------------------------------------------
    def _needs_linking(self, table: pa.Table) -> bool:
        """Whether a row of the batch may be a search already stored or repeated within the batch."""
        uuid = table.column("uuid")
        if self.fresh:
            return False  # repeats inside a fresh load are merged at its end (merge_repeated_uuids)
        with_uuid = len(uuid) - uuid.null_count
        if with_uuid and pc.count_distinct(uuid).as_py() != with_uuid:
            return True  # a UUID twice in one batch: the careful linker makes it one search
        if uuid.null_count or self.has_uuidless:
            return True  # fallback-key links and UUID adoption are the careful linker's
        found = self.conn.execute("SELECT 1 FROM searches WHERE uuid IN (SELECT value FROM json_each(?)) LIMIT 1",
                                  [_json_list(uuid)]).fetchone()
        return found is not None

    def _write_table(self, table: pa.Table, numbers: np.ndarray) -> None:
        if table.num_rows == 0:
            return
        if self._needs_linking(table):
            rows = [tuple(r.values()) for r in table.to_pylist()]
            keys = fallback_hashes(*self._key_columns(table))
            self._write([r + (int(k),) for r, k in zip(rows, keys.tolist())], numbers.tolist())
            return
        n = table.num_rows
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.int64)
        self.next_id += n
        table = table.append_column("dedup_key", pa.array(fallback_hashes(*self._key_columns(table))))
        table = table.add_column(0, "id", pa.array(ids))
        self._write_reasons()
        self.conn.ingest("searches", table)
        if self.repeats is not None:
            uuid = table.column("uuid")
            valid = pc.is_valid(uuid).to_numpy(zero_copy_only=False)
            if valid.any():
                self.repeats.add(uuid_hashes(pc.filter(uuid, pa.array(valid)).combine_chunks()), ids[valid])
        self.runs.add(ids, numbers)
        self.account.imported += n
        self.account.new_searches += n

    @staticmethod
    def _key_columns(table: pa.Table) -> tuple[np.ndarray, ...]:
        def epoch(name: str) -> np.ndarray:
            seconds = pc.cast(pc.strptime(table.column(name), format=STORE_TIME_FORMAT, unit="s"), pa.int64())
            return _np(seconds, NO_TIME)

        return (_np(table.column("searcher_id"), NO_COUNT), epoch("time"), _np(table.column("networks"), NO_COUNT),
                epoch("time_frame_start"), epoch("time_frame_end"), _np(table.column("reason_id"), NO_COUNT))


def _json_names(names: list[str]) -> str:
    import json

    return json.dumps(names, ensure_ascii=False)


def _json_list(column: Any) -> str:
    import json

    return json.dumps([u for u in column.to_pylist() if u is not None], ensure_ascii=False)
