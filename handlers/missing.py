"""未签到 / 未学习: who has not yet checked in to the open meeting or confirmed the study task."""

from __future__ import annotations

from bot.message import Reply
from handlers import study
from handlers.context import Context
from handlers.format import mention_names, names
from handlers.meetings import kinds_label
from storage import attendance, meetings
from storage.models import ATTEND_LATE, ATTEND_LEAVE, ATTEND_PRESENT
from storage.roster import active_members


def handle(ctx: Context) -> Reply:
    """Answer 未签到 or 未学习 depending on what was asked."""
    if ctx.parsed.target == "study":
        return study.handle_missing(ctx)
    return missing_checkin(ctx)


def missing_checkin(ctx: Context) -> Reply:
    """List expected members of the open meeting who have neither checked in nor taken leave."""
    meeting = meetings.open_meeting_in_chat(ctx.session, ctx.chat.id)
    if meeting is None:
        return Reply("本群当前没有正在签到的会议。")
    roster = {m.id: m for m in active_members(ctx.session, ctx.branch.id)}
    current = attendance.current_attendance(ctx.session, meeting.id)
    expected = [i for i in attendance.expected_ids(ctx.session, meeting.id) if i in roster]
    signed = [
        i for i in expected if (r := current.get(i)) and r.status in (ATTEND_PRESENT, ATTEND_LATE)
    ]
    leave = [roster[i].name for i in expected if (r := current.get(i)) and r.status == ATTEND_LEAVE]
    missing = [roster[i] for i in expected if i not in current]
    head = (
        f"{kinds_label(meeting.kinds)} 签到情况：应到 {len(expected)} 人，已签到 {len(signed)} 人，"
        f"请假 {len(leave)} 人（{names(leave)}）。"
    )
    if not missing:
        return Reply(head + "\n全部到齐 👍")
    return Reply(
        f"{head}\n未签到（{len(missing)}人）：{mention_names(m.name for m in missing)}",
        mention_member_ids=tuple(m.id for m in missing),
    )
