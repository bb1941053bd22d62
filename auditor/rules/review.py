"""The review copy of the encoded laws, for a lawyer: one Markdown document to check in one sitting.

For each law: whom it binds and for what conduct, every element a search must meet, the operative
sentence as quoted from its text, the sources with the dates they were read, and its table of cases
(the law file's own examples, which the loader and the tests run): the facts of each case, whether
a finding cites the law, and which element fails where it does not. Then, per jurisdiction, what was
reviewed and not encoded, and why.
"""
from __future__ import annotations

from typing import Any, Mapping

from auditor.rules.laws import BINDS_WORDS, Jurisdiction, Law, case_table


def _facts(facts: Mapping[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, list):
            return "[" + ", ".join(map(str, v)) + "]" if v else "[]"
        return str(v)

    return "; ".join(f"{k} = {value(v)}" for k, v in facts.items())


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def law_section(law: Law) -> list[str]:
    """One law's review entry as Markdown lines."""
    out = [f"### {law.citation}", "", f"`{law.id}`: {law.title}", "",
           f"- **Binds:** {BINDS_WORDS[law.binds]} (`{law.binds}`).",
           f"- **Conduct:** {law.conduct}.",
           f"- **In force from:** {law.effective}" + (f" ({law.effective_note})" if law.effective_note else "") + ".",
           f"- **A finding reads:** \u201c{law.finding}\u201d.",
           "- **Elements** (a finding cites the law only when every one holds for the search):"]
    out += [f"  {i}. {e.name}" for i, e in enumerate(law.elements(), 1)]
    out += ["", f"> {law.quote}", ">", f"> quoted from <{law.quote_source}>", "", "**Sources read:**", ""]
    out += [f"- <{s.url}>, read {s.read}" + (f": {s.note}" if s.note else "") for s in law.sources]
    if law.false_positives:
        out += ["", f"**What the log cannot show:** {law.false_positives}"]
    out += ["", "**Cases** (from the law file's own examples):", "",
            "| case | facts | cited | fails |", "|---|---|---|---|"]
    for row in case_table(law):
        out.append(f"| {_cell(row['name'] or '-')} | {_cell(_facts(row['facts']))} | "
                   f"{'yes' if row['cited'] else 'no'} | {_cell('; '.join(row['fails']) or '-')} |")
    return out + [""]


def review_document(jurisdictions: Mapping[str, Jurisdiction]) -> str:
    """The whole review copy: every jurisdiction, its laws and what was not encoded."""
    laws = sum(len(j.laws) for j in jurisdictions.values())
    out = ["# Laws encoded by proxytrace: review copy", "",
           f"{laws} laws in {len(jurisdictions)} jurisdiction files. Each finding of a law means every element "
           "below held for that search; where an element fails, the audit's practice rules may still flag the "
           "search, citing the practice and showing the law only as \u201crelated law, not a finding that it was "
           "broken\u201d. The facts are those of `auditor.facts.FACTS`; `immigration_related` has one definition "
           "there.", ""]
    for code, j in sorted(jurisdictions.items()):
        out += [f"## {j.name} (`{j.source}`, reviewed {j.reviewed})", ""]
        for law in j.laws:
            out += law_section(law)
        if j.not_encoded:
            out += ["**Reviewed and not encoded:**", ""] + [f"- {n}" for n in j.not_encoded] + [""]
        if not j.laws and not j.not_encoded:
            out += ["Nothing encoded.", ""]
    return "\n".join(out)
