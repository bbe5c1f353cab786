"""Benchmark: the work committee's report and the 台账 exports over a synthetic organisation.

Usage: .venv/bin/python bench/export.py [--branches 400] [--members 25] [--database-url URL]
       [--keep DIR] [--repeat N]     (URL: an empty database, e.g. postgresql+psycopg://...)
Seeds one organisation (default 400 branches × 25 members = 10 000) with a year of records in
bulk (Core inserts with preassigned ids, not the chat path): every meeting of the branch's
annual plan (党课 merged into the quarter's 支部党员大会), each expected member present, late, on
leave (with the 请假 row) or absent; 补课 owed for leave and absence, 60 % made up (the first
attendance row superseded by a 补课 row); two study tasks a month, ~90 % confirmed, a tenth of
them late; volunteer records; half the branches on a stored plan version, half on their rules.
Then measures, each in a fresh subprocess (time of the operation alone, and the process's peak
RSS from `resource.getrusage`, which counts C allocations that tracemalloc does not see):
the org report (`build_report` + JSON + table), one branch's full-year workbook
(`handlers.plan_ledger.write_branch_ledger`, plan sheet included) and the whole organisation's workbook
(`storage.org_ledger_xlsx.write_org_ledger_xlsx`). Not a test: nothing here asserts timing.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from handlers.plan import INFO_KINDS
from scheduler.plan import PlanItem, generate
from scheduler.rules import CalendarSettings
from storage import migrate, roster
from storage.db import Database
from storage.models import (
    ATTEND_ABSENT,
    ATTEND_LATE,
    ATTEND_LEAVE,
    ATTEND_MAKEUP,
    ATTEND_PRESENT,
    MEETING_CLOSED,
    ROLE_MEMBER,
    ROLE_SECRETARY,
    Attendance,
    Branch,
    LeaveRequest,
    MakeupItem,
    Meeting,
    MeetingAttendee,
    MeetingKind,
    Member,
    PlanEntry,
    PlanVersion,
    StudyConfirmation,
    StudyTask,
    VolunteerRecord,
)

ZONE = ZoneInfo("Asia/Shanghai")
ORG = "基准机关工委"
YEAR = 2026
GROUPS = 3
COMMITTEE = 5  # the first members are the 支委
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚"
CHUNK = 50  # branches per seeding transaction
GOALS = {"report": (5.0, None), "branch": (1.0, None), "org": (60.0, 500.0)}


@dataclass
class Seeded:
    """Row counts of the seed."""

    members: int = 0
    meetings: int = 0
    attendance: int = 0
    makeups: int = 0
    leave: int = 0
    study_tasks: int = 0
    confirmations: int = 0
    volunteer: int = 0
    stored_plans: int = 0


def names(count: int) -> list[str]:
    """Distinct synthetic Chinese names."""
    base = [s + g + h for s in SURNAMES for g in GIVEN for h in ("", "华")]
    return [
        base[i % len(base)] + (str(i // len(base)) if i >= len(base) else "") for i in range(count)
    ]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local moment in the benchmark's zone."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def sittings(plan: tuple[PlanItem, ...]) -> list[tuple[date, list[str], str | None]]:
    """The year's meetings from the plan: 党课 merged into the same quarter's 支部党员大会."""
    found: list[tuple[date, list[str], str | None]] = []
    assemblies: dict[int, list[str]] = {}
    for item in plan:
        if item.kind in INFO_KINDS:
            continue
        quarter = (item.date.month - 1) // 3
        if item.kind == "党课" and quarter in assemblies:
            assemblies.pop(quarter).append("党课")
            continue
        kinds = [item.kind]
        if item.kind == "支部党员大会":
            assemblies[quarter] = kinds
        found.append((item.date, kinds, item.group))
    return found


class Ids:
    """Preassigned primary keys, so rows can refer to each other in one bulk insert."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def __call__(self, table: str) -> int:
        value = self.next.get(table, 0) + 1
        self.next[table] = value
        return value


