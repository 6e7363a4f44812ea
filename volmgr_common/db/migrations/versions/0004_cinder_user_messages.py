"""user messages as Cinder builds them; the detail of a failure on its volume

Volumes get ``failure_detail``: the user message detail id that the failing stage
notes together with ``failure_reason``, from which the API builds the message.
Messages written before this revision carried the failure's own words (which could
name server paths) under an event id like ``MANAGE_EXISTING_VOLUME_FAILED``: each
is rewritten as Cinder's ``VOLUME_VOLUME_901_<detail>`` with the text
``manage existing volume: <detail>``, the detail read from the words the earlier
exceptions' templates wrote (unknown error when none fits). The ids and words are
written out here, as they were at this revision.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTION = ("901", "manage existing volume")
UNKNOWN = ("001", "An unknown error occurred.")
# (words of an earlier exception's template, (detail id, detail text)); first match wins.
OLD_WORDS = (
    ("No valid backend was found", ("003", "Could not find any available weighted backend.")),
    ("Quota exceeded", ("006", "Not enough quota resource for operation.")),
    ("exceeds the quota", ("006", "Not enough quota resource for operation.")),
    (
        "is already managed or being managed",
        ("902", "The backend object is already managed or being managed."),
    ),
    (
        "invalid backend reference",
        ("901", "The backend reference does not name an object that can be managed."),
    ),
    (
        "Volume driver reported an error",
        ("903", "The volume driver failed to manage the backend object."),
    ),
    ("is unavailable", ("904", "The volume service of the backend is unavailable.")),
)

messages = sa.table(
    "messages",
    sa.column("id", sa.String),
    sa.column("event_id", sa.String),
    sa.column("detail", sa.Text),
)


def _detail(words: str) -> tuple[str, str]:
    return next((detail for old, detail in OLD_WORDS if old in words), UNKNOWN)


def upgrade() -> None:
    op.add_column("volumes", sa.Column("failure_detail", sa.String(length=16), nullable=True))
    bind = op.get_bind()
    old = bind.execute(
        sa.select(messages.c.id, messages.c.detail).where(
            messages.c.event_id.like("MANAGE\\_EXISTING\\_%", escape="\\")
        )
    ).all()
    for message_id, words in old:
        detail_id, detail_text = _detail(words or "")
        bind.execute(
            messages.update()
            .where(messages.c.id == message_id)
            .values(
                event_id=f"VOLUME_VOLUME_{ACTION[0]}_{detail_id}",
                detail=f"{ACTION[1]}: {detail_text}",
            )
        )


def downgrade() -> None:
    # The rewritten messages keep Cinder's form: their earlier words are not kept.
    with op.batch_alter_table("volumes") as batch_op:
        batch_op.drop_column("failure_detail")
