"""The PostgreSQL fixtures: `postgres_server` (a throwaway cluster for the session, from
deploy/postgres.py) and `postgres_url` (an empty database on it). Without PostgreSQL they skip
with the reason, except under CI=true, where they fail (as the browser tests do)."""
import os

import pytest

from deploy.postgres import throwaway_postgres, unavailable


def require_postgres() -> None:
    """Skip (with the reason) where PostgreSQL cannot run; under CI=true, fail instead."""
    reason = unavailable()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL tests must run under CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_server():
    """One throwaway PostgreSQL cluster for the test session."""
    require_postgres()
    with throwaway_postgres() as server:
        yield server


@pytest.fixture(scope="session")
def postgres_url(postgres_server):
    """The URL of an empty database on the session's throwaway PostgreSQL server."""
    return postgres_server.create_database("playground_test")
