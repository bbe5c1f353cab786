"""How a work committee's report scores and groups branches (赛马), and the thresholds file.

Score (0–100): a weighted mean of five rates, each between 0 and 1 —
规定动作 (plan items due by the report date that were held), 出勤率 (实到/应到 of closed
meetings), 学习完成率 (confirmations / expected), 补课完结率 (made up / owed) and 志愿服务
(hours per member against a yearly target pro-rated to the period, capped at 1). A rate without
a denominator (no 补课 owed, no study task) is left out and the other weights count in
proportion. Score ≥ 先进 threshold: 先进; score < 落后 threshold: 落后; otherwise 中间.
The weights, the target and the thresholds come from `DEFAULT_SCORING`, a YAML file with
Chinese keys (`load_scoring`) and command-line overrides (`Scoring.with_thresholds`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import yaml

PLAN, ATTENDANCE, STUDY, MAKEUP, VOLUNTEER = "plan", "attendance", "study", "makeup", "volunteer"
METRICS = (PLAN, ATTENDANCE, STUDY, MAKEUP, VOLUNTEER)
METRIC_NAMES = {
    PLAN: "规定动作",
    ATTENDANCE: "出勤率",
    STUDY: "学习完成率",
    MAKEUP: "补课完结率",
    VOLUNTEER: "志愿服务",
}
ADVANCED, MIDDLE, LAGGING = "advanced", "middle", "lagging"
GROUPS = (ADVANCED, MIDDLE, LAGGING)
GROUP_NAMES = {ADVANCED: "先进", MIDDLE: "中间", LAGGING: "落后"}
UNRATED = "unrated"  # no rate had a denominator (e.g. a period with nothing due yet)

KEY_WEIGHTS, KEY_TARGET, KEY_ADVANCED, KEY_LAGGING = "权重", "志愿服务目标", "先进", "落后"
SCORING_KEYS = (KEY_WEIGHTS, KEY_TARGET, KEY_ADVANCED, KEY_LAGGING)


class ReportError(ValueError):
    """A report cannot be made as asked; the message is Chinese and meant for the user."""


@dataclass(frozen=True)
class Scoring:
    """Weights of the five rates, the volunteer target and the grouping thresholds (0–100)."""

    weights: Mapping[str, Decimal]
    volunteer_target: Decimal  # hours per member per year
    advanced: Decimal  # score ≥ this: 先进
    lagging: Decimal  # score < this: 落后

    def with_thresholds(
        self, advanced: float | None = None, lagging: float | None = None
    ) -> Scoring:
        """A copy with thresholds overridden (None keeps the current one), validated."""
        changed = replace(
            self,
            advanced=self.advanced if advanced is None else _number(advanced, "--advanced"),
            lagging=self.lagging if lagging is None else _number(lagging, "--lagging"),
        )
        changed.validate()
        return changed

    def validate(self) -> None:
        """Raise ReportError (Chinese) unless weights, target and thresholds make sense."""
        if set(self.weights) != set(METRICS):
            raise ReportError("权重必须列出：" + "、".join(METRIC_NAMES[m] for m in METRICS))
        for metric, weight in self.weights.items():
            if weight < 0:
                raise ReportError(f"权重“{METRIC_NAMES[metric]}”不能为负数")
        if sum(self.weights.values()) <= 0:
            raise ReportError("权重之和必须大于 0")
        if self.volunteer_target <= 0:
            raise ReportError(f"{KEY_TARGET}（人均每年小时数）必须大于 0")
        for name, value in ((KEY_ADVANCED, self.advanced), (KEY_LAGGING, self.lagging)):
            if not 0 <= value <= 100:
                raise ReportError(f"“{name}”分数线应在 0 到 100 之间，现为 {value}")
        if self.lagging > self.advanced:
            raise ReportError(
                f"“落后”分数线（{self.lagging}）不能高于“先进”分数线（{self.advanced}）"
            )


DEFAULT_SCORING = Scoring(
    weights={
        PLAN: Decimal(40),
        ATTENDANCE: Decimal(25),
        STUDY: Decimal(20),
        MAKEUP: Decimal(10),
        VOLUNTEER: Decimal(5),
    },
    volunteer_target=Decimal(8),
    advanced=Decimal(90),
    lagging=Decimal(70),
)


def _number(value: object, where: str) -> Decimal:
    """A YAML/CLI number as an exact Decimal; ReportError for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ReportError(f"“{where}”应为数字，现为 {value!r}")
    try:
        found = Decimal(str(value))
    except InvalidOperation as exc:  # pragma: no cover - str() of a number always parses
        raise ReportError(f"“{where}”应为数字，现为 {value!r}") from exc
    if not found.is_finite():
        raise ReportError(f"“{where}”应为有限的数字，现为 {value!r}")
    return found


