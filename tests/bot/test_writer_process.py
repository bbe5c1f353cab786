"""Dispatch in a writer process: batches, order, inline delivery marks, a writer that dies."""

from __future__ import annotations

import asyncio
import os
import signal

from sqlalchemy import func, select

from bot.message import DispatchResult, Message
from bot.writer_process import ProcessInbox, WriterSpec
from storage.models import Attendance, InboxEntry, OutboxEntry
from tests.factories import ChatBot


def _spec(bot: ChatBot) -> WriterSpec:
    return WriterSpec(bot.db.url, None, "Asia/Shanghai", "WARNING")


def _message(bot: ChatBot, who: str, text: str, message_id: str, inline: bool = False) -> Message:
    return Message(
        "wecom",
        message_id,
        bot.chat_id,
        bot.user_id(who),
        text,
        bot.clock.now(),
        reply_inline=inline,
    )


MEMBERS = ["赵磊", "王芳", "黄丽", "张伟", "刘洋", "陈静"]


def test_a_burst_is_answered_in_order_and_written_once(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    burst = [_message(bot, who, "签到", f"w-{who}") for who in MEMBERS]
    burst.append(_message(bot, "赵磊", "签到", "w-again"))
    burst.append(_message(bot, "王芳", "签到", f"w-{'王芳'}"))  # a platform retry

    async def run() -> list[DispatchResult]:
        inbox = ProcessInbox(_spec(bot))
        try:
            return list(await asyncio.gather(*(inbox.receive(m) for m in burst)))
        finally:
            inbox.close()

    results = asyncio.run(run())
    for who, result in zip(MEMBERS, results, strict=False):
        assert f"{who} 签到成功" in result.text
    assert "无需重复签到" in results[-2].text  # after its own first check-in, in order
    assert results[-1].duplicate and results[-1].text == results[1].text
    assert bot.count("attendance") == len(MEMBERS)
    assert bot.count("inbox") == len(MEMBERS) + 2  # 开会 and 赵磊's second message


def test_replies_sent_inline_are_marked_delivered(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")

    async def run() -> DispatchResult:
        inbox = ProcessInbox(_spec(bot))
        try:
            result = await inbox.receive(_message(bot, "赵磊", "签到", "inline-1", inline=True))
            await inbox.delivered([r.outbox_id for r in result.replies])
            return result
        finally:
            inbox.close()  # the mark rides on the writer's last batch

    result = asyncio.run(run())
    (reply,) = result.replies
    with bot.db.session() as session:
        row = session.get(OutboxEntry, reply.outbox_id)
        assert row is not None and row.status == "sent"


def test_a_writer_that_dies_is_replaced_and_nothing_is_lost_or_doubled(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    waves = [
        [_message(bot, who, text, f"{n}-{who}") for who in MEMBERS]
        for n, text in enumerate(["签到", "志愿服务 1小时 文明劝导", "已学习"])
    ]

    async def run() -> list[DispatchResult]:
        inbox = ProcessInbox(_spec(bot))
        try:
            first = asyncio.gather(*(inbox.receive(m) for m in waves[0] + waves[1]))
            await asyncio.sleep(0)  # the first batch is on its way to the writer
            assert inbox._process is not None and inbox._process.pid is not None
            os.kill(inbox._process.pid, signal.SIGKILL)
            answered = list(await first)
            # The replacement keeps working; a retry of an answered message only replays.
            answered += await asyncio.gather(*(inbox.receive(m) for m in waves[2]))
            answered.append(await inbox.receive(waves[0][0]))
            return answered
        finally:
            inbox.close()

    results = asyncio.run(run())
    assert all("抱歉" not in r.text for r in results)
    assert results[-1].duplicate and results[-1].text == results[0].text
    with bot.db.session() as session:
        inbox_rows = session.scalar(select(func.count(InboxEntry.id)))
        attendance_rows = session.scalar(select(func.count(Attendance.id)))
        replies = session.scalar(select(func.count(OutboxEntry.id)))
    assert inbox_rows == 1 + 3 * len(MEMBERS)
    assert replies == inbox_rows
    assert attendance_rows == len(MEMBERS)
    assert bot.count("volunteer_records") == len(MEMBERS)


def test_ctrl_c_leaves_the_writer_to_the_orderly_shutdown(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")

    async def run() -> DispatchResult:
        inbox = ProcessInbox(_spec(bot))
        try:
            assert inbox._process is not None and inbox._process.pid is not None
            os.kill(inbox._process.pid, signal.SIGINT)  # what a terminal's Ctrl-C also sends
            await asyncio.sleep(0.2)
            assert inbox._process.is_alive()
            return await inbox.receive(_message(bot, "赵磊", "签到", "after-ctrl-c"))
        finally:
            inbox.close()

    assert "赵磊 签到成功" in asyncio.run(run()).text
