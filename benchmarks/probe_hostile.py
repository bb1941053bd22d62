"""A hostile user's probe of the command line (issue 12), counted: `python -m benchmarks.probe_hostile`.

Every probe runs a real `audit` or `simulate` process (memory capped at 2 GB, 120 s each) and checks
what it is meant to: an exit code of 0 or 2 and no traceback; no input file changed; no raw control
character in any output; no Unicode form evading the immigration patterns; no plate, officer name
or case number of the store in a pseudonymized output. Prints one line per failed probe and a total.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from auditor.pseudonym import leaked

BIN = Path(sys.executable).parent
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
EDGE = ["0", "-1", "nan", "inf", "-inf", "1e308", "1e309", str(2**63), str(2**64), "9" * 100, "1_0", "", "x"]
WHEN = "12/08/2025, 05:28:52 PM UTC"
HOSTILE_REASONS = ["\x1b]0;pwned\x07ICE hold", "\x1b[2J\x1b[Hcleared", "stolen\u202e rac", "warrant\x9b31m",
                   "assist\rover", "null\x00byte", "bell\x07", "\u2066iso\u2069late", "line\u2028sep"]
ARGV_SAFE = [r for r in HOSTILE_REASONS if "\x00" not in r]  # argv cannot carry NUL; stdin does
EVASIONS = ["I.C.E. request", "i.c.e request", "I\u200bCE request", "I\u200cCE hold", "I\u2060CE hold",
            "I\u00adCE hold", "\uff29\uff23\uff25 request", "\u0406\u0421\u0415 request", "I\u0421E hold",
            "\u0399CE hold", "\ufeffICE hold", "H.S.I. assist", "H\u00adSI assist", "\uff28\uff33\uff29 assist"]


class Probe:
    def __init__(self, work: Path) -> None:
        self.work = work
        self.count = 0
        self.failures: list[str] = []
        self.tracebacks = 0

    def run(self, name: str, args: list[str], *, expect: tuple[int, ...] = (0, 2), stdin: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        self.count += 1

        def limit() -> None:
            resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))

        try:
            done = subprocess.run([str(BIN / args[0]), *args[1:]], cwd=self.work, capture_output=True, text=True,
                                  input=stdin, timeout=120, preexec_fn=limit, env={**os.environ, **(env or {})},
                                  encoding="utf-8", errors="surrogateescape")
        except subprocess.TimeoutExpired:
            self.fail(name, "timed out after 120 s")
            return subprocess.CompletedProcess(args, -1, "", "")
        if "Traceback" in done.stderr or "Traceback" in done.stdout:
            self.tracebacks += 1
            self.fail(name, "traceback: " + done.stderr.strip().splitlines()[-1][:200])
        elif done.returncode not in expect:
            self.fail(name, f"exit {done.returncode}: {done.stderr.strip()[:200]}")
        return done

    def check(self, name: str, ok: bool, why: str) -> None:
        self.count += 1
        if not ok:
            self.fail(name, why)

    def fail(self, name: str, why: str) -> None:
        self.failures.append(f"{name}: {why!r}")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "absent"


def flock_csv(path: Path, reasons: list[str], user: str = "Ofc \x1b[5mDoe") -> Path:
    import csv

    header = ["ID", "Name", "Org Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason",
              "Case #", "Filters", "Search Time", "Search Type", "Text Prompt", "Moderation"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow(header)
        for i, reason in enumerate(reasons):
            w.writerow([f"00000000-0000-0000-0000-{i:012d}", user, "Dallas TX PD", "12",
                        f"12/01/2025, 05:28:52 PM UTC\n{WHEN}", f"ZZ{i:04d}", reason, f"25-{i:06d}", "", WHEN,
                        "search", "", ""])
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="proxytrace-probe-"))
    p = Probe(work)
    try:
        _probe(p, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for failure in p.failures:
        print("FAIL", failure)
    print(f"{p.count} probes, {len(p.failures)} failed, {p.tracebacks} tracebacks")
    return 1 if p.failures else 0


def _probe(p: Probe, work: Path) -> None:
    store = work / "s.db"
    p.run("simulate", ["simulate", "--scenario", "el_cajon", "--scale", "0.02", "--out", str(store),
                       "--export-dir", str(work / "logs")], expect=(0,))
    p.run("run", ["audit", "run", "--db", str(store)], expect=(0,))
    con = sqlite3.connect(store)
    secrets = {v for col in ("plate", "user", "case_number")
               for (v,) in con.execute(f"SELECT DISTINCT {col} FROM searches WHERE {col} IS NOT NULL")}
    con.close()
    releases = sorted((work / "logs").glob("*.csv"))

    # Outputs never clobber inputs.
    (work / "notes.md").write_text("mine\n")
    os.symlink(store, work / "link.html")
    os.link(store, work / "hard.html")
    for target in [store, "./s.db", "link.html", "hard.html", "s.db-wal", "notes.md", *releases]:
        before = {f: digest(f) for f in [store, work / "notes.md", *releases]}
        p.run(f"report --out {target}", ["audit", "report", "--db", str(store), "--out", str(target)], expect=(2,))
        p.check(f"report --out {target}", before == {f: digest(f) for f in before}, "an input changed")
    before = {f: digest(f) for f in releases}
    p.run("export over releases", ["simulate", "--scenario", "el_cajon", "--scale", "0.02", "--out",
                                   str(work / "s2.db"), "--export-dir", str(work / "logs")], expect=(2,))
    p.check("export over releases", before == {f: digest(f) for f in releases}, "a release changed")

    # Numbers and dates.
    for value in EDGE:
        p.run(f"explain {value!r}", ["audit", "explain", "--db", str(store), "--", value])
        p.run(f"report --examples {value!r}", ["audit", "report", "--db", str(store), "--out", "-", "--format", "md",
                                               "--examples", value])
        for option in ("--mass-networks", "--relay-days"):
            p.run(f"run {option} {value!r}", ["audit", "run", "--db", str(store), option, value])
        for option in ("--scale", "--seed"):
            p.run(f"simulate {option} {value!r}", ["simulate", "--scenario", "el_cajon", "--out", str(work / "e.db"),
                                                   "--overwrite", "--scale", "0.01", option, value])
    for scale in ("1e9", "1e6", "9000"):
        p.run(f"simulate --scale {scale}", ["simulate", "--scenario", "el_cajon", "--out", str(work / "big.db"),
                                            "--overwrite", "--scale", scale], expect=(2,))
    tiny = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sim_tiny.toml"
    for old, new in [("end = 2025-03-31", "end = 9999-12-31"), ("start = 2025-03-01", "start = 0001-01-01"),
                     ("reads_per_day = 300", "reads_per_day = 9223372036854775807"),
                     ("residents = 500", "residents = 1000000000"), ("searches_per_year = 1200", "searches_per_year = inf"),
                     ("searches_per_year = 1200", "searches_per_year = nan"), ("lat = 37.0", "lat = nan"),
                     ("CA = 3", "CA = 99999999"), ("fixed = 6", "fixed = 100000000"), ("vague_rate = 0.2", "vague_rate = inf")]:
        scenario = work / "edge.toml"
        scenario.write_text(tiny.read_text().replace(old, new, 1))
        p.run(f"scenario {new}", ["simulate", "--scenario", str(scenario), "--out", str(work / "edge.db"),
                                  "--overwrite"], expect=(2,))

    # Foreign files stay unchanged.
    foreign = work / "photos.db"
    c = sqlite3.connect(foreign)
    c.execute("CREATE TABLE albums (id INTEGER)")
    c.commit()
    c.close()
    odd = work / "odd.db"
    c = sqlite3.connect(odd)
    c.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT); CREATE TABLE searches (id INTEGER);"
                    "INSERT INTO meta VALUES ('schema_version', 'x1');")
    c.commit()
    c.close()
    for path in (foreign, odd):
        for verb in (["run"], ["agencies"], ["score"], ["explain", "1"], ["import", str(releases[0])]):
            before = digest(path)
            p.run(f"{verb[0]} on {path.name}", ["audit", verb[0], "--db", str(path), *verb[1:]], expect=(2,))
            p.check(f"{verb[0]} on {path.name}", digest(path) == before, "the foreign file changed")
        p.check(f"{path.name} journal", sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "delete",
                "switched to WAL")

    # One import command, one outcome.
    binary = work / "binary.csv"
    binary.write_bytes(os.urandom(4000))
    mixed = work / "m.db"
    done = p.run("import good+binary+good", ["audit", "import", "--db", str(mixed), "--json", str(releases[0]),
                                             str(binary), str(releases[1])], expect=(2,))
    data = json.loads(done.stdout) if done.stdout else {"releases": []}
    p.check("import outcomes", [r["status"] for r in data["releases"]] == ["complete", "refused", "complete"],
            "not every file's outcome was reported")
    twice = p.run("import twice", ["audit", "import", "--db", str(work / "t.db"), "--json", str(releases[0]),
                                   str(releases[0])], expect=(0,))
    totals = json.loads(twice.stdout)["totals"] if twice.stdout else {}
    once = sqlite3.connect(work / "t.db").execute("SELECT SUM(rows_read) FROM releases").fetchone()[0]
    p.check("import twice totals", totals.get("rows_read") == once, f"totals {totals.get('rows_read')} vs {once}")
    c = sqlite3.connect(mixed)
    c.execute("INSERT INTO releases (file_name, sha256, format, audit_kind, rows_read, rows_imported, rows_rejected,"
              " status) VALUES ('killed.csv', 'k', 'flock_audit', 'network', 0, 0, 0, 'importing')")
    c.commit()
    c.close()
    out = p.run("run with unfinished", ["audit", "run", "--db", str(mixed)], expect=(0,))
    p.check("run says unfinished", "killed.csv" in out.stdout, "no word of the unfinished release")
    out = p.run("report with unfinished", ["audit", "report", "--db", str(mixed), "--out", "-", "--format", "md"])
    p.check("report says unfinished", "killed.csv" in out.stdout, "no word of the unfinished release")
    out = p.run("explain with unfinished", ["audit", "explain", "--db", str(mixed), "1"])
    p.check("explain says unfinished", "killed.csv" in out.stdout, "no word of the unfinished release")

    # Control characters in every sink.
    hostile = flock_csv(work / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv", HOSTILE_REASONS)
    hs = work / "h.db"
    p.run("import hostile", ["audit", "import", "--db", str(hs), str(hostile)], expect=(0,))
    p.run("run hostile", ["audit", "run", "--db", str(hs)], expect=(0,))
    for fmt in ("md", "csv", "json", "html"):
        for target in ("-", str(work / f"h.{fmt}")):
            out = p.run(f"hostile report {fmt} {target}", ["audit", "report", "--db", str(hs), "--out", target,
                                                          "--format", fmt], expect=(0,))
            text = out.stdout if target == "-" else Path(target).read_text(encoding="utf-8")
            p.check(f"hostile report {fmt} {target}", not RAW.search(text.replace("\r\n", "\n")), "raw control character")
    for args in (["explain", "--db", str(hs), "1"], ["explain", "--db", str(hs), "2", "--json"],
                 ["classify", *ARGV_SAFE], ["classify", "--json", *ARGV_SAFE], ["agencies", "--db", str(hs)],
                 ["run", "--db", str(hs)], ["import", "--db", str(hs), str(hostile)]):
        out = p.run(f"hostile {args[0]}", ["audit", *args], expect=(0,))
        p.check(f"hostile {' '.join(args[:2])}", not RAW.search(out.stdout + out.stderr), "raw control character")
    out = p.run("hostile classify stdin", ["audit", "classify"], stdin="\n".join(HOSTILE_REASONS), expect=(0,))
    p.check("hostile classify stdin", not RAW.search(out.stdout), "raw control character")

    # Unicode forms do not evade the patterns.
    out = p.run("classify evasions", ["audit", "classify", "--json", *EVASIONS], expect=(0,))
    for line, reason in zip(out.stdout.splitlines(), EVASIONS):
        tags = {t["tag"] for t in json.loads(line)["tags"]}
        p.check(f"evasion {reason!r}", "dhs_beneficiary" in tags, f"tags {sorted(tags)}")

    # Worksheets.
    header = "exercise,item,violation,rule,beneficiary"
    for text in (f"{header},rule\nex,1,yes,a,,b\n", f"{header}\nex,1\n", f"{header},colour\nex,1,yes,a,,b\n",
                 f"{header}\nex,1,yes,a,,b,c\n"):
        sheet = work / "sheet.csv"
        sheet.write_text(text)
        p.run("worksheet", ["audit", "grade", str(sheet), "--key", str(work / "none.json")], expect=(2,))

    # Pseudonymized outputs.
    key = work / "key"
    key.write_text("probe-key-with-enough-bytes-0123\n")
    for fmt in ("html", "md", "json", "csv"):
        target = work / f"p.{fmt}"
        p.run(f"pseudonymized {fmt}", ["audit", "report", "--db", str(store), "--out", str(target), "--key-file", str(key)],
              expect=(0,))
        found = leaked(target.read_text(encoding="utf-8"), secrets)
        p.check(f"pseudonymized {fmt}", not found, f"{len(found)} values leaked, e.g. {found[:3]}")
    ids = [r[0] for r in sqlite3.connect(store).execute(
        "SELECT search_id FROM findings WHERE search_id IS NOT NULL ORDER BY search_id LIMIT 10")]
    for search_id in ids:
        out = p.run(f"pseudonymized explain {search_id}", ["audit", "explain", "--db", str(store), str(search_id),
                                                           "--json", "--pseudonymize"],
                    env={"PROXYTRACE_PSEUDONYM_KEY": key.read_text().strip()}, expect=(0,))
        p.check(f"pseudonymized explain {search_id}", not leaked(out.stdout, secrets), "values leaked")
    p.run("pseudonymized export", ["simulate", "--scenario", "el_cajon", "--scale", "0.02", "--out",
                                   str(work / "s3.db"), "--export-dir", str(work / "plogs"), "--key-file", str(key)],
          expect=(0,))
    con = sqlite3.connect(work / "s3.db")
    secrets3 = {v for col in ("plate", "user", "case_number")
                for (v,) in con.execute(f"SELECT DISTINCT {col} FROM searches WHERE {col} IS NOT NULL")}
    for path in sorted((work / "plogs").glob("*.csv")):
        p.check(f"pseudonymized export {path.name}", not leaked(path.read_text(encoding="utf-8"), secrets3), "values leaked")


if __name__ == "__main__":
    raise SystemExit(main())
