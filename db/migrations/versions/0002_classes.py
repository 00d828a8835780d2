"""A teacher's classes, their members and assignments, and the sign-in failures (issue 28).

Revision ID: 0002
Revises: 0001
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = sa.DateTime(timezone=True)  # db.schema.UTCDateTime stores this type


def upgrade() -> None:
    op.create_table(
        "classes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(80), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("closes_at", UTC_TIME, nullable=True),
        sa.Column("created", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_classes")),
        sa.UniqueConstraint("code", name=op.f("uq_classes_code")),
    )

    op.create_table(
        "members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(40), nullable=False),
        sa.Column("name_key", sa.String(160), nullable=False),
        sa.Column("joined", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], ondelete="CASCADE",
                                name=op.f("fk_members_class_id_classes")),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE",
                                name=op.f("fk_members_workspace_id_workspaces")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_members")),
        sa.UniqueConstraint("class_id", "workspace_id", name=op.f("uq_members_class_id_workspace_id")),
        sa.UniqueConstraint("class_id", "name_key", name=op.f("uq_members_class_id_name_key")),
    )
    op.create_index(op.f("ix_members_workspace_id"), "members", ["workspace_id"])

    op.create_table(
        "assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("class_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["class_id"], ["classes.id"], ondelete="CASCADE",
                                name=op.f("fk_assignments_class_id_classes")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignments")),
        sa.UniqueConstraint("class_id", "lesson_id", name=op.f("uq_assignments_class_id_lesson_id")),
    )

    op.create_table(
        "sign_in_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_failures")),
    )
    op.create_index(op.f("ix_sign_in_failures_at"), "sign_in_failures", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_sign_in_failures_at"), table_name="sign_in_failures")
    op.drop_table("sign_in_failures")
    op.drop_table("assignments")
    op.drop_index(op.f("ix_members_workspace_id"), table_name="members")
    op.drop_table("members")
    op.drop_table("classes")
