"""`zhibu report --org NAME`: a work committee's report over its branches (赛马), as a terminal
table, stable JSON or a print-ready workbook; and `zhibu export --org NAME`, the whole
organisation's 台账 in one workbook.

Plan completion is the in-chat 计划 command's ✓/✗, month by month: each month's plan items (the
latest stored version, else the branch's rules, via `scheduler.ledger_view.LedgerBatch`) against
the meetings opened in that month (`handlers.plan.held`). Items dated after the report date are
not due yet and not counted; 节点日, 党费 and 谈心谈话 are reminders, not required actions.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.models import Branch
    from storage.org_report import OrgReport, PlanCompletion, Sitting
    from storage.periods import Period

REPORT_FORMATS = ("table", "json", "xlsx")


def check_plans(
    session: Session,
    branches: Sequence[Branch],
    sittings: Mapping[int, Sequence[Sitting]],
    period: Period,
    as_of: date,
) -> dict[int, PlanCompletion]:
    """Each branch's plan items due by `as_of` in the period, ✓ as the 计划 command shows them."""
    from handlers.plan import INFO_KINDS, Item, held
    from scheduler import branch_config
    from scheduler.ledger_view import LedgerBatch
    from storage.org_report import MissingItem, PlanCompletion

    configs = []
    for branch in branches:
        try:
            config = branch_config.load(branch.calendar)
        except ValueError:
            config = branch_config.BranchCalendar()  # as 计划 does: the defaults, not nothing
        configs.append((branch, config))
    # The batch reads every branch's stored plans (and rosters, for generated ones) at once.
    batch = LedgerBatch(session, configs, datetime.combine(period.start, time(0), UTC))
    found: dict[int, PlanCompletion] = {}
    for branch in branches:
        by_month: dict[tuple[int, int], list[tuple[set[str], str | None]]] = defaultdict(list)
        for sitting in sittings.get(branch.id, ()):
            by_month[(sitting.day.year, sitting.day.month)].append(
                (set(sitting.kinds), sitting.group)
            )
        result = PlanCompletion()
        for item in batch.ledger(branch.id).plan(period):
            if item.kind in INFO_KINDS or item.date > as_of:
                continue
            result.required += 1
            month = by_month[(item.date.year, item.date.month)]
            if held(Item(item.date, item.kind, item.title, item.group), month):
                result.done += 1
            else:
                result.missing.append(MissingItem(item.date, item.kind, item.title))
        found[branch.id] = result
    return found


# --- terminal table ----------------------------------------------------------------------------


def _pct(value: Fraction | None) -> str:
    return "—" if value is None else f"{float(value) * 100:.0f}%"


def _hours(value: object) -> str:
    text = f"{float(str(value)):.2f}".rstrip("0").rstrip(".")
    return text or "0"


def _pad(text: str, width: int, right: bool) -> str:
    from storage.xlsx_sheets import text_width

    gap = " " * (width - text_width(text))
    return gap + text if right else text + gap


TABLE_COLUMNS = (
    "排名",
    "支部",
    "党员",
    "规定动作",
    "出勤率",
    "学习完成",
    "逾期",
    "补课完结",
    "志愿时长",
    "人均",
    "得分",
    "分组",
)
_LEFT = {"支部", "分组"}


def render_table(report: OrgReport) -> str:
    """The report as an aligned Chinese table (CJK characters count double)."""
    from storage.org_report import Figures
    from storage.org_scoring import ATTENDANCE, GROUP_NAMES, MAKEUP, PLAN, STUDY
    from storage.xlsx_sheets import text_width

    def cells(
        rank: str, name: str, f: Figures, rates: Mapping[str, Fraction | None], tail: list[str]
    ) -> list[str]:
        per_member = f.hours_per_member
        return [
            rank,
            name,
            str(f.members),
            f"{f.plan_done}/{f.plan_required} {_pct(rates[PLAN])}",
            f"{f.attendance_present}/{f.attendance_expected} {_pct(rates[ATTENDANCE])}",
            f"{f.study_done}/{f.study_expected} {_pct(rates[STUDY])}",
            str(f.study_late),
            f"{f.makeup_done}/{f.makeup_owed} {_pct(rates[MAKEUP])}",
            _hours(f.volunteer_hours),
            "—" if per_member is None else _hours(round(float(per_member), 2)),
            *tail,
        ]

    rows = [list(TABLE_COLUMNS)]
    for line in report.branches:
        shown = "—" if line.score is None else f"{float(line.score):.1f}"
        rows.append(
            cells(
                str(line.rank),
                line.name,
                line.figures,
                line.rates,
                [shown, GROUP_NAMES.get(line.group, "未评定")],
            )
        )
    rows.append(cells("", "合计", report.totals, report.total_rates, ["", ""]))
    widths = [max(text_width(row[i]) for row in rows) for i in range(len(TABLE_COLUMNS))]
    lines = [
        f"{report.organisation} {report.period.label} 支部赛马（截至 {report.as_of.isoformat()}）",
        "",
    ]
    for number, row in enumerate(rows):
        lines.append(
            "  ".join(
                _pad(value, widths[i], right=TABLE_COLUMNS[i] not in _LEFT)
                for i, value in enumerate(row)
            ).rstrip()
        )
        if number == 0 or number == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    counts = report.group_counts()
    scoring = report.scoring
    summary = "，".join(f"{GROUP_NAMES[g]} {counts[g]} 个" for g in GROUP_NAMES)
    if counts["unrated"]:
        summary += f"，未评定 {counts['unrated']} 个"
    lines.append("")
    lines.append(f"{summary}（得分 ≥ {scoring.advanced} 为先进，< {scoring.lagging} 为落后）")
    return "\n".join(lines)


