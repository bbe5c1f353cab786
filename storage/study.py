"""Study tasks (学习任务) and members' confirmations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, Table, bindparam, func, insert, select
from sqlalchemy.orm import Session

from storage import audit
from storage.as_loaded import attached
from storage.audit import Actor
from storage.memo import batch_members, memo
from storage.models import StudyConfirmation, StudyTask
from storage.rawsql import Prepared


def publish(
    session: Session,
    actor: Actor,
    *,
    branch_id: int,
    chat_id: int | None,
    title: str,
    deadline: date | None,
    link: str | None,
) -> StudyTask:
    """Publish a study task to the branch."""
    task = StudyTask(
        branch_id=branch_id,
        chat_id=chat_id,
        title=title,
        deadline=deadline,
        link=link,
        published_at=actor.at,
        published_by_member_id=actor.member_id,
        source_inbox_id=actor.inbox_id,
    )
    session.add(task)
    session.flush()
    for key in [k for k in memo(session) if k[:2] == ("recent_tasks", branch_id)]:
        del memo(session)[key]
    audit.record(
        session,
        actor,
        branch_id=branch_id,
        action="publish",
        entity="study_task",
        entity_id=task.id,
        title=title,
        deadline=deadline,
        link=link,
    )
    return task


_TASKS: Table = StudyTask.__table__  # type: ignore[assignment]
_CONFIRMATIONS: Table = StudyConfirmation.__table__  # type: ignore[assignment]
CONFIRMATIONS_TABLE = _CONFIRMATIONS.name
# How many recent tasks 「已学习」 chooses from.
RECENT = 20
_CONFIRMED = Prepared(
    select(_CONFIRMATIONS.c.id).where(
        _CONFIRMATIONS.c.task_id == bindparam("task_id"),
        _CONFIRMATIONS.c.member_id == bindparam("member_id"),
    )
)
_CONFIRMED_SINCE = Prepared(
    select(_CONFIRMATIONS.c.task_id).where(
        _CONFIRMATIONS.c.member_id == bindparam("member_id"),
        _CONFIRMATIONS.c.task_id >= bindparam("lowest"),
    )
)
_INSERT_CONFIRMATION = Prepared(
    insert(_CONFIRMATIONS).returning(_CONFIRMATIONS.c.id),
    (
        "task_id",
        "member_id",
        "confirmed_at",
        "late",
        "note",
        "recorded_by_member_id",
        "is_correction",
        "source_inbox_id",
    ),
)


def recent_tasks(session: Session, branch_id: int, limit: int = RECENT) -> list[StudyTask]:
    """Return the branch's most recently published tasks, newest first."""
    # Remembered for the transaction (a batch of messages asks this once per message);
    # `publish` is the only way tasks appear, and it forgets the branch's entries.
    key = ("recent_tasks", branch_id, limit)
    cache = memo(session)
    found = cache.get(key)
    if found is None:
        rows = cache.get(("recent_tasks", branch_id, "rows")) if limit == RECENT else None
        if rows is not None:  # read with the batch's lookups (see `batch_reads`)
            found = cache[key] = [attached(session, StudyTask, values) for values in rows]
        else:
            found = cache[key] = list(
                session.scalars(
                    select(StudyTask)
                    .where(StudyTask.branch_id == branch_id)
                    .order_by(StudyTask.published_at.desc(), StudyTask.id.desc())
                    .limit(limit)
                )
            )
    return list(found)


def batch_reads(branch_ids: Select[Any], member_ids: Select[Any]) -> tuple[Prepared, Prepared]:
    """Statements reading the recent tasks of the branches `branch_ids` selects and what the
    members `member_ids` selects confirmed of them, for `remember_recent`."""
    recency = func.row_number().over(
        partition_by=_TASKS.c.branch_id, order_by=(_TASKS.c.published_at.desc(), _TASKS.c.id.desc())
    )
    ranked = (
        select(*_TASKS.c, recency.label("recency"))
        .where(_TASKS.c.branch_id.in_(branch_ids))
        .subquery()
    )
    recent = ranked.c.recency <= RECENT
    tasks = (
        select(*(ranked.c[column.key] for column in _TASKS.c))
        .where(recent)
        .order_by(ranked.c.branch_id, ranked.c.recency)
    )
    confirmed = select(_CONFIRMATIONS.c.member_id, _CONFIRMATIONS.c.task_id).where(
        _CONFIRMATIONS.c.member_id.in_(member_ids),
        _CONFIRMATIONS.c.task_id >= select(func.min(ranked.c.id)).where(recent).scalar_subquery(),
    )
    return Prepared(tasks), Prepared(confirmed)


