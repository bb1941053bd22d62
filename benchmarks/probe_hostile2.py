"""The second hostile probe (issue 18), counted: `python -m benchmarks.probe_hostile2`.

Every probe runs a real `audit` process (memory capped at 2 GB, 120 s each, as in
`benchmarks/probe_hostile.py`) against the newer surfaces: special files, xlsx bombs, column-map
typos, PDF text, release versions, concurrent commands, pseudonymized spellings, `audit serve`,
long reasons and time cells. It counts tracebacks, hangs (timeouts), unbounded memory (a
MemoryError, an abort or a kill) and rows lost (an import whose rows read != imported + rejected,
or a row's text missing), and prints one line per failed probe.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

from benchmarks.probe_hostile import BIN, Probe, digest

WHEN = "12/08/2025, 05:28:52 PM UTC"
FRAME = "12/01/2025, 05:28:52 PM UTC\n" + WHEN
HEADER = ["ID", "Name", "Org Name", "Total Networks Searched", "Time Frame", "License Plate", "Reason",
          "Case #", "Filters", "Search Time", "Search Type", "Text Prompt", "Moderation"]


class Probe2(Probe):
    """A probe that also sorts failures into hangs, memory and rows lost."""

    def __init__(self, work: Path) -> None:
        super().__init__(work)
        self.hangs = self.memory = self.lost = 0

    def run(self, name: str, args: list[str], **kw) -> subprocess.CompletedProcess:
        done = super().run(name, args, **kw)
        if done.returncode == -1 and self.failures and "timed out" in self.failures[-1]:
            self.hangs += 1
        elif done.returncode in (134, -6, -9) or "MemoryError" in (done.stderr or ""):
            self.memory += 1
        return done

    def rows(self, name: str, done: subprocess.CompletedProcess) -> None:
        """An `audit import --json` account: every file's rows read = imported + rejected."""
        try:
            releases = json.loads(done.stdout)["releases"]
        except (ValueError, KeyError):
            return
        bad = [r["file_name"] for r in releases if not r["balanced"]]
        self.check(f"{name}: rows balance", not bad, f"rows lost in {bad}")
        if bad:
            self.lost += 1


def flock_csv(path: Path, rows: list[tuple[str, str]], *, user: str = "Ofc Lee", plate: str = "7ABC123",
              case: str = "", encoding: str = "utf-8") -> Path:
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(HEADER)
    for i, (uuid, reason) in enumerate(rows):
        w.writerow([uuid, user, "Santa Ana CA PD", "1", FRAME, plate, reason, case, "",
                    f"12/08/2025, 05:{i % 60:02d}:52 PM UTC", "search", "", ""])
    path.write_bytes(out.getvalue().encode(encoding))
    return path


