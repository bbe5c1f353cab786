"""Shared WeCom fixtures: the test Token/EncodingAESKey (official sample), a codec, a callback maker."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.platforms.wecom_callback import WeComCodec
from tests.fakes.wecom import WeComCallbacks

TOKEN = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo"
KEY = "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt"
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
def codec() -> WeComCodec:
    """A codec with the test credentials and a clock stopped at NOW."""
    return WeComCodec(TOKEN, KEY, lambda: NOW)


@pytest.fixture
def wecom() -> WeComCallbacks:
    """Builds callbacks as WeCom would, with the test credentials."""
    return WeComCallbacks(TOKEN, KEY)


def decode(codec: WeComCodec, wecom: WeComCallbacks, payload: Mapping[str, Any]) -> Any:
    """Encrypt `payload` as an AI-bot callback at NOW and decode it (an `Inbound`)."""
    query, body = wecom.json_callback(dict(payload), NOW)
    return codec.decode(query, body)
