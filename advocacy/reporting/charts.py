"""Bar charts drawn on the server as SVG geometry: no script, readable with the table beside.

The SVG has no viewBox: its width is the page's (x in percent) and its height is in CSS
pixels, so text keeps its size as set in the style sheet (12 px) on a phone and a desktop
alike, instead of shrinking with a drawing scaled to the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

HEIGHT, TOP = 210, 18  # px: the whole drawing, and the room above the highest grid line
ROW = 17  # px: one row of labels under the axis
FEW = 12  # bars no wider than a twelfth of the width


@dataclass(frozen=True)
class Bar:
    x: float  # percent of the width
    y: float  # px
    width: float  # percent
    height: float  # px
    label: str
    value: int


@dataclass(frozen=True)
class Label:
    x: float  # percent
    y: float  # px
    text: str
    anchor: str  # start, middle or end (kept inside the drawing at its edges)


@dataclass(frozen=True)
class Chart:
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    labels: list[Label]  # under the axis, in one or two rows
    baseline: float


def nice_top(peak: int) -> int:
    """The top of the axis: four round steps (1, 2 or 5 times a power of ten) over the peak."""
    power = 1
    while True:
        for factor in (1, 2, 5):
            if 4 * power * factor >= peak:
                return 4 * power * factor
        power *= 10


def _anchor(x: float, anchor: str) -> str:
    if anchor == "middle" and x < 4:
        return "start"
    if anchor == "middle" and x > 96:
        return "end"
    return anchor


def bar_chart(
    rows: Sequence[tuple[str, int]], marks: Sequence[Sequence[tuple[int, str]]] = ()
) -> Chart:
    """Bars for rows of (label, value) in order. `marks` are rows of (bar index, text) under
    the axis: a text centred under its bar, or, for a row after the first, starting where
    its bar starts (a day's name under its first hour)."""
    top = nice_top(max((v for _, v in rows), default=0) or 1)
    baseline = HEIGHT - ROW * max(len(marks), 1) - 6
    plot_h = baseline - TOP
    slot = 100 / max(len(rows), 1)
    width = max(min(slot, 100 / FEW) * 0.8, 0.1)  # a day or two: bars, not slabs
    bars = [
        Bar(
            x=round(i * slot + (slot - width) / 2, 3),
            y=round(baseline - value / top * plot_h, 2),
            width=round(width, 3),
            height=round(value / top * plot_h, 2),
            label=label,
            value=value,
        )
        for i, (label, value) in enumerate(rows)
    ]
    ticks = [(round(baseline - plot_h * k / 4, 2), top * k // 4) for k in range(5)]
    labels = []
    for number, row in enumerate(marks):
        y = baseline + ROW * (number + 1)
        for i, text in row:
            x = round(i * slot + slot / 2, 3) if number == 0 else round(i * slot, 3)
            labels.append(Label(x, y, text, _anchor(x, "middle" if number == 0 else "start")))
    return Chart(HEIGHT, bars, ticks, labels, baseline)


def every(count: int, room: int) -> int:
    """Label every n-th of `count` bars so that at most `room` labels are drawn."""
    return max(1, -(-count // max(room, 1)))
