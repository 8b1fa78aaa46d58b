"""Bar charts drawn on the server as SVG geometry: no script, readable with the page's table."""

from __future__ import annotations

from dataclasses import dataclass

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 720, 220, 48, 24, 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    labels: list[tuple[float, str]]  # (x, text) under the axis, a few only
    baseline: float


def nice_top(peak: int) -> int:
    """The top of the axis: four round steps (1, 2 or 5 times a power of ten) over the peak."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * power * factor >= peak:
                return 4 * power * factor
        power *= 10


def bar_chart(rows: list[tuple[str, int]], every: int = 0) -> Chart:
    """Bars for rows of (label, value) in order; a label under every `every`-th bar."""
    top = nice_top(max((v for _, v in rows), default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - 4, HEIGHT - BOTTOM - TOP
    slot = plot_w / max(len(rows), 1)
    baseline = TOP + plot_h
    bars = [Bar(x=round(LEFT + i * slot + slot * 0.1, 2),
                y=round(baseline - value / top * plot_h, 2),
                width=round(max(slot * 0.8, 0.5), 2),
                height=round(value / top * plot_h, 2), label=label, value=value)
            for i, (label, value) in enumerate(rows)]
    ticks = [(round(baseline - plot_h * k / 4, 2), top * k // 4) for k in range(5)]
    every = every or max(1, len(rows) // 6)
    labels = [(round(LEFT + i * slot + slot / 2, 2), label)
              for i, (label, _) in enumerate(rows) if i % every == 0]
    return Chart(WIDTH, HEIGHT, bars, ticks, labels, baseline)
