"""Job orders posted by employers, and the decisions employers take on candidates."""

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from matching.extensions import db
from matching.models._common import utcnow
from matching.models.orgs import Organisation, User
from matching.models.trainees import Trainee

VISA_TRACKS = ("TITP", "SSW1", "SSW2", "ESD")
#: A job order's contract length when it does not say (issue 13 §1): TITP and ESD run three
#: years, an SSW contract one year (renewable).
DEFAULT_CONTRACT_MONTHS = {"TITP": 36, "ESD": 36, "SSW1": 12, "SSW2": 12}
JOB_STATUSES = ("draft", "open", "filled", "closed")
DECISIONS = ("shortlisted", "interviewed", "selected", "rejected")
#: Grades of the ranking model's labels (DESIGN §5): higher is better.
DECISION_GRADES = {"selected": 3, "interviewed": 2, "shortlisted": 1, "rejected": 0}


class JobOrder(db.Model):
    __tablename__ = "job_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public ID used by imports and the CLI (`rank JOB_EXTERNAL_ID`): unique platform-wide.
    external_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    employer_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    #: The sending organisation that will dispatch the selected workers.
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    field: Mapped[str] = mapped_column(sa.String(32), index=True)
    #: Skill slugs, ";"-joined (small lists, read whole with the job order).
    required_skills: Mapped[str] = mapped_column(sa.String(1000), default="")
    preferred_skills: Mapped[str] = mapped_column(sa.String(1000), default="")
    min_language_level: Mapped[str] = mapped_column(sa.String(8), default="none")
    min_language_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    #: Requirements as filters, not weights: below the minimum level is not a candidate...
    language_is_hard: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: ... nor is anyone available later than start_date + this many days (None: no limit).
    start_window_days: Mapped[int | None]
    headcount: Mapped[int] = mapped_column(default=1)
    prefecture: Mapped[str | None] = mapped_column(sa.String(32))
    monthly_salary_jpy: Mapped[int | None]
    start_date: Mapped[date | None]
    visa_track: Mapped[str] = mapped_column(sa.String(8), default="SSW1")
    #: The contract length offered; None: the visa track's default
    #: (``contract_months_or_default``).
    contract_months: Mapped[int | None]
    status: Mapped[str] = mapped_column(sa.String(8), default="open", index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    employer: Mapped[Organisation] = relationship(foreign_keys=[employer_id], lazy="joined")
    agency: Mapped[Organisation | None] = relationship(foreign_keys=[agency_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def contract_months_or_default(self) -> int:
        return self.contract_months or DEFAULT_CONTRACT_MONTHS.get(self.visa_track, 12)

    @property
    def required_skill_list(self) -> list[str]:
        return [s for s in self.required_skills.split(";") if s]

    @property
    def preferred_skill_list(self) -> list[str]:
        return [s for s in self.preferred_skills.split(";") if s]

    def __repr__(self) -> str:
        return f"<JobOrder {self.external_id}>"


class Decision(db.Model):
    """An employer's decision on one candidate for one job order.

    History is kept: every click is a row; the latest per (job order, trainee) counts.
    """

    __tablename__ = "decisions"
    __table_args__ = (sa.Index("ix_decisions_job_trainee", "job_order_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job_order_id: Mapped[int] = mapped_column(
        sa.ForeignKey("job_orders.id", ondelete="CASCADE"), index=True)
    trainee_id: Mapped[int] = mapped_column(
        sa.ForeignKey("trainees.id", ondelete="CASCADE"), index=True)
    decision: Mapped[str] = mapped_column(sa.String(12))
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    note: Mapped[str | None] = mapped_column(sa.String(1000))

    job_order: Mapped[JobOrder] = relationship()
    trainee: Mapped[Trainee] = relationship()
    decided_by: Mapped[User | None] = relationship()

    @property
    def grade(self) -> int:
        return DECISION_GRADES[self.decision]


def latest_decisions_subquery(*where) -> sa.Subquery:
    """The latest decision of every (job order, trainee) pair, as a subquery.

    Columns: job_order_id, trainee_id, decision, decided_at. Latest by ``decided_at`` (an
    import may load old decisions late), then by id; one window function, which SQLite
    (≥ 3.25) and PostgreSQL both run. ``where`` filters Decision rows first.
    """
    newest_first = sa.func.row_number().over(
        partition_by=(Decision.job_order_id, Decision.trainee_id),
        order_by=(Decision.decided_at.desc(), Decision.id.desc())).label("n")
    ranked = (sa.select(Decision.job_order_id, Decision.trainee_id, Decision.decision,
                        Decision.decided_at, newest_first).where(*where).subquery())
    return (sa.select(ranked.c.job_order_id, ranked.c.trainee_id, ranked.c.decision,
                      ranked.c.decided_at).where(ranked.c.n == 1).subquery("latest_decisions"))
