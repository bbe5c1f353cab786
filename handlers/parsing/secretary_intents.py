"""Secretary commands: meetings, study tasks, corrections and branch administration."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from handlers.parsing.dates import find_date
from handlers.parsing.kinds import find_kinds
from handlers.parsing.model import Intent, Parsed
from handlers.parsing.numbers import parse_int
from handlers.parsing.periods import find_period
from handlers.parsing.text import cap, cut, normalize_name, squash, strip_edges

_CLOSE_RE = re.compile(
    r"(?:请)?(?:结束签到|签到结束|散会|结束会议|会议结束|停止签到|关闭签到|签到截止|截止签到|"
    r"签到停止|签到关闭|会议签到结束|结束本次会议|本次会议结束|结束本次签到|本次签到结束)(?:了|啦|吧)?"
)
_OPEN_RE = re.compile(
    r"(?:开会|发起签到|开始签到|会议签到|发起会议|开始会议|开启签到|召开会议|现在开会|会议开始)"
    r"(?=$|[ :,]|支|党|小组|全体|主题|组织|民主|讲|书记|专题|微)"
)
_TOPIC_LABEL = re.compile(r"^(?:主题|议题|内容|会议主题|会议内容)[: ]*")
_PUBLISH_RE = re.compile(
    r"(?:发布学习(?:任务|内容)?|布置学习(?:任务)?|发布学习资料|新学习任务|"
    r"学习任务(?! ?(?:已经|已)?(?:完成|打卡|学完|做完)))[: ]*"
)
_TITLE_RE = re.compile(r"《(?P<t>[^《》]{1,200})》")
_LINK_RE = re.compile(r"https?://[^\s《》，。、\"'<>()]{1,500}")
_DEADLINE_BEFORE = re.compile(
    r"(?:截止日期|截止时间|截止到|截至到|截止|截至|最迟|最晚|务必于|请于|须于|于|在)[: ]*$"
)
_DEADLINE_AFTER = re.compile(r" ?(?:之前|以前|前)?(?:完成|学完)?")
_CORRECTION_RE = re.compile(r"补录[: ]*")
_CORRECTION_ACTIONS = re.compile(
    r"(?P<checkin>签到|到会|出席|参会|已到)|(?P<leave>请假)|(?P<study>已学习|学习)|(?P<makeup>补课)|"
    r"(?P<absent>缺席|缺会|未到|旷会|缺勤)"
)
_BIND_RE = re.compile(r"绑定(?:支部|党支部)?[: ]*")
_ADD_RE = re.compile(r"(?:添加|新增|增加|录入)(?:成员|党员|人员)[: ]*")
_ORDINAL_GROUP_RE = re.compile(r"第? ?[一二三四五六七八九十0-9]{1,3} ?(?:党小组|小组)")
_NAMED_GROUP_RE = re.compile(r"[\u4e00-\u9fff]{1,10}(?:党小组|小组)")
_STATUS_RE = re.compile(r"(?P<p>预备党员|预备)|(?P<f>正式党员|正式)")
# An account id is a whole space-separated ASCII token ("zhangwei01", "13800138000").
_ACCOUNT_RE = re.compile(r"(?:^|(?<= ))[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}(?= |$)")
_SET_ROLE_RE = re.compile(
    r"(?:把|将)?(?P<pre>[^ ]{0,12}?) ?(?:设为|设置为|设成|任命为?|指定为?)"
    r"(?P<role>书记|副书记|管理员|组织委员|宣传委员|纪检委员|支委)[: ]*(?P<post>.*)"
)
_UNSET_ROLE_RE = re.compile(
    r"(?:取消|撤销|移除|撤掉|删除)(?P<role>管理员|书记|组织委员|管理)(?:权限|身份|角色)?[: ]*(?P<post>.*)"
)

NO_KIND_ERROR = "请说明会议类型，例如：开会 支委会 学习党章"
NO_TITLE_ERROR = "请用《》写明学习内容的标题，例如：发布学习 《党章》 截止12月10日"


def parse_close(compact: str) -> Parsed | None:
    """Recognise the end of a meeting's check-in."""
    return Parsed(Intent.CLOSE_MEETING) if _CLOSE_RE.fullmatch(compact) else None


