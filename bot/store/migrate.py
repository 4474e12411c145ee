"""Schema revisions: bring a database to head, or tell how far behind it is.

`holdfast run` and `holdfast console` migrate SQLite by themselves (a single-file
database belongs to this process). On PostgreSQL they refuse to start on an
out-of-date schema: several workers may share it, so migrating is an operator's
deliberate step (`holdfast migrate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine


class SchemaOutOfDate(Exception):
    """The database schema is behind the code; the message says what to run."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where a database stands against the code's newest revision."""

    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        """True when no migration is pending."""
        return self.current == self.head


def alembic_config() -> Config:
    """An Alembic config pointing at the installed migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("holdfast_migrations")))
    return cfg


def head_revision() -> str:
    """The newest revision the code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


async def status(engine: AsyncEngine) -> SchemaStatus:
    """Read the database's revision."""

    def _current(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with engine.connect() as conn:
        current = await conn.run_sync(_current)
    return SchemaStatus(current=current, head=head_revision())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` on this engine, in one transaction."""

    def _upgrade(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    """Step the schema back (used by the migration round-trip test)."""

    def _downgrade(conn: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_downgrade)


async def ensure_schema(engine: AsyncEngine) -> SchemaStatus:
    """Migrate SQLite automatically; on PostgreSQL refuse an out-of-date schema.

    Raises:
        SchemaOutOfDate: PostgreSQL is behind; the message names `holdfast migrate`.
    """
    found = await status(engine)
    if found.up_to_date:
        return found
    if engine.dialect.name == "sqlite":
        await upgrade(engine)
        return await status(engine)
    raise SchemaOutOfDate(
        f"the database (database.url) is at revision {found.current or 'none (empty)'} "
        f"but this Holdfast needs {found.head}; run `holdfast migrate` first"
    )
