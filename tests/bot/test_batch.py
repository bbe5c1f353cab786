"""Group commit: batches of messages in one transaction, a savepoint each, lanes per chat."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

import bot.dispatch as dispatch_module
from bot.dispatch import FAILURE_TEXT, Dispatcher
from bot.inbox import DispatchInbox
from bot.message import Message, Reply
from handlers.context import Context
from handlers.parsing import Intent
from handlers.registry import ROUTES, Route
from storage import messages, volunteer
from storage.db import Database
from storage.models import OutboxEntry
from tests.factories import ChatBot


def message(bot: ChatBot, who: str, text: str, message_id: str, chat: str = "") -> Message:
    """A message from a roster member (by name) in the bot's chat or another one."""
    return Message(
        "wecom", message_id, chat or bot.chat_id, bot.user_id(who), text, bot.clock.now()
    )


def test_a_batch_is_handled_in_order_as_if_one_by_one(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    batch = [
        message(bot, "赵磊", "签到", "b-1"),
        message(bot, "赵磊", "签到", "b-2"),  # the first one in this batch already counts
        message(bot, "王芳", "请假 出差", "b-3"),
        message(bot, "王芳", "签到", "b-4"),  # leave turned into attendance
        message(bot, "黄丽", "志愿服务 2小时 社区献血", "b-5"),
    ]
    results = bot.dispatcher.dispatch_batch(batch)
    assert "签到成功" in results[0].text
    assert "无需重复签到" in results[1].text
    assert "已记录 王芳 请假" in results[2].text
    assert "此前的请假已改为出席" in results[3].text
    assert "志愿服务 2 小时" in results[4].text
    assert bot.count("inbox") == 6 and bot.count("outbox") == 6
    assert bot.count("volunteer_records") == 1


def test_a_repeat_inside_one_batch_gets_the_first_answer(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    first, again = bot.dispatcher.dispatch_batch(
        [message(bot, "赵磊", "签到", "same"), message(bot, "赵磊", "签到", "same")]
    )
    assert again.duplicate and again.text == first.text
    assert again.replies[0].outbox_id == first.replies[0].outbox_id
    assert bot.count("attendance") == 1


def test_one_failing_message_does_not_undo_its_batch(
    bot: ChatBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode_on_fire(ctx: Context) -> Reply:
        volunteer.add_record(
            ctx.session,
            ctx.actor,
            branch_id=ctx.branch.id,
            member_id=ctx.member.id,
            service_date=ctx.today,
            hours=Decimal(1),
            activity="半截记录",
        )
        if "火" in (ctx.parsed.activity or ""):
            raise RuntimeError("boom")
        return ROUTES[Intent.VOLUNTEER].handler(ctx)

    routes = dict(ROUTES)
    routes[Intent.VOLUNTEER] = Route(explode_on_fire, writes=True)
    monkeypatch.setattr(dispatch_module, "ROUTES", routes)
    bot.say("李明", "开会 党员大会")
    results = bot.dispatcher.dispatch_batch(
        [
            message(bot, "赵磊", "签到", "f-1"),
            message(bot, "黄丽", "志愿服务 1小时 救火", "f-2"),
            message(bot, "吴敏", "签到", "f-3"),
        ]
    )
    assert "签到成功" in results[0].text and "签到成功" in results[2].text
    assert results[1].text == FAILURE_TEXT
    assert bot.count("attendance") == 2
    assert bot.count("volunteer_records") == 0  # the failed message left no half record
    with bot.db.session() as session:
        failed = messages.find_inbox(session, "wecom", "f-2")
        assert failed is not None and failed.intent == "error"


def test_lanes_answer_every_caller_and_keep_each_chats_order(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    inbox = DispatchInbox(bot.dispatcher, bot.db, bot.clock, lanes=3)
    members = ["赵磊", "王芳", "黄丽", "吴敏", "张伟"]

    async def burst() -> list[str]:
        sends = [
            inbox.receive(message(bot, who, text, f"lane-{who}-{text}"))
            for text in ("签到", "签到", "我的")
            for who in members
        ]
        return [r.text for r in await asyncio.gather(*sends)]

    try:
        texts = asyncio.run(burst())
    finally:
        inbox.close()
    assert all("签到成功" in t for t in texts[: len(members)])
    # The second round repeats ids of the first: the same answers come back.
    assert texts[: len(members)] == texts[len(members) : 2 * len(members)]
    assert all("参会" in t for t in texts[2 * len(members) :])
    assert bot.count("attendance") == len(members)


def test_inline_replies_are_marked_delivered_behind_the_answer(bot: ChatBot) -> None:
    inbox = DispatchInbox(bot.dispatcher, bot.db, bot.clock)

    async def answer() -> int:
        result = await inbox.receive(message(bot, "赵磊", "我的", "inline-1"))
        await inbox.delivered([result.replies[0].outbox_id])
        return result.replies[0].outbox_id

    try:
        outbox_id = asyncio.run(answer())
        inbox.drain()
        with bot.db.session() as session:
            row = session.get(OutboxEntry, outbox_id)
            assert row is not None and row.status == messages.OUTBOX_SENT
    finally:
        inbox.close()
    inbox.close()  # closing twice is harmless


def test_lookups_shared_by_a_batch_see_what_earlier_messages_of_it_wrote(bot: ChatBot) -> None:
    # Hours so far, study confirmed and member names are read once for the whole batch; each
    # message must still see what the ones before it in the same batch recorded.
    bot.say("李明", "发布学习《党章》")
    earlier = bot.say("黄丽", "志愿服务 3小时 社区献血")
    assert "本月累计 3 小时" in earlier
    batch = [
        message(bot, "黄丽", "志愿服务 20小时 文明劝导", "c-1"),
        message(bot, "赵磊", "已学习", "c-2"),
        message(bot, "黄丽", "志愿服务 2小时 文明劝导", "c-3"),  # 3 + 20 + 2 > 24 on one day
        message(bot, "赵磊", "已学习", "c-4"),
        message(bot, "李明", "添加成员 钱多多", "c-5"),
        message(bot, "王芳", "请假 钱多多", "c-6"),  # now a member's name, not a reason
        message(bot, "黄丽", "志愿服务 1小时 文明劝导 昨天", "c-7"),
    ]
    results = bot.dispatcher.dispatch_batch(batch)
    assert "本月累计 23 小时" in results[0].text
    assert "已登记 23 小时" in results[2].text and "未记录" in results[2].text
    assert "已记录 赵磊 完成学习《党章》" in results[1].text
    assert "都已确认" in results[3].text
    assert "只能为自己请假" in results[5].text
    assert "本月累计 24 小时" in results[6].text
    assert bot.count("volunteer_records") == 3
    assert bot.count("study_confirmations") == 1


@pytest.mark.postgres
def test_a_dropped_database_connection_costs_a_retry_not_the_batch(bot: ChatBot) -> None:
    if bot.db.is_sqlite:
        pytest.skip("PostgreSQL connections only")
    # As the writer process runs it: pooled connections are not tested on the way out.
    db = Database(bot.db.url, pre_ping=False)
    dispatcher = Dispatcher(db, bot.seen, bot.clock, "Asia/Shanghai")
    try:
        bot.say("李明", "开会 党员大会")
        (first,) = dispatcher.dispatch_batch([message(bot, "赵磊", "签到", "drop-1")])
        assert "签到成功" in first.text
        with db.engine.connect() as probe:
            pooled = probe.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with bot.db.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({int(pooled)})")
        second, third = dispatcher.dispatch_batch(
            [message(bot, "王芳", "签到", "drop-2"), message(bot, "黄丽", "请假 出差", "drop-3")]
        )
        assert "签到成功" in second.text and "已记录 黄丽 请假" in third.text
        assert bot.count("attendance") == 3 and bot.count("inbox") == 4
    finally:
        db.dispose()
