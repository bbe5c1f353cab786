"""The ledger's tables: branches, chats, members, meetings, attendance, study, volunteer, inbox, outbox, audit."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLE_SECRETARY = "secretary"
ROLE_MEMBER = "member"

ATTEND_PRESENT = "present"
ATTEND_LATE = "late"
ATTEND_LEAVE = "leave"
ATTEND_ABSENT = "absent"
ATTEND_MAKEUP = "makeup"
ATTENDANCE_STATUSES = (ATTEND_PRESENT, ATTEND_LATE, ATTEND_LEAVE, ATTEND_ABSENT, ATTEND_MAKEUP)

MEETING_OPEN = "open"
MEETING_CLOSED = "closed"


class Base(DeclarativeBase):
    """Declarative base with stable constraint names for migrations."""

    metadata = MetaData(naming_convention=NAMING)


class Branch(Base):
    """A Party branch (党支部): the unit that owns a roster and a ledger."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    organisation: Mapped[str | None] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    late_after_minutes: Mapped[int] = mapped_column(Integer, default=30)
    # Calendar rules and reminder settings that differ from the defaults (JSON, see
    # scheduler.branch_config); NULL means all defaults.
    calendar: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    members: Mapped[list[Member]] = relationship(back_populates="branch")


class Chat(Base):
    """A group chat on one platform, bound to at most one branch."""

    __tablename__ = "chats"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))
    title: Mapped[str | None] = mapped_column(String(200))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Delivery routes (webhook, session webhook, conversation ids) as a JSON object; opaque
    # here, written from callbacks and read by the platform's sender.
    routes: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")

    branch: Mapped[Branch | None] = relationship()


class Member(Base):
    """A Party member of one branch, with role, 党小组 and 正式/预备 status."""

    __tablename__ = "members"
    __table_args__ = (UniqueConstraint("branch_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(50), default="党员")
    party_group: Mapped[str | None] = mapped_column(String(50))
    probationary: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(20), default=ROLE_MEMBER)
    phone: Mapped[str | None] = mapped_column(String(30))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    branch: Mapped[Branch] = relationship(back_populates="members")
    identities: Mapped[list[MemberIdentity]] = relationship(back_populates="member")

    @property
    def is_secretary(self) -> bool:
        """True when the member may give secretary commands."""
        return self.role == ROLE_SECRETARY


class MemberIdentity(Base):
    """A member's user id on one platform, unique within the branch."""

    __tablename__ = "member_identities"
    __table_args__ = (UniqueConstraint("branch_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str] = mapped_column(String(128))

    member: Mapped[Member] = relationship(back_populates="identities")


class InboxEntry(Base):
    """Every received message, once per platform message id, with the answer it got."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("platform", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(128))
    chat_external_id: Mapped[str] = mapped_column(String(128))
    sender_external_id: Mapped[str] = mapped_column(String(128))
    sender_name: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    intent: Mapped[str | None] = mapped_column(String(30))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reply_text: Mapped[str | None] = mapped_column(Text)


class OutboxEntry(Base):
    """A message waiting to be sent (reply, reminder, summary), unique per dedup key."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_external_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(30), default="reply")
    text: Mapped[str] = mapped_column(Text)
    mentions: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of platform user ids
    card: Mapped[str | None] = mapped_column(Text)  # JSON of an interactive card, if any
    # JSON of what to attach (a ledger workbook, a chart): a recipe built at send time, not bytes.
    attachment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Parts of a split message already delivered; a retry resumes after them.
    parts_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # While a sender holds the row (status "sending"); past it, the row is free again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))


class AppSecret(Base):
    """A generated secret shared by every instance (e.g. the key that signs download links)."""

    __tablename__ = "app_secrets"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Meeting(Base):
    """One sitting; it may count for several kinds (a merged meeting)."""

    __tablename__ = "meetings"
    __table_args__ = (
        # At most one meeting open for check-in per chat: the database, not the code, is the guard.
        Index(
            "uq_meetings_open_per_chat",
            "chat_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))
    topic: Mapped[str] = mapped_column(String(200), default="")
    place: Mapped[str | None] = mapped_column(String(200))
    party_group: Mapped[str | None] = mapped_column(String(50))
    host_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    recorder_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    opened_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    status: Mapped[str] = mapped_column(String(10), default=MEETING_OPEN)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))

    kind_rows: Mapped[list[MeetingKind]] = relationship(
        cascade="all, delete-orphan", order_by="MeetingKind.position"
    )
    expected: Mapped[list[MeetingAttendee]] = relationship(cascade="all, delete-orphan")

    @property
    def kinds(self) -> list[str]:
        """The canonical kinds this sitting counts for, in the order given."""
        return [k.kind for k in self.kind_rows]


class MeetingKind(Base):
    """One kind a meeting counts for."""

    __tablename__ = "meeting_kinds"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class MeetingAttendee(Base):
    """A member expected at a meeting (应到), fixed when check-in opens."""

    __tablename__ = "meeting_attendees"

    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)


class Attendance(Base):
    """A member's attendance at a meeting; a correction supersedes, never overwrites."""

    __tablename__ = "attendance"
    __table_args__ = (
        Index(
            "uq_attendance_current",
            "meeting_id",
            "member_id",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    status: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str | None] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    is_correction: Mapped[bool] = mapped_column(Boolean, default=False)
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("attendance.id"))
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LeaveRequest(Base):
    """A 请假: for the open meeting, or pending until the next meeting the member is expected at."""

    __tablename__ = "leave_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meetings.id"), index=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))


