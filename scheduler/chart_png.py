"""A tiny dependency-free PNG chart: monthly bars (attendance) and a line (study completion).

No Pillow, no fonts: an RGB canvas in a bytearray, rectangles and lines, digits from a built-in
3×5 bitmap font, written as an 8-bit truecolour PNG with zlib and struct. Labels are digits only
(months, percentages); the Chinese legend goes in the text sent with the image.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

Color = tuple[int, int, int]

WIDTH = 480
HEIGHT = 300
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 20, 44  # margins around the plot area
BACKGROUND: Color = (255, 255, 255)
AXIS: Color = (60, 60, 60)
GRID: Color = (225, 225, 225)
TEXT: Color = (60, 60, 60)
BAR: Color = (59, 130, 246)  # attendance, blue
LINE: Color = (245, 124, 0)  # study completion, orange
SCALE = 2  # font pixels per glyph pixel
MARKER = 3  # half-size of a study point's square marker

# 3×5 glyphs, one string of 15 bits (row by row) per character.
_GLYPHS = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    "%": "101001010100101",
}


@dataclass(frozen=True)
class Layout:
    """Where the plot area lies and how wide each month's slot is."""

    months: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def plot_left(self) -> int:
        """First x of the plot area."""
        return LEFT

    @property
    def plot_right(self) -> int:
        """Last x of the plot area."""
        return self.width - RIGHT - 1

    @property
    def baseline(self) -> int:
        """The y of the x axis (0 %)."""
        return self.height - BOTTOM

    @property
    def plot_height(self) -> int:
        """Pixels from 0 % to 100 %."""
        return self.baseline - TOP

    def slot(self, index: int) -> tuple[int, int]:
        """(left, right) x of month `index`'s slot."""
        span = self.plot_right - self.plot_left
        return (
            self.plot_left + span * index // self.months,
            self.plot_left + span * (index + 1) // self.months,
        )

    def center(self, index: int) -> int:
        """The x of a month's bar centre and study point."""
        left, right = self.slot(index)
        return (left + right) // 2

    def bar(self, index: int) -> tuple[int, int]:
        """(left, right) x of a month's bar: the middle half of its slot, at least 2 px."""
        left, right = self.slot(index)
        quarter = max(1, (right - left) // 4)
        return left + quarter, right - quarter

    def height_of(self, rate: int) -> int:
        """Bar height in pixels for a percentage."""
        return round(max(0, min(100, rate)) * self.plot_height / 100)


class Canvas:
    """An RGB image in memory."""

    def __init__(self, width: int, height: int, fill: Color = BACKGROUND) -> None:
        self.width = width
        self.height = height
        self.pixels = bytearray(bytes(fill) * (width * height))

    def set(self, x: int, y: int, color: Color) -> None:
        """Colour one pixel (ignored outside the canvas)."""
        if 0 <= x < self.width and 0 <= y < self.height:
            i = (y * self.width + x) * 3
            self.pixels[i : i + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill the rectangle with corners (x0, y0) and (x1, y1), both included."""
        x0, x1 = sorted((max(0, x0), min(self.width - 1, x1)))
        y0, y1 = sorted((max(0, y0), min(self.height - 1, y1)))
        row = bytes(color) * (x1 - x0 + 1)
        for y in range(y0, y1 + 1):
            start = (y * self.width + x0) * 3
            self.pixels[start : start + len(row)] = row

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, thick: int = 1) -> None:
        """A straight line (Bresenham), `thick` pixels wide."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err = dx + dy
        half = thick // 2
        while True:
            self.rect(x0 - half, y0 - half, x0 + half, y0 + half, color)
            if x0 == x1 and y0 == y1:
                return
            e2 = 2 * err
            if e2 >= dy:
                err += dy
                x0 += sx
            if e2 <= dx:
                err += dx
                y0 += sy

    def text(self, x: int, y: int, value: str, color: Color = TEXT) -> None:
        """Draw digits and % with the top-left corner at (x, y)."""
        for char in value:
            glyph = _GLYPHS.get(char)
            if glyph is not None:
                for bit, on in enumerate(glyph):
                    if on == "1":
                        gx, gy = x + (bit % 3) * SCALE, y + (bit // 3) * SCALE
                        self.rect(gx, gy, gx + SCALE - 1, gy + SCALE - 1, color)
            x += 4 * SCALE

    def png(self) -> bytes:
        """Encode as PNG (8-bit RGB, filter 0 on every row)."""
        stride = self.width * 3
        raw = b"".join(
            b"\x00" + bytes(self.pixels[y * stride : (y + 1) * stride]) for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 2, 0, 0, 0)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def text_width(value: str) -> int:
    """Pixels a label takes."""
    return max(0, len(value) * 4 * SCALE - SCALE)


def render_chart(
    months: Sequence[int], attendance: Sequence[int | None], study: Sequence[int | None]
) -> bytes:
    """Bars of attendance and a line of study completion (percent, None = no data) by month."""
    if not months or len(attendance) != len(months) or len(study) != len(months):
        raise ValueError("a chart needs one attendance and one study value per month")
    layout = Layout(len(months))
    canvas = Canvas(layout.width, layout.height)
    for tick in range(0, 101, 20):
        y = layout.baseline - layout.height_of(tick)
        if tick:
            canvas.line(layout.plot_left + 1, y, layout.plot_right, y, GRID)
        label = f"{tick}%"
        canvas.text(layout.plot_left - 6 - text_width(label), y - 2 * SCALE, label)
    for index, rate in enumerate(attendance):
        if rate is not None and rate > 0:
            left, right = layout.bar(index)
            canvas.rect(left, layout.baseline - layout.height_of(rate), right, layout.baseline, BAR)
    canvas.line(layout.plot_left, TOP, layout.plot_left, layout.baseline, AXIS)
    canvas.line(layout.plot_left, layout.baseline, layout.plot_right, layout.baseline, AXIS)
    previous: tuple[int, int] | None = None
    for index, rate in enumerate(study):
        if rate is None:
            previous = None
            continue
        point = (layout.center(index), layout.baseline - layout.height_of(rate))
        if previous is not None:
            canvas.line(*previous, *point, LINE, thick=2)
        previous = point
    for index, rate in enumerate(study):
        if rate is not None:
            x, y = layout.center(index), layout.baseline - layout.height_of(rate)
            canvas.rect(x - MARKER, y - MARKER, x + MARKER, y + MARKER, LINE)
    for index, month in enumerate(months):
        label = str(month)
        x = layout.center(index) - text_width(label) // 2
        canvas.text(x, layout.baseline + 8, label)
    return canvas.png()
