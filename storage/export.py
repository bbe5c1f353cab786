"""The ledger of a period as a JSON-ready dict (the formatted xlsx 台账 builds on the same queries)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from storage import queries
from storage.models import Branch, Meeting
from storage.periods import Period
from storage.roster import active_members


def _label(session: Session, labels: dict[int, str], meeting_id: int | None, tz: str) -> str | None:
    """Label a meeting, also one outside the period (a leave asked this month, held next)."""
    if meeting_id is None:
        return None
    if meeting_id not in labels:
        meeting = session.get(Meeting, meeting_id)
        labels[meeting_id] = queries.meeting_label(meeting, tz) if meeting else ""
    return labels[meeting_id]


def ledger(session: Session, branch: Branch, period: Period) -> dict[str, Any]:
    """Return the branch's ledger for the period in the documented export shape."""
    zone = ZoneInfo(branch.timezone)
    names = {mid: m.name for mid, m in queries.members_by_id(session, branch.id).items()}
    views = queries.meetings_in(session, branch, period)
    labels = {v.meeting.id: queries.meeting_label(v.meeting, branch.timezone) for v in views}
    meetings = [
        {
            "kinds": v.meeting.kinds,
            "topic": v.meeting.topic,
            "place": v.meeting.place,
            "host": names.get(v.meeting.host_member_id or 0),
            "recorder": names.get(v.meeting.recorder_member_id or 0),
            "status": v.meeting.status,
            "started_at": v.meeting.started_at.astimezone(zone).isoformat(),
            "closed_at": v.meeting.closed_at.astimezone(zone).isoformat()
            if v.meeting.closed_at
            else None,
            "attendance": [
                {"name": names[mid], "status": status, "reason": v.reason_by_member[mid]}
                for mid, status in v.status_by_member.items()
            ],
        }
        for v in views
    ]
    roster = active_members(session, branch.id)
    study = []
    for task, confirmations in queries.study_in(session, branch, period):
        study.append(
            {
                "title": task.title,
                "deadline": task.deadline.isoformat() if task.deadline else None,
                "confirmed": [names[mid] for mid in sorted(confirmations)],
                "late": [names[mid] for mid in sorted(confirmations) if confirmations[mid].late],
                "pending": [m.name for m in roster if m.id not in confirmations],
            }
        )
    volunteer = [
        {
            "name": names[r.member_id],
            "date": r.service_date.isoformat(),
            "hours": float(r.hours),
            "activity": r.activity,
        }
        for r in queries.volunteer_in(session, branch.id, period)
    ]
    leave = [
        {
            "name": names[r.member_id],
            "reason": r.reason,
            "meeting": _label(session, labels, r.meeting_id, branch.timezone),
            "requested_at": r.requested_at.astimezone(zone).isoformat(),
        }
        for r in queries.leave_in(session, branch, period)
    ]
    makeups = [
        {"name": names[m.member_id], "meeting": labels[m.meeting_id], "done": m.done_at is not None}
        for m in queries.makeups_for(session, [v.meeting.id for v in views])
    ]
    return {
        "branch": branch.name,
        "period": period.key,
        "label": period.label,
        "meetings": meetings,
        "study": study,
        "volunteer": volunteer,
        "leave": leave,
        "makeups": makeups,
    }
