"""An annual plan as an editable YAML file (日期, 类型, 名称, 党小组, 原定日期, 备注 per item).

`dump_yaml` writes one mapping per item under a header naming the branch and year; `load_yaml`
reads such a file back, checking every item, and raises ValueError with a Chinese message that
names the item number (第N项) on the first problem. Node days are written as 类型 “节点日”
(“node_day” is accepted too). A node day's 筹备日期 (`prepare_on`) is not part of the file.
`parse_item` is the per-item check, shared with the Excel format (`scheduler.plan_xlsx`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from handlers.parsing import MEETING_KINDS
from scheduler.plan import NODE_DAY, PlanItem

NODE_DAY_NAME = "节点日"
KNOWN_KINDS: tuple[str, ...] = (*MEETING_KINDS, "谈心谈话", "党费", NODE_DAY)
KEY_BRANCH, KEY_YEAR, KEY_ITEMS = "支部", "年度", "计划"
KEY_DATE, KEY_KIND, KEY_TITLE = "日期", "类型", "名称"
KEY_GROUP, KEY_MOVED, KEY_NOTE = "党小组", "原定日期", "备注"
ITEM_KEYS = (KEY_DATE, KEY_KIND, KEY_TITLE, KEY_GROUP, KEY_MOVED, KEY_NOTE)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KIND_HINT = "、".join((*KNOWN_KINDS[:-1], NODE_DAY_NAME))


class _PlanLoader(yaml.SafeLoader):
    """SafeLoader that leaves dates as text, so a bad date is reported with its item number."""


_PlanLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def dump_yaml(branch_name: str, year: int, items: Iterable[PlanItem]) -> str:
    """The plan as Chinese-keyed YAML, one mapping per item, dates in ISO form."""
    data = {
        KEY_BRANCH: branch_name,
        KEY_YEAR: year,
        KEY_ITEMS: [_item_mapping(item) for item in items],
    }
    return str(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000))


def load_yaml(text: str) -> tuple[int, list[PlanItem]]:
    """Read a plan file: its year and its items in date order; ValueError (Chinese) if invalid."""
    try:
        data = yaml.load(text, Loader=_PlanLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第{mark.line + 1}行附近" if mark is not None else ""
        raise ValueError(f"YAML 格式有误{where}，请检查缩进和冒号") from exc
    if not isinstance(data, dict):
        raise ValueError(f"计划文件应包含“{KEY_YEAR}”和“{KEY_ITEMS}”两项")
    year = data.get(KEY_YEAR)
    if isinstance(year, bool) or not isinstance(year, int) or not 2000 <= year <= 2100:
        raise ValueError(f"“{KEY_YEAR}”应为 2000–2100 之间的年份，如 {KEY_YEAR}: 2027")
    raw_items = data.get(KEY_ITEMS)
    if not isinstance(raw_items, list) or not raw_items:
        raise ValueError(f"“{KEY_ITEMS}”应为非空列表，每项含 {'、'.join(ITEM_KEYS)}")
    items = [_parse_item(n, raw, year) for n, raw in enumerate(raw_items, start=1)]
    items.sort(key=PlanItem.sort_key)
    return year, items


def _item_mapping(item: PlanItem) -> dict[str, Any]:
    return {
        KEY_DATE: item.date,
        KEY_KIND: NODE_DAY_NAME if item.kind == NODE_DAY else item.kind,
        KEY_TITLE: item.title,
        KEY_GROUP: item.group,
        KEY_MOVED: item.moved_from,
        KEY_NOTE: item.note,
    }


def _parse_item(number: int, raw: object, year: int) -> PlanItem:
    where = f"第{number}项"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}：应为含 {'、'.join(ITEM_KEYS)} 的条目")
    unknown = [str(k) for k in raw if k not in ITEM_KEYS]
    if unknown:
        raise ValueError(
            f"{where}：不认识的字段“{'、'.join(unknown)}”，可用字段：{'、'.join(ITEM_KEYS)}"
        )
    return parse_item(where, raw, year)


def parse_item(where: str, fields: Mapping[str, object], year: int) -> PlanItem:
    """One item from its Chinese-keyed fields; ValueError prefixed with `where` if invalid."""
    day = parse_date(where, KEY_DATE, fields.get(KEY_DATE))
    if day is None:
        raise ValueError(f"{where}：缺少“{KEY_DATE}”，格式如 2027-03-05")
    if day.year != year:
        raise ValueError(f"{where}：日期 {day.isoformat()} 不在{year}年内（文件年度为{year}）")
    moved = parse_date(where, KEY_MOVED, fields.get(KEY_MOVED))
    if moved is not None and moved.year != year:
        raise ValueError(f"{where}：原定日期 {moved.isoformat()} 不在{year}年内")
    kind = _text(where, KEY_KIND, fields.get(KEY_KIND))
    kind = NODE_DAY if kind == NODE_DAY_NAME else kind
    if kind not in KNOWN_KINDS:
        raise ValueError(f"{where}：类型“{kind}”不认识，应为：{_KIND_HINT}")
    title = _text(where, KEY_TITLE, fields.get(KEY_TITLE))
    group = _optional_text(where, KEY_GROUP, fields.get(KEY_GROUP))
    if kind == "党小组会" and group is None:
        raise ValueError(f"{where}：党小组会需要填写“{KEY_GROUP}”")
    note = _optional_text(where, KEY_NOTE, fields.get(KEY_NOTE)) or ""
    return PlanItem(day, kind, title, group, moved, note)


def parse_date(where: str, key: str, value: object) -> dt.date | None:
    """A date given as a `date` or as ISO text (2027-03-05); None if empty, else ValueError."""
    if value is None or value == "":
        return None
    # A datetime is a date subclass but carries a time of day: it falls through to the error.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    text = str(value).strip()
    if _ISO_DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise ValueError(f"{where}：“{key}”应为有效日期，格式如 2027-03-05，收到“{text}”")


def _text(where: str, key: str, value: object) -> str:
    text = _optional_text(where, key, value)
    if text is None:
        raise ValueError(f"{where}：缺少“{key}”")
    return text


def _optional_text(where: str, key: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool | dict | list):
        raise ValueError(f"{where}：“{key}”应为文字")
    return str(value).strip() or None
