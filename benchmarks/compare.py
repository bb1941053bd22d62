"""proxytrace against a floor and two baselines, on two shapes of synthetic Network Audit, in one run.

    pip install '.[bench]' && python -m benchmarks.compare                 # 10M searches, medians of 3
    python -m benchmarks.compare --searches 1000000 --runs 3 --memory-check    # a quicker look
    python -m benchmarks.compare --searches 10000000 --runs 1 --growth-from 1000000  # + growth factors
    python -m benchmarks.compare --searches 2000000 --runs 1 --shape wide    # one shape only

Generates (or reuses, keyed by shape, searches and seed, under ``benchmarks/.data/``) each file:
``own`` is El Cajon's synthetic 2025 Network Audit (:mod:`simulator.bulk`); ``wide`` is written by an
independent generator (:mod:`benchmarks.gen_wide_audit`): one California owner, 3,000 searchers in
45 states, ~20,000 reasons, nearly every search with a finding. Each phase runs in its own
subprocess so peak memory (``ru_maxrss`` from ``os.wait4``) is per phase; seconds are the median
of ``--runs`` runs and include interpreter start-up (about 0.3 s for every phase alike):

- ``import``: ``audit import --db STORE FILE`` into a fresh store;
- ``audit``: ``audit run --db STORE`` on a fresh copy of the imported store (tags, traces, every rule,
  findings written);
- ``report``: ``audit report`` (HTML) of that audited store;
- ``floor``: the data movement an import cannot avoid, on the same file (:mod:`benchmarks.floor`):
  pyarrow parse, dictionary and time encoding, bulk insert of the integer columns; the import's
  time is printed as a multiple of it;
- ``end to end`` (``--e2e``): import, audit and report one after the other in one subprocess;
- ``duckdb``: classification only, the baseline: the project's own immigration and DHS patterns
  (``Classifier.patterns_for``) as ``regexp_matches`` over the CSV, distinct reasons first, then
  counts per searcher (``Org Name``);
- ``python``: the same regexes in plain Python: ``csv`` over the file, a reason cache, counts per
  searcher.

The immigration counts of proxytrace and of the regex baseline are printed side by side, with the
distinct reasons they disagree on: context (``unless``) rules such as ``ICE SALES`` or
``ICE impersonation`` that a plain regex cannot express. ``--memory-check`` also audits a 1M-search
file and reports the audit's peak memory at 1M and at ``--searches`` (goal: under 500 MB and within
20% of each other). DuckDB is a benchmark-only dependency (the ``bench`` extra).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "benchmarks" / ".data"
IMMIGRATION_TAGS = ("immigration", "dhs_beneficiary")
# The same run of `audit` as a user types it, without depending on the console script being on PATH.
_AUDIT = [sys.executable, "-c", "import sys; sys.argv[0] = 'audit'; from auditor.cli import main; main()"]


# --- the synthetic file -------------------------------------------------------------------------


SHAPES = ("own", "wide")


def dataset(searches: int, seed: int, shape: str = "own") -> tuple[Path, dict[str, Any]]:
    """The synthetic Network Audit for (searches, seed, shape), generated once and reused afterwards.

    ``own``: El Cajon's year from the project's generator (:mod:`simulator.bulk`); ``wide``: an
    independent generator's file (:mod:`benchmarks.gen_wide_audit`): 3,000 searchers in 45 states,
    one California owner, nearly every search with a finding.
    """
    if shape == "wide":
        from benchmarks.gen_wide_audit import OWNER_FILE, write_wide_audit

        folder = DATA / f"wide-n{searches}-s{seed}"
        path, facts = folder / OWNER_FILE, folder / "counts.json"
        if not (path.exists() and facts.exists()):
            folder.mkdir(parents=True, exist_ok=True)
            facts.write_text(json.dumps(write_wide_audit(folder, searches, seed), indent=2))
        return path, json.loads(facts.read_text())
    from simulator.bulk import FILE_NAME, write_network_audit

    folder = DATA / f"n{searches}-s{seed}"
    path, facts = folder / FILE_NAME, folder / "counts.json"
    if path.exists() and facts.exists():
        return path, json.loads(facts.read_text())
    folder.mkdir(parents=True, exist_ok=True)
    counts = write_network_audit(folder, searches, seed)
    facts.write_text(json.dumps(counts, indent=2))
    return path, counts


# --- baselines: run inside a worker subprocess --------------------------------------------------


def immigration_regexes() -> list[str]:
    """The project's own immigration and DHS-beneficiary regexes, RE2-portable, context rules left out."""
    from auditor.purpose import default_classifier

    classifier = default_classifier()
    return [r for tag in IMMIGRATION_TAGS for r in classifier.patterns_for(tag)]