# --- the commands ------------------------------------------------------------------------------


def report(
    org: Annotated[str, typer.Option("--org", help="机关工委/组织名称（支部的所属组织）")],
    period: Annotated[
        str, typer.Option(help="2026、2026-H2、2026-Q4、2026-10、this_quarter …")
    ] = "this_quarter",
    fmt: Annotated[
        str, typer.Option("--format", help="输出格式：table（默认）/ json / xlsx（需 --out）")
    ] = "table",
    out: Annotated[Path | None, typer.Option(help="输出文件（xlsx 必需；json 可选）")] = None,
    thresholds: Annotated[
        Path | None,
        typer.Option(
            "--thresholds", help="评分文件（YAML：权重、志愿服务目标、先进、落后）", dir_okay=False
        ),
    ] = None,
    advanced: Annotated[
        float | None, typer.Option("--advanced", help="先进分数线（得分 ≥ 此值，0–100）")
    ] = None,
    lagging: Annotated[
        float | None, typer.Option("--lagging", help="落后分数线（得分 < 此值，0–100）")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="统计截至日期 YYYY-MM-DD（默认今天）")
    ] = None,
) -> None:
    """机关工委报表：各支部规定动作完成、出勤、学习、补课、志愿服务与先进/中间/落后分组。"""
    from bot.cli import _is_dir, fail, settings
    from bot.runtime import build
    from storage.org_report import build_report
    from storage.org_report_json import report_json
    from storage.org_scoring import DEFAULT_SCORING, ReportError, load_scoring

    if fmt not in REPORT_FORMATS:
        raise fail(f"不支持的格式“{fmt}”，可用：{' / '.join(REPORT_FORMATS)}")
    if fmt == "xlsx" and out is None:
        raise fail("导出 xlsx 需要用 --out 指定文件，例如 --out 报表.xlsx")
    if fmt == "table" and out is not None:
        raise fail("表格只打印到屏幕；要写文件请用 --format json 或 xlsx")
    if out is not None and _is_dir(out):
        raise fail(f"{out} 是一个目录，请给出文件名，例如 {out / ('报表.' + fmt)}")
    try:
        scoring = DEFAULT_SCORING
        if thresholds is not None:
            try:
                text = thresholds.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise fail(f"无法读取评分文件 {thresholds}：{exc}") from exc
            scoring = load_scoring(text)
        scoring = scoring.with_thresholds(advanced, lagging)
    except ReportError as exc:
        raise fail(f"评分设置有误：{exc}") from exc
    cfg = settings()
    runtime = build(cfg)
    today = runtime.clock.now().astimezone(ZoneInfo(cfg.tz)).date()
    if as_of is not None:
        try:
            today = date.fromisoformat(as_of)
        except ValueError as exc:
            raise fail(f"--as-of 应为日期 YYYY-MM-DD，现为“{as_of}”") from exc
    span = report_period(period, today)

    def progress(text: str) -> None:
        typer.echo(text, err=True)

    with runtime.db.session() as session:
        try:
            found = build_report(session, org, span, today, check_plans, scoring, progress)
        except ReportError as exc:
            raise fail(str(exc)) from exc
    if fmt == "table":
        typer.echo(render_table(found))
        return
    if fmt == "json":
        text = json.dumps(report_json(found), ensure_ascii=False, indent=2, sort_keys=True)
        if out is None:
            typer.echo(text)
            return
        _write_text(out, text + "\n")
    else:
        from storage.org_report_xlsx import write_report_xlsx

        assert out is not None  # checked above
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            write_report_xlsx(found, out)
        except OSError as exc:
            raise fail(f"无法写入 {out}：{exc.strerror or exc}") from exc
    typer.echo(f"已导出 {org} {span.label} 报表到 {out}", err=True)


def report_period(key: str, today: date) -> Period:
    """The period of a report or export key, or stop with a clear error listing the keys."""
    from bot.cli import fail
    from storage.periods import PERIOD_HINT, resolve

    try:
        return resolve(key, today)
    except ValueError as exc:
        raise fail(f"时段“{key}”无效：可用 {PERIOD_HINT}") from exc


def _write_text(out: Path, text: str) -> None:
    """Write beside the target and rename, so a failed write never leaves a half file."""
    import os
    import tempfile

    from bot.cli import fail

    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=out.parent, delete=False, suffix=".tmp"
        ) as handle:
            handle.write(text)
        os.replace(handle.name, out)
    except OSError as exc:
        raise fail(f"无法写入 {out}：{exc.strerror or exc}") from exc


def export_org(session: Session, org: str, period: str, today: date, out: Path) -> None:
    """`zhibu export --org`: the whole organisation's 台账 workbook, progress on stderr."""
    from bot.cli import fail
    from storage.org_ledger_xlsx import write_org_ledger_xlsx
    from storage.org_scoring import ReportError

    span = report_period(period, today)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        summary = write_org_ledger_xlsx(
            session, org, span, out, progress=lambda text: typer.echo(text, err=True)
        )
    except ReportError as exc:
        raise fail(str(exc)) from exc
    except OSError as exc:
        raise fail(f"无法写入 {out}：{exc.strerror or exc}") from exc
    typer.echo(
        f"已导出 {org} {span.label} 台账到 {out}（{summary.branches} 个支部，"
        f"{len(summary.sheets)} 个工作表）",
        err=True,
    )
