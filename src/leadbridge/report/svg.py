"""The report's charts as inline SVG, drawn here: no script, no library, nothing to fetch.

Every value that came from data (reasons and sources from reps' picklists)
goes through `_e`, never into markup raw.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from leadbridge.report.build import Report
from leadbridge.report.format import percent, week

# One hue per forward stage, light to dark down the funnel: the eye reads depth.
_PALETTE = ("#9ec5fe", "#6ea8fe", "#3d8bfd", "#0d6efd", "#0a58ca", "#084298", "#052c65")
_HANDBACK = "#fd7e14"
# The trend's lines: hues far apart, so four lines stay tellable apart in print too.
_SERIES = ("#0d6efd", "#6f42c1", "#20c997", "#198754", "#d63384", "#6c757d")
_CHART_WIDTH = 760
_LABEL_WIDTH = 180
_BAR_AREA = 500
_ROW = 40
_GAP = 26  # between bars, where the conversion to the next stage is written


def funnel_svg(report: Report, stages: Sequence[str]) -> str:
    """One centred bar per stage, width by leads, the conversion to the next written between."""
    part = report.overall
    top = max([part.reached[s] for s in stages] + [1])
    height = len(stages) * (_ROW + _GAP) - _GAP
    centre = _LABEL_WIDTH + _BAR_AREA / 2
    out = [
        f'<svg id="funnel" role="img" aria-label="Funnel chart" width="{_CHART_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">'
    ]
    for n, stage in enumerate(stages):
        count = part.reached[stage]
        width = max(_BAR_AREA * count / top, 3.0)  # an empty stage still shows where it is
        y = n * (_ROW + _GAP)
        colour = _PALETTE[min(report.stages.index(stage), len(_PALETTE) - 1)]
        label = _e(report.stage_label(stage))
        out.append(
            f'<g class="stage" data-stage="{_e(stage)}">'
            f'<text x="{_LABEL_WIDTH - 12}" y="{y + _ROW / 2 + 5}" text-anchor="end" '
            f'font-size="15" font-weight="600">{label}</text>'
            f'<rect class="bar" x="{centre - width / 2:.1f}" y="{y}" width="{width:.1f}" '
            f'height="{_ROW}" rx="4" fill="{colour}"><title>{label}: {count} leads</title></rect>'
            f'<text class="count" x="{_LABEL_WIDTH + _BAR_AREA + 14}" y="{y + _ROW / 2 + 5}" '
            f'font-size="15" font-weight="700">{count}</text></g>'
        )
        index = report.stages.index(stage)
        if n < len(stages) - 1 and index < len(part.conversions):
            step = part.conversions[index]
            out.append(
                f'<text class="conversion" x="{centre}" y="{y + _ROW + _GAP / 2 + 5}" '
                f'text-anchor="middle" font-size="13" fill="#59636e">&#9660; '
                f"{_e(percent(step.ratio))} ({step.converted} of {step.reached})</text>"
            )
    out.append("</svg>")
    return "".join(out)


def handbacks_svg(report: Report) -> str:
    backs = report.overall.handbacks
    if not backs:
        return '<p class="note">No hand-backs in this period.</p>'
    top = max(h.count for h in backs)
    row, gap, label = 26, 8, 260
    area = _CHART_WIDTH - label - 60
    height = len(backs) * (row + gap) - gap
    out = [
        f'<svg id="handbacks" role="img" aria-label="Hand-backs by reason" '
        f'width="{_CHART_WIDTH}" height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}">'
    ]
    for n, back in enumerate(backs):
        y = n * (row + gap)
        width = max(area * back.count / top, 3.0)
        name = f"{report.value_label(back.reason)} ({report.stage_label(back.stage)})"
        out.append(
            f'<g class="handback" data-reason="{_e(back.reason)}">'
            f'<text x="{label - 10}" y="{y + row / 2 + 5}" text-anchor="end" '
            f'font-size="14">{_e(name)}</text>'
            f'<rect class="bar" x="{label}" y="{y}" width="{width:.1f}" height="{row}" rx="3" '
            f'fill="{_HANDBACK}"><title>{_e(name)}: {back.count}</title></rect>'
            f'<text class="count" x="{label + width + 8:.1f}" y="{y + row / 2 + 5}" '
            f'font-size="14" font-weight="700">{back.count}</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def trend_svg(report: Report, stages: Sequence[str], weeks: int) -> str:
    """One line per stage over the last `weeks` weeks: how many leads arrived there each week."""
    shown = report.trend[-weeks:]
    if not shown:
        return '<p class="note">No moves in this period.</p>'
    left, right, top, bottom, height = 44, 170, 12, 34, 280
    plot_w, plot_h = _CHART_WIDTH - left - right, height - top - bottom
    peak = _nice_top(max([w.arrivals[s] for w in shown for s in stages] + [1]))
    step = plot_w / max(len(shown) - 1, 1)

    def x(n: int) -> float:
        return left + (plot_w / 2 if len(shown) == 1 else n * step)

    def y(value: int) -> float:
        return top + plot_h * (1 - value / peak)

    out = [
        f'<svg id="trend" role="img" aria-label="New per week" width="{_CHART_WIDTH}" '
        f'height="{height}" viewBox="0 0 {_CHART_WIDTH} {height}" font-size="12">'
    ]
    for tick in _ticks(peak):
        out.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'stroke="#d1d9e0"/><text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
            f'fill="#59636e">{tick}</text>'
        )
    every = math.ceil(len(shown) / 8)  # at most eight dates under the axis
    for n, w in enumerate(shown):
        if n % every == 0 or n == len(shown) - 1:
            out.append(
                f'<text class="week" x="{x(n):.1f}" y="{height - 12}" text-anchor="middle" '
                f'fill="#59636e">{week(w.start)}</text>'
            )
    for number, stage in enumerate(stages):
        out.append(_series(report, stage, number, [w.arrivals[stage] for w in shown], x, y))
        legend_y = top + 8 + number * 22
        total = sum(w.arrivals[stage] for w in shown)
        out.append(
            f'<g class="legend"><line x1="{_CHART_WIDTH - right + 16}" '
            f'x2="{_CHART_WIDTH - right + 40}" y1="{legend_y}" y2="{legend_y}" '
            f'stroke="{_colour(number)}" stroke-width="3"/><text x="{_CHART_WIDTH - right + 46}" '
            f'y="{legend_y + 4}">{_e(report.stage_label(stage))} ({total})</text></g>'
        )
    out.append("</svg>")
    return "".join(out)


def _series(
    report: Report,
    stage: str,
    number: int,
    values: Sequence[int],
    x: Callable[[int], float],
    y: Callable[[int], float],
) -> str:
    colour, label = _colour(number), _e(report.stage_label(stage))
    points = " ".join(f"{x(n):.1f},{y(v):.1f}" for n, v in enumerate(values))
    dots = "".join(
        f'<circle class="point" cx="{x(n):.1f}" cy="{y(v):.1f}" r="4" fill="{colour}" '
        f'data-value="{v}"><title>{label}: {v}</title></circle>'
        for n, v in enumerate(values)
    )
    return (
        f'<g class="series" data-stage="{_e(stage)}"><polyline points="{points}" fill="none" '
        f'stroke="{colour}" stroke-width="3" stroke-linejoin="round"/>{dots}</g>'
    )


def _colour(number: int) -> str:
    return _SERIES[number % len(_SERIES)]


def _nice_top(value: int) -> int:
    """The axis' top: the value rounded up to 1, 2 or 5 times a power of ten (at least 4)."""
    if value <= 4:
        return 4
    power: int = 10 ** int(math.log10(value))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= value)


def _ticks(peak: int) -> list[int]:
    return [peak * n // 4 for n in range(5)]


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)
