"""Inline SVG charts drawn by hand: no JavaScript, no fonts or images from anywhere.

Every label comes from a log (agency names, tags), so each one is escaped with
``html.escape(..., quote=True)`` before it reaches an element or an attribute.
"""
from __future__ import annotations

import math
from html import escape
from typing import Any

from auditor.untrusted import visible

DOOR_COLOURS = {"side": "#c0392b", "back": "#d35400", "front": "#8e44ad", None: "#95a5a6"}
BAR_COLOUR = "#2e6da4"
_CHAR_PX = 6.6  # average glyph width of the 11px system sans-serif, for sizing label columns


def _e(value: Any) -> str:
    return escape(visible(str(value)), quote=True)


def _short(label: str, limit: int) -> str:
    # Truncate before escaping, so an entity is never cut in half.
    return label if len(label) <= limit else label[: limit - 1] + "…"


FINDINGS_COLOUR = "#1c3f66"
ALL_COLOUR = "#9dbbd9"


def _stack_tip(label: str, bar: dict[str, Any], unit: str) -> str:
    tip = f"{label}: {bar['searches']:,} {unit}"
    if bar.get("with_findings") is not None:
        tip += f", {bar['with_findings']:,} with findings"
    if bar.get("immigration_related"):
        tip += f", {bar['immigration_related']:,} immigration-related"
    return _e(tip)


