"""Files and images over the WeCom AI bot's long connection: chunked upload, then a media message.

1. `aibot_upload_media_init` {type, filename, total_size, total_chunks, md5} → ack body.upload_id
2. `aibot_upload_media_chunk` {upload_id, chunk_index, base64_data} per ≤ 512 KB chunk (≤ 100)
3. `aibot_upload_media_finish` {upload_id} → ack body.media_id
4. `aibot_send_msg` {chatid, msgtype: file|image, file|image: {media_id}}
Chunks go one at a time (WeCom answers "system error" to many concurrent chunks).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from bot.platforms.base import Outcome, SendResult
from bot.platforms.wecom_ws_frames import SEND_MSG, body_of, errcode, errmsg, push_result

if TYPE_CHECKING:
    from bot.attachments import OutboundFile

UPLOAD_INIT = "aibot_upload_media_init"
UPLOAD_CHUNK = "aibot_upload_media_chunk"
UPLOAD_FINISH = "aibot_upload_media_finish"
CHUNK_BYTES = 512 * 1024
MAX_CHUNKS = 100
MAX_BYTES = {"file": 20 * 1024 * 1024, "image": 10 * 1024 * 1024}

# Sends one frame (cmd, body) and returns its ack; raises on timeout or a closed connection.
Request = Callable[[str, dict[str, Any]], Awaitable[dict[str, Any]]]


def _refused(step: str, ack: dict[str, Any]) -> SendResult:
    result = push_result(ack)
    if result.outcome is Outcome.SENT:  # errcode 0 but the body lacks what we need
        return SendResult(Outcome.RETRY, f"企业微信长连接{step}未返回所需内容")
    return SendResult(result.outcome, f"{step}：{result.error}", result.retry_after)


async def upload(request: Request, file: OutboundFile) -> str | SendResult:
    """Upload the file in chunks; its media_id, or the result saying why not."""
    kind = "image" if file.kind == "image" else "file"
    chunks = max(1, math.ceil(len(file.data) / CHUNK_BYTES))
    if len(file.data) > MAX_BYTES[kind] or chunks > MAX_CHUNKS:
        return SendResult(Outcome.PERMANENT, "文件超出企业微信长连接上传上限")
    init = {
        "type": kind,
        "filename": file.filename,
        "total_size": len(file.data),
        "total_chunks": chunks,
        "md5": file.md5,
    }
    ack = await request(UPLOAD_INIT, init)
    upload_id = body_of(ack).get("upload_id")
    if errcode(ack) != 0 or not isinstance(upload_id, str) or not upload_id:
        return _refused("上传初始化", ack)
    for index in range(chunks):
        piece = file.data[index * CHUNK_BYTES : (index + 1) * CHUNK_BYTES]
        body = {
            "upload_id": upload_id,
            "chunk_index": index,
            "base64_data": base64.b64encode(piece).decode("ascii"),
        }
        ack = await request(UPLOAD_CHUNK, body)
        if errcode(ack) != 0:
            return _refused(f"上传分片 {index + 1}/{chunks}", ack)
    ack = await request(UPLOAD_FINISH, {"upload_id": upload_id})
    media_id = body_of(ack).get("media_id")
    if errcode(ack) != 0 or not isinstance(media_id, str) or not media_id:
        return _refused("上传完成", ack)
    return media_id


async def send_media(request: Request, chat_id: str, file: OutboundFile) -> SendResult:
    """Upload the file and send it to a group chatid (or a userid for single chats)."""
    uploaded = await upload(request, file)
    if isinstance(uploaded, SendResult):
        return uploaded
    kind = "image" if file.kind == "image" else "file"
    body = {
        "chatid": chat_id.removeprefix("single:"),
        "msgtype": kind,
        kind: {"media_id": uploaded},
    }
    ack = await request(SEND_MSG, body)
    result = push_result(ack)
    if result.outcome is not Outcome.SENT:
        return SendResult(result.outcome, f"发送{kind}：{errmsg(ack) or result.error}")
    return result
