"""The work committee's report as a print-ready workbook: 赛马排名 (one row per branch, best first,
then 合计), 缺项明细 (each plan item due but not held) and 评分规则 (weights and thresholds).

Sheets are set up as every workbook of storage is (`storage.xlsx_sheets`): A4 landscape, header
row repeated and frozen, fitted widths, text from users never read as a formula, write-only mode
and an atomic rename.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from storage.org_report import Figures, OrgReport
from storage.org_scoring import (
    ATTENDANCE,
    GROUP_NAMES,
    MAKEUP,
    METRIC_NAMES,
    METRICS,
    PLAN,
    STUDY,
    VOLUNTEER,
)
from storage.xlsx_sheets import Value, atomic_workbook, chinese_date, new_table, sheet_title

SHEET_RANKING = "赛马排名"
SHEET_MISSING = "缺项明细"
SHEET_RULES = "评分规则"
RANKING_COLUMNS = (
    "排名",
    "支部",
    "党员数",
    "规定动作应完成",
    "已完成",
    "完成率",
    "应到",
    "实到",
    "出勤率",
    "应学",
    "已学",
    "其中逾期",
    "学习完成率",
    "应补课",
    "已补课",
    "补课完结率",
    "志愿时长（小时）",
    "人均时长（小时）",
    "请假次数",
    "得分",
    "分组",
)
MISSING_COLUMNS = ("支部", "计划日期", "类型", "名称")
RULES_COLUMNS = ("项目", "设置", "说明")
PERCENT = "0.0%"


def _rate(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _number(value: object) -> int | float:
    as_float = float(str(value))
    return int(as_float) if as_float.is_integer() else round(as_float, 2)


def _figures(f: Figures, rates: dict[str, Fraction | None]) -> list[Value]:
    per_member = f.hours_per_member
    return [
        f.members,
        f.plan_required,
        f.plan_done,
        _rate(rates[PLAN]),
        f.attendance_expected,
        f.attendance_present,
        _rate(rates[ATTENDANCE]),
        f.study_expected,
        f.study_done,
        f.study_late,
        _rate(rates[STUDY]),
        f.makeup_owed,
        f.makeup_done,
        _rate(rates[MAKEUP]),
        _number(f.volunteer_hours),
        None if per_member is None else _number(round(float(per_member), 2)),
        f.leave,
    ]


def write_report_xlsx(report: OrgReport, path: Path) -> list[str]:
    """Write the report workbook at `path` atomically; return its sheet names."""
    rows: list[list[Value]] = []
    for line in report.branches:
        rows.append(
            [
                line.rank,
                line.name,
                *_figures(line.figures, line.rates),
                None if line.score is None else round(float(line.score), 2),
                GROUP_NAMES.get(line.group, "未评定"),
            ]
        )
    rows.append(["", "合计", *_figures(report.totals, report.total_rates), None, ""])
    missing: list[list[Value]] = [
        [line.name, chinese_date(m.day), m.kind, m.title]
        for line in report.branches
        for m in line.plan.missing
    ]
    scoring = report.scoring
    rules: list[list[Value]] = [
        [f"权重：{METRIC_NAMES[m]}", _number(scoring.weights[m]), _RULE_NOTES[m]] for m in METRICS
    ]
    rules += [
        ["志愿服务目标", _number(scoring.volunteer_target), "人均每年小时数，按时段月数折算"],
        ["先进", _number(scoring.advanced), "得分 ≥ 此值"],
        ["落后", _number(scoring.lagging), "得分 < 此值；其余为中间"],
        ["统计截至", chinese_date(report.as_of), "此日之后的计划项尚未到期，不计入"],
    ]
    heading = f"{report.organisation} {report.period.label}"
    percent_columns = {i for i, name in enumerate(RANKING_COLUMNS) if name.endswith("率")}
    taken: set[str] = set()
    with atomic_workbook(path) as book:
        ranking = new_table(
            book, sheet_title(SHEET_RANKING, taken), RANKING_COLUMNS, rows, f"{heading} 支部赛马"
        )
        for row in rows:
            cells = [ranking.cell(v) for v in row]
            for i in percent_columns:
                cells[i].number_format = PERCENT
            ranking.sheet.append(cells)
        for title, columns, body in (
            (SHEET_MISSING, MISSING_COLUMNS, missing),
            (SHEET_RULES, RULES_COLUMNS, rules),
        ):
            table = new_table(book, sheet_title(title, taken), columns, body, f"{heading} {title}")
            for row in body:
                table.append(row)
    return [SHEET_RANKING, SHEET_MISSING, SHEET_RULES]


_RULE_NOTES = {
    PLAN: "年度计划中截至统计日已到期的规定动作，按月核对是否召开（同群内“计划”命令）",
    ATTENDANCE: "已结束会议的实到（含迟到）/ 应到",
    STUDY: "学习任务的已学人次 / 应学人次（逾期也算已学）",
    MAKEUP: "本期会议产生的补课中已补的比例；无补课的支部此项不计",
    VOLUNTEER: "人均志愿时长 / 目标，最高按 100% 计",
}
