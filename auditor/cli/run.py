"""`audit run`: audit a store and print what it found."""
from __future__ import annotations

from contextlib import nullcontext

import click

from auditor.agreements import agreements_287g, summary_line
from auditor.cli.common import BoundedInt, FiniteFloat, db_option, echo, echo_json
from auditor.cli.progress import meter_for, progress_option
from auditor.importers import unfinished_releases, unfinished_warning
from auditor.importers.completeness import incomplete_releases
from auditor.scan import RunParams, RunSummary, run_audit
from auditor.schema import check_store, open_store
from auditor.storelock import store_lock
from auditor.views import create_views


def format_summary(summary: RunSummary) -> str:
    lines = [
        f"Audited {summary.searches:,} searches (de-duplicated) from {summary.sightings:,} release rows "
        f"in {summary.releases} releases; {summary.agencies:,} agencies, "
        f"{len(summary.unresolved_agencies)} unresolved.",
        "Beneficiaries inferred (searches): " + ", ".join(f"{k.replace('by_', '')} {v:,}" for k, v in summary.beneficiaries.items()),
        "",
    ]
    width = max([26, *map(len, summary.findings_by_rule)])
    lines.append(f"{'rule':<{width}} {'severity':<8} {'findings':>10} {'searches':>10}  title")
    bounded = False
    for rule_id, r in sorted(summary.findings_by_rule.items(), key=lambda kv: (-kv[1]["searches"], kv[0])):
        searches = f"{r['searches']:,}"
        if r.get("scope") == "aggregate" and r["findings"]:
            # An aggregate rule's findings (per agency, release, share) each count their own searches,
            # and they can overlap: their sum is not de-duplicated, only a bound.
            searches, bounded = f"<={min(r['searches'], summary.searches):,}", True
        lines.append(f"{rule_id:<{width}} {r['severity']:<8} {r['findings']:>10,} {searches:>10}  {r['title']}")
    lines.append("searches: de-duplicated searches with a finding of the rule"
                 + ("; <=N: at most N (an aggregate rule's findings each count their own searches, which can "
                    "overlap)." if bounded else "."))
    lines.append("")
    imm = summary.overview.get("immigration", {})
    if imm:
        linked = imm.get("dhs_linked_not_immigration", 0)
        lines.append(f"Immigration-related searches: {imm['searches']:,}"
                     + (f"; {linked:,} more were run by or for "
                        + ", ".join(f"{c} ({n:,})" for c, n in imm["dhs_linked_not_immigration_by_component"].items())
                        + " without being immigration-related (HSI marks a federal beneficiary, not an immigration "
                          "purpose)" if linked else "")
                     + ".")
    lines.append("Top purposes (searches): " + ", ".join(
        f"{tag} {n:,}" for tag, n in list(summary.searches_by_tag.items())[:10]))
    if summary.unresolved_agencies:
        shown = ", ".join(summary.unresolved_agencies[:5])
        more = len(summary.unresolved_agencies) - 5
        lines.append(f"Unresolved agencies: {shown}{f' and {more} more' if more > 0 else ''} "
                     "(give --overrides to resolve them)")
    lines.append(f"Run {summary.run_id} done in {sum(summary.seconds.values()):.1f} s. "
                 "`audit explain --db STORE SEARCH_ID` shows one search; `audit report` writes the report.")
    return "\n".join(lines)


@click.command("run")
@db_option
@click.option("--mass-networks", type=BoundedInt(1, 10_000_000), default=500, show_default=True,
              help="A search across at least this many networks is a mass search.")
@click.option("--relay-days", type=FiniteFloat(0, 3660), default=7.0, show_default=True,
              help="Plate-relay window: the same plate searched by or for a DHS component within this many days (0 to 3660).")
@click.option("--ice-287g", type=click.Path(dir_okay=False), help="ICE's published 287(g) list (CSV: state,agency,support_types).")
@click.option("--overrides", type=click.Path(dir_okay=False), help="Agency overrides CSV (name,state,level,kind,dhs_component).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@progress_option
def command(db_path: str, mass_networks: int, relay_days: float, ice_287g: str | None, overrides: str | None,
            as_json: bool, show_progress: bool | None) -> None:
    """Audit a store: tag reasons, trace each search, apply every rule.

    Writes reason_tags, beneficiaries, traces, findings and a runs row (replacing the previous
    run's findings when it finishes; a run killed midway leaves them, and the report says so), the overview the report reads, the agency_summary, state_summary and
    month_summary tables and the readable views finding_list and search_list, and prints counts of
    searches and findings by rule.

    On a terminal each stage's progress (resolve, tag, beneficiaries, keys, trace and rules,
    examples, aggregate, summary) is drawn on standard error, with counts, rate and time left where
    the stage counts; pipes and --json stay quiet unless --progress is given.
    """
    check_store(db_path)  # a missing or foreign file is refused before any lock file is made
    # One run at a time: a second one is refused in one line before it writes anything.
    with store_lock(db_path, "audit run"):
        db = open_store(db_path)
        meter = meter_for(show_progress, quiet=as_json)
        with meter or nullcontext():  # the meter's last line is finished before the summary prints
            summary = run_audit(db, RunParams(mass_networks, relay_days, ice_287g, overrides), progress=meter)
            if meter is not None:
                meter("creating views", 0, None)
            create_views(db)  # finding_list, search_list: what `audit serve` and any SQLite tool read
    unfinished = unfinished_releases(db)
    missing = incomplete_releases(db)
    if as_json:
        echo_json({**summary.to_json(), "unfinished_releases": unfinished, "incomplete_releases": missing})
    else:
        echo(format_summary(summary))
        echo(summary_line(agreements_287g(db)))
        for r in missing:  # rows of a release the audit does not see, and why
            echo(f"Release {r['file_name']} is not complete ({r['kind'].replace('_', ' ')}): {r['detail']}")
        if unfinished:
            echo(unfinished_warning(unfinished, db_path))
