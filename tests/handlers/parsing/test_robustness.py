"""parse must never raise, must stay fast, and must honour length and field caps."""

from __future__ import annotations

import random
import time
from datetime import datetime

import pytest

from handlers.parsing import Intent, Parsed, parse
from handlers.parsing.intents import TOO_LONG_ERROR, classify, parse_message
from handlers.parsing.normalize import normalize
from handlers.parsing.text import FIELD_CAP
from tests.handlers.parsing.conftest import NOW

_ALPHABET = (
    list("签到请假学习志愿服务小时分钟开会支委会党员大会统计导出补录绑定添加成员设为管理员《》")
    + list("一二两三十百千半几0123456789.-+/:，。、？！?!~ @#[]()（）<>'\";")
    + ["😊", "👍", "🇨🇳", "\u200b", "\u3000", "\u2005", "\x00", "\x07", "\x1b", "\ud800", "\udfff"]
    + [
        "\ufeff",
        "\u0301",
        "﷽",
        "ｆｕｌｌ",
        "SELECT",
        "<script>",
        "簽",
        "學",
        "\n",
        "\t",
        "月",
        "日",
        "号",
    ]
    + ["周", "上", "下", "本", "截止", "前", "天", "Q", "季度", "年", "h", "H", "·"]
)


def _random_texts(count: int) -> list[str]:
    rng = random.Random(20261120)
    texts = []
    for _ in range(count):
        size = rng.choice((0, 1, 2, 5, 10, 30, 80, 300))
        texts.append("".join(rng.choice(_ALPHABET) for _ in range(size)))
    return texts


def test_random_strings_never_raise() -> None:
    for text in _random_texts(2000):
        # parse_message has no safety net, so a bug would surface here.
        result = parse_message(text, NOW)
        assert isinstance(result, Parsed)
        assert isinstance(parse(text, NOW), Parsed)
        result.as_contract()


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00",
        "\ud800",
        "😊" * 500,
        "<script>alert('x')</script>",
        "'; DROP TABLE members; --",
        "@" * 5000,
        "[强]" * 3000,
        "一" * 10000,
        "1" * 10000,
        "1." * 5000,
        "志愿服务" + "1" * 9000,
        "《" * 5000 + "》" * 5000,
        "到" * 10000,
        "?" * 10000,
        " @a" * 3000 + " x",
    ],
)
def test_nasty_inputs(text: str) -> None:
    assert isinstance(parse_message(text, NOW), Parsed)


@pytest.mark.parametrize(
    "text",
    [
        "请假 " + "家里有事" * 2500,
        "志愿服务 2小时 " + "社区清扫" * 2500,
        "一" * 10000,
        "1" * 10000,
        "[强]" * 2500,
        " @a" * 3300,
        "已学习《" + "党" * 9990 + "》",
        "补录 " + "张" * 9990,
        "".join(_random_texts(400))[:10000],
    ],
)
def test_long_messages_are_fast(text: str) -> None:
    timings = []
    for _ in range(5):  # best of five, so a busy machine does not make the test flaky
        start = time.perf_counter()
        parse_message(text, NOW)
        timings.append(time.perf_counter() - start)
    assert min(timings) < 0.01


def test_too_long_action_keeps_intent_with_error() -> None:
    result = parse("请假 " + "家里有事" * 300, NOW)
    assert result.intent is Intent.LEAVE
    assert result.error == TOO_LONG_ERROR


def test_too_long_chatter_has_no_error() -> None:
    result = parse("哈" * 1500, NOW)
    assert result.intent is Intent.UNKNOWN
    assert result.error is None


def test_fields_are_capped() -> None:
    result = parse("请假 " + "家" * 500, NOW)
    assert result.reason is not None
    assert len(result.reason) == FIELD_CAP
    volunteer = parse("志愿服务 2小时 " + "扫" * 500, NOW)
    assert volunteer.activity is not None
    assert len(volunteer.activity) == FIELD_CAP


def test_parse_swallows_internal_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(text: str, now: datetime) -> Parsed:
        raise RuntimeError("bug")

    monkeypatch.setattr("handlers.parsing.parse_message", boom)
    assert parse("签到", NOW) == Parsed(Intent.UNKNOWN)


def test_classify_uses_only_the_given_date() -> None:
    text = normalize("昨天志愿服务2小时 社区")
    assert classify(text, NOW.date()).date == NOW.date().replace(day=19)
