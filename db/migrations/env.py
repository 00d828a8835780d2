"""Alembic's entry point for the playground's schema (run by db.migrate, never with alembic.ini).

db.migrate passes an open connection that already holds the migration lock; render_as_batch
lets a later migration alter a table on SQLite, which has no ALTER for most changes.
"""
from alembic import context

from db.schema import Base

config = context.config
target_metadata = Base.metadata


def run_offline() -> None:
    """SQL text for a DBA to apply by hand (`alembic upgrade --sql` through db.migrate.alembic_config)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes["connection"]
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
