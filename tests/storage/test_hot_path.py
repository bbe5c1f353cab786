"""The hot path's shortcuts give the same answers as the plain queries they replace."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from bot.message import Message
from storage import meetings, queries, roster, stats, volunteer
from storage.audit import Actor
from storage.memo import memo
from storage.models import Branch, Chat, Member
from storage.periods import resolve
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


def test_open_meetings_prefetched_for_a_batch_match_the_one_by_one_lookup(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    other = "wrkOTHERGROUP"
    bot.dispatcher.dispatch(
        Message("wecom", "other-1", other, bot.user_id("李明"), "帮助", bot.clock.now())
    )
    with bot.db.transaction() as session:
        chats = roster.prefetch(session, "wecom", {bot.chat_id, other}, set())
        assert {c.external_id for c in chats} == {bot.chat_id, other}
        meetings.prefetch_open_meetings(session, [c.id for c in chats])
        cached = {c.external_id: memo(session)[("open_meeting", c.id)] for c in chats}
    with bot.db.transaction() as session:
        for external_id, meeting in cached.items():
            chat = roster.find_chat(session, "wecom", external_id)
            assert chat is not None
            found = meetings.open_meeting_in_chat(session, chat.id)
            assert (found.id if found else None) == (meeting.id if meeting else None)
    assert cached[bot.chat_id] is not None and cached[other] is None


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