class MakeupItem(Base):
    """A 补课 owed by a member who missed or took leave from a meeting."""

    __tablename__ = "makeups"
    __table_args__ = (UniqueConstraint("meeting_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    # Set when a correction shows the member was not absent after all; the row stays.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))

    meeting: Mapped[Meeting] = relationship()


class StudyTask(Base):
    """A study item published to the branch (学习任务)."""

    __tablename__ = "study_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chats.id"))
    title: Mapped[str] = mapped_column(String(200))
    deadline: Mapped[date | None] = mapped_column(Date)
    link: Mapped[str | None] = mapped_column(String(500))
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    published_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))


class StudyConfirmation(Base):
    """A member's confirmation of a study task; `late` when after the deadline."""

    __tablename__ = "study_confirmations"
    __table_args__ = (UniqueConstraint("task_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("study_tasks.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    note: Mapped[str | None] = mapped_column(String(200))
    recorded_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    is_correction: Mapped[bool] = mapped_column(Boolean, default=False)
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))


class VolunteerRecord(Base):
    """Volunteer service hours reported by (or for) a member."""

    __tablename__ = "volunteer_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    service_date: Mapped[date] = mapped_column(Date, index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(5, 2))
    activity: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))


class AuditEntry(Base):
    """Append-only trail: who did what, when, from which message."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branches.id"), index=True)
    actor_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text, default="{}")
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))


class PlanVersion(Base):
    """One stored version of a branch's annual plan (年度计划); versions count 1, 2, 3… per year."""

    __tablename__ = "plan_versions"
    __table_args__ = (UniqueConstraint("branch_id", "year", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(20))  # "generated" or "imported"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


# `PlanEntry.date` shadows the type inside the class body.
_Date = date


class PlanEntry(Base):
    """One planned item of a plan version, in the plan's order (`position`)."""

    __tablename__ = "plan_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(ForeignKey("plan_versions.id"), index=True)
    date: Mapped[_Date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(200))
    party_group: Mapped[str | None] = mapped_column(String(50))
    moved_from: Mapped[_Date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer)


class PointsRuleVersion(Base):
    """One stored version of an organisation's points rules (积分规则, YAML); never edited."""

    __tablename__ = "points_rule_versions"
    __table_args__ = (UniqueConstraint("organisation", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    effective_from: Mapped[_Date] = mapped_column(Date)
    rules: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    note: Mapped[str | None] = mapped_column(Text)


class PointsAdjustment(Base):
    """A secretary's manual points adjustment (积分调整) of a member, with its reason."""

    __tablename__ = "points_adjustments"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(ForeignKey("branches.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    reason: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    source_inbox_id: Mapped[int | None] = mapped_column(ForeignKey("inbox.id"))
