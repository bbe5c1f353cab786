"""What an outbox attachment is made from: a small recipe stored with the row, never the bytes.

The sender turns a recipe into a file when it sends (see `bot/attachments.py`): a ledger workbook
of a branch and period, or a chart drawn from numbers computed when the summary was composed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

LEDGER = "ledger"
CHART = "chart"
OUTBOX_KIND_EXPORT = "export"
_PERIOD_KEY = re.compile(r"^\d{4}(-\d{2}|-Q[1-4])?$")


class RecipeError(ValueError):
    """A stored recipe that cannot be read (corrupt or from an unknown version)."""


@dataclass(frozen=True)
class LedgerRecipe:
    """The formatted 台账 of one branch and period (a concrete key: 2026-11, 2026-Q4, 2026)."""

    branch_id: int
    period_key: str
    format: str = "xlsx"

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form for the outbox."""
        return {
            "type": LEDGER,
            "branch_id": self.branch_id,
            "period": self.period_key,
            "format": self.format,
        }


@dataclass(frozen=True)
class ChartRecipe:
    """Attendance and study completion (percent, None = nothing to measure) by month."""

    year: int
    months: tuple[int, ...]
    attendance: tuple[int | None, ...]
    study: tuple[int | None, ...]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready form for the outbox."""
        return {
            "type": CHART,
            "year": self.year,
            "months": list(self.months),
            "attendance": list(self.attendance),
            "study": list(self.study),
        }


Recipe = LedgerRecipe | ChartRecipe


def is_period_key(value: str) -> bool:
    """True for a concrete period key: YYYY, YYYY-MM or YYYY-Qn."""
    return bool(_PERIOD_KEY.match(value))


def _rates(value: object, size: int) -> tuple[int | None, ...]:
    if not isinstance(value, list) or len(value) != size:
        raise RecipeError("chart series do not match its months")
    out: list[int | None] = []
    for item in value:
        if item is not None and (not isinstance(item, int) or not 0 <= item <= 100):
            raise RecipeError(f"not a percentage: {item!r}")
        out.append(item)
    return tuple(out)


def recipe_from(value: dict[str, object]) -> Recipe:
    """Read a stored recipe back; RecipeError when it is not one."""
    kind = value.get("type")
    if kind == LEDGER:
        branch_id, period = value.get("branch_id"), value.get("period")
        if not isinstance(branch_id, int) or not isinstance(period, str):
            raise RecipeError("ledger recipe without branch or period")
        if not is_period_key(period):
            raise RecipeError(f"not a period key: {period!r}")
        return LedgerRecipe(branch_id, period, str(value.get("format") or "xlsx"))
    if kind == CHART:
        year, months = value.get("year"), value.get("months")
        if not isinstance(year, int) or not isinstance(months, list):
            raise RecipeError("chart recipe without year or months")
        if not months or not all(isinstance(m, int) and 1 <= m <= 12 for m in months):
            raise RecipeError("chart months must be 1..12")
        size = len(months)
        return ChartRecipe(
            year,
            tuple(months),
            _rates(value.get("attendance"), size),
            _rates(value.get("study"), size),
        )
    raise RecipeError(f"unknown attachment type {kind!r}")


def percent(done: int, total: int) -> int | None:
    """A rounded percentage, None when there was nothing to count."""
    return round(done * 100 / total) if total > 0 else None


def chart_recipe(
    year: int, months: Sequence[int], attendance: Sequence[int | None], study: Sequence[int | None]
) -> ChartRecipe:
    """A chart recipe from its series."""
    return ChartRecipe(year, tuple(months), tuple(attendance), tuple(study))
