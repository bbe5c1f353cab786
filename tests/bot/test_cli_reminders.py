"""`zhibu reminders preview / tick` and `zhibu calendar show / set` as real subprocesses, each test
with its own SQLite ledger; and the scheduler's tick run twice at one moment, in process, on
every configured database backend (the CLI's tick reads the wall clock).

Working days are checked with `chinese_calendar` itself, not with the code under test."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import func, select

from bot.roster_csv import read_roster
from scheduler.reminders import Scheduler
from storage import roster
from storage.audit import Actor
from storage.db import Database
from storage.models import OutboxEntry
from tests.cli_runner import run_zhibu

ROSTER = Path(__file__).parent.parent / "data" / "roster_sample.csv"
BRANCH = "机关第一支部"
TZ = ZoneInfo("Asia/Shanghai")
OCTOBER = ("--from", "2026-10-01", "--to", "2026-11-01")
KEYS = {"due", "kind", "rule", "chat", "text"}
HEADER = re.compile(r"^(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) \[([a-z_]+)\](?: → (\S+))?$")
SUMMARY = re.compile(
    r"^已检查 (\d+) 个支部：新排入 (\d+) 条，过期跳过 (\d+) 条，已排过 (\d+) 条。$"
)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A ledger with the sample roster imported as one branch, no chat bound."""
    done = run_zhibu(tmp_path, "roster", "import", ROSTER, "--branch", BRANCH)
    assert done.returncode == 0, done.stderr
    return tmp_path


