"""Schema migrations with Alembic: upgrade on start, refuse to run on a schema that disagrees."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")


class SchemaMismatchError(RuntimeError):
    """The database schema is not the one the code expects."""


def alembic_config(url: str) -> Config:
    """Build an Alembic config for the URL without needing an alembic.ini on disk."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database up to `revision` (head by default)."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def current_revision(engine: Engine) -> str | None:
    """Return the revision the database is at, or None for an empty database."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """Return the newest revision the code ships."""
    cfg = alembic_config("sqlite://")
    return ScriptDirectory.from_config(cfg).get_current_head()


def schema_differences(engine: Engine) -> list[object]:
    """List the differences between the live schema and the models (empty when they agree)."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        return list(compare_metadata(context, Base.metadata))


def check_schema(engine: Engine) -> None:
    """Raise SchemaMismatchError unless the database is at head and matches the models."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaMismatchError(
            f"database is at revision {current}, code expects {head}: run `zhibu db upgrade`"
        )
    differences = schema_differences(engine)
    if differences:
        shown = "; ".join(str(d) for d in differences[:5])
        more = f" (and {len(differences) - 5} more)" if len(differences) > 5 else ""
        raise SchemaMismatchError(
            f"database schema at revision {current} differs from the models: {shown}{more}"
        )
