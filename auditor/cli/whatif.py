"""`audit whatif`: what a sharing or logging policy would have blocked and let through."""
from __future__ import annotations

import click

from auditor.cli.common import BoundedInt, db_option, echo, echo_json
from auditor.schema import open_store
from auditor.whatif import apply_policies, format_whatif, load_policy, rows_behind, shipped_policies


@click.command("whatif")
@db_option
@click.option("--policy", "policy_ref", metavar="NAME|FILE",
              help="A shipped policy (ca-only, no-federal, no-287g, no-national, case-number, reach-30-days, "
                   "owner-list) or a policy file (TOML, see README).")
@click.option("--all", "all_policies", is_flag=True, help="Apply every shipped policy (one pass), side by side.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, every count with example "
              "search ids and the command listing its rows.")
@click.option("--rows", "selector", metavar="VERDICT[/DIMENSION/VALUE]",
              help="List the search ids behind one count instead, one per line: e.g. `block`, "
                   "`block/searcher_state/TX`, `allow/truth/ordinary`, `block/why/no case number`.")
@click.option("--owner", metavar="ID|none", help="With --rows: only this owner's searches (agency id, or `none` "
              "for searches whose release names no owner).")
@click.option("--top", type=BoundedInt(1, 10_000), default=10, show_default=True,
              help="Rows per table in the text output (--json lists all).")
def command(db_path: str, policy_ref: str | None, all_policies: bool, as_json: bool, selector: str | None,
            owner: str | None, top: int) -> None:
    """Apply a sharing and logging policy to the searches of an audited store.

    Shows, per owner, the searches the policy would have blocked and let through, by purpose tag,
    searcher, searcher's state, immigration-related or not and done for another agency or not, and
    why each blocked search fails. Counts are de-duplicated searches per owner whose data they
    reached. On a simulated store it also shows the truth: truly immigration-related and disguised
    searches stopped, and ordinary police searches it would have cost. Each count's rows:
    `--rows SELECTOR --owner ID`.
    """
    if bool(policy_ref) == all_policies:
        raise click.UsageError("give --policy NAME|FILE or --all")
    if owner is not None and selector is None:
        raise click.UsageError("--owner narrows --rows; give --rows VERDICT[/DIMENSION/VALUE] too")
    policies = shipped_policies() if all_policies else [load_policy(policy_ref)]
    db = open_store(db_path)
    if selector is not None:
        if all_policies:
            raise click.UsageError("--rows lists one policy's rows: give --policy")
        for search_id in rows_behind(db, policies[0], selector, owner):
            echo(str(search_id))
        return
    results = apply_policies(db, policies)
    if as_json:
        out = [w.to_json(db_path) for w in results]
        echo_json(out if all_policies else out[0])
        return
    echo("\n\n".join(format_whatif(w, top) for w in results))