def ok(cwd: Path, *args: str) -> str:
    """Run a command that must succeed; its stdout."""
    done = run_zhibu(cwd, *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def assert_clean_error(done: subprocess.CompletedProcess[str], *words: str) -> None:
    """A non-zero exit with a Chinese 错误： line, nothing on stdout, no traceback."""
    assert done.returncode != 0
    assert done.stderr.startswith("错误：")
    assert re.search(r"[\u4e00-\u9fff]", done.stderr.removeprefix("错误："))
    assert "Traceback" not in done.stderr
    assert done.stdout == ""
    for word in words:
        assert word in done.stderr


def preview(cwd: Path, *window: str) -> list[dict[str, str]]:
    """`reminders preview --format json` for the sample branch."""
    rows: list[dict[str, str]] = json.loads(
        ok(cwd, "reminders", "preview", "--branch", BRANCH, *window, "--format", "json")
    )
    assert isinstance(rows, list)
    return rows


def show(cwd: Path) -> str:
    """`calendar show` for the sample branch."""
    return ok(cwd, "calendar", "show", "--branch", BRANCH)


def calendar_set(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`calendar set` for the sample branch."""
    return run_zhibu(cwd, "calendar", "set", "--branch", BRANCH, *args)


def is_workday(day: date) -> bool:
    """The official answer, independent of scheduler.workdays."""
    return bool(chinese_calendar.is_workday(day))


def next_workday(day: date) -> date:
    """`day` itself if a working day, else the first working day after it."""
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def first_friday(year: int, month: int) -> date:
    """The first Friday of a month."""
    day = date(year, month, 1)
    return day + timedelta(days=(4 - day.weekday()) % 7)


def due_of(row: dict[str, str]) -> datetime:
    """A preview row's time."""
    return datetime.fromisoformat(row["due"])


def theme_days(rows: list[dict[str, str]]) -> list[datetime]:
    """When the 主题党日 day-of notices go out."""
    return [due_of(r) for r in rows if r["rule"] == "day_of" and r["kind"] == "主题党日"]


# --- preview: JSON -------------------------------------------------------------------------


def test_october_preview_respects_quiet_hours_and_the_national_day_holiday(
    workdir: Path,
) -> None:
    rows = preview(workdir, *OCTOBER)
    assert rows
    for row in rows:
        assert set(row) == KEYS
        assert all(isinstance(value, str) for value in row.values())
        assert row["chat"] == ""
        assert row["text"].strip()
        assert row["due"].endswith("+08:00")
        due = due_of(row)
        assert due.utcoffset() == timedelta(hours=8)
        assert datetime(2026, 10, 1, tzinfo=TZ) <= due < datetime(2026, 11, 1, tzinfo=TZ)
        assert time(8, 0) <= due.time() < time(21, 0), row
        assert is_workday(due.date()), row
        assert not date(2026, 10, 1) <= due.date() <= date(2026, 10, 7), row
    assert [due_of(r) for r in rows] == sorted(due_of(r) for r in rows)

    # First Friday is 2 October, inside the holiday; the plan moves it to the next working day.
    friday = first_friday(2026, 10)
    assert friday == date(2026, 10, 2) and not is_workday(friday)
    moved = next_workday(friday)
    assert moved == date(2026, 10, 8)
    day_of = [r for r in rows if r["rule"] == "day_of" and r["kind"] == "主题党日"]
    assert len(day_of) == 1
    assert day_of[0]["due"] == "2026-10-08T08:30:00+08:00"
    assert due_of(day_of[0]) == datetime.combine(moved, time(8, 30), TZ)
    assert "主题党日" in day_of[0]["text"]


def test_a_bound_chat_is_named_in_the_preview(workdir: Path) -> None:
    before = preview(workdir, *OCTOBER)
    done = run_zhibu(
        workdir,
        "chat",
        "bind",
        "--platform",
        "wecom",
        "--chat-id",
        "wrk-group-42",
        "--webhook-key",
        "hook-key-1",
        "--branch",
        BRANCH,
    )
    assert done.returncode == 0, done.stderr
    assert "wrk-group-42" in done.stdout
    after = preview(workdir, *OCTOBER)
    assert len(after) == len(before)
    assert {r["chat"] for r in after} == {"wrk-group-42"}
    strip = [{k: v for k, v in r.items() if k != "chat"} for r in after]
    assert strip == [{k: v for k, v in r.items() if k != "chat"} for r in before]


# --- preview: text and errors --------------------------------------------------------------


def test_text_preview_lists_each_reminder_and_counts_them(workdir: Path) -> None:
    rows = preview(workdir, *OCTOBER)
    lines = ok(workdir, "reminders", "preview", "--branch", BRANCH, *OCTOBER).splitlines()
    assert lines[-1] == f"共 {len(rows)} 条。"
    headers = [HEADER.match(line) for line in lines[:-1] if not line.startswith("  ")]
    assert all(headers), lines
    found = [(m.group(1), m.group(2)) for m in headers if m]
    expected = [(f"{due_of(r):%Y-%m-%d %H:%M}", r["rule"]) for r in rows]
    assert found == expected
    # Every message's text follows its header, indented.
    body = "\n".join(lines)
    for row in rows:
        assert "  " + row["text"].replace("\n", "\n  ") in body


def test_text_preview_names_the_bound_chat(workdir: Path) -> None:
    ok(workdir, "chat", "bind", "--chat-id", "wrk-group-7", "--branch", BRANCH)
    lines = ok(workdir, "reminders", "preview", "--branch", BRANCH, *OCTOBER).splitlines()
    headers = [line for line in lines[:-1] if not line.startswith("  ")]
    assert headers
    assert all(line.endswith(" → wrk-group-7") for line in headers)


def test_an_empty_window_says_so(workdir: Path) -> None:
    window = ("--from", "2026-10-02", "--to", "2026-10-06")
    out = ok(workdir, "reminders", "preview", "--branch", BRANCH, *window)
    assert out.splitlines() == ["这段时间没有要推送的提醒。"]
    assert preview(workdir, *window) == []


def test_a_window_of_exactly_two_years_is_allowed(workdir: Path) -> None:
    out = ok(
        workdir, "reminders", "preview", "--branch", BRANCH, "--from", "2026-01-01", "--to",
        "2028-01-01",
    )  # fmt: skip
    assert re.fullmatch(r"共 \d+ 条。", out.splitlines()[-1])


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--branch", "无此支部", *OCTOBER), ("没有支部“无此支部”", "roster import")),
        (("--branch", BRANCH, "--from", "2026-11-01", "--to", "2026-10-01"), ("应晚于",)),
        (("--branch", BRANCH, "--from", "2026-10-01", "--to", "2026-10-01"), ("应晚于",)),
        (("--branch", BRANCH, "--from", "2026-01-01", "--to", "2028-01-02"), ("两年",)),
        (("--branch", BRANCH, "--from", "2026-01-01", "--to", "2028-03-10"), ("两年",)),
        (("--branch", BRANCH, "--from", "2026-01-01", "--to", "2030-01-01"), ("两年",)),
        (("--branch", BRANCH, "--from", "2026-13-01", "--to", "2027-01-01"), ("开始时间",)),
        (("--branch", BRANCH, "--from", "2026/10/01", "--to", "2027-01-01"), ("开始时间",)),
        (("--branch", BRANCH, "--from", "2026-10-01", "--to", "明年"), ("结束时间",)),
        (("--branch", BRANCH, "--from", "9999-01-01", "--to", "9999-02-01"), ("年份",)),
        (("--branch", BRANCH, *OCTOBER, "--format", "xml"), ("text / json",)),
    ],
)
def test_bad_preview_input_is_a_clean_chinese_error(
    workdir: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    assert_clean_error(run_zhibu(workdir, "reminders", "preview", *args), *words)


# --- calendar set / show -------------------------------------------------------------------


def test_defaults_are_shown(workdir: Path) -> None:
    lines = show(workdir).splitlines()
    assert lines[0] == f"{BRANCH} 日历设置："
    assert "  主题党日：每月第一个周五" in lines
    assert "  提醒：开启；提前 3 天及当天 08:30 预告" in lines
    assert "  免打扰：21:00-08:00；休息日不推送" in lines
    nodes = next(line for line in lines if line.startswith("  节点日："))
    assert "5-10" not in nodes


def test_a_new_day_rule_changes_the_plan(workdir: Path) -> None:
    done = calendar_set(workdir, "--day", "主题党日=每月10日")
    assert done.returncode == 0, done.stderr
    assert "  主题党日：每月10日" in done.stdout.splitlines()
    assert "  主题党日：每月10日" in show(workdir).splitlines()  # a new process reads it back
    expected = next_workday(date(2026, 10, 10))
    assert theme_days(preview(workdir, *OCTOBER)) == [datetime.combine(expected, time(8, 30), TZ)]


def test_a_node_day_can_be_switched_on(workdir: Path) -> None:
    window = ("--from", "2026-04-20", "--to", "2026-05-15")
    assert not [r for r in preview(workdir, *window) if "思廉日" in r["text"]]
    assert calendar_set(workdir, "--node-on", "5·10").returncode == 0
    nodes = next(line for line in show(workdir).splitlines() if line.startswith("  节点日："))
    assert "5-10 5·10思廉日" in nodes
    found = [r for r in preview(workdir, *window) if "思廉日" in r["text"]]
    assert {r["rule"] for r in found} == {"node_prepare", "node_eve"}
    assert {r["kind"] for r in found} == {"node_day"}
    for row in found:
        assert is_workday(due_of(row).date())
        assert due_of(row).date() < date(2026, 5, 10)
    assert calendar_set(workdir, "--node-off", "5-10").returncode == 0
    assert not [r for r in preview(workdir, *window) if "思廉日" in r["text"]]


def test_quiet_hours_and_notice_time(workdir: Path) -> None:
    baseline = show(workdir)
    # 07:45 lies inside the default quiet hours 21:00-08:00.
    assert_clean_error(calendar_set(workdir, "--notice-time", "07:45"), "免打扰")
    assert show(workdir) == baseline
    # With 22:00-07:30 it does not, and both change together.
    done = calendar_set(workdir, "--quiet", "22:00-07:30", "--notice-time", "07:45")
    assert done.returncode == 0, done.stderr
    lines = show(workdir).splitlines()
    assert "  免打扰：22:00-07:30；休息日不推送" in lines
    assert "  提醒：开启；提前 3 天及当天 07:45 预告" in lines
    changed = show(workdir)
    # 07:15 is inside 22:00-07:30; going back to 21:00-08:00 would put 07:45 inside it.
    assert_clean_error(calendar_set(workdir, "--notice-time", "07:15"), "免打扰")
    assert_clean_error(calendar_set(workdir, "--quiet", "21:00-08:00"), "免打扰")
    assert show(workdir) == changed
    rows = preview(workdir, *OCTOBER)
    assert theme_days(rows) == [datetime(2026, 10, 8, 7, 45, tzinfo=TZ)]
    for row in rows:
        assert time(7, 30) <= due_of(row).time() < time(22, 0)


def test_reminders_can_be_switched_off_and_on(workdir: Path) -> None:
    before = preview(workdir, *OCTOBER)
    assert before
    assert calendar_set(workdir, "--no-reminders").returncode == 0
    assert "  提醒：关闭；提前 3 天及当天 08:30 预告" in show(workdir).splitlines()
    assert preview(workdir, *OCTOBER) == []
    out = ok(workdir, "reminders", "preview", "--branch", BRANCH, *OCTOBER)
    assert out.splitlines() == ["这段时间没有要推送的提醒。"]
    assert calendar_set(workdir, "--reminders").returncode == 0
    assert "  提醒：开启；提前 3 天及当天 08:30 预告" in show(workdir).splitlines()
    assert preview(workdir, *OCTOBER) == before


def test_settings_persist_and_defaults_store_nothing(workdir: Path) -> None:
    baseline = show(workdir)
    assert calendar_set(workdir, "--notice-days", "5", "--holiday-shift", "before").returncode == 0
    changed = show(workdir)
    assert "  节假日调整：before" in changed.splitlines()
    assert "提前 5 天" in changed
    assert show(workdir) == changed
    assert calendar_set(workdir, "--notice-days", "3", "--holiday-shift", "after").returncode == 0
    assert show(workdir) == baseline
    with sqlite3.connect(workdir / "zhibu.db") as connection:
        stored = connection.execute("SELECT calendar FROM branches").fetchall()
    assert stored == [(None,)]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--day", "主题党日=每月40日"), ("1到31",)),
        (("--day", "主题党日=每周五"), ("看不懂日期规则",)),
        (("--day", "主题党日"), ("活动=日期规则",)),
        (("--day", "无此活动=每月10日"), ("没有活动“无此活动”",)),
        (("--disable", "无此活动"), ("没有活动“无此活动”",)),
        (("--node-on", "5-11"), ("没有节点日",)),
        (("--holiday-shift", "sideways"), ("节假日调整方向",)),
        (("--notice-days", "99"), ("0到30",)),
        (("--progress-days", "0"), ("1到20",)),
        (("--notice-time", "25:00"), ("应写成 时:分",)),
        (("--quiet", "8点"), ("免打扰时段",)),
        (("--quiet", "08:00-09:00"), ("免打扰",)),  # would swallow the 08:30 notices
        # A valid change next to an invalid one is not applied either.
        (("--node-on", "5-10", "--notice-days", "99"), ("0到30",)),
        (("--day", "主题党日=每月10日", "--holiday-shift", "sideways"), ("节假日调整方向",)),
    ],
)
def test_invalid_settings_change_nothing(
    workdir: Path, args: tuple[str, ...], words: tuple[str, ...]
) -> None:
    baseline = show(workdir)
    assert_clean_error(calendar_set(workdir, *args), *words)
    assert show(workdir) == baseline


