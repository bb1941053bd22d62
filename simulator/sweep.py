"""`simulate sweep`: vary one or two scenario parameters, and measure what an audit catches at each point.

At each point the scenario is changed (:data:`PARAMETERS`), simulated at a small scale into a
temporary store, audited (:func:`auditor.scan.run_audit`) and scored against its truth
(:func:`auditor.score.score_store`), exactly as `simulate`, `audit run` and `audit score` would.
Points run in worker processes (``jobs``); each point's seed is the sweep's seed, so the points
differ by the parameter only, not by a new draw of the world.

Measures per point (from the :class:`auditor.score.Score`):

- ``immigration inference``: searches by non-DHS searchers that are truly immigration-related
  (`audit score`'s definition), found either because the reason says so or because an inference
  (plate relay, 287(g)) recovered them: recall = (stated tp + recovered disguised) / (stated tp +
  stated fn + disguised); precision = (stated tp + inference tp) / (stated tp + stated fp + inference
  tp + fp);
- every search rule that reads facts a log can hide (purpose, beneficiary, door), with the
  precision and recall `audit score` gives it (over traced search-owner pairs).
"""
from __future__ import annotations

import csv
import dataclasses
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Sequence

from auditor.errors import InputError
from simulator.scenario import Behaviour, Proxy, Scenario, load_scenario

INFERENCE = "immigration inference"


def _set_disguise(s: Scenario, v: float) -> Scenario:
    behaviour = tuple(dataclasses.replace(b, proxy=dataclasses.replace(b.proxy, disguise_rate=v)) if b.proxy else b
                      for b in s.behaviour)
    misuse = tuple(dataclasses.replace(m, disguise_rate=v) for m in s.misuse)
    return dataclasses.replace(s, behaviour=behaviour, misuse=misuse)


def _set_proxy_rate(s: Scenario, v: float) -> Scenario:
    return dataclasses.replace(s, behaviour=tuple(
        dataclasses.replace(b, proxy=dataclasses.replace(b.proxy, rate=v)) if b.proxy else b for b in s.behaviour))


def _set_national(s: Scenario, v: float) -> Scenario:
    """On: every owner that shares at all also shares nationally; off: no national shares."""
    kept = tuple(sh for sh in s.shares if sh["scope"] != "national")
    if v >= 0.5:
        owners = sorted({sh["owner"] for sh in s.shares})
        kept += tuple({"owner": o, "scope": "national", "grantee": None} for o in owners)
    return dataclasses.replace(s, shares=kept)


def _set_case_number(s: Scenario, v: float) -> Scenario:
    """The share of searches that must carry a case number (1: required of all, as a policy could)."""
    return dataclasses.replace(s, behaviour=tuple(
        dataclasses.replace(b, case_number_rate=max(b.case_number_rate, v)) for b in s.behaviour))


def _set_requester(s: Scenario, v: float) -> Scenario:
    return dataclasses.replace(s, requester_field=v)


@dataclass(frozen=True)
class Parameter:
    name: str
    meaning: str
    unit: str
    apply: Callable[[Scenario, float], Scenario]
    low: float = 0.0
    high: float = 1.0


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("disguise", "share of proxy and misuse searches whose reason hides the truth",
              "share of searches, 0-1", _set_disguise),
    Parameter("proxy_rate", "share of each searcher's searches that are requests run for another agency "
              "(every behaviour with a proxy)", "share of searches, 0-1", _set_proxy_rate),
    Parameter("national", "National Lookup sharing off (0) or on (1) for every owner that shares",
              "0 off, 1 on", _set_national),
    Parameter("case_number", "share of searches that carry a case number (1: a case number required)",
              "share of searches, 0-1", _set_case_number),
    Parameter("requester_field", "share of proxy searches whose log names the requester (1: a requester "
              "field required and filled in)", "share of proxy searches, 0-1", _set_requester),
)}


