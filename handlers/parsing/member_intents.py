"""Member messages: check-in, leave, study check-in and volunteer hours."""

from __future__ import annotations

import re
from datetime import date

from handlers.parsing.dates import find_date
from handlers.parsing.durations import find_duration
from handlers.parsing.model import Intent, Parsed
from handlers.parsing.text import cap, cut, normalize_name, squash, strip_edges

_CHECKIN_RE = re.compile(
    r"(?:帮我|给我|我|本人)?(?:也|来)?(?:已经|已)?(?:参会签到|会议签到|签个到|签到|报到|到会|到场|参会|到|签)"
    r"(?:了|啦|咯|喽|哈|一下)?(?:了|啦)?(?:签到|到)?(?:了|啦)?"
)
_NAMED_CHECKIN_RE = re.compile(
    r"(?:代|帮|替)?(?P<name>[\u4e00-\u9fff·]{2,9}?)(?:同志)?[:,]?(?:已经|已)?(?:签到|报到|到会|到)"
    r"(?:了|啦)?|(?:签到|报到)[: ]+(?P<name2>[\u4e00-\u9fff·]{2,9})"
)
# Two-character words that look like a name before 到 but are not (收到, 马上到, 大家到…).
_NOT_NAME_WORDS = (
    "马上 大家 全部 全员 我们 你们 他们 已经 快要 准时 一定 按时 今天 明天 现在 刚刚 我也 我已 本人 人员"
    " 领导 书记 老师 都已 人都 没有 还没 收到 迟到 做到 得到 想到 看到 听到 遇到 接到 达到 找到 提到 来到"
    " 见到 感到 受到 说到 走到 回到 轮到 签到 报到 早到 晚到 先到 后到 准点 已签 一起 我先 即将 应该"
)
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
# Characters that do not start, or do not end, a person's name in these messages.
_NOT_NAME_STARTS = "一我你他她它大全都准按已收今明现快就刚等再稍这那各每还也不没请"
_NOT_NAME_CHARS = "了不没吗呢啊吧失败"
_NOT_NAME_ENDS = "收迟做得想看听遇接达找提来见感受说走回轮早晚先后快拿用学办送等没未要将该就都也"

_LEAVE_RE = re.compile(
    r"(?:我|本人)?(?:想|要|需要|申请|特此|需)?(?:请个?假|请一次假|请一天假|请半天假|请事假|请病假)"
    r"(?:一次|一下|一天|半天)?(?:了|啦)?"
)
# "书记，我请个假…": the person addressed is not part of the reason.
_VOCATIVE = re.compile(
    r"^(?:各位|尊敬的)?[\u4e00-\u9fff]{0,3}?(?:书记|支书|领导|老师|委员)(?:好|您好)?$"
)
_REASON_LEAD = re.compile(
    r"^(?:[哈啊哦呀嘛吧](?=[,: ]|$))?[,: ]*(?:因为|因(?![公私病事])|由于|原因是?|理由是?)?[: ]*"
)

_VOLUNTEER_RE = re.compile(r"(?:参加了?|参与了?|做了?|开展了?)?志愿(?:者)?(?:服务|活动)?(?:活动)?")
_VOLUNTEER_NOISE = re.compile(r"招募|报名|通知|安排|需要|征集")
_ACTIVITY_LEAD = re.compile(
    r"^(?:[,:; ]|服务时长|时长|共计|累计|共|计|内容|活动内容|服务内容|参加|参与|在"
    r"|上午|下午|晚上|早上|中午|傍晚)+"
)
_ACTIVITY_TAIL = re.compile(r"(?:[,:; ]|了)+$")
VOLUNTEER_EXAMPLE = "例如：志愿服务 2小时 社区环境整治"

_STUDY_RE = re.compile(
    r"(?:我|今天|今日)?(?:已经|已)(?:认真|仔细|全文|全部|按时)?(?:完成)?(?:阅读学习|学习|阅读|学完|读完|学|读)(?:完毕|完成|了)?"
    r"|学习打卡|打卡学习|学习(?:任务)?(?:已经|已)?(?:完成|完毕)(?:了)?|学完了|读完了|学习已打卡"
    r"|完成学习(?:任务)?|学习了"
)
_TITLE_RE = re.compile(r"《(?P<t>[^《》]{1,200})》")
_ANY_TITLE_RE = re.compile(r"《[^《》]{0,200}》")
_PUNCT_RE = re.compile(r"[,.:;!?、。，；：！？\"“”'‘’()（）]")
_NOTE_WORDS = re.compile(
    r"第.{1,3}天|收获|体会|心得|感受|受益|深受|深刻|启发|教育|认真|觉得|感觉|很|非常|要|将|会|把"
)