def test_an_unknown_branch_is_a_clean_error(workdir: Path) -> None:
    assert_clean_error(run_zhibu(workdir, "calendar", "show", "--branch", "无此支部"), "无此支部")
    done = run_zhibu(workdir, "calendar", "set", "--branch", "无此支部", "--no-reminders")
    assert_clean_error(done, "无此支部")


def test_broken_stored_settings_are_reported_not_crashed_on(workdir: Path) -> None:
    ok(workdir, "chat", "bind", "--chat-id", "wrk-group-9", "--branch", BRANCH)
    with sqlite3.connect(workdir / "zhibu.db") as connection:
        connection.execute("UPDATE branches SET calendar = ?", ('{"node_days": ["5-10"]}',))
    assert_clean_error(run_zhibu(workdir, "calendar", "show", "--branch", BRANCH), "已损坏")
    assert_clean_error(calendar_set(workdir, "--reminders"), "已损坏")
    preview = run_zhibu(
        workdir,
        "reminders",
        "preview",
        "--branch",
        BRANCH,
        "--from",
        "2026-10-01",
        "--to",
        "2026-11-01",
    )
    assert_clean_error(preview, "已损坏", "calendar set")
    # The scheduler leaves that branch alone instead of failing every tick.
    lines = ok(workdir, "reminders", "tick").splitlines()
    assert len(lines) == 1
    match = SUMMARY.match(lines[0])
    assert match
    assert match.groups()[1:] == ("0", "0", "0")