def load_scoring(text: str, base: Scoring = DEFAULT_SCORING) -> Scoring:
    """Read a thresholds file (YAML, Chinese keys); keys left out keep `base`'s values."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行附近" if mark is not None else ""
        raise ReportError(f"评分文件不是有效的 YAML{where}，请检查缩进和冒号") from exc
    if data is None:
        return base
    if not isinstance(data, dict):
        raise ReportError("评分文件应是“键: 值”的映射，可用的键：" + "、".join(SCORING_KEYS))
    unknown = [str(k) for k in data if k not in SCORING_KEYS]
    if unknown:
        raise ReportError(
            f"评分文件里有未知的键：{'、'.join(unknown)}；可用的键：{'、'.join(SCORING_KEYS)}"
        )
    weights = dict(base.weights)
    if KEY_WEIGHTS in data:
        given = data[KEY_WEIGHTS]
        if not isinstance(given, dict):
            raise ReportError(f"“{KEY_WEIGHTS}”应是映射，例如 {METRIC_NAMES[PLAN]}: 40")
        by_name = {name: metric for metric, name in METRIC_NAMES.items()}
        strange = [str(k) for k in given if k not in by_name]
        if strange:
            raise ReportError(
                f"未知的权重：{'、'.join(strange)}；可用：{'、'.join(METRIC_NAMES.values())}"
            )
        missing = [name for name in METRIC_NAMES.values() if name not in given]
        if missing:
            raise ReportError(f"权重缺少：{'、'.join(missing)}（五项都要写，不计的写 0）")
        weights = {
            by_name[name]: _number(value, f"{KEY_WEIGHTS}.{name}") for name, value in given.items()
        }
    scoring = Scoring(
        weights={m: weights[m] for m in METRICS},
        volunteer_target=_number(data[KEY_TARGET], KEY_TARGET)
        if KEY_TARGET in data
        else base.volunteer_target,
        advanced=_number(data[KEY_ADVANCED], KEY_ADVANCED)
        if KEY_ADVANCED in data
        else base.advanced,
        lagging=_number(data[KEY_LAGGING], KEY_LAGGING) if KEY_LAGGING in data else base.lagging,
    )
    scoring.validate()
    return scoring


def score(rates: Mapping[str, Fraction | None], scoring: Scoring) -> Fraction | None:
    """The composite score (0–100, exact) of the defined rates, or None if none is defined."""
    weighted = [(Fraction(scoring.weights[m]), r) for m, r in rates.items() if r is not None]
    total = sum((w for w, _ in weighted), Fraction(0))
    if not total:
        return None
    return 100 * sum((w * r for w, r in weighted), Fraction(0)) / total


def group_of(value: Fraction | None, scoring: Scoring) -> str:
    """先进 / 中间 / 落后 (or unrated) for a score, by the thresholds (exact comparison)."""
    if value is None:
        return UNRATED
    if value >= Fraction(scoring.advanced):
        return ADVANCED
    if value < Fraction(scoring.lagging):
        return LAGGING
    return MIDDLE
