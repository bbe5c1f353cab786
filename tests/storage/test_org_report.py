"""The work committee's report over a small organisation with known numbers (see `org_sample`):
figures per branch, plan completion as the chat's 计划 shows it, the score, grouping at the
thresholds' edges, the thresholds file, periods, bulk reading and the exact JSON shape."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from bot.cli_report import check_plans
from storage.db import Database
from storage.org_report import OrgReport, build_report
from storage.org_report_json import SCHEMA_VERSION, report_json
from storage.org_scoring import DEFAULT_SCORING, ReportError, Scoring, load_scoring
from storage.periods import resolve
from tests.factories import BRANCH, ChatBot
from tests.storage import org_sample
from tests.storage.org_sample import FOURTH, ORG, OTHER, SECOND, THIRD

AS_OF = date(2026, 11, 20)


@pytest.fixture
def org(db: Database, bot: ChatBot) -> Database:
    """The sample organisation."""
    org_sample.build(db, bot)
    return db


def report(db: Database, period: str = "2026-11", scoring: Scoring = DEFAULT_SCORING) -> OrgReport:
    """The organisation's report for a period, as of 2026-11-20."""
    with db.session() as session:
        return build_report(session, ORG, resolve(period, AS_OF), AS_OF, check_plans, scoring)


def by_name(found: OrgReport) -> dict[str, Any]:
    """Branch name -> its report line."""
    return {line.name: line for line in found.branches}


def test_figures_per_branch(org: Database) -> None:
    found = report(org)
    lines = by_name(found)
    assert [b.name for b in found.branches] == [FOURTH, SECOND, THIRD, BRANCH]
    assert OTHER not in lines
    figures = {
        name: (
            f.members,
            (f.plan_done, f.plan_required),
            (f.attendance_present, f.attendance_expected),
            (f.study_done, f.study_expected, f.study_late),
            (f.makeup_done, f.makeup_owed),
            f.volunteer_hours,
            f.leave,
            f.meetings,
        )
        for name, f in ((n, line.figures) for n, line in lines.items())
    }
    assert figures == {
        FOURTH: (2, (1, 1), (2, 2), (2, 2, 0), (0, 0), Decimal(2), 0, 1),
        # the corrected absence counts once, as present; October's volunteering is left out
        SECOND: (5, (3, 4), (8, 10), (4, 5, 2), (1, 2), Decimal(5), 1, 3),
        # the open 支委会 counts for the plan but not for attendance
        THIRD: (4, (2, 5), (4, 4), (0, 0, 0), (0, 0), Decimal(0), 0, 2),
        BRANCH: (10, (2, 4), (2, 10), (1, 10, 0), (1, 8), Decimal("3.5"), 1, 1),
    }
    totals = found.totals
    assert (totals.branches, totals.members) == (4, 21)
    assert (totals.plan_done, totals.plan_required) == (8, 14)
    assert (totals.attendance_present, totals.attendance_expected) == (16, 26)
    assert (totals.makeup_done, totals.makeup_owed) == (2, 10)
    assert totals.volunteer_hours == Decimal("10.5")


def test_scores_groups_and_ranks(org: Database) -> None:
    lines = by_name(report(org))
    assert lines[FOURTH].score == 100
    assert lines[SECOND].score == 76
    # no study task and no 补课 owed: those weights drop out (40·0.4 + 25·1 + 5·0) / 70
    assert lines[THIRD].score == Fraction(41, 70) * 100
    assert lines[BRANCH].score == Fraction(30875, 1000)
    assert {n: (line.rank, line.group) for n, line in lines.items()} == {
        FOURTH: (1, "advanced"),
        SECOND: (2, "middle"),
        THIRD: (3, "lagging"),
        BRANCH: (4, "lagging"),
    }


@pytest.mark.parametrize(
    ("advanced", "lagging", "group"),
    [
        (76, 70, "advanced"),  # exactly on the 先进 line: 先进
        (76.01, 70, "middle"),
        (90, 76, "middle"),  # exactly on the 落后 line: not 落后
        (90, 76.01, "lagging"),
    ],
)
def test_grouping_at_the_thresholds_edges(
    org: Database, advanced: float, lagging: float, group: str
) -> None:
    scoring = DEFAULT_SCORING.with_thresholds(advanced, lagging)
    assert by_name(report(org, scoring=scoring))[SECOND].group == group


def test_plan_completion_is_what_the_chat_plan_command_shows(org: Database, bot: ChatBot) -> None:
    """The report's ✗ items of the month are the ✗ lines of 计划 dated up to the report date."""
    shown = bot.say("李明", "计划")
    crosses = [line for line in shown.splitlines() if line.startswith("✗")]
    missing = by_name(report(org))[BRANCH].plan.missing
    due = [line for line in crosses if "11月25日" not in line]  # 主题党日 on 11-25 is not due yet
    assert len(due) == len(missing)
    for line, item in zip(due, missing, strict=True):
        assert line.startswith(f"✗ {item.day.month}月{item.day.day}日 ")
        assert line.endswith(item.title)
    assert [m.title for m in missing] == ["支委会", "党小组会（第一党小组）"]
    assert "已完成 2/5 项规定动作" in shown  # 计划 counts the whole month, the report what is due