def duckdb_baseline(path: Path) -> dict[str, Any]:
    """Classify distinct reasons with regexp_matches, then count immigration rows per searcher."""
    import duckdb

    con = duckdb.connect()
    # `+` and `_` read as spaces, as the classifier reads them (URL-form debris).
    matches = " OR ".join(f"regexp_matches(replace(replace(reason, '+', ' '), '_', ' '), {_sql_str(r)})"
                          for r in immigration_regexes())
    con.execute(
        f"""CREATE TEMP TABLE pairs AS
            SELECT "Reason" AS reason, "Org Name" AS org, count(*) AS n
            FROM read_csv({_sql_str(str(path))}, header = true, all_varchar = true)
            GROUP BY ALL"""
    )
    con.execute(
        f"""CREATE TEMP TABLE flagged AS
            SELECT reason FROM (SELECT DISTINCT reason FROM pairs WHERE reason IS NOT NULL) WHERE {matches}"""
    )
    per_org = con.execute(
        "SELECT org, sum(n)::BIGINT FROM pairs JOIN flagged USING (reason) GROUP BY org ORDER BY 2 DESC, 1"
    ).fetchall()
    reasons = con.execute(
        "SELECT reason, sum(n)::BIGINT FROM pairs JOIN flagged USING (reason) GROUP BY reason").fetchall()
    rows = con.execute("SELECT sum(n)::BIGINT FROM pairs").fetchone()[0]
    return {"rows": rows, "immigration_rows": sum(n for _o, n in per_org), "agencies": len(per_org),
            "top_agencies": per_org[:5], "reasons": dict(reasons)}


def python_baseline(path: Path) -> dict[str, Any]:
    """The same regexes with the csv module and a reason cache, counting per searcher."""
    compiled = [re.compile(r) for r in immigration_regexes()]
    debris = str.maketrans({"+": " ", "_": " "})
    verdicts: dict[str, bool] = {}
    per_org: Counter[str] = Counter()
    rows = 0
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        reason_at, org_at = header.index("Reason"), header.index("Org Name")
        for record in reader:
            rows += 1
            reason = record[reason_at]
            hit = verdicts.get(reason)
            if hit is None:
                text = reason.translate(debris)
                hit = verdicts[reason] = bool(reason.strip()) and any(p.search(text) for p in compiled)
            if hit:
                per_org[record[org_at]] += 1
    return {"rows": rows, "immigration_rows": sum(per_org.values()), "agencies": len(per_org),
            "top_agencies": per_org.most_common(5)}


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# --- measuring ----------------------------------------------------------------------------------


