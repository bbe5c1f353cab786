"""`zhibu plan generate`: lay a branch's year out month by month from its calendar rules."""

from __future__ import annotations

import json
from typing import Annotated

import typer

plan_app = typer.Typer(help="年度计划：按三会一课等规则生成全年日程。", no_args_is_help=True)
FORMATS = ("text", "json")


@plan_app.command("generate")
def plan_generate(
    branch: Annotated[str, typer.Option(help="支部名称")],
    year: Annotated[int, typer.Option(help="年份，如 2027", min=2000, max=2100)],
    fmt: Annotated[str, typer.Option("--format", help="输出格式：text / json")] = "text",
    theme_day: Annotated[
        str | None,
        typer.Option("--theme-day", help="主题党日的日期规则，如“每月第一个周五”“每月10日”"),
    ] = None,
    holiday_shift: Annotated[
        str,
        typer.Option("--holiday-shift", help="遇休息日：after 顺延 / before 提前 / nearest 就近"),
    ] = "after",
    node_days: Annotated[
        list[str] | None,
        typer.Option("--node-day", help="额外启用的节点日，如 5-10（5·10思廉日），可重复"),
    ] = None,
) -> None:
    """按规则生成一年的计划（精确到日，避开节假日和调休）。"""
    from dataclasses import replace

    from bot.cli import fail, settings
    from bot.runtime import build
    from scheduler.plan import generate
    from scheduler.render import plan_as_dict, plan_as_text
    from scheduler.rules import CalendarSettings, parse_day_rule
    from scheduler.workdays import parse_direction
    from storage import roster

    if fmt not in FORMATS:
        raise fail(f"输出格式应为：{' / '.join(FORMATS)}")
    try:
        calendar = replace(CalendarSettings(), holiday_shift=parse_direction(holiday_shift))
        if theme_day is not None:
            calendar = calendar.with_day_rule("主题党日", parse_day_rule(theme_day))
        if node_days:
            calendar = calendar.with_node_days(node_days)
    except ValueError as exc:
        raise fail(str(exc)) from exc

    runtime = build(settings())
    with runtime.db.session() as session:
        target = roster.get_branch(session, branch)
        if target is None:
            raise fail(f"没有支部“{branch}”，请先用 zhibu roster import 导入名册")
        name = target.name
        groups = [m.party_group for m in roster.active_members(session, target.id) if m.party_group]
    plan = generate(calendar, year, groups)
    if fmt == "json":
        typer.echo(json.dumps(plan_as_dict(plan, name, calendar), ensure_ascii=False, indent=2))
        return
    typer.echo(plan_as_text(plan, name, calendar))
    if not groups:
        typer.echo("\n提示：名册中没有党小组，未安排党小组会。")