def test_quarter_checks_each_month_and_counts_october(org: Database) -> None:
    second = by_name(report(org, "2026-Q4"))[SECOND]
    assert second.plan.required == 5  # October's 支委会 was not held in October
    assert second.plan.done == 3
    assert second.plan.missing[0].day == date(2026, 10, 9)
    assert second.figures.volunteer_hours == Decimal(9)


def test_periods() -> None:
    half = resolve("2026-H2", AS_OF)
    assert (half.key, half.start, half.end, half.label) == (
        "2026-H2",
        date(2026, 7, 1),
        date(2027, 1, 1),
        "2026年下半年",
    )
    assert resolve("2026-h1", AS_OF).end == date(2026, 7, 1)
    assert resolve("2026", AS_OF).label == "2026年"
    assert resolve("2026-10", AS_OF).label == "2026年10月"
    assert resolve("2026-Q4", AS_OF).start == date(2026, 10, 1)
    for bad in ("2026-H3", "2026-13", "Q4", ""):
        with pytest.raises(ValueError, match="unknown period"):
            resolve(bad, AS_OF)


def test_unknown_organisation(org: Database) -> None:
    with org.session() as session, pytest.raises(ReportError, match="没有属于“无此工委”的支部"):
        build_report(session, "无此工委", resolve("2026-11", AS_OF), AS_OF, check_plans)


def test_a_handful_of_queries_for_the_whole_organisation(org: Database) -> None:
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(org.engine, "before_cursor_execute", count)
    try:
        report(org, "2026")
    finally:
        event.remove(org.engine, "before_cursor_execute", count)
    # branches, members, meetings, 应到, 实到, 补课, study, volunteer, leave, then the plans
    # (PlanStore's two, LedgerBatch's roster) — never a query per branch or member
    assert len(statements) <= 16, statements


# --- the thresholds file ----------------------------------------------------------------------

GOOD = """\
权重:
  规定动作: 50
  出勤率: 20
  学习完成率: 20
  补课完结率: 10
  志愿服务: 0
志愿服务目标: 12
先进: 85.5
落后: 60
"""


def test_thresholds_file() -> None:
    scoring = load_scoring(GOOD)
    assert scoring.weights == {
        "plan": Decimal(50),
        "attendance": Decimal(20),
        "study": Decimal(20),
        "makeup": Decimal(10),
        "volunteer": Decimal(0),
    }
    assert (scoring.volunteer_target, scoring.advanced, scoring.lagging) == (
        Decimal(12),
        Decimal("85.5"),
        Decimal(60),
    )
    partial = load_scoring("先进: 95\n")
    assert partial.advanced == 95
    assert partial.weights == DEFAULT_SCORING.weights
    assert load_scoring("") == DEFAULT_SCORING


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("先进: [1\n", "不是有效的 YAML"),
        ("- 1\n- 2\n", "映射"),
        ("优秀: 90\n", "未知的键：优秀"),
        ("先进: 九十\n", "“先进”应为数字"),
        ("先进: true\n", "“先进”应为数字"),
        ("先进: .nan\n", "有限"),
        ("先进: 120\n", "0 到 100"),
        ("先进: 60\n落后: 70\n", "不能高于"),
        ("志愿服务目标: 0\n", "必须大于 0"),
        ("权重: 40\n", "映射"),
        ("权重:\n  规定动作: 40\n", "权重缺少：出勤率、学习完成率、补课完结率、志愿服务"),
        ("权重:\n  党费: 1\n", "未知的权重：党费"),
        (GOOD.replace("规定动作: 50", "规定动作: -1"), "不能为负数"),
        (GOOD.replace("50", "0").replace("20", "0").replace("10", "0"), "权重之和必须大于 0"),
    ],
)
def test_bad_thresholds_files(text: str, message: str) -> None:
    with pytest.raises(ReportError, match=message):
        load_scoring(text)


def test_threshold_options_are_checked() -> None:
    with pytest.raises(ReportError, match="不能高于"):
        DEFAULT_SCORING.with_thresholds(lagging=95)
    with pytest.raises(ReportError, match="0 到 100"):
        DEFAULT_SCORING.with_thresholds(advanced=-1)
    assert DEFAULT_SCORING.with_thresholds(80).advanced == 80


# --- the JSON form ----------------------------------------------------------------------------

BRANCH_KEYS = {
    "attendance",
    "group",
    "leave",
    "makeup",
    "members",
    "name",
    "plan",
    "rank",
    "score",
    "study",
    "volunteer",
}


