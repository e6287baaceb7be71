"""The real PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), with throwaway databases.

The session gets one database with a random name, migrated once; tests that need an
empty one ask for ``fresh_dsn``. All of them are dropped at the end of the session.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from classroom_hub.central import migrate

SERVER = "postgresql://postgres@127.0.0.1:5432"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{SERVER}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_prefix() -> Iterator[str]:
    prefix = f"hub_central_test_{secrets.token_hex(4)}"
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        pytest.fail(
            f"PostgreSQL is not reachable at {SERVER} (user postgres, trust auth): {err!r}. "
            "The central database tests need it: start it (e.g. `service postgresql start`).",
            pytrace=False,
        )
    yield prefix

    async def drop_all() -> None:
        conn = await asyncpg.connect(f"{SERVER}/postgres", timeout=5)
        try:
            names = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", f"{prefix}%")
            for row in names:
                await conn.execute(f'DROP DATABASE "{row["datname"]}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop_all())


@pytest.fixture(scope="session")
def central_dsn(database_prefix: str) -> str:
    """A migrated database shared by the session: tests use their own ids in it."""
    asyncio.run(_admin(f'CREATE DATABASE "{database_prefix}"'))
    dsn = f"{SERVER}/{database_prefix}"
    asyncio.run(migrate(dsn))
    return dsn


@pytest.fixture
async def fresh_dsn(database_prefix: str) -> AsyncIterator[str]:
    """An empty database of its own for this test."""
    name = f"{database_prefix}_{secrets.token_hex(3)}"
    await _admin(f'CREATE DATABASE "{name}"')
    yield f"{SERVER}/{name}"
    await _admin(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
async def db(central_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(central_dsn)
    try:
        yield conn
    finally:
        await conn.close()