def measure(argv: list[str]) -> tuple[float, float, str]:
    """Run one subprocess; return (wall seconds, peak RSS in MB, stdout). A failure stops the benchmark."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=REPO, stdout=out, stderr=err, text=True)
        # Reap the child ourselves: wait4 gives its own rusage, hence the phase's peak memory.
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise SystemExit(f"benchmark step failed ({' '.join(argv[3:])}): {stderr.strip()[-400:]}")
    return seconds, usage.ru_maxrss / 1024, stdout  # Linux reports ru_maxrss in KiB


def _worker(name: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "benchmarks.compare", "--worker", name, *args]


def _median_runs(runs: int, before, argv: list[str]) -> dict[str, Any]:
    times, peaks, out = [], [], ""
    for _ in range(runs):
        before()
        seconds, peak, out = measure(argv)
        times.append(seconds)
        peaks.append(peak)
    return {"seconds": statistics.median(times), "runs": times, "peak_mb": max(peaks), "stdout": out}


def _fresh(*paths: Path) -> None:
    for p in paths:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)


def compare(searches: int, runs: int, seed: int, shape: str = "own", e2e: bool = False) -> dict[str, Any]:
    """Time every phase, the floor and the baselines on the same file; return the table and the count check."""
    # Written in a worker: a fork keeps the parent's peak memory in its own (ru_maxrss survives exec),
    # so a generator run in this process would inflate every phase's peak after it.
    _seconds, _peak, out = measure(_worker("dataset", str(searches), str(seed), shape))
    written = json.loads(out)
    path, counts = Path(written["path"]), written["counts"]
    work = path.parent / "work"
    work.mkdir(exist_ok=True)
    imported, audited, both = work / "imported.db", work / "audited.db", work / "e2e.db"
    report = work / "report.html"

    phases: dict[str, dict[str, Any]] = {}
    phases["proxytrace import"] = _median_runs(runs, lambda: _fresh(imported),
                                               [*_AUDIT, "import", "--db", str(imported), str(path)])
    store_mb = _store_mb(imported)

    def copy_imported() -> None:
        _fresh(audited)
        shutil.copyfile(imported, audited)

    phases["proxytrace audit"] = _median_runs(runs, copy_imported, [*_AUDIT, "run", "--db", str(audited), "--json"])
    phases["proxytrace report"] = _median_runs(runs, lambda: report.unlink(missing_ok=True),
                                               [*_AUDIT, "report", "--db", str(audited), "--out", str(report)])
    if e2e:
        phases["proxytrace end to end"] = _median_runs(runs, lambda: _fresh(both),
                                                       _worker("e2e", str(path), str(both)))
    phases["floor (parse+encode+insert)"] = _median_runs(runs, lambda: None, _worker("floor", str(path)))
    phases["duckdb baseline"] = _median_runs(runs, lambda: None, _worker("duckdb", str(path)))
    phases["python baseline"] = _median_runs(runs, lambda: None, _worker("python", str(path)))

    duck = json.loads(phases["duckdb baseline"]["stdout"])
    plain = json.loads(phases["python baseline"]["stdout"])
    summary = json.loads(phases["proxytrace audit"]["stdout"])
    floor = json.loads(phases["floor (parse+encode+insert)"]["stdout"])
    check = count_check(audited, duck["reasons"])
    check["python_regex_rows"] = plain["immigration_rows"]
    check["by_construction_rows"] = counts.get("immigration_rows")
    base = phases["duckdb baseline"]["seconds"]
    table = [{"phase": name, "seconds": round(p["seconds"], 2), "rows_per_s": round(searches / p["seconds"]),
              "ratio_to_duckdb": round(p["seconds"] / base, 1), "peak_rss_mb": round(p["peak_mb"]),
              "runs": [round(t, 2) for t in p["runs"]]} for name, p in phases.items()]
    seconds = {name: p["seconds"] for name, p in phases.items()}
    three = seconds["proxytrace import"] + seconds["proxytrace audit"] + seconds["proxytrace report"]
    csv_mb = path.stat().st_size / 2**20
    return {"searches": searches, "seed": seed, "runs": runs, "shape": shape, "file": str(path), "file_counts": counts,
            "table": table, "audit_seconds_by_phase": summary.get("seconds", {}), "immigration": check,
            "floor": floor, "import_over_floor": round(seconds["proxytrace import"] / seconds["floor (parse+encode+insert)"], 2),
            "three_steps": {"seconds": round(three, 2), "ratio_to_duckdb": round(three / base, 1)},
            "store": {"csv_mb": round(csv_mb, 1), "imported_mb": store_mb, "audited_mb": _store_mb(audited),
                      "imported_over_csv": round(store_mb / csv_mb, 2),
                      "floor_table_mb": round(floor["table_bytes"] / 2**20, 1)},
            "load_average": os.getloadavg()}


def _store_mb(path: Path) -> float:
    """The store's size on disk, with its write-ahead log."""
    return round(sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists()) / 2**20, 1)


def count_check(store: Path, regex_reasons: dict[str, int]) -> dict[str, Any]:
    """proxytrace's immigration-related searches against the regex baseline's, reason by reason."""
    import sqlite3

    con = sqlite3.connect(store)
    tags = ",".join("?" * len(IMMIGRATION_TAGS))
    proxytrace = dict(con.execute(
        f"""SELECT r.text, COUNT(*) FROM searches s JOIN reasons r ON r.id = s.reason_id
            WHERE s.reason_id IN (SELECT reason_id FROM reason_tags WHERE tag IN ({tags})) GROUP BY r.text""",
        IMMIGRATION_TAGS))
    with_inferred = con.execute(
        f"SELECT COUNT(DISTINCT search_id) FROM tags WHERE tag IN ({tags})", IMMIGRATION_TAGS).fetchone()[0]
    beneficiaries = dict(con.execute("SELECT basis, COUNT(*) FROM beneficiaries GROUP BY basis"))
    con.close()
    only_regex = sorted(((t, n) for t, n in regex_reasons.items() if t not in proxytrace), key=lambda x: -x[1])
    only_proxytrace = sorted(((t, n) for t, n in proxytrace.items() if t not in regex_reasons), key=lambda x: -x[1])
    return {
        "proxytrace_rows": sum(proxytrace.values()),
        "proxytrace_rows_with_inferred_tags": with_inferred,
        "beneficiaries_by_basis": beneficiaries,
        "duckdb_regex_rows": sum(regex_reasons.values()),
        "regex_only": {"reasons": len(only_regex), "rows": sum(n for _t, n in only_regex), "top": only_regex[:15]},
        "proxytrace_only": {"reasons": len(only_proxytrace), "rows": sum(n for _t, n in only_proxytrace),
                            "top": only_proxytrace[:15]},
    }


