"""`zhibu console`: a terminal group chat of one branch, through the production dispatch path."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import TextIO
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot.clock import FixedClock, SystemClock
from bot.message import DispatchResult, Message
from bot.roster_csv import sample_roster
from bot.runtime import Runtime
from scheduler.reminders import OUTBOX_KIND, Scheduler
from storage import messages, roster
from storage.audit import Actor
from storage.models import Branch, Member

PLATFORM = "console"
DEMO_BRANCH = "示例党支部"
BOT_NAME = "支部助手"

CONSOLE_HELP = """控制台命令：
  /as 姓名        切换发言人（默认是书记）
  /who            查看名册
  /time 2027-07-01 08:00   把时钟拨到某一时刻，并显示此刻会推送的提醒（/time now 恢复真实时间）
  /help           显示本帮助；发送「帮助」看机器人的指令
  /quit           退出
其他输入都当作群消息发给机器人（可带 @支部助手）。"""


class ConsoleError(Exception):
    """The console cannot start; the message says why, in Chinese."""


class SwitchableClock:
    """The wall clock until /time sets a fixed moment."""

    def __init__(self) -> None:
        self._fixed: FixedClock | None = None
        self._system = SystemClock()

    def now(self) -> datetime:
        """Return the fixed moment if one is set, else the wall clock."""
        return self._fixed.now() if self._fixed else self._system.now()

    def set(self, moment: datetime | None) -> None:
        """Fix the clock at a moment, or go back to the wall clock with None."""
        self._fixed = FixedClock(moment) if moment else None


def choose_branch(runtime: Runtime, name: str | None) -> tuple[Branch, bool]:
    """Find the branch to talk to, seeding the demo branch when there is none at all."""
    with runtime.db.transaction() as session:
        if name:
            branch = roster.get_branch(session, name)
            if branch is None:
                known = "、".join(b.name for b in roster.list_branches(session)) or "无"
                raise ConsoleError(
                    f"没有找到支部“{name}”。已有支部：{known}。"
                    "可用 zhibu roster import 名册.csv --branch 名称 导入。"
                )
            return branch, False
        branches = roster.list_branches(session)
        if len(branches) == 1:
            return branches[0], False
        if branches:
            raise ConsoleError(
                "有多个支部，请用 --branch 指定：" + "、".join(b.name for b in branches)
            )
        actor = Actor("console", runtime.clock.now())
        branch = roster.ensure_branch(session, actor, DEMO_BRANCH, runtime.settings.tz)
        roster.import_roster(session, actor, branch, sample_roster().rows)
        return branch, True


class Console:
    """A scripted or interactive group chat with the bot."""

    def __init__(
        self, runtime: Runtime, branch: Branch, clock: SwitchableClock, out: TextIO
    ) -> None:
        self.runtime = runtime
        self.branch = branch
        self.clock = clock
        self.out = out
        self.chat_id = f"console-{branch.id}"
        self.scheduler = Scheduler(runtime.db)
        self._ids = itertools.count(1)
        self._session_tag = f"{int(clock.now().timestamp() * 1000)}"
        self.speaker = self._default_speaker()
        self._bind_chat()

    def _members(self) -> list[Member]:
        with self.runtime.db.session() as session:
            return roster.active_members(session, self.branch.id)

    def _default_speaker(self) -> str:
        members = self._members()
        if not members:
            raise ConsoleError(f"{self.branch.name} 的名册是空的，请先导入名册。")
        secretaries = [m for m in members if m.is_secretary]
        return (secretaries or members)[0].name

    def _bind_chat(self) -> None:
        with self.runtime.db.transaction() as session:
            actor = Actor("console", self.clock.now())
            chat = roster.ensure_chat(
                session, PLATFORM, self.chat_id, title=f"{self.branch.name}（控制台）", at=actor.at
            )
            if chat.branch_id != self.branch.id:
                branch = roster.get_branch(session, self.branch.name)
                if branch is not None:
                    roster.bind_chat(session, actor, chat, branch)
            self._ensure_identity(session, actor, self.speaker)

    def _ensure_identity(self, session: Session, actor: Actor, name: str) -> bool:
        member = roster.find_member_by_name(session, self.branch.id, name)
        if member is None:
            return False
        # In the console a member's user id is their name: the console is the "platform".
        return roster.set_identity(session, actor, member, PLATFORM, name)

    def say(self, text: str) -> None:
        """Print a line as the bot would post it."""
        self.out.write(text + "\n")
        self.out.flush()

    def command(self, line: str) -> bool:
        """Run a /command; return False to quit."""
        verb, _, arg = line[1:].strip().partition(" ")
        arg = arg.strip()
        if verb in ("quit", "exit", "q"):
            return False
        if verb == "as":
            self.switch(arg)
        elif verb == "who":
            self.say(
                "名册："
                + "、".join(
                    f"{m.name}（{m.title}{'，管理员' if m.is_secretary else ''}）"
                    for m in self._members()
                )
            )
        elif verb == "time":
            self.set_time(arg)
        else:
            self.say(CONSOLE_HELP)
        return True

    def switch(self, name: str) -> None:
        """Speak as another member of the roster (or as an outsider, to try that path)."""
        if not name:
            self.say(f"当前发言人：{self.speaker}。用法：/as 姓名")
            return
        with self.runtime.db.transaction() as session:
            known = self._ensure_identity(session, Actor("console", self.clock.now()), name)
        self.speaker = name
        self.say(f"（现在以 {name} 的身份发言{'' if known else '，此人不在名册中'}）")

    def set_time(self, arg: str) -> None:
        """Move the console's clock: /time 2027-07-01 08:00, or /time now."""
        if arg in ("", "now"):
            self.clock.set(None)
            self.say("（时钟已恢复为真实时间）")
            return
        try:
            moment = datetime.fromisoformat(arg.replace("T", " "))
        except ValueError:
            self.say("时间格式应为：/time 2027-07-01 08:00")
            return
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo(self.branch.timezone))
        self.clock.set(moment)
        self.say(f"（时钟已拨到 {moment:%Y-%m-%d %H:%M}）")
        self.remind()

    def remind(self) -> None:
        """Run the reminder scheduler at the console's time and show what it would push here."""
        report = self.scheduler.tick(self.clock.now(), platforms=frozenset({PLATFORM}))
        shown = self.flush_outbox()
        if report.skipped:
            self.say(f"（另有 {report.skipped} 条提醒已过了有效期，按规则不再发送）")
        if not shown and not report.skipped:
            self.say("（此刻没有到期的提醒）")

    def flush_outbox(self) -> int:
        """Print what the bot has queued for this chat, as the platform would deliver it."""
        shown = 0
        with self.runtime.db.transaction() as session:
            for row in messages.pending_for(session, PLATFORM, self.chat_id):
                label = "[提醒]" if row.kind.startswith(OUTBOX_KIND) else ""
                self.say(f"[{BOT_NAME}]{label} {row.text}")
                messages.mark_sent(session, row, self.clock.now())
                shown += 1
        return shown

    def send(self, text: str) -> DispatchResult:
        """Send a chat line as the current speaker and print the bot's replies."""
        message = Message(
            platform=PLATFORM,
            message_id=f"{self._session_tag}-{next(self._ids)}",
            chat_id=self.chat_id,
            sender_id=self.speaker,
            sender_name=self.speaker,
            text=text,
            sent_at=self.clock.now(),
        )
        result = self.runtime.dispatcher.dispatch(message)
        self.flush_outbox()
        return result

    def run(self, lines: Iterable[str], interactive: bool) -> None:
        """Feed lines to the chat until they run out or /quit."""
        for raw in lines:
            line = raw.rstrip("\r\n")
            if not interactive and line.strip():
                self.say(f"{self.speaker}: {line}")
            if line.strip().startswith("/"):
                if not self.command(line.strip()):
                    break
            elif line.strip():
                self.send(line)


def interactive_lines(console: Console) -> Iterator[str]:
    """Prompt with the speaker's name and yield typed lines until EOF."""
    while True:
        try:
            yield input(f"{console.speaker}> ")
        except (EOFError, KeyboardInterrupt):
            console.say("")
            return


def run_console(
    runtime: Runtime,
    clock: SwitchableClock,
    branch_name: str | None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Start the console on a branch and run it over stdin; return an exit code."""
    stdin = stdin or sys.stdin
    out = out or sys.stdout
    try:
        branch, seeded = choose_branch(runtime, branch_name)
        console = Console(runtime, branch, clock, out)
    except ConsoleError as exc:
        sys.stderr.write(f"错误：{exc}\n")
        return 1
    interactive = stdin.isatty()
    if interactive or seeded:
        note = "（已用内置示例名册创建演示支部，均为虚构人员）" if seeded else ""
        console.say(
            f"已进入 {branch.name} 群聊{note}。当前发言人：{console.speaker}。/help 查看控制台命令。"
        )
    console.run(interactive_lines(console) if interactive else stdin, interactive)
    return 0
