"""Small inline SVG charts for the report: no library, no script, hover through SVG ``<title>`` tooltips.

Chosen over plotly (4.8 MB of plotly.js inline), bokeh (~1.3 MB inline) and altair (needs the native
vl-convert to inline): a report's charts are a few dozen points each, and hand-written SVG keeps a 50-run
report near 100 kB, opens in any browser from ``file://``, prints as vectors, and can raise no script errors.
What it gives up is zoom and pan, which these charts do not need.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 520, 300  # two charts side by side on a laptop screen
LEFT, RIGHT, TOP, BOTTOM = 64, 64, 20, 52
LEGEND_LINE = 15  # px per legend line under a chart
LEGEND_CHARS = 76  # what fits in a chart's width at 11 px
COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


@dataclass
class Series:
    name: str
    x: list[float]
    y: list[float]
    low: list[float | None] = field(default_factory=list)  # interval (error bars or a band)
    high: list[float | None] = field(default_factory=list)
    tips: list[str] = field(default_factory=list)  # hover text per point
    axis: str = "left"  # "right": the second y axis
    line: bool = True
    dashed: bool = False
    band: bool = False  # the interval as a shaded band between low and high (else error bars)
    markers: bool = True  # a marker (with its hover tip) on every point


def chart(series: list[Series], x_label: str, y_label: str, y2_label: str = "", x_ticks: Sequence[str] = (),
          log_x: bool = False, y_min_span: float | None = None) -> str:
    """An SVG line/scatter chart with error bars, an optional second y axis and hover tips.

    ``x_ticks``: category names (then x holds 0, 1, 2...). ``y_min_span``: the left axis spans at least this
    much (the gap noise could make), so a difference within noise is not drawn across the whole chart. The right
    axis starts at zero.

    >>> chart([Series("acc", [1, 2], [0.8, 0.9])], "step", "accuracy").startswith("<svg")
    True
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    xs = [_tx(v, log_x) for s in series for v in s.x]
    x_lo, x_hi = _padded(min(xs), max(xs), 0.06 if not x_ticks else 0.12)
    scales = {}
    for axis in ("left", "right"):
        values = [v for s in series if s.axis == axis for v in (*s.y, *filter(None, s.low), *filter(None, s.high))]
        if values:
            lo, hi = min(values), max(values)
            if axis == "left" and y_min_span and hi - lo < y_min_span:
                middle = (lo + hi) / 2
                lo, hi = middle - y_min_span / 2, middle + y_min_span / 2
            if axis == "right":  # a cost (seconds): from zero, so 1.1x the time does not look like 10x
                lo = min(lo, 0.0)
            scales[axis] = _padded(lo, hi, 0.08)

    def px(v: float) -> float:
        return LEFT + (_tx(v, log_x) - x_lo) / (x_hi - x_lo) * plot_w

    def py(v: float, axis: str) -> float:
        lo, hi = scales[axis]
        return TOP + plot_h - (v - lo) / (hi - lo) * plot_h

    legend = _legend(series)
    height = HEIGHT + LEGEND_LINE * legend.count("<text")  # the legend below the chart, one line per series
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
           f'height="{height}" role="img" font-family="sans-serif" font-size="11">',
           f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#999"/>']
    if x_ticks:
        for i, name in enumerate(x_ticks):
            out.append(_text(px(i), TOP + plot_h + 14, name, "middle"))
    else:
        ticks = _ticks(min(s for s in (min(se.x) for se in series)), max(max(se.x) for se in series), log_x)
        for v, name in zip(ticks, tick_labels(ticks), strict=True):
            out.append(f'<line x1="{px(v):.1f}" x2="{px(v):.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
                       'stroke="#666"/>' + _text(px(v), TOP + plot_h + 15, name, "middle"))
    for axis, (lo, hi) in scales.items():
        ticks = _ticks(lo, hi)
        for v, name in zip(ticks, tick_labels(ticks), strict=True):
            x = LEFT if axis == "left" else LEFT + plot_w
            anchor, dx = ("end", -5) if axis == "left" else ("start", 5)
            out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{py(v, axis):.1f}" y2="{py(v, axis):.1f}" '
                       f'stroke="#eee"/>' if axis == "left" else "")
            out.append(_text(x + dx, py(v, axis) + 4, name, anchor))
    out.append(_text(LEFT + plot_w / 2, HEIGHT - 12, x_label, "middle", bold=True))
    out.append(f'<text transform="translate(14,{TOP + plot_h / 2}) rotate(-90)" text-anchor="middle" '
               f'font-weight="bold">{escape(y_label)}</text>')
    if "right" in scales:
        out.append(f'<text transform="translate({WIDTH - 10},{TOP + plot_h / 2}) rotate(90)" text-anchor="middle" '
                   f'font-weight="bold">{escape(y2_label)}</text>')
    for index, s in enumerate(series):
        color = COLORS[index % len(COLORS)]
        points = [(px(x), py(y, s.axis)) for x, y in zip(s.x, s.y, strict=True)]
        if s.band:
            out.append(_band(s, px, lambda v, axis=s.axis: py(v, axis), color))
        if s.line and len(points) > 1:
            dash = ' stroke-dasharray="5,4"' if s.dashed else ""
            out.append(f'<polyline fill="none" stroke="{color}" stroke-width="2"{dash} points="'
                       + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                       + f'"><title>{escape(s.name)}</title></polyline>')
        for i, (x, y) in enumerate(points):
            if not s.band and i < len(s.low) and s.low[i] is not None and s.high[i] is not None:
                out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{py(s.low[i], s.axis):.1f}" '
                           f'y2="{py(s.high[i], s.axis):.1f}" stroke="{color}" stroke-width="1.5"/>')
            if not s.markers:
                continue
            tip = escape(s.tips[i]) if i < len(s.tips) else f"{escape(s.name)}: {_fmt(s.y[i])}"
            shape = (f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="{color}">' if s.axis == "right"
                     else f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{color}">')
            out.append(f'{shape}<title>{tip}</title></{"rect" if s.axis == "right" else "circle"}>')
    out.append(legend)
    out.append("</svg>")
    return "".join(out)


def heatmap(rows: list[str], columns: list[str], values: list[list[float | None]], row_label: str,
            column_label: str, value_label: str) -> str:
    """A grid of cells shaded by value (darker is higher), each with its number and a hover tip.

    >>> heatmap(["a"], ["x", "y"], [[0.8, None]], "len", "lr", "accuracy").count("<rect") >= 2
    True
    """
    cell_w, cell_h, left, top = 90, 34, 90, 40
    found = [v for row in values for v in row if v is not None]
    lo, hi = (min(found), max(found)) if found else (0.0, 1.0)
    title = f"{value_label}: {row_label} (rows) x {column_label} (columns)"
    width = max(left + cell_w * len(columns) + 20, 7 * len(title) + 10)
    height = top + cell_h * len(rows) + 30
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" role="img" font-family="sans-serif" font-size="11">',
           _text(4, 14, title, "start", bold=True)]
    for j, name in enumerate(columns):
        out.append(_text(left + cell_w * j + cell_w / 2, top - 6, name, "middle"))
    for i, name in enumerate(rows):
        out.append(_text(left - 6, top + cell_h * i + cell_h / 2 + 4, name, "end"))
        for j, value in enumerate(values[i]):
            x, y = left + cell_w * j, top + cell_h * i
            if value is None:
                out.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="#f4f4f4" stroke="#fff">'
                           f'<title>not run</title></rect>')
                continue
            share = (value - lo) / (hi - lo) if hi > lo else 1.0
            shade = int(235 - 170 * share)
            ink = "#fff" if share > 0.6 else "#000"
            out.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" fill="rgb({shade},{shade + 10},255)" '
                       f'stroke="#fff"><title>{escape(f"{row_label} {name}, {column_label} {columns[j]}: {value:.4f}")}'
                       f'</title></rect>' + _text(x + cell_w / 2, y + cell_h / 2 + 4, f"{value:.3f}", "middle", ink))
    out.append("</svg>")
    return "".join(out)


