"""The result of parsing one chat message: an intent and the fields that intent needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

# Canonical meeting kinds, in the order they are listed in the ledger.
MEETING_KINDS: tuple[str, ...] = (
    "支部党员大会",
    "支部委员会",
    "党小组会",
    "党课",
    "主题党日",
    "组织生活会",
    "民主评议党员",
)


class Intent(StrEnum):
    """What a message asks the bot to do."""

    CHECKIN = "checkin"
    LEAVE = "leave"
    STUDY = "study"
    VOLUNTEER = "volunteer"
    MINE = "mine"
    HELP = "help"
    OPEN_MEETING = "open_meeting"
    CLOSE_MEETING = "close_meeting"
    PUBLISH_STUDY = "publish_study"
    MISSING = "missing"
    STATS = "stats"
    EXPORT = "export"
    UNKNOWN = "unknown"
    # Secretary extras beyond the parse contract's list.
    CORRECTION = "correction"  # 补录 <姓名> <签到|请假|学习|补课|缺席> [说明]
    BIND = "bind"  # 绑定 <支部名称>
    BIND_PUSH = "bind_push"  # 绑定推送 <群机器人 webhook 地址或 key>
    PLAN = "plan"  # 计划 / 本月计划: this month's plan items with ✓ / ✗
    ADD_MEMBER = "add_member"  # 添加成员 <姓名> [党小组] [预备党员] [账号]
    SET_ROLE = "set_role"  # 设为书记 <姓名> / 设为组织委员 <姓名> / 取消管理 <姓名>
    POINTS = "points"  # 我的积分
    POINTS_RANK = "points_rank"  # 积分排名 [本月|今年]
    POINTS_ADJUST = "points_adjust"  # 积分调整 <姓名> <+2|-2> <原因>


@dataclass(frozen=True)
class Parsed:
    """A parsed message. Only the fields of its intent are meaningful; `error` marks bad content."""

    intent: Intent
    error: str | None = None
    # leave
    reason: str | None = None
    # study / publish_study
    title: str | None = None
    note: str | None = None
    deadline: date | None = None
    link: str | None = None
    # volunteer
    hours: float | None = None
    activity: str | None = None
    date: date | None = None
    # open_meeting
    kinds: tuple[str, ...] = ()
    topic: str | None = None
    # stats / export
    period: str | None = None
    # missing: "checkin" or "study"
    target: str | None = None
    # correction / add_member / set_role / bind: a person's or branch's name
    name: str | None = None
    # correction: "checkin" | "leave" | "study" | "makeup" | "absent";
    # set_role: "secretary" | "member"
    action: str | None = None
    # add_member
    group: str | None = None
    probationary: bool = False
    account: str | None = None
    # points_adjust: the signed amount, as written ("+2", "-1.5")
    points: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def as_contract(self) -> dict[str, Any]:
        """Return the JSON object `zhibu parse` prints: the intent plus its own fields."""
        out: dict[str, Any] = {"intent": self.intent.value}
        i = self.intent
        if i is Intent.VOLUNTEER:
            out["hours"] = self.hours
            out["activity"] = self.activity or ""
            out["date"] = self.date.isoformat() if self.date else None
        elif i is Intent.LEAVE:
            out["reason"] = self.reason or ""
        elif i is Intent.STUDY:
            out["title"] = self.title
            if self.note:
                out["note"] = self.note
        elif i is Intent.OPEN_MEETING:
            out["kinds"] = list(self.kinds)
            out["topic"] = self.topic or ""
            out.update({k: v for k, v in self.extra.items() if k in ("place", "host", "recorder")})
        elif i is Intent.PUBLISH_STUDY:
            out["title"] = self.title
            out["deadline"] = self.deadline.isoformat() if self.deadline else None
            if self.link:
                out["link"] = self.link
        elif i in (Intent.STATS, Intent.EXPORT):
            out["period"] = self.period
        elif i is Intent.MISSING:
            out["target"] = self.target
        elif i in (Intent.CORRECTION, Intent.SET_ROLE):
            out["name"] = self.name
            out["action"] = self.action
            if self.reason:
                out["reason"] = self.reason
        elif i is Intent.ADD_MEMBER:
            out["name"] = self.name
            out["group"] = self.group
            out["probationary"] = self.probationary
            out["account"] = self.account
        elif i is Intent.BIND_PUSH:
            out["target"] = self.target
        elif i is Intent.BIND:
            out["name"] = self.name
        elif i is Intent.POINTS_RANK:
            out["period"] = self.period
        elif i is Intent.POINTS_ADJUST:
            out["name"] = self.name
            out["points"] = self.points
            out["reason"] = self.reason
        if self.error:
            out["error"] = self.error
        return out
