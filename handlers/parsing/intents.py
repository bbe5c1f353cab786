"""The classifier: normalised text -> `Parsed`, trying the intents in a fixed order."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from handlers.parsing import member_intents as member
from handlers.parsing import queries
from handlers.parsing import secretary_intents as secretary
from handlers.parsing.model import Intent, Parsed
from handlers.parsing.normalize import normalize
from handlers.parsing.text import ends_like_question, is_howto, is_question

MAX_LENGTH = 1000
TOO_LONG_ERROR = "消息过长（超过1000字），未记录。"
# Only this much of a huge message is examined; the verdict never needs more.
_SCAN_LIMIT = 4000
_RECORDING_INTENTS = frozenset(
    {
        Intent.CHECKIN,
        Intent.LEAVE,
        Intent.STUDY,
        Intent.VOLUNTEER,
        Intent.OPEN_MEETING,
        Intent.CLOSE_MEETING,
        Intent.PUBLISH_STUDY,
        Intent.CORRECTION,
        Intent.BIND,
        Intent.BIND_PUSH,
        Intent.ADD_MEMBER,
        Intent.SET_ROLE,
        Intent.POINTS_ADJUST,
    }
)
UNKNOWN = Parsed(Intent.UNKNOWN)


def _commands(text: str, today: date) -> Parsed | None:
    """Secretary commands, recognised by their leading keyword."""
    return (
        secretary.parse_open(text)
        or secretary.parse_publish(text, today)
        or secretary.parse_correction(text)
        or secretary.parse_bind_push(text)
        or secretary.parse_bind(text)
        or secretary.parse_add_member(text)
        or secretary.parse_set_role(text)
        or secretary.parse_points_adjust(text)
    )


def classify(text: str, today: date) -> Parsed:
    """Classify an already normalised message."""
    if not text:
        return UNKNOWN
    compact = text.replace(" ", "")
    found = (
        queries.parse_help(compact)
        or queries.parse_missing(compact)
        or secretary.parse_points_rank(compact.rstrip("?呢"), today)
        or member.parse_my_points(compact.rstrip("?呢"))
        or queries.parse_mine(compact.rstrip("?呢"))
        or queries.parse_plan(compact.rstrip("?呢"))
    )
    if found:
        return found
    if ends_like_question(text):
        return Parsed(Intent.HELP) if is_howto(text) else UNKNOWN
    found = (
        secretary.parse_close(compact)
        or _commands(text, today)
        or queries.parse_report(text, today)
    )
    if found:
        return found
    if is_question(text):
        return Parsed(Intent.HELP) if is_howto(text) else UNKNOWN
    found = (
        member.parse_checkin(text)
        or member.parse_leave(text)
        or member.parse_volunteer(text, today)
        or member.parse_study(text)
    )
    return found or UNKNOWN


def parse_message(text: str, now: datetime) -> Parsed:
    """Parse one chat message; may raise only on a bug (see `parse`)."""
    raw = text.strip()
    too_long = len(raw) > MAX_LENGTH
    result = classify(normalize(raw[:_SCAN_LIMIT]), now.date())
    if too_long and result.intent in _RECORDING_INTENTS:
        return replace(result, error=TOO_LONG_ERROR)
    return result
