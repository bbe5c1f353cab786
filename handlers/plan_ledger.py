"""The 计划 ✓/✗ of `handlers.plan` over a whole period, for the 年度计划完成情况 sheet of the 台账.

Storage may not know the plan rules or the matcher, so the workbook gets the statuses from here:
the same plan (latest stored version, else the branch's rules) and the same `held` test as the
in-chat 计划 reply, each item against the sittings of its own month.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from handlers.plan import INFO_KINDS, Item, held
from scheduler import branch_config
from scheduler.ledger_view import year_plan
from scheduler.rules import CalendarSettings
from storage import queries
from storage.ledger_xlsx import PlanStatus, WorkbookSummary, write_ledger_xlsx
from storage.models import Branch, Meeting
from storage.periods import Period

NOT_YET = "未到计划日期"


def plan_statuses(
    session: Session, branch: Branch, period: Period, today: date
) -> list[PlanStatus]:
    """Each plan item dated in the period, ✓ with the first sitting of its month that counts."""
    try:
        rules = branch_config.load(branch.calendar).rules
    except ValueError:
        rules = CalendarSettings()  # unreadable settings: the defaults, as 计划 does
    items: list[Item] = []
    for year in range(period.start.year, period.end.year + 1):
        plan, _version = year_plan(session, branch.id, rules, year)
        items.extend(
            Item(i.date, i.kind, i.title, i.group) for i in plan if period.contains(i.date)
        )
    zone = ZoneInfo(branch.timezone)
    by_month: dict[tuple[int, int], list[Meeting]] = defaultdict(list)
    for view in queries.meetings_in(session, branch, period):
        local = view.meeting.started_at.astimezone(zone)
        by_month[(local.year, local.month)].append(view.meeting)
    found = []
    for item in items:
        if item.kind in INFO_KINDS:
            found.append(PlanStatus(item.date, item.kind, item.title, item.group, None))
            continue
        sittings = by_month[(item.date.year, item.date.month)]
        match = next((m for m in sittings if held(item, [(set(m.kinds), m.party_group)])), None)
        label = queries.meeting_label(match, branch.timezone) if match is not None else ""
        note = NOT_YET if match is None and item.date > today else ""
        found.append(
            PlanStatus(item.date, item.kind, item.title, item.group, match is not None, label, note)
        )
    return found


def write_branch_ledger(
    session: Session,
    branch: Branch,
    period: Period,
    path: Path,
    today: date,
    progress: Callable[[str], None] | None = None,
) -> WorkbookSummary:
    """Write the 台账 workbook with its 年度计划完成情况 sheet filled in."""
    return write_ledger_xlsx(
        session,
        branch,
        period,
        path,
        progress,
        plan=plan_statuses(session, branch, period, today),
        today=today,
    )
