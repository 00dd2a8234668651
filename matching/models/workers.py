"""A worker's own account (issue 13 §3): the invitation that creates it, and the wages the
worker reports once at work.

A worker is a ``User`` with the role ``worker`` linked to exactly one trainee
(``User.trainee_id``, unique). The department of the trainee's province invites them with a
one-time link; only a digest of the link's secret is stored, so neither a database dump nor
a log holds a usable link.
"""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models._common import BigId, utcnow
from matching.models.dispatch import Dispatch
from matching.models.orgs import User
from matching.models.trainees import Trainee

#: Days an invitation link stays valid.
INVITATION_DAYS = 14


class WorkerInvitation(db.Model):
    """A one-time link inviting a trainee to open their account: valid until ``expires_at``,
    used at most once (``used_at``), revocable (``revoked_at``)."""

    __tablename__ = "worker_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    trainee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE"), index=True)
    #: SHA-256 of the secret in the link (hex); the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    trainee: Mapped[Trainee] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def is_pending(self, now: datetime) -> bool:
        """Not used, not revoked, not expired at ``now`` (naive UTC)."""
        return self.used_at is None and self.revoked_at is None and now < self.expires_at


class WageReport(db.Model):
    """The wage a worker says they were actually paid for one month of a dispatch (yen).

    One per dispatch and month (the first day of the month): a new report for the same
    month replaces the amount.
    """

    __tablename__ = "wage_reports"
    __table_args__ = (sa.UniqueConstraint("dispatch_id", "month",
                                          name="uq_wage_reports_dispatch_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("dispatches.id", ondelete="CASCADE"), index=True)
    #: The first day of the month the wage was paid for.
    month: Mapped[date]
    amount_jpy: Mapped[int]
    reported_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    reported_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    dispatch: Mapped[Dispatch] = relationship()
