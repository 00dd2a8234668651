"""Monthly wages a worker reports (issue 13 §3): once at work, the worker says what they
were actually paid each month. A wage below the contract's raises ``contract_substitution``
in the fee checks (``matching.fees``, through ``register_wage_source``).
"""

import logging
from datetime import date

import sqlalchemy as sa

from matching import access
from matching.extensions import db
from matching.fees import refresh_dispatches, register_wage_source
from matching.i18n import _l
from matching.models import Dispatch, StatusEvent, User, WageReport
from matching.operations.errors import OperationError
from matching.operations.locks import lock_rows

log = logging.getLogger(__name__)

#: A month's wage above this is a typo (a few extra zeros), not a wage.
MAX_WAGE_JPY = 5_000_000


class WageError(OperationError):
    """A refused wage report (``code``: "forbidden", "not_deployed", "invalid")."""


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def deployed_on(dispatch: Dispatch) -> date | None:
    """The day the worker started work on ``dispatch`` (its ``deployed`` step), if any."""
    return db.session.scalar(sa.select(StatusEvent.happened_on).where(
        StatusEvent.dispatch_id == dispatch.id, StatusEvent.to_stage == "deployed"
    ).order_by(StatusEvent.id).limit(1))


def report_wage(user: User, dispatch: Dispatch, month: date, amount_jpy: int,
                today: date | None = None) -> WageReport:
    """Record (or correct) the wage of ``month`` on the worker's own ``dispatch``. Flushes;
    the request commits. Raises ``WageError``."""
    if not access.is_worker(user) or dispatch.trainee_id != user.trainee_id:
        raise WageError(_l("Only the worker can report their own wage."), code="forbidden")
    started = deployed_on(dispatch)
    if started is None:
        raise WageError(_l("You can report your wage once you have started work in Japan."),
                        code="not_deployed")
    month = first_of_month(month)
    if month < first_of_month(started) or month > first_of_month(today or date.today()):
        raise WageError(_l("Choose a month between the month you started work and this "
                           "month."), field="month", code="invalid")
    if amount_jpy is None or not 0 < amount_jpy <= MAX_WAGE_JPY:
        raise WageError(_l("Enter the amount in yen, for example 180000."), field="amount_jpy",
                        code="invalid")
    lock_rows(dispatch)  # two reports of one month at once: one row, the later amount
    report = db.session.scalar(sa.select(WageReport).where(
        WageReport.dispatch_id == dispatch.id, WageReport.month == month))
    if report is None:
        report = WageReport(dispatch_id=dispatch.id, month=month)
        db.session.add(report)
    report.amount_jpy, report.reported_by_id = amount_jpy, user.id
    db.session.flush()
    refresh_dispatches([dispatch.id])  # contract_substitution reads the reported wages
    log.info("wage of %s reported on dispatch %s by %s", month, dispatch.id, user.email)
    return report


def wage_reports(dispatch: Dispatch) -> list[WageReport]:
    """The wages reported on ``dispatch``, latest month first."""
    return list(db.session.scalars(sa.select(WageReport).where(
        WageReport.dispatch_id == dispatch.id).order_by(WageReport.month.desc())))


def reported_wages(dispatch_ids: sa.Select) -> list[tuple[int, date, int]]:
    """(dispatch id, month, wage in yen) of every report on the dispatches ``dispatch_ids``
    names, in one query: what the fee checks compare with the contract's wage."""
    return [tuple(row) for row in db.session.execute(
        sa.select(WageReport.dispatch_id, WageReport.month, WageReport.amount_jpy)
        .where(WageReport.dispatch_id.in_(dispatch_ids))
        .order_by(WageReport.dispatch_id, WageReport.month))]


def reported_wages_below_contract(dispatch_ids: sa.Select) -> list[tuple[int, date, int, int]]:
    """(dispatch id, month, wage, contract wage) of every report below the contract's
    monthly wage (the dispatches without a recorded contract wage have none)."""
    return [tuple(row) for row in db.session.execute(
        sa.select(WageReport.dispatch_id, WageReport.month, WageReport.amount_jpy,
                  Dispatch.contract_wage_jpy)
        .join(Dispatch, Dispatch.id == WageReport.dispatch_id)
        .where(WageReport.dispatch_id.in_(dispatch_ids),
               Dispatch.contract_wage_jpy.is_not(None),
               WageReport.amount_jpy < Dispatch.contract_wage_jpy)
        .order_by(WageReport.dispatch_id, WageReport.month))]


register_wage_source(reported_wages)
