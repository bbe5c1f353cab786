"""The monthly summary reaches a WeCom webhook chat as text followed by its PNG chart."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.clock import FixedClock
from bot.runtime import Runtime
from scheduler.chart_png import BAR, Layout
from scheduler.reminders import Scheduler
from storage.models import OutboxEntry
from tests.e2e.conftest import WECOM_AES_KEY, WECOM_TOKEN
from tests.e2e.test_wecom_flow import WeComGroup, drain_until_quiet
from tests.fakes.wecom import FakeWeCom
from tests.scheduler.test_chart_png import column_height, decode

KEY = "693a91f6-7f0e-4bc4-97a0-0ec2a1fa5aaa"
MakeApp = Callable[..., tuple[Runtime, Starlette, TestClient]]


def test_monthly_summary_carries_a_chart_on_the_webhook(
    make_app: MakeApp, clock: FixedClock
) -> None:
    with FakeWeCom(KEY) as fake:
        runtime, app, client = make_app(
            wecom_token=WECOM_TOKEN, wecom_aes_key=WECOM_AES_KEY, wecom_api_base=fake.base_url
        )
        group = WeComGroup(client, clock)
        group.say("liming", f"绑定推送 {KEY}")
        group.say("liming", "开会 党员大会 学习党章")
        for userid in ("zhaolei", "wangfang", "zhangwei", "liuyang", "liming"):
            group.say(userid, "签到")
        group.say("liming", "结束签到")
        group.say("liming", "发布学习《党章》截止11月30日")
        group.say("huangli", "已学习")
        drain_until_quiet(app.state.sender, clock, rounds=2)
        fake.reset()

        due = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        clock.set(due)
        for _ in range(2):
            Scheduler(runtime.db).tick(due)
        drain_until_quiet(app.state.sender, clock, rounds=8)

        with runtime.db.session() as session:
            row = (
                session.query(OutboxEntry)
                .filter(
                    OutboxEntry.kind == "reminder.summary", OutboxEntry.text.like("%11月月总结%")
                )
                .one()
            )
            assert row.status == "sent"
            recipe = json.loads(row.attachment or "{}")
        assert recipe["type"] == "chart" and recipe["months"] == list(range(1, 12))
        november = recipe["attendance"][-1]
        assert november == 50  # 5 of the 10 members signed in
        assert recipe["study"][-1] == 10  # 1 of 10 confirmed

        sent = fake.sent(KEY)
        index = next(
            i for i, m in enumerate(sent) if "11月月总结" in m.get("text", {}).get("content", "")
        )
        text = sent[index]["text"]["content"]
        assert "出勤率50%" in text and "蓝柱为会议出勤率" in text
        image = sent[index + 1]  # the chart follows its text
        assert image["msgtype"] == "image"
        data = base64.b64decode(image["image"]["base64"])
        assert hashlib.md5(data, usedforsecurity=False).hexdigest() == image["image"]["md5"]
        _w, _h, rows = decode(data)
        layout = Layout(11)
        x = layout.bar(10)[0] + 1
        assert column_height(rows, x, BAR) == layout.height_of(50)
        assert all(column_height(rows, layout.bar(i)[0] + 1, BAR) == 0 for i in range(10))
        assert len(fake.of_type(KEY, "image")) == 1
        assert re.search(r"学习：1项任务，完成率10%", text)