def memory_check(searches: int, seed: int) -> dict[str, Any]:
    """Peak RSS of `audit run` at 1M searches and at ``searches``: under 500 MB, within 20%."""
    peaks = {}
    for n in sorted({1_000_000, searches}):
        path, _counts = dataset(n, seed)
        work = DATA / f"n{n}-s{seed}" / "work"
        work.mkdir(exist_ok=True)
        store = work / "memory.db"
        imported = work / "imported.db"
        if not imported.exists():
            measure([*_AUDIT, "import", "--db", str(imported), str(path)])
        _fresh(store)
        shutil.copyfile(imported, store)
        seconds, peak, _out = measure([*_AUDIT, "run", "--db", str(store), "--json"])
        peaks[n] = {"peak_rss_mb": round(peak), "seconds": round(seconds, 1)}
    values = [p["peak_rss_mb"] for p in peaks.values()]
    return {"audit_peak_by_searches": peaks, "under_500_mb": max(values) < 500,
            "within_20_percent": max(values) <= 1.2 * min(values)}


# --- output -------------------------------------------------------------------------------------


def format_report(result: dict[str, Any]) -> str:
    lines = [f"{result['searches']:,} searches ({result.get('shape', 'own')} shape), seed {result['seed']}, "
             f"median of {result['runs']} run(s); "
             f"{result['file_counts']['distinct_reasons']:,} distinct reasons, "
             f"{result['file_counts']['searcher_agencies']:,} searcher agencies; load average at the end "
             + " / ".join(f"{x:.1f}" for x in result.get("load_average", ())),
             "",
             f"{'phase':<28} {'seconds':>9} {'rows/s':>11} {'x duckdb':>9} {'peak MB':>8}"]
    for row in result["table"]:
        lines.append(f"{row['phase']:<28} {row['seconds']:>9.2f} {row['rows_per_s']:>11,} "
                     f"{row['ratio_to_duckdb']:>9.1f} {row['peak_rss_mb']:>8,}")
    if result.get("audit_seconds_by_phase"):
        lines.append("audit phases (s): " + ", ".join(f"{k} {v}" for k, v in result["audit_seconds_by_phase"].items()))
    if "floor" in result:
        f, st, three = result["floor"], result["store"], result["three_steps"]
        lines.append(f"floor stages (s): parse {f['seconds']['parse']}, encode {f['seconds']['encode']}, insert "
                     f"{f['seconds']['insert']} = {f['total']} (+ start-up); import is {result['import_over_floor']}x the floor")
        lines.append(f"import + audit + report: {three['seconds']} s = {three['ratio_to_duckdb']}x DuckDB classify-only")
        lines.append(f"store: CSV {st['csv_mb']} MB, imported {st['imported_mb']} MB ({st['imported_over_csv']}x the "
                     f"CSV), audited {st['audited_mb']} MB; the floor's table {st['floor_table_mb']} MB")
    imm = result["immigration"]
    lines += ["", "Immigration-related rows (reason tagged immigration or dhs_beneficiary):",
              f"  proxytrace          {imm['proxytrace_rows']:>9,}   "
              f"(with tags inferred beyond the reason: {imm['proxytrace_rows_with_inferred_tags']:,})",
              f"  duckdb regex        {imm['duckdb_regex_rows']:>9,}",
              f"  python regex        {imm['python_regex_rows']:>9,}",
              f"  by construction     {imm['by_construction_rows']:>9,}" if imm["by_construction_rows"] is not None
              else "  by construction     (not known for this shape)"]
    if imm["regex_only"]["reasons"]:
        lines.append(f"  regex only: {imm['regex_only']['rows']:,} rows on {imm['regex_only']['reasons']} distinct "
                     "reasons; context (`unless`) rules cancel them in proxytrace:")
        lines += [f"    {n:>8,}  {text!r}" for text, n in imm["regex_only"]["top"]]
    if imm["proxytrace_only"]["reasons"]:
        lines.append(f"  proxytrace only: {imm['proxytrace_only']['rows']:,} rows on "
                     f"{imm['proxytrace_only']['reasons']} distinct reasons:")
        lines += [f"    {n:>8,}  {text!r}" for text, n in imm["proxytrace_only"]["top"]]
    if "memory" in result:
        lines += ["", format_memory(result["memory"])]
    return "\n".join(lines)