def parse_checkin(text: str) -> Parsed | None:
    """Recognise 签到 / 到 / 我到了 / 张伟到 / 签到 张伟 (the whole message)."""
    compact = text.replace(" ", "")
    if _CHECKIN_RE.fullmatch(compact):
        return Parsed(Intent.CHECKIN)
    m = _NAMED_CHECKIN_RE.fullmatch(compact) or _NAMED_CHECKIN_RE.fullmatch(text)
    if m is None:
        return None
    raw = m.group("name") or m.group("name2") or ""
    name = normalize_name(raw)
    if (
        name is None
        or raw[:2] in _NOT_NAMES
        or raw[0] in _NOT_NAME_STARTS
        or raw[-1] in _NOT_NAME_ENDS
        or any(ch in _NOT_NAME_CHARS for ch in raw)
    ):
        return None
    return Parsed(Intent.CHECKIN, extra={"name": name})


def parse_leave(text: str) -> Parsed | None:
    """Recognise a leave request and keep the rest of the text as the reason."""
    m = _LEAVE_RE.search(text)
    if m is None or text.startswith("的", m.end()):
        return None  # "请假的同志…" talks about leave, it does not ask for it
    before, after = strip_edges(text[: m.start()]), strip_edges(text[m.end() :])
    before = "" if _VOCATIVE.match(before) else before
    after = strip_edges(_REASON_LEAD.sub("", after))
    reason = strip_edges(squash(f"{before} {after}" if before and after else before or after))
    reason = strip_edges(_REASON_LEAD.sub("", reason))
    return Parsed(Intent.LEAVE, reason=cap(reason))


def parse_volunteer(text: str, today: date) -> Parsed | None:
    """Recognise 志愿服务 <时长> <内容> [日期]; set `error` when the record cannot be accepted."""
    m = _VOLUNTEER_RE.search(text)
    if m is None:
        return None
    rest = cut(text, m.start(), m.end())
    duration = find_duration(rest)
    if duration is None and (m.start() > 8 or _VOLUNTEER_NOISE.search(text)):
        return None
    if duration is not None:
        rest = cut(rest, duration.start, duration.end)
    hit = find_date(rest, today, future=False)
    day = today
    error: str | None = None
    if hit is not None:
        rest = cut(rest, hit.start, hit.end)
        if hit.value is None:
            error = f"日期无效，请核对后重新填写，{VOLUNTEER_EXAMPLE} 11月18日"
        else:
            day = hit.value
            if day > today:
                error = f"服务日期不能晚于今天，{VOLUNTEER_EXAMPLE} 昨天"
    activity = _ACTIVITY_TAIL.sub("", _ACTIVITY_LEAD.sub("", squash(rest)))
    activity = cap(strip_edges(activity)) or ""
    hours = duration.hours if duration is not None else None
    if duration is None:
        error = f"请写明服务时长（小时），{VOLUNTEER_EXAMPLE}"
    elif duration.in_days:
        error = f"请按小时填写服务时长，不要用“天”，{VOLUNTEER_EXAMPLE}"
        hours = None
    elif duration.hours <= 0:
        error = f"服务时长必须大于0小时，{VOLUNTEER_EXAMPLE}"
    elif duration.hours > 24:
        error = f"单次服务时长不能超过24小时，请核对，{VOLUNTEER_EXAMPLE}"
    return Parsed(
        Intent.VOLUNTEER,
        hours=hours,
        activity=activity,
        date=day if (hit is None or hit.value is not None) else None,
        error=error,
    )


def parse_study(text: str) -> Parsed | None:
    """Recognise 已学习 [《标题》] [心得]."""
    m = _STUDY_RE.search(text)
    if m is None:
        return None
    before = strip_edges(text[: m.start()])
    if before and (
        len(before) > 40 or (_PUNCT_RE.search(before) and not _TITLE_RE.fullmatch(before))
    ):
        return None
    after = text[m.end() :]
    # Text set off by punctuation after the keyword is a reflection, never a title.
    separated = bool(_PUNCT_RE.match(after.lstrip()))
    rest = squash(f"{before} {after}")
    titles = [t.strip() for t in _TITLE_RE.findall(rest) if t.strip()]
    title = "、".join(titles) if titles else None
    note = strip_edges(squash(_ANY_TITLE_RE.sub(" ", rest)))
    looks_like_title = note and len(note) <= 20 and not _PUNCT_RE.search(note)
    if title is None and looks_like_title and not separated and not _NOTE_WORDS.search(note):
        title, note = note, ""
    return Parsed(Intent.STUDY, title=cap(title), note=cap(note) or None)


_MY_POINTS_RE = re.compile(
    r"(?:请)?(?:帮我)?(?:查询?|查看|看看|看下|看一下)?(?:一下)?(?:我的|个人|本人|我)?(?:的)?"
    r"(?:党员)?(?:积分|得分)(?:情况|明细|查询|排名|多少|是多少|有多少|多少分)?|积分查询|查询积分"
)


def parse_my_points(compact: str) -> Parsed | None:
    """Recognise 我的积分 / 积分 / 查积分 (the sender's own points this year)."""
    return Parsed(Intent.POINTS) if _MY_POINTS_RE.fullmatch(compact) else None
