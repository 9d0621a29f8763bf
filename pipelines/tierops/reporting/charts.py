"""Inline SVG charts for the report page: plain strings, no JavaScript, no external assets."""

from __future__ import annotations

from datetime import date
from html import escape

PALETTE = ["#3566a8", "#e0803a", "#4a9a5b", "#c2464b", "#8a6bb8", "#8c6d4f", "#d17ab5", "#7f7f7f"]
FONT = "font-family='system-ui, sans-serif' font-size='12'"


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _svg(width: int, height: int, body: str, label: str) -> str:
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' class='chart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{escape(label)}'>"
        f"<title>{escape(label)}</title>{body}</svg>"
    )


def bar_chart(items: list[tuple[str, float, str, str]], label: str, width: int = 560) -> str:
    """Horizontal bars: (name, value, text shown after the bar, colour)."""
    row, left, right = 26, 150, 110
    height = row * len(items) + 10
    top = max((v for _, v, _, _ in items), default=0) or 1
    parts = []
    for i, (name, value, text, fill) in enumerate(items):
        y = 5 + i * row
        w = max(1.0, (width - left - right) * value / top)
        parts.append(
            f"<text x='{left - 8}' y='{y + 16}' text-anchor='end' {FONT}>{escape(name)}</text>"
            f"<rect x='{left}' y='{y + 3}' width='{w:.1f}' height='{row - 8}' fill='{fill}'/>"
            f"<text x='{left + w + 6:.1f}' y='{y + 16}' {FONT}>{escape(text)}</text>"
        )
    return _svg(width, height, "".join(parts), label)


def line_chart(
    series: dict[str, tuple[list[tuple[date, float]], str]],
    label: str,
    width: int = 720,
    height: int = 260,
    percent: bool = True,
) -> str:
    """One line per series ((date, value) points, colour) with a legend; y axis from 0."""
    left, right, top, bottom = 48, 150, 12, 28
    points = [p for s, _ in series.values() for p in s]
    if not points:
        return _svg(width, 40, f"<text x='10' y='24' {FONT}>—</text>", label)
    first = min(d for d, _ in points)
    last = max(d for d, _ in points)
    span = max((last - first).days, 1)
    ymax = max(v for _, v in points) or 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(d: date) -> float:
        return left + plot_w * (d - first).days / span

    def y(v: float) -> float:
        return top + plot_h * (1 - v / ymax)

    parts = []
    for k in range(5):
        v = ymax * k / 4
        text = f"{100 * v:.0f}%" if percent else f"{v:,.0f}"
        parts.append(
            f"<line x1='{left}' x2='{left + plot_w}' y1='{y(v):.1f}' y2='{y(v):.1f}' "
            f"stroke='#ddd'/><text x='{left - 6}' y='{y(v) + 4:.1f}' text-anchor='end' "
            f"{FONT}>{text}</text>"
        )
    parts.append(
        f"<text x='{left}' y='{height - 8}' {FONT}>{first.isoformat()}</text>"
        f"<text x='{left + plot_w}' y='{height - 8}' text-anchor='end' {FONT}>"
        f"{last.isoformat()}</text>"
    )
    for i, (name, (values, stroke)) in enumerate(series.items()):
        values = sorted(values)
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in values)
        parts.append(
            f"<polyline points='{path}' fill='none' stroke='{stroke}' stroke-width='2'/>"
            f"<rect x='{width - right + 12}' y='{top + i * 20}' width='12' height='12' "
            f"fill='{stroke}'/><text x='{width - right + 30}' y='{top + i * 20 + 11}' "
            f"{FONT}>{escape(name)}</text>"
        )
    return _svg(width, height, "".join(parts), label)


def interval_chart(
    items: list[tuple[str, float, float, float, bool]], label: str, width: int = 640
) -> str:
    """Forest plot: (name, estimate, low, high, significant) around a zero line."""
    row, left, right = 26, 220, 20
    height = row * len(items) + 30
    bound = max((max(abs(lo), abs(hi)) for _, _, lo, hi, _ in items), default=0) or 0.01
    plot_w = width - left - right

    def x(v: float) -> float:
        return left + plot_w * (v + bound) / (2 * bound)

    parts = [
        f"<line x1='{x(0):.1f}' x2='{x(0):.1f}' y1='0' y2='{height - 22}' stroke='#888' "
        f"stroke-dasharray='4 3'/>",
        f"<text x='{left}' y='{height - 6}' {FONT}>{-100 * bound:+.1f} pp</text>",
        f"<text x='{x(0):.1f}' y='{height - 6}' text-anchor='middle' {FONT}>0</text>",
        f"<text x='{left + plot_w}' y='{height - 6}' text-anchor='end' {FONT}>"
        f"{100 * bound:+.1f} pp</text>",
    ]
    for i, (name, est, lo, hi, significant) in enumerate(items):
        yc = 14 + i * row
        c = "#2e7d32" if significant and est > 0 else "#c62828" if significant else "#555"
        parts.append(
            f"<text x='{left - 8}' y='{yc + 4}' text-anchor='end' {FONT}>{escape(name)}</text>"
            f"<line x1='{x(lo):.1f}' x2='{x(hi):.1f}' y1='{yc}' y2='{yc}' stroke='{c}' "
            f"stroke-width='2'/><circle cx='{x(est):.1f}' cy='{yc}' r='4' fill='{c}'/>"
        )
    return _svg(width, height, "".join(parts), label)