# --- tick ----------------------------------------------------------------------------------


def tick_numbers(cwd: Path) -> tuple[int, int, int, int]:
    """Run `reminders tick`; (branches, queued, skipped, already) from its summary line."""
    lines = ok(cwd, "reminders", "tick").splitlines()
    assert len(lines) == 1, lines
    match = SUMMARY.match(lines[0])
    assert match, lines[0]
    branches, queued, skipped, already = (int(g) for g in match.groups())
    return branches, queued, skipped, already


def test_tick_without_a_chat_queues_nothing(workdir: Path) -> None:
    assert tick_numbers(workdir) == (1, 0, 0, 0)


def test_tick_run_twice_queues_nothing_the_second_time(workdir: Path) -> None:
    ok(workdir, "chat", "bind", "--chat-id", "wrk-group-1", "--branch", BRANCH)
    branches, queued, skipped, already = tick_numbers(workdir)
    assert (branches, already) == (1, 0)
    again = tick_numbers(workdir)
    assert again[1:3] == (0, 0)
    assert again[3] >= queued + skipped


def seed(db: Database, chat_id: str = "wrk-group-1") -> None:
    """The sample branch with one bound WeCom chat."""
    rows = read_roster(ROSTER).rows
    with db.transaction() as session:
        actor = Actor("test", datetime(2026, 9, 1, tzinfo=TZ))
        branch = roster.ensure_branch(session, actor, BRANCH, "Asia/Shanghai")
        roster.import_roster(session, actor, branch, rows)
        chat = roster.ensure_chat(session, "wecom", chat_id, title=None, at=actor.at)
        roster.bind_chat(session, actor, chat, branch)


