"""Which documents of open dispatches expire soon (DESIGN §6): the board and the CLI.

Watched kinds: passport, COE, visa, tuberculosis and language certificates. A document is
reported when it expires within ``days`` days (or has expired), or before its dispatch's
planned departure. Only current documents count: one replaced (``superseded``) or withdrawn
is history, and so is one of the same kind and owner with a later expiry date recorded
beside it. The TB certificate matters until the COE application it is filed with; once the
worker has left (departed), only the passport and the visa still matter. Warnings stop once
the worker is at work (deployed: the employer follows the residence card from there) and
for closed dispatches (completed or exited).
"""

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from matching.extensions import db
from matching.labels import DOCUMENT_KIND_LABELS
from matching.models import STAGES, Dispatch, Document

__all__ = ["EXPIRY_KINDS", "ExpiringDocument", "expiring_documents"]

#: Kinds whose expiry is watched while a dispatch is open.
EXPIRY_KINDS = ("passport", "coe", "visa", "tb_certificate", "language_certificate")
#: After departure only these still matter.
POST_DEPARTURE_KINDS = ("passport", "visa")
#: Kinds needed only until a given stage is reached: the TB certificate for the COE
#: application.
NEEDED_BEFORE = {"tb_certificate": STAGES[:STAGES.index("coe_applied")]}


@dataclass(frozen=True)
class ExpiringDocument:
    """A watched document of an open dispatch; reads like the ``Document`` it wraps."""

    document: Document
    dispatch: Dispatch
    days_left: int  # negative once expired
    before_departure: bool  # expires before the planned departure

    @property
    def id(self) -> int:
        return self.document.id

    @property
    def kind(self) -> str:
        return self.document.kind

    @property
    def kind_label(self) -> str:
        return str(DOCUMENT_KIND_LABELS.get(self.document.kind, self.document.kind))

    @property
    def number(self) -> str | None:
        return self.document.number

    @property
    def expires_on(self) -> date:
        return self.document.expires_on


_DEPARTED = ("departed",)
#: Watched stages: open, and the worker not at work yet.
_OPEN = STAGES[:STAGES.index("deployed")]


def expiring_documents(*, days: int = 30, dispatches_stmt=None,
                       today: date | None = None) -> list[ExpiringDocument]:
    """Watched documents of open dispatches expiring within ``days`` days (or already
    expired), or before the dispatch's planned departure; soonest first.

    ``dispatches_stmt`` (e.g. ``access.dispatches_select(user)``) limits the dispatches. A
    trainee's document appears once per open dispatch of that trainee.
    """
    today = today or date.today()
    horizon = today + timedelta(days=days)
    newer = aliased(Document)
    superseded = sa.select(newer.id).where(
        newer.kind == Document.kind, newer.status == "current",
        newer.expires_on > Document.expires_on,
        sa.or_(sa.and_(Document.dispatch_id.is_not(None),
                       newer.dispatch_id == Document.dispatch_id),
               sa.and_(Document.trainee_id.is_not(None),
                       newer.trainee_id == Document.trainee_id))).exists()
    before_departure = sa.and_(Dispatch.stage.not_in(_DEPARTED),
                               Dispatch.planned_departure.is_not(None),
                               Document.expires_on < Dispatch.planned_departure)
    stmt = (
        sa.select(Document, Dispatch, before_departure)
        .join(Dispatch, sa.or_(Document.dispatch_id == Dispatch.id,
                               Document.trainee_id == Dispatch.trainee_id))
        .where(Dispatch.stage.in_(_OPEN), Document.kind.in_(EXPIRY_KINDS),
               Document.expires_on.is_not(None), Document.status == "current", ~superseded,
               *(sa.or_(Document.kind != kind, Dispatch.stage.in_(stages))
                 for kind, stages in NEEDED_BEFORE.items()),
               sa.or_(Dispatch.stage.not_in(_DEPARTED), Document.kind.in_(POST_DEPARTURE_KINDS)),
               sa.or_(Document.expires_on <= horizon, before_departure))
        .order_by(Document.expires_on, Dispatch.id, Document.id)
        .options(selectinload(Dispatch.trainee), selectinload(Dispatch.job_order))
    )
    if dispatches_stmt is not None:
        stmt = stmt.where(Dispatch.id.in_(dispatches_stmt.with_only_columns(Dispatch.id)))
    return [ExpiringDocument(document, dispatch, (document.expires_on - today).days,
                             bool(flag))
            for document, dispatch, flag in db.session.execute(stmt)]
