"""帮助: what the sender can say, by role, with examples."""

from __future__ import annotations

from bot.message import Reply
from handlers.context import Context

MEMBER_HELP = """🤖 支部助手可以记录：
· 签到 — 会议签到（也可回复“到”）
· 请假 事由 — 例：请假 出差
· 已学习《标题》心得 — 确认学习任务
· 志愿服务 时长 内容 日期 — 例：志愿服务 2小时 社区献血 昨天
· 我的 — 查看本人本月记录
· 计划 — 本月规定动作及完成情况（✓ 已开 / ✗ 未开）
· 我的积分 — 本人今年积分及依据
群里请先 @支部助手 再发送。"""

SECRETARY_HELP = """管理员还可以：
· 开会 类型 主题 — 例：开会 支委会+党员大会 讨论年度计划
· 结束签到 — 统计应到/实到/请假/缺席并生成补课
· 发布学习《标题》截止12月10日 链接
· 未签到 / 未学习 — 提醒未完成的同志
· 统计 本月|上月|本季度|上半年|今年|2026年10月
· 补录 张伟 签到|请假 事由|缺席|学习《标题》|补课
· 添加成员 张三 第一党小组 预备党员 / 设为书记 张三 / 绑定 支部名称
· 积分排名 本月|今年 / 积分调整 张伟 +2 原因
· 导出台账 本月|上月|今年 — 把 Excel 台账文件发到本群（不能发文件时发下载链接）"""

UNKNOWN_HINT = "没有看懂这句话，未做记录。发送「帮助」查看可用指令，例如：签到、请假 出差、已学习。"


def help_text(is_secretary: bool) -> str:
    """Return the help text for a member or a secretary."""
    return MEMBER_HELP + ("\n\n" + SECRETARY_HELP if is_secretary else "")


def handle(ctx: Context) -> Reply:
    """Answer 帮助 with the commands the sender's role allows."""
    return Reply(help_text(ctx.member.is_secretary))


def handle_unknown(ctx: Context) -> Reply:
    """Answer a message the bot did not understand, without recording anything."""
    del ctx
    return Reply(UNKNOWN_HINT)
