"""The scheduler's work: find due reminders for every branch and queue them in the outbox, once.

Nothing lives in scheduler memory that matters: each tick recomputes what is due from the plan,
the settings and the ledger, and writes each reminder to the outbox under a key made of its
rule, subject, chat and time. The key is unique in the table, so any number of schedulers (in
any number of processes) queue a reminder once; the outbox sender does the sending.

After downtime a tick looks back `MAX_GRACE`: a reminder still within its grace goes out now
(or at the branch's next allowed moment, never in quiet hours); a stale one is written as a
`skipped` outbox row and logged, once.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduler import branch_config
from scheduler.branch_config import BranchCalendar
from scheduler.compose import Draft, compose
from scheduler.dues import MAX_GRACE, Due, StudyDeadline, calendar_dues
from scheduler.ledger_view import LedgerBatch, PlanStore, branch_ledger, generated
from scheduler.plan import PlanItem
from storage import messages
from storage.db import Database
from storage.models import Branch, Chat, Member, MemberIdentity, StudyTask

log = logging.getLogger(__name__)

# Outbox rows of reminders have kind "reminder.<rule>", e.g. reminder.day_of.
OUTBOX_KIND = "reminder"
STATUS_SKIPPED = "skipped"
# Plan items this far around a window can still produce reminders inside it.
_ITEM_MARGIN = timedelta(days=40)


@dataclass
class BranchCalendarView:
    """One branch with what its reminders are computed from."""

    branch: Branch
    config: BranchCalendar
    zone: ZoneInfo
    chats: list[tuple[str, str]] = field(default_factory=list)  # (platform, chat id)
    items: list[PlanItem] = field(default_factory=list)
    deadlines: list[StudyDeadline] = field(default_factory=list)
    error: str | None = None  # settings that no longer parse: the branch is left alone


@dataclass(frozen=True)
class Planned:
    """A reminder as it would be sent to one chat."""

    due: Due
    platform: str
    chat_id: str
    text: str
    mention_member_ids: tuple[int, ...]
    key: str


@dataclass
class TickReport:
    """What one tick did."""

    branches: int = 0
    considered: int = 0
    queued: int = 0
    skipped: int = 0
    already: int = 0


def reminder_key(due: Due, platform: str, chat_id: str) -> str:
    """The outbox key of a reminder in a chat: the same wherever and whenever computed."""
    raw = "|".join((due.rule, due.subject, platform, chat_id, due.at.astimezone(UTC).isoformat()))
    return "remind:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()[:48]


def load_views(
    session: Session,
    start: datetime,
    end: datetime,
    branch_ids: Sequence[int] | None = None,
    store: PlanStore | None = None,
) -> list[BranchCalendarView]:
    """Every branch (or the given ones) with its chats, plan items and study deadlines."""
    store = store or PlanStore()
    query = select(Branch).order_by(Branch.id)
    if branch_ids is not None:
        query = query.where(Branch.id.in_(list(branch_ids)))
    views: dict[int, BranchCalendarView] = {}
    for branch in session.scalars(query):
        try:
            config = branch_config.load(branch.calendar)
            error = None
        except ValueError as exc:
            config, error = BranchCalendar(), str(exc)
        views[branch.id] = BranchCalendarView(
            branch, config, ZoneInfo(branch.timezone), error=error
        )
    if not views:
        return []
    ids = list(views)
    for branch_id, platform, external_id in session.execute(
        select(Chat.branch_id, Chat.platform, Chat.external_id)
        .where(Chat.branch_id.in_(ids))
        .order_by(Chat.id)
    ):
        if branch_id is not None:
            views[branch_id].chats.append((platform, external_id))
    first = (start - _ITEM_MARGIN).date()
    last = (end + _ITEM_MARGIN).date()
    years = range(first.year, last.year + 1)
    _load_items(session, views, years, first, last, store)
    for task_id, branch_id, title, deadline in session.execute(
        select(StudyTask.id, StudyTask.branch_id, StudyTask.title, StudyTask.deadline).where(
            StudyTask.branch_id.in_(ids),
            StudyTask.deadline.is_not(None),
            StudyTask.deadline >= first,
            StudyTask.deadline <= last,
        )
    ):
        if deadline is not None:
            views[branch_id].deadlines.append(StudyDeadline(task_id, title, deadline))
    return list(views.values())


def _load_items(
    session: Session,
    views: dict[int, BranchCalendarView],
    years: range,
    first: date,
    last: date,
    store: PlanStore,
) -> None:
    """Stored plans where a branch has one for the year, else the plan its rules generate."""
    ids = list(views)
    groups: dict[int, set[str]] = defaultdict(set)
    for branch_id, group in session.connection().execute(
        select(Member.branch_id, Member.party_group)
        .where(Member.branch_id.in_(ids), Member.active.is_(True), Member.party_group.is_not(None))
        .distinct()
    ):
        if group:
            groups[branch_id].add(group)
    for year in years:
        stored = store.year(session, year)
        for branch_id, view in views.items():
            plan = stored.get(branch_id)
            if plan is None:
                plan = generated(view.config.rules, year, tuple(sorted(groups[branch_id])))
            view.items.extend(i for i in plan if first <= i.date <= last)
    for view in views.values():
        view.items.sort(key=PlanItem.sort_key)


def dues_for(view: BranchCalendarView, start: datetime, end: datetime) -> list[Due]:
    """The calendar's reminders of one branch in [start, end)."""
    if view.error is not None:
        return []
    return calendar_dues(view.config, view.zone, view.items, view.deadlines, start, end)


