"""Small text helpers shared by the intent parsers: edge clean-up, caps, names, questions."""

from __future__ import annotations

import re

FIELD_CAP = 200

_EDGE = " ,.:;!~、。:;，：；…-—_|/\\·'\"“”‘’()[]（）【】<>"
_NAME_RE = re.compile(
    r"[\u4e00-\u9fff]{2,4}|[\u4e00-\u9fff]{1,8}(?:[·・•.][\u4e00-\u9fff]{1,8}){1,3}"
)
# Ends like a question, or asks how/where/when: such a text is never an action.
_QUESTION_END = re.compile(r"(?:\?|吗|呢|么|不|没有|嘛|否)$")
_QUESTION_WORDS = re.compile(
    r"怎么|怎样|怎么样|如何|哪里|在哪|哪儿|什么时候|啥时候|几点|是否|能不能|可不可以|能否|为什么|为啥"
    r"|可以.{0,20}吗|要不要|需不需要|是不是|有没有|谁"
)
_HOWTO = re.compile(r"怎么|怎样|如何|咋|使用|用法|操作|格式")
_QUOTED = re.compile(r"《[^《》]{0,200}》|https?://\S{1,500}")


def strip_edges(text: str) -> str:
    """Strip spaces and punctuation from both ends of a field value."""
    return text.strip(_EDGE)


def squash(text: str) -> str:
    """Collapse runs of spaces (left behind by removed spans) into one."""
    return " ".join(text.split())


def cap(text: str | None) -> str | None:
    """Cap a field value at FIELD_CAP characters."""
    if text is None:
        return None
    return text[:FIELD_CAP]


def cut(text: str, start: int, end: int) -> str:
    """Return `text` with [start, end) replaced by a space."""
    return text[:start] + " " + text[end:]


def normalize_name(text: str) -> str | None:
    """Return a valid person name (2–4 Han characters, or a minority name with ·), else None."""
    name = strip_edges(text.replace(" ", ""))
    if name.endswith("同志") and len(name) > 3:
        name = name[:-2]
    if not _NAME_RE.fullmatch(name):
        return None
    return re.sub(r"[・•.]", "·", name)


def ends_like_question(text: str) -> bool:
    """True when the text ends with ?, 吗, 呢 and the like."""
    return bool(_QUESTION_END.search(_QUOTED.sub("", text).rstrip()))


def is_question(text: str) -> bool:
    """True when the text is phrased as a question (ignoring titles in 《》 and links)."""
    bare = _QUOTED.sub("", text)
    return ends_like_question(bare) or bool(_QUESTION_WORDS.search(bare))


def is_howto(text: str) -> bool:
    """True when a question asks how to use something (answered by help)."""
    return bool(_HOWTO.search(_QUOTED.sub("", text)))
