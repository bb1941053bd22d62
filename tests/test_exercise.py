"""Training exercises (`simulate exercise`) and grading a trainee's worksheet (`audit grade`)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import audit
from auditor.grade import grade, load_key, read_worksheet
from auditor.schema import open_store
from simulator.cli import simulate
from simulator.exercise import FILES, WORKSHEET_COLUMNS, build_exercise, make_exercise, worksheet_html, \
    answer_key_html, write_exercise

FIXTURES = Path(__file__).parent / "fixtures" / "exercise"
KEY = FIXTURES / "answer_key.json"


@pytest.fixture(scope="module")
def exercise(tmp_path_factory):
    """An el_cajon exercise written by the CLI, with its store kept for the escaping test."""
    folder = tmp_path_factory.mktemp("exercise")
    result = CliRunner().invoke(simulate, ["exercise", "--scenario", "el_cajon", "--seed", "5",
                                           "--out", str(folder / "ex"), "--store", str(folder / "store.db")])
    assert result.exit_code == 0, result.output
    key = json.loads((folder / "ex" / "answer_key.json").read_text(encoding="utf-8"))
    return folder, key


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _fill(folder: Path, name: str, answers) -> Path:
    """Copy the worksheet with the answer columns filled by `answers(row, key_item)`."""
    key = {i["item"]: i for i in json.loads((folder / "ex" / "answer_key.json").read_text())["items"]}
    rows = _rows(folder / "ex" / "worksheet.csv")
    out = folder / name
    with open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=WORKSHEET_COLUMNS)
        writer.writeheader()
        for row in rows:
            row.update(answers(row, key[row["item"]]))
            writer.writerow(row)
    return out


def _perfect(_row, item):
    return {"violation": "yes" if item["violation"] else "no", "rule": item["rule"],
            "beneficiary": item["beneficiary"] or ""}


# --- the exercise ---------------------------------------------------------------------------------

def test_exercise_writes_worksheet_and_separate_answer_key(exercise):
    folder, key = exercise
    assert sorted(p.name for p in (folder / "ex").iterdir()) == sorted(FILES)
    rows = _rows(folder / "ex" / "worksheet.csv")
    assert len(rows) == 20 and list(rows[0]) == list(WORKSHEET_COLUMNS)
    assert all(r["violation"] == r["rule"] == r["beneficiary"] == r["notes"] == "" for r in rows)
    assert all(r["reason"] and r["searcher_state"] and r["owner"] and r["scope"] for r in rows)
    # The worksheet gives the context, never the answers.
    page = (folder / "ex" / "worksheet.html").read_text(encoding="utf-8")
    assert all(f"search {r['search_id']}" in page for r in rows)
    assert not any(i["reasoning"][:60] in page for i in key["items"])


def test_items_mix_clear_disguised_and_legitimate_searches(exercise):
    _, key = exercise
    by_category = {}
    for item in key["items"]:
        by_category.setdefault(item["category"], []).append(item)
    assert {c: len(v) for c, v in by_category.items()} == {"disguised": 5, "clear": 7, "legitimate": 8}
    assert {i["violation"] for i in by_category["legitimate"]} == {True, False}
    assert any(i["beneficiary"] for i in by_category["disguised"])
    assert all(i["truth"]["disguised"] for i in by_category["disguised"])


def test_key_gives_each_violation_a_rule_citation_and_reasoning(exercise):
    _, key = exercise
    for item in key["items"]:
        if item["violation"] and item["rule"] != "none":
            assert item["rule"] == item["accepted_rules"][0] and item["rule"] in item["applicable_rules"]
            assert key["rules"][item["rule"]]["citation"] in item["citation"]
        assert "What happened" in item["reasoning"] and "The audit" in item["reasoning"]
    side = [i for i in key["items"] if i["rule"] == "door.side"]
    assert side and all(i["beneficiary"] for i in side)


def test_disguised_items_say_what_evidence_could_reveal_them_and_whether_the_audit_caught_it(exercise):
    _, key = exercise
    for item in (i for i in key["items"] if i["category"] == "disguised"):
        text = item["reasoning"]
        assert "Evidence that could reveal it" in text or "its identity" in text
        if "Evidence" in text:
            assert ("inference caught it" in text) == item["audit"]["caught"]


def test_plate_relay_hints_name_who_searched_the_same_plate_and_when(exercise):
    folder, key = exercise
    db = open_store(folder / "store.db")
    rows = {r["item"]: r for r in _rows(folder / "ex" / "worksheet.csv")}
    relayed = [i for i in key["items"] if (i["audit"]["inferred_beneficiary"] or {}).get("basis") == "plate_relay"]
    assert relayed, "seed 5 puts a search the audit tied by plate relay on the sheet"
    for item in relayed:
        assert "the same plate was searched" in rows[item["item"]]["relay_hints"]
        assert "[Federal]" in rows[item["item"]]["relay_hints"]
    for row in (r for r in rows.values() if "the same plate was searched" in r["relay_hints"]):
        hint = row["relay_hints"].split(";")[0]
        name = hint.split(" by ", 1)[1]
        op = "<" if "earlier" in hint or "before" in hint else ">"
        assert db.execute(
            f"""SELECT COUNT(*) FROM searches o JOIN agencies a ON a.id = o.searcher_id
                JOIN searches s ON s.id = ? WHERE o.plate = s.plate AND a.name = ? AND o.time {op}= s.time""",
            [int(row["search_id"]), name]).fetchone()[0] > 0, hint


def test_same_seed_gives_identical_files_and_another_seed_other_items(exercise, tmp_path):
    folder, key = exercise
    write_exercise(make_exercise("el_cajon", seed=5), tmp_path / "again")
    for name in FILES:
        assert (tmp_path / "again" / name).read_bytes() == (folder / "ex" / name).read_bytes(), name
    db = open_store(folder / "store.db")
    other = build_exercise(db, seed=6)
    assert [i.search_id for i in other.items] != [i["search_id"] for i in key["items"]]


def test_html_escapes_reasons_and_csv_neutralizes_formulas(exercise, tmp_path):
    folder, key = exercise
    db = open_store(folder / "store.db")
    target = key["items"][0]["search_id"]
    db.execute("UPDATE reasons SET text = '<script>alert(1)</script>' WHERE id = "
               "(SELECT reason_id FROM searches WHERE id = ?)", [target])
    second = key["items"][1]["search_id"]
    db.execute("UPDATE reasons SET text = '=HYPERLINK(\"http://x\")' WHERE id = "
               "(SELECT reason_id FROM searches WHERE id = ?)", [second])
    db.conn.commit()
    rebuilt = build_exercise(db, seed=5)
    assert rebuilt.items[0].context["reason"] == "<script>alert(1)</script>"
    for page in (worksheet_html(rebuilt), answer_key_html(rebuilt)):
        assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "http" not in page.split("<style>")[0]  # self-contained: no external resources
    write_exercise(rebuilt, tmp_path / "escaped")
    cells = [r["reason"] for r in _rows(tmp_path / "escaped" / "worksheet.csv")]
    assert "'=HYPERLINK(\"http://x\")" in cells


# --- grading the exercise's own worksheet ---------------------------------------------------------

def test_perfect_worksheet_scores_100(exercise):
    folder, _ = exercise
    sheet = _fill(folder, "perfect.csv", _perfect)
    result = CliRunner().invoke(audit, ["grade", str(sheet), "--key", str(folder / "ex" / "answer_key.json")])
    assert result.exit_code == 0, result.output
    assert "100%" in result.output.splitlines()[0] and "Misses" not in result.output


def test_blank_worksheet_scores_0_with_every_item_explained(exercise):
    folder, key = exercise
    result = CliRunner().invoke(audit, ["grade", str(folder / "ex" / "worksheet.csv"),
                                        "--key", str(folder / "ex" / "answer_key.json"), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["points"] == 0 and data["percent"] == 0
    assert data["possible"] == sum(2 + bool(i["beneficiary"]) for i in key["items"])
    for graded, item in zip(data["items"], key["items"]):
        assert graded["explanation"] == item["reasoning"] and graded["citation"] == item["citation"]


def test_half_filled_worksheet_scores_exactly_the_filled_items(exercise):
    folder, key = exercise
    filled = {i["item"] for i in key["items"][::2]}
    sheet = _fill(folder, "half.csv", lambda row, item: _perfect(row, item) if row["item"] in filled else {})
    data = grade(read_worksheet(sheet), load_key(folder / "ex" / "answer_key.json")).to_json()
    expected = sum(2 + bool(i["beneficiary"]) for i in key["items"] if i["item"] in filled)
    assert data["points"] == expected
    assert [i["item"] for i in data["items"] if i["explanation"]] == [i["item"] for i in key["items"] if i["item"] not in filled]


# --- grading rules, on a three-item key written by hand ---------------------------------------------

def test_partly_right_worksheet_scores_exactly_four_of_seven():
    result = CliRunner().invoke(audit, ["grade", str(FIXTURES / "partly_right.csv"), "--key", str(KEY), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["points"], data["possible"], data["percent"]) == (4, 7, 57.1)
    q1 = data["items"][0]["checks"]
    # A medium rule that applies, where high ones apply, misses the point of a side-door case.
    assert q1["violation"]["correct"] and q1["beneficiary"]["correct"] and not q1["rule"]["correct"]
    assert data["items"][1]["explanation"] == ""
    assert "1798.90.55(b)" in data["items"][2]["citation"]


def _grade_one(tmp_path, item: str, violation: str, rule: str, beneficiary: str = "") -> dict:
    rows = {"Q1": ("yes", "door.side", "ICE"), "Q2": ("no", "none", ""), "Q3": ("yes", "ca.sb34.sharing", "")}
    rows[item] = (violation, rule, beneficiary)
    sheet = tmp_path / "one.csv"
    with open(sheet, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["exercise", "item", "violation", "rule", "beneficiary", "notes"])
        for name, (v, r, b) in rows.items():
            writer.writerow(["el_cajon-s3-n3-fixture", name, v, r, b, ""])
    data = grade(read_worksheet(sheet), load_key(KEY)).to_json()
    return next(i for i in data["items"] if i["item"] == item)["checks"]


@pytest.mark.parametrize("rule,correct", [
    ("door.side", True),
    ("ca.sb54.immigration, door.side", True),  # several rules, all applying, one of the most severe
    ("door.side; ca.1798_90_52.purpose", True),
    ("door.side, purpose.sensitive", False),  # names a rule that does not apply
    ("none", False),
    ("door.sideways", False),  # not a rule id
])
def test_rule_answer_is_right_when_every_named_rule_applies_and_one_is_most_severe(tmp_path, rule, correct):
    assert _grade_one(tmp_path, "Q1", "yes", rule, "ICE")["rule"]["correct"] is correct


@pytest.mark.parametrize("beneficiary,correct", [
    ("[Federal] ICE ERO San Diego", True), ("ICE ERO San Diego", True), ("ice", True), ("ERO", True),
    ("HSI", False), ("", False),
])
def test_beneficiary_accepts_the_agency_or_its_component(tmp_path, beneficiary, correct):
    assert _grade_one(tmp_path, "Q1", "yes", "door.side", beneficiary)["beneficiary"]["correct"] is correct


def test_excel_csv_with_bom_and_semicolons_is_read(tmp_path):
    sheet = tmp_path / "excel.csv"
    text = (FIXTURES / "partly_right.csv").read_text(encoding="utf-8").replace(",", ";")
    sheet.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    data = grade(read_worksheet(sheet), load_key(KEY)).to_json()
    assert (data["points"], data["possible"]) == (4, 7)


def _malformed(tmp_path: Path, kind: str) -> tuple[Path, Path]:
    good = (FIXTURES / "partly_right.csv").read_text(encoding="utf-8")
    sheet, key = tmp_path / "sheet.csv", KEY
    if kind == "missing column":
        sheet.write_text(good.replace(",rule,", ",rule_id,"), encoding="utf-8")
    elif kind == "unknown item":
        sheet.write_text(good.replace(",Q3,", ",Q9,"), encoding="utf-8")
    elif kind == "duplicate item":
        sheet.write_text(good.replace(",Q3,", ",Q2,"), encoding="utf-8")
    elif kind == "missing item":
        sheet.write_text("\n".join(good.splitlines()[:3]) + "\n", encoding="utf-8")
    elif kind == "xlsx":
        sheet.write_bytes(b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 64)
    elif kind == "binary":
        sheet.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    elif kind == "latin-1":
        sheet.write_bytes(good.replace("drug investigation", "investigación").encode("latin-1"))
    elif kind == "empty":
        sheet.write_text("", encoding="utf-8")
    elif kind == "other exercise":
        sheet.write_text(good.replace("s3-n3-fixture", "s4-n3-other"), encoding="utf-8")
    elif kind == "key not json":
        sheet.write_text(good, encoding="utf-8")
        key = tmp_path / "key.json"
        key.write_text("item,rule\nQ1,door.side\n", encoding="utf-8")
    elif kind == "key of another kind":
        sheet.write_text(good, encoding="utf-8")
        key = tmp_path / "key.json"
        key.write_text(json.dumps({"format": "something else", "items": []}), encoding="utf-8")
    elif kind == "missing worksheet":
        sheet = tmp_path / "nope.csv"
    return sheet, key


@pytest.mark.parametrize("kind,message", [
    ("missing column", "missing column(s) rule"),
    ("unknown item", "unknown item 'Q9'"),
    ("duplicate item", "item Q2 appears twice"),
    ("missing item", "lacks item(s) Q3"),
    ("xlsx", "not a CSV"),
    ("binary", "binary file"),
    ("latin-1", "not UTF-8"),
    ("empty", "is empty"),
    ("other exercise", "the key is for el_cajon-s3-n3-fixture"),
    ("key not json", "not an answer key"),
    ("key of another kind", "not a proxytrace answer key"),
    ("missing worksheet", "no such worksheet"),
])
def test_malformed_input_is_a_one_line_error_exit_2(tmp_path, kind, message):
    sheet, key = _malformed(tmp_path, kind)
    result = CliRunner().invoke(audit, ["grade", str(sheet), "--key", str(key)])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert "Traceback" not in result.output


@pytest.mark.parametrize("args,message", [
    (["--scenario", "el_cajon", "--items", "0"], "--items: 0 is not between 1 and 10,000"),
    (["--scenario", "el_cajon", "--scale", "-1"], "--scale: -1 must be above 0"),
    (["--scenario", "atlantis"], "atlantis"),
])
def test_bad_exercise_options_are_a_one_line_error_exit_2(tmp_path, args, message):
    result = CliRunner().invoke(simulate, ["exercise", *args, "--out", str(tmp_path / "ex")])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "ex").exists()
