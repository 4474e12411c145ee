"""The models and the Alembic migrations agree (acceptance 6), on SQLite and PostgreSQL.

`alembic upgrade head` on an empty database, then Alembic's own autogenerate
comparison against `Base.metadata` must find nothing: no missing table, column,
index, unique constraint, or type difference (procrastinate's migration test).
Downgrading to base and upgrading again must work, so every revision's downgrade
is real. PostgreSQL runs when HOLDFAST_TEST_DATABASE_URL is set (`db_url`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import create_engine
from bot.store.migrate import (
    SchemaOutOfDate,
    alembic_config,
    downgrade,
    ensure_schema,
    head_revision,
    status,
    upgrade,
)
from bot.store.models import Base


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


def _diff(conn: Connection) -> list[Any]:
    context = MigrationContext.configure(conn, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def diff(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return await conn.run_sync(_diff)


async def tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(_tables)


def test_one_head_and_a_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(not r.is_merge_point for r in revisions)


async def test_upgrade_head_matches_the_models(engine: AsyncEngine) -> None:
    assert await tables(engine) == set()
    await upgrade(engine)
    assert await diff(engine) == []
    assert await tables(engine) == set(Base.metadata.tables) | {"alembic_version"}
    assert (await status(engine)).up_to_date


async def test_downgrade_to_base_and_upgrade_again(engine: AsyncEngine) -> None:
    await upgrade(engine)
    await downgrade(engine, "base")
    assert await tables(engine) <= {"alembic_version"}
    assert (await status(engine)).current is None
    await upgrade(engine)
    assert await diff(engine) == []
    assert (await status(engine)).current == head_revision()


async def test_every_revision_steps_down_and_up(engine: AsyncEngine) -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        await upgrade(engine, revision)
        assert (await status(engine)).current == revision
    for revision in reversed(revisions):
        await downgrade(engine, "-1")
        assert (await status(engine)).current != revision
    assert (await status(engine)).current is None


async def test_sqlite_is_migrated_on_start_postgresql_is_refused(engine: AsyncEngine) -> None:
    if engine.dialect.name == "sqlite":
        found = await ensure_schema(engine)
        assert found.up_to_date and await diff(engine) == []
        return
    with pytest.raises(SchemaOutOfDate, match="holdfast migrate"):
        await ensure_schema(engine)
    assert await tables(engine) == set()
    await upgrade(engine)
    assert (await ensure_schema(engine)).up_to_date


async def test_partial_index_keeps_its_where_clause(engine: AsyncEngine) -> None:
    """Autogenerate does not compare index predicates, so check the one partial index."""
    await upgrade(engine)
    if engine.dialect.name == "sqlite":
        query = "SELECT sql FROM sqlite_master WHERE name = 'ix_checkins_next_action'"
    else:
        query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_checkins_next_action'"
    async with engine.connect() as conn:
        definition = (await conn.exec_driver_sql(query)).scalar_one()
    assert "WHERE" in definition.upper() and "next_action_at IS NOT NULL" in definition
