"""API keys under a keyed hash; PayPal transmissions accepted once

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

Keys issued before this revision are stored as plain SHA-256 and cannot be re-hashed here: the
HMAC needs the key itself, which was never stored, and the server's secret, which a migration
does not hold. So each existing row is marked ``sha256`` and keeps working; ``services.api_keys``
moves it to the keyed hash on its first use (the only moment its secret is in hand). An operator
who wants no legacy hash left rolls those keys (``durapay keys roll``). New rows are
``hmac-sha256``.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_keys",
        sa.Column("hash_scheme", sa.String(16), nullable=False, server_default="sha256"),
    )
    op.create_table(
        "paypal_transmissions",
        sa.Column("transmission_id", sa.String(128), primary_key=True),
        sa.Column("event_id", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("paypal_transmissions")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("hash_scheme")
