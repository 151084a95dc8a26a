"""customer lifecycle: KYC tier, idempotent create, erasure

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

``email`` becomes nullable because an erased customer keeps its row (payments point at it) but
no longer its address.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=True)
        batch_op.add_column(sa.Column("kyc_tier", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("request_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_customers_account_created", ["account_id", "created_at"])
        batch_op.create_index("ix_customers_account_email", ["account_id", "email"])


def downgrade() -> None:
    """An erased customer gets an empty address back: the old schema cannot hold none."""
    op.execute("UPDATE customers SET email = '' WHERE email IS NULL")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_index("ix_customers_account_email")
        batch_op.drop_index("ix_customers_account_created")
        batch_op.drop_column("erased_at")
        batch_op.drop_column("request_hash")
        batch_op.drop_column("kyc_tier")
        batch_op.alter_column("email", existing_type=sa.String(length=254), nullable=False)
