"""The platforms the bot can live on; each is switched on by its own credentials."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.routing import BaseRoute

from bot.config import Settings
from bot.platforms.base import Inbox, Sender


@dataclass
class Platforms:
    """The HTTP routes, senders and a description of what is on."""

    routes: list[BaseRoute] = field(default_factory=list)
    senders: dict[str, Sender] = field(default_factory=dict)
    modes: list[str] = field(default_factory=list)
    # Long-running connections (WeCom long connection, DingTalk Stream): each runs until the
    # event is set, reconnecting by itself; the app starts them in its lifespan.
    background: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )


def build_platforms(
    settings: Settings, inbox: Inbox, clock: Callable[[], datetime], redis_client: object
) -> Platforms:
    """Wire every platform whose credentials are set; the others stay off (404)."""
    from bot.platforms.wecom_sender import WeComSender

    found = Platforms()
    # Pushes through a group robot (消息推送) need only a per-chat webhook key.
    sender = WeComSender(settings.wecom_api_base)
    found.senders["wecom"] = sender
    found.modes.append("wecom: group-robot webhook pushes")
    if settings.wecom_bot_id and settings.wecom_bot_secret:
        from bot.platforms.wecom_ws import WeComLongConnection

        connection = WeComLongConnection(
            settings.wecom_bot_id,
            settings.wecom_bot_secret.get_secret_value(),
            inbox,
            clock,
            settings.wecom_ws_url,
        )
        found.background.append(connection.run)
        # Chats without a webhook route get the AI bot's proactive pushes instead.
        sender.push = connection.push
        sender.push_media = connection.push_media
        sender.push_rate_key = f"wecom:aibot:{settings.wecom_bot_id}"
        found.modes.append(
            f"wecom: AI-bot long connection to {settings.wecom_ws_url} "
            f"(bot {settings.wecom_bot_id}); pushes where no webhook is bound"
        )
    if settings.wecom_token and settings.wecom_aes_key:
        from bot.platforms.wecom_http import wecom_routes

        found.routes += wecom_routes(
            settings.wecom_token.get_secret_value(),
            settings.wecom_aes_key.get_secret_value(),
            inbox,
            clock,
        )
        found.modes.append("wecom: AI-bot/robot HTTP callback at /wecom/callback")
    if settings.dingtalk_app_key and settings.dingtalk_app_secret:
        from bot.platforms.dingtalk import build_dingtalk

        dingtalk = build_dingtalk(settings, inbox, clock, redis_client)
        found.routes += dingtalk.routes
        found.senders.update(dingtalk.senders)
        found.modes += dingtalk.modes
        found.background += dingtalk.background
    return found
