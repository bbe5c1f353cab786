"""WeCom AI-bot template cards: a `Card` as a `button_interaction` card, and the bodies carrying it.

Pure functions. Limits are those of the official TemplateCard structs (docs 101031/101032):
main_title.title ≤26 characters, main_title.desc ≤30, sub_title_text ≤112,
horizontal_content_list ≤6 items (keyname ≤5, value ≤26), button_list 1–6 buttons (text ≤10,
key ≤1024 bytes and unique), task_id `[0-9A-Za-z_-@]` ≤128 bytes. A tap comes back as a
`template_card_event` whose `event_key` is the button's key: here the button's `command`, the
text the tap stands for, so the core handles it exactly like a typed message.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from bot.message import Button, Card, Outgoing
from bot.platforms.wecom_text import utf8_len

log = logging.getLogger(__name__)

CARD_TYPE = "button_interaction"
TITLE_MAX = 26
DESC_MAX = 30
SUB_TITLE_MAX = 112
HORIZONTAL_MAX = 6
KEYNAME_MAX = 5
VALUE_MAX = 26
BUTTONS_MAX = 6
BUTTON_TEXT_MAX = 10
KEY_MAX_BYTES = 1024
TASK_ID = re.compile(r"[0-9A-Za-z_\-@]{1,128}")
ELLIPSIS = "…"
NAME_SEPARATOR = "、"
_LABELLED = re.compile(r"^\s*([^：:]{1,5})[：:]\s*(.*)$", re.DOTALL)


def valid_task_id(value: str) -> bool:
    """True when `value` may be a card's task_id (allowed characters, at most 128 bytes)."""
    return TASK_ID.fullmatch(value) is not None


def _cut(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its head and "…"."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def shorten_names(names: str, limit: int) -> str:
    """A "、"-separated name list within `limit` characters: "张三、李四等12人" when cut."""
    if len(names) <= limit:
        return names
    items = [n for n in names.split(NAME_SEPARATOR) if n]
    suffix = f"等{len(items)}人"
    kept: list[str] = []
    for name in items:
        candidate = NAME_SEPARATOR.join([*kept, name]) + suffix
        if len(candidate) > limit:
            break
        kept.append(name)
    if not kept:  # not even one name fits: cut the first
        return _cut(items[0], limit - len(suffix)) + suffix if items else _cut(names, limit)
    return NAME_SEPARATOR.join(kept) + suffix


def shorten(text: str, limit: int) -> str:
    """Fit `text` in `limit` characters; name lists keep whole names and say how many."""
    if NAME_SEPARATOR in text:
        return shorten_names(text, limit)
    return _cut(text, limit)


def _buttons(buttons: tuple[Button, ...]) -> list[dict[str, Any]]:
    """The button_list: keys are the commands, unique, ≤1024 bytes; at most six buttons."""
    rendered: list[dict[str, Any]] = []
    seen: set[str] = set()
    for button in buttons:
        key = button.command
        if not key or key in seen or utf8_len(key) > KEY_MAX_BYTES:
            # A cut or repeated key would stand for a different (or no) command: drop it.
            log.warning("wecom card: button %r left out (key empty, repeated or too long)", key)
            continue
        seen.add(key)
        style = 1 if not rendered else 2
        text = _cut(button.label, BUTTON_TEXT_MAX)
        rendered.append({"text": text, "style": style, "key": key})
        if len(rendered) == BUTTONS_MAX:
            break
    return rendered


def template_card(card: Card) -> dict[str, Any] | None:
    """The card as a `button_interaction` template_card, or None when WeCom could not show it
    (a key that is not a valid task_id, or no usable button): the reply text then stands alone.
    """
    if not valid_task_id(card.key):
        log.warning("wecom card: key %r is not a valid task_id; sending text only", card.key)
        return None
    buttons = _buttons(card.buttons)
    if not buttons:
        return None
    main_title: dict[str, str] = {"title": _cut(card.title, TITLE_MAX)}
    lines = [line.strip() for line in card.lines if line.strip()]
    if lines:
        main_title["desc"] = shorten(lines[0], DESC_MAX)
    horizontal: list[dict[str, str]] = []
    free: list[str] = []
    for line in lines[1:]:
        labelled = _LABELLED.match(line)
        if labelled and len(horizontal) < HORIZONTAL_MAX:
            key, value = labelled.group(1).strip(), labelled.group(2).strip()
            if key:
                horizontal.append({"keyname": key, "value": shorten(value, VALUE_MAX)})
                continue
        free.append(line)
    body: dict[str, Any] = {"card_type": CARD_TYPE, "main_title": main_title}
    if free:
        body["sub_title_text"] = _sub_title(free)
    if horizontal:
        body["horizontal_content_list"] = horizontal
    body["button_list"] = buttons
    body["task_id"] = card.key
    return body


def _sub_title(lines: list[str]) -> str:
    """Free lines joined by newlines, within the sub_title_text limit (whole lines first)."""
    text = ""
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        if len(candidate) > SUB_TITLE_MAX:
            room = SUB_TITLE_MAX - len(text) - (1 if text else 0)
            if room >= 8:  # enough for a meaningful cut line
                text = f"{text}\n{shorten(line, room)}" if text else shorten(line, room)
            elif not text:
                text = shorten(line, SUB_TITLE_MAX)
            break
        text = candidate
    return text


def stream_with_card_body(stream_id: str, content: str, card: dict[str, Any]) -> dict[str, Any]:
    """A `stream_with_template_card` reply: the finished text plus the card, in one answer."""
    return {
        "msgtype": "stream_with_template_card",
        "stream": {"id": stream_id, "finish": True, "content": content},
        "template_card": card,
    }


def update_card_body(card: dict[str, Any]) -> dict[str, Any]:
    """The answer to a tap: replace the card for everyone (no `userids`)."""
    return {"response_type": "update_template_card", "template_card": card}


def first_card(
    replies: Sequence[Outgoing], key: str | None = None
) -> tuple[Outgoing, dict[str, Any]] | None:
    """The first reply whose card renders (with this `key`, when given), and its template_card."""
    for reply in replies:
        if reply.card is None or (key is not None and reply.card.key != key):
            continue
        rendered = template_card(reply.card)
        if rendered is not None:
            return reply, rendered
    return None