def _band(s: Series, px: Callable[[float], float], py: Callable[[float], float], color: str) -> str:
    """The shaded area between ``low`` and ``high`` (points without both are left out of the band)."""
    kept = [(x, lo, hi) for x, lo, hi in zip(s.x, s.low, s.high, strict=False) if lo is not None and hi is not None]
    if len(kept) < 2:
        return ""
    outline = [(px(x), py(hi)) for x, _, hi in kept] + [(px(x), py(lo)) for x, lo, _ in reversed(kept)]
    return (f'<polygon fill="{color}" fill-opacity="0.18" stroke="none" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in outline) + '"/>')


def _legend(series: list[Series]) -> str:
    """One line per series under the x axis label: a row label can be long (``minilm-l3 len=128 lr=0.0001``), and
    a legend inside the plot covered the curves."""
    parts = []
    for index, s in enumerate(series):
        color = COLORS[index % len(COLORS)]
        marker = "■" if s.axis == "right" else ("▬" if s.band else "●")
        label = f"{marker} {s.name}" + (" (right axis, dashed)" if s.axis == "right" else "")
        label = label if len(label) <= LEGEND_CHARS else label[:LEGEND_CHARS - 1] + "…"  # the full name: hover
        parts.append(_text(LEFT, HEIGHT + 4 + LEGEND_LINE * index, label, "start", color))
    return "".join(parts)


def _text(x: float, y: float, text: str, anchor: str, color: str = "#222", bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="{color}"{weight}>{escape(text)}</text>'


def _tx(v: float, log_x: bool) -> float:
    return math.log10(v) if log_x and v > 0 else v


def _padded(lo: float, hi: float, share: float) -> tuple[float, float]:
    if hi == lo:
        return lo - (abs(lo) * 0.05 or 0.5), hi + (abs(hi) * 0.05 or 0.5)
    pad = (hi - lo) * share
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, log: bool = False) -> list[float]:
    if log and lo > 0:
        return [10.0**e for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
                if lo <= 10.0**e <= hi] or [lo, hi]
    if hi == lo:
        return [lo]
    step = 10 ** math.floor(math.log10((hi - lo) / 4))
    for factor in (1, 2, 5, 10):
        if (hi - lo) / (step * factor) <= 6:
            step *= factor
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step) + 1)]


def tick_labels(ticks: list[float]) -> list[str]:
    """Tick labels with as many digits as it takes for no two to read the same.

    >>> tick_labels([6e-05, 8e-05, 1e-04, 1.2e-04])
    ['6.0e-05', '8.0e-05', '1.0e-04', '1.2e-04']
    >>> tick_labels([0.5, 0.55, 0.6])
    ['0.5', '0.55', '0.6']
    """
    for digits in range(0, 6):
        names = [_fmt(v, digits) for v in ticks]
        if len(set(names)) == len(names):
            return names
    return names


def _fmt(v: float, digits: int = 0) -> str:
    """A short number: ``digits`` after the point in e-notation for tiny or huge values, else 4 significant."""
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.{digits}e}"
    return f"{v:.{4 + digits}g}"
