"""补录: a secretary corrects or adds a member's record; the audit trail marks it as a correction."""

from __future__ import annotations

from bot.message import Reply
from handlers.context import Context
from handlers.meetings import kinds_label
from handlers.study import find_task
from storage import attendance, meetings, study
from storage.models import ATTEND_ABSENT, ATTEND_LEAVE, ATTEND_PRESENT, Meeting, Member
from storage.roster import find_member_by_name

USAGE = "用法：补录 姓名 签到|请假 事由|缺席|学习《标题》|补课，例如：补录 张伟 签到"
ACTIONS = {"checkin": "签到", "leave": "请假", "absent": "缺席", "study": "学习", "makeup": "补课"}


def handle(ctx: Context) -> Reply:
    """Apply one correction to the named member's record."""
    name, action = (ctx.parsed.name or "").strip(), ctx.parsed.action
    if not name or action not in ACTIONS:
        return Reply(USAGE)
    member = find_member_by_name(ctx.session, ctx.branch.id, name)
    if member is None:
        return Reply(f"名册中没有“{name}”。{USAGE}")
    if action == "study":
        return _study(ctx, member)
    if action == "makeup":
        return _makeup(ctx, member)
    return _attendance(ctx, member, action)


def _target_meeting(ctx: Context) -> Meeting | None:
    return meetings.open_meeting_in_chat(ctx.session, ctx.chat.id) or meetings.latest_meeting(
        ctx.session, ctx.branch.id, ctx.chat.id
    )


def _attendance(ctx: Context, member: Member, action: str) -> Reply:
    meeting = _target_meeting(ctx)
    if meeting is None:
        return Reply("本群还没有会议记录，无法补录签到或请假。")
    status = {"checkin": ATTEND_PRESENT, "leave": ATTEND_LEAVE, "absent": ATTEND_ABSENT}[action]
    reason = (ctx.parsed.reason or "").strip() or None
    current = attendance.member_attendance(ctx.session, meeting.id, member.id)
    if (
        current is not None
        and current.status == status
        and (reason is None or current.reason == reason)
    ):
        return Reply(f"{member.name} 在该会议的记录已是“{ACTIONS[action]}”，无需补录。")
    attendance.add_expected(ctx.session, meeting, member.id)
    if status == ATTEND_LEAVE:
        attendance.request_leave(
            ctx.session,
            ctx.actor,
            branch_id=ctx.branch.id,
            member_id=member.id,
            meeting=meeting,
            reason=reason or "",
        )
    else:
        attendance.record_attendance(
            ctx.session, ctx.actor, meeting, member.id, status, reason=reason, is_correction=True
        )
    closed = meeting.closed_at is not None
    note = ""
    if (
        closed
        and status == ATTEND_PRESENT
        and meetings.cancel_makeup(ctx.session, ctx.actor, meeting, member.id)
    ):
        note = "，其补课事项已取消"
    elif closed and status != ATTEND_PRESENT:
        meetings.ensure_makeup(ctx.session, ctx.actor, meeting, member.id)
        note = "，已生成补课事项"
    label = (
        f"{kinds_label(meeting.kinds)}（{meeting.started_at.astimezone(ctx.now.tzinfo):%m月%d日}）"
    )
    return Reply(
        f"✏️ 已补录：{member.name} {ACTIONS[action]} — {label}{note}。此更正已记入审计记录。"
    )


def _study(ctx: Context, member: Member) -> Reply:
    tasks = study.recent_tasks(ctx.session, ctx.branch.id)
    task = (
        find_task(tasks, ctx.parsed.reason or "")
        if ctx.parsed.reason
        else (tasks[0] if tasks else None)
    )
    if task is None:
        return Reply("没有找到对应的学习任务。例如：补录 张伟 学习《党章》")
    if study.is_confirmed(ctx.session, task.id, member.id):
        return Reply(f"{member.name} 已确认过《{task.title}》，无需补录。")
    late = task.deadline is not None and ctx.today > task.deadline
    study.confirm(
        ctx.session, ctx.actor, task, member.id, late=late, note="书记补录", is_correction=True
    )
    return Reply(
        f"✏️ 已补录：{member.name} 完成学习《{task.title}》"
        f"{'（逾期）' if late else ''}。此更正已记入审计记录。"
    )


def _makeup(ctx: Context, member: Member) -> Reply:
    owed = meetings.open_makeups(ctx.session, member.id)
    if not owed:
        return Reply(f"{member.name} 没有待补课事项。")
    item = owed[0]
    meetings.complete_makeup(ctx.session, ctx.actor, item)
    rest = f"，还有 {len(owed) - 1} 项待补" if len(owed) > 1 else ""
    return Reply(
        f"✏️ 已补录：{member.name} 完成补课 — {kinds_label(item.meeting.kinds)}"
        f"（{item.meeting.started_at.astimezone(ctx.now.tzinfo):%m月%d日}）{rest}。"
    )
