"""Dispatch of a selected worker: the pipeline record and its append-only audit trail."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from matching.extensions import db
from matching.models._common import BigId, random_id, utcnow
from matching.models.jobs import JobOrder
from matching.models.orgs import Organisation, User
from matching.models.trainees import Trainee

#: Stages in order (DESIGN §6), then the exits.
STAGES = ("selected", "contracted", "training", "coe_applied", "coe_issued", "visa_applied",
          "visa_issued", "departed", "deployed", "completed")
EXITS = ("withdrawn", "denied", "early_return")
CLOSED_STAGES = ("completed", *EXITS)
#: ``Dispatch.track_stage``: a third-stage TITP contract with the enterprise of the first two
#: stages, and an SSW contract after completing TITP (service fee capped at 0).
TRACK_STAGES = ("titp_3_same_employer", "ssw_after_titp")
OPEN_WHERE = "stage NOT IN (" + ", ".join(f"'{s}'" for s in CLOSED_STAGES) + ")"


class Dispatch(db.Model):
    """One selected trainee on one job order, handled by one agency.

    ``version`` is SQLAlchemy's optimistic-locking counter: an UPDATE carrying a stale
    version matches no row and raises ``StaleDataError`` instead of overwriting.
    """

    __tablename__ = "dispatches"
    __table_args__ = (
        sa.UniqueConstraint("job_order_id", "trainee_id", name="uq_dispatches_job_order_trainee"),
        # One worker, one open dispatch: decided by the database, whatever the timing.
        sa.Index("uq_dispatches_open_trainee", "trainee_id", unique=True,
                 sqlite_where=sa.text(OPEN_WHERE), postgresql_where=sa.text(OPEN_WHERE)),
    )

    #: Random, not sequential: employers and agencies see it in their URLs.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=random_id)
    job_order_id: Mapped[int] = mapped_column(sa.ForeignKey("job_orders.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(sa.ForeignKey("trainees.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    stage: Mapped[str] = mapped_column(sa.String(16), default="selected", index=True)
    planned_departure: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)
    #: When the dispatch ended (an exit or ``completed``); None while it is open.
    closed_at: Mapped[datetime | None]
    # The contract as signed (issue 13 §1): prefilled from the job order when the dispatch
    # reaches ``contracted``, corrected by the agency to the signed contract.
    contract_wage_jpy: Mapped[int | None]  # monthly basic wage
    contract_months: Mapped[int | None]
    contract_field: Mapped[str | None] = mapped_column(sa.String(32))
    contract_prefecture: Mapped[str | None] = mapped_column(sa.String(32))
    contract_employer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    #: Where this contract stands in the worker's path, when it caps the service fee at 0
    #: and the platform's own history cannot tell (the earlier contract was not on it):
    #: ``TRACK_STAGES``; None for a first contract.
    track_stage: Mapped[str | None] = mapped_column(sa.String(24))
    #: After an early return: whether it was the worker's own fault (a service-fee refund
    #: is due otherwise); None: not said.
    return_worker_fault: Mapped[bool | None]

    job_order: Mapped[JobOrder] = relationship()
    trainee: Mapped[Trainee] = relationship()
    agency: Mapped[Organisation | None] = relationship(foreign_keys=[agency_id])
    contract_employer: Mapped[Organisation | None] = relationship(
        foreign_keys=[contract_employer_id])
    events: Mapped[list["StatusEvent"]] = relationship(
        back_populates="dispatch", order_by="StatusEvent.id", viewonly=True)

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_open(self) -> bool:
        return self.stage not in EXITS and self.stage != "completed"


class AuditTrailError(RuntimeError):
    """Raised by any attempt to change or delete a ``StatusEvent`` (a programming error)."""


class StatusEvent(db.Model):
    """Append-only: one row per stage change; never updated or deleted (the guards at the
    end of this module refuse it, whoever tries)."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispatch_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("dispatches.id"), index=True)
    from_stage: Mapped[str | None] = mapped_column(sa.String(16))
    to_stage: Mapped[str] = mapped_column(sa.String(16))
    #: The day the step happened (may be earlier than when it was recorded).
    happened_on: Mapped[date]
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str | None] = mapped_column(sa.String(1000))

    dispatch: Mapped[Dispatch] = relationship(back_populates="events")
    by: Mapped[User | None] = relationship()