def seed(db: Database, branches: int, per_branch: int) -> Seeded:
    """Create the organisation and a year of its records."""
    done = Seeded()
    rng = random.Random(20261122)
    ids = Ids()
    created = datetime(YEAR - 1, 12, 1, tzinfo=UTC)
    group_names = [f"第{g + 1}党小组" for g in range(GROUPS)]
    plan = generate(CalendarSettings(), YEAR, tuple(group_names)).items
    year_sittings = sittings(plan)
    people = names(per_branch)
    with db.transaction() as session:
        session.execute(
            insert(Branch),
            [
                {
                    "id": ids("branch"),
                    "name": f"基准第{b + 1:03d}支部",
                    "organisation": ORG,
                    "timezone": ZONE.key,
                    "created_at": created,
                }
                for b in range(branches)
            ],
        )
    branch_ids = list(range(1, branches + 1))
    for first in range(0, branches, CHUNK):
        rows: dict[Any, list[dict[str, Any]]] = {
            t: []
            for t in (
                Member,
                Meeting,
                MeetingKind,
                MeetingAttendee,
                Attendance,
                MakeupItem,
                LeaveRequest,
                StudyTask,
                StudyConfirmation,
                VolunteerRecord,
                PlanVersion,
                PlanEntry,
            )
        }
        for branch_id in branch_ids[first : first + CHUNK]:
            members: list[tuple[int, str]] = []
            for i in range(per_branch):
                member_id = ids("member")
                group_name = group_names[i % GROUPS]
                members.append((member_id, group_name))
                rows[Member].append(
                    {
                        "id": member_id,
                        "branch_id": branch_id,
                        "name": people[i],
                        "title": ("书记", "副书记", "组织委员", "宣传委员", "纪检委员")[i]
                        if i < COMMITTEE
                        else "党员",
                        "party_group": group_name,
                        "probationary": i % 12 == 11,
                        "role": ROLE_SECRETARY if i == 0 else ROLE_MEMBER,
                        "active": True,
                        "created_at": created,
                        "updated_at": created,
                    }
                )
            everyone = [m for m, _ in members]
            secretary = everyone[0]
            for day, kinds, group in year_sittings:
                if kinds == ["支部委员会"]:
                    expected = everyone[:COMMITTEE]
                elif group is not None:
                    expected = [m for m, g in members if g == group]
                else:
                    expected = everyone
                meeting_id = ids("meeting")
                opened = local(day, 15)
                rows[Meeting].append(
                    {
                        "id": meeting_id,
                        "branch_id": branch_id,
                        "topic": "学习贯彻党的二十届四中全会精神" if len(kinds) > 1 else "基准会议",
                        "place": "三楼会议室",
                        "party_group": group,
                        "host_member_id": secretary,
                        "recorder_member_id": everyone[1],
                        "opened_by_member_id": secretary,
                        "status": MEETING_CLOSED,
                        "started_at": opened,
                        "closed_at": opened + timedelta(hours=2),
                    }
                )
                rows[MeetingKind].extend(
                    {"meeting_id": meeting_id, "kind": k, "position": p}
                    for p, k in enumerate(kinds)
                )
                done.meetings += 1
                for member_id in expected:
                    rows[MeetingAttendee].append({"meeting_id": meeting_id, "member_id": member_id})
                    roll = rng.random()
                    status = (
                        ATTEND_PRESENT
                        if roll < 0.85 or member_id == secretary
                        else ATTEND_LATE
                        if roll < 0.88
                        else ATTEND_LEAVE
                        if roll < 0.94
                        else ATTEND_ABSENT
                    )
                    reason = {ATTEND_LEAVE: "出差", ATTEND_ABSENT: "未签到"}.get(status)
                    row_id = ids("attendance")
                    row = {
                        "id": row_id,
                        "meeting_id": meeting_id,
                        "member_id": member_id,
                        "status": status,
                        "reason": reason if rng.random() > 0.01 else "=1+1",
                        "recorded_at": opened + timedelta(minutes=5),
                        "recorded_by_member_id": member_id,
                        "is_correction": False,
                        "superseded_at": None,
                        "supersedes_id": None,
                    }
                    rows[Attendance].append(row)
                    if status == ATTEND_LEAVE:
                        rows[LeaveRequest].append(
                            {
                                "id": ids("leave"),
                                "branch_id": branch_id,
                                "member_id": member_id,
                                "meeting_id": meeting_id,
                                "reason": "出差",
                                "requested_at": opened - timedelta(hours=3),
                                "recorded_by_member_id": member_id,
                            }
                        )
                        done.leave += 1
                    if status in (ATTEND_LEAVE, ATTEND_ABSENT):
                        made_up = rng.random() < 0.6
                        finished = opened + timedelta(days=7) if made_up else None
                        rows[MakeupItem].append(
                            {
                                "id": ids("makeup"),
                                "branch_id": branch_id,
                                "meeting_id": meeting_id,
                                "member_id": member_id,
                                "created_at": opened + timedelta(hours=2),
                                "done_at": finished,
                                "confirmed_by_member_id": secretary if made_up else None,
                                "cancelled_at": None,
                            }
                        )
                        done.makeups += 1
                        if finished is not None:
                            row["superseded_at"] = finished
                            rows[Attendance].append(
                                {
                                    "id": ids("attendance"),
                                    "meeting_id": meeting_id,
                                    "member_id": member_id,
                                    "status": ATTEND_MAKEUP,
                                    "reason": "已补课",
                                    "recorded_at": finished,
                                    "recorded_by_member_id": secretary,
                                    "is_correction": True,
                                    "superseded_at": None,
                                    "supersedes_id": row_id,
                                }
                            )
            for month in range(1, 13):
                for half in (0, 1):
                    task_id = ids("task")
                    published = local(date(YEAR, month, 3 + 14 * half), 9)
                    deadline = published.date() + timedelta(days=7)
                    rows[StudyTask].append(
                        {
                            "id": task_id,
                            "branch_id": branch_id,
                            "title": f"{month}月学习材料（{'上' if half == 0 else '下'}）",
                            "deadline": deadline,
                            "published_at": published,
                            "published_by_member_id": secretary,
                        }
                    )
                    done.study_tasks += 1
                    for member_id in everyone:
                        if rng.random() >= 0.9:
                            continue
                        late = rng.random() < 0.1
                        rows[StudyConfirmation].append(
                            {
                                "task_id": task_id,
                                "member_id": member_id,
                                "confirmed_at": published + timedelta(days=9 if late else 2),
                                "late": late,
                                "recorded_by_member_id": member_id,
                                "is_correction": False,
                            }
                        )
            for member_id in everyone:
                for _ in range(rng.randint(2, 6)):
                    day = date(YEAR, rng.randint(1, 12), rng.randint(1, 28))
                    rows[VolunteerRecord].append(
                        {
                            "branch_id": branch_id,
                            "member_id": member_id,
                            "service_date": day,
                            "hours": Decimal(rng.choice(("1", "1.5", "2", "2.5", "4"))),
                            "activity": rng.choice(("社区服务", "文明交通", "=SUM(A1:A9)", "献血")),
                            "recorded_at": local(day, 20),
                            "recorded_by_member_id": member_id if rng.random() < 0.8 else secretary,
                        }
                    )
            if branch_id % 2 == 0:
                version_id = ids("plan")
                rows[PlanVersion].append(
                    {
                        "id": version_id,
                        "branch_id": branch_id,
                        "year": YEAR,
                        "version": 1,
                        "source": "generated",
                        "created_at": created,
                        "created_by": "bench",
                    }
                )
                rows[PlanEntry].extend(
                    {
                        "plan_version_id": version_id,
                        "date": item.date,
                        "kind": item.kind,
                        "title": item.title,
                        "party_group": item.group,
                        "moved_from": item.moved_from,
                        "note": item.note or None,
                        "position": position,
                    }
                    for position, item in enumerate(plan)
                )
                done.stored_plans += 1
        with db.transaction() as session:
            for model, batch in rows.items():
                if batch:
                    session.execute(insert(model), batch)
        done.members += len(rows[Member])
        done.attendance += len(rows[Attendance])
        done.confirmations += len(rows[StudyConfirmation])
        done.volunteer += len(rows[VolunteerRecord])
        print(
            f"  seeded {min(first + CHUNK, branches)}/{branches} branches",
            file=sys.stderr,
            flush=True,
        )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            connection.exec_driver_sql("ANALYZE")
            connection.commit()
    return done


