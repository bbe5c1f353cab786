"""The dependency-free PNG chart, decoded here with zlib and struct only."""

from __future__ import annotations

import struct
import zlib

import pytest

from scheduler.chart_png import (
    AXIS,
    BACKGROUND,
    BAR,
    HEIGHT,
    LINE,
    WIDTH,
    Layout,
    render_chart,
)

Pixels = list[list[tuple[int, int, int]]]


def decode(data: bytes) -> tuple[int, int, Pixels]:
    """Width, height and RGB rows of an 8-bit truecolour, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    assert (depth, colour, interlace) == (8, 2, 0)
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = width * 3
    assert len(raw) == height * (stride + 1)
    rows: Pixels = []
    for y in range(height):
        line = raw[y * (stride + 1) : (y + 1) * (stride + 1)]
        assert line[0] == 0  # filter "none" on every row
        rows.append([tuple(line[1 + 3 * x : 4 + 3 * x]) for x in range(width)])  # type: ignore[misc]
    return width, height, rows


def column_height(rows: Pixels, x: int, color: tuple[int, int, int]) -> int:
    """How many pixels of one colour a column holds."""
    return sum(1 for row in rows if row[x] == color)


def test_png_is_well_formed_with_the_expected_size() -> None:
    data = render_chart([1, 2, 3], [50, 100, 25], [100, 50, None])
    width, height, rows = decode(data)
    assert (width, height) == (WIDTH, HEIGHT)
    assert rows[0][0] == BACKGROUND
    assert len(data) < 20_000  # far below WeCom's 2 MB image limit


def test_bar_heights_are_proportional_to_the_rates() -> None:
    rates = [100, 50, 25, None, 0, 80]
    _w, _h, rows = decode(render_chart(list(range(1, 7)), rates, [None] * 6))
    layout = Layout(6)
    heights = [column_height(rows, layout.bar(i)[0] + 1, BAR) for i in range(6)]
    full = layout.plot_height
    # Bars run from their rate down to the axis line (drawn over the bar's foot).
    assert heights[0] == full
    assert heights[1] == pytest.approx(full / 2, abs=1)
    assert heights[2] == pytest.approx(full / 4, abs=1)
    assert heights[3] == 0 and heights[4] == 0  # no data, and 0 %: no bar
    assert heights[5] == pytest.approx(full * 0.8, abs=1)
    assert heights[0] / heights[1] == pytest.approx(2, rel=0.01)
    x = layout.bar(0)[0] + 1
    assert rows[layout.baseline - 1][x] == BAR and rows[layout.baseline][x] == AXIS
    assert rows[layout.baseline - full][x] == BAR and rows[layout.baseline - full - 1][x] != BAR


def test_study_points_sit_at_their_rates() -> None:
    _w, _h, rows = decode(render_chart([1, 2, 3], [None] * 3, [100, 50, 0]))
    layout = Layout(3)
    for index, rate in enumerate([100, 50, 0]):
        x = layout.center(index)
        y = layout.baseline - layout.height_of(rate)
        assert rows[y][x] == LINE
    # Between points the line is drawn (midway between the first two centres).
    mid_x = (layout.center(0) + layout.center(1)) // 2
    assert any(rows[y][mid_x] == LINE for y in range(len(rows)))
    assert all(row[layout.bar(0)[0] + 1] != BAR for row in rows)  # no attendance, no bars


def test_series_must_match_the_months() -> None:
    with pytest.raises(ValueError, match="one attendance and one study value"):
        render_chart([1, 2], [10], [10, 20])
    with pytest.raises(ValueError, match="one attendance and one study value"):
        render_chart([], [], [])
