"""The 台账's sheets and rows as they are printed: sheet names, column headers and the text of each
cell, shared by one branch's workbook (`storage.ledger_xlsx`) and the whole organisation's
(`storage.org_ledger_xlsx`), which read the ledger differently but must print it alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_LEAVE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
)
from storage.xlsx_sheets import Value, chinese_date

SHEET_MEETINGS = "三会一课记录"
SHEET_PARTY_DAY = "主题党日"
SHEET_STUDY = "学习记录"
SHEET_VOLUNTEER = "志愿服务"
SHEET_LEAVE = "请假记录"
SHEET_MAKEUP = "补课记录"
SHEET_PLAN = "年度计划完成情况"
FIXED_SHEETS = (
    SHEET_MEETINGS,
    SHEET_PARTY_DAY,
    SHEET_STUDY,
    SHEET_VOLUNTEER,
    SHEET_LEAVE,
    SHEET_MAKEUP,
    SHEET_PLAN,
)
PARTY_DAY_KIND = "主题党日"

MEETING_COLUMNS = (
    "日期",
    "时间",
    "地点",
    "会议类型",
    "合并召开",
    "主题",
    "主持人",
    "记录人",
    "应到",
    "实到",
    "请假",
    "缺席",
    "补课情况",
    "来源",
)
STUDY_COLUMNS = (
    "任务",
    "发布日期",
    "截止日期",
    "应学人数",
    "已学（按时）",
    "已学（逾期）",
    "未学",
)
VOLUNTEER_COLUMNS = ("姓名", "日期", "时长（小时）", "内容", "登记方式")
LEAVE_COLUMNS = ("姓名", "申请时间", "事由", "对应会议")
MAKEUP_COLUMNS = ("姓名", "会议", "状态", "完成时间")
PLAN_COLUMNS = ("计划日期", "类型", "事项", "党小组", "完成", "完成会议", "说明")
PLAN_DONE, PLAN_MISSED, PLAN_INFO = "✓", "✗", "—"

MAKEUP_OWED = "待补"
MAKEUP_DONE = "已补"
MAKEUP_CANCELLED = "已取消"
SELF_REPORTED = "本人"
SECRETARY_ENTERED = "书记补录"
PENDING_MEETING = "待定（下次会议）"
JOIN = "、"


@dataclass(frozen=True)
class Attendee:
    """One expected (or recorded) member of a sitting, as the meeting row prints them."""

    name: str
    status: str
    reason: str | None
    probationary: bool


@dataclass(frozen=True)
class SittingFacts:
    """A sitting (one meeting, maybe of several kinds) with local times and members' names."""

    started: datetime  # local
    closed: datetime | None  # local
    place: str | None
    topic: str
    kinds: Sequence[str]
    party_group: str | None
    host: str
    recorder: str
    attendees: Sequence[Attendee]
    makeups: Sequence[tuple[str, str]]  # (name, makeup state)
    source_inbox_id: int | None


def meeting_rows(sitting: SittingFacts) -> list[tuple[str, list[Value]]]:
    """The sitting's row under each kind it counts for (marked as merged), as (kind, row)."""
    hours = f"{sitting.started:%H:%M}"
    if sitting.closed is not None:
        hours += f"–{sitting.closed:%H:%M}"
    present = [a for a in sitting.attendees if a.status in (ATTEND_PRESENT, ATTEND_LATE)]
    probationary = sum(1 for a in present if a.probationary)
    owed = [name for name, state in sitting.makeups if state == MAKEUP_OWED]
    done = [name for name, state in sitting.makeups if state == MAKEUP_DONE]
    makeup_text = "；".join(
        part
        for part in (
            f"{MAKEUP_OWED}：{JOIN.join(owed)}" if owed else "",
            f"{MAKEUP_DONE}：{JOIN.join(done)}" if done else "",
        )
        if part
    )

    def with_reasons(status: str) -> str:
        return JOIN.join(
            f"{a.name}（{a.reason}）" if a.reason else a.name
            for a in sitting.attendees
            if a.status == status
        )

    leave, absent = with_reasons(ATTEND_LEAVE), with_reasons(ATTEND_ABSENT)
    source = f"消息#{sitting.source_inbox_id}" if sitting.source_inbox_id else "补录"
    rows: list[tuple[str, list[Value]]] = []
    for kind in sitting.kinds:
        others = [k for k in sitting.kinds if k != kind]
        shown = f"{kind}（{sitting.party_group}）" if sitting.party_group else kind
        rows.append(
            (
                kind,
                [
                    chinese_date(sitting.started.date()),
                    hours,
                    sitting.place or "",
                    shown,
                    f"与{JOIN.join(others)}合并" if others else "",
                    sitting.topic,
                    sitting.host,
                    sitting.recorder,
                    len(sitting.attendees),
                    f"{len(present)}（正式 {len(present) - probationary} / 预备 {probationary}）",
                    leave,
                    absent,
                    makeup_text,
                    source,
                ],
            )
        )
    return rows


def study_row(
    title: str,
    published: date,
    deadline: date | None,
    expected: int,
    on_time: Sequence[str],
    late: Sequence[str],
    pending: Sequence[str],
) -> list[Value]:
    """A study task's row: who confirmed on time, who late, who not yet."""
    return [
        title,
        chinese_date(published),
        chinese_date(deadline) if deadline else "未设定",
        expected,
        JOIN.join(on_time),
        JOIN.join(late),
        JOIN.join(pending),
    ]


def local_moment(moment: datetime | None) -> str:
    """A local moment as 2026年11月20日 10:00 (empty for None)."""
    return "" if moment is None else f"{chinese_date(moment.date())} {moment:%H:%M}"


def makeup_state(done_at: datetime | None, cancelled_at: datetime | None) -> str:
    """待补 / 已补 / 已取消 of a 补课 item."""
    if cancelled_at is not None:
        return MAKEUP_CANCELLED
    return MAKEUP_DONE if done_at is not None else MAKEUP_OWED


def entered_by(member_id: int, recorded_by: int | None) -> str:
    """本人 when the member recorded it, else 书记补录."""
    return SELF_REPORTED if recorded_by == member_id else SECRETARY_ENTERED


def standing(probationary: bool) -> str:
    """正式党员 or 预备党员."""
    return "预备党员" if probationary else "正式党员"


def attendance_counts(counts: Counter[str]) -> list[Value]:
    """应参加, 参加, 请假, 缺席, 已补课 from status counts (a made-up absence counts as 已补课)."""
    return [
        sum(counts.values()),
        counts[ATTEND_PRESENT] + counts[ATTEND_LATE],
        counts[ATTEND_LEAVE],
        counts[ATTEND_ABSENT],
        counts[ATTEND_MAKEUP],
    ]