# --- one measurement, in its own process ------------------------------------------------------


def peak_rss_mb() -> float:
    """This process's peak resident set size in MB.

    VmHWM of /proc/self/status where there is one: `getrusage`'s ru_maxrss keeps the parent's
    size at fork() on Linux, so a child of a large process would report its parent's peak.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(what: str, url: str, out: Path) -> dict[str, Any]:
    """Run one operation and return its wall time and the process's peak RSS."""
    from bot.cli_report import check_plans, render_table
    from handlers.plan_ledger import write_branch_ledger
    from storage.org_ledger_xlsx import write_org_ledger_xlsx
    from storage.org_report import build_report
    from storage.org_report_json import report_json
    from storage.periods import resolve

    db = Database(url)
    year = resolve(str(YEAR), date(YEAR, 12, 31))
    as_of = date(YEAR, 12, 31)
    with db.session() as session:
        session.execute(select(Branch.id).limit(1)).all()  # connect before the clock starts
        before = peak_rss_mb()
        started = time.perf_counter()
        detail = ""
        if what == "report":
            found = build_report(session, ORG, year, as_of, check_plans)
            text = json.dumps(report_json(found), ensure_ascii=False, sort_keys=True)
            table = render_table(found)
            detail = f"{len(found.branches)} branches, JSON {len(text) // 1024} KiB, table {len(table.splitlines())} lines"
        elif what == "branch":
            branch = session.scalar(
                select(Branch).where(Branch.organisation == ORG).order_by(Branch.name).limit(1)
            )
            assert branch is not None
            summary = write_branch_ledger(session, branch, year, out, as_of)
            detail = f"{len(summary.sheets)} sheets, {out.stat().st_size // 1024} KiB"
        else:
            org = write_org_ledger_xlsx(session, ORG, year, out)
            total = sum(s.rows for s in org.sheets)
            detail = f"{total} rows in {len(org.sheets)} sheets, {out.stat().st_size // 1024} KiB"
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "rss_before_mb": before,
        "peak_mb": peak_rss_mb(),
        "detail": detail,
    }


