"""Alembic migrations: an empty database reaches head, the result equals the models, and the
start-up check refuses a database that is behind or has drifted from the code."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, select, text

from storage import migrate
from storage.db import Database
from storage.models import Base, Branch
from tests.conftest import BACKENDS, PG_URL, reset_postgres


@pytest.fixture(params=BACKENDS)
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database with no tables at all, on each backend."""
    if request.param == "postgres":
        if not PG_URL:
            pytest.skip("set ZHIBU_TEST_DATABASE_URL to run PostgreSQL tests")
        reset_postgres(PG_URL)
        database = Database(PG_URL)
    else:
        database = Database(f"sqlite:///{tmp_path / 'empty.db'}")
    yield database
    database.dispose()


def table_names(engine: Engine) -> set[str]:
    """The tables that exist in the database."""
    return set(inspect(engine).get_table_names())


def test_the_migrations_form_one_line_of_history() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, "two heads: a migration is missing its down_revision"
    assert migrate.head_revision() == script.get_heads()[0]


def test_upgrade_from_empty_reaches_head(empty_db: Database) -> None:
    assert migrate.current_revision(empty_db.engine) is None
    assert table_names(empty_db.engine) == set()

    migrate.upgrade(empty_db.engine)

    assert migrate.current_revision(empty_db.engine) == migrate.head_revision()
    assert table_names(empty_db.engine) == set(Base.metadata.tables) | {"alembic_version"}


def test_migrated_schema_equals_the_models(empty_db: Database) -> None:
    migrate.upgrade(empty_db.engine)
    # A model changed without a migration shows up here (added column, index, type change…).
    assert migrate.schema_differences(empty_db.engine) == []
    migrate.check_schema(empty_db.engine)


def test_partial_unique_indexes_are_created(empty_db: Database) -> None:
    migrate.upgrade(empty_db.engine)
    inspector = inspect(empty_db.engine)
    meetings = {i["name"]: i for i in inspector.get_indexes("meetings")}
    attendance = {i["name"]: i for i in inspector.get_indexes("attendance")}
    assert meetings["uq_meetings_open_per_chat"]["unique"]
    assert meetings["uq_meetings_open_per_chat"]["column_names"] == ["chat_id"]
    assert attendance["uq_attendance_current"]["unique"]
    assert attendance["uq_attendance_current"]["column_names"] == ["meeting_id", "member_id"]


def test_schema_differences_sees_drift(empty_db: Database) -> None:
    """The comparison is not vacuous: a column the models have but the database lacks shows."""
    migrate.upgrade(empty_db.engine)
    with empty_db.engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_outbox_status"))
        connection.execute(text("ALTER TABLE branches DROP COLUMN organisation"))

    differences = [str(d) for d in migrate.schema_differences(empty_db.engine)]

    assert any("add_column" in d and "organisation" in d for d in differences), differences
    assert any("add_index" in d and "ix_outbox_status" in d for d in differences), differences


def test_check_schema_refuses_an_unmigrated_database(empty_db: Database) -> None:
    with pytest.raises(migrate.SchemaMismatchError, match="zhibu db upgrade"):
        migrate.check_schema(empty_db.engine)


def test_check_schema_refuses_a_database_behind_head(empty_db: Database) -> None:
    migrate.upgrade(empty_db.engine)
    with empty_db.engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = 'old'"))
    with pytest.raises(migrate.SchemaMismatchError):
        migrate.check_schema(empty_db.engine)


def test_check_schema_refuses_a_database_that_disagrees_with_the_models(
    empty_db: Database,
) -> None:
    migrate.upgrade(empty_db.engine)
    with empty_db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE branches DROP COLUMN organisation"))
    with pytest.raises(migrate.SchemaMismatchError, match="organisation"):
        migrate.check_schema(empty_db.engine)


def test_upgrade_is_idempotent_and_keeps_data(empty_db: Database) -> None:
    migrate.upgrade(empty_db.engine)
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    with empty_db.transaction() as session:
        session.add(Branch(name="机关第一党支部", timezone="Asia/Shanghai", created_at=at))

    migrate.upgrade(empty_db.engine)
    migrate.upgrade(empty_db.engine)

    assert migrate.current_revision(empty_db.engine) == migrate.head_revision()
    with empty_db.engine.connect() as connection:
        versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    assert versions == [(migrate.head_revision(),)]
    with empty_db.session() as session:
        assert list(session.scalars(select(Branch.name))) == ["机关第一党支部"]
    assert migrate.schema_differences(empty_db.engine) == []
