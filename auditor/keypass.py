"""The scan's one pass over every search: each search's :class:`~auditor.facts.SearchKey`, in bulk.

The searches are streamed out of the store as Arrow batches (adbc-driver-sqlite), their keys put
together column by column with polars (owners from the owner runs by binary search and from the
owner rows by join, beneficiaries by join, reason classes by lookup), and each batch's
(search, key) pairs are written back in one bulk insert to `search_keys`. Only distinct keys cross
into Python. Memory holds one batch and the distinct keys, never the store's rows.

The caller hands the store over first (:func:`auditor.schema.handed_over`): this module opens the
file with ADBC's own SQLite.
"""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pyarrow as pa

from auditor.facts import DAYS_BACK_SQL, KEY_FIELDS, REASON_STATE_SQL, SearchKey, day_sql
from auditor.importers.adbc import AdbcStore
from auditor.progress import Progress

BATCH_ROWS = 100_000
KEYING = "keying searches"  # the progress stage of this pass
FIRST_PER_KEY = 8

_SELECT = f"""
    SELECT s.id AS search_id, COALESCE(s.searcher_id, -1) AS searcher_id, COALESCE(s.reason_id, -1) AS reason_id,
           COALESCE(s.networks, 0) AS networks, s.case_number IS NOT NULL AS has_case_number,
           s.system AS system, COALESCE(s.query_type, '') AS query_type, {REASON_STATE_SQL} AS reason_state,
           {day_sql('s.time')} AS day, {DAYS_BACK_SQL} AS days_back
    FROM searches s ORDER BY s.id
"""


@dataclass
class KeyPass:
    """The distinct keys, how many searches have each, and the searches with several keys."""

    ids: dict[SearchKey, int] = field(default_factory=dict)
    searches: dict[int, int] = field(default_factory=dict)  # key id -> searches with it
    # search id -> its key ids, for searches with more than one owner (counts of distinct searches)
    several: dict[int, list[int]] = field(default_factory=dict)
    # firsts[key_id]: the key's first FIRST_PER_KEY search ids in id order (-1 past its last), from
    # which audit run picks each rule's example findings (auditor.examples) without reading rows again.
    firsts: np.ndarray = field(default_factory=lambda: np.full((1, FIRST_PER_KEY), -1, dtype=np.int64))

    def note_firsts(self, pairs: pl.DataFrame) -> None:
        """Record each key's first searches from a batch of (search_id, key_id) pairs in search order."""
        if len(self.ids) + 1 > len(self.firsts):
            grown = np.full((max(2 * len(self.firsts), len(self.ids) + 1), FIRST_PER_KEY), -1, dtype=np.int64)
            grown[:len(self.firsts)] = self.firsts
            self.firsts = grown
        ranked = pairs.with_columns(rank=pl.int_range(pl.len(), dtype=pl.Int64).over("key_id"))
        key = ranked["key_id"].to_numpy()
        held = (self.firsts[key] >= 0).sum(axis=1)  # searches already recorded for the row's key
        at = held + ranked["rank"].to_numpy()
        keep = at < FIRST_PER_KEY
        self.firsts[key[keep], at[keep]] = ranked["search_id"].to_numpy()[keep]


_SCHEMA = {"search_id": pl.Int64, "searcher_id": pl.Int64, "reason_id": pl.Int64, "networks": pl.Int64,
           "has_case_number": pl.Int64, "system": pl.Utf8, "query_type": pl.Utf8, "reason_state": pl.Utf8,
           "day": pl.Utf8, "days_back": pl.Int64}
_RUNS_SQL = "SELECT search_first, searches, owner_id FROM owner_runs ORDER BY search_first"
_OWNER_ROWS_SQL = "SELECT search_id, owner_id FROM search_owner_rows ORDER BY search_id"
_BENEFICIARIES_SQL = "SELECT search_id, beneficiary_id, basis FROM beneficiaries"


def _arrow(store: AdbcStore, sql: str) -> pa.Table:
    cur = store.raw.cursor()
    try:
        cur.execute(sql)
        return cur.fetch_arrow_table()
    finally:
        cur.close()


