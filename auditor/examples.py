"""Each search rule's example findings, chosen once by `audit run` so the report reads only results.

A rule's examples are its first finding rows in search order (a search with two owners' data may
give two rows, one per key), at most :data:`EXAMPLES_STORED` per rule, stored in `rule_examples`
with their key. The key pass recorded each key's first searches (:attr:`KeyPass.firsts`); merging
those of a rule's keys gives its first rows, exactly, unless one key may have more searches among
them than were recorded. Only for such rules is `search_keys` read again: one pass in search
order from where the recorded searches end, over those rules' keys only, stopping once every rule
has its examples.
"""
from __future__ import annotations

import heapq
import sqlite3
import numpy as np

from auditor.keypass import KeyPass

# The report shows at most this many examples per rule by default (`audit report --examples`);
# asking for more makes it read the findings themselves.
EXAMPLES_STORED = 200


def choose_examples(conn: sqlite3.Connection, run_id: int, keys: KeyPass, cap: int | None = None) -> int:
    """Write `rule_examples` for every search rule that found something; return the rows written.

    ``cap`` is the examples kept per rule (:data:`EXAMPLES_STORED` unless given).
    """
    cap = EXAMPLES_STORED if cap is None else cap
    conn.execute("DELETE FROM rule_examples")
    keys_of: dict[str, list[int]] = {}
    for rule_id, key_id in conn.execute("SELECT rule_id, key_id FROM finding_groups WHERE run_id = ?", [run_id]):
        keys_of.setdefault(rule_id, []).append(key_id)
    firsts = keys.firsts
    chosen: dict[str, list[tuple[int, int]]] = {}
    refill: dict[str, tuple[set[int], int]] = {}  # rule -> (keys to read further, from after which search)
    for rule_id, key_ids in keys_of.items():
        if not key_ids:
            continue
        ids = np.asarray(key_ids, dtype=np.int64)
        rows = firsts[ids]  # (keys, FIRST_PER_KEY)
        search = rows.ravel()
        key = np.repeat(ids, rows.shape[1])
        seen = search >= 0
        search, key = search[seen], key[seen]
        order = np.lexsort((key, search))[:cap]
        pairs = list(zip(search[order].tolist(), key[order].tolist()))
        chosen[rule_id] = pairs
        full = ids[rows[:, -1] >= 0]  # keys whose recorded searches may not be all they have
        if not len(full):
            continue
        last = firsts[full, -1]
        # A full key's later searches come after its last recorded one: they can only matter if
        # the rule has fewer than `cap` rows so far or they come before its cap-th row.
        if len(pairs) >= cap:
            unsure = full[last < pairs[-1][0]]
        else:
            unsure = full
        if len(unsure):
            refill[rule_id] = ({int(k) for k in unsure}, int(firsts[unsure, -1].min()))
    if refill:
        _read_further(conn, chosen, refill, firsts, cap)
    rows = [(run_id, rule_id, rank, search_id, key_id)
            for rule_id, pairs in chosen.items() for rank, (search_id, key_id) in enumerate(pairs, 1)]
    conn.executemany("INSERT INTO rule_examples (run_id, rule_id, rank, search_id, key_id) VALUES (?, ?, ?, ?, ?)",
                     rows)
    return len(rows)


def _read_further(conn: sqlite3.Connection, chosen: dict[str, list[tuple[int, int]]],
                  refill: dict[str, tuple[set[int], int]], firsts: np.ndarray, cap: int) -> None:
    """Read `search_keys` past the recorded searches for the rules that need it, in search order."""
    wanted: dict[int, list[str]] = {}
    for rule_id, (key_ids, _start) in refill.items():
        for k in key_ids:
            wanted.setdefault(k, []).append(rule_id)
    start = min(s for _k, s in refill.values())
    # Per rule, its rows as a max-heap of the best `cap` (negated), so a later row replaces the worst.
    best = {rule_id: [(-s, -k) for s, k in chosen[rule_id]] for rule_id in refill}
    for heap in best.values():
        heapq.heapify(heap)
    open_rules = set(refill)
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS example_keys (key_id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM example_keys")
    conn.executemany("INSERT INTO example_keys (key_id) VALUES (?)", [(k,) for k in wanted])
    cur = conn.execute("SELECT search_id, key_id FROM search_keys WHERE search_id > ? "
                       "AND key_id IN (SELECT key_id FROM example_keys) ORDER BY search_id, key_id", [start])
    for search_id, key_id in cur:
        if search_id <= firsts[key_id, -1]:
            continue  # already recorded by the key pass
        for rule_id in wanted[key_id]:
            if rule_id not in open_rules:
                continue
            heap = best[rule_id]
            if len(heap) < cap:
                heapq.heappush(heap, (-search_id, -key_id))
            elif (search_id, key_id) < (-heap[0][0], -heap[0][1]):
                heapq.heapreplace(heap, (-search_id, -key_id))
            else:
                open_rules.discard(rule_id)  # rows come in search order: nothing later can enter
        if not open_rules:
            break
    cur.close()
    for rule_id, heap in best.items():
        chosen[rule_id] = sorted((-s, -k) for s, k in heap)
    conn.execute("DROP TABLE example_keys")

