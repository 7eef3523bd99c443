"""The curators' review queue and the append-only decision log.

Revision ID: 0002_review
Revises: 0001_history
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.review import DROP_TRIGGERS, UtcDateTime, append_only_triggers

revision = "0002_review"
down_revision = "0001_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "review_items",
        sa.Column("post_id", sa.String(256), primary_key=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=True),
        sa.Column("text_expires_at", UtcDateTime, nullable=True),
        sa.Column("post_json", sa.Text, nullable=False),
        sa.Column("tagging_json", sa.Text, nullable=False),
        sa.Column("current_json", sa.Text, nullable=False),
        sa.Column("model_version", sa.String(128), nullable=True),
        sa.Column("topic", sa.String(256), nullable=True),
        sa.Column("group", sa.String(256), nullable=True),
        sa.Column("importance", sa.String(16), nullable=True),
        sa.Column("actionable", sa.Boolean, nullable=False),
        sa.Column("executor", sa.String(512), nullable=True),
        sa.Column("detected_at", UtcDateTime, nullable=False),
        sa.Column("deadline", UtcDateTime, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("enqueued_at", UtcDateTime, nullable=False),
        sa.Column("decided_at", UtcDateTime, nullable=True),
        sa.Column("decided_by", sa.String(128), nullable=True),
        sa.Column("answered_at", UtcDateTime, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_review_items_status_deadline", "review_items", ["status", "deadline"])
    op.create_index("ix_review_items_region_detected", "review_items", ["region", "detected_at"])
    op.create_index("ix_review_items_text_expires", "review_items", ["text_expires_at"])
    op.create_table(
        "review_audit",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(256), nullable=True),
        sa.Column("before_json", sa.Text, nullable=True),
        sa.Column("after_json", sa.Text, nullable=True),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_review_audit_post", "review_audit", ["post_id", "id"])
    op.create_index("ix_review_audit_at", "review_audit", ["at"])
    # the audit log is append-only in the database itself, not only in the code
    for statement in append_only_triggers(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade() -> None:
    for statement in DROP_TRIGGERS.get(op.get_bind().dialect.name, []):
        op.execute(statement)
    op.drop_table("review_audit")
    op.drop_table("review_items")