class _Context:
    """What every batch is joined with: owner runs, owner rows, beneficiaries, and the run's parameters."""

    def __init__(self, runs: list[tuple], owner_rows: pl.DataFrame, benefs: pl.DataFrame, mass_networks: int,
                 classes: np.ndarray, boundaries: list[str], frame_bounds: list[int]) -> None:
        self.run_first = np.array([r[0] for r in runs], dtype=np.int64)
        self.run_end = np.array([r[0] + r[1] for r in runs], dtype=np.int64)
        self.run_owner = np.array([r[2] for r in runs], dtype=np.int64)
        self.owner_rows, self.benefs = owner_rows, benefs
        self.mass_networks, self.classes = mass_networks, classes
        self.boundaries, self.frame_bounds = boundaries, list(frame_bounds)


def assign_keys(path: str, *, mass_networks: int, classes: np.ndarray, boundaries: list[str],
                frame_bounds: list[int] = (), progress: Progress | None = None) -> KeyPass:
    """Write `search_keys` for every search and return the distinct keys (see :class:`KeyPass`).

    Reads and writes through ADBC's own SQLite, so it runs in a child process for a large store
    (:mod:`auditor.isolated`); :func:`assign_keys_local` is the same pass over the caller's sqlite3
    connection, for stores where a child's start-up costs more than the pass saves.
    ``classes[reason_id]`` is the reason's tag class (-1 for none); ``boundaries`` are the rules'
    date boundaries (:func:`auditor.facts.date_boundaries`). ``progress`` hears the searches keyed
    after each batch (stage ``KEYING``; the caller knows the total).
    """
    result = KeyPass()
    done = 0
    writer = AdbcStore(path)
    reader = AdbcStore(path, begin=False)
    try:
        ctx = _Context(writer.execute(_RUNS_SQL).fetchall(), pl.from_arrow(_arrow(writer, _OWNER_ROWS_SQL)),
                       pl.from_arrow(_arrow(writer, _BENEFICIARIES_SQL)), mass_networks, classes, boundaries,
                       frame_bounds)
        cur = reader.raw.cursor()
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(BATCH_ROWS)})
        cur.execute(_SELECT)
        for batch in cur.fetch_record_batch():
            if batch.num_rows:
                writer.ingest("search_keys", _one_batch(result, pl.from_arrow(batch), ctx).to_arrow())
                done += batch.num_rows
                if progress is not None:
                    progress(KEYING, done, None)
        cur.close()
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    finally:
        reader.close()
        writer.close()
    return result


def assign_keys_local(conn: sqlite3.Connection, *, mass_networks: int, classes: np.ndarray, boundaries: list[str],
                      frame_bounds: list[int] = (), progress: Progress | None = None) -> KeyPass:
    """:func:`assign_keys` through the caller's sqlite3 connection, in its transaction (no child process)."""
    result = KeyPass()
    done = 0

    def frame(sql: str, schema: dict) -> pl.DataFrame:
        return pl.DataFrame(conn.execute(sql).fetchall(), schema=schema, orient="row")

    ctx = _Context(conn.execute(_RUNS_SQL).fetchall(),
                   frame(_OWNER_ROWS_SQL, {"search_id": pl.Int64, "owner_id": pl.Int64}),
                   frame(_BENEFICIARIES_SQL, {"search_id": pl.Int64, "beneficiary_id": pl.Int64, "basis": pl.Utf8}),
                   mass_networks, classes, boundaries, frame_bounds)
    cur = conn.execute(_SELECT)
    while rows := cur.fetchmany(BATCH_ROWS):
        pairs = _one_batch(result, pl.DataFrame(rows, schema=_SCHEMA, orient="row"), ctx)
        conn.executemany("INSERT INTO search_keys (search_id, key_id) VALUES (?, ?)", pairs.iter_rows())
        done += len(rows)
        if progress is not None:
            progress(KEYING, done, None)
    return result