def in_subprocess(what: str, url: str, out: Path) -> dict[str, Any]:
    """`measure` in a fresh interpreter (so each peak RSS is that operation's own)."""
    done = subprocess.run(
        [sys.executable, __file__, "--measure", what, "--database-url", url, "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        sys.exit(f"measuring {what} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


LABELS = {
    "report": "org report (build + JSON + table)",
    "branch": "one branch, full-year xlsx",
    "org": "whole organisation, year xlsx",
}


def main() -> None:
    """Seed, measure each operation in a fresh process, and print the numbers."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--branches", type=int, default=400)
    parser.add_argument("--members", type=int, default=25, help="per branch, in 3 党小组")
    parser.add_argument(
        "--database-url", default=None, help="an empty database (default: temp SQLite)"
    )
    parser.add_argument("--keep", type=Path, default=None, help="write the workbooks here")
    parser.add_argument("--repeat", type=int, default=1, help="measure each operation N times")
    parser.add_argument("--reuse", action="store_true", help="measure an already seeded database")
    parser.add_argument("--measure", choices=sorted(LABELS), help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.database_url, args.out)))
        return
    if args.members < COMMITTEE + GROUPS:
        parser.error(f"--members must be at least {COMMITTEE + GROUPS}")

    tmp = tempfile.TemporaryDirectory()
    url = args.database_url or f"sqlite:///{tmp.name}/bench.db"
    db = Database(url)
    migrate.upgrade(db.engine)
    with db.session() as session:
        branches = roster.branch_count(session)
    if branches and not args.reuse:
        sys.exit("the database already has branches: give an empty one (or --reuse a seeded one)")
    print(
        f"backend={db.engine.dialect.name} branches={args.branches} members/branch={args.members}"
    )
    if not args.reuse:
        started = time.perf_counter()
        seeded = seed(db, args.branches, args.members)
        print(
            f"seed: {time.perf_counter() - started:.1f} s — {seeded.members} members, "
            f"{seeded.meetings} meetings, {seeded.attendance} attendance rows, "
            f"{seeded.makeups} 补课, {seeded.leave} 请假, {seeded.study_tasks} study tasks, "
            f"{seeded.confirmations} confirmations, {seeded.volunteer} volunteer records, "
            f"{seeded.stored_plans} stored plans (excluded below)"
        )
    db.dispose()
    keep = args.keep or Path(tmp.name)
    keep.mkdir(parents=True, exist_ok=True)
    print(
        f"{'operation':<34} {'seconds':>8} {'peak RSS MB':>12} {'RSS before':>11}  goal      detail"
    )
    for what in ("report", "branch", "org"):
        for _ in range(args.repeat):
            result = in_subprocess(what, url, keep / f"{what}.xlsx")
            limit, memory = GOALS[what]
            met = result["seconds"] < limit and (memory is None or result["peak_mb"] < memory)
            goal = f"<{limit:g} s" + (f", <{memory:g} MB" if memory else "")
            print(
                f"{LABELS[what]:<34} {result['seconds']:>8.2f} {result['peak_mb']:>12.0f} "
                f"{result['rss_before_mb']:>11.0f}  {goal:<16} {'met' if met else 'MISSED'}  "
                f"{result['detail']}"
            )
    tmp.cleanup()


if __name__ == "__main__":
    main()