# "地点:三楼会议室 主持:李明 记录:王芳" after the topic (the colon is required, so topics stay free).
_MEETING_FIELD_RE = re.compile(
    r"(?:^|(?<=[ ,;]))(?P<key>会议地点|地点|地址|主持人|主持|记录人|记录员|记录):[ ]?(?P<value>[^ ,;]{1,50})"
)
_MEETING_FIELD_KEYS = {
    "会议地点": "place",
    "地点": "place",
    "地址": "place",
    "主持人": "host",
    "主持": "host",
    "记录人": "recorder",
    "记录员": "recorder",
    "记录": "recorder",
}


def meeting_fields(rest: str) -> tuple[str, dict[str, str]]:
    """Take 地点/主持/记录 out of an 开会 command; return the rest and the fields found."""
    fields: dict[str, str] = {}
    for m in reversed(list(_MEETING_FIELD_RE.finditer(rest))):
        fields.setdefault(_MEETING_FIELD_KEYS[m.group("key")], m.group("value"))
        rest = cut(rest, m.start(), m.end())
    return rest, fields


def parse_open(text: str) -> Parsed | None:
    """Recognise 开会 <类型> [主题] [地点:… 主持:… 记录:…]."""
    m = _OPEN_RE.match(text)
    if m is None:
        return None
    rest, fields = meeting_fields(text[m.end() :].strip())
    hit = find_kinds(rest)
    if hit is None:
        return Parsed(
            Intent.OPEN_MEETING, error=NO_KIND_ERROR, topic=cap(strip_edges(rest)) or None
        )
    topic = squash(rest[: hit.start] + " " + rest[hit.end :])
    topic = strip_edges(_TOPIC_LABEL.sub("", strip_edges(topic)))
    return Parsed(Intent.OPEN_MEETING, kinds=hit.kinds, topic=cap(topic), extra=fields)


def parse_publish(text: str, today: date) -> Parsed | None:
    """Recognise 发布学习 《标题》 [截止 日期] [链接]."""
    m = _PUBLISH_RE.match(text)
    if m is None:
        return None
    rest = text[m.end() :]
    link_m = _LINK_RE.search(rest)
    link = link_m.group() if link_m else None
    if link_m:
        rest = cut(rest, link_m.start(), link_m.end())
    title: str | None = None
    title_m = _TITLE_RE.search(rest)
    if title_m:
        title = title_m.group("t").strip()
        rest = cut(rest, title_m.start(), title_m.end())
    hit = find_date(rest, today, future=True)
    deadline = hit.value if hit else None
    if hit:
        before = _DEADLINE_BEFORE.search(rest, 0, hit.start)
        after = _DEADLINE_AFTER.match(rest, hit.end)
        start = before.start() if before else hit.start
        rest = cut(rest, start, after.end() if after else hit.end)
    rest = strip_edges(squash(rest))
    if title is None and rest and len(rest) <= 50:
        title = rest
    if not title:
        return Parsed(Intent.PUBLISH_STUDY, error=NO_TITLE_ERROR, deadline=deadline, link=link)
    return Parsed(Intent.PUBLISH_STUDY, title=cap(title), deadline=deadline, link=link)


def parse_correction(text: str) -> Parsed | None:
    """Recognise 补录 <姓名> <签到|请假 [原因]|学习 [《标题》]|补课|缺席>."""
    m = _CORRECTION_RE.match(text)
    if m is None:
        return None
    rest = text[m.end() :]
    act = _CORRECTION_ACTIONS.search(rest)
    example = "例如：补录 张伟 签到"
    if act is None:
        name = normalize_name(rest)
        return Parsed(
            Intent.CORRECTION,
            name=name,
            error=f"请写明补录的事项（签到、请假、学习、补课或缺席），{example}",
        )
    action = act.lastgroup or ""
    before, after = rest[: act.start()].strip(), rest[act.end() :].strip()
    name_text = before
    if not before:
        # "补录 签到 张伟": the name follows the action.
        name_text, _, after = after.partition(" ")
    name = normalize_name(name_text)
    reason: str | None = None
    if action in ("leave", "study"):
        title_m = _TITLE_RE.search(after)
        reason = title_m.group("t") if title_m and action == "study" else strip_edges(after)
    reason = cap(reason) or None
    if name is None:
        return Parsed(
            Intent.CORRECTION, action=action, reason=reason, error=f"请写明成员姓名，{example}"
        )
    return Parsed(Intent.CORRECTION, name=name, action=action, reason=reason)


