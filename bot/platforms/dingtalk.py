"""DingTalk wiring: the HTTP callback route and the sender, built from the settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import redis

from bot.config import Settings
from bot.platforms import Platforms
from bot.platforms.base import Inbox
from bot.platforms.dingtalk_http import CALLBACK_PATH, dingtalk_routes
from bot.platforms.dingtalk_sender import DingTalkSender
from bot.platforms.dingtalk_stream import DingTalkStream
from bot.platforms.dingtalk_token import TokenCache


def build_dingtalk(
    settings: Settings, inbox: Inbox, clock: Callable[[], datetime], redis_client: object
) -> Platforms:
    """Return DingTalk's callback route, sender and (when switched on) Stream connection."""
    if not settings.dingtalk_app_key or not settings.dingtalk_app_secret:
        raise ValueError("DingTalk needs ZHIBU_DINGTALK_APP_KEY and ZHIBU_DINGTALK_APP_SECRET")
    if not isinstance(redis_client, redis.Redis):
        raise TypeError("DingTalk's token cache needs a redis.Redis client")
    app_key = settings.dingtalk_app_key
    app_secret = settings.dingtalk_app_secret.get_secret_value()
    tokens = TokenCache(
        redis_client=redis_client,
        app_key=app_key,
        app_secret=app_secret,
        api_base=settings.dingtalk_api_base,
        clock=clock,
    )
    sender = DingTalkSender(
        app_key=app_key,
        app_secret=app_secret,
        robot_code=settings.dingtalk_robot_code or app_key,
        api_base=settings.dingtalk_api_base,
        oapi_base=settings.dingtalk_oapi_base,
        tokens=tokens,
        clock=clock,
    )
    found = Platforms(
        routes=list(dingtalk_routes(app_secret, inbox, clock)),
        senders={sender.name: sender},
        modes=[
            f"dingtalk: robot HTTP callback at {CALLBACK_PATH}",
            "dingtalk: replies by session webhook, else robot OpenAPI groupMessages/send",
        ],
    )
    if settings.dingtalk_stream:
        stream = DingTalkStream(
            app_key, app_secret, inbox, api_base=settings.dingtalk_api_base, clock=clock
        )
        found.background.append(stream.run)
        found.modes.append(
            f"dingtalk: Stream mode, robot messages over {settings.dingtalk_api_base}"
        )
    return found
