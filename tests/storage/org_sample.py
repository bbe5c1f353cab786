"""A small work committee with known numbers, shared by the org report and org export tests.

Organisation 市直机关工委, report date 2026-11-20 (the `clock` fixture), period 2026-11:

| branch | members | plan due by 11-20 | attendance | study (late) | 补课 | volunteer h | score |
|---|---|---|---|---|---|---|---|
| 机关第四党支部 | 2 | 1/1 | 2/2 | 2/2 (0) | — | 2 | 100 先进 |
| 机关第二党支部 | 5 | 3/4 | 8/10 | 4/5 (2) | 1/2 | 5 | 76 中间 |
| 机关第三党支部 | 4 | 2/5 (generated plan) | 4/4 | — | — | 0 | 41/70 → 58.57 落后 |
| 机关第一党支部 | 10 | 2/4 (through chat) | 2/10 | 1/10 (0) | 1/8 | 3.5 | 30.875 落后 |

机关第一党支部 is driven through real dispatch (the `bot` fixture); the others are written with
the storage helpers. A fifth branch belongs to another organisation and must never show up.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage import attendance, meetings, plans, study
from storage.audit import Actor
from storage.db import Database
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_PRESENT,
    ROLE_MEMBER,
    ROLE_SECRETARY,
    Branch,
    MakeupItem,
    Meeting,
    Member,
    VolunteerRecord,
)
from tests.factories import BRANCH, ChatBot

ORG = "市直机关工委"
OTHER_ORG = "区直机关工委"
TZ = ZoneInfo("Asia/Shanghai")
SECOND, THIRD, FOURTH, OTHER = (
    "机关第二党支部",
    "机关第三党支部",
    "机关第四党支部",
    "区直第一党支部",
)
GROUP = "第一党小组"
START = datetime(2026, 1, 1, tzinfo=TZ)


def at(month: int, day: int, hour: int = 9) -> datetime:
    """A local moment in 2026."""
    return datetime(2026, month, day, hour, tzinfo=TZ)


PLAN_ROWS = [
    plans.PlanRow(date(2026, 10, 9), "支部委员会", "支委会"),
    plans.PlanRow(date(2026, 11, 3), "支部委员会", "支委会"),
    plans.PlanRow(date(2026, 11, 6), "党费", "党费收缴提醒"),
    plans.PlanRow(date(2026, 11, 11), "支部党员大会", "支部党员大会"),
    plans.PlanRow(date(2026, 11, 16), "党小组会", f"党小组会（{GROUP}）", GROUP),
    plans.PlanRow(date(2026, 11, 19), "党课", "党课"),
    plans.PlanRow(date(2026, 11, 25), "主题党日", "主题党日"),
]


def chat_branch(bot: ChatBot) -> None:
    """机关第一党支部 through real dispatch: a merged sitting, leave, 补课, study, volunteering."""
    bot.say("李明", "开会 支部党员大会+党课 学习党章")
    bot.say("李明", "签到")
    bot.say("张伟", "签到")
    bot.say("王芳", "请假 =1+1")
    assert "补课" in bot.say("李明", "结束签到")
    assert "已补录" in bot.say("李明", "补录 黄丽 补课")
    assert "已发布" in bot.say("李明", "发布学习《党章》截止11月25日")
    bot.say("张伟", "已学习《党章》")
    assert "已记录" in bot.say("张伟", "志愿服务 2小时 社区献血 昨天")
    assert "已记录" in bot.say("杨帆", "志愿服务 1.5小时 =SUM(A1:A9)")


def _branch(
    session: Session, name: str, org: str, people: list[tuple[str, str]]
) -> tuple[Branch, list[int]]:
    """A branch and its members (name, 职务); the first is the secretary, all in 第一党小组."""
    branch = Branch(name=name, organisation=org, timezone="Asia/Shanghai", created_at=START)
    session.add(branch)
    session.flush()
    ids = []
    for number, (person, title) in enumerate(people):
        member = Member(
            branch_id=branch.id,
            name=person,
            title=title,
            party_group=GROUP,
            role=ROLE_SECRETARY if number == 0 else ROLE_MEMBER,
            created_at=START,
            updated_at=START,
        )
        session.add(member)
        session.flush()
        ids.append(member.id)
    return branch, ids


def _sitting(
    session: Session,
    branch: Branch,
    kinds: list[str],
    when: datetime,
    expected: list[int],
    present: list[int],
    *,
    group: str | None = None,
    leave: dict[int, str] | None = None,
    close: bool = True,
) -> Meeting:
    actor = Actor("test", when, member_id=expected[0])
    meeting = meetings.open_meeting(
        session,
        actor,
        branch_id=branch.id,
        chat_id=None,
        kinds=kinds,
        topic="学习贯彻",
        party_group=group,
        expected_member_ids=expected,
        place="三楼会议室",
    )
    for member_id in present:
        attendance.record_attendance(session, actor, meeting, member_id, ATTEND_PRESENT)
    for member_id, reason in (leave or {}).items():
        attendance.request_leave(
            session, actor, branch_id=branch.id, member_id=member_id, meeting=meeting, reason=reason
        )
    if close:
        meetings.close_meeting(session, Actor("test", when + timedelta(hours=2)), meeting)
    return meeting


def _volunteer(session: Session, branch: Branch, member_id: int, day: date, hours: str) -> None:
    session.add(
        VolunteerRecord(
            branch_id=branch.id,
            member_id=member_id,
            service_date=day,
            hours=Decimal(hours),
            activity="社区服务",
            recorded_at=at(day.month, day.day, 20),
            recorded_by_member_id=member_id,
        )
    )


def build(db: Database, bot: ChatBot) -> None:
    """The whole organisation (call after the `bot` fixture seeded 机关第一党支部)."""
    chat_branch(bot)
    system = Actor("test", START)
    with db.transaction() as session:
        first = session.scalar(select(Branch).where(Branch.name == BRANCH))
        assert first is not None
        session.execute(update(Branch).where(Branch.id == first.id).values(organisation=ORG))
        plans.save_version(session, system, first, 2026, PLAN_ROWS, plans.SOURCE_IMPORTED)

        # 第二: a correction, leave, an absence, one 补课 done, late study, volunteering.
        second, (b1, b2, b3, b4, b5) = _branch(
            session,
            SECOND,
            ORG,
            [
                ("赵一", "书记"),
                ("钱二", "组织委员"),
                ("孙三", "党员"),
                ("李四", "党员"),
                ("周五", "党员"),
            ],
        )
        plans.save_version(session, system, second, 2026, PLAN_ROWS, plans.SOURCE_IMPORTED)
        _sitting(session, second, ["支部委员会"], at(11, 3), [b1, b2], [b1, b2])
        meeting = _sitting(
            session,
            second,
            ["支部党员大会"],
            at(11, 11),
            [b1, b2, b3, b4, b5],
            [b1, b2],
            leave={b4: "出差"},
            close=False,
        )
        actor = Actor("test", at(11, 11, 10), member_id=b1)
        attendance.record_attendance(session, actor, meeting, b3, ATTEND_ABSENT)
        attendance.record_attendance(
            session, actor, meeting, b3, ATTEND_PRESENT, is_correction=True
        )
        meetings.close_meeting(session, Actor("test", at(11, 11, 11)), meeting)
        item = session.scalar(
            select(MakeupItem).where(
                MakeupItem.meeting_id == meeting.id, MakeupItem.member_id == b4
            )
        )
        assert item is not None
        meetings.complete_makeup(session, Actor("test", at(11, 15), member_id=b1), item)
        _sitting(session, second, ["党小组会"], at(11, 16), [b1, b2, b3], [b1, b2, b3], group=GROUP)
        task = study.publish(
            session,
            Actor("test", at(11, 5), member_id=b1),
            branch_id=second.id,
            chat_id=None,
            title="《党章》第一章",
            deadline=date(2026, 11, 10),
            link=None,
        )
        for member_id, late in ((b1, False), (b2, False), (b3, True), (b4, True)):
            when = at(11, 12 if late else 8)
            study.confirm(
                session, Actor("test", when, member_id), task, member_id, late=late, note=None
            )
        _volunteer(session, second, b1, date(2026, 11, 8), "3")
        _volunteer(session, second, b2, date(2026, 11, 9), "2")
        _volunteer(session, second, b3, date(2026, 10, 31), "4")  # October: outside 2026-11

        # 第三: no stored plan (its rules' plan); a 主题党日, and a 支委会 still open.
        third, (c1, c2, c3, c4) = _branch(
            session,
            THIRD,
            ORG,
            [("吴甲", "书记"), ("郑乙", "组织委员"), ("王丙", "党员"), ("冯丁", "党员")],
        )
        _sitting(session, third, ["主题党日"], at(11, 6), [c1, c2, c3, c4], [c1, c2, c3, c4])
        _sitting(session, third, ["支部委员会"], at(11, 19), [c1, c2], [], close=False)

        # 第四: everything done.
        fourth, (d1, d2) = _branch(session, FOURTH, ORG, [("陈戊", "书记"), ("褚己", "党员")])
        plans.save_version(
            session,
            system,
            fourth,
            2026,
            [plans.PlanRow(date(2026, 11, 3), "支部委员会", "支委会")],
            plans.SOURCE_IMPORTED,
        )
        _sitting(session, fourth, ["支部委员会"], at(11, 3), [d1, d2], [d1, d2])
        task = study.publish(
            session,
            Actor("test", at(11, 2), member_id=d1),
            branch_id=fourth.id,
            chat_id=None,
            title='=HYPERLINK("x")',
            deadline=date(2026, 11, 9),
            link=None,
        )
        for member_id in (d1, d2):
            study.confirm(
                session, Actor("test", at(11, 3), member_id), task, member_id, late=False, note=None
            )
        _volunteer(session, fourth, d1, date(2026, 11, 10), "1")
        _volunteer(session, fourth, d2, date(2026, 11, 10), "1")

        # Another organisation's branch.
        other, (e1, e2) = _branch(session, OTHER, OTHER_ORG, [("卫庚", "书记"), ("蒋辛", "党员")])
        _sitting(session, other, ["支部委员会"], at(11, 3), [e1, e2], [e1])
        _volunteer(session, other, e1, date(2026, 11, 3), "9")
