"""A report's manifest: what a court or an editor needs to check that a report matches its inputs.

`audit report --out R` writes ``R.manifest.json`` beside the report: the sha256 of every release
the store holds (as imported), the store's schema version and search count, the hash of the rule
set in force, proxytrace's version, the audit run's id and parameters, the report's own parameters
and the report file's sha256. :func:`verify` checks a manifest against the report, the store and,
given the folders holding them, the release files themselves (re-hashed), and names the first
thing that changed.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any, Iterable

import sqlite_utils

from auditor import __version__
from auditor.errors import InputError
from auditor.rules import load_rules, ruleset_hash

MANIFEST_KIND = "proxytrace report manifest"
_SHEET = re.compile(r"^(?P<file>.+) \[sheet (?P<sheet>.+)\]$")


def manifest_path(report: Path) -> Path:
    """Where a report's manifest lives: beside it, named after it."""
    return report.with_name(report.name + ".manifest.json")


def _sha256(path: Path) -> str:
    from auditor.importers.source import read_facts  # the importer's hash: one definition of a release's sha256

    return read_facts(path).sha256


def _store_facts(db: sqlite_utils.Database) -> dict[str, Any]:
    schema = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    run = db.execute("SELECT id, version, ruleset_hash, params FROM runs WHERE finished_at IS NOT NULL "
                     "ORDER BY id DESC LIMIT 1").fetchone()
    releases = [
        {"id": r[0], "file_name": r[1], "sha256": r[2], "format": r[3], "rows_read": r[4], "rows_imported": r[5],
         "rows_rejected": r[6]}
        for r in db.execute("SELECT id, file_name, sha256, format, rows_read, rows_imported, rows_rejected "
                            "FROM releases ORDER BY id")]
    return {
        "schema_version": schema[0] if schema else None,
        "searches": db.execute("SELECT COUNT(*) FROM searches").fetchone()[0],
        "run": None if run is None else {"id": run[0], "version": run[1], "ruleset_hash": run[2],
                                         "params": json.loads(run[3]) if run[3] else {}},
        "releases": releases,
    }


def build_manifest(db: sqlite_utils.Database, report: Path, store: str, report_params: dict[str, Any]) -> dict[str, Any]:
    """The manifest of a report just written from a store."""
    facts = _store_facts(db)
    return {
        "kind": MANIFEST_KIND,
        "proxytrace_version": __version__,
        "ruleset_hash": ruleset_hash(load_rules()),
        "report": {"file": report.name, "sha256": _sha256(report), **report_params},
        # The store by its file name only, as the report names it: never the folders it sits in.
        "store": {"file": Path(store).name, "schema_version": facts["schema_version"], "searches": facts["searches"]},
        "run": facts["run"],
        "releases": facts["releases"],
    }


def write_manifest(db: sqlite_utils.Database, report: Path, store: str, report_params: dict[str, Any]) -> Path:
    """Write the manifest beside the report (atomically) and return its path."""
    from auditor.outputs import write_beside
    from auditor.untrusted import json_dumps

    target = manifest_path(report)
    manifest = build_manifest(db, report, store, report_params)
    write_beside(target, lambda out: out.write(json_dumps(manifest, indent=2) + "\n"), what="manifest")
    return target


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no manifest (write the report again with `audit report`)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: not a readable manifest ({e.__class__.__name__})") from None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND:
        raise InputError(f"{path}: not a proxytrace report manifest")
    return data


def _release_file(name: str, folders: Iterable[Path]) -> tuple[Path | None, str | None]:
    """The file a release was read from, searched in the folders by name (a sheet: its workbook)."""
    sheet = None
    m = _SHEET.match(name)
    if m:
        name, sheet = m["file"], m["sheet"]
    for folder in folders:
        candidate = folder / name
        if candidate.is_file():
            return candidate, sheet
    return None, sheet


def verify(report: Path, db: sqlite_utils.Database, release_dirs: Iterable[Path] = ()) -> list[str]:
    """What changed since the report was written, first first; an empty list when everything matches.

    Checks the report file, proxytrace's version, the rule set, the store's schema version and
    searches, the audit run and its parameters, the releases the store holds, and (for each release
    file found in ``release_dirs``) the file's bytes.
    """
    manifest = read_manifest(manifest_path(report))
    changed: list[str] = []
    if not report.is_file():
        return [f"report {report} is missing"]
    if _sha256(report) != manifest["report"]["sha256"]:
        changed.append(f"report file {report.name} (sha256 differs from the manifest)")
    if manifest["proxytrace_version"] != __version__:
        changed.append(f"proxytrace version ({manifest['proxytrace_version']} -> {__version__})")
    now_rules = ruleset_hash(load_rules())
    if manifest["ruleset_hash"] != now_rules:
        changed.append(f"rule set (hash {manifest['ruleset_hash']} -> {now_rules})")
    facts = _store_facts(db)
    if manifest["store"]["schema_version"] != facts["schema_version"]:
        changed.append(f"store schema version ({manifest['store']['schema_version']} -> {facts['schema_version']})")
    if manifest["store"]["searches"] != facts["searches"]:
        changed.append(f"store searches ({manifest['store']['searches']:,} -> {facts['searches']:,})")
    if manifest["run"] != facts["run"]:
        old, new = manifest["run"] or {}, facts["run"] or {}
        changed.append(f"audit run (run {old.get('id')} -> {new.get('id')}"
                       + (", parameters differ" if old.get("params") != new.get("params") else "") + ")")
    recorded = {r["sha256"]: r for r in manifest["releases"]}
    now = {r["sha256"]: r for r in facts["releases"]}
    for sha in sorted(set(recorded) - set(now)):
        changed.append(f"release {recorded[sha]['file_name']} is no longer in the store")
    for sha in sorted(set(now) - set(recorded)):
        changed.append(f"release {now[sha]['file_name']} was imported after the report")
    folders = [Path(d) for d in release_dirs]
    if folders:
        hashed: dict[Path, str] = {}
        for release in manifest["releases"]:
            path, sheet = _release_file(release["file_name"], folders)
            if path is None:
                changed.append(f"release file {release['file_name']} not found in {', '.join(map(str, folders))}")
                continue
            if path not in hashed:
                hashed[path] = _sha256(path)
            sha = hashed[path] if sheet is None else hashlib.sha256(f"{hashed[path]}:{sheet}".encode()).hexdigest()
            if sha != release["sha256"]:
                changed.append(f"release file {path} (sha256 {release['sha256'][:12]}… -> {sha[:12]}…)")
    return changed
