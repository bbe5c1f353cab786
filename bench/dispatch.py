"""Benchmark: N synthetic chat messages through dispatch + a real database.

Usage: .venv/bin/python bench/dispatch.py [--messages 5000] [--database-url URL]
Prints messages/s and p50/p99/max latency per message. Not a test: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import FixedClock
from bot.dispatch import Dispatcher
from bot.message import Message
from storage import migrate, roster
from storage.audit import Actor
from storage.db import Database
from storage.redis import SeenFilter, connect

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
MEMBER_TEXTS = [
    "签到",
    "到",
    "已学习",
    "志愿服务 2小时 社区献血",
    "志愿服务 1.5h 文明劝导 昨天",
    "请假 出差",
    "我的",
    "收到",
    "学习打卡 很有收获",
]


def seed(db: Database, branches: int, per_branch: int, at: datetime) -> list[tuple[str, list[str]]]:
    """Create branches with synthetic members; return (chat id, member user ids) per branch."""
    chats = []
    names = [s + g + h for s in SURNAMES for g in GIVEN for h in ("", "华")]
    with db.transaction() as session:
        actor = Actor("bench", at)
        for b in range(branches):
            branch = roster.ensure_branch(session, actor, f"基准第{b + 1}支部", "Asia/Shanghai")
            users = []
            for i in range(per_branch):
                uid = f"b{b}u{i}"
                row = roster.RosterRow(
                    name=names[i],
                    title="书记" if i == 0 else "党员",
                    party_group=f"第{i % 3 + 1}党小组",
                    identities={"wecom": uid},
                )
                roster.upsert_member(session, actor, branch, row)
                users.append(uid)
            chat = roster.ensure_chat(session, "wecom", f"chat-{b}", title=None, at=at)
            roster.bind_chat(session, actor, chat, branch)
            chats.append((chat.external_id, users))
    return chats


def main() -> None:
    """Run the benchmark and print its numbers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--branches", type=int, default=20)
    parser.add_argument("--members", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    parser.add_argument(
        "--batch", type=int, default=1, help="messages per transaction (group commit)"
    )
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    db = Database(url)
    migrate.upgrade(db.engine)
    clock = FixedClock(datetime(2026, 11, 20, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    chats = seed(db, args.branches, args.members, clock.now())
    dispatcher = Dispatcher(db, SeenFilter(connect(None)), clock, "Asia/Shanghai")
    rng = random.Random(20261120)
    run = time.time_ns()  # message ids must be new even when a database is reused

    def send(chat: str, user: str, text: str, n: int) -> float:
        started = time.perf_counter()
        dispatcher.dispatch(Message("wecom", f"{run}-{n}", chat, user, text, clock.now()))
        return time.perf_counter() - started

    latencies: list[float] = []
    n = 0
    for chat, users in chats:  # every branch opens a meeting and publishes a study task
        for text in ("开会 支委会+党员大会 年度计划", "发布学习《党章》截止12月10日"):
            n += 1
            latencies.append(send(chat, users[0], text, n))
    wall = time.perf_counter()
    while n < args.messages:
        batch = []
        for _ in range(min(args.batch, args.messages - n)):
            n += 1
            chat, users = rng.choice(chats)
            clock.advance(timedelta(seconds=1))
            user, text = rng.choice(users[1:]), rng.choice(MEMBER_TEXTS)
            batch.append(Message("wecom", f"{run}-{n}", chat, user, text, clock.now()))
        started = time.perf_counter()
        dispatcher.dispatch_batch(batch)
        # Every message of a batch is answered when its commit returns.
        latencies.extend([time.perf_counter() - started] * len(batch))
    wall = time.perf_counter() - wall
    measured = sorted(latencies[2 * len(chats) :])
    backend = db.engine.dialect.name
    print(
        f"backend={backend} messages={len(measured)} branches={args.branches} "
        f"members/branch={args.members}"
    )
    print(f"throughput: {len(measured) / wall:,.0f} messages/s (one thread, batch {args.batch})")
    print(
        f"latency ms: p50={1000 * statistics.median(measured):.2f} "
        f"p99={1000 * measured[int(0.99 * (len(measured) - 1))]:.2f} "
        f"max={1000 * measured[-1]:.2f}"
    )
    db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    main()
