"""Study tasks (学习任务) and members' confirmations."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import audit
from storage.audit import Actor
from storage.models import StudyConfirmation, StudyTask


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


def recent_tasks(session: Session, branch_id: int, limit: int = 20) -> list[StudyTask]:
    """Return the branch's most recently published tasks, newest first."""
    return list(
        session.scalars(
            select(StudyTask)
            .where(StudyTask.branch_id == branch_id)
            .order_by(StudyTask.published_at.desc(), StudyTask.id.desc())
            .limit(limit)
        )
    )


def confirmed_member_ids(session: Session, task_id: int) -> set[int]:
    """Return the ids of members who confirmed the task."""
    return set(
        session.scalars(
            select(StudyConfirmation.member_id).where(StudyConfirmation.task_id == task_id)
        )
    )


def confirmation(session: Session, task_id: int, member_id: int) -> StudyConfirmation | None:
    """Return a member's confirmation of a task, if any."""
    return session.scalar(
        select(StudyConfirmation).where(
            StudyConfirmation.task_id == task_id, StudyConfirmation.member_id == member_id
        )
    )


def confirm(
    session: Session,
    actor: Actor,
    task: StudyTask,
    member_id: int,
    *,
    late: bool,
    note: str | None,
    is_correction: bool = False,
) -> StudyConfirmation:
    """Record a member's confirmation of a task (callers check for an earlier one first)."""
    row = StudyConfirmation(
        task_id=task.id,
        member_id=member_id,
        confirmed_at=actor.at,
        late=late,
        note=note,
        recorded_by_member_id=actor.member_id,
        is_correction=is_correction,
        source_inbox_id=actor.inbox_id,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        branch_id=task.branch_id,
        action="correct" if is_correction else "confirm",
        entity="study_confirmation",
        entity_id=row.id,
        task_id=task.id,
        member_id=member_id,
        late=late,
    )
    return row
