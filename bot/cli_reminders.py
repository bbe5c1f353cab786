"""`zhibu reminders` (preview what the scheduler would send, run one tick) and `zhibu calendar`
(show or change a branch's calendar rules and reminder settings)."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

import typer

from scheduler.rules import CalendarSettings

reminders_app = typer.Typer(help="提醒：预览全年推送、手动执行一次调度。", no_args_is_help=True)
calendar_app = typer.Typer(
    help="支部日历：会议频次、节点日、提醒时间和免打扰设置。", no_args_is_help=True
)
FORMATS = ("text", "json")


def _moment(text: str, zone: ZoneInfo, label: str) -> datetime:
    from bot.cli import fail

    try:
        if len(text.strip()) == 10:
            moment = datetime.combine(date.fromisoformat(text.strip()), time(0), zone)
        else:
            moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise fail(f"{label}“{text}”应写成 2027-01-01 或 2027-01-01T08:30+08:00") from exc
    if not 1900 <= moment.year <= 2199:
        raise fail(f"{label}“{text}”的年份应在1900到2199之间")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _years_later(moment: datetime, years: int) -> datetime:
    """The same local time `years` later (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@reminders_app.command("preview")
def reminders_preview(
    branch: Annotated[str, typer.Option(help="支部名称")],
    start: Annotated[str, typer.Option("--from", help="开始（含），如 2026-01-01")],
    end: Annotated[str, typer.Option("--to", help="结束（不含），如 2027-01-01")],
    fmt: Annotated[str, typer.Option("--format", help="输出格式：text / json")] = "text",
) -> None:
    """列出这段时间里调度器会推送的每一条消息（按当前台账计算，不会真的发送）。"""
    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from scheduler import branch_config
    from scheduler.reminders import preview

    if fmt not in FORMATS:
        raise fail(f"输出格式应为：{' / '.join(FORMATS)}")
    runtime = build(settings())
    with runtime.db.session() as session:
        target = require_branch(session, branch)
        try:
            branch_config.load(target.calendar)
        except ValueError as exc:
            raise fail(f"{exc}，请用 zhibu calendar set 重新设置") from exc
        zone = ZoneInfo(target.timezone)
        first, last = _moment(start, zone, "开始时间"), _moment(end, zone, "结束时间")
        if last <= first:
            raise fail("结束时间应晚于开始时间")
        if last > _years_later(first, 2):
            raise fail("一次最多预览两年")
        found = preview(session, target, first, last)
        if fmt == "json":
            rows = [
                {
                    "due": due.at.isoformat(),
                    "kind": due.kind,
                    "rule": due.rule,
                    "chat": chat,
                    "text": draft.text,
                }
                for due, chat, draft in found
            ]
            typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not found:
            typer.echo("这段时间没有要推送的提醒。")
            return
        for due, chat, draft in found:
            where = f" → {chat}" if chat else ""
            typer.echo(f"{due.at:%Y-%m-%d %H:%M} [{due.rule}]{where}")
            typer.echo("  " + draft.text.replace("\n", "\n  "))
        typer.echo(f"共 {len(found)} 条。")


@reminders_app.command("tick")
def reminders_tick() -> None:
    """立即执行一次调度：把此刻到期的提醒写入待发队列（重复执行不会重复推送）。"""
    from bot.cli import settings
    from bot.runtime import build
    from scheduler.reminders import Scheduler

    runtime = build(settings())
    report = Scheduler(runtime.db).tick(runtime.clock.now())
    typer.echo(
        f"已检查 {report.branches} 个支部：新排入 {report.queued} 条，"
        f"过期跳过 {report.skipped} 条，已排过 {report.already} 条。"
    )


def _with_cadence(rules: CalendarSettings, spec: str) -> CalendarSettings:
    """Apply KEY=monthly|quarterly[:N]|yearly[:M] to one activity; ValueError in Chinese."""
    from scheduler.rules import Cadence

    key, sep, value = spec.partition("=")
    frequency, _colon, number = value.strip().partition(":")
    if not sep or frequency not in ("monthly", "quarterly", "yearly"):
        raise ValueError(f"“{spec}”应写成 活动=monthly / quarterly[:1-3] / yearly[:1-12]")
    activity = rules.activity(key.strip())
    current = activity.cadence
    if number and not number.isdigit():
        raise ValueError(f"“{spec}”里冒号后应是数字")
    months_in_quarter = int(number) if frequency == "quarterly" and number else 2
    month = int(number) if frequency == "yearly" and number else current.month
    updated = Cadence(frequency, current.day, months_in_quarter, month)  # type: ignore[arg-type]
    return replace(
        rules,
        activities=tuple(
            replace(a, cadence=updated) if a.key == activity.key else a for a in rules.activities
        ),
    )


@calendar_app.command("show")
def calendar_show(branch: Annotated[str, typer.Option(help="支部名称")]) -> None:
    """显示支部的日历规则和提醒设置。"""
    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from scheduler import branch_config

    runtime = build(settings())
    with runtime.db.session() as session:
        target = require_branch(session, branch)
        try:
            config = branch_config.load(target.calendar)
        except ValueError as exc:
            raise fail(str(exc)) from exc
        typer.echo(f"{target.name} 日历设置：")
        for line in branch_config.describe(config):
            typer.echo("  " + line)


@calendar_app.command("set")
def calendar_set(
    branch: Annotated[str, typer.Option(help="支部名称")],
    day: Annotated[
        list[str] | None,
        typer.Option("--day", help="活动=日期规则，如 主题党日=每月10日（可重复）"),
    ] = None,
    cadence: Annotated[
        list[str] | None,
        typer.Option(
            "--cadence",
            help="活动=频次：monthly / quarterly[:季度内第几月] / yearly[:月份]，如 党课=monthly",
        ),
    ] = None,
    disable: Annotated[
        list[str] | None, typer.Option("--disable", help="停用某项活动，如 谈心谈话")
    ] = None,
    enable: Annotated[list[str] | None, typer.Option("--enable", help="重新启用某项活动")] = None,
    node_on: Annotated[
        list[str] | None, typer.Option("--node-on", help="启用节点日，如 5-10")
    ] = None,
    node_off: Annotated[list[str] | None, typer.Option("--node-off", help="停用节点日")] = None,
    holiday_shift: Annotated[
        str | None, typer.Option(help="遇休息日：after 顺延 / before 提前 / nearest 就近")
    ] = None,
    reminders: Annotated[
        bool | None, typer.Option("--reminders/--no-reminders", help="开启或关闭提醒推送")
    ] = None,
    notice_days: Annotated[
        int | None, typer.Option(help="提前几天预告（0 表示只在当天提醒）")
    ] = None,
    notice_time: Annotated[str | None, typer.Option(help="预告和当天提醒的时间，如 08:30")] = None,
    summary_time: Annotated[str | None, typer.Option(help="每月总结的推送时间，如 09:00")] = None,
    quiet: Annotated[
        str | None, typer.Option(help="免打扰时段，如 21:00-08:00；“无”表示不设")
    ] = None,
    rest_days: Annotated[
        bool | None,
        typer.Option("--rest-days-quiet/--rest-days-allowed", help="休息日是否免打扰"),
    ] = None,
    progress_days: Annotated[int | None, typer.Option(help="序时推进：期末前几天提醒")] = None,
) -> None:
    """修改支部的日历规则和提醒设置（只改给出的项）。"""
    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from scheduler import branch_config
    from scheduler.push import parse_quiet, parse_time
    from scheduler.rules import parse_day_rule
    from scheduler.workdays import parse_direction

    runtime = build(settings())
    with runtime.db.transaction() as session:
        target = require_branch(session, branch)
        try:
            config = branch_config.load(target.calendar)
            rules, push = config.rules, config.push
            for spec in day or []:
                key, sep, rule = spec.partition("=")
                if not sep:
                    raise ValueError(f"“{spec}”应写成 活动=日期规则，如 主题党日=每月10日")
                rules = rules.with_day_rule(key.strip(), parse_day_rule(rule))
            for spec in cadence or []:
                rules = _with_cadence(rules, spec)
            for key, on in [(k, False) for k in disable or []] + [(k, True) for k in enable or []]:
                rules.activity(key)
                rules = replace(
                    rules,
                    activities=tuple(
                        replace(a, enabled=on) if a.key == key else a for a in rules.activities
                    ),
                )
            if node_on:
                rules = rules.with_node_days(node_on, enabled=True)
            if node_off:
                rules = rules.with_node_days(node_off, enabled=False)
            if holiday_shift is not None:
                rules = replace(rules, holiday_shift=parse_direction(holiday_shift))
            values: dict[str, object] = {}
            if reminders is not None:
                values["enabled"] = reminders
            if notice_days is not None:
                values["notice_days"] = notice_days
            if notice_time is not None:
                values["notice_time"] = parse_time(notice_time)
            if summary_time is not None:
                values["summary_time"] = parse_time(summary_time)
            if quiet is not None:
                values["quiet_start"], values["quiet_end"] = parse_quiet(quiet)
            if rest_days is not None:
                values["quiet_on_rest_days"] = rest_days
            if progress_days is not None:
                values["progress_days"] = progress_days
            push = replace(push, **values)  # type: ignore[arg-type]
        except KeyError as exc:
            raise fail(f"没有活动“{exc.args[0]}”") from exc
        except ValueError as exc:
            raise fail(str(exc)) from exc
        config = branch_config.BranchCalendar(rules, push)
        stored = branch_config.dump(config)
        target.calendar = None if stored == "{}" else stored
        typer.echo(f"已更新 {target.name} 的日历设置：")
        for line in branch_config.describe(config):
            typer.echo("  " + line)
