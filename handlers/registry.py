"""Which handler answers which intent, and which intents only secretaries may use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

from bot.message import Reply
from handlers import (
    checkin,
    corrections,
    export,
    help,
    leave,
    meetings,
    missing,
    plan,
    points,
    reports,
    roster,
    study,
    volunteer,
)
from handlers.context import Context
from handlers.parsing import Intent

Handler = Callable[[Context], Reply]


@dataclass(frozen=True)
class Route:
    """A handler and whether it needs the secretary role."""

    handler: Handler
    secretary_only: bool = False
    writes: bool = False


ROUTES = MappingProxyType(
    {
        Intent.CHECKIN: Route(checkin.handle, writes=True),
        Intent.LEAVE: Route(leave.handle, writes=True),
        Intent.STUDY: Route(study.handle_confirm, writes=True),
        Intent.VOLUNTEER: Route(volunteer.handle, writes=True),
        Intent.MINE: Route(reports.handle_mine),
        Intent.PLAN: Route(plan.handle),
        Intent.HELP: Route(help.handle),
        Intent.UNKNOWN: Route(help.handle_unknown),
        Intent.OPEN_MEETING: Route(meetings.handle_open, secretary_only=True, writes=True),
        Intent.CLOSE_MEETING: Route(meetings.handle_close, secretary_only=True, writes=True),
        Intent.PUBLISH_STUDY: Route(study.handle_publish, secretary_only=True, writes=True),
        Intent.MISSING: Route(missing.handle, secretary_only=True),
        Intent.STATS: Route(reports.handle_stats, secretary_only=True),
        Intent.EXPORT: Route(export.handle_export, secretary_only=True, writes=True),
        Intent.CORRECTION: Route(corrections.handle, secretary_only=True, writes=True),
        Intent.BIND: Route(roster.handle_bind, secretary_only=True, writes=True),
        Intent.BIND_PUSH: Route(roster.handle_bind_push, secretary_only=True, writes=True),
        Intent.ADD_MEMBER: Route(roster.handle_add_member, secretary_only=True, writes=True),
        Intent.SET_ROLE: Route(roster.handle_set_role, secretary_only=True, writes=True),
        Intent.POINTS: Route(points.handle_mine),
        Intent.POINTS_RANK: Route(points.handle_rank, secretary_only=True),
        Intent.POINTS_ADJUST: Route(points.handle_adjust, secretary_only=True, writes=True),
    }
)

SECRETARY_ONLY_TEXT = "抱歉，「{what}」只有支部书记或管理员可以操作，本次未做任何更改。"

INTENT_NAMES = {
    Intent.OPEN_MEETING: "发起签到",
    Intent.CLOSE_MEETING: "结束签到",
    Intent.PUBLISH_STUDY: "发布学习",
    Intent.MISSING: "查看未完成名单",
    Intent.STATS: "统计",
    Intent.EXPORT: "导出台账",
    Intent.CORRECTION: "补录",
    Intent.BIND: "绑定支部",
    Intent.BIND_PUSH: "设置消息推送",
    Intent.ADD_MEMBER: "添加成员",
    Intent.SET_ROLE: "设置管理员",
    Intent.POINTS_RANK: "积分排名",
    Intent.POINTS_ADJUST: "积分调整",
}
