"""Meeting kinds: the names people write mapped to the canonical `MEETING_KINDS`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from handlers.parsing.model import MEETING_KINDS

KIND_ALIASES: dict[str, str] = {
    "支委会": "支部委员会",
    "支部委员会": "支部委员会",
    "支部委员会议": "支部委员会",
    "支部委员会会议": "支部委员会",
    "支部党员大会会议": "支部党员大会",
    "支委会议": "支部委员会",
    "支委扩大会": "支部委员会",
    "支委扩大会议": "支部委员会",
    "党员大会": "支部党员大会",
    "支部大会": "支部党员大会",
    "支部党员大会": "支部党员大会",
    "全体党员大会": "支部党员大会",
    "全体党员会议": "支部党员大会",
    "全体党员会": "支部党员大会",
    "党员会": "支部党员大会",
    "党员会议": "支部党员大会",
    "小组会": "党小组会",
    "党小组会": "党小组会",
    "党小组会议": "党小组会",
    "小组会议": "党小组会",
    "党课": "党课",
    "讲党课": "党课",
    "书记讲党课": "党课",
    "专题党课": "党课",
    "微党课": "党课",
    "主题党日": "主题党日",
    "党日活动": "主题党日",
    "主题党日活动": "主题党日",
    "组织生活会": "组织生活会",
    "专题组织生活会": "组织生活会",
    "民主评议": "民主评议党员",
    "民主评议党员": "民主评议党员",
    "民主评议党员会议": "民主评议党员",
}
assert set(KIND_ALIASES.values()) <= set(MEETING_KINDS)

# Longest alias first so "支部党员大会" wins over "党员大会" at the same position.
_ALIAS = "|".join(sorted((re.escape(a) for a in KIND_ALIASES), key=len, reverse=True))
_ALIAS_RE = re.compile(_ALIAS)
# An explicit joiner may be followed directly by the next kind.
_JOINED_RE = re.compile(rf" ?(?:[+&,、/]|和|与|及|暨|以及) ?(?P<a>{_ALIAS})")
# Joined only by a space, the next kind must stand alone ("支委会 党课安排" keeps 党课安排 as topic).
_SPACED_RE = re.compile(rf" (?P<a>{_ALIAS})(?=$|[ ,:;、。!?+&/()])")


@dataclass(frozen=True)
class KindsHit:
    """The canonical kinds found and the span of text they occupy."""

    kinds: tuple[str, ...]
    start: int
    end: int


def canonical_kind(alias: str) -> str | None:
    """Return the canonical meeting kind for one alias, or None."""
    return KIND_ALIASES.get(alias.strip())


def find_kinds(text: str) -> KindsHit | None:
    """Find the first run of meeting kinds ("支委会+党员大会", "党课、主题党日") in `text`."""
    m = _ALIAS_RE.search(text)
    if m is None:
        return None
    kinds = [KIND_ALIASES[m.group()]]
    pos = m.end()
    while True:
        joined = _JOINED_RE.match(text, pos)
        nxt = joined or _SPACED_RE.match(text, pos)
        if nxt is None:
            break
        kind = KIND_ALIASES[nxt.group("a")]
        if kind in kinds and joined is None:
            break  # "党课 书记讲党课": a repeat set off by a space is the topic
        if kind not in kinds:
            kinds.append(kind)
        pos = nxt.end()
    return KindsHit(tuple(kinds), m.start(), pos)
