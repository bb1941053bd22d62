"""Inline SVG charts drawn by hand: no JavaScript, no fonts or images from anywhere.

Every label comes from a log (agency names, tags), so each one is escaped with
``html.escape(..., quote=True)`` before it reaches an element or an attribute.
"""
from __future__ import annotations

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


def bar_chart(title: str, bars: list[dict[str, Any]], *, unit: str = "searches", label_chars: int = 34) -> str:
    """Horizontal bars, one per label, longest first as given; the full label is in a tooltip."""
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
        out.append(
            f'<g><title>{_e(label)}: {bar["searches"]:,} {_e(unit)}</title>'
            f'<text x="{left - 6}" y="{y + bar_h - 4}" text-anchor="end">{_e(_short(label, label_chars))}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{BAR_COLOUR}"/>'
            f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 4}">{bar["searches"]:,}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def column_chart(title: str, bars: list[dict[str, Any]], *, unit: str = "searches") -> str:
    """Vertical bars in the given (time) order, for the monthly series."""
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
        out.append(
            f'<g><title>{_e(bar["label"])}: {bar["searches"]:,} {_e(unit)}</title>'
            f'<rect x="{x}" y="{y:.1f}" width="{col}" height="{h:.1f}" fill="{BAR_COLOUR}"/>'
            f'<text x="{x + col / 2}" y="{y - 3:.1f}" text-anchor="middle" class="small">{bar["searches"]:,}</text>'
            f'<text x="{x + col / 2}" y="{top + plot_h + 12}" text-anchor="end" class="small" '
            f'transform="rotate(-45 {x + col / 2} {top + plot_h + 12})">{_e(bar["label"])}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


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
