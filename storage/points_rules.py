"""Points rules (积分规则): the YAML form, its strict validation, and stored versions per organisation.

An organisation's rules are stored as numbered versions, never edited; the version in force on a
day is the newest one whose effective date has come. Branches without an organisation, or whose
organisation has no version in force, use the default rules shipped as `points_default.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.models import PointsRuleVersion

# The canonical meeting kinds: equal to handlers.parsing.model.MEETING_KINDS (storage imports
# nothing from handlers; tests/storage/test_points_rules.py keeps the two the same).
KNOWN_KINDS: tuple[str, ...] = (
    "支部党员大会",
    "支部委员会",
    "党小组会",
    "党课",
    "主题党日",
    "组织生活会",
    "民主评议党员",
)
MEETINGS, STUDY, VOLUNTEER, ABSENCE, ADJUSTMENT = (
    "meetings",
    "study",
    "volunteer",
    "absence",
    "adjustment",
)
CATEGORY_LABELS: dict[str, str] = {
    MEETINGS: "组织生活",
    STUDY: "学习",
    VOLUNTEER: "志愿服务",
    ABSENCE: "缺席扣分",
    ADJUSTMENT: "积分调整",
}
DEFAULT_NAME = "默认积分规则"
MAX_TEXT = 20_000
_LIMIT = Decimal(1000)


class PointsRulesError(ValueError):
    """Rules that cannot be used; `problems` are Chinese sentences naming each field."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("；".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class PointsRules:
    """One validated rule set; every number is a Decimal."""

    name: str
    base: Decimal
    floor: Decimal
    meeting_points: Mapping[str, Decimal]
    meeting_caps: Mapping[str, Decimal]
    study_on_time: Decimal
    study_late: Decimal
    volunteer_per_hour: Decimal
    volunteer_max_hours: Decimal | None
    absence_unexcused: Decimal
    makeup_cancels_absence: bool
    caps: Mapping[str, Decimal] = field(default_factory=dict)

    def summary_lines(self) -> list[str]:
        """The rules as short Chinese lines (for `zhibu points rules show`)."""
        kinds = "，".join(f"{k} {show(v)}" for k, v in self.meeting_points.items())
        kind_caps = "，".join(f"{k} 最多 {show(v)}" for k, v in self.meeting_caps.items())
        hours_cap = (
            f"，每年最多计 {show(self.volunteer_max_hours)} 小时"
            if self.volunteer_max_hours is not None
            else ""
        )
        caps = "，".join(f"{CATEGORY_LABELS[k]} {show(v)}" for k, v in self.caps.items())
        return [
            f"规则：{self.name}",
            f"基础分 {show(self.base)}，最低分 {show(self.floor)}，按自然年计算、每年清零",
            f"出席会议（每次）：{kinds or '不计分'}" + (f"（{kind_caps}）" if kind_caps else ""),
            f"学习：按时 {show(self.study_on_time)}，逾期 {show(self.study_late)}",
            f"志愿服务：每小时 {show(self.volunteer_per_hour)}{hours_cap}",
            f"无故缺席：每次 {show(self.absence_unexcused)}，"
            + ("补课后撤销扣分" if self.makeup_cancels_absence else "补课后仍扣分"),
            f"各类上限：{caps or '不设'}",
        ]


def show(value: Decimal) -> str:
    """A points number without trailing zeros: 2, 0.5, -2."""
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@cache
def default_text() -> str:
    """The YAML text of the default rules shipped with the package."""
    return resources.files("storage").joinpath("points_default.yaml").read_text(encoding="utf-8")


@cache
def default_rules() -> PointsRules:
    """The default rules, parsed."""
    return parse_rules(default_text())


# --- validation ------------------------------------------------------------------------------

_TOP_KEYS = {"name", "base", "floor", "meetings", "study", "volunteer", "absence", "caps"}
_SECTION_KEYS = {
    "meetings": ({"points"}, {"caps"}),
    "study": ({"on_time", "late"}, set()),
    "volunteer": ({"per_hour"}, {"max_hours"}),
    "absence": ({"unexcused", "makeup_cancels"}, set()),
}


