"""Workspaces, their runs and lesson progress, and the servers' heartbeats (issue 27).

Revision ID: 0001
Revises:
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)  # db.schema.UTCDateTime stores this type


def upgrade() -> None:
    op.create_table(
        "servers",
        sa.Column("instance", sa.String(64), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started", UTC_TIME, nullable=False),
        sa.Column("heartbeat", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("instance", name=op.f("pk_servers")),
    )
    op.create_index(op.f("ix_servers_heartbeat"), "servers", ["heartbeat"])

    op.create_table(
        "workspaces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created", UTC_TIME, nullable=False),
        sa.Column("last_seen", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_workspaces_key_hash")),
    )
    op.create_index(op.f("ix_workspaces_last_seen"), "workspaces", ["last_seen"])

    op.create_table(
        "lesson_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("item", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("updated", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE",
                                name=op.f("fk_lesson_progress_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lesson_progress")),
        sa.UniqueConstraint("workspace_id", "kind", "item", name=op.f("uq_lesson_progress_workspace_id_kind_item")),
    )

    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(64), nullable=False),
        sa.Column("run_no", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(64), nullable=True),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("history", sa.Text(), nullable=False),
        sa.Column("end_event", sa.Text(), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("link", sa.Text(), nullable=False),
        sa.Column("arrays", sa.LargeBinary(), nullable=True),
        sa.Column("weights", sa.LargeBinary(), nullable=True),
        sa.Column("weights_note", sa.Text(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created", UTC_TIME, nullable=False),
        sa.Column("updated", UTC_TIME, nullable=False),
        sa.CheckConstraint("status IN ('training', 'kept', 'interrupted')", name=op.f("ck_runs_status")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE",
                                name=op.f("fk_runs_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.UniqueConstraint("workspace_id", "store", "run_no", name=op.f("uq_runs_workspace_id_store_run_no")),
    )
    op.create_index("ix_runs_status_owner", "runs", ["status", "owner"])


def downgrade() -> None:
    op.drop_index("ix_runs_status_owner", table_name="runs")
    op.drop_table("runs")
    op.drop_table("lesson_progress")
    op.drop_index(op.f("ix_workspaces_last_seen"), table_name="workspaces")
    op.drop_table("workspaces")
    op.drop_index(op.f("ix_servers_heartbeat"), table_name="servers")
    op.drop_table("servers")
