"""请假: leave for the open meeting, or for the next meeting the member is expected at."""

from __future__ import annotations

from bot.message import Reply
from handlers.cards import refreshed_card
from handlers.context import Context
from handlers.meetings import kinds_label
from storage import attendance, meetings
from storage.models import ATTEND_LATE, ATTEND_PRESENT
from storage.roster import find_member_by_name


def handle(ctx: Context) -> Reply:
    """Record the sender's leave with its reason."""
    reason = (ctx.parsed.reason or "").strip()
    if reason == ctx.member.name:
        reason = ""  # "李明请假" from 李明: no reason given
    elif find_member_by_name(ctx.session, ctx.branch.id, reason) is not None:
        # "张伟请假了" from someone else: identity comes from the platform, not the text.
        return Reply(
            f"只能为自己请假，未替 {reason} 记录。如需代为登记，请书记发送：补录 {reason} 请假 事由"
        )
    shown = reason or "未填写事由"
    meeting = meetings.open_meeting_in_chat(ctx.session, ctx.chat.id)
    hint = "" if reason else "（可补充事由，例如：请假 出差）"
    if meeting is None:
        attendance.request_leave(
            ctx.session,
            ctx.actor,
            branch_id=ctx.branch.id,
            member_id=ctx.member.id,
            meeting=None,
            reason=reason,
        )
        return Reply(
            f"📝 已记录 {ctx.member.name} 请假：{shown}。当前没有进行中的会议，"
            f"将计入下一次会议{hint}。"
        )
    previous = attendance.member_attendance(ctx.session, meeting.id, ctx.member.id)
    if previous is not None and previous.status in (ATTEND_PRESENT, ATTEND_LATE):
        return Reply(
            f"{ctx.member.name}，您已签到本次会议，无需请假。如需更正请联系书记。",
            card=refreshed_card(ctx.session, meeting, ctx.message.via_card),
        )
    attendance.request_leave(
        ctx.session,
        ctx.actor,
        branch_id=ctx.branch.id,
        member_id=ctx.member.id,
        meeting=meeting,
        reason=reason,
        previous=previous,
    )
    label = kinds_label(meeting.kinds) + (f"「{meeting.topic}」" if meeting.topic else "")
    return Reply(
        f"📝 已记录 {ctx.member.name} 请假：{shown}（{label}）。会后请按要求补课{hint}。",
        card=refreshed_card(ctx.session, meeting, ctx.message.via_card),
    )
