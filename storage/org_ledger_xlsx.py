"""The whole organisation's 台账 in one workbook, for a work committee (机关工委).

Sheets: 三会一课记录, 主题党日, 学习记录, 志愿服务, 请假记录, 补课记录 — the branch 台账's columns
(`storage.ledger_rows`) after a leading 支部 column — and 党员一览, one row per active member with
attendance (in total and by kind), study, volunteer service, leave and 补课. Branches come in
name order, each branch's rows in time order.

Memory stays bounded however large the organisation is: branches are read in batches of about
`BATCH_MEMBERS` members (`storage.org_ledger_batch`, a handful of queries per batch); each
batch's rows are appended to the write-only sheets and dropped. Column widths are fitted to the
first batch. Progress goes to the `progress` callback.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.ledger_rows import (
    LEAVE_COLUMNS,
    MAKEUP_COLUMNS,
    MEETING_COLUMNS,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    STUDY_COLUMNS,
    VOLUNTEER_COLUMNS,
)
from storage.models import Branch, Member
from storage.org_ledger_batch import (
    BATCH_SHEETS,
    BRANCH_COLUMN,
    MEMBER_COLUMNS,
    SHEET_MEMBERS,
    OrgBatch,
    Rows,
)
from storage.org_scoring import ReportError
from storage.periods import Period
from storage.xlsx_sheets import (
    SheetSummary,
    Table,
    WorkbookSummary,
    atomic_workbook,
    new_table,
    sheet_title,
)

__all__ = ["MEMBER_COLUMNS", "ORG_SHEETS", "OrgWorkbookSummary", "write_org_ledger_xlsx"]

_COLUMNS: dict[str, tuple[str, ...]] = {
    SHEET_MEETINGS: (BRANCH_COLUMN, *MEETING_COLUMNS),
    SHEET_PARTY_DAY: (BRANCH_COLUMN, *MEETING_COLUMNS),
    SHEET_STUDY: (BRANCH_COLUMN, *STUDY_COLUMNS),
    SHEET_VOLUNTEER: (BRANCH_COLUMN, *VOLUNTEER_COLUMNS),
    SHEET_LEAVE: (BRANCH_COLUMN, *LEAVE_COLUMNS),
    SHEET_MAKEUP: (BRANCH_COLUMN, *MAKEUP_COLUMNS),
    SHEET_MEMBERS: MEMBER_COLUMNS,
}
# (sheet name, its columns) in workbook order.
ORG_SHEETS = tuple((name, _COLUMNS[name]) for name in BATCH_SHEETS)
BATCH_MEMBERS = 1500
WIDTH_SAMPLE = 300  # rows of the first batch that widths are fitted to, per sheet

Progress = Callable[[str], None]


@dataclass
class OrgWorkbookSummary(WorkbookSummary):
    """What `write_org_ledger_xlsx` wrote: the file, its sheets and how many branches."""

    branches: int = 0


def write_org_ledger_xlsx(
    session: Session,
    organisation: str,
    period: Period,
    path: Path,
    progress: Progress | None = None,
    batch_members: int = BATCH_MEMBERS,
) -> OrgWorkbookSummary:
    """Write every branch's 台账 of the period into one workbook at `path`, atomically."""
    say = progress or (lambda _text: None)
    branches = list(
        session.scalars(
            select(Branch).where(Branch.organisation == organisation).order_by(Branch.name)
        )
    )
    if not branches:
        raise ReportError(f"没有属于“{organisation}”的支部（按支部的所属组织匹配，区分全称）")
    sizes = dict(
        session.execute(
            select(Member.branch_id, func.count())
            .where(
                Member.branch_id.in_(select(Branch.id).where(Branch.organisation == organisation))
            )
            .group_by(Member.branch_id)
        ).all()
    )
    batches: list[list[Branch]] = [[]]
    members = 0
    for branch in branches:
        if batches[-1] and members + sizes.get(branch.id, 0) > batch_members:
            batches.append([])
            members = 0
        batches[-1].append(branch)
        members += sizes.get(branch.id, 0)
    summary = OrgWorkbookSummary(path, branches=len(branches))
    with atomic_workbook(path) as book:
        writer = _SheetWriter(book, f"{organisation} {period.label}")
        done = 0
        for count, batch in enumerate(batches, start=1):
            say(
                f"第 {count}/{len(batches)} 批：{batch[0].name} … {batch[-1].name}"
                f"（已完成 {done}/{len(branches)} 个支部）"
            )
            writer.write(OrgBatch(session, batch, period).rows())
            done += len(batch)
        say(f"保存工作簿 {path.name} …")
        summary.sheets = writer.close()
    return summary


class _SheetWriter:
    """The seven sheets, created (with widths fitted) when the first batch arrives."""

    def __init__(self, book: Workbook, heading: str) -> None:
        self.book = book
        self.heading = heading
        self.sheets: dict[str, Table] = {}
        self.titles: dict[str, str] = {}
        self.counts: Counter[str] = Counter()

    def write(self, rows: Rows) -> None:
        """Append one batch's rows (creating the sheets on the first batch)."""
        if not self.sheets:
            taken: set[str] = set()
            for name, columns in ORG_SHEETS:
                title = sheet_title(name, taken)
                self.titles[name] = title
                self.sheets[name] = new_table(
                    self.book, title, columns, rows[name][:WIDTH_SAMPLE], f"{self.heading} {title}"
                )
        for name, _columns in ORG_SHEETS:
            table = self.sheets[name]
            for row in rows[name]:
                table.append(row)
            self.counts[name] += len(rows[name])

    def close(self) -> list[SheetSummary]:
        """The sheets written, each with its number of rows."""
        if not self.sheets:  # pragma: no cover - an organisation always has a first batch
            self.write({name: [] for name, _ in ORG_SHEETS})
        return [SheetSummary(self.titles[name], self.counts[name]) for name, _ in ORG_SHEETS]