def parse_range(text: str) -> tuple[str, list[float]]:
    """`disguise=0:0.9:10` (start:stop:points) or `national=0,1` (values) -> (name, values)."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or name not in PARAMETERS:
        raise InputError(f"--vary {text!r}: give NAME=START:STOP:POINTS or NAME=V1,V2,... with NAME one of "
                         f"{', '.join(PARAMETERS)}")
    p = PARAMETERS[name]
    try:
        if ":" in spec:
            start_s, stop_s, points_s = spec.split(":")
            start, stop, points = float(start_s), float(stop_s), int(points_s)
            if not 2 <= points <= 200:
                raise InputError(f"--vary {text!r}: between 2 and 200 points")
            values = [start + (stop - start) * i / (points - 1) for i in range(points)]
        else:
            values = [float(v) for v in spec.split(",") if v.strip()]
    except ValueError:
        raise InputError(f"--vary {text!r}: not numbers") from None
    if not values or any(not (p.low <= v <= p.high) for v in values):
        raise InputError(f"--vary {text!r}: values must lie between {p.low:g} and {p.high:g}")
    return name, [round(v, 6) for v in values]


@dataclass(frozen=True)
class Point:
    values: tuple[tuple[str, float], ...]  # (parameter, value), in the order varied


def _score_point(scenario_ref: str, point: Point, scale: float, seed: int) -> dict[str, Any]:
    """Simulate, audit and score one point in a temporary store (run in a worker process)."""
    from auditor.scan import run_audit
    from auditor.schema import open_store
    from auditor.score import score_store
    from simulator.generate import simulate

    scenario = load_scenario(scenario_ref)
    for name, value in point.values:
        scenario = PARAMETERS[name].apply(scenario, value)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="proxytrace-sweep-") as folder:
        path = Path(folder) / "point.db"
        simulate(scenario, path, seed=seed, scale=scale)
        db = open_store(path)
        run_audit(db)
        score = score_store(db)
        searches = score.searches
        db.conn.close()
    measures: dict[str, dict[str, Any]] = {}
    stated, caught = score.stated, sum(v for k, v in score.disguised_caught.items() if k != "reason")
    inferred_tp = sum(c.tp for c in score.inference_precision.values())
    inferred_fp = sum(c.fp for c in score.inference_precision.values())
    found, truly = stated.tp + caught, stated.tp + stated.fn + score.disguised
    said = stated.tp + stated.fp + inferred_tp + inferred_fp
    measures[INFERENCE] = {"recall": found / truly if truly else None,
                           "precision": (stated.tp + inferred_tp) / said if said else None,
                           "tp": found, "truth": truly}
    for rule_id in score.hidden_truth_rules:
        c = score.by_rule[rule_id]
        if c.tp + c.fp + c.fn:
            measures[rule_id] = {"recall": c.recall, "precision": c.precision, "tp": c.tp, "truth": c.tp + c.fn}
    return {"values": dict(point.values), "searches": searches, "immigration_related": score.immigration_related,
            "disguised": score.disguised, "seconds": time.perf_counter() - started, "measures": measures}


def run_sweep(scenario_ref: str, ranges: Sequence[tuple[str, list[float]]], *, scale: float, seed: int,
              jobs: int, progress: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Every point of the grid the ranges span, scored; in worker processes when ``jobs`` > 1."""
    load_scenario(scenario_ref)  # a bad name fails here, before workers start
    if not 1 <= len(ranges) <= 2:
        raise InputError("give one or two --vary ranges")
    if len(ranges) == 2 and ranges[0][0] == ranges[1][0]:
        raise InputError(f"--vary {ranges[0][0]} given twice")
    grid = [Point(((ranges[0][0], a),)) for a in ranges[0][1]]
    if len(ranges) == 2:
        grid = [Point(((ranges[0][0], a), (ranges[1][0], b))) for b in ranges[1][1] for a in ranges[0][1]]
    if jobs <= 1:
        results = []
        for point in grid:
            results.append(_score_point(scenario_ref, point, scale, seed))
            if progress:
                progress(1)
        return results
    # Spawned workers: each opens its own SQLite (and the audit's columnar child) from a clean state.
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(_score_point, scenario_ref, point, scale, seed) for point in grid]
        results = []
        for future in futures:
            results.append(future.result())
            if progress:
                progress(1)
    return results


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


CSV_COLUMNS = ("measure", "recall", "precision", "true_positives", "truth", "searches", "immigration_related",
               "disguised", "seconds")


def write_csv(results: Sequence[dict[str, Any]], names: Sequence[str], path: Path) -> None:
    """One row per point and measure: the parameters, recall, precision and the counts behind them."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*names, *CSV_COLUMNS])
        for r in results:
            for measure, m in r["measures"].items():
                writer.writerow([*(r["values"][n] for n in names), measure,
                                 "" if m["recall"] is None else f"{m['recall']:.4f}",
                                 "" if m["precision"] is None else f"{m['precision']:.4f}",
                                 m["tp"], m["truth"], r["searches"], r["immigration_related"], r["disguised"],
                                 f"{r['seconds']:.2f}"])


def chart(results: Sequence[dict[str, Any]], names: Sequence[str], *, scenario: str, scale: float, seed: int) -> str:
    """The sweep as one SVG: recall (solid) and precision (dashed) per measure against the first
    parameter; with a second parameter, one panel per value of it."""
    from auditor.report.svg import line_chart

    x_name = names[0]
    panels: list[tuple[str, list[dict[str, Any]]]] = []
    if len(names) == 2:
        for value in sorted({r["values"][names[1]] for r in results}):
            panels.append((f"{names[1]} = {value:g}", [r for r in results if r["values"][names[1]] == value]))
    else:
        panels.append(("", list(results)))
    measures = [INFERENCE] + sorted({m for r in results for m in r["measures"] if m != INFERENCE})
    svg_panels = []
    for label, rows in panels:
        rows = sorted(rows, key=lambda r: r["values"][x_name])
        series = []
        for measure in measures:
            for metric in ("recall", "precision"):
                points = [(r["values"][x_name], r["measures"].get(measure, {}).get(metric)) for r in rows]
                if any(y is not None for _, y in points):
                    series.append({"label": measure, "metric": metric, "points": points})
        svg_panels.append((label, series))
    p = PARAMETERS[x_name]
    title = f"What the audit catches as {x_name} varies ({scenario})"
    def span(values: set[int]) -> str:
        return f"{min(values):,}" if min(values) == max(values) else f"{min(values):,}-{max(values):,}"

    searches = span({r["searches"] for r in results})
    truth = span({r["measures"][INFERENCE]["truth"] for r in results})
    subtitle = (f"{len(results)} points, scale {scale:g}, seed {seed}: per point {searches} searches, {truth} truly "
                "immigration-related by non-DHS searchers",
                "Scored against the simulator's truth as `audit score` does; small counts move in steps.")
    return line_chart(title, svg_panels, x_label=f"{x_name}: {p.meaning} ({p.unit})",
                      y_label="recall (solid), precision (dashed), 0-1", subtitle=subtitle)
