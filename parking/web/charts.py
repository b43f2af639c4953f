"""Bar charts as SVG markup built on the server (the reports page): no script, no library, no CDN,
so they show on a closed network, print, and read the same with JavaScript off.

Readable without colour: every bar carries its value (and, with several series, the series name)
as text right beside it; each series has its own fill pattern (solid, hatched, dotted) and a text
legend; the chart is a `role="img"` with an `aria-label`, and its `<title>` and `<desc>` say every
figure in words. Bars run horizontally, one row per night, so that long Chinese labels fit and the
chart grows downwards rather than off the side of a phone."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

FONT = 18  # px: the smallest text on any page (docs/pages.md)
LABEL_WIDTH = 200
BAR_AREA = 300
VALUE_WIDTH = 170
BAR_HEIGHT = 26
BAR_GAP = 4
ROW_GAP = 14
LEGEND_HEIGHT = 40
INK = "#111111"
STYLES = ("solid", "hatch", "dots")


@dataclass(frozen=True)
class Series:
    key: str
    label: str
    style: str = "solid"  # one of STYLES: a pattern, never only a colour


@dataclass(frozen=True)
class Row:
    label: str
    values: Sequence[float | None]


def _patterns(chart_id: str) -> str:
    return (
        "<defs>"
        f'<pattern id="{chart_id}-hatch" width="10" height="10" patternUnits="userSpaceOnUse"'
        ' patternTransform="rotate(45)">'
        '<rect width="10" height="10" fill="#ffffff"/>'
        '<rect width="4" height="10" fill="#7a4b00"/>'
        "</pattern>"
        f'<pattern id="{chart_id}-dots" width="10" height="10" patternUnits="userSpaceOnUse">'
        '<rect width="10" height="10" fill="#ffffff"/>'
        '<circle cx="5" cy="5" r="3" fill="#0b6b2f"/>'
        "</pattern>"
        "</defs>"
    )


def _fill(chart_id: str, style: str) -> str:
    if style == "hatch":
        return f'fill="url(#{chart_id}-hatch)" stroke="#5c3800" stroke-width="2"'
    if style == "dots":
        return f'fill="url(#{chart_id}-dots)" stroke="#0a4f23" stroke-width="2"'
    return 'fill="#0a4f9e" stroke="#083b76" stroke-width="2"'


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    rows: Sequence[Row],
    series: Sequence[Series],
    value_text: Callable[[float | None], str],
    maximum: float | None = None,
) -> Markup:
    """Horizontal grouped bars: one group per row, one bar per series. `value_text` turns a value
    (None: no figure, e.g. a closed night) into the words printed beside the bar."""
    if any(s.style not in STYLES for s in series):
        raise ValueError(f"unknown bar style; use one of {STYLES}")
    chart_id = "".join(c for c in chart_id if c.isalnum() or c == "-") or "chart"
    values = [v for row in rows for v in row.values if v is not None]
    top = maximum if maximum is not None else max(values, default=0)
    top = top or 1
    group = len(series) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    height = LEGEND_HEIGHT + len(rows) * (group + ROW_GAP) + ROW_GAP
    several = len(series) > 1

    def said(s: Series, value: float | None) -> str:
        return f"{s.label} {value_text(value)}" if several else value_text(value)

    words = "; ".join(
        f"{row.label}: " + ", ".join(said(s, v) for s, v in zip(series, row.values, strict=False)) for row in rows
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" height="{height}"'
        f' viewBox="0 0 {width} {height}" aria-label="{escape(title)}" aria-describedby="{chart_id}-desc"'
        f' font-size="{FONT}" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
        f'<desc id="{chart_id}-desc">{escape(description)} {escape(words)}</desc>',
        _patterns(chart_id),
    ]
    x = 0
    for s in series:  # the legend: a swatch with the pattern and the series name in words
        parts.append(f'<rect x="{x}" y="6" width="34" height="24" {_fill(chart_id, s.style)}/>')
        parts.append(f'<text x="{x + 42}" y="25" fill="{INK}">{escape(s.label)}</text>')
        x += 42 + (len(s.label) + 2) * FONT
    y = LEGEND_HEIGHT + ROW_GAP
    parts.append(
        f'<line x1="{LABEL_WIDTH}" y1="{LEGEND_HEIGHT}" x2="{LABEL_WIDTH}" y2="{height}"'
        f' stroke="{INK}" stroke-width="2"/>'
    )
    for row in rows:
        parts.append(
            f'<text x="{LABEL_WIDTH - 10}" y="{y + group / 2 + FONT / 3:.0f}" text-anchor="end" fill="{INK}">'
            f"{escape(row.label)}</text>"
        )
        for n, s in enumerate(series):
            value = row.values[n] if n < len(row.values) else None
            bar_y = y + n * (BAR_HEIGHT + BAR_GAP)
            length = 0 if value is None else round(BAR_AREA * max(0.0, min(value, top)) / top)
            if length:
                parts.append(
                    f'<rect class="bar bar-{escape(s.key)}" x="{LABEL_WIDTH}" y="{bar_y}" width="{length}"'
                    f' height="{BAR_HEIGHT}" {_fill(chart_id, s.style)}/>'
                )
            parts.append(
                f'<text class="value" x="{LABEL_WIDTH + length + 8}" y="{bar_y + BAR_HEIGHT - 6}" fill="{INK}">'
                f"{escape(said(s, value))}</text>"
            )
        y += group + ROW_GAP
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - every text above went through escape()
