"""Grading a trainee's worksheet against an exercise's answer key.

An exercise (written by ``simulate exercise``) is a worksheet of searches and a separate answer key.
The trainee fills four columns per item: ``violation`` (yes/no), ``rule`` (a rule id from
``audit rules``, several separated by commas, or ``none``), ``beneficiary`` (who the search was
really for, when it was someone other than the searcher) and ``notes`` (not graded).

Scoring, per item: one point for the violation answer, one for the rule, and one for the
beneficiary when the key names one. A rule answer is right when every rule named applies to the
search and at least one of them is among the most severe rules that apply; naming only a medium
rule where a high one applies is wrong, because it misses the point of the case. A blank answer
is always wrong: a blank worksheet scores 0%, and every miss is explained with the key's
reasoning and citation.

This module defines the answer key's format; the simulator writes keys in it. It never imports the
simulator.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import InputError
from auditor.files import SHEET_CAP, read_small

KEY_FORMAT = "proxytrace-answer-key/1"
# Columns the grader needs; the worksheet's context columns are for the trainee and not read here.
REQUIRED_COLUMNS = ("exercise", "item", "violation", "rule", "beneficiary")
# Every column `simulate exercise` writes, in order; a worksheet with any other column is not one.
WORKSHEET_COLUMNS = ("exercise", "item", "search_id", "time_utc", "searcher", "searcher_state", "user", "owner",
                     "scope", "system", "reason", "case_number", "networks", "relay_hints",
                     "violation", "rule", "beneficiary", "notes")
ANSWER_COLUMNS = ("violation", "rule", "beneficiary", "notes")
NO_RULE = "none"
_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0"}
_RULE_SPLIT = re.compile(r"[,;\s]+")


@dataclass(frozen=True)
class KeyItem:
    """The correct answers for one worksheet item, with the reasoning a trainer reads out."""

    item: str
    search_id: int
    category: str  # clear, disguised or legitimate
    violation: bool
    rule: str  # the primary rule id, or "none"
    accepted_rules: tuple[str, ...]  # the most severe rules that apply: any one is a right answer
    applicable_rules: tuple[str, ...]  # every rule that applies (naming one outside this is wrong)
    beneficiary: str | None  # who the search was really for, when not the searcher
    beneficiary_accepts: tuple[str, ...]  # spellings accepted for it (name, component)
    reasoning: str
    citation: str


@dataclass(frozen=True)
class AnswerKey:
    exercise: str
    scenario: str
    items: tuple[KeyItem, ...]
    rules: dict[str, dict[str, str]]  # rule id -> title, severity, citation


@dataclass
class Check:
    """One graded answer: what the trainee wrote, what was expected, and why when it is wrong."""

    answer: str
    expected: str
    correct: bool
    why: str = ""


@dataclass
class ItemGrade:
    item: str
    search_id: int
    checks: dict[str, Check]
    explanation: str = ""  # the key's reasoning and citation, filled for every item with a miss
    citation: str = ""

    @property
    def points(self) -> int:
        return sum(c.correct for c in self.checks.values())

    @property
    def possible(self) -> int:
        return len(self.checks)


@dataclass
class Grade:
    exercise: str
    scenario: str
    items: list[ItemGrade] = field(default_factory=list)

    @property
    def points(self) -> int:
        return sum(i.points for i in self.items)

    @property
    def possible(self) -> int:
        return sum(i.possible for i in self.items)

    @property
    def percent(self) -> float:
        return 100.0 * self.points / self.possible if self.possible else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise, "scenario": self.scenario, "points": self.points,
            "possible": self.possible, "percent": round(self.percent, 1),
            "items": [{"item": i.item, "search_id": i.search_id, "points": i.points, "possible": i.possible,
                       "checks": {k: asdict(c) for k, c in i.checks.items()},
                       "explanation": i.explanation, "citation": i.citation} for i in self.items],
        }


# --- reading ----------------------------------------------------------------------------------------

def _fold(text: str) -> str:
    return " ".join(text.replace("[Federal]", " ").replace("(", " ").replace(")", " ").split()).casefold()


def beneficiary_spellings(name: str, component: str | None) -> tuple[str, ...]:
    """Answers accepted for a beneficiary: its name with or without the `[Federal]` prefix, and for a
    DHS component its short name (an ERO office is ICE too: ERO is ICE's removal arm)."""
    accepted = {_fold(name)}
    if component:
        accepted.add(_fold(component))
        if component == "ERO":
            accepted |= {"ice", "ice ero"}
        if component == "USBP":
            accepted |= {"border patrol", "us border patrol", "cbp"}
    return tuple(sorted(accepted))


def _read_text(path: Path, what: str) -> str:
    raw = read_small(path, what, SHEET_CAP)
    if raw.startswith(b"PK\x03\x04"):
        raise InputError(f"{path}: is a zip or xlsx workbook, not a CSV (save it as 'CSV UTF-8')")
    if b"\x00" in raw[:4096]:
        raise InputError(f"{path}: is a binary file, not a {what}")
    try:
        return raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError as e:
        raise InputError(f"{path}: is not UTF-8 text (byte {e.start}); save it as 'CSV UTF-8'") from None


def load_key(path: str | Path) -> AnswerKey:
    """Read an answer key (JSON written by ``simulate exercise``). Bad files raise InputError."""
    path = Path(path)
    text = _read_text(path, "answer key")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not an answer key (invalid JSON at line {e.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != KEY_FORMAT:
        raise InputError(f"{path}: not a proxytrace answer key (expected format {KEY_FORMAT!r})")
    try:
        items = tuple(
            KeyItem(item=str(i["item"]), search_id=int(i["search_id"]), category=str(i["category"]),
                    violation=bool(i["violation"]), rule=str(i["rule"]),
                    accepted_rules=tuple(i["accepted_rules"]), applicable_rules=tuple(i["applicable_rules"]),
                    beneficiary=i.get("beneficiary"), beneficiary_accepts=tuple(i.get("beneficiary_accepts") or ()),
                    reasoning=str(i["reasoning"]), citation=str(i["citation"]))
            for i in data["items"]
        )
        key = AnswerKey(exercise=str(data["exercise"]), scenario=str(data["scenario"]), items=items,
                        rules=dict(data.get("rules", {})))
    except (KeyError, TypeError, ValueError) as e:
        raise InputError(f"{path}: answer key is incomplete or damaged ({type(e).__name__}: {e})") from None
    if not items:
        raise InputError(f"{path}: answer key has no items")
    return key


def _check_header(path: Path, header: list[str]) -> None:
    """A worksheet's header names each of its columns once, and only columns a worksheet has."""
    unnamed = [str(i + 1) for i, h in enumerate(header) if not h]
    if unnamed:
        raise InputError(f"{path}: column(s) {', '.join(unnamed)} have no name; a worksheet has only the columns "
                         "`simulate exercise` wrote")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(f"{path}: column(s) {', '.join(repeated)} appear more than once; keep one of each")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise InputError(f"{path}: not a worksheet: missing column(s) {', '.join(missing)} "
                         f"(needs {', '.join(REQUIRED_COLUMNS)})")
    extra = [h for h in header if h not in WORKSHEET_COLUMNS]
    if extra:
        raise InputError(f"{path}: unknown column(s) {', '.join(extra[:5])}; a worksheet has only "
                         f"{', '.join(WORKSHEET_COLUMNS)}")


def read_worksheet(path: str | Path) -> list[dict[str, str]]:
    """Read a filled worksheet CSV into rows keyed by lower-cased column name.

    Accepts comma- or semicolon-separated files (spreadsheets in some locales save with `;`) and
    Excel's byte-order mark. Anything else that is not a worksheet raises InputError, and so do a
    repeated, unnamed, missing or unknown column and a row with more or fewer fields than the header.
    """
    path = Path(path)
    text = _read_text(path, "worksheet")
    if not text.strip():
        raise InputError(f"{path}: is empty, not a worksheet")
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        _check_header(path, header)
        rows = []
        for record in reader:
            if not record:
                continue  # a blank line
            if len(record) != len(header):
                raise InputError(f"{path}: line {reader.line_num} has {len(record)} field(s), the header has "
                                 f"{len(header)}; the worksheet's rows must keep every column")
            row = {k: v.strip() for k, v in zip(header, record)}
            if any(row.values()):
                rows.append(row)
    except csv.Error as e:
        raise InputError(f"{path}: not a readable CSV (line {reader.line_num}: {e})") from None
    if not rows:
        raise InputError(f"{path}: worksheet has a header but no items")
    return rows


# --- grading ----------------------------------------------------------------------------------------

def _grade_violation(answer: str, item: KeyItem) -> Check:
    expected = "yes" if item.violation else "no"
    a = answer.casefold()
    if not a:
        return Check(answer, expected, False, "no answer")
    if a not in _YES | _NO:
        return Check(answer, expected, False, "answer yes or no")
    given = a in _YES
    if given == item.violation:
        return Check(answer, expected, True)
    why = ("a rule applies to this search" if item.violation else "no rule applies to this search")
    return Check(answer, expected, False, why)


def _grade_rule(answer: str, item: KeyItem, known_rules: set[str]) -> Check:
    expected = item.rule if not item.accepted_rules else " or ".join(item.accepted_rules)
    named = [r for r in _RULE_SPLIT.split(answer.strip()) if r]
    if not named:
        return Check(answer, expected, False, "no answer (write a rule id, or none)")
    folded = [r.casefold() for r in named]
    if item.rule == NO_RULE:
        if folded == [NO_RULE]:
            return Check(answer, expected, True)
        return Check(answer, expected, False, "no rule applies to this search")
    if NO_RULE in folded:
        return Check(answer, expected, False, "a rule applies to this search")
    unknown = [r for r in named if r not in known_rules]
    if unknown:
        return Check(answer, expected, False, f"{unknown[0]!r} is not a rule id (see `audit rules`)")
    wrong = [r for r in named if r not in item.applicable_rules]
    if wrong:
        return Check(answer, expected, False, f"{wrong[0]} does not apply to this search")
    if not set(named) & set(item.accepted_rules):
        return Check(answer, expected, False, "it applies, but misses the point: a more severe rule applies")
    return Check(answer, expected, True)


def _grade_beneficiary(answer: str, item: KeyItem) -> Check:
    expected = item.beneficiary or ""
    if not answer:
        return Check(answer, expected, False, "no answer: the search was done for another agency")
    if _fold(answer) in item.beneficiary_accepts:
        return Check(answer, expected, True)
    return Check(answer, expected, False, f"the search was done for {item.beneficiary}")


def grade(rows: list[dict[str, str]], key: AnswerKey, *, source: str = "worksheet") -> Grade:
    """Grade worksheet rows (from :func:`read_worksheet`) against a key.

    Raises InputError when the worksheet belongs to another exercise, repeats an item, names an
    item the key does not have, or lacks items the key has.
    """
    exercises = {r["exercise"] for r in rows if r.get("exercise")}
    if exercises and exercises != {key.exercise}:
        found = ", ".join(sorted(exercises))
        raise InputError(f"{source}: worksheet is for exercise {found}, the key is for {key.exercise}")
    by_item = {i.item: i for i in key.items}
    seen: dict[str, dict[str, str]] = {}
    for row in rows:
        item = row.get("item", "")
        if not item:
            raise InputError(f"{source}: a row has no item id")
        if item not in by_item:
            raise InputError(f"{source}: unknown item {item!r} (not in the key for exercise {key.exercise})")
        if item in seen:
            raise InputError(f"{source}: item {item} appears twice")
        seen[item] = row
    absent = [i for i in by_item if i not in seen]
    if absent:
        raise InputError(f"{source}: worksheet lacks item(s) {', '.join(absent[:5])}"
                         f"{' ...' if len(absent) > 5 else ''} of exercise {key.exercise}")
    known_rules = set(key.rules)
    result = Grade(exercise=key.exercise, scenario=key.scenario)
    for item in key.items:
        row = seen[item.item]
        checks = {"violation": _grade_violation(row.get("violation", ""), item),
                  "rule": _grade_rule(row.get("rule", ""), item, known_rules)}
        if item.beneficiary:
            checks["beneficiary"] = _grade_beneficiary(row.get("beneficiary", ""), item)
        graded = ItemGrade(item.item, item.search_id, checks)
        if not all(c.correct for c in checks.values()):
            graded.explanation, graded.citation = item.reasoning, item.citation
        result.items.append(graded)
    return result


def grade_files(worksheet: str | Path, key: str | Path) -> Grade:
    """Read a filled worksheet and an answer key, and grade one against the other."""
    answer_key = load_key(key)
    return grade(read_worksheet(worksheet), answer_key, source=str(worksheet))


def format_grade(result: Grade) -> str:
    """The grade as text: one line per item, then each miss with its explanation and citation."""
    lines = [f"Exercise {result.exercise} ({result.scenario}): {result.points} of {result.possible} points, "
             f"{result.percent:.0f}%", ""]
    for i in result.items:
        marks = "  ".join(f"{name} {'ok' if c.correct else 'MISS'}" for name, c in i.checks.items())
        lines.append(f"  {i.item}  search {i.search_id:<8} {i.points}/{i.possible}  {marks}")
    misses = [i for i in result.items if i.explanation]
    if misses:
        lines += ["", "Misses:"]
    for i in misses:
        lines.append(f"{i.item} (search {i.search_id}):")
        for name, c in i.checks.items():
            if not c.correct:
                lines.append(f"  {name}: you wrote {c.answer or '(blank)'!r}, expected {c.expected or '(blank)'!r}: {c.why}")
        lines.append(f"  why: {i.explanation}")
        lines.append(f"  cites: {i.citation}")
    return "\n".join(lines)
