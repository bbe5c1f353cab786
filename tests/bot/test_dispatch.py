"""Dispatch: exactly-once handling, replay of repeats, identity and role checks, bad input."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import redis

import bot.dispatch as dispatch_module
from bot.dispatch import FAILURE_TEXT, UNBOUND_TEXT, Dispatcher
from bot.message import Message, Reply
from handlers.context import Context
from handlers.parsing import Intent
from handlers.registry import ROUTES, Route
from storage import messages, volunteer
from storage.redis import SeenFilter, connect
from tests.factories import ChatBot


def test_repeated_message_id_is_handled_once(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    first = bot.send("赵磊", "签到", message_id="dup-1")
    repeats = [bot.send("赵磊", "签到", message_id="dup-1") for _ in range(3)]
    assert not first.duplicate and all(r.duplicate for r in repeats)
    assert all(r.text == first.text for r in repeats)
    assert all(r.replies[0].outbox_id == first.replies[0].outbox_id for r in repeats)
    assert bot.count("attendance") == 1
    assert bot.count("inbox") == 2 and bot.count("outbox") == 2


def test_database_catches_repeat_when_redis_forgot(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    first = bot.send("赵磊", "签到", message_id="dup-2")
    other_worker = Dispatcher(bot.db, SeenFilter(connect(None)), bot.clock, "Asia/Shanghai")
    again = other_worker.dispatch(
        Message("wecom", "dup-2", bot.chat_id, "zhaolei", "签到", bot.clock.now())
    )
    assert again.duplicate and again.text == first.text
    assert bot.count("attendance") == 1


def test_redis_down_still_works(bot: ChatBot) -> None:
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    worker = Dispatcher(bot.db, SeenFilter(dead), bot.clock, "Asia/Shanghai")
    bot.say("李明", "开会 党员大会")
    result = worker.dispatch(
        Message("wecom", "r-1", bot.chat_id, "zhaolei", "签到", bot.clock.now())
    )
    assert "签到成功" in result.text
    assert worker.dispatch(
        Message("wecom", "r-1", bot.chat_id, "zhaolei", "签到", bot.clock.now())
    ).duplicate


def test_unknown_sender_records_nothing(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    before = bot.counts()
    for text in ("签到", "请假 出差", "志愿服务 2小时 献血", "开会 党课"):
        reply = bot.say("stranger-id", text)
        assert "不在本支部的党员名册中" in reply
    assert bot.counts() == before
    assert bot.count("inbox") == 5  # received messages are kept, ledger untouched


@pytest.mark.parametrize(
    "text",
    [
        "开会 党员大会",
        "结束签到",
        "发布学习《党章》",
        "未签到",
        "未学习",
        "统计 本月",
        "导出台账",
        "补录 张伟 签到",
        "添加成员 周红",
        "设为书记 赵磊",
        "绑定 机关第一党支部",
    ],
)
def test_member_cannot_use_secretary_commands(bot: ChatBot, text: str) -> None:
    bot.say("李明", "开会 支委会")
    before = bot.counts()
    reply = bot.say("赵磊", text)
    assert "只有支部书记或管理员可以操作" in reply and "未做任何更改" in reply
    assert bot.counts() == before


BAD_INPUTS = [
    "",
    "   \t  ",
    "签到" + "啊" * 9998,
    "志愿服务 2小时 " + "献血" * 5000,
    "🎉🎉🎉",
    "😀签到😀",
    "'; DROP TABLE members; --",
    "<script>alert('签到')</script>",
    "ｓｉｇｎ ｉｎ",
    "志愿服务　２小时　社区献血",
    "簽到",
    "請假 出差",
    "志願服務 2小時 社區服務",
    "\x00\x01\x02签到",
    "请假 \ud800 出差",
    "志愿服务 1e309小时 献血",
    "志愿服务 99999999999999999999小时 献血",
    "统计 9999年13月",
    "@支部助手",
    "@支部助手 @支部助手 @支部助手",
]


@pytest.mark.parametrize("text", BAD_INPUTS)
def test_bad_input_gets_a_reply_and_a_consistent_ledger(bot: ChatBot, text: str) -> None:
    bot.say("李明", "开会 党员大会")
    for sender in ("赵磊", "李明"):
        result = bot.send(sender, text)
        assert result.replies and result.replies[0].text.strip()
        assert "Traceback" not in result.text and FAILURE_TEXT not in result.text
    ledger = bot.ledger()
    for meeting in ledger["meetings"]:
        names = [row["name"] for row in meeting["attendance"]]
        assert len(names) == len(set(names))
    assert all(0 < row["hours"] <= 24 for row in ledger["volunteer"])
    assert bot.count("inbox") == 3


def test_long_action_message_is_refused(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    reply = bot.say("赵磊", "志愿服务 2小时 " + "献血" * 4995)
    assert "过长" in reply
    assert bot.count("volunteer_records") == 0


def test_handler_crash_keeps_message_and_writes_no_half_record(
    bot: ChatBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(ctx: Context) -> Reply:
        volunteer.add_record(
            ctx.session,
            ctx.actor,
            branch_id=ctx.branch.id,
            member_id=ctx.member.id,
            service_date=ctx.today,
            hours=Decimal(1),
            activity="半截记录",
        )
        raise RuntimeError("boom")

    routes = dict(ROUTES)
    routes[Intent.VOLUNTEER] = Route(explode, writes=True)
    monkeypatch.setattr(dispatch_module, "ROUTES", routes)
    result = bot.send("赵磊", "志愿服务 2小时 献血", message_id="crash-1")
    assert result.text == FAILURE_TEXT
    assert bot.count("volunteer_records") == 0 and bot.count("audit_log") > 0
    with bot.db.session() as session:
        entry = messages.find_inbox(session, "wecom", "crash-1")
        assert entry is not None and entry.intent == "error"
        assert entry.text == "志愿服务 2小时 献血"
    assert bot.send("赵磊", "志愿服务 2小时 献血", message_id="crash-1").duplicate


def race(bot: ChatBot, sends: list[tuple[str, str]]) -> list[str]:
    """Send (user id, text) pairs at once, each from its own worker; replies in the same order."""
    replies = [""] * len(sends)

    def run(i: int) -> None:
        worker = Dispatcher(bot.db, SeenFilter(connect(None)), bot.clock, "Asia/Shanghai")
        sender, text = sends[i]
        message = Message("wecom", f"race-{i}", bot.chat_id, sender, text, bot.clock.now())
        replies[i] = worker.dispatch(message).text

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(sends))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def test_concurrent_checkins_of_one_member_record_one_row(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    results = race(bot, [("zhaolei", "签到")] * 6)
    assert sum("签到成功" in r for r in results) == 1
    assert sum("无需重复签到" in r for r in results) == 5
    assert bot.count("attendance") == 1


def test_concurrent_opens_leave_one_meeting_open(bot: ChatBot) -> None:
    results = race(bot, [("liming", "开会 党课")] * 4)
    assert sum("已发起签到" in r for r in results) == 1
    assert sum("已有会议正在签到" in r for r in results) == 3
    assert bot.count("meetings") == 1


def test_unbound_chat_with_several_branches(bot: ChatBot) -> None:
    bot.seed(name="机关第二党支部", roster_file="roster_sample.csv")
    reply = bot.say("赵磊", "签到", chat_id="new-group")
    assert reply == UNBOUND_TEXT
    assert "只有支部书记或管理员" in bot.say("赵磊", "绑定 机关第一党支部", chat_id="new-group")
    assert bot.say("赵磊", "签到", chat_id="new-group") == UNBOUND_TEXT
    assert "没有找到支部" in bot.say("李明", "绑定 不存在支部", chat_id="new-group")
    assert "本群已绑定 机关第一党支部" in bot.say(
        "李明", "绑定 机关第一党支部", chat_id="new-group"
    )
    assert "已发起签到" in bot.say("李明", "开会 党员大会", chat_id="new-group")


def test_chat_joins_the_only_branch(bot: ChatBot) -> None:
    assert "已发起签到" in bot.say("李明", "开会 党员大会", chat_id="fresh-group")


def test_close_racing_checkins_never_overwrites_a_confirmed_checkin(bot: ChatBot) -> None:
    bot.say("李明", "开会 党员大会")
    members = {
        "wangfang": "王芳",
        "zhangwei": "张伟",
        "liuyang": "刘洋",
        "chenjing": "陈静",
        "yangfan": "杨帆",
        "zhaolei": "赵磊",
        "huangli": "黄丽",
        "wumin": "吴敏",
    }
    sends = [(uid, "签到") for uid in members]
    sends.insert(4, ("liming", "结束签到"))
    replies = dict(zip([uid for uid, _ in sends], race(bot, sends), strict=True))
    statuses = {r["name"]: r["status"] for r in bot.ledger()["meetings"][0]["attendance"]}
    assert len(statuses) == 10
    for uid, name in members.items():
        if "签到成功" in replies[uid]:
            assert statuses[name] == "present", (name, replies[uid])
        else:
            assert "没有正在签到的会议" in replies[uid]
            assert statuses[name] == "absent"
    assert f"实到 {sum('签到成功' in replies[u] for u in members)} 人" in replies["liming"]
