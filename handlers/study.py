"""学习: publishing study tasks, members confirming them, and who has not yet."""

from __future__ import annotations

import re

from bot.message import Reply
from handlers.context import Context
from handlers.format import day, mention_names
from storage import study
from storage.models import StudyTask
from storage.roster import active_members

_BRACKETS = re.compile(r"[《》〈〉<>\s\"“”]")


def _key(title: str) -> str:
    return _BRACKETS.sub("", title)


def find_task(tasks: list[StudyTask], title: str) -> StudyTask | None:
    """Return the newest task whose title matches (either contains the other)."""
    wanted = _key(title)
    if not wanted:
        return None
    for task in tasks:
        have = _key(task.title)
        if wanted in have or have in wanted:
            return task
    return None


def handle_publish(ctx: Context) -> Reply:
    """Publish a study task to the branch."""
    title = (ctx.parsed.title or "").strip()
    deadline = ctx.parsed.deadline
    if deadline is not None and deadline < ctx.today:
        return Reply(
            f"截止日期 {day(deadline)} 已经过去，请重新指定，例如：发布学习《党章》截止12月10日"
        )
    task = study.publish(
        ctx.session,
        ctx.actor,
        branch_id=ctx.branch.id,
        chat_id=ctx.chat.id,
        title=title,
        deadline=deadline,
        link=ctx.parsed.link,
    )
    lines = [f"📚 学习任务已发布：《{task.title}》"]
    lines.append(f"截止：{day(deadline)}" if deadline else "截止：未设定")
    if task.link:
        lines.append(f"链接：{task.link}")
    lines.append("学习完成后请回复「已学习」，可附心得。")
    return Reply("\n".join(lines))


def handle_confirm(ctx: Context) -> Reply:
    """Confirm the named task, or the newest one the sender has not confirmed yet."""
    tasks = study.recent_tasks(ctx.session, ctx.branch.id)
    if not tasks:
        return Reply("目前没有学习任务。书记发布学习任务后再回复「已学习」即可。")
    title, note = ctx.parsed.title, ctx.parsed.note
    task: StudyTask | None = None
    if title:
        task = find_task(tasks, title)
        if task is None and "《" in ctx.message.text:
            listing = "、".join(f"《{t.title}》" for t in tasks[:5])
            return Reply(
                f"没有找到学习任务《{title}》。近期任务：{listing}。"
                f"请回复「已学习《{tasks[0].title}》」。"
            )
        if task is None:  # an unbracketed remainder that names no task is a 心得
            note = " ".join(p for p in (title, note) if p)
    if task is None:
        pending = study.unconfirmed(ctx.session, tasks, ctx.member.id)
        if not pending:
            return Reply(f"{ctx.member.name}，近期的学习任务您都已确认，谢谢！")
        task = pending[0]
    elif study.is_confirmed(ctx.session, task.id, ctx.member.id):
        return Reply(f"{ctx.member.name}，您已确认过《{task.title}》，无需重复打卡。")
    late = task.deadline is not None and ctx.today > task.deadline
    study.confirm(ctx.session, ctx.actor, task, ctx.member.id, late=late, note=note or None)
    text = f"✅ 已记录 {ctx.member.name} 完成学习《{task.title}》"
    if late and task.deadline is not None:
        text += f"（已过截止日期 {day(task.deadline)}，记为逾期完成）"
    return Reply(text + "。")


def handle_missing(ctx: Context) -> Reply:
    """List who has not confirmed the newest task, with @-mentions."""
    tasks = study.recent_tasks(ctx.session, ctx.branch.id, limit=1)
    if not tasks:
        return Reply("目前没有学习任务。")
    task = tasks[0]
    done = study.confirmed_member_ids(ctx.session, task.id)
    roster = active_members(ctx.session, ctx.branch.id)
    missing = [m for m in roster if m.id not in done]
    head = (
        f"《{task.title}》"
        + (f"（截止 {day(task.deadline)}）" if task.deadline else "")
        + f"：已学习 {len(roster) - len(missing)}/{len(roster)} 人。"
    )
    if not missing:
        return Reply(head + "全部完成 👍")
    return Reply(
        f"{head}\n未学习（{len(missing)}人）：{mention_names(m.name for m in missing)}\n"
        "请尽快学习并回复「已学习」。",
        mention_member_ids=tuple(m.id for m in missing),
    )
