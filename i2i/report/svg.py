"""Line charts as inline SVG: no plotting library, no script, nothing fetched; the browser draws them.

A chart has one or more series (x, y), optionally a shaded band (a standard deviation), axes with round tick
values, a log scale for quantities that span decades (losses), and a legend. Non-finite values leave gaps.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f",
           "#bcbd22")
WIDTH, HEIGHT = 460, 250
LEFT, RIGHT, TOP, BOTTOM = 58, 12, 24, 34


@dataclass
class Series:
    """One curve: points, colour, stroke, and an optional band (low, high) per point."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    color: str = PALETTE[0]
    width: float = 1.6
    opacity: float = 1.0
    band: Sequence[tuple[float, float]] | None = None
    legend: bool = True


def smooth(values: Sequence[float], weight: float | None = None) -> list[float]:
    """Exponential moving average, debiased as TensorBoard's smoothing is (the weight grows with the length)."""
    if weight is None:
        weight = min(0.9, 1 - 5 / max(len(values), 5)) if len(values) > 10 else 0.0
    out, average, count = [], 0.0, 0
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        count += 1
        average = weight * average + (1 - weight) * value
        out.append(average / (1 - weight**count) if weight else value)
    return out


def wants_log(values: Sequence[float]) -> bool:
    """A log scale helps when every value is positive and they span more than a factor of 20."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 20


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) covering [low, high]."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        if value >= low - step * 1e-9:
            ticks.append(round(value, 12))
        value += step
    return ticks


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.3g}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:.4g}"


class _Scale:
    def __init__(self, low: float, high: float, start: float, end: float, log: bool) -> None:
        self.log, self.start, self.end = log, start, end
        self.low, self.high = (math.log10(low), math.log10(high)) if log else (low, high)
        if self.high <= self.low:
            self.high = self.low + (abs(self.low) or 1.0) * (0.1 if not log else 1)
            self.low -= (self.high - self.low) if not log else 0

    def __call__(self, value: float) -> float:
        value = math.log10(value) if self.log else value
        return self.start + (value - self.low) / (self.high - self.low) * (self.end - self.start)


def line_chart(series: Sequence[Series], title: str, x_label: str = "step", y_label: str = "",
               log_y: bool | None = None) -> str:
    """An <svg> element drawing ``series``; ``log_y`` None chooses a log scale when the values span decades."""
    points = [(x, y) for s in series for x, y in zip(s.xs, s.ys, strict=True) if math.isfinite(y)]
    bands = [v for s in series if s.band for pair in s.band for v in pair if math.isfinite(v)]
    ys = [y for _, y in points] + bands
    log = wants_log(ys) if log_y is None else log_y and bool(ys) and min(ys) > 0
    body: list[str] = []
    if not points:
        body.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#888">no values</text>')
        return _svg(title, body)
    xs = [x for x, _ in points]
    sx = _Scale(min(xs), max(xs), LEFT, WIDTH - RIGHT, False)
    sy = _Scale(min(ys), max(ys), HEIGHT - BOTTOM, TOP, log)
    body += _axes(sx, sy, min(xs), max(xs), min(ys), max(ys), log, x_label, y_label)
    for s in series:
        if s.band:
            body.append(_band(s, sx, sy))
    for s in series:
        body += _polylines(s, sx, sy)
    legend = [s for s in series if s.legend]
    if len(legend) > 1 or (legend and legend[0].label):
        body += _legend(legend)
    return _svg(title, body)


def _svg(title: str, body: list[str]) -> str:
    return (f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img"><title>{escape(title)}</title>'
            f'<rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>{"".join(body)}</svg>')


def _axes(sx: _Scale, sy: _Scale, x0: float, x1: float, y0: float, y1: float, log: bool, x_label: str,
          y_label: str) -> list[str]:
    out = [f'<rect x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{HEIGHT - TOP - BOTTOM}" '
           'fill="none" stroke="#bbb"/>']
    for x in nice_ticks(x0, x1) if x1 > x0 else [x0]:
        px = sx(x)
        out.append(f'<line x1="{px:.1f}" y1="{HEIGHT - BOTTOM}" x2="{px:.1f}" y2="{HEIGHT - BOTTOM + 4}" '
                   'stroke="#888"/>')
        out.append(f'<text x="{px:.1f}" y="{HEIGHT - BOTTOM + 15}" text-anchor="middle" font-size="10" '
                   f'fill="#444">{_label(x)}</text>')
    if log:
        low, high = math.floor(math.log10(y0)), math.ceil(math.log10(y1))
        decades = [10.0**k for k in range(low, high + 1)]
        y_ticks = [v for v in decades if y0 <= v <= y1] or [y0, y1]
        if len(y_ticks) < 3:
            y_ticks = sorted({*y_ticks, *[m * d for d in decades for m in (2, 5) if y0 <= m * d <= y1]})
    else:
        y_ticks = nice_ticks(y0, y1) if y1 > y0 else [y0]
    for y in y_ticks:
        py = sy(y)
        out.append(f'<line x1="{LEFT}" y1="{py:.1f}" x2="{WIDTH - RIGHT}" y2="{py:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{LEFT - 5}" y="{py + 3:.1f}" text-anchor="end" font-size="10" fill="#444">'
                   f'{_label(y)}</text>')
    out.append(f'<text x="{(LEFT + WIDTH - RIGHT) / 2}" y="{HEIGHT - 4}" text-anchor="middle" font-size="11" '
               f'fill="#333">{escape(x_label)}{" (log scale)" if log else ""}</text>')
    if y_label:
        out.append(f'<text x="12" y="{(TOP + HEIGHT - BOTTOM) / 2}" text-anchor="middle" font-size="11" fill="#333" '
                   f'transform="rotate(-90 12 {(TOP + HEIGHT - BOTTOM) / 2})">{escape(y_label)}</text>')
    return out


def _runs(s: Series) -> list[list[tuple[float, float]]]:
    """The series split at non-finite values (and values a log scale cannot show)."""
    parts: list[list[tuple[float, float]]] = [[]]
    for x, y in zip(s.xs, s.ys, strict=True):
        if math.isfinite(y):
            parts[-1].append((x, y))
        elif parts[-1]:
            parts.append([])
    return [p for p in parts if p]


def _polylines(s: Series, sx: _Scale, sy: _Scale) -> list[str]:
    out = []
    for part in _runs(s):
        if sy.log:
            part = [(x, y) for x, y in part if y > 0]
        if len(part) == 1:
            x, y = part[0]
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{s.color}" opacity="{s.opacity}"/>')
        elif part:
            coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in part)
            out.append(f'<polyline points="{coords}" fill="none" stroke="{s.color}" stroke-width="{s.width}" '
                       f'stroke-opacity="{s.opacity}" stroke-linejoin="round"/>')
    return out


def _band(s: Series, sx: _Scale, sy: _Scale) -> str:
    assert s.band is not None
    pairs = [(x, lo, hi) for x, (lo, hi) in zip(s.xs, s.band, strict=True) if math.isfinite(lo) and math.isfinite(hi)
             and (not sy.log or lo > 0)]
    if not pairs:
        return ""
    upper = [f"{sx(x):.1f},{sy(hi):.1f}" for x, _, hi in pairs]
    lower = [f"{sx(x):.1f},{sy(lo):.1f}" for x, lo, _ in reversed(pairs)]
    return f'<polygon points="{" ".join(upper + lower)}" fill="{s.color}" fill-opacity="0.15" stroke="none"/>'


def _legend(series: Sequence[Series]) -> list[str]:
    out, x, y = [], LEFT + 8, TOP - 9  # above the plot area
    for s in series:
        text = escape(s.label)
        out.append(f'<line x1="{x}" y1="{y - 3}" x2="{x + 14}" y2="{y - 3}" stroke="{s.color}" stroke-width="2.5"/>')
        out.append(f'<text x="{x + 18}" y="{y + 1}" font-size="10" fill="#222">{text}</text>')
        x += 30 + 6 * len(s.label)
        if x > WIDTH - RIGHT - 60:  # wrap (into the plot area when there are many)
            x, y = LEFT + 8, y + 13
    return out