def tick_dues(view: BranchCalendarView, start: datetime, end: datetime) -> list[Due]:
    """`dues_for` over a tick window, computed over whole local days so it can be remembered."""
    if view.error is not None:
        return []
    day = (end - timedelta(seconds=1)).astimezone(view.zone).date()
    span_start = datetime.combine(day, time(0), view.zone) - MAX_GRACE
    span_end = datetime.combine(day + timedelta(days=1), time(0), view.zone)
    found = calendar_dues(view.config, view.zone, view.items, view.deadlines, span_start, span_end)
    return [d for d in found if start <= d.at < end]


def preview(
    session: Session, branch: Branch, start: datetime, end: datetime
) -> list[tuple[Due, str, Draft]]:
    """Every message the scheduler would send the branch in [start, end), from today's ledger.

    Returns (due, chat id, draft) per chat; a branch without a chat is previewed once with an
    empty chat id, so a secretary can check the year before binding the group.
    """
    views = load_views(session, start, end, [branch.id])
    if not views:
        return []
    view = views[0]
    ledger = branch_ledger(session, branch, view.config, start)
    found: list[tuple[Due, str, Draft]] = []
    for due in dues_for(view, start, end):
        draft = compose(due, view.config, ledger)
        if draft is None:
            continue
        for _platform, chat_id in view.chats or [("", "")]:
            found.append((due, chat_id, draft))
    return found


class Scheduler:
    """Queues due reminders; safe to run in many processes at once (the outbox key decides)."""

    def __init__(self, db: Database) -> None:
        self.db = db
        # Keys this process knows are settled (queued, skipped or empty): not looked at again.
        self._settled: set[str] = set()
        self._plans = PlanStore()

    def tick(self, now: datetime, platforms: frozenset[str] | None = None) -> TickReport:
        """Queue every reminder due by `now` that no scheduler has queued yet.

        `platforms` limits the chats served (the console serves only its own chat).
        """
        report = TickReport()
        start = now - MAX_GRACE
        candidates: list[tuple[BranchCalendarView, Due, str, str, str]] = []
        with self.db.session() as session:
            self._plans.sync(session)
            views = load_views(session, start, now + timedelta(seconds=1), store=self._plans)
            report.branches = len(views)
            for view in views:
                if view.error is not None:
                    log.warning(
                        "branch %s: calendar settings unreadable: %s", view.branch.name, view.error
                    )
                    continue
                for due in tick_dues(view, start, now + timedelta(seconds=1)):
                    for platform, chat_id in view.chats:
                        if platforms is not None and platform not in platforms:
                            continue
                        key = reminder_key(due, platform, chat_id)
                        if key not in self._settled:
                            candidates.append((view, due, platform, chat_id, key))
            report.considered = len(candidates)
            known = messages.existing_keys(session, [c[4] for c in candidates])
        self._settled.update(known)
        report.already = len(known)
        fresh = [c for c in candidates if c[4] not in known]
        if fresh:
            self._queue(fresh, now, report)
        return report

    def _queue(
        self,
        fresh: list[tuple[BranchCalendarView, Due, str, str, str]],
        now: datetime,
        report: TickReport,
    ) -> None:
        with self.db.transaction() as session:
            branch_ids = sorted({c[0].branch.id for c in fresh})
            branches = {
                b.id: b for b in session.scalars(select(Branch).where(Branch.id.in_(branch_ids)))
            }
            configs = {c[0].branch.id: c[0].config for c in fresh}
            batch = LedgerBatch(
                session, [(b, configs[i]) for i, b in branches.items()], now, self._plans
            )
            idents: dict[tuple[str, int], str] = {}
            for platform_, member_id, external_id in session.execute(
                select(
                    MemberIdentity.platform, MemberIdentity.member_id, MemberIdentity.external_id
                ).where(MemberIdentity.branch_id.in_(branch_ids))
            ):
                idents[(platform_, member_id)] = external_id
            rows: list[messages.OutboxRow] = []
            stale_notes: dict[str, str] = {}
            for view, due, platform, chat_id, key in fresh:
                local_now = now.astimezone(view.zone)
                stale = due.stale(now)
                if not stale and not view.config.push.allowed(local_now):
                    continue  # catching up in quiet hours: a later tick sends it, if still due
                branch = branches.get(view.branch.id)
                if branch is None:
                    continue
                draft = compose(due, view.config, batch.ledger(branch.id), local_now.date())
                self._settled.add(key)  # decided now, either way
                if draft is None:
                    continue  # nothing to say (held, confirmed, nothing owed)
                rows.append(
                    messages.OutboxRow(
                        dedup_key=key,
                        platform=platform,
                        chat_external_id=chat_id,
                        kind=f"{OUTBOX_KIND}.{due.rule}",
                        text=draft.text,
                        mentions=tuple(
                            idents[(platform, m)]
                            for m in draft.mention_member_ids
                            if (platform, m) in idents
                        ),
                        attachment=(
                            json.dumps(draft.attachment, ensure_ascii=False, sort_keys=True)
                            if draft.attachment
                            else None
                        ),
                        status=STATUS_SKIPPED if stale else messages.OUTBOX_PENDING,
                        last_error=(
                            f"stale: due {due.at.isoformat()}, grace {due.grace}" if stale else None
                        ),
                    )
                )
                if stale:
                    stale_notes[key] = (
                        f"branch {branch.name}: skipped stale {due.rule} reminder due "
                        f"{due.at.isoformat()} (grace {due.grace}): {draft.text.splitlines()[0]}"
                    )
            inserted = messages.enqueue_many(session, rows, at=now)
            for row in rows:
                if row.dedup_key not in inserted:
                    report.already += 1
                elif row.dedup_key in stale_notes:
                    report.skipped += 1
                    log.warning("%s", stale_notes[row.dedup_key])
                else:
                    report.queued += 1