def growth(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    """How much each phase's time grows from the small run to the large one, against the rows' growth.

    A factor near the rows' factor is linear; above it, the phase's cost grows faster than the data.
    """
    rows = large["searches"] / small["searches"]
    by_phase = {}
    small_rows = {r["phase"]: r for r in small["table"]}
    for r in large["table"]:
        if r["phase"] in small_rows and small_rows[r["phase"]]["seconds"]:
            by_phase[r["phase"]] = round(r["seconds"] / small_rows[r["phase"]]["seconds"], 2)
    audit = {k: round(v / small["audit_seconds_by_phase"][k], 2)
             for k, v in large.get("audit_seconds_by_phase", {}).items()
             if small.get("audit_seconds_by_phase", {}).get(k)}
    return {"from": small["searches"], "to": large["searches"], "rows_factor": round(rows, 2),
            "phases": by_phase, "audit_phases": audit}


def format_growth(g: dict[str, Any]) -> str:
    lines = [f"Growth from {g['from']:,} to {g['to']:,} searches (rows x{g['rows_factor']}): time factor per phase"]
    lines += [f"  {name:<24} x{factor}" for name, factor in g["phases"].items()]
    if g["audit_phases"]:
        lines.append("  audit phases: " + ", ".join(f"{k} x{v}" for k, v in g["audit_phases"].items()))
    return "\n".join(lines)


def format_memory(mem: dict[str, Any]) -> str:
    return ("Audit peak memory: " + ", ".join(
        f"{n:,} searches {p['peak_rss_mb']:,} MB ({p['seconds']} s)" for n, p in mem["audit_peak_by_searches"].items())
        + f"; under 500 MB: {'yes' if mem['under_500_mb'] else 'NO'}, within 20%: "
        f"{'yes' if mem['within_20_percent'] else 'NO'}")


def _run_worker(name: str, args: list[str]) -> None:
    if name == "duckdb":
        print(json.dumps(duckdb_baseline(Path(args[0]))))
    elif name == "python":
        print(json.dumps(python_baseline(Path(args[0]))))
    elif name == "dataset":
        path, counts = dataset(int(args[0]), int(args[1]), args[2])
        print(json.dumps({"path": str(path), "counts": counts}))
    elif name == "floor":
        from benchmarks.floor import measure as floor

        print(json.dumps(floor(Path(args[0]))))
    elif name == "e2e":
        from auditor.importers import import_files
        from auditor.scan import run_audit
        from auditor.schema import open_store

        db = open_store(args[1], create=True)
        import_files(db, [args[0]])
        seconds = run_audit(db).seconds
        from auditor.report import write_report

        write_report(db, Path(args[1]).with_suffix(".html"), "html", store=args[1])
        print(json.dumps(seconds))
    else:
        raise SystemExit(f"unknown worker {name!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--searches", type=int, default=10_000_000, help="rows in the synthetic file (default 10M)")
    parser.add_argument("--runs", type=int, default=3, help="runs per phase; the median is reported")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--memory-check", action="store_true",
                        help="also audit 1M searches and compare the audit's peak memory with --searches")
    parser.add_argument("--memory-only", action="store_true",
                        help="only the memory check (skips the timed comparison; for a quick 10M look)")
    parser.add_argument("--growth-from", type=int, metavar="N",
                        help="also run the comparison at N searches and report each phase's growth factor to --searches")
    parser.add_argument("--shape", choices=(*SHAPES, "both"), default="both",
                        help="file shape: the project's generator (own), an independent wide one (wide), or both")
    parser.add_argument("--e2e", action="store_true",
                        help="also time import, audit and report one after the other in one process")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args(argv)
    if args.worker:
        _run_worker(args.worker, rest)
        return
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.searches < 1 or args.runs < 1:
        parser.error("--searches and --runs must be at least 1")
    if args.memory_only:
        memory = memory_check(args.searches, args.seed)
        print(json.dumps(memory, indent=2) if args.json else format_memory(memory))
        return
    shapes = SHAPES if args.shape == "both" else (args.shape,)
    results = []
    for shape in shapes:
        result = compare(args.searches, args.runs, args.seed, shape, args.e2e)
        if args.memory_check and shape == "own":
            result["memory"] = memory_check(args.searches, args.seed)
        if args.growth_from:
            small = compare(args.growth_from, 3, args.seed, shape, args.e2e)  # medians of 3 at the small size
            result["small"] = small
            result["growth"] = growth(small, result)
        results.append(result)
        if not args.json:
            print(format_report(result))
            if args.growth_from:
                print("\n" + format_report(result["small"]) + "\n\n" + format_growth(result["growth"]))
            print()
    if args.json:
        print(json.dumps(results if len(results) > 1 else results[0], indent=2))


if __name__ == "__main__":
    main()
