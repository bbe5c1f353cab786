"""The work committee's report in its stable, versioned JSON form for other systems.

The shape is documented in README.md (机关工委报表); fields are only ever added. Changing a
field's meaning or removing one bumps `SCHEMA_VERSION`. Rates are floats in [0, 1] with four
decimals (null without a denominator), counts are ints, dates ISO.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from storage.org_report import Figures, OrgReport
from storage.org_scoring import ATTENDANCE, MAKEUP, METRICS, PLAN, STUDY, VOLUNTEER

SCHEMA_VERSION = 1


def _rate(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _num(value: Decimal | Fraction) -> int | float:
    """An exact number as JSON: whole numbers as int, others as float (2 decimals)."""
    if value == int(value):
        return int(value)
    return round(float(value), 2)


def _figures_json(figures: Figures, rates: Mapping[str, Fraction | None]) -> dict[str, Any]:
    per_member = figures.hours_per_member
    return {
        "members": figures.members,
        "plan": {
            "required": figures.plan_required,
            "done": figures.plan_done,
            "rate": _rate(rates[PLAN]),
        },
        "attendance": {
            "meetings": figures.meetings,
            "expected": figures.attendance_expected,
            "present": figures.attendance_present,
            "rate": _rate(rates[ATTENDANCE]),
        },
        "study": {
            "tasks": figures.study_tasks,
            "expected": figures.study_expected,
            "done": figures.study_done,
            "late": figures.study_late,
            "rate": _rate(rates[STUDY]),
        },
        "makeup": {
            "owed": figures.makeup_owed,
            "done": figures.makeup_done,
            "rate": _rate(rates[MAKEUP]),
        },
        "volunteer": {
            "hours": _num(figures.volunteer_hours),
            "people": figures.volunteer_people,
            "per_member": None if per_member is None else _num(per_member),
            "rate": _rate(rates[VOLUNTEER]),
        },
        "leave": figures.leave,
    }


def report_json(report: OrgReport) -> dict[str, Any]:
    """The report in its documented, versioned JSON shape (see README, 机关工委报表)."""
    period = report.period
    branches = []
    for line in report.branches:
        entry = _figures_json(line.figures, line.rates)
        entry["plan"]["missing"] = [
            {"date": m.day.isoformat(), "kind": m.kind, "title": m.title} for m in line.plan.missing
        ]
        entry.update(
            name=line.name,
            rank=line.rank,
            score=None if line.score is None else round(float(line.score), 2),
            group=line.group,
        )
        branches.append(entry)
    totals = _figures_json(report.totals, report.total_rates)
    totals["branches"] = report.totals.branches
    totals["groups"] = report.group_counts()
    return {
        "schema_version": SCHEMA_VERSION,
        "organisation": report.organisation,
        "period": {
            "key": period.concrete_key,
            "label": period.label,
            "start": period.start.isoformat(),
            "end": (period.end - timedelta(days=1)).isoformat(),
        },
        "as_of": report.as_of.isoformat(),
        "scoring": {
            "weights": {m: _num(report.scoring.weights[m]) for m in METRICS},
            "volunteer_target_hours": _num(report.scoring.volunteer_target),
            "advanced": _num(report.scoring.advanced),
            "lagging": _num(report.scoring.lagging),
        },
        "branches": branches,
        "totals": totals,
    }
