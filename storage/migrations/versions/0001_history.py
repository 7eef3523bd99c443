"""History of posts: fingerprints, author, time, tags, answered_at, incidents; LSH buckets.

Revision ID: 0001_history
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001_history"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "history_posts",
        sa.Column("post_id", sa.String(256), primary_key=True),
        sa.Column("author_id", sa.String(256), nullable=True),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("detected_at", sa.DateTime(), nullable=True),
        sa.Column("topic_group", sa.String(256), nullable=True),
        sa.Column("topic", sa.String(512), nullable=True),
        sa.Column("location_key", sa.String(512), nullable=True),
        sa.Column("place", sa.String(512), nullable=True),
        sa.Column("source", sa.String(32), nullable=True),
        sa.Column("signature", sa.LargeBinary(), nullable=True),
        sa.Column("terms", sa.LargeBinary(), nullable=True),
        sa.Column("facts", sa.Text(), nullable=True),
        sa.Column("answered_at", sa.DateTime(), nullable=True),
        sa.Column("incident_id", sa.String(300), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=True),
    )
    op.create_index("ix_history_posts_author_time", "history_posts", ["author_id", "created_at"])
    op.create_index("ix_history_posts_region_time", "history_posts", ["region", "created_at"])
    op.create_index("ix_history_posts_time", "history_posts", ["created_at"])
    op.create_index("ix_history_posts_place", "history_posts", ["region", "topic_group", "location_key", "created_at"])
    op.create_index("ix_history_posts_incident", "history_posts", ["incident_id"])
    op.create_table(
        "history_buckets",
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("post_id", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("bucket", "post_id", name="pk_history_buckets"),
    )
    op.create_index("ix_history_buckets_post", "history_buckets", ["post_id"])
    op.create_index("ix_history_buckets_time", "history_buckets", ["created_at"])


def downgrade() -> None:
    op.drop_table("history_buckets")
    op.drop_table("history_posts")