class _Checker:
    """Collects every problem of a rules document instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def fail(self, where: str, what: str) -> None:
        self.problems.append(f"{where}：{what}")

    def number(
        self, where: str, value: Any, low: Decimal = -_LIMIT, high: Decimal = _LIMIT
    ) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            self.fail(where, f"应为数字，实际为“{_brief(value)}”")
            return Decimal(0)
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            self.fail(where, f"应为数字，实际为“{_brief(value)}”")
            return Decimal(0)
        if not number.is_finite():
            self.fail(where, "应为有限的数字")
            return Decimal(0)
        if number != number.quantize(Decimal("0.01")):
            self.fail(where, f"最多保留两位小数（{_brief(value)}）")
        if not low <= number <= high:
            self.fail(where, f"应在 {show(low)} 到 {show(high)} 之间，实际为 {show(number)}")
        return number

    def mapping(self, where: str, value: Any, allow_none: bool = False) -> dict[str, Any]:
        if value is None and allow_none:
            return {}
        if not isinstance(value, dict):
            self.fail(where, "应为“键: 值”形式的一组设置")
            return {}
        return {str(k): v for k, v in value.items()}


def _brief(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 30 else text[:30] + "…"


def _check_keys(
    check: _Checker, where: str, given: Mapping[str, Any], required: set[str], optional: set[str]
) -> None:
    prefix = f"{where}." if where else ""
    for key in sorted(set(given) - required - optional):
        check.fail(
            f"{prefix}{key}", f"未知的设置项，可用：{'、'.join(sorted(required | optional))}"
        )
    for key in sorted(required - set(given)):
        check.fail(f"{prefix}{key}", "缺少此项")


def parse_rules(text: str) -> PointsRules:
    """Parse and strictly validate a rules YAML document; PointsRulesError lists every problem."""
    if len(text) > MAX_TEXT:
        raise PointsRulesError([f"规则文件过长（超过 {MAX_TEXT} 字符）"])
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行" if mark is not None else "文件"
        raise PointsRulesError(
            [f"{where}：不是有效的 YAML（{getattr(exc, 'problem', '') or exc}）"]
        ) from exc
    check = _Checker()
    top = check.mapping("规则文件", document)
    if check.problems:
        raise PointsRulesError(check.problems)
    _check_keys(check, "", top, _TOP_KEYS - {"name", "caps"}, {"name", "caps"})
    name = top.get("name", DEFAULT_NAME)
    if not isinstance(name, str) or not name.strip() or len(name) > 50:
        check.fail("name", "应为 1–50 字的规则名称")
        name = DEFAULT_NAME
    sections = {}
    for section, (required, optional) in _SECTION_KEYS.items():
        sections[section] = check.mapping(section, top.get(section, {}))
        if section in top:
            _check_keys(check, section, sections[section], required, optional)
    base = check.number("base", top.get("base", 0), Decimal(0))
    floor = check.number("floor", top.get("floor", 0))
    if floor > base:
        check.fail("floor", f"最低分 {show(floor)} 不能高于基础分 {show(base)}")
    meetings = sections["meetings"]
    points = _kinds(check, "meetings.points", meetings.get("points", {}), Decimal(0), Decimal(100))
    kind_caps = _kinds(check, "meetings.caps", meetings.get("caps"), Decimal(0), _LIMIT)
    study = sections["study"]
    on_time = check.number("study.on_time", study.get("on_time", 0), Decimal(0), Decimal(100))
    late = check.number("study.late", study.get("late", 0), Decimal(0), Decimal(100))
    if late > on_time:
        check.fail("study.late", "逾期完成的得分不应高于按时完成")
    volunteer = sections["volunteer"]
    per_hour = check.number(
        "volunteer.per_hour", volunteer.get("per_hour", 0), Decimal(0), Decimal(100)
    )
    max_hours: Decimal | None = None
    if volunteer.get("max_hours") is not None:
        max_hours = check.number(
            "volunteer.max_hours", volunteer["max_hours"], Decimal(0), Decimal(10_000)
        )
    absence = sections["absence"]
    unexcused = check.number(
        "absence.unexcused", absence.get("unexcused", 0), Decimal(-100), Decimal(0)
    )
    cancels = absence.get("makeup_cancels", False)
    if not isinstance(cancels, bool):
        check.fail("absence.makeup_cancels", f"应为 true 或 false，实际为“{_brief(cancels)}”")
        cancels = False
    caps_given = check.mapping("caps", top.get("caps"), allow_none=True)
    caps: dict[str, Decimal] = {}
    for key, value in caps_given.items():
        if key not in CATEGORY_LABELS:
            check.fail(f"caps.{key}", f"未知的类别，可用：{'、'.join(CATEGORY_LABELS)}")
            continue
        caps[key] = check.number(f"caps.{key}", value, Decimal(0), _LIMIT)
    if check.problems:
        raise PointsRulesError(check.problems)
    return PointsRules(
        name=name.strip(),
        base=base,
        floor=floor,
        meeting_points=points,
        meeting_caps=kind_caps,
        study_on_time=on_time,
        study_late=late,
        volunteer_per_hour=per_hour,
        volunteer_max_hours=max_hours,
        absence_unexcused=unexcused,
        makeup_cancels_absence=cancels,
        caps=caps,
    )


def _kinds(
    check: _Checker, where: str, value: Any, low: Decimal, high: Decimal
) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for kind, number in check.mapping(where, value, allow_none=True).items():
        if kind not in KNOWN_KINDS:
            check.fail(f"{where}.{kind}", f"未知的会议类型，可用：{'、'.join(KNOWN_KINDS)}")
            continue
        found[kind] = check.number(f"{where}.{kind}", number, low, high)
    return {k: found[k] for k in KNOWN_KINDS if k in found}


# --- stored versions -------------------------------------------------------------------------


def save_version(
    session: Session,
    actor: Actor,
    organisation: str,
    text: str,
    effective_from: date,
    note: str | None = None,
) -> PointsRuleVersion:
    """Validate `text` and store it as the organisation's next rules version (audited)."""
    organisation = organisation.strip()
    if not organisation or len(organisation) > 100:
        raise PointsRulesError(["单位名称应为 1–100 字"])
    parse_rules(text)
    previous = session.scalar(
        select(func.max(PointsRuleVersion.version)).where(
            PointsRuleVersion.organisation == organisation
        )
    )
    row = PointsRuleVersion(
        organisation=organisation,
        version=(previous or 0) + 1,
        effective_from=effective_from,
        rules=text,
        created_at=actor.at,
        created_by=actor.name,
        note=note,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        branch_id=None,
        action="create",
        entity="points_rules",
        entity_id=row.id,
        organisation=organisation,
        version=row.version,
        effective_from=effective_from,
        note=note,
    )
    return row


