"""the network of nodes: provenance, links, batches, cosignatures, witness state

Revision ID: 0012_federation
Revises: 0011_mirror
Create Date: 2026-12-06 09:00:00.000000

- ``records``: where a version another node accepted first comes from (``origin_node``,
  ``origin_record_id``, ``origin_received_at``) and the neighbour that sent it (``via_node``);
  null for records accepted here.
- ``record_events``: ``origin_node`` and ``via_node`` of an event a neighbour sent, and an
  index on ``ledger_leaf``: the links read the events in ledger order.
- ``federation_links``, ``federation_sent``, ``federation_received``, ``federation_alarms``:
  each link's state, the batches sent (the one in flight with its body) and applied, alarms.
- ``ledger_cosignatures``: the witnesses' cosignatures on this node's checkpoints;
  ``ledger_witnessed`` and ``ledger_witness_alarms``: as a witness, the latest checkpoint of
  each neighbour's log cosigned, and the forks seen.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_federation"
down_revision: str | None = "0011_mirror"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_node", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("origin_record_id", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("origin_received_at", INSTANT, nullable=True))
        batch_op.add_column(sa.Column("via_node", sa.String(length=64), nullable=True))
    with op.batch_alter_table("record_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("origin_node", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("via_node", sa.String(length=64), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_record_events_ledger_leaf"), ["ledger_leaf"], unique=False
        )
    op.create_table(
        "federation_links",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("sent_number", sa.BigInteger(), nullable=False),
        sa.Column("sent_digest", sa.String(length=64), nullable=False),
        sa.Column("sent_through", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", INSTANT, nullable=True),
        sa.Column("received_number", sa.BigInteger(), nullable=False),
        sa.Column("received_digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", INSTANT, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_at", INSTANT, nullable=True),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_federation_links")),
    )
    op.create_table(
        "federation_sent",
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("through", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", INSTANT, nullable=False),
        sa.Column("acknowledged_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("link", "number", name=op.f("pk_federation_sent")),
    )
    op.create_table(
        "federation_received",
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("number", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("stored", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("marked", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("received_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("link", "number", name=op.f("pk_federation_received")),
    )
    op.create_table(
        "federation_alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("link", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("raised_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federation_alarms")),
    )
    op.create_table(
        "ledger_cosignatures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("witness", sa.String(length=200), nullable=False),
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("line", sa.Text(), nullable=False),
        sa.Column("signed_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_cosignatures")),
        sa.UniqueConstraint(
            "tree_size",
            "root_hash",
            "witness",
            name=op.f("uq_ledger_cosignatures_tree_size_root_hash_witness"),
        ),
    )
    with op.batch_alter_table("ledger_cosignatures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_cosignatures_tree_size"), ["tree_size"], unique=False
        )
    op.create_table(
        "ledger_witnessed",
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("cosigned_at", INSTANT, nullable=True),
        sa.PrimaryKeyConstraint("origin", name=op.f("pk_ledger_witnessed")),
    )
    op.create_table(
        "ledger_witness_alarms",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("cosigned_note", sa.Text(), nullable=False),
        sa.Column("shown_note", sa.Text(), nullable=False),
        sa.Column("proof", sa.Text(), nullable=False),
        sa.Column("raised_at", INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_witness_alarms")),
    )


def downgrade() -> None:
    op.drop_table("ledger_witness_alarms")
    op.drop_table("ledger_witnessed")
    with op.batch_alter_table("ledger_cosignatures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_cosignatures_tree_size"))
    op.drop_table("ledger_cosignatures")
    op.drop_table("federation_alarms")
    op.drop_table("federation_received")
    op.drop_table("federation_sent")
    op.drop_table("federation_links")
    with op.batch_alter_table("record_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_events_ledger_leaf"))
        batch_op.drop_column("via_node")
        batch_op.drop_column("origin_node")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("via_node")
        batch_op.drop_column("origin_received_at")
        batch_op.drop_column("origin_node")
        batch_op.drop_column("origin_record_id")