class Impression(db.Model):
    """A candidate card shown to an employer: at which rank, and whether it was opened.

    Training tells shown-and-passed-over from never-shown (position bias), and the fairness
    check measures exposure from these rows.
    """

    __tablename__ = "impressions"
    __table_args__ = (sa.Index("ix_impressions_job_trainee", "job_order_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("job_orders.id", ondelete="CASCADE"), index=True)
    trainee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    rank: Mapped[int]
    score: Mapped[float]
    model_version: Mapped[int | None]
    shown_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    opened_at: Mapped[datetime | None]


DOCUMENT_KINDS = ("passport", "health_check", "tb_certificate", "language_certificate",
                  "contract", "coe", "visa", "flight")
#: A fee receipt's file: a dispatch document, recorded only with its charge (not a kind of
#: the document form, nor of the documents list; ``access.dispatch_documents_select``).
RECEIPT_KIND = "receipt"


class Document(db.Model):
    """A document of a dispatch (COE, visa, flight…) or of a trainee (passport, health…).

    An uploaded file is stored under instance/documents/ with a random name; only its
    original name, type and size are kept here.
    """

    __tablename__ = "documents"
    __table_args__ = (
        sa.CheckConstraint("dispatch_id IS NOT NULL OR trainee_id IS NOT NULL", name="owner"),
    )

    #: Random, not sequential: employers and agencies see it in their URLs.
    id: Mapped[int] = mapped_column(BigId, primary_key=True, default=random_id)
    dispatch_id: Mapped[int | None] = mapped_column(
        BigId, sa.ForeignKey("dispatches.id", ondelete="CASCADE"), index=True)
    trainee_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(24), index=True)
    number: Mapped[str | None] = mapped_column(sa.String(64))
    issued_on: Mapped[date | None]
    expires_on: Mapped[date | None] = mapped_column(index=True)
    file_name: Mapped[str | None] = mapped_column(sa.String(255))  # as uploaded
    file_path: Mapped[str | None] = mapped_column(sa.String(255))  # random key, matching.storage
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: current: counts for the stage rules and expiry warnings; superseded: replaced by
    #: ``replaced_by``; withdrawn: recorded by mistake. Only current documents count.
    status: Mapped[str] = mapped_column(sa.String(12), default="current",
                                        server_default="current")
    replaced_by_id: Mapped[int | None] = mapped_column(BigId, sa.ForeignKey("documents.id"))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    withdraw_reason: Mapped[str | None] = mapped_column(sa.String(500))

    dispatch: Mapped[Dispatch | None] = relationship()
    trainee: Mapped[Trainee | None] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])
    replaced_by: Mapped["Document | None"] = relationship(remote_side=[id])

    @property
    def is_current(self) -> bool:
        """Whether it counts (for the stage rules and the expiry warnings): not replaced,
        not withdrawn. A row not flushed yet has no status: it is current."""
        return (self.status or "current") == "current"


# -- the audit trail is append-only -------------------------------------------------------------


@sa.event.listens_for(StatusEvent, "before_update")
def _refuse_event_update(_mapper, _connection, target) -> None:
    raise AuditTrailError(f"status event {target.id} is part of the audit trail: "
                          "it cannot be changed")


@sa.event.listens_for(StatusEvent, "before_delete")
def _refuse_event_delete(_mapper, _connection, target) -> None:
    raise AuditTrailError(f"status event {target.id} is part of the audit trail: "
                          "it cannot be deleted")


@sa.event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_event_changes(state) -> None:
    """ORM bulk ``update(StatusEvent)`` / ``delete(StatusEvent)`` skip the mapper events."""
    if (state.is_update or state.is_delete) and any(
            mapper.class_ is StatusEvent for mapper in state.all_mappers):
        raise AuditTrailError("status events are part of the audit trail: they cannot be "
                              "changed or deleted")