def test_json_shape_and_values(org: Database) -> None:
    data = report_json(report(org))
    assert list(data) == [
        "schema_version",
        "organisation",
        "period",
        "as_of",
        "scoring",
        "branches",
        "totals",
    ]
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["organisation"] == ORG
    assert data["period"] == {
        "key": "2026-11",
        "label": "2026年11月",
        "start": "2026-11-01",
        "end": "2026-11-30",
    }
    assert data["as_of"] == "2026-11-20"
    assert data["scoring"] == {
        "weights": {"plan": 40, "attendance": 25, "study": 20, "makeup": 10, "volunteer": 5},
        "volunteer_target_hours": 8,
        "advanced": 90,
        "lagging": 70,
    }
    assert [b["name"] for b in data["branches"]] == [FOURTH, SECOND, THIRD, BRANCH]
    for entry in data["branches"]:
        assert set(entry) == BRANCH_KEYS
    second = data["branches"][1]
    assert second == {
        "name": SECOND,
        "rank": 2,
        "score": 76,
        "group": "middle",
        "members": 5,
        "plan": {
            "required": 4,
            "done": 3,
            "rate": 0.75,
            "missing": [{"date": "2026-11-19", "kind": "党课", "title": "党课"}],
        },
        "attendance": {"meetings": 3, "expected": 10, "present": 8, "rate": 0.8},
        "study": {"tasks": 1, "expected": 5, "done": 4, "late": 2, "rate": 0.8},
        "makeup": {"owed": 2, "done": 1, "rate": 0.5},
        "volunteer": {"hours": 5, "people": 2, "per_member": 1, "rate": 1},
        "leave": 1,
    }
    third = data["branches"][2]
    assert third["score"] == 58.57
    assert third["study"]["rate"] is None
    assert third["makeup"]["rate"] is None
    assert third["volunteer"] == {"hours": 0, "people": 0, "per_member": 0, "rate": 0}
    assert data["branches"][3]["volunteer"] == {
        "hours": 3.5,
        "people": 2,
        "per_member": 0.35,
        "rate": 0.525,
    }
    assert data["totals"] == {
        "branches": 4,
        "members": 21,
        "groups": {"advanced": 1, "middle": 1, "lagging": 2, "unrated": 0},
        "plan": {"required": 14, "done": 8, "rate": 0.5714},
        "attendance": {"meetings": 7, "expected": 26, "present": 16, "rate": 0.6154},
        "study": {"tasks": 3, "expected": 17, "done": 7, "late": 2, "rate": 0.4118},
        "makeup": {"owed": 10, "done": 2, "rate": 0.2},
        "volunteer": {"hours": 10.5, "people": 6, "per_member": 0.5, "rate": 0.75},
        "leave": 2,
    }
    # numbers are numbers, and the text form is stable
    assert isinstance(second["volunteer"]["hours"], int)
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    assert text == json.dumps(report_json(report(org)), ensure_ascii=False, sort_keys=True)


def key_paths(value: object, prefix: str = "") -> set[str]:
    """Every key path of a JSON value ("branches[].plan.missing[].date"), lists merged."""
    if isinstance(value, dict):
        found = set()
        for key, inner in value.items():
            found |= {f"{prefix}.{key}".lstrip(".")} | key_paths(inner, f"{prefix}.{key}")
        return found
    if isinstance(value, list):
        return set().union(*(key_paths(inner, f"{prefix}[]") for inner in value))
    return set()


def test_json_fields_are_the_ones_the_readme_documents(org: Database) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("**JSON 格式**", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    documented = json.loads(block)
    data = report_json(report(org))
    assert key_paths(documented) == key_paths(data)
    assert documented["schema_version"] == SCHEMA_VERSION


def test_json_numbers_rates_are_floats_and_counts_ints(org: Database) -> None:
    data = json.loads(json.dumps(report_json(report(org))))
    for entry in [*data["branches"], data["totals"]]:
        for metric in ("plan", "attendance", "study", "makeup", "volunteer"):
            rate = entry[metric]["rate"]
            assert rate is None or isinstance(rate, float), (entry.get("name"), metric, rate)
        counts = [entry["members"], entry["leave"], entry["plan"]["required"]]
        counts += [entry["attendance"][k] for k in ("meetings", "expected", "present")]
        counts += [entry["study"][k] for k in ("tasks", "expected", "done", "late")]
        counts += [entry["makeup"]["owed"], entry["makeup"]["done"]]
        assert all(type(c) is int for c in counts), entry.get("name")
    assert all(isinstance(b["score"], float) for b in data["branches"])


@pytest.mark.parametrize(
    ("key", "period"),
    [
        ("2026-H2", {"key": "2026-H2", "label": "2026年下半年", "start": "2026-07-01"}),
        ("2026-h1", {"key": "2026-H1", "label": "2026年上半年", "start": "2026-01-01"}),
        ("this_quarter", {"key": "2026-Q4", "label": "2026年第四季度", "start": "2026-10-01"}),
        ("this_year", {"key": "2026", "label": "2026年", "start": "2026-01-01"}),
    ],
)
def test_json_period_key_is_concrete(org: Database, key: str, period: dict[str, str]) -> None:
    shown = report_json(report(org, key))["period"]
    assert {k: shown[k] for k in period} == period
    assert shown["end"] in ("2026-06-30", "2026-12-31")
