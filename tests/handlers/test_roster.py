"""添加成员 / 设为书记 / 取消管理员 / 绑定 in chat."""

from __future__ import annotations

from storage.roster import chat_routes, find_chat
from tests.factories import ChatBot


def test_add_member_with_account_then_they_can_check_in(bot: ChatBot) -> None:
    reply = bot.say("李明", "添加成员 周红 第二党小组 预备党员 zhouhong")
    assert "已添加成员：周红（预备党员，第二党小组，账号 zhouhong）" in reply
    bot.say("李明", "开会 党员大会")
    assert "周红 签到成功" in bot.say("周红", "签到")
    assert bot.send("周红", "我的").replies[0].chat_id == bot.chat_id


def test_add_member_without_account_cannot_act_yet(bot: ChatBot) -> None:
    bot.say("李明", "添加成员 周红")
    assert "不在本支部的党员名册中" in bot.say("周红", "签到")


def test_add_existing_member(bot: ChatBot) -> None:
    assert "已在本支部名册中" in bot.say("李明", "添加成员 张伟")


def test_set_and_remove_secretary(bot: ChatBot) -> None:
    assert "只有支部书记或管理员" in bot.say("赵磊", "开会 党员大会")
    assert "已将 赵磊 设为管理员" in bot.say("李明", "设为书记 赵磊")
    assert "已发起签到" in bot.say("赵磊", "开会 党员大会")
    assert "已取消 赵磊 的管理员权限" in bot.say("李明", "取消管理员 赵磊")
    assert "只有支部书记或管理员" in bot.say("赵磊", "结束签到")


def test_cannot_remove_last_secretary(bot: ChatBot) -> None:
    bot.say("李明", "取消管理员 王芳")
    assert "唯一的管理员" in bot.say("李明", "取消管理员 李明")


def test_bind_push_target_is_stored_on_the_chat_and_masked(bot: ChatBot) -> None:
    url = (
        "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
    )
    reply = bot.say("李明", f"绑定推送 {url}")
    assert "已设置本群的消息推送地址" in reply
    assert "0ec2sifa5aaa" not in reply
    with bot.db.session() as session:
        chat = find_chat(session, "wecom", bot.chat_id)
        assert chat is not None
        assert chat_routes(chat) == {"push_target": url}
    assert "只有支部书记或管理员" in bot.say("赵磊", f"绑定推送 {url}")
