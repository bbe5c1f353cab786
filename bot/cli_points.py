"""`zhibu points`: the points rules of an organisation (versioned YAML) and a branch's points."""

from __future__ import annotations

import json
import os
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from storage.points import BranchPoints
    from storage.points_rules import RulesInForce

points_app = typer.Typer(
    help="党员积分：积分规则（按单位分版本）与积分计算。", no_args_is_help=True
)
rules_app = typer.Typer(help="积分规则：查看、设置（新版本）、历史版本。", no_args_is_help=True)
points_app.add_typer(rules_app, name="rules")
SHOW_FORMATS = ("text", "json")
RULES_FORMATS = ("text", "yaml")


def _today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def _parse_day(text: str | None, what: str) -> date | None:
    from bot.cli import fail

    if text is None:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise fail(f"{what}“{text}”无效，请写成 2026-01-01") from exc


@rules_app.command("show")
def rules_show(
    org: Annotated[str | None, typer.Option("--org", help="单位名称（不写则显示默认规则）")] = None,
    fmt: Annotated[str, typer.Option("--format", help="输出格式：text / yaml")] = "text",
    on: Annotated[str | None, typer.Option(help="查看某日生效的规则，如 2026-06-30")] = None,
) -> None:
    """显示单位当前生效的积分规则（没有设置过则为默认规则）。"""
    from bot.cli import fail, settings
    from bot.runtime import build
    from storage.points_rules import default_text, rules_on

    if fmt not in RULES_FORMATS:
        raise fail(f"输出格式应为：{' / '.join(RULES_FORMATS)}")
    runtime = build(settings())
    day = _parse_day(on, "日期") or _today(runtime.clock.now(), runtime.settings.tz)
    with runtime.db.session() as session:
        in_force = rules_on(session, org.strip() if org else None, day)
        text = in_force.version.rules if in_force.version is not None else default_text()
        header = _describe(in_force)
    if fmt == "yaml":
        typer.echo(text.rstrip("\n"))
        return
    typer.echo(header)
    for line in in_force.rules.summary_lines():
        typer.echo(f"  {line}")


def _describe(in_force: RulesInForce) -> str:
    found = in_force.version
    if found is None:
        where = f"单位“{in_force.organisation}”未设置积分规则，" if in_force.organisation else ""
        return f"{where}使用默认积分规则（随程序发布）"
    local = found.created_at.astimezone(ZoneInfo("Asia/Shanghai"))
    return (
        f"{in_force.organisation} 积分规则第{found.version}版："
        f"自 {found.effective_from.isoformat()} 起生效，{found.created_by} 于 {local:%Y-%m-%d %H:%M} 设置"
        + (f"（{found.note}）" if found.note else "")
    )


@rules_app.command("set")
def rules_set(
    org: Annotated[str, typer.Option("--org", help="单位名称（与支部的 organisation 一致）")],
    file: Annotated[
        Path, typer.Option("--file", help="规则文件（YAML，格式见 README「积分规则」）")
    ],
    effective: Annotated[
        str | None, typer.Option(help="生效日期，如 2027-01-01（默认今天）")
    ] = None,
    note: Annotated[str | None, typer.Option(help="版本说明")] = None,
) -> None:
    """检查规则文件，无误则保存为该单位积分规则的新版本；有误时列出问题，不保存。"""
    from bot.cli import fail, settings
    from bot.runtime import build
    from storage.audit import Actor
    from storage.points_rules import PointsRulesError, parse_rules, save_version

    try:
        text = file.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise fail(f"找不到文件 {file}") from exc
    except UnicodeDecodeError as exc:
        raise fail(f"{file} 不是 UTF-8 编码的文本文件") from exc
    except OSError as exc:
        raise fail(f"无法读取 {file}：{exc.strerror or exc}") from exc
    day = _parse_day(effective, "生效日期")
    if not org.strip() or len(org.strip()) > 100:
        raise fail("单位名称应为 1–100 字")
    try:
        rules = parse_rules(text)
    except PointsRulesError as exc:
        typer.echo(f"错误：{file.name} 有 {len(exc.problems)} 处问题，未保存：", err=True)
        for problem in exc.problems:
            typer.echo(f"  · {problem}", err=True)
        raise typer.Exit(1) from exc
    runtime = build(settings())
    now = runtime.clock.now()
    day = day or _today(now, runtime.settings.tz)
    actor = Actor(f"cli:{os.environ.get('USER', 'admin')}", now)
    with runtime.db.transaction() as session:
        saved = save_version(session, actor, org.strip(), text, day, note)
        version = saved.version
    typer.echo(
        f"已保存 {org.strip()} 积分规则第{version}版（{rules.name}），自 {day.isoformat()} 起生效。"
        "积分将按新规则重新计算。"
    )