_BIND_PUSH_RE = re.compile(r"(?:绑定|设置|配置)(?:消息)?推送(?:地址|机器人)?[: ]*|推送地址[: ]*")
_PUSH_TARGET_RE = re.compile(r"[A-Za-z0-9:/?=&._%-]{8,500}")


def parse_bind_push(text: str) -> Parsed | None:
    """Recognise 绑定推送 <webhook 地址或 key> (the group robot that carries unprompted pushes)."""
    m = _BIND_PUSH_RE.match(text)
    if m is None:
        return None
    target = text[m.end() :].strip()
    if not _PUSH_TARGET_RE.fullmatch(target):
        return Parsed(
            Intent.BIND_PUSH,
            error="请附上群机器人的 webhook 地址，例如：绑定推送 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
        )
    return Parsed(Intent.BIND_PUSH, target=target)


def parse_bind(text: str) -> Parsed | None:
    """Recognise 绑定 <支部名称>."""
    m = _BIND_RE.match(text)
    if m is None:
        return None
    name = strip_edges(text[m.end() :])
    if not name:
        return Parsed(Intent.BIND, error="请写明支部名称，例如：绑定 第一党支部")
    return Parsed(Intent.BIND, name=cap(name))


def parse_add_member(text: str) -> Parsed | None:
    """Recognise 添加成员 <姓名> [党小组] [预备党员|正式党员] [账号]."""
    m = _ADD_RE.match(text)
    if m is None:
        return None
    rest = text[m.end() :]
    group: str | None = None
    group_m = _ORDINAL_GROUP_RE.search(rest)
    if group_m:
        group = group_m.group().replace(" ", "")
        rest = cut(rest, group_m.start(), group_m.end())
    probationary = False
    status_m = _STATUS_RE.search(rest)
    if status_m:
        probationary = status_m.group("p") is not None
        rest = cut(rest, status_m.start(), status_m.end())
    rest = squash(rest)
    account_m = _ACCOUNT_RE.search(rest)
    account = account_m.group() if account_m else None
    if account_m:
        rest = cut(rest, account_m.start(), account_m.end())
    tokens = rest.split()
    if group is None:
        named = [t for t in tokens[1:] if _NAMED_GROUP_RE.fullmatch(t)]
        if named:
            group = named[0]
            tokens.remove(group)
    name = normalize_name(tokens[0]) if len(tokens) == 1 else None
    if name is None:
        return Parsed(
            Intent.ADD_MEMBER,
            group=group,
            probationary=probationary,
            account=account,
            error="请写明成员姓名（2–4个汉字），例如：添加成员 张伟 第一党小组 预备党员",
        )
    return Parsed(
        Intent.ADD_MEMBER, name=name, group=group, probationary=probationary, account=account
    )


def parse_set_role(text: str) -> Parsed | None:
    """Recognise 设为书记/设为管理员/设为组织委员 <姓名> and 取消管理员 <姓名>."""
    m = _SET_ROLE_RE.fullmatch(text)
    action = "secretary"
    if m is None:
        m = _UNSET_ROLE_RE.fullmatch(text)
        action = "member"
        if m is None:
            return None
    pre = m.groupdict().get("pre") or ""
    name = normalize_name(m.group("post") or pre)
    if name is None:
        return Parsed(Intent.SET_ROLE, action=action, error="请写明成员姓名，例如：设为管理员 张伟")
    return Parsed(Intent.SET_ROLE, name=name, action=action)


_POINTS_RANK_RE = re.compile(
    r"(?:请)?(?:查看|看看|看下|看一下|查询?|公布|发布)?(?:一下)?(?:本支部|支部|全支部|全体)?(?:的)?"
    r"(?:党员)?积分(?:排名|排行榜?|榜)(?:情况|名单)?"
)
_POINTS_RANK_FILLERS = re.compile(r"的|一下|情况|名单|前十名?|前10名?|累计|度")
_POINTS_ADJUST_RE = re.compile(r"(?:积分调整|调整积分|积分变更|调整积分为?)[: ]*")
_POINTS_AMOUNT = re.compile(
    r"(?P<sign>[+\-−]|加|减|扣除|扣|负|正)? ?"
    r"(?P<num>[0-9]{1,30}(?:\.[0-9]{1,12})?|[零〇一二两三四五六七八九十百千]{1,8}|半)"
    r"(?![0-9.]) ?(?:分)?"
)
_POINTS_NAME_AMOUNT = re.compile(r"(?P<name>[\u4e00-\u9fff·・•.]{2,12}?) ?(?=[+\-−加减扣负正0-9])")
_POINTS_REASON_LEAD = re.compile(r"^(?:原因|理由|事由|依据|因为|由于|因)[: ]*")
POINTS_ADJUST_EXAMPLE = "例如：积分调整 张伟 +2 参加抗洪抢险"
MAX_POINTS_ADJUST = 100
MAX_POINTS_REASON = 100


