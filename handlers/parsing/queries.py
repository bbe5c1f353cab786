"""Read-only intents: help, mine, missing, stats and export."""

from __future__ import annotations

import re
from datetime import date

from handlers.parsing.model import Intent, Parsed
from handlers.parsing.periods import DEFAULT_PERIOD, find_period
from handlers.parsing.text import cut, strip_edges

_HELP_RE = re.compile(
    r"帮助|使用说明|说明|怎么用|怎么使用|如何使用|help|/help|h|\?+|菜单|功能|功能菜单|功能列表|"
    r"指令|命令|指令列表|命令列表|使用帮助|帮助菜单|帮助文档|用法|使用方法|操作说明|说明书|"
    r"有什么功能|都有什么功能|有哪些功能|能做什么|你能做什么|你会什么|会什么|(?:机器人|助手)怎么用|"
    r"查看帮助|获取帮助|帮助一下|怎么操作|如何操作|有哪些指令|有哪些命令|指令是什么|命令是什么"
)
_MINE_RE = re.compile(
    r"(?:请)?(?:帮我)?(?:查询?|查看|看看|看下|看一下)?(?:一下)?(?:我的|个人|本人)(?:的)?"
    r"(?:学习|志愿(?:服务)?|参会|签到|请假|会议)?(?:记录|情况|统计|考勤|台账|数据|时长|档案|积分|出勤|"
    r"出勤情况|考勤记录|明细)?|(?:查询?|查看|看看)我的(?:情况|记录)?|我的"
)
_PLAN_RE = re.compile(
    r"(?:查看|看看|看下|看一下)?(?:本月|这个月|当月)?(?:的)?(?:工作|年度|学习)?计划(?:清单|完成情况|进度)?"
    r"|计划(?:怎么样|如何)"
)
_MISSING_CHECKIN_RE = re.compile(
    r"(?:请)?(?:查询?|查看|看看|看下|看一下|统计)?(?:一下)?(?:今天)?(?:还有|还)?"
    r"(?:谁|哪些人|哪些同志|哪位|哪几位|哪几个|有谁|有哪些人)?(?:还)?(?:没有?|未)"
    r"(?:签到|到会|到|来|参会|报到)(?:的)?(?:人|人员|同志|党员)?(?:名单|情况)?"
    r"(?:有谁|有哪些|有哪些人|是谁|都有谁|都是谁|还有谁|有几个|有多少人)?(?:啊|呀|呢)?\?*"
)
_MISSING_STUDY_RE = re.compile(
    r"(?:请)?(?:查询?|查看|看看|看下|看一下|统计)?(?:一下)?(?:还有|还)?"
    r"(?:谁|哪些人|哪些同志|哪位|哪几位|有谁|有哪些人)?(?:还)?"
    r"(?:没有?|未)(?:完成)?(?:学习|学|学完|阅读|打卡)(?:任务)?(?:的)?(?:人|人员|同志|党员)?(?:名单|情况)?"
    r"(?:有谁|有哪些|有哪些人|是谁|都有谁|都是谁|还有谁|有几个|有多少人)?(?:啊|呀|呢)?\?*"
    r"|学习(?:任务)?未完成(?:的)?(?:人员?|名单|人员名单)?\?*"
)
_STATS_KW = re.compile(r"统计(?:一?下)?|汇总|报表")
_EXPORT_KW = re.compile(
    r"导出台账|导出记录|导出报表|导出数据|导出表格|导出excel|导出|下载台账|台账下载|下载报表|生成台账|台账导出"
)
_FILLERS = re.compile(
    r"请|帮我|帮忙|查看|查询|看看|看一下|看下|查|一下|的|考勤|出勤|参会|会议|签到|学习|志愿服务|志愿|"
    r"情况|数据|台账|记录|全部|所有|汇总|excel|表格|支部|一份|整体|结果|明细|发我|给我|发一下|份|把|出来|来"
)


def parse_help(compact: str) -> Parsed | None:
    """Recognise a request for help ("帮助", "怎么用", "?")."""
    if _HELP_RE.fullmatch(compact.lower().rstrip("?")) or _HELP_RE.fullmatch(compact.lower()):
        return Parsed(Intent.HELP)
    return None


def parse_mine(compact: str) -> Parsed | None:
    """Recognise a member asking for their own record."""
    return Parsed(Intent.MINE) if _MINE_RE.fullmatch(compact) else None


def parse_plan(compact: str) -> Parsed | None:
    """Recognise 计划 / 本月计划 / 计划完成情况 (the month's plan with ✓ and ✗)."""
    return Parsed(Intent.PLAN) if _PLAN_RE.fullmatch(compact) else None


def parse_missing(compact: str) -> Parsed | None:
    """Recognise "谁没签到" / "未学习名单" style commands (also when phrased as questions)."""
    if _MISSING_CHECKIN_RE.fullmatch(compact):
        return Parsed(Intent.MISSING, target="checkin")
    if _MISSING_STUDY_RE.fullmatch(compact):
        return Parsed(Intent.MISSING, target="study")
    return None


def _period_command(text: str, keyword: re.Pattern[str], today: date) -> str | None:
    """Return the period when `text` is only keyword + fillers + an optional period."""
    m = keyword.search(text)
    if m is None:
        return None
    rest = cut(text, m.start(), m.end())
    hit = find_period(rest, today)
    period = DEFAULT_PERIOD
    if hit is not None:
        period = hit.value
        rest = cut(rest, hit.start, hit.end)
    rest = _FILLERS.sub(" ", keyword.sub(" ", rest))
    return period if strip_edges(rest) == "" else None


def parse_report(text: str, today: date) -> Parsed | None:
    """Recognise 统计 [period] and 导出 [period]."""
    period = _period_command(text, _EXPORT_KW, today)
    if period is not None:
        return Parsed(Intent.EXPORT, period=period)
    period = _period_command(text, _STATS_KW, today)
    if period is not None:
        return Parsed(Intent.STATS, period=period)
    return None
