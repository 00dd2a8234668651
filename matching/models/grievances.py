"""Grievances (issue 13 §4): what a worker complains about, and its append-only history.

A grievance is filed by the worker, or by the department of their province on their behalf
(a phone call). It goes to that department, and to the agency of the worker's open (or
last) dispatch unless the worker said no (``agency_may_see``). Employers never see one.
States: open → acknowledged → resolved | closed; every change is a ``GrievanceEvent`` with
its note, who and when; events are never changed or deleted.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from matching.extensions import db
from matching.models._common import BigId, random_id, utcnow
from matching.models.dispatch import AuditTrailError, Dispatch
from matching.models.orgs import User
from matching.models.trainees import Trainee

GRIEVANCE_CATEGORIES = ("fees", "contract", "wages", "working_hours", "safety", "harassment",
                        "accommodation", "documents", "other")
GRIEVANCE_STATES = ("open", "acknowledged", "resolved", "closed")
#: state -> the states it may move to.
GRIEVANCE_TRANSITIONS = {"open": ("acknowledged", "resolved", "closed"),
                         "acknowledged": ("resolved", "closed"),
                         "resolved": (), "closed": ()}
#: An open grievance not acknowledged within this many days is overdue.
OVERDUE_DAYS = 7


class Grievance(db.Model):
    __tablename__ = "grievances"

    #: Random, not sequential: it appears in the worker's, the department's and the
    #: agency's URLs.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=random_id)
    trainee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE"), index=True)
    #: The worker's open (else last) dispatch when it was filed; its agency may see the
    #: grievance when ``agency_may_see``.
    dispatch_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("dispatches.id", ondelete="SET NULL"), index=True)
    category: Mapped[str] = mapped_column(sa.String(16), index=True)
    description: Mapped[str] = mapped_column(sa.Text)
    agency_may_see: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    #: Filed by the worker themself (False: by the department, on their behalf).
    by_worker: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # The optional attachment, stored like a document's file
    # (``operations.documents.store_upload``).
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    file_path: Mapped[str | None] = mapped_column(sa.String(255))
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    size: Mapped[int | None]

    trainee: Mapped[Trainee] = relationship()
    dispatch: Mapped[Dispatch | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    events: Mapped[list["GrievanceEvent"]] = relationship(
        back_populates="grievance", order_by="GrievanceEvent.id", viewonly=True)


class GrievanceEvent(db.Model):
    """Append-only: the filing and each change of state, with its note."""

    __tablename__ = "grievance_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    grievance_id: Mapped[int] = mapped_column(
        BigId, sa.ForeignKey("grievances.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str | None] = mapped_column(sa.String(16))
    to_state: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    grievance: Mapped[Grievance] = relationship(back_populates="events")
    by: Mapped[User | None] = relationship()


@sa.event.listens_for(GrievanceEvent, "before_update")
@sa.event.listens_for(GrievanceEvent, "before_delete")
def _refuse_event_change(_mapper, _connection, target) -> None:
    raise AuditTrailError(f"grievance event {target.id} is part of the audit trail: "
                          "it cannot be changed or deleted")


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_event_changes(state) -> None:
    if (state.is_update or state.is_delete) and any(
            mapper.class_ is GrievanceEvent for mapper in state.all_mappers):
        raise AuditTrailError("grievance events are part of the audit trail: they cannot be "
                              "changed or deleted")