def xlsx(path: Path, sheet_rows, dimension: str = "A1:B2") -> Path:
    """A minimal workbook whose one sheet's XML is streamed from ``sheet_rows`` (strings)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
                   'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override '
                   'PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
                   'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
                   '"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        z.writestr("xl/workbook.xml", f'<?xml version="1.0"?><workbook {ns} {rel}><sheets><sheet name="Audit" '
                   'sheetId="1" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.'
                   'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                   'openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
                   '</Relationships>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(f'<worksheet {ns}><dimension ref="{dimension}"/><sheetData>'.encode())
            for row in sheet_rows:
                fh.write(row.encode())
            fh.write(b"</sheetData></worksheet>")
    return path


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


HEAD_ROW = f'<row r="1">{cell("A1", "Reason")}{cell("B1", "DateTime")}</row>'


def data_row(r: int, reason: str = "stolen vehicle") -> str:
    return f'<row r="{r}">{cell(f"A{r}", reason)}<c r="B{r}"><v>44544.5</v></c></row>'


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="Keep the work folder.")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="proxytrace-probe2-"))
    p = Probe2(work)
    started = time.monotonic()
    try:
        _probe(p, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for failure in p.failures:
        print("FAIL", failure)
    print(f"{p.count} probes in {time.monotonic() - started:.0f} s: {len(p.failures)} failed ({p.tracebacks} tracebacks, "
          f"{p.hangs} hangs, {p.memory} unbounded memory, {p.lost} with rows lost)")
    return 1 if p.failures else 0


def audit(*args: object) -> list[str]:
    return ["audit", *map(str, args)]


def _probe(p: Probe2, work: Path) -> None:
    store = work / "s.db"
    base = flock_csv(work / "12_1_2025-12_31_2025-El_Cajon_CA_PD-Network-Audit.csv",
                     [("u1", "ICE request"), ("u2", "stolen vehicle")], user="Andre Dunn", plate="ABC1234", case="25-0042")
    p.run("import base", audit("import", "--db", store, base, "--owner", "El Cajon CA PD"), expect=(0,))
    p.run("run base", audit("run", "--db", store), expect=(0,))

    # Special files: never block, never read without end.
    fifo = work / "pipe"
    os.mkfifo(fifo)
    p.run("fifo as --db", audit("report", "--db", fifo, "--out", work / "r.md"), expect=(2,))
    done = p.run("fifo as input", audit("import", "--db", work / "f.db", fifo, base, "--owner", "El Cajon CA PD",
                                         "--json"), expect=(2,))
    p.check("fifo as input: the next file imported", '"rows_imported": 2' in done.stdout, "the next file was not imported")
    for key in (fifo, "/dev/zero", "/dev/stdin"):
        p.run(f"--key-file {key}", audit("report", "--db", store, "--out", work / "r.md", "--key-file", key), expect=(2,))
    big = work / "big.key"
    big.write_bytes(b"k" * 10_000_000)
    p.run("--key-file 10 MB", audit("report", "--db", store, "--out", work / "r.md", "--key-file", big), expect=(2,))
    p.run("--column-map fifo", audit("import", "--db", work / "m.db", base, "--format", "generic", "--column-map",
                                     fifo), expect=(2,))

    # xlsx: dimensions and unpacked sizes read from the archive before calamine.
    far = xlsx(work / "far.xlsx", [f'<row r="1">{cell("A1", "Reason")}{cell("B1", "DateTime")}{cell("XFD1", "x")}</row>',
                                   data_row(2), '<row r="1048576"/>', f'<row r="1048575">{cell("A1048575", "y")}</row>'])
    p.run("xlsx XFD1 and row 1,048,575", audit("import", "--db", work / "x.db", far, "--producer", "Irvine CA PD"), expect=(2,))
    formatted = xlsx(work / "formatted.xlsx", [f'<row r="1">{cell("A1", "Reason")}{cell("B1", "DateTime")}'
                                               f'{cell("XFD1", "Notes")}</row>', data_row(2),
                                               '<row r="1048576" s="1" customFormat="1"/>'])
    done = p.run("xlsx formatted row 1,048,576", audit("import", "--db", work / "y.db", formatted, "--producer",
                                                       "Irvine CA PD", "--json"), expect=(0,))
    p.rows("xlsx formatted row 1,048,576", done)
    p.check("xlsx formatted row: one padding record", '"rows_padding": 1' in done.stdout, done.stdout[-300:])
    p.run("xlsx dimension A1:XFD1048576", audit("import", "--db", work / "z.db",
                                                xlsx(work / "dim.xlsx", [HEAD_ROW, data_row(2)], "A1:XFD1048576"),
                                                "--producer", "Irvine CA PD"), expect=(2,))
    bomb_rows = (f'<row r="{r}">' + "".join(f'<c r="{c}{r}"><v>1</v></c>' for c in "ABCDEFGHIJKL") + "</row>"
                 for r in range(2, 1_000_002))
    bomb = xlsx(work / "bomb.xlsx", [HEAD_ROW, *bomb_rows])
    p.check("xlsx bomb is small", bomb.stat().st_size < 40 << 20, f"{bomb.stat().st_size:,} bytes")
    p.run(f"xlsx bomb ({bomb.stat().st_size >> 20} MB, 12M cells)", audit("import", "--db", work / "b.db", bomb,
                                                                           "--producer", "Irvine CA PD"), expect=(2,))

    # Column maps: typos and wrong types refused in one line.
    clets = work / "clets.csv"
    clets.write_text("Transaction Date,Agency,Operator,Purpose\n03/01/2019 14:05:09,Santee CA PD,a,ICE\n")
    good = ('[columns]\ntime = "Transaction Date"\nsearcher = "Agency"\nuser = "Operator"\nreason = "Purpose"\n'
            '[options]\nsystem = "clets"\ntime_format = "%m/%d/%Y %H:%M:%S"\naudit_kind = "organization"\n')
    for name, text in {"sytem": good.replace("system", "sytem"), "time_fromat": good.replace("time_format", "time_fromat"),
                       "columns = 3": "columns = 3\n", "columns = 'x'": 'columns = "x"\n',
                       "options = 3": good.split("[options]")[0] + "options = 3\n",
                       "query_types = 'x'": 'query_types = "x"\n' + good, "user = 3": good.replace('"Operator"', "3"),
                       "unknown table": good + "[colums]\nx = \"y\"\n"}.items():
        m = work / "map.toml"
        m.write_text(text)
        done = p.run(f"column map {name}", audit("import", "--db", work / "c.db", clets, "--format", "generic",
                                                 "--column-map", m), expect=(2,))
        p.check(f"column map {name}: one line", len(done.stderr.strip().splitlines()) == 1, done.stderr[-300:])

    # PDF text: an emoji, and a case number alone on a wrapped Reason line.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pdfprint import print_table, write_pdf

    header = ["ID", "userId", "networkCount", "Search Time", "Reason"]
    rows = [[f"0000000{n}-42eb-4f5c-9281-f5e8bf4864be", "***", "3", f"12/06/2025, 04:0{n}:53 AM UTC",
             ["assist HSI", "250012345", "stolen \x81 car"] if n in (1, 4) else "warrant"] for n in range(1, 6)]
    pdf = write_pdf(work / "Test_CA_PD-Audit.pdf", print_table(header, rows, [20, 150, 200, 260, 360], rows_per_page=3,
                                                              footer=True), to_unicode={"\x81": "\U0001F697"})
    after = flock_csv(work / "after_pdf.csv", [("p9", "warrant")])
    pdb = work / "pdf.db"
    done = p.run("pdf emoji + case-number line", audit("import", "--db", pdb, pdf, after, "--producer", "Test CA PD",
                                                       "--owner", "Test CA PD", "--json"), expect=(0,))
    p.rows("pdf", done)
    if pdb.exists():
        reasons = [r for (r,) in sqlite3.connect(pdb).execute("SELECT text FROM reasons")]
        p.check("pdf: no line lost", "assist HSI 250012345 stolen \U0001F697 car" in reasons, f"reasons {reasons}")
        if "assist HSI 250012345 stolen \U0001F697 car" not in reasons:
            p.lost += 1

    # Refused UTF-16 leaves nothing unfinished.
    cut = work / "cut16.csv"
    cut.write_bytes(base.read_text().encode("utf-16") + b"\x00\xd8")
    udb = work / "u.db"
    p.run("utf-16 cut", audit("import", "--db", udb, cut, "--owner", "El Cajon CA PD"), expect=(2,))
    if udb.exists():
        left = sqlite3.connect(udb).execute("SELECT COUNT(*) FROM releases WHERE status <> 'complete'").fetchone()[0]
        p.check("utf-16 cut: no unfinished import", left == 0, f"{left} unfinished")

    # Release versions: found whatever the import order.
    v1 = flock_csv(work / "12_1_2025-12_31_2025-Owner_CA_PD-Network-Audit.csv", [("v1", "stolen vehicle"), ("v2", "warrant")])
    v2 = flock_csv(work / "12_1_2025-12_31_2025-Owner_CA_PD-Network-Audit-v2.csv", [("v1", "ICE request"), ("v2", "warrant")])
    found = []
    for i, order in enumerate(((v1, v2), (v2, v1))):
        vdb = work / f"v{i}.db"
        for f in order:
            p.rows(f"versions {i}", p.run(f"versions import {i}", audit("import", "--db", vdb, f, "--owner",
                                                                         "Owner CA PD", "--json"), expect=(0,)))
        p.run(f"versions run {i}", audit("run", "--db", vdb), expect=(0,))
        found.append(dict(sqlite3.connect(vdb).execute("SELECT rule_id, COUNT(*) FROM findings GROUP BY rule_id")))
    p.check("versions: findings do not depend on import order", found[0] == found[1], str(found))
    p.check("versions: the contradiction is found", found[0].get("release.versions_differ", 0) >= 1, str(found[0]))
    # The ICE version is not lost: the search is judged by every version's text. A reason the releases
    # contest (`ICE request` against `stolen vehicle`) states no clear immigration purpose, so no law
    # rests on it (facts.immigration_stated); the side-door finding (practice) still sees it.
    p.check("versions: the ICE version is seen", found[0].get("door.side", 0) == 1, str(found[0]))
    p.check("versions: no law rests on a contested reason", found[0].get("ca.sb54.immigration", 0) == 0,
            str(found[0]))

    # Concurrent commands.
    argv = [str(BIN / "audit"), "run", "--db", str(store)]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [proc.communicate(timeout=300) for proc in procs]
    p.count += 1
    if any("Traceback" in err for _, err in outs):
        p.tracebacks += 1
        p.fail("two runs at once", "traceback")
    p.check("two runs at once: exit 0 or a one-line refusal", all(proc.returncode in (0, 2) for proc in procs),
            str([proc.returncode for proc in procs]))
    p.run("report after two runs", audit("report", "--db", store, "--out", work / "after.md"), expect=(0,))
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from auditor.storelock import store_lock\n"
                               f"with store_lock({str(store)!r}, 'audit run'):\n    print('held', flush=True); time.sleep(20)"],
                              stdout=subprocess.PIPE, text=True)
    holder.stdout.readline()
    a, b = flock_csv(work / "A.csv", [("a1", "warrant")]), flock_csv(work / "B.csv", [("b1", "warrant")])
    done = p.run("import during a run", audit("import", "--db", store, a, b, "--owner", "El Cajon CA PD"), expect=(2,))
    p.check("import during a run: each file's outcome", done.stdout.count("refused: the store is busy") == 2,
            done.stdout[-300:])
    p.run("run during a run", audit("run", "--db", store), expect=(2,))
    p.run("serve during a run", audit("serve", "--db", store, "--port", "0"), expect=(2,))
    holder.kill()
    holder.wait()
    unfinished = sqlite3.connect(store).execute("SELECT COUNT(*) FROM runs WHERE finished_at IS NULL").fetchone()[0]
    p.check("no unfinished run left", unfinished == 0, f"{unfinished} unfinished runs")

    # Pseudonymized spellings in every format.
    con = sqlite3.connect(store)
    spellings = ["abc 1234", "ABC-1234", "ABC1234/XYZ9876", "abc1234-stolen", "Dunn", "DUNN ANDRE", "dunn, andre",
                 "25 0042", "#250042"]
    rid = con.execute("INSERT OR IGNORE INTO reasons (text) VALUES (?)", ["ICE " + "; ".join(spellings)]).lastrowid
    con.execute("UPDATE searches SET reason_id = ?", [rid])
    con.commit()
    ids = [i for (i,) in con.execute("SELECT id FROM searches")]
    con.close()
    key = work / "key"
    key.write_text("a-key-of-thirty-two-characters!!")
    pattern = re.compile("|".join(rf"(?<![^\W_]){re.escape(s.casefold())}(?![^\W_])"
                                  for s in ["abc 1234", "abc-1234", "abc1234", "dunn", "andre", "25 0042", "250042",
                                            "25-0042"]))
    for fmt in ("html", "md", "csv", "json"):
        target = work / f"masked.{fmt}"
        p.run(f"pseudonymized {fmt}", audit("report", "--db", store, "--out", target, "--key-file", key), expect=(0,))
        if target.exists():
            text = re.sub(r"<style>.*?</style>", "", target.read_text(encoding="utf-8"), flags=re.DOTALL)
            hits = sorted({m.group() for m in pattern.finditer(text.casefold())})
            p.check(f"pseudonymized {fmt}: no spelling survives", not hits, f"leaked {hits}")
    for search_id in ids:
        done = p.run(f"explain {search_id}", audit("explain", "--db", store, search_id, "--pseudonymize", "--key-file",
                                                   key), expect=(0,))
        hits = sorted({m.group() for m in pattern.finditer(done.stdout.casefold())})
        p.check(f"explain {search_id} --pseudonymize: no spelling survives", not hits, f"leaked {hits}")

    # audit serve: Host header, the store's bytes.
    _probe_serve(p, store)

    # Inverted period in a file name.
    inv = flock_csv(work / "12_31_2025-12_1_2025-El_Cajon_CA_PD-Network-Audit.csv", [("i1", "warrant")])
    done = p.run("inverted period", audit("import", "--db", work / "i.db", inv, "--owner", "El Cajon CA PD", "--json"),
                 expect=(0,))
    p.check("inverted period: noted", "inverted or impossible" in done.stdout, done.stdout[-300:])

    # Long reasons through `audit run` (the requesters scan is another branch's).
    for n in (100_000, 1_000_000):
        long = flock_csv(work / f"long{n}.csv", [("l1", "ICE " + "a" * n), ("l2", "x" * n), ("l3", "I." * (n // 2))])
        ldb = work / f"long{n}.db"
        p.rows(f"long reason import {n:,}", p.run(f"long reason import {n:,}", audit(
            "import", "--db", ldb, long, "--owner", "El Cajon CA PD", "--json"), expect=(0,)))
        p.run(f"long reason run {n:,}", audit("run", "--db", ldb), expect=(0,))

    # Time cells (another branch's): a 400-digit serial and a %z time in year 1.
    sheet = work / "times.csv"
    sheet.write_text("Reason,DateTime\nstolen," + "9" * 400 + "\n")
    p.run("time cell 400 digits", audit("import", "--db", work / "t.db", sheet, "--producer", "Irvine CA PD"))
    zmap = work / "z.toml"
    zmap.write_text('[columns]\ntime = "When"\nreason = "Why"\n[options]\ntime_format = "%Y-%m-%d %H:%M:%S%z"\n')
    zlog = work / "z.csv"
    zlog.write_text("When,Why\n0001-01-01 00:00:00+0100,stolen\n")
    p.run("time cell %z year 1", audit("import", "--db", work / "z.db", zlog, "--format", "generic", "--column-map", zmap))


def _probe_serve(p: Probe2, store: Path) -> None:
    import http.client
    import socket

    try:
        import datasette  # noqa: F401
    except ImportError:
        p.check("serve", False, "datasette not installed (pip install '.[serve]')")
        return
    con = sqlite3.connect(store)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = digest(store)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(BIN / "audit"), "serve", "--db", str(store), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    status = {}
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and server.poll() is None:
            try:
                for host in (f"localhost:{port}", f"attacker.example:{port}", "127.0.0.1.nip.io"):
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/-/versions.json", headers={"Host": host})
                    status[host] = c.getresponse().status
                    c.close()
                break
            except OSError:
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=20)
    p.check("serve: localhost answered", status.get(f"localhost:{port}") == 200, str(status))
    p.check("serve: another Host refused", status.get(f"attacker.example:{port}") == 421 and
            status.get("127.0.0.1.nip.io") == 421, str(status))
    p.check("serve: the store's bytes unchanged", digest(store) == before, "sha256 changed")


if __name__ == "__main__":
    threading.stack_size(1 << 24)
    sys.exit(main())