def bar_chart(title: str, bars: list[dict[str, Any]], *, unit: str = "searches", label_chars: int = 34) -> str:
    """Horizontal bars, one per label, in the order given; the full label and figures are in a tooltip.

    A bar is all searches (light); the part with findings (``with_findings``) is drawn dark inside it.
    """
    if not bars:
        return f'<svg role="img" width="480" height="40"><title>{_e(title)}</title>' \
               f'<text x="4" y="24" class="muted">no {_e(unit)}</text></svg>'
    longest = max(len(_short(str(b["label"]), label_chars)) for b in bars)
    left = int(min(label_chars, longest) * _CHAR_PX) + 12
    width, bar_h, gap, top = 640, 16, 6, 8
    plot = width - left - 70
    peak = max(b["searches"] for b in bars) or 1
    height = top + len(bars) * (bar_h + gap) + 4
    out = [f'<svg role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" class="chart"><title>{_e(title)}</title>']
    for i, bar in enumerate(bars):
        y = top + i * (bar_h + gap)
        w = max(1.0, plot * bar["searches"] / peak)
        label = str(bar["label"])
        flagged = bar.get("with_findings")
        inner = (f'<rect x="{left}" y="{y}" width="{plot * flagged / peak:.1f}" height="{bar_h}" '
                 f'fill="{FINDINGS_COLOUR}"/>' if flagged else "")
        out.append(
            f'<g><title>{_stack_tip(label, bar, unit)}</title>'
            f'<text x="{left - 6}" y="{y + bar_h - 4}" text-anchor="end">{_e(_short(label, label_chars))}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{ALL_COLOUR if flagged is not None else BAR_COLOUR}"/>'
            f'{inner}<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}">{bar["searches"]:,}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def column_chart(title: str, bars: list[dict[str, Any]], *, unit: str = "searches") -> str:
    """Vertical bars in the given (time) order, for the monthly series; findings stacked inside."""
    if not bars:
        return bar_chart(title, bars, unit=unit)
    col, gap, top, bottom, left = 26, 6, 18, 48, 40  # room for the rotated month labels
    width = max(320, left * 2 + len(bars) * (col + gap))
    plot_h = 180
    peak = max(b["searches"] for b in bars) or 1
    height = top + plot_h + bottom
    out = [f'<svg role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" class="chart"><title>{_e(title)}</title>']
    for i, bar in enumerate(bars):
        x = left + i * (col + gap)
        h = max(1.0, plot_h * bar["searches"] / peak)
        y = top + plot_h - h
        flagged = bar.get("with_findings")
        fh = plot_h * (flagged or 0) / peak
        inner = (f'<rect x="{x}" y="{top + plot_h - fh:.1f}" width="{col}" height="{fh:.1f}" fill="{FINDINGS_COLOUR}"/>'
                 if flagged else "")
        out.append(
            f'<g><title>{_stack_tip(str(bar["label"]), bar, unit)}</title>'
            f'<rect x="{x}" y="{y:.1f}" width="{col}" height="{h:.1f}" fill="{ALL_COLOUR if flagged is not None else BAR_COLOUR}"/>{inner}'
            f'<text x="{x + col / 2}" y="{y - 3:.1f}" text-anchor="middle" class="small">{bar["searches"]:,}</text>'
            f'<text x="{x + col / 2}" y="{top + plot_h + 12}" text-anchor="end" class="small" '
            f'transform="rotate(-45 {x + col / 2} {top + plot_h + 12})">{_e(bar["label"])}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def stack_legend() -> str:
    """The key to the two shades of the bar charts."""
    return (f'<span class="key"><svg width="14" height="10"><rect width="14" height="10" fill="{ALL_COLOUR}"/></svg> '
            f'all searches</span><span class="key"><svg width="14" height="10"><rect width="14" height="10" '
            f'fill="{FINDINGS_COLOUR}"/></svg> searches with findings</span>')


# A tile grid of the states (column, row): a schematic map, one square per state, no geometry
# and nothing fetched. DC and Puerto Rico get tiles too.
STATE_TILES: dict[str, tuple[int, int]] = {
    "AK": (0, 0), "ME": (10, 0),
    "WI": (5, 1), "VT": (9, 1), "NH": (10, 1),
    "WA": (0, 2), "ID": (1, 2), "MT": (2, 2), "ND": (3, 2), "MN": (4, 2), "IL": (5, 2), "MI": (6, 2),
    "NY": (8, 2), "MA": (9, 2),
    "OR": (0, 3), "NV": (1, 3), "WY": (2, 3), "SD": (3, 3), "IA": (4, 3), "IN": (5, 3), "OH": (6, 3),
    "PA": (7, 3), "NJ": (8, 3), "CT": (9, 3), "RI": (10, 3),
    "CA": (0, 4), "UT": (1, 4), "CO": (2, 4), "NE": (3, 4), "MO": (4, 4), "KY": (5, 4), "WV": (6, 4),
    "VA": (7, 4), "MD": (8, 4), "DE": (9, 4),
    "AZ": (1, 5), "NM": (2, 5), "KS": (3, 5), "AR": (4, 5), "TN": (5, 5), "NC": (6, 5), "SC": (7, 5), "DC": (8, 5),
    "OK": (3, 6), "LA": (4, 6), "MS": (5, 6), "AL": (6, 6), "GA": (7, 6),
    "HI": (0, 7), "TX": (3, 7), "FL": (8, 7), "PR": (10, 7),
}
_SHADES = ("#f1f5fa", "#d0e1f2", "#a6c8e6", "#73a7d6", "#4486c2", "#1f63a5", "#0d3f75")


def _shade(n: int, peak: int) -> str:
    if not n:
        return _SHADES[0]
    # Log scale: a state with 10 searches stays visible beside one with 100,000.
    step = math.log10(n + 1) / max(math.log10(peak + 1), 1e-9)
    return _SHADES[1 + min(len(_SHADES) - 2, int(step * (len(_SHADES) - 1)))]


def state_map(title: str, by_state: dict[str, dict[str, Any]], *, home: str | None = None,
              subject: str = "searches") -> str:
    """A tile map of the states: shade = searches, red figure = immigration-related, home outlined.

    ``by_state`` maps a two-letter state to ``{"searches", "immigration_related", "with_findings"}``;
    every state has a tooltip with its figures (zero included), so a reader can hover any tile.
    """
    tile, gap, pad = 46, 4, 6
    cols = 1 + max(c for c, _ in STATE_TILES.values())
    rows = 1 + max(r for _, r in STATE_TILES.values())
    width, height = pad * 2 + cols * (tile + gap), pad * 2 + rows * (tile + gap)
    peak = max((v.get("searches", 0) for k, v in by_state.items() if k in STATE_TILES), default=0)
    out = [f'<svg role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" class="chart map">'
           f'<title>{_e(title)}</title>']
    for state, (c, r) in STATE_TILES.items():
        v = by_state.get(state) or {}
        n, imm, flagged = v.get("searches", 0), v.get("immigration_related", 0), v.get("with_findings", 0)
        x, y = pad + c * (tile + gap), pad + r * (tile + gap)
        fill = _shade(n, peak)
        dark = fill in _SHADES[4:]
        tip = f"{state}: {n:,} {subject}"
        if n:
            tip += f", {flagged:,} with findings, {imm:,} immigration-related"
        if state == home:
            tip += " (the owner's state)"
        stroke = ' stroke="#c0392b" stroke-width="3"' if state == home else ' stroke="#fff" stroke-width="1"'
        out.append(
            f'<g class="state" data-state="{state}"><title>{_e(tip)}</title>'
            f'<rect x="{x}" y="{y}" width="{tile}" height="{tile}" rx="3" fill="{fill}"{stroke}/>'
            f'<text x="{x + 4}" y="{y + 13}" class="small{" on-dark" if dark else ""}">{state}</text>'
            + (f'<text x="{x + tile - 4}" y="{y + 27}" text-anchor="end" class="small{" on-dark" if dark else ""}">'
               f'{_compact(n)}</text>' if n else "")
            + (f'<text x="{x + tile - 4}" y="{y + tile - 5}" text-anchor="end" class="small imm">{_compact(imm)}</text>'
               if imm else "")
            + "</g>")
    out.append("</svg>")
    return "".join(out)


def _compact(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n // 1000}k"
    return f"{n:,}"


def flow_diagram(flows: list[dict[str, Any]], *, label_chars: int = 30) -> str:
    """A Sankey-like picture: owners, searchers (with state) and beneficiaries in three columns.

    Each flow is a band whose thickness is proportional to its searches, coloured by its door
    (side, back, front); a search done for the searcher itself ends at "(for itself)".
    """
    if not flows:
        return bar_chart("data flows", [], unit="flows between agencies")
    columns: list[dict[str, int]] = [{}, {}, {}]
    keyed = []
    for flow in flows:
        state = f" ({flow['searcher_state']})" if flow.get("searcher_state") else ""
        keys = (flow["owner"], f"{flow['searcher']}{state}", flow["beneficiary"] or "(for itself)")
        keyed.append((keys, flow))
        for col, key in enumerate(keys):
            columns[col][key] = columns[col].get(key, 0) + flow["searches"]
    width, top, node_w, gap = 980, 24, 10, 10
    text_w = label_chars * _CHAR_PX
    xs = [text_w + 8, (width - node_w) / 2, width - text_w - 8 - node_w]
    tallest = max(len(c) for c in columns)
    plot_h = max(160, tallest * 34)
    scale = (plot_h - gap * (tallest - 1)) / max(sum(c.values()) for c in columns)
    min_band = 1.5
    # Node boxes: height from searches, never thinner than the bands drawn into them.
    boxes: list[dict[str, list[float]]] = []
    for col in columns:
        y, placed = top, {}
        for key, n in sorted(col.items(), key=lambda kv: -kv[1]):
            h = max(min_band * sum(1 for k, _ in keyed if key in k), n * scale)
            placed[key] = [y, h, y, y]  # top, height, next incoming slot, next outgoing slot
            y += h + gap
        boxes.append(placed)
    height = int(max(b[0] + b[1] for col in boxes for b in col.values()) + 24)
    out = [f'<svg role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" class="chart flows"><title>Data flows: owner, searcher, beneficiary</title>',
           f'<text x="{xs[0]}" y="14" class="head">owner</text>',
           f'<text x="{xs[1]}" y="14" class="head" text-anchor="middle">searcher (state)</text>',
           f'<text x="{xs[2] + node_w}" y="14" class="head" text-anchor="end">beneficiary</text>']
    # Stack bands inside each node in the order of the node at their other end, which keeps bands
    # from crossing inside the picture more than the flows themselves require.
    ends: dict[tuple[int, int], tuple[float, float]] = {}
    for col in (0, 1):
        for i in sorted(range(len(keyed)), key=lambda i: (boxes[col + 1][keyed[i][0][col + 1]][0], i)):
            src, band = boxes[col][keyed[i][0][col]], max(min_band, keyed[i][1]["searches"] * scale)
            ends[(i, col)] = (src[3] + band / 2, 0.0)
            src[3] += band
        for i in sorted(range(len(keyed)), key=lambda i: (boxes[col][keyed[i][0][col]][0], i)):
            dst, band = boxes[col + 1][keyed[i][0][col + 1]], max(min_band, keyed[i][1]["searches"] * scale)
            ends[(i, col)] = (ends[(i, col)][0], dst[2] + band / 2)
            dst[2] += band
    for i, (keys, flow) in enumerate(keyed):
        band = max(min_band, flow["searches"] * scale)
        colour = DOOR_COLOURS.get(flow.get("door"), DOOR_COLOURS[None])
        door = f", {flow['door']} door" if flow.get("door") else ""
        tip = _e(f"{keys[0]} → {keys[1]} → {keys[2]}: {flow['searches']:,} searches{door}")
        for col in (0, 1):
            y0, y1 = ends[(i, col)]
            x0, x1 = xs[col] + node_w, xs[col + 1]
            mid = (x0 + x1) / 2
            out.append(f'<path d="M{x0:.1f},{y0:.1f} C{mid:.1f},{y0:.1f} {mid:.1f},{y1:.1f} {x1:.1f},{y1:.1f}" '
                       f'stroke="{colour}" stroke-width="{band:.1f}" fill="none" stroke-opacity="0.55">'
                       f'<title>{tip}</title></path>')
    for col, placed in enumerate(boxes):
        for key, (y, h, _, _) in placed.items():
            out.append(f'<rect x="{xs[col]:.1f}" y="{y:.1f}" width="{node_w}" height="{h:.1f}" fill="#34495e">'
                       f'<title>{_e(key)}: {columns[col][key]:,} searches</title></rect>')
            label = _e(_short(key, label_chars))
            ty = y + h / 2 + 4
            if col == 0:
                out.append(f'<text x="{xs[0] - 4:.1f}" y="{ty:.1f}" text-anchor="end">{label}</text>')
            elif col == 1:
                out.append(f'<text x="{xs[1] + node_w + 4:.1f}" y="{ty:.1f}" class="mid">{label}</text>')
            else:
                out.append(f'<text x="{xs[2] + node_w + 4:.1f}" y="{ty:.1f}">{label}</text>')
    out.append("</svg>")
    return "".join(out)


def door_legend() -> str:
    """A key to the band colours, as small inline SVG swatches."""
    items = [("side", "side door (proxy for DHS)"), ("back", "back door (DHS via statewide/national)"),
             ("front", "front door (shared 1:1 with DHS)"), (None, "no door")]
    return " ".join(
        f'<span class="key"><svg width="14" height="10">'
        f'<rect width="14" height="10" fill="{DOOR_COLOURS[d]}"/></svg> {_e(text)}</span>'
        for d, text in items
    )


# Colours for lines, distinguishable in print and for the common colour-vision deficiencies
# (Okabe and Ito's palette).
LINE_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")


def line_chart(title: str, panels: list[tuple[str, list[dict[str, Any]]]], *, x_label: str, y_label: str,
               subtitle: tuple[str, ...] = (), width: int = 800, panel_height: int = 300) -> str:
    """A standalone SVG of line charts sharing a legend: one panel per (label, series list).

    A series is ``{"label", "metric": "recall"|"precision", "points": [(x, y or None), ...]}`` with y
    in 0..1; recall is drawn solid, precision dashed, one colour per label. The file carries its own
    styles (no report CSS), axes with ticks and units, and a legend, so it reads on its own.
    """
    labels: list[str] = []
    for _, series in panels:
        for s in series:
            if s["label"] not in labels:
                labels.append(s["label"])
    colour = {label: LINE_COLOURS[i % len(LINE_COLOURS)] for i, label in enumerate(labels)}
    left, right, top = 64, 28, 40 + 16 * len(subtitle)
    legend_h = 22 * (len(labels) + 2) + 10
    plot_w = width - left - right
    plot_h = panel_height - 70
    height = top + len(panels) * panel_height + legend_h
    xs = [x for _, series in panels for s in series for x, _ in s["points"]]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi == x_lo:
        x_hi = x_lo + 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" font-family="system-ui, sans-serif" font-size="12">',
           f"<title>{_e(title)}</title>",
           f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
           f'<text x="{left}" y="22" font-size="14" font-weight="bold">{_e(_short(title, 100))}</text>']
    out += [f'<text x="{left}" y="{40 + 16 * i}" font-size="11" fill="#444">{_e(_short(line, 120))}</text>'
            for i, line in enumerate(subtitle)]
    for p, (panel_label, series) in enumerate(panels):
        y0 = top + p * panel_height
        def sx(x: float) -> float:
            return left + plot_w * (x - x_lo) / (x_hi - x_lo)

        def sy(y: float) -> float:
            return y0 + 20 + plot_h * (1 - y)
        if panel_label:
            out.append(f'<text x="{left}" y="{y0 + 12}" font-weight="bold">{_e(panel_label)}</text>')
        for i in range(6):  # y grid and ticks: 0, 0.2, ... 1
            y = i / 5
            out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#dddddd"/>')
            out.append(f'<text x="{left - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{y:.1f}</text>')
        ticks = sorted(set(xs))
        step = max(1, math.ceil(len(ticks) / 10))
        for x in ticks[::step]:
            out.append(f'<line x1="{sx(x):.1f}" x2="{sx(x):.1f}" y1="{sy(0):.1f}" y2="{sy(0) + 4:.1f}" stroke="#333"/>')
            out.append(f'<text x="{sx(x):.1f}" y="{sy(0) + 16:.1f}" text-anchor="middle">{x:g}</text>')
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{sy(0):.1f}" y2="{sy(0):.1f}" stroke="#333"/>')
        out.append(f'<line x1="{left}" x2="{left}" y1="{sy(0):.1f}" y2="{sy(1):.1f}" stroke="#333"/>')
        out.append(f'<text x="{left + plot_w / 2:.1f}" y="{sy(0) + 34:.1f}" text-anchor="middle">{_e(x_label)}</text>')
        out.append(f'<text transform="translate({16},{sy(0.5):.1f}) rotate(-90)" text-anchor="middle" font-size="11">'
                   f'{_e(_short(y_label, 48))}</text>')
        for s in series:
            dash = ' stroke-dasharray="6 4"' if s["metric"] == "precision" else ""
            runs: list[list[tuple[float, float]]] = [[]]
            for x, y in s["points"]:  # a point with no value (nothing to score) breaks the line
                if y is None:
                    runs.append([])
                else:
                    runs[-1].append((sx(x), sy(y)))
            for run in runs:
                if len(run) > 1:
                    d = " ".join(f"{a:.1f},{b:.1f}" for a, b in run)
                    out.append(f'<polyline fill="none" stroke="{colour[s["label"]]}" stroke-width="2"{dash} points="{d}">'
                               f'<title>{_e(s["label"])} {s["metric"]}</title></polyline>')
                for a, b in run:
                    out.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="2.5" fill="{colour[s["label"]]}"/>')
    ly = top + len(panels) * panel_height
    out.append(f'<text x="{left}" y="{ly + 4}" font-weight="bold">Legend: colour = measure; solid line = recall, '
               f'dashed = precision</text>')
    out.append(f'<text x="{left}" y="{ly + 20}" font-size="11" fill="#444">Lines that coincide are drawn over each '
               f'other; the CSV holds every value.</text>')
    for i, label in enumerate(labels):
        y = ly + 22 * (i + 2)
        out.append(f'<line x1="{left}" x2="{left + 28}" y1="{y}" y2="{y}" stroke="{colour[label]}" stroke-width="2"/>')
        out.append(f'<line x1="{left + 34}" x2="{left + 62}" y1="{y}" y2="{y}" stroke="{colour[label]}" '
                   f'stroke-width="2" stroke-dasharray="6 4"/>')
        out.append(f'<text x="{left + 70}" y="{y + 4}">{_e(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
