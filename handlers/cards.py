"""The check-in card of an open meeting: who has signed, with 签到 / 请假 buttons."""

from __future__ import annotations

from sqlalchemy.orm import Session

from bot.message import Button, Card
from handlers.format import names
from storage import attendance
from storage.models import ATTEND_LATE, ATTEND_LEAVE, ATTEND_PRESENT, Meeting
from storage.roster import active_members

CHECKIN_BUTTONS = (Button("签到", "签到"), Button("请假", "请假"))


def card_key(meeting: Meeting) -> str:
    """The stable key of a meeting's check-in card (platform-safe characters only)."""
    return f"meeting-{meeting.id}"


def meeting_card(session: Session, meeting: Meeting) -> Card:
    """The card for a meeting as it stands now: counts and names of who signed or is on leave."""
    roster = {m.id: m.name for m in active_members(session, meeting.branch_id)}
    expected = attendance.expected_ids(session, meeting.id)
    current = attendance.current_attendance(session, meeting.id)
    signed = [
        roster.get(i, f"#{i}")
        for i in expected
        if (row := current.get(i)) and row.status in (ATTEND_PRESENT, ATTEND_LATE)
    ]
    leave = [
        roster.get(i, f"#{i}")
        for i in expected
        if (row := current.get(i)) and row.status == ATTEND_LEAVE
    ]
    title = "+".join(meeting.kinds) + " 签到"
    lines = [meeting.topic] if meeting.topic else []
    lines += [
        f"应到 {len(expected)} 人，已签到 {len(signed)} 人，请假 {len(leave)} 人",
        f"已签到：{names(signed)}",
    ]
    if leave:
        lines.append(f"请假：{names(leave)}")
    return Card(key=card_key(meeting), title=title, lines=tuple(lines), buttons=CHECKIN_BUTTONS)


def refreshed_card(session: Session, meeting: Meeting, via_card: str | None) -> Card | None:
    """The updated card when the message was a tap on this meeting's card, else None."""
    if via_card != card_key(meeting):
        return None
    return meeting_card(session, meeting)
