"""Unit tests for text normalisation and meeting kinds."""

from __future__ import annotations

import pytest

from handlers.parsing.kinds import KIND_ALIASES, canonical_kind, find_kinds
from handlers.parsing.model import MEETING_KINDS
from handlers.parsing.normalize import _T2S_PAIRS, clean, normalize, strip_mentions, to_simplified


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("签到！！", "签到"),
        ("到~", "到"),
        ("签到😊", "签到"),
        ("签到[强][强]", "签到"),
        ("@支部助手 到", "到"),
        ("@机器人\u2005签到", "签到"),
        ("@支部助手 @小助手 签到", "签到"),
        ("＠支部助手\u3000签到", "签到"),
        ("签到 @支部助手", "签到"),
        ("设为管理员 @张伟", "设为管理员 张伟"),
        ("补录 @张伟 签到", "补录 张伟 签到"),
        ("志愿服务　２小时　社区", "志愿服务 2小时 社区"),
        ("统计：本月", "统计:本月"),
        ("开会 支委会＋党员大会", "开会 支委会+党员大会"),
        ("簽到", "签到"),
        ("參會簽到", "参会签到"),
        ("已學習", "已学习"),
        ("請假  \t 出差", "请假 出差"),
        ("\u200b签到\ufeff", "签到"),
        ("怎么用？", "怎么用?"),
        ("", ""),
        ("   ", ""),
        ("😊😊", ""),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_clean_drops_surrogates_and_controls() -> None:
    assert clean("签\ud800到\x00啦") == "签到 啦"


def test_t2s_table_is_pairs() -> None:
    assert len(_T2S_PAIRS) % 2 == 0
    assert to_simplified("黨課組織生活會") == "党课组织生活会"


def test_mention_only() -> None:
    assert strip_mentions("@支部助手") == ""


def test_aliases_are_canonical() -> None:
    assert set(KIND_ALIASES.values()) == set(MEETING_KINDS)
    assert canonical_kind("支委会") == "支部委员会"
    assert canonical_kind("座谈会") is None


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("支委会", ("支部委员会",)),
        ("支部委员会", ("支部委员会",)),
        ("支委会议", ("支部委员会",)),
        ("党员大会", ("支部党员大会",)),
        ("支部大会", ("支部党员大会",)),
        ("支部党员大会", ("支部党员大会",)),
        ("全体党员大会", ("支部党员大会",)),
        ("党员会", ("支部党员大会",)),
        ("小组会", ("党小组会",)),
        ("党小组会", ("党小组会",)),
        ("党小组会议", ("党小组会",)),
        ("党课", ("党课",)),
        ("讲党课", ("党课",)),
        ("书记讲党课", ("党课",)),
        ("专题党课", ("党课",)),
        ("主题党日", ("主题党日",)),
        ("党日活动", ("主题党日",)),
        ("主题党日活动", ("主题党日",)),
        ("组织生活会", ("组织生活会",)),
        ("专题组织生活会", ("组织生活会",)),
        ("民主评议", ("民主评议党员",)),
        ("民主评议党员", ("民主评议党员",)),
        ("支委会+党员大会", ("支部委员会", "支部党员大会")),
        ("支委会、党课", ("支部委员会", "党课")),
        ("党员大会和党课", ("支部党员大会", "党课")),
        ("党员大会与党课", ("支部党员大会", "党课")),
        ("党员大会及党课", ("支部党员大会", "党课")),
        ("党员大会暨党课", ("支部党员大会", "党课")),
        ("党员大会,党课", ("支部党员大会", "党课")),
        ("党员大会/党课", ("支部党员大会", "党课")),
        ("党员大会 党课", ("支部党员大会", "党课")),
        ("党课+党员大会", ("党课", "支部党员大会")),
        ("党课+党课", ("党课",)),
        ("支委会 党课安排", ("支部委员会",)),
    ],
)
def test_find_kinds(text: str, kinds: tuple[str, ...]) -> None:
    hit = find_kinds(text)
    assert hit is not None
    assert hit.kinds == kinds


def test_kinds_span_and_absence() -> None:
    hit = find_kinds("开会 支委会+党员大会 讨论")
    assert hit is not None
    assert (hit.start, hit.end) == (3, 11)
    assert find_kinds("学习党章") is None
