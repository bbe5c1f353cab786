"""`zhibu plan`: generate a branch's year from its calendar rules, store it as numbered versions,
and export / import a stored version as an editable Excel (.xlsx) or YAML file, chosen by the
file's extension."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from scheduler.plan import PlanItem
    from storage.audit import Actor
    from storage.plans import PlanRow

plan_app = typer.Typer(help="年度计划：按三会一课等规则生成全年日程。", no_args_is_help=True)
FORMATS = ("text", "json")
XLSX, YAML = "xlsx", "yaml"
FILE_FORMATS = {".xlsx": XLSX, ".yaml": YAML, ".yml": YAML}


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
        str | None,
        typer.Option(
            "--holiday-shift",
            help="遇休息日：after 顺延 / before 提前 / nearest 就近（默认按支部日历设置）",
        ),
    ] = None,
    node_days: Annotated[
        list[str] | None,
        typer.Option("--node-day", help="额外启用的节点日，如 5-10（5·10思廉日），可重复"),
    ] = None,
    save: Annotated[bool, typer.Option("--save", help="同时保存为该年计划的新版本")] = False,
    note: Annotated[str | None, typer.Option(help="保存时附加的版本说明")] = None,
) -> None:
    """按规则生成一年的计划（精确到日，避开节假日和调休）；加 --save 保存为新版本。"""
    from dataclasses import replace

    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from scheduler import branch_config
    from scheduler.plan import generate
    from scheduler.render import plan_as_dict, plan_as_text
    from scheduler.rules import parse_day_rule
    from scheduler.workdays import parse_direction
    from storage import plans, roster

    if fmt not in FORMATS:
        raise fail(f"输出格式应为：{' / '.join(FORMATS)}")
    runtime = build(settings())
    with runtime.db.session() as session:
        target = require_branch(session, branch)
        name = target.name
        groups = [m.party_group for m in roster.active_members(session, target.id) if m.party_group]
        stored_calendar = target.calendar
    try:
        # The branch's saved rules (zhibu calendar set), with this command's options on top.
        calendar = branch_config.load(stored_calendar).rules
        if holiday_shift is not None:
            calendar = replace(calendar, holiday_shift=parse_direction(holiday_shift))
        if theme_day is not None:
            calendar = calendar.with_day_rule("主题党日", parse_day_rule(theme_day))
        if node_days:
            calendar = calendar.with_node_days(node_days)
    except ValueError as exc:
        raise fail(str(exc)) from exc
    plan = generate(calendar, year, groups)
    saved = ""
    if save:
        actor = _actor(runtime.clock.now())
        with runtime.db.transaction() as session:
            stored = require_branch(session, name)
            version = plans.save_version(
                session,
                actor,
                stored,
                year,
                _rows(plan.items),
                plans.SOURCE_GENERATED,
                note,
            )
            saved = f"已保存为第{version.version}版（{len(plan.items)}项）。"
    if fmt == "json":
        typer.echo(json.dumps(plan_as_dict(plan, name, calendar), ensure_ascii=False, indent=2))
        if saved:
            typer.echo(saved, err=True)
        return
    typer.echo(plan_as_text(plan, name, calendar))
    if not groups:
        typer.echo("\n提示：名册中没有党小组，未安排党小组会。")
    if saved:
        typer.echo(f"\n{saved}")


@plan_app.command("export")
def plan_export(
    file: Annotated[
        Path,
        typer.Argument(help="输出文件，按扩展名选格式：.xlsx（Excel）或 .yaml，如 计划2027.xlsx"),
    ],
    branch: Annotated[str, typer.Option(help="支部名称")],
    year: Annotated[int, typer.Option(help="年份，如 2027", min=2000, max=2100)],
) -> None:
    """把已保存的最新版计划导出为 Excel（.xlsx）或 YAML（可编辑后再用 plan import 导入）。"""
    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from storage import plans

    if file.is_dir():
        raise fail(f"{file} 是一个目录，请给出文件名，例如 {file / f'计划{year}.yaml'}")
    file_format = _file_format(file)
    runtime = build(settings())
    with runtime.db.session() as session:
        target = require_branch(session, branch)
        latest = plans.latest_version(session, target.id, year)
        if latest is None:
            raise fail(
                f"{target.name} 还没有保存过{year}年的计划，请先运行："
                f"zhibu plan generate --branch {target.name} --year {year} --save"
            )
        items = _items(plans.as_rows(plans.entries(session, latest.id)))
        name = target.name
        label = f"{target.name} {year}年计划第{latest.version}版（{len(items)}项）"
    try:
        if file_format == XLSX:
            from scheduler.plan_xlsx import dump_xlsx

            file.parent.mkdir(parents=True, exist_ok=True)
            dump_xlsx(name, year, items, file)
        else:
            from scheduler.plan_file import dump_yaml

            _write_atomically(file, dump_yaml(name, year, items))
    except OSError as exc:
        raise fail(f"无法写入 {file}：{exc.strerror or exc}") from exc
    typer.echo(f"已导出 {label} 到 {file}")


@plan_app.command("import")
def plan_import(
    file: Annotated[
        Path,
        typer.Argument(help="计划文件 .xlsx 或 .yaml（由 plan export 导出后编辑）"),
    ],
    branch: Annotated[str, typer.Option(help="支部名称")],
    note: Annotated[str | None, typer.Option(help="版本说明")] = None,
) -> None:
    """检查并导入一份计划文件（Excel .xlsx 或 YAML），保存为该年计划的新版本。"""
    from bot.cli import fail, require_branch, settings
    from bot.runtime import build
    from storage import plans

    file_format = _file_format(file)
    try:
        if file_format == XLSX:
            from scheduler.plan_xlsx import load_xlsx

            year, items = load_xlsx(file)
        else:
            from scheduler.plan_file import load_yaml

            year, items = load_yaml(file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError as exc:
        raise fail(f"找不到文件 {file}") from exc
    except UnicodeDecodeError as exc:
        raise fail(f"{file} 不是 UTF-8 编码的文本文件") from exc
    except OSError as exc:
        raise fail(f"无法读取 {file}：{exc.strerror or exc}") from exc
    except ValueError as exc:
        raise fail(f"{file.name}：{exc}；未导入任何内容") from exc

    runtime = build(settings())
    with runtime.db.transaction() as session:
        target = require_branch(session, branch)
        version = plans.save_version(
            session,
            _actor(runtime.clock.now()),
            target,
            year,
            _rows(items),
            plans.SOURCE_IMPORTED,
            note,
        )
        label = f"{target.name} {year}年计划第{version.version}版"
    counts = Counter(item.kind for item in items)
    detail = "、".join(f"{_kind_name(kind)}{n}项" for kind, n in counts.items())
    typer.echo(f"已导入 {label}：共{len(items)}项（{detail}）。")


@plan_app.command("versions")
def plan_versions(
    branch: Annotated[str, typer.Option(help="支部名称")],
    year: Annotated[int, typer.Option(help="年份，如 2027", min=2000, max=2100)],
) -> None:
    """列出某年计划的所有已保存版本。"""
    from bot.cli import require_branch, settings
    from bot.runtime import build
    from storage import plans

    runtime = build(settings())
    with runtime.db.session() as session:
        target = require_branch(session, branch)
        stored = plans.versions(session, target.id, year)
        if not stored:
            typer.echo(
                f"{target.name} 还没有保存过{year}年的计划（可用 plan generate --save 保存）。"
            )
            return
        counts = plans.entry_counts(session, [v.id for v in stored])
        tz = ZoneInfo(target.timezone)
        typer.echo(f"{target.name} {year}年计划，共{len(stored)}版：")
        for v in stored:
            when = v.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            source = SOURCE_NAMES.get(v.source, v.source)
            extra = f"  {v.note}" if v.note else ""
            typer.echo(
                f"第{v.version}版  {when}  {source}  {counts[v.id]}项  {v.created_by}{extra}"
            )


SOURCE_NAMES = {"generated": "按规则生成", "imported": "文件导入"}


def _actor(now: datetime) -> Actor:
    from storage.audit import Actor

    return Actor(f"cli:{os.environ.get('USER', 'admin')}", now)


def _rows(items: Iterable[PlanItem]) -> list[PlanRow]:
    from storage.plans import PlanRow

    return [PlanRow(i.date, i.kind, i.title, i.group, i.moved_from, i.note or None) for i in items]


def _items(rows: Iterable[PlanRow]) -> list[PlanItem]:
    from scheduler.plan import PlanItem

    return [
        PlanItem(r.date, r.kind, r.title, r.party_group, r.moved_from, r.note or "") for r in rows
    ]


def _file_format(path: Path) -> str:
    """XLSX or YAML from the file's extension; stops with a clear error for anything else."""
    from bot.cli import fail

    file_format = FILE_FORMATS.get(path.suffix.lower())
    if file_format is None:
        given = f"“{path.suffix}”" if path.suffix else "没有扩展名"
        raise fail(
            f"{path.name}：不支持的文件类型（{given}），"
            "请使用 .xlsx（Excel 表格）或 .yaml / .yml（YAML 文本）"
        )
    return file_format


def _kind_name(kind: str) -> str:
    from scheduler.plan import NODE_DAY
    from scheduler.plan_file import NODE_DAY_NAME

    return NODE_DAY_NAME if kind == NODE_DAY else kind


def _write_atomically(path: Path, text: str) -> None:
    """Write beside the target and rename, so a failed write never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, delete=False, suffix=".tmp"
    ) as handle:
        handle.write(text)
    try:
        os.replace(handle.name, path)
    except OSError:
        Path(handle.name).unlink(missing_ok=True)
        raise
