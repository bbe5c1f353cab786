"""签到: a member records attendance at the meeting open in this chat."""

from __future__ import annotations

from datetime import timedelta

from bot.message import Reply
from handlers.cards import refreshed_card
from handlers.context import Context
from handlers.format import clock
from handlers.meetings import kinds_label
from storage import attendance, meetings
from storage.models import ATTEND_LATE, ATTEND_LEAVE, ATTEND_PRESENT


def handle(ctx: Context) -> Reply:
    """Record the sender's check-in once; a repeat is acknowledged, not duplicated."""
    named = ctx.parsed.extra.get("name")
    if named and named != ctx.member.name:
        # Identity comes from the platform, never from the text: nobody signs for someone else.
        return Reply(
            f"只能为自己签到，未替 {named} 记录。如需代为登记，请书记发送：补录 {named} 签到"
        )
    meeting = meetings.open_meeting_in_chat(ctx.session, ctx.chat.id)
    if meeting is None:
        return Reply("本群当前没有正在签到的会议。会议开始、书记发起签到后再回复「签到」即可。")
    label = kinds_label(meeting.kinds) + (f"「{meeting.topic}」" if meeting.topic else "")
    previous = attendance.member_attendance(ctx.session, meeting.id, ctx.member.id)
    tz = ctx.now.tzinfo
    if previous is not None and previous.status in (ATTEND_PRESENT, ATTEND_LATE):
        return Reply(
            f"{ctx.member.name}，您已于 {clock(previous.recorded_at.astimezone(tz))} "
            f"签到 {label}，无需重复签到。",
            card=refreshed_card(ctx.session, meeting, ctx.message.via_card),
        )
    late = ctx.actor.at - meeting.started_at > timedelta(minutes=ctx.branch.late_after_minutes)
    attendance.add_expected(ctx.session, meeting, ctx.member.id, has_record=previous is not None)
    attendance.record_attendance(
        ctx.session,
        ctx.actor,
        meeting,
        ctx.member.id,
        ATTEND_LATE if late else ATTEND_PRESENT,
        previous=previous,
    )
    text = f"✅ {ctx.member.name} 签到成功：{label}，{clock(ctx.now)}"
    if late:
        text += f"（开始签到已超过 {ctx.branch.late_after_minutes} 分钟，记为迟到）"
    if previous is not None and previous.status == ATTEND_LEAVE:
        text += "。此前的请假已改为出席"
    return Reply(text + "。", card=refreshed_card(ctx.session, meeting, ctx.message.via_card))
