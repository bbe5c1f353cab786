"""添加成员 / 设为书记 / 取消管理员 / 绑定: small roster changes and binding a chat to a branch."""

from __future__ import annotations

import re

from sqlalchemy.orm import Session

from bot.message import Reply
from handlers.context import Context
from storage import audit, roster
from storage.models import ROLE_MEMBER, ROLE_SECRETARY

NAME = re.compile(r"^[\u4e00-\u9fff·]{2,8}$")


def handle_add_member(ctx: Context) -> Reply:
    """Add a member to the branch roster (with an optional platform account)."""
    parsed = ctx.parsed
    name = (parsed.name or "").strip()
    if not NAME.match(name):
        return Reply("请写明姓名，例如：添加成员 张三 第一党小组 预备党员")
    if roster.find_member_by_name(ctx.session, ctx.branch.id, name) is not None:
        return Reply(f"{name} 已在本支部名册中。")
    category = "预备党员" if parsed.probationary else "正式党员"
    row = roster.RosterRow(name=name, party_group=parsed.group, probationary=parsed.probationary)
    roster.upsert_member(ctx.session, ctx.actor, ctx.branch, row)
    member = roster.find_member_by_name(ctx.session, ctx.branch.id, name)
    account = parsed.account or (
        ctx.message.mentions[0] if len(ctx.message.mentions) == 1 else None
    )
    linked = ""
    if member is not None and account:
        if roster.set_identity(ctx.session, ctx.actor, member, ctx.message.platform, account):
            linked = f"，账号 {account}"
        else:
            linked = f"（账号 {account} 已属于其他成员，未关联）"
    group = f"，{parsed.group}" if parsed.group else ""
    return Reply(f"✅ 已添加成员：{name}（{category}{group}{linked}）。")


def handle_set_role(ctx: Context) -> Reply:
    """Grant or remove the secretary role."""
    name = (ctx.parsed.name or "").strip()
    member = roster.find_member_by_name(ctx.session, ctx.branch.id, name) if name else None
    if member is None:
        return Reply(f"名册中没有“{name or '（未写姓名）'}”。例如：设为书记 张伟")
    role = ROLE_SECRETARY if ctx.parsed.action == "secretary" else ROLE_MEMBER
    if role == ROLE_MEMBER:
        others = [
            m
            for m in roster.active_members(ctx.session, ctx.branch.id)
            if m.is_secretary and m.id != member.id
        ]
        if not others:
            return Reply(f"{member.name} 是本支部唯一的管理员，不能取消。请先设置其他管理员。")
    if not roster.set_role(ctx.session, ctx.actor, member, role):
        state = "已是管理员" if role == ROLE_SECRETARY else "本来就不是管理员"
        return Reply(f"{member.name} {state}，无需更改。")
    if role == ROLE_SECRETARY:
        return Reply(f"✅ 已将 {member.name} 设为管理员，可发起签到、发布学习、查看统计。")
    return Reply(f"✅ 已取消 {member.name} 的管理员权限。")


def unknown_branch(session: Session, name: str) -> Reply:
    """Say that no branch has this name, listing the ones that exist."""
    known = "、".join(b.name for b in roster.list_branches(session)[:10])
    return Reply(f"没有找到支部“{name}”。已有支部：{known or '无'}。")


def handle_bind(ctx: Context) -> Reply:
    """Bind this chat to the named branch (the sender must be its secretary)."""
    name = (ctx.parsed.name or "").strip()
    target = roster.get_branch(ctx.session, name) if name else None
    if target is None:
        return unknown_branch(ctx.session, name)
    sender = roster.find_member_by_identity(
        ctx.session, target.id, ctx.message.platform, ctx.message.sender_id
    )
    if sender is None or not sender.is_secretary:
        return Reply(f"只有{target.name}的管理员才能把本群绑定到该支部。")
    if ctx.chat.branch_id == target.id:
        return Reply(f"本群已绑定 {target.name}。")
    roster.bind_chat(ctx.session, ctx.actor, ctx.chat, target)
    return Reply(f"✅ 本群已绑定 {target.name}，签到、学习、志愿服务将记入该支部台账。")


def handle_bind_push(ctx: Context) -> Reply:
    """Remember the group robot address that carries this chat's unprompted pushes."""
    target = (ctx.parsed.target or "").strip()
    roster.merge_chat_routes(ctx.chat, {"push_target": target})
    audit.record(
        ctx.session,
        ctx.actor,
        branch_id=ctx.branch.id,
        action="bind_push",
        entity="chat",
        entity_id=ctx.chat.id,
        target=mask(target),
    )
    return Reply(f"✅ 已设置本群的消息推送地址（{mask(target)}），提醒和通知将通过它发送。")


def mask(secret: str) -> str:
    """Show only the ends of a webhook address or key."""
    return secret if len(secret) <= 12 else f"{secret[:6]}…{secret[-4:]}"