def outbox_keys(db: Database) -> list[str]:
    """Every dedup key in the outbox."""
    with db.session() as session:
        return list(session.scalars(select(OutboxEntry.dedup_key).order_by(OutboxEntry.id)))


@pytest.mark.parametrize(
    "now",
    [
        # The end of the National Day holiday: the day's notices, summaries and gaps are due.
        datetime(2026, 10, 8, 8, 31, tzinfo=TZ),
        # That afternoon and the next: the day-of notices (6 hours' grace) are stale and
        # written as skipped rows; the summaries and gaps (3 days' grace) still go out.
        datetime(2026, 10, 9, 15, 0, tzinfo=TZ),
    ],
)
def test_scheduler_tick_twice_at_one_moment_is_once(db: Database, now: datetime) -> None:
    seed(db)
    first = Scheduler(db).tick(now)
    assert first.branches == 1
    assert first.queued > 0
    assert first.already == 0
    keys = outbox_keys(db)
    assert len(keys) == first.queued + first.skipped
    assert len(set(keys)) == len(keys)

    # The same scheduler again, and a fresh one as another process would be.
    same = Scheduler(db)
    same.tick(now)
    for scheduler in (same, Scheduler(db)):
        again = scheduler.tick(now)
        assert (again.queued, again.skipped) == (0, 0)
    fresh = Scheduler(db).tick(now)
    assert (fresh.branches, fresh.queued, fresh.skipped, fresh.already) == (
        1,
        0,
        0,
        first.queued + first.skipped,
    )
    assert outbox_keys(db) == keys
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) == len(keys)