def parse_points_rank(compact: str, today: date) -> Parsed | None:
    """Recognise 积分排名 [本月|今年|2026年10月] (the branch's ranking; the year by default)."""
    m = _POINTS_RANK_RE.search(compact)
    if m is None:
        return None
    rest = cut(compact, m.start(), m.end())
    hit = find_period(rest, today)
    period = "this_year"
    if hit is not None:
        period = hit.value
        rest = cut(rest, hit.start, hit.end)
    if strip_edges(_POINTS_RANK_FILLERS.sub(" ", rest)):
        return None
    return Parsed(Intent.POINTS_RANK, period=period)


def _points_value(sign: str | None, number: str) -> Decimal | None:
    """The signed amount of 积分调整, or None when the number cannot be read."""
    if number == "半":
        value = Decimal("0.5")
    elif number[0].isdigit():
        value = Decimal(number)
    else:
        whole = parse_int(number)
        if whole is None:
            return None
        value = Decimal(whole)
    return -value if sign in ("-", "−", "减", "扣", "扣除", "负") else value


def parse_points_adjust(text: str) -> Parsed | None:
    """Recognise 积分调整 <姓名> <+2|-2|加2分|扣1分|负2> <原因>."""
    m = _POINTS_ADJUST_RE.match(text)
    if m is None:
        return None
    rest = text[m.end() :].replace("@", " ").strip()
    name_text, _, after = rest.partition(" ")
    amount = _POINTS_AMOUNT.match(after.strip())
    if normalize_name(name_text) is None or amount is None:
        joined = _POINTS_NAME_AMOUNT.match(rest)
        if joined is not None:
            name_text, after = joined.group("name"), rest[joined.end() :]
            amount = _POINTS_AMOUNT.match(after)
        else:
            amount = None
    name = normalize_name(name_text)
    if name is None:
        return Parsed(
            Intent.POINTS_ADJUST, error=f"请写明成员姓名和调整分值，{POINTS_ADJUST_EXAMPLE}"
        )
    if amount is None:
        return Parsed(
            Intent.POINTS_ADJUST,
            name=name,
            error=f"请写明调整分值（如 +2 或 -2），{POINTS_ADJUST_EXAMPLE}",
        )
    value = _points_value(amount.group("sign"), amount.group("num"))
    reason_text = strip_edges(after.strip()[amount.end() :])
    reason = strip_edges(_POINTS_REASON_LEAD.sub("", reason_text))
    error: str | None = None
    if value is None:
        error = f"没有看懂调整分值，{POINTS_ADJUST_EXAMPLE}"
    elif value == 0:
        error = f"调整分值不能为 0，未记录。{POINTS_ADJUST_EXAMPLE}"
    elif abs(value) > MAX_POINTS_ADJUST:
        error = f"单次调整分值需在 -{MAX_POINTS_ADJUST} 到 +{MAX_POINTS_ADJUST} 之间，未记录。{POINTS_ADJUST_EXAMPLE}"
    elif value != value.quantize(Decimal("0.01")):
        error = f"调整分值最多保留两位小数，未记录。{POINTS_ADJUST_EXAMPLE}"
    elif not reason:
        error = f"请写明调整原因，{POINTS_ADJUST_EXAMPLE}"
    elif len(reason) > MAX_POINTS_REASON:
        error = f"调整原因请控制在{MAX_POINTS_REASON}字以内，未记录。"
    shown = None if value is None else f"{value.normalize():+f}"
    return Parsed(
        Intent.POINTS_ADJUST, name=name, points=shown, reason=cap(reason) or None, error=error
    )
