"""The hot path's shortcuts give the same answers as the plain queries they replace."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from bot.message import Message
from storage import (
    attendance,
    meetings,
    prefetch,
    queries,
    rawsql,
    roster,
    stats,
    study,
    volunteer,
)
from storage.audit import Actor
from storage.memo import memo
from storage.models import ATTEND_LEAVE, ATTEND_PRESENT, Branch, Chat, Member
from storage.periods import resolve
from storage.rawsql import defer_writes
from tests.factories import BRANCH, ChatBot


def test_member_stats_match_the_branch_view_for_everyone(bot: ChatBot) -> None:
    bot.say("李明", "请假 出差")  # pending, applied to the next meeting
    bot.say("李明", "开会 党员大会 学习")
    bot.say("赵磊", "签到")
    bot.clock.advance(timedelta(minutes=40))
    bot.say("黄丽", "签到")  # late
    bot.say("吴敏", "请假 生病")
    bot.say("李明", "结束签到")
    bot.say("李明", "开会 支委会")  # still open: the committee only
    bot.say("王芳", "签到")
    bot.say("李明", "补录 赵磊 请假 临时任务")
    bot.say("李明", "发布学习《党章》")
    bot.say("赵磊", "已学习")
    with bot.db.session() as session:
        branch = session.scalar(select(Branch).where(Branch.name == BRANCH))
        assert branch is not None
        period = resolve("this_month", bot.clock.now().date())
        views = queries.meetings_in(session, branch, period)
        tasks = queries.study_in(session, branch, period)
        checked = 0
        for member in roster.active_members(session, branch.id):
            want = stats.MemberStats(period)
            for view in views:
                status = view.status_by_member.get(member.id)
                if status is None or (view.meeting.status != "closed" and status == "absent"):
                    continue
                label = queries.meeting_label(view.meeting, branch.timezone)
                if status in stats.ATTENDED:
                    want.attended.append(label)
                elif status == "leave":
                    want.leave.append(label)
                else:
                    want.absent.append(label)
            for task, confirmations in tasks:
                done = member.id in confirmations
                (want.study_done if done else want.study_pending).append(task.title)
            want.volunteer_records, want.volunteer_hours = volunteer.member_total(
                session, branch.id, member.id, period.start, period.end
            )
            want.makeups_open = [
                queries.meeting_label(item.meeting, branch.timezone)
                for item in meetings.open_makeups(session, member.id)
            ]
            assert stats.member_stats(session, branch, member, period) == want, member.name
            checked += bool(want.attended or want.leave or want.absent) + bool(want.makeups_open)
        assert checked >= 5  # the scenario reaches several members' meetings and 补课


def test_member_total_sums_hours_exactly(bot: ChatBot) -> None:
    for amount in ("0.1", "0.2", "1.35", "2"):
        bot.say("赵磊", f"志愿服务 {amount}小时 社区服务")
    with bot.db.session() as session:
        member = session.scalar(select(Member).where(Member.name == "赵磊"))
        assert member is not None
        today = bot.clock.now().date()
        count, total = volunteer.member_total(
            session, member.branch_id, member.id, today, today + timedelta(days=1)
        )
        assert (count, total) == (4, Decimal("3.65"))
        assert volunteer.member_total(session, member.branch_id, member.id, today, today) == (
            0,
            Decimal("0.00"),
        )


def test_a_rolled_back_savepoint_forgets_what_it_looked_up(bot: ChatBot) -> None:
    now = bot.clock.now()
    with bot.db.transaction() as session:
        try:
            with session.begin_nested():
                roster.ensure_chat(session, "wecom", "new-chat", title=None, at=now)
                assert ("chat", "wecom", "new-chat") in memo(session)
                raise RuntimeError("undo")
        except RuntimeError:
            pass
        assert memo(session) == {}
        chat = roster.ensure_chat(session, "wecom", "new-chat", title=None, at=now)
        assert chat.id is not None
    with bot.db.session() as session:
        assert session.scalar(select(Chat).where(Chat.external_id == "new-chat")) is not None


def test_the_open_meeting_memo_follows_opening_and_closing(bot: ChatBot) -> None:
    bot.say("李明", "帮助")  # creates and binds the chat
    with bot.db.transaction() as session:
        chat = roster.find_chat(session, "wecom", bot.chat_id)
        assert chat is not None and chat.branch_id is not None
        assert meetings.open_meeting_in_chat(session, chat.id) is None
        actor = Actor("test", bot.clock.now())
        opened = meetings.open_meeting(
            session,
            actor,
            branch_id=chat.branch_id,
            chat_id=chat.id,
            kinds=["党员大会"],
            topic="",
            party_group=None,
            expected_member_ids=[],
        )
        assert meetings.open_meeting_in_chat(session, chat.id) is opened
        meetings.close_meeting(session, actor, opened)
        assert meetings.open_meeting_in_chat(session, chat.id) is None


def _columns(instance: object) -> dict[str, object]:
    mapper = inspect(type(instance))
    return {attr.key: getattr(instance, attr.key) for attr in mapper.column_attrs}


def test_a_prefetched_batch_holds_what_one_by_one_lookups_load(bot: ChatBot) -> None:
    bot.say("李明", "开会 支委会+党员大会 学习")
    other = "wrkOTHERGROUP"
    bot.dispatcher.dispatch(
        Message("wecom", "other-1", other, bot.user_id("李明"), "帮助", bot.clock.now())
    )
    senders = {bot.user_id("李明"), bot.user_id("王芳"), "nobody"}
    with bot.db.transaction() as session:
        chats = prefetch.batch(session, "wecom", {bot.chat_id, other, "unseen"}, senders)
        assert {c.external_id for c in chats} == {bot.chat_id, other}
        cache = memo(session)
        members = {k[3]: v for k, v in cache.items() if k[0] == "member"}
        statements: list[str] = []
        listen = event.listens_for(session.get_bind(), "before_cursor_execute")
        listen(lambda *args: statements.append(args[2]))
        # Everything dispatch reads next is loaded: no lazy load, no refresh.
        got = {
            c.external_id: (
                _columns(c),
                _columns(c.branch) if c.branch else None,
                cache[("open_meeting", c.id)],
            )
            for c in chats
        }
        meetings_got = {
            k: (_columns(m), m.kinds) if m is not None else None for k, (_c, _b, m) in got.items()
        }
        member_columns = {k: _columns(m) for k, m in members.items()}
        assert statements == []
    assert set(members) == {bot.user_id("李明"), bot.user_id("王芳")}
    with bot.db.transaction() as session:
        for external_id, (chat_columns, branch_columns, _meeting) in got.items():
            chat = roster.find_chat(session, "wecom", external_id)
            assert chat is not None and _columns(chat) == chat_columns
            assert (_columns(chat.branch) if chat.branch else None) == branch_columns
            found = meetings.open_meeting_in_chat(session, chat.id)
            assert ((_columns(found), found.kinds) if found else None) == meetings_got[external_id]
        for user_id, columns in member_columns.items():
            branch_id = columns["branch_id"]
            assert isinstance(branch_id, int)
            member = roster.find_member_by_identity(session, branch_id, "wecom", user_id)
            assert member is not None and _columns(member) == columns
    opened = meetings_got[bot.chat_id]
    assert opened is not None and opened[1] == ["支部委员会", "支部党员大会"]
    assert meetings_got[other] is None


def test_a_sender_whose_id_moves_is_looked_up_again(bot: ChatBot) -> None:
    with bot.db.transaction() as session:
        branch = session.scalar(select(Branch).where(Branch.name == BRANCH))
        assert branch is not None
        zhao = roster.find_member_by_name(session, branch.id, "赵磊")
        wu = roster.find_member_by_name(session, branch.id, "吴敏")
        assert zhao is not None and wu is not None
        assert roster.find_member_by_identity(session, branch.id, "dingtalk", "new-id") is None
        actor = Actor("test", bot.clock.now())
        assert roster.set_identity(session, actor, wu, "dingtalk", "new-id")
        assert roster.find_member_by_identity(session, branch.id, "dingtalk", "new-id") is wu
        wu.active = False  # a member who left is nobody's sender any more
        assert roster.find_member_by_identity(session, branch.id, "dingtalk", "new-id") is None


Looked = tuple[tuple[str, str | None] | None, bool, list[str], tuple[Decimal, Decimal]]


def _lookups(
    session: Session, branch_id: int, meeting_id: int, members: dict[int, str]
) -> tuple[list[str], dict[int, Looked]]:
    """What 签到, 请假, 已学习 and 志愿服务 look up for each sender."""
    assert roster.find_member_by_name(session, branch_id, "出差") is None  # 请假 出差
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    month = resolve("this_month", today)
    tasks = study.recent_tasks(session, branch_id)
    found: dict[int, Looked] = {}
    for member_id, name in members.items():
        named = roster.find_member_by_name(session, branch_id, name)
        assert named is not None and named.id == member_id
        row = attendance.member_attendance(session, meeting_id, member_id)
        found[member_id] = (
            (row.status, row.reason) if row else None,
            attendance.is_expected(session, meeting_id, member_id),
            [t.title for t in study.unconfirmed(session, tasks, member_id)],
            volunteer.day_and_period_hours(
                session, branch_id, member_id, today, month.start, month.end
            ),
        )
    return [t.title for t in tasks], found


def test_what_a_batch_reads_ahead_matches_the_lookups_it_saves(
    bot: ChatBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot.clock.set(datetime.now(ZoneInfo("Asia/Shanghai")))
    bot.say("李明", "发布学习《党章》")
    bot.say("李明", "发布学习《准则》")
    bot.say("王芳", "已学习《党章》")
    bot.say("赵磊", "志愿服务 2小时 社区献血")
    bot.say("李明", "开会 党员大会")
    bot.say("赵磊", "签到")
    bot.say("黄丽", "请假 出差")
    names = ["李明", "王芳", "赵磊", "黄丽", "吴敏"]
    senders = {bot.user_id(n) for n in names}
    with bot.db.session() as session:
        branch = session.scalar(select(Branch).where(Branch.name == BRANCH))
        assert branch is not None
        members = {
            m.id: m.name for n in names if (m := roster.find_member_by_name(session, branch.id, n))
        }
        ids = list(members)
        chat = roster.find_chat(session, "wecom", bot.chat_id)
        assert chat is not None
        meeting = meetings.open_meeting_in_chat(session, chat.id)
        assert meeting is not None
        branch_id, meeting_id = branch.id, meeting.id
    with bot.db.transaction() as session:
        defer_writes(session)
        today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
        prefetch.batch(session, "wecom", {bot.chat_id}, senders, today=today)
        statements: list[object] = []
        listen = event.listens_for(session.get_bind(), "before_cursor_execute")
        listen(lambda *args: statements.append(args[2]))
        raw = rawsql._execute

        def counted(*args: Any) -> Any:
            statements.append(args[2])
            return raw(*args)

        monkeypatch.setattr(rawsql, "_execute", counted)
        ahead = _lookups(session, branch_id, meeting_id, members)
        assert statements == []  # all read ahead, with the batch's lookups
        monkeypatch.undo()
    with bot.db.transaction() as session:
        assert _lookups(session, branch_id, meeting_id, members) == ahead
    tasks, found = ahead
    assert tasks == ["准则", "党章"]
    assert found[ids[2]][0] == (ATTEND_PRESENT, None)
    assert found[ids[3]][0] == (ATTEND_LEAVE, "出差")
    assert found[ids[1]][2] == ["准则"] and found[ids[0]][2] == ["准则", "党章"]
    assert found[ids[2]][3] == (Decimal("2.00"), Decimal("2.00"))