def _one_batch(result: KeyPass, rows: pl.DataFrame, ctx: _Context) -> pl.DataFrame:
    """One batch's (search_id, key_id) pairs, in search order; new keys are added to ``result``."""
    run_first, run_end, run_owner, owner_rows = ctx.run_first, ctx.run_end, ctx.run_owner, ctx.owner_rows
    benefs, mass_networks, classes = ctx.benefs, ctx.mass_networks, ctx.classes
    boundaries, frame_bounds = ctx.boundaries, ctx.frame_bounds
    ids = rows["search_id"].to_numpy()
    # Owners: the run covering the id (runs never overlap), plus owner rows; none -> -1.
    at = np.searchsorted(run_first, ids, side="right") - 1
    covered = (at >= 0) & (ids < run_end[np.maximum(at, 0)]) if len(run_first) else np.zeros(len(ids), dtype=bool)
    by_run = np.where(covered, run_owner[np.maximum(at, 0)] if len(run_first) else -1, -1)
    lo, hi = int(ids[0]), int(ids[-1])
    extra = owner_rows.filter((pl.col("search_id") >= lo) & (pl.col("search_id") <= hi))
    rows = rows.with_columns(owner_id=pl.Series(by_run, dtype=pl.Int64))
    if extra.height:
        listed = rows.join(extra, on="search_id", how="inner", suffix="_row").with_columns(
            owner_id=pl.col("owner_id_row")).drop("owner_id_row")
        has_rows = pl.col("search_id").is_in(extra["search_id"].unique().implode())
        rows = pl.concat([rows.filter((pl.col("owner_id") != -1) | ~has_rows), listed]).unique(
            subset=["search_id", "owner_id"], keep="first", maintain_order=True)
    reason = rows["reason_id"].to_numpy()
    class_id = np.where((reason >= 0) & (reason < len(classes)), classes[np.clip(reason, 0, len(classes) - 1)], -1)
    rows = rows.join(benefs, on="search_id", how="left").with_columns(
        beneficiary_id=pl.col("beneficiary_id").fill_null(-1).cast(pl.Int64),
        basis=pl.col("basis").fill_null(""),
        class_id=pl.Series(class_id, dtype=pl.Int64),
        mass_search=(pl.col("networks") >= mass_networks).cast(pl.Int64),
        has_case_number=pl.col("has_case_number").cast(pl.Int64),
        epoch=pl.sum_horizontal([(pl.col("day") >= d).cast(pl.Int64) for d in boundaries]) if boundaries
        else pl.lit(0, dtype=pl.Int64),
        frame_bucket=pl.when(pl.col("days_back").is_null()).then(-1).otherwise(
            pl.sum_horizontal([(pl.col("days_back") >= b).cast(pl.Int64) for b in frame_bounds]) if frame_bounds
            else pl.lit(0, dtype=pl.Int64)).cast(pl.Int64) if frame_bounds else pl.lit(-1, dtype=pl.Int64),
    )
    fields = list(KEY_FIELDS)
    distinct = rows.group_by(fields).len()
    known = result.ids
    key_ids = []
    for values in distinct.select(fields).iter_rows():
        key = SearchKey(*values)
        key_id = known.get(key)
        if key_id is None:
            key_id = known[key] = len(known) + 1
        key_ids.append(key_id)
    distinct = distinct.with_columns(key_id=pl.Series(key_ids, dtype=pl.Int64))
    for key_id, n in zip(key_ids, distinct["len"].to_list()):
        result.searches[key_id] = result.searches.get(key_id, 0) + n
    pairs = rows.join(distinct.select(fields + ["key_id"]), on=fields, how="left").select(
        "search_id", "key_id").unique().sort("search_id", "key_id")
    if pairs.height > rows["search_id"].n_unique():
        multi = pairs.filter(pl.col("search_id").is_duplicated())
        for search_id, key_id in multi.iter_rows():
            result.several.setdefault(search_id, []).append(key_id)
    result.note_firsts(pairs)
    return pairs