def versions(session: Session, organisation: str) -> list[PointsRuleVersion]:
    """Every stored rules version of an organisation, oldest first."""
    return list(
        session.scalars(
            select(PointsRuleVersion)
            .where(PointsRuleVersion.organisation == organisation)
            .order_by(PointsRuleVersion.version)
        )
    )


def version_on(session: Session, organisation: str, on: date) -> PointsRuleVersion | None:
    """The organisation's version in force on a day: the newest one already effective."""
    return session.scalar(
        select(PointsRuleVersion)
        .where(
            PointsRuleVersion.organisation == organisation,
            PointsRuleVersion.effective_from <= on,
        )
        .order_by(PointsRuleVersion.version.desc())
        .limit(1)
    )


@lru_cache(maxsize=64)
def _parsed(text: str) -> PointsRules:
    """Stored rules were validated when saved; parse each distinct text once."""
    return parse_rules(text)


@dataclass(frozen=True)
class RulesInForce:
    """The rules used for a computation and where they came from (None: the defaults)."""

    rules: PointsRules
    organisation: str | None
    version: PointsRuleVersion | None

    @property
    def label(self) -> str:
        """Short Chinese description: 规则名称（单位 第N版）."""
        if self.version is None:
            return self.rules.name
        return f"{self.rules.name}（{self.organisation} 第{self.version.version}版）"


def rules_on(session: Session, organisation: str | None, on: date) -> RulesInForce:
    """The rules in force for an organisation on a day; the defaults without a stored version."""
    if organisation:
        found = version_on(session, organisation, on)
        if found is not None:
            return RulesInForce(_parsed(found.rules), organisation, found)
    return RulesInForce(default_rules(), organisation, None)
