"""Chinese chat-message parser: `parse(text, now)` turns a group message into a `Parsed` intent."""

from __future__ import annotations

import logging
from datetime import datetime

from handlers.parsing.intents import parse_message
from handlers.parsing.model import MEETING_KINDS, Intent, Parsed

__all__ = ["MEETING_KINDS", "Intent", "Parsed", "parse"]

_log = logging.getLogger(__name__)


def parse(text: str, now: datetime) -> Parsed:
    """Parse one chat message sent at `now` (aware, branch time zone); never raises."""
    try:
        return parse_message(text if isinstance(text, str) else str(text), now)
    except Exception:  # a parser bug must not take the bot down; the message is just not understood
        _log.exception("parse failed")
        return Parsed(Intent.UNKNOWN)
