"""Small server-rendered SVG charts for the analytics page: no JavaScript, no CDN, text always escaped."""
from __future__ import annotations

from html import escape
from typing import List, Optional, Sequence, Tuple

WIDTH, HEIGHT, PAD = 560, 180, 34
COLORS = ["#2457c5", "#c0392b", "#1e8a4c", "#e0a030", "#7b4fb8"]


def _fmt(value: float, percent: bool) -> str:
    return f"{value * 100:.0f}%" if percent else (f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}")


def line_chart(title: str, labels: Sequence[str], series: List[Tuple[str, Sequence[Optional[float]]]],
               percent: bool = False) -> str:
    """Daily series: one line per (name, values); None leaves a gap."""
    values = [v for _, vs in series for v in vs if v is not None]
    top = max(values) if values else 1.0
    top = top if top > 0 else 1.0
    n = max(1, len(labels) - 1)
    x = lambda i: PAD + (WIDTH - 2 * PAD) * i / n  # noqa: E731
    y = lambda v: HEIGHT - PAD + 10 - (HEIGHT - PAD - 10) * v / top  # noqa: E731
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 20}" role="img" aria-label="{escape(title)}">',
             f'<text x="{PAD}" y="14" class="t">{escape(title)}</text>',
             f'<line x1="{PAD}" y1="{y(0):.1f}" x2="{WIDTH - PAD}" y2="{y(0):.1f}" class="axis"/>',
             f'<text x="2" y="{y(top) + 4:.1f}" class="l">{_fmt(top, percent)}</text>',
             f'<text x="2" y="{y(0) + 4:.1f}" class="l">0</text>']
    for i, label in enumerate(labels):
        if len(labels) <= 8 or i % max(1, len(labels) // 7) == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT + 12}" class="l" '
                         f'text-anchor="middle">{escape(label[5:])}</text>')
    for k, (name, vs) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        points, path = [], []
        for i, v in enumerate(vs):
            if v is None:
                if points:
                    path.append(points)
                points = []
                continue
            points.append(f"{x(i):.1f},{y(v):.1f}")
        if points:
            path.append(points)
        for pts in path:
            parts.append(f'<polyline points="{" ".join(pts)}" fill="none" stroke="{color}" stroke-width="2"/>')
        legend_x = WIDTH - PAD - 120 * (len(series) - k)
        parts.append(f'<text x="{legend_x}" y="14" class="lg" fill="{color}">&#9632; {escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, items: Sequence[Tuple[str, float]], percent: bool = False, horizontal: bool = False) -> str:
    top = max([v for _, v in items] or [1]) or 1
    if horizontal:
        row = 22
        height = 24 + row * max(1, len(items))
        parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">',
                 f'<text x="0" y="14" class="t">{escape(title)}</text>']
        for i, (label, v) in enumerate(items):
            yy = 24 + i * row
            w = (WIDTH - 260) * v / top
            parts.append(f'<text x="0" y="{yy + 14}" class="l">{escape(str(label)[:38])}</text>'
                         f'<rect x="230" y="{yy + 3}" width="{w:.1f}" height="14" fill="{COLORS[0]}"/>'
                         f'<text x="{236 + w:.1f}" y="{yy + 14}" class="l">{_fmt(v, percent)}</text>')
        if not items:
            parts.append('<text x="0" y="40" class="l">no data in this range</text>')
        return "".join(parts) + "</svg>"
    n = max(1, len(items))
    bw = (WIDTH - 2 * PAD) / n
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT + 20}" role="img" aria-label="{escape(title)}">',
             f'<text x="{PAD}" y="14" class="t">{escape(title)}</text>']
    for i, (label, v) in enumerate(items):
        h = (HEIGHT - PAD - 10) * v / top
        xx = PAD + i * bw
        mid = xx + bw / 2
        parts.append(f'<rect x="{xx + 3:.1f}" y="{HEIGHT - PAD + 10 - h:.1f}" width="{bw - 6:.1f}" height="{h:.1f}" '
                     f'fill="{COLORS[0]}"/>'
                     f'<text x="{mid:.1f}" y="{HEIGHT + 12}" class="l" text-anchor="middle">{escape(str(label))}</text>'
                     f'<text x="{mid:.1f}" y="{HEIGHT - PAD + 6 - h:.1f}" class="l" '
                     f'text-anchor="middle">{_fmt(v, percent)}</text>')
    return "".join(parts) + "</svg>"
