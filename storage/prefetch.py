"""What a batch of chat messages looks up first - chats, senders, open meetings - at once.

Dispatch asks this before handling a batch. The reads go as prepared statements in one round
trip (with the ids the batch's inbox and reply rows will take), and their rows become ORM
objects of the session as if a query had loaded them (`make_transient_to_detached`), so the
handlers work with the same objects as before at a fraction of the ORM's loading cost. Every
lookup lands in the session memo under the key its one-at-a-time function reads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Table, bindparam, select
from sqlalchemy.orm import Session

from storage import attendance, roster, study, volunteer
from storage.as_loaded import attached, detached
from storage.memo import memo, note_batch_members
from storage.models import MEETING_OPEN, Branch, Chat, Meeting, MeetingKind, Member, MemberIdentity
from storage.periods import resolve
from storage.rawsql import Prepared, all_together
from storage.value_lists import any_of

_CHATS: Table = Chat.__table__  # type: ignore[assignment]
_BRANCHES: Table = Branch.__table__  # type: ignore[assignment]
_MEMBERS: Table = Member.__table__  # type: ignore[assignment]
_IDENTITIES: Table = MemberIdentity.__table__  # type: ignore[assignment]
_MEETINGS: Table = Meeting.__table__  # type: ignore[assignment]
_KINDS: Table = MeetingKind.__table__  # type: ignore[assignment]

_IN_BATCH = (
    _CHATS.c.platform == bindparam("platform"),
    any_of(_CHATS.c.external_id, "chat_ids"),
)
_CHAT_ROWS = Prepared(
    select(*_CHATS.c, *_BRANCHES.c)
    .select_from(_CHATS.outerjoin(_BRANCHES, _BRANCHES.c.id == _CHATS.c.branch_id))
    .where(*_IN_BATCH)
)
_MEMBER_ROWS = Prepared(
    select(*_MEMBERS.c, _IDENTITIES.c.branch_id, _IDENTITIES.c.external_id)
    .join(_IDENTITIES, _IDENTITIES.c.member_id == _MEMBERS.c.id)
    .where(
        _IDENTITIES.c.platform == bindparam("platform"),
        any_of(_IDENTITIES.c.external_id, "sender_ids"),
        _MEMBERS.c.active.is_(True),
    )
)
# Locked in id order, as `meetings.open_meeting_in_chat` locks one.
_OPEN_MEETINGS = Prepared(
    select(*_MEETINGS.c)
    .join(_CHATS, _CHATS.c.id == _MEETINGS.c.chat_id)
    .where(*_IN_BATCH, _MEETINGS.c.status == MEETING_OPEN)
    .order_by(_MEETINGS.c.id)
    .with_for_update(of=_MEETINGS)
)
_OPEN_KINDS = Prepared(
    select(*_KINDS.c)
    .join(_MEETINGS, _MEETINGS.c.id == _KINDS.c.meeting_id)
    .join(_CHATS, _CHATS.c.id == _MEETINGS.c.chat_id)
    .where(*_IN_BATCH, _MEETINGS.c.status == MEETING_OPEN)
    .order_by(_KINDS.c.meeting_id, _KINDS.c.position)
)
# What the commonest messages look up next, read ahead for the batch's chats and senders.
_SITTINGS, _EXPECTED = attendance.sitting_reads(
    select(_MEETINGS.c.id)
    .join(_CHATS, _CHATS.c.id == _MEETINGS.c.chat_id)
    .where(*_IN_BATCH, _MEETINGS.c.status == MEETING_OPEN)
)
_BATCH_BRANCHES = select(_CHATS.c.branch_id).where(*_IN_BATCH)
_BATCH_SENDERS = select(_IDENTITIES.c.member_id).where(
    _IDENTITIES.c.platform == bindparam("platform"),
    any_of(_IDENTITIES.c.external_id, "sender_ids"),
)
_TASKS, _CONFIRMED = study.batch_reads(_BATCH_BRANCHES, _BATCH_SENDERS)
_HOURS = volunteer.batch_hours_read(_BATCH_BRANCHES, _BATCH_SENDERS)
_NAMES = roster.names_read(_BATCH_BRANCHES)
# The rows those messages write, about one per sender at most.
_AHEAD_TABLES = (
    attendance.ATTENDANCE_TABLE,
    attendance.LEAVE_TABLE,
    study.CONFIRMATIONS_TABLE,
    volunteer.RECORDS_TABLE,
)


def batch(
    session: Session,
    platform: str,
    chat_ids: Collection[str],
    sender_ids: Collection[str],
    *,
    today: date | None = None,
    reserve: Mapping[str, int] | None = None,
) -> list[Chat]:
    """Load the batch's chats (with branch), senders and open meetings in one round trip.

    With them come the open meetings' attendance and 应到, the branches' recent study tasks
    and what the senders confirmed of them, and, given `today`, the senders' volunteer hours
    that day and month, and the branches' member names: what 签到, 请假, 已学习 and
    志愿服务 look up next. Ids for the rows
    those write are reserved with the ones `reserve` asks for (see `rawsql.all_together`).
    Returns the chats found; chats seen for the first time are not among them.
    """
    params: dict[str, Any] = {
        "platform": platform,
        "chat_ids": sorted(chat_ids),
        "sender_ids": sorted(sender_ids),
    }
    reads = [_CHAT_ROWS, _MEMBER_ROWS, _OPEN_MEETINGS, _OPEN_KINDS, _SITTINGS, _EXPECTED]
    reads += [_TASKS, _CONFIRMED, _NAMES]
    if today is not None:
        month = resolve("this_month", today)
        params.update(day=today, start=month.start, end=month.end)
        reads.append(_HOURS)
    chat_rows, member_rows, meeting_rows, kind_rows, *ahead = all_together(
        session,
        [(read, params) for read in reads],
        reserve={**dict.fromkeys(_AHEAD_TABLES, len(sender_ids)), **(reserve or {})},
    )
    sitting_rows, expected_rows, task_rows, confirmed_rows, name_rows, *hour_rows = ahead
    cache = memo(session)
    chats = _chats(session, chat_rows)
    for chat in chats:
        cache[("chat", platform, chat.external_id)] = chat
    found = set()
    width = len(_MEMBERS.c)
    for row in member_rows:
        member = attached(session, Member, dict(zip(_MEMBERS.c.keys(), row[:width], strict=True)))
        branch_id, external_id = row[width:]
        cache[("member", branch_id, platform, external_id)] = member
        found.add(member.id)
    note_batch_members(session, found)
    open_in = _open_meetings(session, meeting_rows, kind_rows)
    for chat in chats:
        cache[("open_meeting", chat.id)] = open_in.get(chat.id)
    attendance.remember_sittings(
        session, [m.id for m in open_in.values()], sitting_rows, expected_rows
    )
    branch_ids = {chat.branch_id for chat in chats if chat.branch_id is not None}
    study.remember_recent(session, branch_ids, task_rows, confirmed_rows)
    roster.remember_names(session, branch_ids, name_rows)
    if today is not None:
        (hours,) = hour_rows
        volunteer.remember_hours(session, branch_ids, (today, month.start, month.end), hours)
    return chats


def _open_meetings(
    session: Session, meeting_rows: list[tuple[Any, ...]], kind_rows: list[tuple[Any, ...]]
) -> dict[int, Meeting]:
    kinds: dict[int, list[MeetingKind]] = {}
    for row in kind_rows:
        values = dict(zip(_KINDS.c.keys(), row, strict=True))
        kinds.setdefault(values["meeting_id"], []).append(detached(session, MeetingKind, values))
    open_in: dict[int, Meeting] = {}
    for row in meeting_rows:
        values = dict(zip(_MEETINGS.c.keys(), row, strict=True))
        values["kind_rows"] = kinds.get(values["id"], [])
        meeting = attached(session, Meeting, values)
        if meeting.chat_id is not None:
            open_in.setdefault(meeting.chat_id, meeting)
    return open_in


def _chats(session: Session, rows: list[tuple[Any, ...]]) -> list[Chat]:
    width = len(_CHATS.c)
    chats = []
    for row in rows:
        values: dict[str, Any] = dict(zip(_CHATS.c.keys(), row[:width], strict=True))
        branch_values = dict(zip(_BRANCHES.c.keys(), row[width:], strict=True))
        if branch_values["id"] is not None:
            values["branch"] = attached(session, Branch, branch_values)
        else:
            values["branch"] = None
        chats.append(attached(session, Chat, values))
    return chats
