"""开会 / 结束签到: opening a sitting for check-in and closing it with the tally."""

from __future__ import annotations

from collections.abc import Sequence

from bot.message import Reply
from handlers.cards import meeting_card
from handlers.context import Context
from handlers.format import clock, names
from storage import attendance, meetings
from storage.models import ATTEND_LEAVE, Member
from storage.roster import active_members

COMMITTEE_KIND = "支部委员会"
GROUP_KIND = "党小组会"


def is_committee_member(member: Member) -> bool:
    """True for 支委 (书记, 副书记 and the 委员 titles)."""
    return "书记" in member.title or "委员" in member.title


def expected_members(
    roster: Sequence[Member], kinds: Sequence[str], topic: str, opener: Member
) -> tuple[list[Member], str | None]:
    """Decide who must attend (应到): 支委 for a 支委会, one 党小组 for a 小组会, else everyone."""
    kind_set = set(kinds)
    if kind_set == {COMMITTEE_KIND}:
        committee = [m for m in roster if is_committee_member(m)]
        return (committee or list(roster)), None
    if kind_set == {GROUP_KIND}:
        groups = sorted({m.party_group for m in roster if m.party_group}, key=len, reverse=True)
        group = next((g for g in groups if g in topic), opener.party_group)
        members = [m for m in roster if group and m.party_group == group]
        if members:
            return members, group
    return list(roster), None


def kinds_label(kinds: Sequence[str]) -> str:
    """Join kinds with + the way secretaries write merged meetings."""
    return "+".join(kinds)


def handle_open(ctx: Context) -> Reply:
    """Open a meeting for check-in in this chat."""
    kinds, topic = ctx.parsed.kinds, (ctx.parsed.topic or "").strip()
    current = meetings.open_meeting_in_chat(ctx.session, ctx.chat.id)
    if current is not None:
        return Reply(
            f"本群已有会议正在签到：{kinds_label(current.kinds)}"
            f"{'「' + current.topic + '」' if current.topic else ''}。"
            "请先发送「结束签到」，再发起新的会议。"
        )
    roster = active_members(ctx.session, ctx.branch.id)
    by_name = {m.name: m for m in roster}
    extra = ctx.parsed.extra
    unknown = [extra[k] for k in ("host", "recorder") if k in extra and extra[k] not in by_name]
    if unknown:
        return Reply(
            f"名册中没有“{names(unknown)}”，未发起签到。主持人、记录人请写本支部成员的姓名，"
            "例如：开会 支委会 研究工作 地点：三楼会议室 主持：李明 记录：王芳"
        )
    host = by_name.get(extra.get("host", ""), ctx.member)
    recorder = by_name.get(extra.get("recorder", ""))
    expected, group = expected_members(roster, kinds, topic, ctx.member)
    meeting = meetings.open_meeting(
        ctx.session,
        ctx.actor,
        branch_id=ctx.branch.id,
        chat_id=ctx.chat.id,
        kinds=kinds,
        topic=topic,
        party_group=group,
        expected_member_ids=[m.id for m in expected],
        place=extra.get("place"),
        host_member_id=host.id,
        recorder_member_id=recorder.id if recorder else None,
    )
    statuses = attendance.current_attendance(ctx.session, meeting.id)
    on_leave = [
        m.name for m in expected if (row := statuses.get(m.id)) and row.status == ATTEND_LEAVE
    ]
    lines = [
        f"📋 已发起签到：{kinds_label(kinds)}{'「' + topic + '」' if topic else ''}",
        f"时间：{clock(ctx.now)}"
        + (f"　地点：{meeting.place}" if meeting.place else "")
        + (f"　范围：{group}" if group else ""),
        f"主持：{host.name}" + (f"　记录：{recorder.name}" if recorder else ""),
        f"应到 {len(expected)} 人"
        + (f"，已请假 {len(on_leave)} 人（{names(on_leave)}）" if on_leave else "")
        + "。",
        "请参会同志回复「签到」；不能参加的回复「请假 事由」。会后书记发送「结束签到」。",
    ]
    if len(kinds) > 1:
        lines.append(f"本次为合并召开，分别计入：{names(kinds)}。")
    return Reply("\n".join(lines), card=meeting_card(ctx.session, meeting))


def handle_close(ctx: Context) -> Reply:
    """Close check-in: record absentees, create 补课 items, and report the tally."""
    meeting = meetings.open_meeting_in_chat(ctx.session, ctx.chat.id)
    if meeting is None:
        return Reply("本群当前没有正在签到的会议，无需结束。")
    summary = meetings.close_meeting(ctx.session, ctx.actor, meeting)
    current = attendance.current_attendance(ctx.session, meeting.id)
    roster = {m.id: m.name for m in active_members(ctx.session, ctx.branch.id)}

    def who(ids: list[int]) -> list[str]:
        return [roster.get(i, f"#{i}") for i in ids]

    leave = [
        f"{roster.get(i, f'#{i}')}（{current[i].reason or '未说明事由'}）" for i in summary.leave
    ]
    present = len(summary.present) + len(summary.late)
    lines = [
        f"🔚 签到结束：{kinds_label(meeting.kinds)}{'「' + meeting.topic + '」' if meeting.topic else ''}",
        f"应到 {len(summary.expected)} 人，实到 {present} 人"
        + (
            f"（其中迟到 {len(summary.late)} 人：{names(who(summary.late))}）"
            if summary.late
            else ""
        )
        + f"，请假 {len(summary.leave)} 人，缺席 {len(summary.absent)} 人。",
        f"请假：{names(leave)}",
        f"缺席：{names(who(summary.absent))}",
    ]
    if summary.makeups_created:
        lines.append(f"已为请假和缺席的 {summary.makeups_created} 位同志生成补课事项。")
    return Reply("\n".join(lines))