@rules_app.command("history")
def rules_history(
    org: Annotated[str, typer.Option("--org", help="单位名称")],
) -> None:
    """列出单位积分规则的全部版本。"""
    from bot.cli import settings
    from bot.runtime import build
    from storage.points_rules import versions

    runtime = build(settings())
    with runtime.db.session() as session:
        rows = versions(session, org.strip())
        lines = [
            f"第{v.version}版  生效 {v.effective_from.isoformat()}  "
            f"{v.created_by} 于 {v.created_at.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d %H:%M} 设置"
            + (f"  {v.note}" if v.note else "")
            for v in rows
        ]
    if not lines:
        typer.echo(f"单位“{org.strip()}”没有设置过积分规则，使用默认规则。")
        return
    typer.echo("\n".join(lines))


@points_app.command("show")
def points_show(
    branch: Annotated[str, typer.Option(help="支部名称")],
    period: Annotated[
        str, typer.Option(help="2026（全年，含基础分）、2026-11、2026-Q4、this_month …")
    ] = "this_year",
    fmt: Annotated[str, typer.Option("--format", help="输出格式：text / json")] = "text",
) -> None:
    """计算一个支部的党员积分：排名、总分、分类小计和每一项依据。"""
    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from storage.periods import resolve
    from storage.points import branch_points

    if fmt not in SHOW_FORMATS:
        raise fail(f"输出格式应为：{' / '.join(SHOW_FORMATS)}")
    runtime = build(settings())
    with runtime.db.session() as session:
        target = require_branch(session, branch)
        today = _today(runtime.clock.now(), target.timezone)
        try:
            span = resolve(period, today)
        except ValueError as exc:
            raise fail(
                f"时段“{period}”无效：可用 2026、2026-11、2026-Q4、this_month、this_year"
            ) from exc
        result = branch_points(session, target, span, today=today)
        if fmt == "json":
            typer.echo(json.dumps(points_as_dict(result), ensure_ascii=False, indent=2))
            return
        typer.echo(points_as_text(result))


def _number(value: Decimal) -> int | float:
    """A JSON number: whole points as int, else float."""
    return int(value) if value == value.to_integral_value() else float(value)


def points_as_dict(result: BranchPoints) -> dict[str, Any]:
    """The stable JSON shape of `zhibu points show --format json`."""
    from storage.points_rules import CATEGORY_LABELS

    version = result.rules.version
    ranks = {r.points.member_id: r for r in result.ranking()}
    return {
        "branch": result.branch.name,
        "organisation": result.branch.organisation,
        "period": result.period.concrete_key,
        "label": result.period.label,
        "whole_year": result.whole_year,
        "rules": {
            "name": result.rules.rules.name,
            "organisation": result.rules.organisation if version is not None else None,
            "version": version.version if version is not None else None,
            "effective_from": version.effective_from.isoformat() if version else None,
        },
        "members": [
            {
                "rank": ranks[m.member_id].rank if m.member_id in ranks else None,
                "tied": ranks[m.member_id].tied if m.member_id in ranks else False,
                "name": m.name,
                "base": _number(m.base),
                "total": _number(m.total),
                "categories": {c: _number(v) for c, (v, _n) in m.by_category().items()},
                "grounds": [
                    {
                        "category": g.category,
                        "category_label": CATEGORY_LABELS[g.category],
                        "item": g.item,
                        "date": g.date.isoformat(),
                        "points": _number(g.points),
                        "basis": g.basis,
                    }
                    for g in m.grounds
                ],
            }
            for m in sorted(result.members, key=lambda m: -m.total)
        ],
    }


def points_as_text(result: BranchPoints) -> str:
    """A terminal table of the ranking, then each member's grounds."""
    from storage.points import signed
    from storage.points_rules import CATEGORY_LABELS, show

    what = "积分" if result.whole_year else "得分（不含基础分）"
    lines = [
        f"{result.branch.name} {result.period.label}{what}（{result.rules.label}）",
        "排名  姓名      总分   " + "  ".join(CATEGORY_LABELS.values()),
    ]
    ranked = result.ranking()
    for entry in ranked:
        sums = entry.points.by_category()
        cells = "  ".join(
            f"{signed(sums[c][0]) if c in sums else '0':>{len(label) * 2}}"
            for c, label in CATEGORY_LABELS.items()
        )
        tie = "=" if entry.tied else " "
        lines.append(
            f"{entry.rank:>3}{tie}  {entry.points.name:<6}{show(entry.points.total):>7}  {cells}"
        )
    for entry in ranked:
        member = entry.points
        if not member.grounds:
            continue
        lines.append("")
        lines.append(f"{member.name}：{show(member.total)} 分")
        for g in member.grounds:
            lines.append(
                f"  {g.date.isoformat()}  {g.category_label}  {g.item}  {signed(g.points)}  {g.basis}"
            )
    return "\n".join(lines)