def remember_recent(
    session: Session,
    branch_ids: Iterable[int],
    task_rows: Iterable[tuple[Any, ...]],
    confirmed_rows: Iterable[tuple[Any, ...]],
) -> None:
    """Keep what `batch_reads` read for `recent_tasks` and `unconfirmed` (batch senders)."""
    cache = memo(session)
    by_branch: dict[int, list[dict[str, Any]]] = {branch_id: [] for branch_id in branch_ids}
    for row in task_rows:
        values = dict(zip(_TASKS.c.keys(), row, strict=True))
        by_branch[values["branch_id"]].append(values)
    confirmed = list(confirmed_rows)
    members = batch_members(session)
    for branch_id, tasks in by_branch.items():
        cache[("recent_tasks", branch_id, "rows")] = tasks
        if tasks:
            lowest = min(values["id"] for values in tasks)
            done = cache[("confirmed_since", lowest)] = {m: set() for m in members}
            for member_id, task_id in confirmed:
                if task_id >= lowest and member_id in done:
                    done[member_id].add(task_id)


def confirmed_member_ids(session: Session, task_id: int) -> set[int]:
    """Return the ids of members who confirmed the task."""
    return set(
        session.scalars(
            select(StudyConfirmation.member_id).where(StudyConfirmation.task_id == task_id)
        )
    )


def is_confirmed(session: Session, task_id: int, member_id: int) -> bool:
    """True when the member has confirmed the task."""
    return _CONFIRMED.first(session, task_id=task_id, member_id=member_id) is not None


def unconfirmed(session: Session, tasks: list[StudyTask], member_id: int) -> list[StudyTask]:
    """The tasks (in the given order) the member has not confirmed, in one query."""
    if not tasks:
        return []
    lowest = min(t.id for t in tasks)
    done = _batch_confirmed_since(session, member_id, lowest)
    if done is None:
        done = {row[0] for row in _CONFIRMED_SINCE.all(session, member_id=member_id, lowest=lowest)}
    return [t for t in tasks if t.id not in done]


def _batch_confirmed_since(session: Session, member_id: int, lowest: int) -> set[int] | None:
    """Tasks from `lowest` on that the member confirmed, read for all the batch's senders at
    once (kept current by `confirm`, the only writer); None for someone not among them."""
    key = ("confirmed_since", lowest)
    cache = memo(session)
    done: dict[int, set[int]] | None = cache.get(key)
    if done is None and member_id in (members := batch_members(session)):
        done = cache[key] = {m: set() for m in members}
        for m, task_id in session.execute(
            select(_CONFIRMATIONS.c.member_id, _CONFIRMATIONS.c.task_id).where(
                _CONFIRMATIONS.c.member_id.in_(members), _CONFIRMATIONS.c.task_id >= lowest
            )
        ):
            done[m].add(task_id)
    return done.get(member_id) if done is not None else None


def confirm(
    session: Session,
    actor: Actor,
    task: StudyTask,
    member_id: int,
    *,
    late: bool,
    note: str | None,
    is_correction: bool = False,
) -> None:
    """Record a member's confirmation of a task (callers check for an earlier one first)."""
    row_id = _INSERT_CONFIRMATION.insert(
        session,
        task_id=task.id,
        member_id=member_id,
        confirmed_at=actor.at,
        late=late,
        note=note,
        recorded_by_member_id=actor.member_id,
        is_correction=is_correction,
        source_inbox_id=actor.inbox_id,
    )
    for key, done in memo(session).items():
        if key[0] == "confirmed_since" and task.id >= key[1] and member_id in done:
            done[member_id].add(task.id)
    audit.record(
        session,
        actor,
        branch_id=task.branch_id,
        action="correct" if is_correction else "confirm",
        entity="study_confirmation",
        entity_id=int(row_id),
        task_id=task.id,
        member_id=member_id,
        late=late,
    )