def test_scheduler_tick_skips_stale_reminders_once(db: Database) -> None:
    seed(db)
    now = datetime(2026, 10, 9, 15, 0, tzinfo=TZ)
    first = Scheduler(db).tick(now)
    # The 主题党日 of 8 October and the 支委会 of 9 October, each announced at 08:30 that day.
    assert first.skipped == 2
    assert first.queued > 0
    with db.session() as session:
        skipped = list(
            session.scalars(select(OutboxEntry.text).where(OutboxEntry.status == "skipped"))
        )
    assert len(skipped) == 2
    assert any("主题党日" in text for text in skipped)
    assert any("支委会" in text for text in skipped)
    again = Scheduler(db).tick(now)
    assert (again.queued, again.skipped) == (0, 0)


def test_plan_generate_starts_from_the_branchs_saved_rules(workdir: Path) -> None:
    calendar_set(workdir, "--day", "主题党日=每月10日", "--holiday-shift", "before")
    plan = json.loads(
        ok(workdir, "plan", "generate", "--branch", BRANCH, "--year", "2026", "--format", "json")
    )
    theme = [i for i in plan["items"] if i["kind"] == "主题党日"]
    assert len(theme) == 12
    for item in theme:
        day = date.fromisoformat(item["date"])
        nominal = date.fromisoformat(item["moved_from"]) if item["moved_from"] else day
        assert nominal.day == 10
        assert is_workday(day)
        assert day <= nominal  # moved before a rest day, as saved
    # An option given on the command line still wins for this run.
    again = json.loads(
        ok(
            workdir,
            "plan",
            "generate",
            "--branch",
            BRANCH,
            "--year",
            "2026",
            "--format",
            "json",
            "--theme-day",
            "每月第一个周五",
        )
    )
    fridays = [i for i in again["items"] if i["kind"] == "主题党日" and not i["moved_from"]]
    assert all(date.fromisoformat(i["date"]).weekday() == 4 for i in fridays)


def test_an_activitys_cadence_can_be_changed(workdir: Path) -> None:
    calendar_set(workdir, "--cadence", "党课=monthly", "--cadence", "组织生活会=yearly:11")
    plan = json.loads(
        ok(workdir, "plan", "generate", "--branch", BRANCH, "--year", "2026", "--format", "json")
    )
    lectures = [i for i in plan["items"] if i["kind"] == "党课"]
    assert len(lectures) == 13  # monthly now, plus the secretary's yearly 党课
    (life,) = [i for i in plan["items"] if i["kind"] == "组织生活会"]
    assert date.fromisoformat(life["date"]).month == 11
    assert "党课：每月" in show(workdir)
    baseline = show(workdir)
    assert_clean_error(calendar_set(workdir, "--cadence", "党课=weekly"), "monthly")
    assert_clean_error(calendar_set(workdir, "--cadence", "无此活动=monthly"), "无此活动")
    assert_clean_error(calendar_set(workdir, "--cadence", "党课=quarterly:5"), "季度")
    assert show(workdir) == baseline
